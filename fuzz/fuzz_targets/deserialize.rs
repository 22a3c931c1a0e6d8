//! Every value deserializer on arbitrary bytes: a value or an error, never a panic or
//! an abort. The first byte picks the serializer.
//! The body is in `bodies.rs`, which the property tests run over the seeds too.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod bodies;
#[path = "../../tests/common/models.rs"]
mod models;

fuzz_target!(|input: &[u8]| bodies::deserialize(input));
