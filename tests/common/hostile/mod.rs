//! The hostile corpus of `tests/hostile.rs`: the cases, the bombs, the damage done to a
//! saved value, the checks of every entry point, and the child process each case runs in.

// Each test file uses a part: the command line's does not run the library's checks.
#![allow(dead_code)]

pub mod bombs;
pub mod checks;
pub mod child;
pub mod corpus;
pub mod fixture;
