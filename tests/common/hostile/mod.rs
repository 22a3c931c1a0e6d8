//! The hostile corpus of `tests/hostile.rs`: the cases, the bombs, the damage done to a
//! saved value, the checks of every entry point, and the child process each case runs in.

// Each test file uses a part: the command line's does not run the library's checks.
#![allow(dead_code)]

pub mod bombs;
pub mod checks;
pub mod child;
pub mod corpus;
pub mod fixture;

use lakery::Backend;
use tokio::runtime::Runtime;

use crate::common::TestDb;

/// Runs `run` on every case of the corpus, on SQLite and PostgreSQL (outside CI an
/// unreachable server is skipped, with a notice), and fails listing every problem it
/// returns, by backend and case.
pub fn on_every_case(
    what: &str,
    mut run: impl FnMut(&Runtime, Backend, &corpus::Case) -> Vec<String>,
) {
    let runtime = Runtime::new().unwrap();
    let mut failed = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if runtime.block_on(TestDb::new(backend)).is_none() {
            continue;
        }
        for case in corpus::cases() {
            if case.applies_to(backend) {
                for problem in run(&runtime, backend, &case) {
                    failed.push(format!("{backend:?} {}: {problem}", case.name));
                }
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} problem(s) with hostile data {what}:\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
}
