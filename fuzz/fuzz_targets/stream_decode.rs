//! Every stream decoder on arbitrary bytes fed in arbitrary pieces, as chunks arrive
//! from a storage: items or an error, never a panic.
//! The body is in `bodies.rs`, which the property tests run over the seeds too.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod bodies;
#[path = "../../tests/common/models.rs"]
mod models;

fuzz_target!(|input: &[u8]| bodies::stream_decode(input));
