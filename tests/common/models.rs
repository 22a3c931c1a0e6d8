//! The types that the property tests (`tests/properties.rs`) and the fuzz targets
//! (`fuzz/`) both exercise, included by path in each so that the two test the same
//! shapes.
#![allow(dead_code)]

use std::collections::BTreeMap;

use lakery::serializer::{Bincode, Csv, JsonLines, RawBytes, Text};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Value {
    pub name: String,
    pub count: i64,
    pub ratio: f64,
    pub bytes: Vec<u8>,
    pub flag: Option<bool>,
    pub counts: BTreeMap<String, u32>,
}

/// A row as CSV writes it: flat fields.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub count: i64,
    pub ratio: f64,
    pub flag: bool,
}

#[derive(lakery::Storable, Debug)]
#[storable(class_id = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b")]
pub struct Inner {
    pub note: String,
    #[content(serializer = Text)]
    pub text: String,
}

#[derive(lakery::Storable, Debug)]
#[storable(
    class_id = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8c",
    version = 2,
    migrate_from = TargetV1
)]
pub struct Target {
    pub name: String,
    pub count: u32,
    #[content(serializer = Csv)]
    pub rows: Vec<Row>,
    #[content(serializer = RawBytes, each)]
    pub parts: BTreeMap<String, Vec<u8>>,
    #[content(serializer = Text, each)]
    pub list: Vec<String>,
    #[content(serializer = Bincode, encoding = "zstd")]
    pub packed: Vec<u64>,
    #[storable(nested)]
    pub inner: Inner,
    #[content(serializer = JsonLines)]
    pub stream: lakery::ContentStream<Row>,
}

#[derive(lakery::Storable, Debug)]
#[storable(class_id = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8c", version = 1)]
pub struct TargetV1 {
    pub name: String,
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
            stream: lakery::ContentStream::from_iter(Vec::new()),
        }
    }
}

/// Content keys of `Target`, and some that are not.
pub const KEYS: &[&str] = &[
    "body",
    "rows",
    "parts",
    "parts.a",
    "parts.",
    "list",
    "list.0",
    "list.1",
    "list.x",
    "packed",
    "inner",
    "inner.body",
    "inner.text",
    "stream",
    "other",
];
/// Serializer names, one of them unknown to lakery.
pub const NAMES: &[&str] = &[
    "lakery.json@v1",
    "lakery.csv@v1",
    "lakery.bytes@v1",
    "lakery.text@v1",
    "lakery.bincode@v1",
    "lakery.jsonl@v1",
    "someone.else@v1",
];

/// The encodings a stored content may name, one of them unknown to lakery.
pub const ENCODINGS: &[&str] = &["zstd", "gzip", "br"];
