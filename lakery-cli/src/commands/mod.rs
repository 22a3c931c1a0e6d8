//! One module per command, named after it; each `run` takes what the command line
//! parsed and writes its report to `out`.

pub mod cat;
pub mod gc;
pub mod ls;
pub mod migrate;
pub mod rm;
pub mod serve;
pub mod show;
pub mod verify;
