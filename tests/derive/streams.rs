//! Stream fields with each built-in stream serializer, and the default (JSON Lines).

use bytes::Bytes;
use lakery::__private::serde::{Deserialize, Serialize};
use lakery::serializer::{Csv, CsvOptions, JsonLines, MessagePack, RawChunks, TextLines};
use lakery::{ContentStream, Storable};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
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

/// Every item of a loaded stream, in order.
async fn items<T: Send + 'static>(stream: ContentStream<T>) -> Vec<T> {
    use futures::TryStreamExt;
    stream.try_collect().await.unwrap()
}

#[tokio::test]
async fn compiles_and_runs() {
    let specs = Dataset::CONTENTS;
    assert!(specs.iter().filter(|s| s.key != "body").all(|s| s.stream));
    assert!(!specs[0].stream);

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storage("files", lakery::MemoryStorage::new())
        .storable::<Dataset>()
        .build()
        .unwrap();
    // Each stream gets rows of its own, so a stream read back from another field's
    // content shows.
    let rows = |field: &str| -> Vec<Row> {
        (0..50)
            .map(|id| Row {
                id,
                value: format!("{field} {id}, \"quoted\""),
            })
            .collect()
    };
    let chunks: Vec<Bytes> = (0..10u8).map(|i| Bytes::from(vec![i; 100])).collect();
    let lines: Vec<String> = (0..30).map(|i| format!("line {i}")).collect();
    let dataset = Dataset {
        name: "seven streams".into(),
        jsonl: ContentStream::from_iter(rows("jsonl")),
        csv: ContentStream::from_iter(rows("csv")),
        tsv: ContentStream::from_iter(rows("tsv")),
        msgpack: ContentStream::from_iter(rows("msgpack")),
        raw: ContentStream::from_iter(chunks.clone()),
        lines: ContentStream::from_iter(lines.clone()),
        default: ContentStream::from_iter(rows("default")),
    };
    let (back, record) = super::round_trip(&registry, &db, &dataset).await;
    assert_eq!(back.name, "seven streams");
    assert_eq!(items(back.jsonl).await, rows("jsonl"));
    assert_eq!(items(back.csv).await, rows("csv"));
    assert_eq!(items(back.tsv).await, rows("tsv"));
    assert_eq!(items(back.msgpack).await, rows("msgpack"));
    // Raw chunks come back cut wherever the pieces fall: compare their bytes.
    assert_eq!(items(back.raw).await.concat(), chunks.concat());
    assert_eq!(items(back.lines).await, lines);
    assert_eq!(items(back.default).await, rows("default"));

    let stored: Vec<(String, String, String)> = db
        .contents(record.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.key, c.storage_name, c.serializer_name))
        .collect();
    let expected = [
        ("body", "database", "lakery.json@v1"),
        ("csv", "database", "lakery.csv@v1"),
        ("default", "database", "lakery.jsonl@v1"),
        ("jsonl", "files", "lakery.jsonl@v1"),
        ("lines", "database", "lakery.lines@v1"),
        ("msgpack", "database", "lakery.msgpack-seq@v1"),
        ("raw", "database", "lakery.bytes@v1"),
        ("tsv", "database", "lakery.csv@v1"),
    ]
    .map(|(k, s, n)| (k.to_owned(), s.to_owned(), n.to_owned()));
    assert_eq!(stored, expected);
}
