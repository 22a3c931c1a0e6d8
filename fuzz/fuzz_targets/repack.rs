//! Repacking a struct (body, containers, nested, compressed, streamed contents, and a
//! migration from an older version) from arbitrary stored contents: a value or an
//! error, never a panic.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use lakery::testing::RawContent;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/models.rs"]
mod models;
use models::{Target, ENCODINGS, KEYS, NAMES};

#[derive(Arbitrary, Debug)]
struct Content {
    key: Result<u8, String>,
    name: u8,
    encoding: Option<u8>,
    data: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    version: u8,
    contents: Vec<Content>,
}

fuzz_target!(|input: Input| {
    let contents: Vec<RawContent> = input
        .contents
        .into_iter()
        .map(|c| RawContent {
            key: match c.key {
                Ok(n) => KEYS[usize::from(n) % KEYS.len()].to_owned(),
                Err(key) => key,
            },
            content_type: "application/octet-stream".to_owned(),
            serializer_name: NAMES[usize::from(c.name) % NAMES.len()].to_owned(),
            serializer_config: None,
            encoding: c
                .encoding
                .map(|n| ENCODINGS[usize::from(n) % ENCODINGS.len()].to_owned()),
            data: Bytes::from(c.data),
        })
        .collect();
    if let Ok(target) = lakery::testing::repack::<Target>(u32::from(input.version % 4), &contents) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _ = runtime.block_on(futures::StreamExt::collect::<Vec<_>>(target.stream));
    }
});
