//! `Query` building from arbitrary filters (class, version, tags empty, huge, with
//! control characters or by the thousand, times, limit, order, cursor), run by
//! `Database::find` on an in-memory SQLite database: a page or `Error::InvalidQuery`,
//! never a panic, an abort or an error of the database.
//! The body is in `query_body.rs`, which the property tests run over the seeds too.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod query_body;

fuzz_target!(|input: &[u8]| query_body::query(input));
