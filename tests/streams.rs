//! Stream contents: every stream serializer round-trips whatever the chunk boundaries;
//! `ContentStream` fields save and load through the file, memory and database storages
//! on every backend; a failing producer, a corrupt blob and a stream saved twice are
//! clear errors that leave nothing behind.

mod common;

use bytes::{Bytes, BytesMut};
use common::TestDb;
use futures::{StreamExt, TryStreamExt};
use lakery::serializer::{
    Csv, CsvOptions, JsonLines, MessagePack, RawBytes, RawChunks, Serializer, Stored,
    StreamSerializer, TextLines,
};
use lakery::{ContentStream, Error, FileStorage, MemoryStorage, Registry, Storable};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    value: String,
    score: Option<f64>,
}

fn records(n: u64) -> Vec<Record> {
    (0..n)
        .map(|id| Record {
            id,
            // Commas, quotes, newlines and non-ASCII, for CSV's quoting.
            value: match id % 4 {
                0 => format!("item_{id}"),
                1 => format!("a, \"quoted\"\nline {id}"),
                2 => format!("ünïcødé {id}"),
                _ => String::new(),
            },
            score: (id % 3 != 0).then_some(id as f64 / 3.0),
        })
        .collect()
}

fn stored<'a, T>(
    serializer: &'a impl StreamSerializer<T>,
    config: &'a Option<serde_json::Value>,
) -> Stored<'a> {
    Stored {
        serializer_name: serializer.name(),
        serializer_config: config.as_ref(),
        content_type: serializer.content_type(),
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    }
}

fn encode<T>(serializer: &impl StreamSerializer<T>, items: &[T]) -> Vec<u8> {
    let mut encoder = serializer.encoder();
    let mut out = Vec::new();
    for item in items {
        encoder.encode(item, &mut out).unwrap();
    }
    encoder.finish(&mut out).unwrap();
    out
}

/// Decodes `bytes` fed to the decoder in pieces of the given sizes (cycled).
fn decode_in_pieces<T>(
    serializer: &impl StreamSerializer<T>,
    bytes: &[u8],
    pieces: &mut dyn FnMut() -> usize,
) -> Result<Vec<T>, lakery::serializer::SerializerError> {
    let config = serializer.config();
    let mut decoder = serializer.decoder(&stored(serializer, &config))?;
    let mut input = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = pieces().clamp(1, rest.len());
        input.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        decoder.decode(&mut input, false, &mut out)?;
    }
    decoder.decode(&mut input, true, &mut out)?;
    Ok(out)
}

/// Round-trips `items` through `serializer` in one piece, byte by byte, and in pieces
/// of random sizes; and the empty stream.
fn round_trips<T: PartialEq + std::fmt::Debug>(serializer: &impl StreamSerializer<T>, items: &[T]) {
    let bytes = encode(serializer, items);
    let name = serializer.name().to_owned();
    let whole = decode_in_pieces(serializer, &bytes, &mut || usize::MAX).unwrap();
    assert_eq!(whole, items, "{name}: one piece");
    let bytewise = decode_in_pieces(serializer, &bytes, &mut || 1).unwrap();
    assert_eq!(bytewise, items, "{name}: byte by byte");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..20 {
        let max = [3, 17, 100, 4096][round % 4];
        let random =
            decode_in_pieces(serializer, &bytes, &mut || rng.random_range(1..=max)).unwrap();
        assert_eq!(random, items, "{name}: random pieces up to {max}");
    }
    let empty = decode_in_pieces(serializer, &encode(serializer, &[]), &mut || 1).unwrap();
    assert!(empty.is_empty(), "{name}: the empty stream");
}

#[test]
fn every_stream_serializer_round_trips_across_chunk_boundaries() {
    let items = records(300);
    round_trips(&JsonLines, &items);
    round_trips(&MessagePack, &items);
    round_trips(&Csv, &items);
    const TSV: CsvOptions = CsvOptions::new().delimiter(b'\t');
    round_trips(&TSV, &items);
    let lines: Vec<String> = (0..300).map(|i| format!("line {i} ünïcødé")).collect();
    round_trips(&TextLines, &lines);
}

#[test]
fn items_longer_than_many_chunks_round_trip() {
    // Half a megabyte per item, fed to the decoders in pieces of a few kilobytes.
    let long: Vec<String> = (0..4).map(|i| format!("{i}").repeat(1 << 19)).collect();
    let records: Vec<Record> = long
        .iter()
        .map(|value| Record {
            id: value.len() as u64,
            value: value.clone(),
            score: None,
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut pieces = || rng.random_range(1..=8192);
    for (name, back) in [
        (
            "json lines",
            decode_in_pieces::<Record>(&JsonLines, &encode(&JsonLines, &records), &mut pieces),
        ),
        (
            "msgpack",
            decode_in_pieces::<Record>(&MessagePack, &encode(&MessagePack, &records), &mut pieces),
        ),
    ] {
        assert_eq!(back.unwrap(), records, "{name}");
    }
    let back = decode_in_pieces(&TextLines, &encode(&TextLines, &long), &mut pieces).unwrap();
    assert_eq!(back, long);
}

#[test]
fn text_lines_end_in_lf_or_crlf() {
    let text = Bytes::from_static(b"one\r\ntwo\nthree\r\n\r\nlast");
    let stored = Stored {
        serializer_name: "lakery.text@v1",
        serializer_config: None,
        content_type: "text/plain; charset=utf-8",
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    };
    let lines: Vec<String> = Serializer::deserialize(&TextLines, text, &stored).unwrap();
    assert_eq!(lines, ["one", "two", "three", "", "last"]);
    // An item that ends in `\r` would not read back as written.
    let mut encoder = StreamSerializer::<String>::encoder(&TextLines);
    let error = encoder
        .encode(&"cr\r".to_owned(), &mut Vec::new())
        .unwrap_err();
    assert!(error.to_string().contains("cannot end in"), "{error}");
}

#[test]
fn csv_keeps_the_first_row_of_tuples_and_plain_values() {
    // Items without field names get a header that numbers their columns, so the first
    // row is not taken for a header.
    let pairs: Vec<(u64, String)> = (0..50).map(|i| (i, format!("v, {i}"))).collect();
    round_trips(&Csv, &pairs);
    let bytes = encode(&Csv, &pairs);
    assert!(
        bytes.starts_with(b"0,1\n0,"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let words: Vec<String> = (0..50).map(|i| format!("word {i}")).collect();
    round_trips(&Csv, &words);
    round_trips(&Csv, &(0..50u32).collect::<Vec<_>>());
    const NO_HEADER: CsvOptions = CsvOptions::new().has_headers(false);
    round_trips(&NO_HEADER, &pairs);
    assert!(encode(&NO_HEADER, &pairs).starts_with(b"0,"));
    // And as a value: `Vec` of tuples through the same serializer.
    let config = Serializer::<Vec<(u64, String)>>::config(&Csv);
    let stored = Stored {
        serializer_name: "lakery.csv@v1",
        serializer_config: config.as_ref(),
        content_type: "text/csv; charset=utf-8",
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    };
    let bytes = Serializer::<Vec<(u64, String)>>::serialize(&Csv, &pairs).unwrap();
    let back: Vec<(u64, String)> = Serializer::deserialize(&Csv, bytes, &stored).unwrap();
    assert_eq!(back, pairs);
}

#[test]
fn raw_chunks_keep_every_byte_whatever_the_pieces() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let data: Vec<u8> = (0..100_000).map(|_| rng.random()).collect();
    let chunks: Vec<Bytes> = data.chunks(777).map(Bytes::copy_from_slice).collect();
    let bytes = encode(&RawChunks, &chunks);
    assert_eq!(bytes, data);
    for max in [1, 10, 5000] {
        let back = decode_in_pieces(&RawChunks, &bytes, &mut || rng.random_range(1..=max)).unwrap();
        assert_eq!(back.concat(), data);
    }
}

#[test]
fn malformed_bytes_are_errors_not_panics() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..200 {
        let len = rng.random_range(0..200);
        let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        // Any outcome but a panic; most are errors.
        let _ = decode_in_pieces::<Record>(&JsonLines, &junk, &mut || 7);
        let _ = decode_in_pieces::<Record>(&MessagePack, &junk, &mut || 7);
        let _ = decode_in_pieces::<Record>(&Csv, &junk, &mut || 7);
        let _ = decode_in_pieces(&TextLines, &junk, &mut || 7);
    }
    let error = decode_in_pieces::<Record>(&JsonLines, b"{\"id\": 1}\n{oops}\n", &mut || 4);
    assert!(error.is_err());
    // A MessagePack value cut short at the end is an error, not a silent stop.
    let mut bytes = encode(&MessagePack, &records(3));
    bytes.pop();
    assert!(decode_in_pieces::<Record>(&MessagePack, &bytes, &mut || 5).is_err());
}

#[test]
fn values_and_streams_read_each_other() {
    let items = records(50);
    let config = None;
    // Written as a value, read as a stream; and the reverse.
    let value_bytes = Serializer::<Vec<Record>>::serialize(&JsonLines, &items).unwrap();
    assert_eq!(value_bytes, encode(&JsonLines, &items));
    let stored = Stored {
        serializer_name: "lakery.jsonl@v1",
        serializer_config: config.as_ref(),
        content_type: "application/jsonl",
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    };
    let back: Vec<Record> = Serializer::<Vec<Record>>::deserialize(
        &JsonLines,
        encode(&JsonLines, &items).into(),
        &stored,
    )
    .unwrap();
    assert_eq!(back, items);
    // Raw bytes as one value, read as chunks.
    let raw = Bytes::from_static(b"raw bytes");
    let written = Serializer::<Bytes>::serialize(&RawBytes, &raw).unwrap();
    assert!(StreamSerializer::<Bytes>::can_read(
        &RawChunks,
        Serializer::<Bytes>::name(&RawBytes)
    ));
    assert_eq!(
        decode_in_pieces(&RawChunks, &written, &mut || 2)
            .unwrap()
            .concat(),
        raw
    );
}

#[derive(Storable, Debug)]
#[storable(class_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")]
struct Dataset {
    name: String,
    #[content(serializer = JsonLines, storage = "files")]
    rows: ContentStream<Record>,
    #[content(serializer = Csv, storage = "memory")]
    table: ContentStream<Record>,
    #[content(serializer = TextLines)]
    log: ContentStream<String>,
}

/// The same contents as values, to read what a stream wrote and the reverse.
#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")]
struct DatasetValues {
    name: String,
    #[content(serializer = JsonLines, storage = "files")]
    rows: Vec<Record>,
    #[content(serializer = Csv, storage = "memory")]
    table: Vec<Record>,
    #[content(serializer = TextLines)]
    log: Vec<String>,
}

fn registry(t: &TestDb, memory: &MemoryStorage) -> Registry {
    Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storage("memory", memory.clone())
        .storable::<Dataset>()
        .build()
        .unwrap()
}

fn dataset(n: u64) -> Dataset {
    Dataset {
        name: format!("{n} rows"),
        rows: ContentStream::from_iter(records(n)),
        table: ContentStream::from_items(futures::stream::iter(records(n / 2))),
        log: ContentStream::new(futures::stream::iter(
            (0..3).map(|i| Ok::<_, std::io::Error>(format!("step {i}"))),
        )),
    }
}

/// The blob files under the file storage's root, temporary ones included.
fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_in(&path));
        } else if !path.ends_with(".lakery-lock") {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_fields_save_and_load_on_every_storage() {
    common::each_backend(stream_fields_save_and_load_on_every_storage_on).await;
}

async fn stream_fields_save_and_load_on_every_storage_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory);
    let record = lakery::save_one(&dataset(20_000), &registry, &t.db)
        .await
        .unwrap();
    let contents = t.db.contents(record.id).await.unwrap();
    let rows = contents.iter().find(|c| c.key == "rows").unwrap();
    assert_eq!(rows.serializer_name, "lakery.jsonl@v1");
    assert_eq!(rows.content_type, "application/jsonl");
    assert_eq!(rows.size, encode(&JsonLines, &records(20_000)).len() as u64);

    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded.name, "20000 rows");
    let rows: Vec<Record> = loaded.rows.try_collect().await.unwrap();
    assert_eq!(rows, records(20_000));
    let table: Vec<Record> = loaded.table.try_collect().await.unwrap();
    assert_eq!(table, records(10_000));
    let log: Vec<String> = loaded.log.try_collect().await.unwrap();
    assert_eq!(log, ["step 0", "step 1", "step 2"]);

    // The same contents read as values, by a type that names the same class.
    let registry_values = Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storage("memory", memory.clone())
        .storable::<DatasetValues>()
        .build()
        .unwrap();
    let values: DatasetValues = lakery::load_one(&record, &registry_values, &t.db)
        .await
        .unwrap();
    assert_eq!(values.rows, records(20_000));
    assert_eq!(values.log.len(), 3);

    // And values written whole, read as streams.
    let written = lakery::save_one(
        &DatasetValues {
            name: "values".into(),
            rows: records(5),
            table: records(2),
            log: vec!["only".into()],
        },
        &registry_values,
        &t.db,
    )
    .await
    .unwrap();
    let streamed: Dataset = lakery::load_one(&written, &registry, &t.db).await.unwrap();
    let rows: Vec<Record> = streamed.rows.try_collect().await.unwrap();
    assert_eq!(rows, records(5));

    // Empty streams.
    let empty = Dataset {
        name: "empty".into(),
        rows: ContentStream::empty(),
        table: ContentStream::empty(),
        log: ContentStream::from_iter(Vec::new()),
    };
    let record = lakery::save_one(&empty, &registry, &t.db).await.unwrap();
    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded.rows.count().await, 0);
    assert_eq!(loaded.log.count().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_producer_fails_the_batch_and_leaves_no_blob() {
    common::each_backend(a_failing_producer_fails_the_batch_and_leaves_no_blob_on).await;
}

async fn a_failing_producer_fails_the_batch_and_leaves_no_blob_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory);
    // Enough rows to span several chunks before the failure.
    let failing = futures::stream::iter((0..100_000u64).map(|id| {
        if id == 60_000 {
            Err(std::io::Error::other("the sensor went away"))
        } else {
            Ok(Record {
                id,
                value: format!("item_{id}"),
                score: None,
            })
        }
    }));
    let value = Dataset {
        name: "broken".into(),
        rows: ContentStream::new(failing),
        table: ContentStream::empty(),
        log: ContentStream::empty(),
    };
    let mut saver = lakery::Saver::new(&registry, &t.db);
    saver.save_soon(&dataset(10));
    saver.save_soon(&value);
    let error = saver.finish().await.unwrap_err();
    let Error::Batch { failures, .. } = &error else {
        panic!("expected a batch error, got {error:?}");
    };
    assert_eq!(failures.len(), 1, "{error}");
    assert_eq!(failures[0].index, 1);
    assert!(
        matches!(&failures[0].error, Error::StreamSource { key: Some(key), .. } if key == "rows"),
        "{:?}",
        failures[0].error
    );
    assert!(
        error.to_string().contains("the sensor went away"),
        "{error}"
    );
    // Nothing committed, and no file but the complete ones of the other value.
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        0
    );
    let files = files_in(&t.path("files"));
    assert!(
        files.iter().all(|f| !f
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".lakery-tmp")),
        "a partial file was left: {files:?}"
    );
    assert_eq!(files.len(), 1, "only the other value's rows: {files:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_blob_fails_at_the_end_of_the_stream() {
    common::each_backend(a_corrupt_blob_fails_at_the_end_of_the_stream_on).await;
}

async fn a_corrupt_blob_fails_at_the_end_of_the_stream_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory);
    let record = lakery::save_one(&dataset(50_000), &registry, &t.db)
        .await
        .unwrap();
    let files = files_in(&t.path("files"));
    assert_eq!(files.len(), 1);
    // One digit changed: every line still parses, so only the hash can tell.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&files[0], &bytes).unwrap();

    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let items: Vec<Result<Record, Error>> = loaded.rows.collect().await;
    let (last, before) = items.split_last().unwrap();
    assert!(before.iter().all(Result::is_ok));
    match last {
        Err(Error::HashMismatch { manifest, key, .. }) => {
            assert_eq!((*manifest, key.as_str()), (record.id, "rows"));
        }
        other => panic!("expected the hash error last, got {other:?}"),
    }
    // `verify` finds it too, reading the blob as a stream.
    let report = lakery::verify(&registry, &t.db, &lakery::Query::new())
        .await
        .unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert_eq!(report.problems[0].key, "rows");
    assert_eq!(report.problems[0].kind, lakery::ProblemKind::Corrupt);

    // Bytes that no longer decode are reported as corruption too.
    std::fs::write(&files[0], b"{not json\n").unwrap();
    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let items: Vec<Result<Record, Error>> = loaded.rows.collect().await;
    assert!(
        matches!(items.as_slice(), [Err(Error::HashMismatch { manifest, key, .. })]
            if *manifest == record.id && key == "rows"),
        "{items:?}"
    );

    // A missing blob is an error naming the content.
    std::fs::remove_file(&files[0]).unwrap();
    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let items: Vec<Result<Record, Error>> = loaded.rows.collect().await;
    let [Err(error @ Error::BlobMissing { manifest, key, .. })] = items.as_slice() else {
        panic!("expected one missing blob, got {items:?}");
    };
    assert_eq!((*manifest, key.as_str()), (record.id, "rows"));
    let message = error.to_string();
    assert!(
        message.contains("storage `files`") && message.contains(&record.id.to_string()),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_saves_once_and_a_loaded_one_can_be_saved_again() {
    common::each_backend(a_stream_saves_once_and_a_loaded_one_can_be_saved_again_on).await;
}

async fn a_stream_saves_once_and_a_loaded_one_can_be_saved_again_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory);
    let value = dataset(100);
    lakery::save_one(&value, &registry, &t.db).await.unwrap();
    let error = lakery::save_one(&value, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::StreamConsumed { key, .. } if key == "rows")
            && error.to_string().contains("`rows`"),
        "{error:?}"
    );

    // A loaded stream is saved again by reading it: a copy.
    let record = lakery::save_one(&dataset(1000), &registry, &t.db)
        .await
        .unwrap();
    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let copy = lakery::save_one(&loaded, &registry, &t.db).await.unwrap();
    let contents = t.db.contents(copy.id).await.unwrap();
    let original = t.db.contents(record.id).await.unwrap();
    for (a, b) in contents.iter().zip(&original) {
        assert_eq!((&a.key, &a.hash, a.size), (&b.key, &b.hash, b.size));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_loaded_stream_releases_its_file() {
    // SQLite alone: what is tested happens between the stream, its serializer and the
    // file storage, before any row is written or after every row is read.
    let t = TestDb::sqlite().await;
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory);
    let record = lakery::save_one(&dataset(200_000), &registry, &t.db)
        .await
        .unwrap();
    let blob = files_in(&t.path("files"))
        .into_iter()
        .next()
        .expect("the rows' blob");
    let blob = blob.canonicalize().unwrap();
    // Whether this process holds the blob open, by the links in /proc/self/fd.
    let is_open = || {
        std::fs::read_dir("/proc/self/fd")
            .map(|fds| {
                fds.flatten()
                    .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == blob))
            })
            .unwrap_or(false)
    };
    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let mut rows = loaded.rows;
    assert!(!is_open(), "a stream opens its file only when read");
    // Read a little: the file is open, read ahead by a chunk or two.
    let first = rows.next().await.unwrap().unwrap();
    assert_eq!(first.id, 0);
    assert!(is_open(), "reading the stream opens its file");
    rows.close();
    // The reading thread notices the closed stream and closes the file.
    let mut released = false;
    for _ in 0..200 {
        if !is_open() {
            released = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(released, "closing the stream released its file");
}

/// A storage whose streamed writes misbehave and claim success.
enum Misbehaving {
    /// Stops after the first chunk.
    StopsShort(MemoryStorage),
    /// Skips the errors it is handed and keeps what remains.
    SkipsErrors(MemoryStorage),
}

impl Misbehaving {
    fn inner(&self) -> &MemoryStorage {
        match self {
            Misbehaving::StopsShort(inner) | Misbehaving::SkipsErrors(inner) => inner,
        }
    }
}

#[async_trait::async_trait]
impl lakery::Storage for Misbehaving {
    async fn write(
        &self,
        request: lakery::storage::WriteRequest<'_>,
    ) -> Result<serde_json::Value, lakery::storage::StorageError> {
        self.inner().write(request).await
    }

    async fn write_stream(
        &self,
        request: lakery::storage::StreamWriteRequest<'_>,
    ) -> Result<(serde_json::Value, lakery::Digest), lakery::storage::StorageError> {
        let mut stream = request.into_stream();
        let data = match self {
            Misbehaving::StopsShort(_) => stream.next().await.transpose()?.unwrap_or_default(),
            Misbehaving::SkipsErrors(_) => {
                let mut data = Vec::new();
                while let Some(chunk) = stream.next().await {
                    if let Ok(chunk) = chunk {
                        data.extend_from_slice(&chunk);
                    }
                }
                Bytes::from(data)
            }
        };
        let digest = lakery::Digest::of(&data);
        let tags = lakery::Tags::new();
        let config = self
            .inner()
            .write(lakery::storage::WriteRequest::new(data, digest, &tags))
            .await?;
        Ok((config, digest))
    }

    async fn read(
        &self,
        config: &serde_json::Value,
    ) -> Result<Bytes, lakery::storage::StorageError> {
        self.inner().read(config).await
    }

    async fn delete(
        &self,
        config: &serde_json::Value,
    ) -> Result<(), lakery::storage::StorageError> {
        self.inner().delete(config).await
    }

    async fn exists(
        &self,
        config: &serde_json::Value,
    ) -> Result<bool, lakery::storage::StorageError> {
        self.inner().exists(config).await
    }
}

#[derive(Storable)]
#[storable(class_id = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b")]
struct Lines {
    #[content(serializer = TextLines, storage = "short")]
    lines: ContentStream<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_that_stops_short_fails_the_save() {
    // SQLite alone: what is tested happens between the stream, its serializer and the
    // file storage, before any row is written or after every row is read.
    let t = TestDb::sqlite().await;
    let registry = Registry::builder()
        .storage("short", Misbehaving::StopsShort(MemoryStorage::new()))
        .storable::<Lines>()
        .build()
        .unwrap();
    // Several chunks' worth of lines.
    let value = Lines {
        lines: ContentStream::from_iter((0..200_000).map(|i| format!("line {i}"))),
    };
    let error = lakery::save_one(&value, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Storage { operation: "write", key, .. } if key == "lines"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("must consume the whole stream")
            && error.to_string().contains("storage `short`")
            && error.to_string().contains("`lines`"),
        "{error}"
    );
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_that_skips_a_failed_producer_still_fails_the_save() {
    // SQLite alone: what is tested happens between the stream, its serializer and the
    // file storage, before any row is written or after every row is read.
    let t = TestDb::sqlite().await;
    let registry = Registry::builder()
        .storage("short", Misbehaving::SkipsErrors(MemoryStorage::new()))
        .storable::<Lines>()
        .build()
        .unwrap();
    let lines = (0..200_000).map(|i| {
        if i == 150_000 {
            Err(std::io::Error::other("the log rotated away"))
        } else {
            Ok(format!("line {i}"))
        }
    });
    let value = Lines {
        lines: ContentStream::new(futures::stream::iter(lines)),
    };
    let error = lakery::save_one(&value, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::StreamSource { key: Some(key), .. } if key == "lines"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("the log rotated away"),
        "{error}"
    );
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        0
    );
}

#[test]
fn file_streams_save_and_load_with_one_blocking_thread() {
    // The file storage's writer and hasher wait on each other's progress; neither may
    // hold a thread of the blocking pool while it waits, or a pool of one deadlocks.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // SQLite alone: the deadlock this guards against is between the file storage's
        // writer and hasher threads, whatever database the rows go to.
        let t = TestDb::sqlite().await;
        let memory = MemoryStorage::new();
        let registry = registry(&t, &memory);
        let work = async {
            // Many chunks: more than the writer's and hasher's queues hold.
            let record = lakery::save_one(&dataset(300_000), &registry, &t.db)
                .await
                .unwrap();
            let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
            loaded.rows.try_collect::<Vec<_>>().await.unwrap().len()
        };
        let rows = tokio::time::timeout(std::time::Duration::from_secs(120), work)
            .await
            .expect("saving and loading a stream with one blocking thread finishes");
        assert_eq!(rows, 300_000);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loaded_stream_read_to_its_end_stays_ended() {
    // SQLite alone: what is tested happens between the stream, its serializer and the
    // file storage, before any row is written or after every row is read.
    let t = TestDb::sqlite().await;
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory);
    let record = lakery::save_one(&dataset(1000), &registry, &t.db)
        .await
        .unwrap();
    let mut loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let mut n = 0;
    while let Some(row) = loaded.rows.next().await {
        row.unwrap();
        n += 1;
    }
    assert_eq!(n, 1000);
    // Polled again after its end, it answers that it ended, again and again.
    for _ in 0..3 {
        assert!(loaded.rows.next().await.is_none());
    }
    // A stream read to its end has no items left to save.
    let error = lakery::save_one(&loaded, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::StreamConsumed { key, .. } if key == "rows"),
        "{error:?}"
    );
}
