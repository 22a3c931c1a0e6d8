//! Arrow record batches through `ArrowIpc` (values and streams, read batch by batch)
//! and `Parquet` (values), on every backend, with the conformance kit, fixed blobs
//! written by an earlier lakery, and malformed bytes.

mod common;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use common::TestDb;
use futures::{StreamExt, TryStreamExt};
use lakery::serializer::arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use lakery::serializer::arrow_schema::{DataType, Field, Schema};
use lakery::serializer::{ArrowIpc, Parquet, Serializer, Stored, StreamSerializer};
use lakery::testing::{check_serializer, check_stream_serializer};
use lakery::{ContentStream, FileStorage, Registry, Storable};

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("score", DataType::Float64, true),
        Field::new("label", DataType::Utf8, true),
        Field::new("kept", DataType::Boolean, false),
    ]))
}

/// `rows` rows starting at `from`, with a null in every seventh score and label.
fn table(from: i64, rows: i64) -> RecordBatch {
    let ids: Vec<i64> = (from..from + rows).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(Float64Array::from(
            ids.iter()
                .map(|i| (i % 7 != 0).then_some(*i as f64 / 3.0))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            ids.iter()
                .map(|i| (i % 7 != 3).then(|| format!("row {i} ünïcødé")))
                .collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            ids.iter().map(|i| i % 2 == 0).collect::<Vec<_>>(),
        )),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn stored(name: &'static str) -> Stored<'static> {
    Stored {
        serializer_name: name,
        serializer_config: None,
        content_type: "",
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    }
}

#[test]
fn arrow_and_parquet_pass_the_conformance_kit() {
    check_serializer(&ArrowIpc, &[table(0, 100), table(5, 0)]).unwrap();
    check_serializer(&ArrowIpc, &[vec![table(0, 10), table(10, 20)], Vec::new()]).unwrap();
    check_stream_serializer(
        &ArrowIpc,
        &[table(0, 1000), table(1000, 1), table(1001, 500)],
    )
    .unwrap();
    check_serializer(&Parquet, &[table(0, 100_000), table(3, 0)]).unwrap();
    check_serializer(&Parquet, &[vec![table(0, 100)]]).unwrap();
    check_stream_serializer(
        &Parquet,
        &[table(0, 1000), table(1000, 1), table(1001, 500)],
    )
    .unwrap();
}

#[test]
fn an_ipc_stream_yields_its_first_batch_before_its_end() {
    let bytes = Serializer::<Vec<RecordBatch>>::serialize(
        &ArrowIpc,
        &(0..10).map(|i| table(i * 1000, 1000)).collect(),
    )
    .unwrap();
    let mut decoder =
        StreamSerializer::<RecordBatch>::decoder(&ArrowIpc, &stored("lakery.arrow-stream@v1"))
            .unwrap();
    let mut out = Vec::new();
    // Fed in small pieces: every batch comes out as soon as its bytes are in, long
    // before the end.
    let mut fed = 0;
    for piece in bytes.chunks(4096) {
        decoder
            .decode(&mut BytesMut::from(piece), false, &mut out)
            .unwrap();
        fed += piece.len();
        if !out.is_empty() {
            break;
        }
    }
    assert_eq!(out.len(), 1);
    assert!(
        fed < bytes.len() / 5,
        "first batch after {fed} of {} bytes",
        bytes.len()
    );
    assert_eq!(out[0], table(0, 1000));
}

#[test]
fn values_concatenate_and_parquet_compresses() {
    let batches = vec![table(0, 3), table(3, 4)];
    let bytes = Serializer::<Vec<RecordBatch>>::serialize(&ArrowIpc, &batches).unwrap();
    let one: RecordBatch = ArrowIpc
        .deserialize(bytes, &stored("lakery.arrow-stream@v1"))
        .unwrap();
    assert_eq!(one, table(0, 7));

    let big = table(0, 200_000);
    let parquet = Serializer::<RecordBatch>::serialize(&Parquet, &big).unwrap();
    let ipc = Serializer::<RecordBatch>::serialize(&ArrowIpc, &big).unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    assert!(
        parquet.len() * 3 < ipc.len(),
        "{} vs {}",
        parquet.len(),
        ipc.len()
    );
    let row_groups: Vec<RecordBatch> = Parquet
        .deserialize(parquet, &stored("lakery.parquet@v1"))
        .unwrap();
    assert_eq!(row_groups.len(), 4, "row groups of 64 Ki rows");
    assert_eq!(
        row_groups.iter().map(RecordBatch::num_rows).sum::<usize>(),
        200_000
    );
}

/// Blobs lakery wrote earlier: a change that cannot read them fails here.
const FIXTURE_IPC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/table.arrows"
);
const FIXTURE_PARQUET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/table.parquet"
);

#[test]
fn fixed_earlier_blobs_still_read() {
    // `LAKERY_WRITE_FIXTURES=1` writes them anew, when a format changes on purpose.
    if std::env::var("LAKERY_WRITE_FIXTURES").is_ok_and(|v| v == "1") {
        let batches = vec![table(0, 20), table(20, 15)];
        let ipc = Serializer::<Vec<RecordBatch>>::serialize(&ArrowIpc, &batches).unwrap();
        std::fs::write(FIXTURE_IPC, ipc).unwrap();
        let parquet = Serializer::<RecordBatch>::serialize(&Parquet, &table(0, 35)).unwrap();
        std::fs::write(FIXTURE_PARQUET, parquet).unwrap();
    }
    let ipc = Bytes::from(std::fs::read(FIXTURE_IPC).unwrap());
    let batches: Vec<RecordBatch> = ArrowIpc
        .deserialize(ipc, &stored("lakery.arrow-stream@v1"))
        .unwrap();
    assert_eq!(batches, vec![table(0, 20), table(20, 15)]);
    let parquet = Bytes::from(std::fs::read(FIXTURE_PARQUET).unwrap());
    let back: RecordBatch = Parquet
        .deserialize(parquet, &stored("lakery.parquet@v1"))
        .unwrap();
    assert_eq!(back, table(0, 35));
}

#[test]
fn malformed_bytes_are_errors_not_panics() {
    let ipc = Serializer::<RecordBatch>::serialize(&ArrowIpc, &table(0, 50)).unwrap();
    let parquet = Serializer::<RecordBatch>::serialize(&Parquet, &table(0, 50)).unwrap();
    for cut in [1, 7, ipc.len() / 3, ipc.len() - 1] {
        let result: Result<Vec<RecordBatch>, _> =
            ArrowIpc.deserialize(ipc.slice(..cut), &stored("lakery.arrow-stream@v1"));
        assert!(result.is_err(), "IPC cut at {cut}");
    }
    for cut in [0, 4, parquet.len() / 2, parquet.len() - 1] {
        let result: Result<RecordBatch, _> =
            Parquet.deserialize(parquet.slice(..cut), &stored("lakery.parquet@v1"));
        assert!(result.is_err(), "Parquet cut at {cut}");
    }
    let garbage = Bytes::from_static(b"\xff\xff\xff\xff\x10\x00\x00\x00not flatbuffers!");
    let result: Result<Vec<RecordBatch>, _> =
        ArrowIpc.deserialize(garbage, &stored("lakery.arrow-stream@v1"));
    assert!(result.is_err());
}

#[derive(Storable, Debug)]
#[storable(class_id = "5a0c2d7e-4f61-4b8a-9c3d-1e2f3a4b5c6d")]
struct Dataset {
    name: String,
    #[content(serializer = Parquet, storage = "files")]
    summary: RecordBatch,
    #[content(serializer = ArrowIpc, storage = "files", encoding = "zstd")]
    rows: ContentStream<RecordBatch>,
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_save_and_stream_back_on_every_backend() {
    common::each_backend(tables_save_and_stream_back_on).await;
}

async fn tables_save_and_stream_back_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Dataset>()
        .build()
        .unwrap();
    let value = Dataset {
        name: "spring".into(),
        summary: table(0, 10),
        rows: ContentStream::from_iter((0..50).map(|i| table(i * 2000, 2000))),
    };
    let record = lakery::save_one(&value, &registry, &t.db).await.unwrap();
    let loaded: Dataset = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded.summary, table(0, 10));
    let rows: Vec<RecordBatch> = loaded.rows.try_collect().await.unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[49], table(98_000, 2000));
    let contents = t.db.contents(record.id).await.unwrap();
    let types: Vec<(&str, &str)> = contents
        .iter()
        .map(|c| (c.key.as_str(), c.content_type.as_str()))
        .collect();
    assert!(types.contains(&("summary", "application/vnd.apache.parquet")));
    assert!(types.contains(&("rows", "application/vnd.apache.arrow.stream")));
}

#[test]
fn pyarrow_reads_what_lakery_wrote_and_the_reverse() {
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ipc = dir.path().join("lakery.arrows");
    let parquet = dir.path().join("lakery.parquet");
    let batches = vec![table(0, 20), table(20, 15)];
    std::fs::write(
        &ipc,
        Serializer::<Vec<RecordBatch>>::serialize(&ArrowIpc, &batches).unwrap(),
    )
    .unwrap();
    std::fs::write(
        &parquet,
        Serializer::<RecordBatch>::serialize(&Parquet, &table(0, 35)).unwrap(),
    )
    .unwrap();
    let printed = common::run_python(
        &python,
        "import sys, os, pyarrow as pa, pyarrow.ipc, pyarrow.parquet as pq\n\
         s = pa.ipc.open_stream(sys.argv[1]).read_all()\n\
         p = pq.read_table(sys.argv[2])\n\
         print(s.num_rows, s.schema.names, s.column('score').null_count, s.column('label')[4])\n\
         print(p.num_rows, p.equals(s), pq.ParquetFile(sys.argv[2]).metadata.row_group(0).column(0).compression)\n\
         d = sys.argv[3]\n\
         t = pa.table({'id': pa.array([1, 2, 3], pa.int64()), 'name': ['a', None, 'c']})\n\
         pq.write_table(t, os.path.join(d, 'snappy.parquet'))\n\
         with pa.ipc.new_stream(os.path.join(d, 'py.arrows'), t.schema) as w: w.write_table(t)",
        &[&ipc, &parquet, dir.path()],
    );
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines[0],
        "35 ['id', 'score', 'label', 'kept'] 5 row 4 ünïcødé"
    );
    assert_eq!(lines[1], "35 True ZSTD");

    let read = |name: &str| Bytes::from(std::fs::read(dir.path().join(name)).unwrap());
    // pyarrow's default Parquet compression is Snappy.
    let from_parquet: RecordBatch = Parquet
        .deserialize(read("snappy.parquet"), &stored("lakery.parquet@v1"))
        .unwrap();
    let from_ipc: RecordBatch = ArrowIpc
        .deserialize(read("py.arrows"), &stored("lakery.arrow-stream@v1"))
        .unwrap();
    for batch in [&from_parquet, &from_ipc] {
        assert_eq!(batch.num_rows(), 3);
        let names = batch
            .column_by_name("name")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            vec![Some("a"), None, Some("c")]
        );
    }
}

/// A memory storage that counts the bytes read through ranges.
#[derive(Clone, Default)]
struct Counting {
    inner: lakery::MemoryStorage,
    ranged: Arc<std::sync::atomic::AtomicU64>,
}

#[async_trait::async_trait]
impl lakery::Storage for Counting {
    async fn write(
        &self,
        request: lakery::storage::WriteRequest<'_>,
    ) -> Result<serde_json::Value, lakery::storage::StorageError> {
        self.inner.write(request).await
    }
    async fn read(
        &self,
        config: &serde_json::Value,
    ) -> Result<Bytes, lakery::storage::StorageError> {
        self.inner.read(config).await
    }
    async fn read_range(
        &self,
        config: &serde_json::Value,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, lakery::storage::StorageError> {
        let bytes = self.inner.read_range(config, range).await?;
        self.ranged
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::SeqCst);
        Ok(bytes)
    }
    async fn delete(
        &self,
        config: &serde_json::Value,
    ) -> Result<(), lakery::storage::StorageError> {
        self.inner.delete(config).await
    }
    async fn exists(
        &self,
        config: &serde_json::Value,
    ) -> Result<bool, lakery::storage::StorageError> {
        self.inner.exists(config).await
    }
}

#[derive(Storable, Debug)]
#[storable(class_id = "6b1d3e8f-5a72-4c9b-8d0e-2f3a4b5c6d7e")]
struct Table {
    #[content(serializer = Parquet, storage = "counted")]
    rows: ContentStream<RecordBatch>,
    #[content(serializer = Parquet, storage = "files", encoding = "zstd")]
    encoded: ContentStream<RecordBatch>,
    #[content(serializer = Parquet)]
    inline: ContentStream<RecordBatch>,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parquet_stream_reads_its_first_batch_through_ranges() {
    common::each_backend(a_parquet_stream_reads_its_first_batch_through_ranges_on).await;
}

async fn a_parquet_stream_reads_its_first_batch_through_ranges_on(t: TestDb) {
    let counted = Counting::default();
    let registry = Registry::builder()
        .storage("counted", counted.clone())
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Table>()
        .build()
        .unwrap();
    let batches = || (0..20).map(|i| table(i * 10_000, 10_000));
    let value = Table {
        rows: ContentStream::from_iter(batches()),
        encoded: ContentStream::from_iter(batches().take(3)),
        inline: ContentStream::from_iter([table(0, 100), table(100, 50)]),
    };
    let record = lakery::save_one(&value, &registry, &t.db).await.unwrap();
    let contents = t.db.contents(record.id).await.unwrap();
    let size = contents.iter().find(|c| c.key == "rows").unwrap().size;

    // What was stored is a Parquet file as any reader opens it, in row groups.
    let stored = lakery::Storage::read(
        &counted,
        &contents
            .iter()
            .find(|c| c.key == "rows")
            .unwrap()
            .storage_config,
    )
    .await
    .unwrap();
    let groups: Vec<RecordBatch> = Parquet
        .deserialize(stored, &stored_as("lakery.parquet@v1"))
        .unwrap();
    assert_eq!(groups.len(), 4, "200,000 rows in row groups of 64 Ki");

    let mut loaded: Table = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let first = loaded.rows.try_next().await.unwrap().unwrap();
    assert_eq!(first, table(0, 65_536));
    let before_rest = counted.ranged.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        before_rest * 2 < size,
        "the first batch after {before_rest} of {size} bytes"
    );
    let rest: Vec<RecordBatch> = loaded.rows.try_collect().await.unwrap();
    assert_eq!(
        1 + rest.len(),
        4,
        "one batch per row group, read one at a time"
    );
    assert_eq!(rest[2], table(196_608, 3_392));

    let encoded: Vec<RecordBatch> = loaded.encoded.try_collect().await.unwrap();
    assert_eq!(
        encoded.iter().map(RecordBatch::num_rows).sum::<usize>(),
        30_000
    );
    let inline: Vec<RecordBatch> = loaded.inline.try_collect().await.unwrap();
    assert_eq!(inline, vec![table(0, 150)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_parquet_stream_ends_in_the_hash_error() {
    common::each_backend(a_corrupt_parquet_stream_ends_in_the_hash_error_on).await;
}

async fn a_corrupt_parquet_stream_ends_in_the_hash_error_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("counted", Counting::default())
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Table>()
        .build()
        .unwrap();
    let value = Table {
        rows: ContentStream::from_iter([table(0, 1000)]),
        encoded: ContentStream::from_iter([table(0, 10)]),
        inline: ContentStream::from_iter([table(0, 5)]),
    };
    let record = lakery::save_one(&value, &registry, &t.db).await.unwrap();
    // One byte of a data page changed in the database's copy of the inline stream.
    let contents = t.db.contents(record.id).await.unwrap();
    let inline = contents.iter().find(|c| c.key == "inline").unwrap();
    let mut bytes = Serializer::<RecordBatch>::serialize(&Parquet, &table(0, 5))
        .unwrap()
        .to_vec();
    assert_eq!(bytes.len() as u64, inline.size, "the same file");
    bytes[40] ^= 0x55;
    t.execute(&format!(
        "UPDATE lakery_contents SET data = {} WHERE content_key = 'inline'",
        t.blob(&bytes)
    ))
    .await;
    let loaded: Table = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let items: Vec<Result<RecordBatch, lakery::Error>> = loaded.inline.collect().await;
    match items.last() {
        Some(Err(error @ lakery::Error::HashMismatch { manifest, key, .. })) => {
            assert_eq!((*manifest, key.as_str()), (record.id, "inline"));
            let message = error.to_string();
            assert!(
                message.contains(&record.id.to_string()) && message.contains("`inline`"),
                "{message}"
            );
        }
        other => panic!("expected the hash error last, got {other:?}"),
    }
}

fn stored_as(name: &'static str) -> Stored<'static> {
    stored(name)
}
