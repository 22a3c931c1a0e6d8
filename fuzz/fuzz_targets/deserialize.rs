//! Every value deserializer on arbitrary bytes: a value or an error, never a panic or
//! an abort. The first byte picks the serializer.
//! The body is in `bodies.rs`, which the property tests run over the seeds too.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod bodies;
#[path = "../../tests/common/models.rs"]
mod models;

fuzz_target!(
    // lakery catches the panics of arrow's readers on malformed bytes and returns an
    // error (`guarded` in serializer/arrow.rs); libFuzzer's hook would abort on them
    // before they are caught. With the default hook back, only a panic that escapes
    // lakery reaches libfuzzer-sys's own `catch_unwind`, which aborts: a crash.
    init: drop(std::panic::take_hook()),
    |input: &[u8]| bodies::deserialize(input)
);
