//! The viewer's list parameters (`lakery serve`, `/?tag=...`) from any query string:
//! parameters within the caps or an error, never a panic, and a next page's link that
//! gives the same filters back. Its body is `lakery_cli::fuzz_viewer_query`, which the
//! viewer's tests also run over the seeds (`tests/viewer.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| lakery_cli::fuzz_viewer_query(input));
