//! Compression per field: `#[content(encoding = "zstd")]` and `"gzip"` compress values
//! and streams on their way to the storage, record the encoding with the content, and
//! undo it on load, on every backend; what a content records wins over what the field
//! says when it is loaded.

mod common;

use std::io::Read;

use common::TestDb;
use futures::TryStreamExt;
use lakery::serializer::{JsonLines, RawBytes};
use lakery::{ContentStream, Error, FileStorage, Registry, Storable};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Step {
    step: u64,
    loss: f64,
    note: String,
}

fn steps(n: u64) -> Vec<Step> {
    (0..n)
        .map(|step| Step {
            step,
            loss: 1.0 / (step as f64 + 1.0),
            note: format!("epoch {} of the run", step / 100),
        })
        .collect()
}

#[derive(Storable, Debug)]
#[storable(class_id = "3e1f7a52-1c0b-4d7e-9a41-6b2f58c0d913")]
struct Run {
    name: String,
    /// In the database, compressed.
    #[content(encoding = "zstd")]
    summary: Vec<Step>,
    #[content(serializer = RawBytes, storage = "files", encoding = "gzip")]
    weights: Vec<u8>,
    #[content(serializer = JsonLines, storage = "files", encoding = "zstd")]
    log: ContentStream<Step>,
    #[content(serializer = JsonLines, storage = "files", encoding = "gzip")]
    events: ContentStream<Step>,
}

/// The same class, every field stored plainly: it reads what `Run` wrote.
#[derive(Storable, Debug)]
#[storable(class_id = "3e1f7a52-1c0b-4d7e-9a41-6b2f58c0d913")]
struct PlainRun {
    name: String,
    #[content]
    summary: Vec<Step>,
    #[content(serializer = RawBytes, storage = "files")]
    weights: Vec<u8>,
    #[content(serializer = JsonLines, storage = "files")]
    log: ContentStream<Step>,
    #[content(serializer = JsonLines, storage = "files")]
    events: ContentStream<Step>,
}

fn weights() -> Vec<u8> {
    (0..200_000u32)
        .flat_map(|i| (i / 64).to_le_bytes())
        .collect()
}

fn run(n: u64) -> Run {
    Run {
        name: "baseline".into(),
        summary: steps(100),
        weights: weights(),
        log: ContentStream::from_iter(steps(n)),
        events: ContentStream::from_iter(steps(n / 10)),
    }
}

fn registry<T: Storable>(t: &TestDb) -> Registry {
    Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<T>()
        .build()
        .unwrap()
}

fn stored_file(t: &TestDb, hash: &str) -> Vec<u8> {
    std::fs::read(common::stored_file(&t.path("files"), hash)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn compressed_values_and_streams_round_trip() {
    common::each_backend(compressed_values_and_streams_round_trip_on).await;
}

async fn compressed_values_and_streams_round_trip_on(t: TestDb) {
    let compressing = registry::<Run>(&t);
    let record = lakery::save_one(&run(20_000), &compressing, &t.db)
        .await
        .unwrap();
    let loaded: Run = lakery::load_one(&record, &compressing, &t.db)
        .await
        .unwrap();
    assert_eq!(loaded.name, "baseline");
    assert_eq!(loaded.summary, steps(100));
    assert_eq!(loaded.weights, weights());
    let log: Vec<Step> = loaded.log.try_collect().await.unwrap();
    assert_eq!(log, steps(20_000));
    let events: Vec<Step> = loaded.events.try_collect().await.unwrap();
    assert_eq!(events, steps(2_000));

    // Each content records its encoding, and the storage holds the compressed bytes,
    // which the standard tools open: the hash and size are theirs.
    let contents = t.db.contents(record.id).await.unwrap();
    let encoding = |key: &str| {
        let content = contents.iter().find(|c| c.key == key).unwrap();
        (content.encoding.clone(), content)
    };
    assert_eq!(encoding("body").0, None);
    assert_eq!(encoding("summary").0.as_deref(), Some("zstd"));
    assert_eq!(encoding("weights").0.as_deref(), Some("gzip"));
    assert_eq!(encoding("log").0.as_deref(), Some("zstd"));
    assert_eq!(encoding("events").0.as_deref(), Some("gzip"));

    let (_, weights_row) = encoding("weights");
    let stored = stored_file(&t, &weights_row.hash);
    assert_eq!(stored.len() as u64, weights_row.size);
    assert!(
        stored.len() < weights().len() / 10,
        "{} bytes",
        stored.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&stored[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, weights());

    let (_, log_row) = encoding("log");
    let stored = stored_file(&t, &log_row.hash);
    let text = zstd::decode_all(&stored[..]).unwrap();
    let lines: Vec<Step> = text
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    assert_eq!(lines, steps(20_000));
    assert!(stored.len() * 5 < text.len());

    // A type that compresses nothing reads them, as each content says how it was
    // stored; and `verify` checks the stored bytes.
    let plain = registry::<PlainRun>(&t);
    let loaded: PlainRun = lakery::load_one(&record, &plain, &t.db).await.unwrap();
    assert_eq!(loaded.summary, steps(100));
    assert_eq!(loaded.weights, weights());
    let log: Vec<Step> = loaded.log.try_collect().await.unwrap();
    assert_eq!(log.len(), 20_000);
    let report = lakery::verify(&plain, &t.db, &lakery::Query::new())
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_contents_load_into_a_compressing_type() {
    common::each_backend(plain_contents_load_into_a_compressing_type_on).await;
}

async fn plain_contents_load_into_a_compressing_type_on(t: TestDb) {
    let plain = registry::<PlainRun>(&t);
    let value = PlainRun {
        name: "old".into(),
        summary: steps(10),
        weights: vec![1, 2, 3],
        log: ContentStream::from_iter(steps(5)),
        events: ContentStream::from_iter(steps(0)),
    };
    let record = lakery::save_one(&value, &plain, &t.db).await.unwrap();
    let loaded: Run = lakery::load_one(&record, &registry::<Run>(&t), &t.db)
        .await
        .unwrap();
    assert_eq!(loaded.summary, steps(10));
    assert_eq!(loaded.weights, vec![1, 2, 3]);
    let log: Vec<Step> = loaded.log.try_collect().await.unwrap();
    assert_eq!(log, steps(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_encoding_this_build_does_not_know_is_a_clear_error() {
    common::each_backend(an_encoding_this_build_does_not_know_is_a_clear_error_on).await;
}

async fn an_encoding_this_build_does_not_know_is_a_clear_error_on(t: TestDb) {
    let registry = registry::<Run>(&t);
    let record = lakery::save_one(&run(10), &registry, &t.db).await.unwrap();
    t.execute("UPDATE lakery_contents SET encoding = 'br' WHERE content_key = 'summary'")
        .await;
    let error = lakery::load_one::<Run>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, Error::CorruptRecord { ref manifest, .. } if *manifest == record.id.to_string())
            && message.contains(&record.id.to_string())
            && message.contains("`summary`")
            && message.contains("`br`")
            && message.contains("zstd and gzip"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_stream_fails_its_compressed_save() {
    common::each_backend(a_failing_stream_fails_its_compressed_save_on).await;
}

async fn a_failing_stream_fails_its_compressed_save_on(t: TestDb) {
    let registry = registry::<Run>(&t);
    let value = Run {
        log: ContentStream::new(futures::stream::iter((0..3).map(|i| {
            if i < 2 {
                Ok(steps(1).remove(0))
            } else {
                Err(std::io::Error::other("the trainer crashed"))
            }
        }))),
        ..run(10)
    };
    let error = lakery::save_one(&value, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("the trainer crashed"), "{error}");
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        0
    );
}

/// Compressed blobs lakery wrote earlier: a change that cannot undo them fails here.
/// `LAKERY_WRITE_FIXTURES=1` writes them anew, when a format changes on purpose.
#[test]
fn fixed_earlier_blobs_still_decode() {
    let text = serde_json::to_vec(&steps(50)).unwrap();
    for (encoding, name) in [
        (lakery::Encoding::Zstd, "steps.json.zst"),
        (lakery::Encoding::Gzip, "steps.json.gz"),
    ] {
        let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        if std::env::var("LAKERY_WRITE_FIXTURES").is_ok_and(|v| v == "1") {
            std::fs::write(&path, encoding.encode(&text).unwrap()).unwrap();
        }
        let fixture = std::fs::read(&path).unwrap();
        assert_eq!(encoding.decode(&fixture).unwrap(), text, "{name}");
        // Cut short, it is an error rather than less data.
        assert!(
            encoding.decode(&fixture[..fixture.len() - 3]).is_err(),
            "{name}"
        );
    }
}
