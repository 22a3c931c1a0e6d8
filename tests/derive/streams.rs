//! Stream fields with each built-in stream serializer, and the default (JSON Lines).

use bytes::Bytes;
use lakery::__private::serde::{Deserialize, Serialize};
use lakery::serializer::{Csv, CsvOptions, JsonLines, MessagePack, RawChunks, TextLines};
use lakery::{ContentStream, Storable};

#[derive(Serialize, Deserialize)]
#[serde(crate = "lakery::__private::serde")]
struct Row {
    id: u64,
    value: String,
}

const TSV: CsvOptions = CsvOptions::new().delimiter(b'\t');

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Dataset {
    name: String,
    #[content(serializer = JsonLines, storage = "files")]
    jsonl: ContentStream<Row>,
    #[content(serializer = Csv)]
    csv: ContentStream<Row>,
    #[content(serializer = TSV)]
    tsv: ContentStream<Row>,
    #[content(serializer = MessagePack)]
    msgpack: ContentStream<Row>,
    #[content(serializer = RawChunks)]
    raw: ContentStream<Bytes>,
    #[content(serializer = TextLines)]
    lines: lakery::ContentStream<String>,
    #[content]
    default: ContentStream<Row>,
}

#[test]
fn compiles_and_runs() {
    let specs = Dataset::CONTENTS;
    assert!(specs.iter().filter(|s| s.key != "body").all(|s| s.stream));
    assert!(!specs[0].stream);
}
