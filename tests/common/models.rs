//! The types that the property tests (`tests/properties.rs`) and the fuzz targets
//! (`fuzz/`) both exercise, included by path in each so that the two test the same
//! shapes; and the framing of the repack fuzz target's input, shared so that the
//! property tests can write its seed corpus from valid contents.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bytes::Bytes;
use lakery::serializer::{Bincode, Csv, JsonLines, RawBytes, Text};
use lakery::testing::RawContent;
use serde::{Deserialize, Serialize};

/// An `f64` compared by its bits, so that values holding NaN (which bincode and
/// MessagePack keep, payload and sign included) still compare equal to themselves, and
/// `-0.0` differs from `0.0`. Serialized as the bare `f64`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
#[serde(transparent)]
pub struct Bits(pub f64);

impl PartialEq for Bits {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

/// Every shape serde knows, so the self-describing formats meet enums, nesting and
/// empty containers, and bincode meets variant tags and length prefixes at every level.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Value {
    pub name: String,
    pub count: i64,
    pub ratio: Bits,
    pub bytes: Vec<u8>,
    pub flag: Option<bool>,
    pub counts: BTreeMap<String, u32>,
    pub kind: Kind,
    /// Ragged, possibly empty, rows of possibly empty arrays.
    pub grid: Vec<Vec<i32>>,
    pub pair: (u64, char),
    /// The nesting: values within values.
    pub children: Vec<Value>,
}

/// One of each kind of enum variant.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Kind {
    Unit,
    Newtype(String),
    Tuple(i8, Bits),
    Struct { id: u16, tags: Vec<String> },
    Boxed(Box<Kind>),
}

/// A row as CSV writes it: flat fields, an optional number (empty when `None`) and a
/// unit enum (written as its variant's name).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub count: i64,
    pub ratio: Bits,
    pub flag: bool,
    pub note: Option<u32>,
    pub level: Level,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub enum Level {
    Low,
    High,
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

// The repack fuzz target's input: a version byte, then contents, each
//   key: one byte, an index into KEYS, or 255 then a length byte and the key's bytes
//   serializer name: one byte, an index into NAMES, or 255 then a length byte and bytes
//   encoding: one byte, 0 for none, else an index + 1 into ENCODINGS
//   data: a little-endian u16 length, then the bytes
// Every input reads as something (a short field takes what is left), so the fuzzer
// spends no runs on rejected inputs; and valid contents written this way (`frame`) give
// it a seed corpus that repacks, whose mutations reach past the first check.

/// Writes `contents` at `version` in the fuzz target's framing.
pub fn frame(version: u8, contents: &[RawContent]) -> Vec<u8> {
    fn named(out: &mut Vec<u8>, known: &[&str], name: &str) {
        match known.iter().position(|k| *k == name) {
            Some(index) => out.push(index as u8),
            None => {
                out.push(255);
                out.push(u8::try_from(name.len()).expect("a framed name is under 256 bytes"));
                out.extend_from_slice(name.as_bytes());
            }
        }
    }
    let mut out = vec![version];
    for content in contents {
        named(&mut out, KEYS, &content.key);
        named(&mut out, NAMES, &content.serializer_name);
        out.push(match &content.encoding {
            None => 0,
            Some(name) => {
                1 + ENCODINGS
                    .iter()
                    .position(|e| e == name)
                    .expect("a framed encoding is one of ENCODINGS") as u8
            }
        });
        let len = u16::try_from(content.data.len()).expect("framed data is under 64 KiB");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&content.data);
    }
    out
}

/// Reads the fuzz target's framing: the version and the contents, whatever the bytes.
pub fn unframe(input: &[u8]) -> (u32, Vec<RawContent>) {
    fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, rest) = input.split_at(n.min(input.len()));
        *input = rest;
        head
    }
    fn byte(input: &mut &[u8]) -> u8 {
        take(input, 1).first().copied().unwrap_or(0)
    }
    fn named(input: &mut &[u8], known: &[&str]) -> String {
        match byte(input) {
            255 => {
                let len = usize::from(byte(input));
                String::from_utf8_lossy(take(input, len)).into_owned()
            }
            n => known[usize::from(n) % known.len()].to_owned(),
        }
    }
    let mut input = input;
    let version = u32::from(byte(&mut input));
    let mut contents = Vec::new();
    while !input.is_empty() {
        let key = named(&mut input, KEYS);
        let serializer_name = named(&mut input, NAMES);
        let encoding = match byte(&mut input) {
            0 => None,
            n => Some(ENCODINGS[usize::from(n - 1) % ENCODINGS.len()].to_owned()),
        };
        let len = take(&mut input, 2);
        let len = usize::from(len.first().copied().unwrap_or(0))
            | usize::from(len.get(1).copied().unwrap_or(0)) << 8;
        let data = Bytes::copy_from_slice(take(&mut input, len));
        contents.push(RawContent {
            key,
            content_type: "application/octet-stream".to_owned(),
            serializer_name,
            serializer_config: None,
            encoding,
            data,
        });
    }
    (version, contents)
}
