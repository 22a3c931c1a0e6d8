//! Faults injected with `lakery::testing::FaultyStorage` and by cutting the database
//! connection: a batch with failures commits nothing and reports every failed value;
//! bytes a storage lost or changed fail the hash check; a connection dropped mid-batch
//! leaves no partial batch; a save whose future is dropped leaves no transaction open
//! and no manifest referring to a partial blob. Each test prints how many faults it
//! injected.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TestDb;
use futures::TryStreamExt;
use lakery::serializer::{RawBytes, RawChunks};
use lakery::testing::{Faults, FaultyStorage};
use lakery::{
    Backend, ContentStream, Database, Error, FileStorage, ProblemKind, Query, Registry, Storable,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "f4a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b")]
struct Sample {
    label: String,
    #[content(serializer = RawBytes, storage = "files")]
    bytes: Vec<u8>,
}

#[derive(Storable)]
#[storable(class_id = "f4a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4c")]
struct Streamed {
    #[content(serializer = RawChunks, storage = "files")]
    chunks: ContentStream<bytes::Bytes>,
}

fn sample(i: u32) -> Sample {
    Sample {
        label: format!("sample {i}"),
        bytes: (0..20_000u32)
            .map(|b| (b.wrapping_mul(i + 7) % 251) as u8)
            .collect(),
    }
}

fn registry(t: &TestDb, faults: Faults) -> (Registry, lakery::testing::FaultCounter) {
    let storage = FaultyStorage::new(FileStorage::new(t.path("files")).unwrap(), faults);
    let counter = storage.counter();
    let registry = Registry::builder()
        .storage("files", storage)
        .storable::<Sample>()
        .storable::<Streamed>()
        .build()
        .unwrap();
    (registry, counter)
}

async fn manifests(db: &Database) -> usize {
    db.find(&Query::new()).await.unwrap().records.len()
}

/// Every file at a content path holds the bytes its name promises: nothing partial is
/// visible under a name.
fn assert_no_partial_blob(t: &TestDb) {
    let root = t.path("files");
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return;
    };
    for dir in dirs.flatten().filter(|d| d.file_type().unwrap().is_dir()) {
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = file.file_name().into_string().unwrap();
            let data = std::fs::read(file.path()).unwrap();
            let mut digester = lakery::Digester::new();
            digester.update(&data);
            assert_eq!(
                digester.finish().hex(),
                name,
                "{} holds other bytes than its name says",
                file.path().display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_writes_fail_the_batch_whole_and_each_is_reported() {
    common::each_backend(failed_writes_fail_the_batch_whole_and_each_is_reported_on).await;
}

async fn failed_writes_fail_the_batch_whole_and_each_is_reported_on(t: TestDb) {
    let (registry, counter) = registry(&t, Faults::new().fail_writes_every(4));
    let mut saver = lakery::Saver::new(&registry, &t.db);
    for i in 0..20 {
        saver.save_soon(&sample(i));
    }
    let error = saver.finish().await.unwrap_err();
    let Error::Batch {
        total, failures, ..
    } = &error
    else {
        panic!("expected a batch error, got {error:?}");
    };
    let counts = counter.get();
    assert_eq!(*total, 20);
    assert_eq!(counts.writes, 20);
    assert_eq!(counts.failed_writes, 5);
    assert_eq!(failures.len(), 5, "every failed value is reported: {error}");
    for failure in failures {
        assert!(
            matches!(&failure.error, Error::Storage { operation: "write", storage, key, .. }
                if storage == "files" && key == "bytes"),
            "{:?}",
            failure.error
        );
        assert!(failure.error.to_string().contains("injected fault"));
    }
    assert_eq!(
        manifests(&t.db).await,
        0,
        "nothing of the batch is committed"
    );
    eprintln!("faults injected: {} failed writes", counts.failed_writes);

    // The same values save once the storage behaves.
    let (registry, _) = self::registry(&t, Faults::new());
    let mut saver = lakery::Saver::new(&registry, &t.db);
    for i in 0..20 {
        saver.save_soon(&sample(i));
    }
    saver.finish().await.unwrap();
    assert_eq!(manifests(&t.db).await, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_or_changed_bytes_fail_the_hash_check() {
    common::each_backend(lost_or_changed_bytes_fail_the_hash_check_on).await;
}

async fn lost_or_changed_bytes_fail_the_hash_check_on(t: TestDb) {
    // A storage that keeps half of what it is given and says it kept it all.
    let (short, short_counter) = registry(&t, Faults::new().short_writes_every(1));
    let record = lakery::save_one(&sample(1), &short, &t.db).await.unwrap();
    let (honest, _) = registry(&t, Faults::new());
    let error = lakery::load_one::<Sample>(record.id, &honest, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::HashMismatch { manifest, key, storage, .. }
            if *manifest == record.id && key == "bytes" && storage == "files"),
        "{error:?}"
    );
    let report = lakery::verify(&honest, &t.db, &Query::new()).await.unwrap();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].kind, ProblemKind::Corrupt);

    // The same for a stream: a short stream write never loads as a whole one.
    let chunks: Vec<bytes::Bytes> = (0..8u8).map(|i| vec![i; 40_000].into()).collect();
    let streamed = Streamed {
        chunks: ContentStream::from_iter(chunks.clone()),
    };
    match lakery::save_one(&streamed, &short, &t.db).await {
        Err(error) => eprintln!("a short stream write fails the save: {error}"),
        Ok(record) => {
            let loaded = lakery::load_one::<Streamed>(record.id, &honest, &t.db)
                .await
                .unwrap();
            let read: Result<Vec<bytes::Bytes>, Error> = loaded.chunks.try_collect().await;
            assert!(
                matches!(read, Err(Error::HashMismatch { .. })),
                "a short stream must not load as a whole one: {read:?}"
            );
        }
    }

    // A storage that changes bytes as they are read, whole and streamed.
    let good = lakery::save_one(&sample(2), &honest, &t.db).await.unwrap();
    let (corrupting, corrupt_counter) = registry(&t, Faults::new().corrupt_reads_every(1));
    let error = lakery::load_one::<Sample>(good.id, &corrupting, &t.db)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::HashMismatch { .. }), "{error:?}");
    let stream = Streamed {
        chunks: ContentStream::from_iter(chunks),
    };
    let stream_record = lakery::save_one(&stream, &honest, &t.db).await.unwrap();
    let loaded = lakery::load_one::<Streamed>(stream_record.id, &corrupting, &t.db)
        .await
        .unwrap();
    let read: Result<Vec<bytes::Bytes>, Error> = loaded.chunks.try_collect().await;
    assert!(matches!(read, Err(Error::HashMismatch { .. })), "{read:?}");

    // A storage that fails reads: a storage error naming the read, retryable.
    let (failing, fail_counter) = registry(&t, Faults::new().fail_reads_every(1));
    let error = lakery::load_one::<Sample>(good.id, &failing, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Storage { operation: "read", source, .. } if source.is_retryable()),
        "{error:?}"
    );
    let injected =
        short_counter.get().faults() + corrupt_counter.get().faults() + fail_counter.get().faults();
    assert!(injected >= 5);
    eprintln!("faults injected: {injected} short writes, corrupt and failed reads");
}

/// Forwards TCP to a database server and, once armed, cuts both directions as soon as
/// the client sends `needle`.
struct Cutter {
    address: std::net::SocketAddr,
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
}

async fn cutter(upstream: &'static str, needle: &'static [u8]) -> Cutter {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let cut = Arc::new(AtomicBool::new(false));
    let (armed_, cut_) = (armed.clone(), cut.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let (armed, cut) = (armed_.clone(), cut_.clone());
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let downstream = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let mut window: Vec<u8> = Vec::new();
                let mut buffer = vec![0u8; 64 * 1024];
                while let Ok(n) = client_read.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    window.extend_from_slice(&buffer[..n]);
                    if armed.load(Ordering::SeqCst)
                        && window.windows(needle.len()).any(|w| w == needle)
                    {
                        cut.store(true, Ordering::SeqCst);
                        break;
                    }
                    let keep = window.len().saturating_sub(needle.len());
                    window.drain(..keep);
                    if server_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
                // Both directions go: the client sees its connection die mid-batch.
                downstream.abort();
            });
        }
    });
    Cutter {
        address,
        armed,
        cut,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_dropped_mid_batch_leaves_no_partial_batch() {
    for (backend, upstream) in [
        (Backend::Postgres, "127.0.0.1:5432"),
        (Backend::Mysql, "127.0.0.1:3306"),
    ] {
        let Some(t) = TestDb::new(backend).await else {
            continue;
        };
        eprintln!("-- on {backend:?}");
        // Every row is sent inside the transaction; the connection dies as the client
        // asks to commit it.
        let cutter = cutter(upstream, b"COMMIT").await;
        let mut url = t.db.url().replace(upstream, &cutter.address.to_string());
        if backend == Backend::Mysql {
            // Else the client finds the server's socket and leaves the proxy.
            url.push_str("?prefer_socket=false");
        }
        let proxied = Database::connect(&url).await.unwrap();
        let (registry, _) = registry(&t, Faults::new());
        cutter.armed.store(true, Ordering::SeqCst);
        let mut saver = lakery::Saver::new(&registry, &proxied);
        for i in 0..10 {
            saver.save_soon(&sample(i));
        }
        let outcome = tokio::time::timeout(Duration::from_secs(60), saver.finish())
            .await
            .expect("a dropped connection fails the save rather than hanging it");
        assert!(cutter.cut.load(Ordering::SeqCst), "the connection was cut");
        let error = outcome.unwrap_err();
        eprintln!("the batch failed: {error}");
        assert_eq!(manifests(&t.db).await, 0, "no partial batch on {backend:?}");
        let contents = t.count("SELECT COUNT(*) AS n FROM lakery_contents").await;
        assert_eq!(contents, 0);
        assert_no_partial_blob(&t);
        // The direct connection still saves.
        lakery::save_one(&sample(99), &registry, &t.db)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_save_leaves_no_transaction_and_no_partial_blob() {
    common::each_backend(a_cancelled_save_leaves_no_transaction_and_no_partial_blob_on).await;
}

async fn a_cancelled_save_leaves_no_transaction_and_no_partial_blob_on(t: TestDb) {
    let (registry, _) = registry(&t, Faults::new().delay(Duration::from_millis(5)));
    let mut committed = 0;
    let mut cancelled = 0;
    let mut committed_when_cancelled = 0;
    // Drop the save's future at many moments: while writing contents, while committing.
    for (round, after_ms) in [0u64, 1, 2, 3, 5, 8, 12, 16, 20, 25, 30, 40, 60, 100]
        .into_iter()
        .enumerate()
    {
        let mut saver = lakery::Saver::new(&registry, &t.db);
        for i in 0..8 {
            saver.save_soon(&sample(round as u32 * 100 + i));
        }
        match tokio::time::timeout(Duration::from_millis(after_ms), saver.finish()).await {
            Ok(result) => {
                result.unwrap();
                committed += 8;
            }
            Err(_) => {
                cancelled += 1;
                // Dropped after its commit reached the server, a batch may have
                // committed; then whole, never in part.
                let now = manifests(&t.db).await;
                if now == committed + 8 {
                    committed_when_cancelled += 1;
                    committed += 8;
                }
            }
        }
        // Whatever is committed loads whole; nothing else is.
        assert_eq!(manifests(&t.db).await, committed, "after {after_ms} ms");
        let report = lakery::verify(&registry, &t.db, &Query::new())
            .await
            .unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_no_partial_blob(&t);
        // No transaction left open: another save goes through at once.
        let next = tokio::time::timeout(
            Duration::from_secs(10),
            lakery::save_one(&sample(10_000 + round as u32), &registry, &t.db),
        )
        .await
        .expect("no lock left behind by the cancelled save");
        next.unwrap();
        committed += 1;
        if t.backend() == Backend::Postgres {
            let open = t
                .count(
                    "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                     AND state LIKE 'idle in transaction%'",
                )
                .await;
            assert_eq!(open, 0, "a transaction left open after {after_ms} ms");
        }
    }
    assert!(cancelled >= 3, "only {cancelled} saves were cancelled");
    eprintln!(
        "cancelled {cancelled} saves at different moments ({committed_when_cancelled} of them \
         after their commit reached the server, committed whole); {committed} manifests intact"
    );
}
