//! Repacking a struct (body, containers, nested, compressed, streamed contents, and a
//! migration from an older version) from arbitrary stored contents: a value or an
//! error, never a panic.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use bytes::Bytes;
use lakery::serializer::{Bincode, Csv, JsonLines, RawBytes, Text};
use lakery::testing::RawContent;
use lakery::{ContentStream, Storable};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug)]
struct Row {
    name: String,
    count: i64,
}

#[derive(Storable)]
#[storable(class_id = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b")]
struct Inner {
    note: String,
    #[content(serializer = Text)]
    text: String,
}

#[derive(Storable)]
#[storable(class_id = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8c", version = 1)]
struct TargetV1 {
    name: String,
}

#[derive(Storable)]
#[storable(
    class_id = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8c",
    version = 2,
    migrate_from = TargetV1
)]
struct Target {
    name: String,
    count: u32,
    #[content(serializer = Csv)]
    rows: Vec<Row>,
    #[content(serializer = RawBytes, each)]
    parts: BTreeMap<String, Vec<u8>>,
    #[content(serializer = Text, each)]
    list: Vec<String>,
    #[content(serializer = Bincode, encoding = "zstd")]
    packed: Vec<u64>,
    #[storable(nested)]
    inner: Inner,
    #[content(serializer = JsonLines)]
    stream: ContentStream<Row>,
}

impl From<TargetV1> for Target {
    fn from(old: TargetV1) -> Self {
        Target {
            name: old.name,
            count: 0,
            rows: Vec::new(),
            parts: BTreeMap::new(),
            list: Vec::new(),
            packed: Vec::new(),
            inner: Inner {
                note: String::new(),
                text: String::new(),
            },
            stream: ContentStream::from_iter(Vec::new()),
        }
    }
}

const KEYS: &[&str] = &[
    "body",
    "rows",
    "parts",
    "parts.a",
    "list",
    "list.0",
    "list.1",
    "packed",
    "inner",
    "inner.body",
    "inner.text",
    "stream",
];
const NAMES: &[&str] = &[
    "lakery.json@v1",
    "lakery.csv@v1",
    "lakery.bytes@v1",
    "lakery.text@v1",
    "lakery.bincode@v1",
    "lakery.jsonl@v1",
];
const ENCODINGS: &[&str] = &["zstd", "gzip"];

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
