//! The hash algorithm is chosen per registry and recorded per content: contents saved
//! with BLAKE3 carry BLAKE3 hashes of their bytes on every storage, load and fail their
//! check like SHA-256 ones, and both kinds load side by side whatever the registry saves
//! with; a row naming an algorithm lakery does not know is a clear error.

mod common;

use common::TestDb;
use futures::TryStreamExt;
use lakery::serializer::{JsonLines, RawBytes, Text};
use lakery::{ContentStream, Error, FileStorage, HashAlgorithm, MemoryStorage, Registry, Storable};
use sha2::Digest as _;

#[derive(Storable, Debug)]
#[storable(class_id = "5b3c1d2e-8f7a-4b6c-9d0e-1f2a3b4c5d6e")]
struct Capture {
    title: String,
    #[content(serializer = Text, storage = "files")]
    notes: String,
    #[content(serializer = RawBytes, storage = "memory")]
    raw: Vec<u8>,
    #[content(serializer = JsonLines, storage = "files")]
    samples: ContentStream<u64>,
    #[content(serializer = JsonLines)]
    events: ContentStream<String>,
}

fn capture(n: u64) -> Capture {
    Capture {
        title: format!("capture {n}"),
        notes: "notes ".repeat(n as usize),
        raw: (0..n * 100).map(|i| (i % 251) as u8).collect(),
        samples: ContentStream::from_iter(0..n * 1000),
        events: ContentStream::from_iter((0..n).map(|i| format!("event {i}"))),
    }
}

fn registry(t: &TestDb, memory: &MemoryStorage, algorithm: HashAlgorithm) -> Registry {
    Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storage("memory", memory.clone())
        .storable::<Capture>()
        .hash_algorithm(algorithm)
        .build()
        .unwrap()
}

/// The hash of `bytes` in `algorithm`, computed by that algorithm's own crate.
fn reference_hash(algorithm: &str, bytes: &[u8]) -> String {
    match algorithm {
        "sha256" => hex(&sha2::Sha256::digest(bytes)),
        "blake3" => blake3::hash(bytes).to_hex().to_string(),
        other => panic!("no reference for {other}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn check_loads(registry: &Registry, t: &TestDb, record: &lakery::ManifestRecord, n: u64) {
    let loaded: Capture = lakery::load_one(record, registry, &t.db).await.unwrap();
    assert_eq!(loaded.title, format!("capture {n}"));
    assert_eq!(loaded.notes, "notes ".repeat(n as usize));
    assert_eq!(loaded.raw.len() as u64, n * 100);
    let samples: Vec<u64> = loaded.samples.try_collect().await.unwrap();
    assert_eq!(samples, (0..n * 1000).collect::<Vec<_>>());
    let events: Vec<String> = loaded.events.try_collect().await.unwrap();
    assert_eq!(events.len() as u64, n);
}

#[tokio::test(flavor = "multi_thread")]
async fn blake3_contents_carry_blake3_hashes_and_load_beside_sha256_ones() {
    common::each_backend(blake3_contents_carry_blake3_hashes_and_load_beside_sha256_ones_on).await;
}

async fn blake3_contents_carry_blake3_hashes_and_load_beside_sha256_ones_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let blake3 = registry(&t, &memory, HashAlgorithm::Blake3);
    let sha256 = registry(&t, &memory, HashAlgorithm::Sha256);
    let with_blake3 = lakery::save_one(&capture(40), &blake3, &t.db)
        .await
        .unwrap();
    let with_sha256 = lakery::save_one(&capture(30), &sha256, &t.db)
        .await
        .unwrap();

    for (record, algorithm) in [(&with_blake3, "blake3"), (&with_sha256, "sha256")] {
        let contents = t.db.contents(record.id).await.unwrap();
        assert_eq!(contents.len(), 5);
        for content in &contents {
            assert_eq!(content.hash_algorithm, algorithm, "{}", content.key);
            // The recorded hash is the algorithm's hash of the bytes the storage holds.
            if content.storage_name == "files" {
                let path = t
                    .path("files")
                    .join(content.storage_config["path"].as_str().unwrap());
                let bytes = std::fs::read(path).unwrap();
                assert_eq!(
                    content.hash,
                    reference_hash(algorithm, &bytes),
                    "{}",
                    content.key
                );
                assert_eq!(content.size, bytes.len() as u64);
            }
        }
    }
    // Either registry loads both.
    for registry in [&blake3, &sha256] {
        check_loads(registry, &t, &with_blake3, 40).await;
        check_loads(registry, &t, &with_sha256, 30).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_blake3_contents_fail_their_check() {
    common::each_backend(corrupt_blake3_contents_fail_their_check_on).await;
}

async fn corrupt_blake3_contents_fail_their_check_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory, HashAlgorithm::Blake3);
    let record = lakery::save_one(&capture(20), &registry, &t.db)
        .await
        .unwrap();
    let contents = t.db.contents(record.id).await.unwrap();
    let path_of = |key: &str| {
        let content = contents.iter().find(|c| c.key == key).unwrap();
        t.path("files")
            .join(content.storage_config["path"].as_str().unwrap())
    };
    // A value: the load fails, naming the algorithm.
    std::fs::write(path_of("notes"), b"tampered").unwrap();
    let error = lakery::load_one::<Capture>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    let Error::HashMismatch { key, mismatch, .. } = &error else {
        panic!("expected a hash mismatch, got {error:?}");
    };
    assert_eq!(
        (key.as_str(), mismatch.algorithm.as_str()),
        ("notes", "blake3")
    );

    // A stream: the error comes at its end, and `verify` finds both.
    let mut bytes = std::fs::read(path_of("samples")).unwrap();
    bytes[10] = b'9';
    std::fs::write(path_of("samples"), bytes).unwrap();
    let report = lakery::verify(&registry, &t.db, &lakery::Query::new())
        .await
        .unwrap();
    let mut failed: Vec<_> = report.problems.iter().map(|p| p.key.as_str()).collect();
    failed.sort();
    assert_eq!(failed, ["notes", "samples"], "{report:?}");
    std::fs::write(path_of("notes"), "notes ".repeat(20)).unwrap();
    let loaded: Capture = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let error = loaded.samples.try_collect::<Vec<_>>().await.unwrap_err();
    assert!(
        matches!(&error, Error::HashMismatch { key, mismatch, .. }
            if key == "samples" && mismatch.algorithm == "blake3"),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_hash_algorithm_is_named() {
    common::each_backend(an_unknown_hash_algorithm_is_named_on).await;
}

async fn an_unknown_hash_algorithm_is_named_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory, HashAlgorithm::Sha256);
    let record = lakery::save_one(&capture(3), &registry, &t.db)
        .await
        .unwrap();
    t.execute("UPDATE lakery_contents SET hash_algorithm = 'md5' WHERE content_key = 'raw'")
        .await;
    let error = lakery::load_one::<Capture>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("`raw`")
            && message.contains("`md5`")
            && message.contains("sha256 and blake3"),
        "{message}"
    );
}

/// A content row is untrusted: one that records a size of a petabyte makes a load, a
/// batch load and a raw read report a mismatch, rather than ask for a petabyte of memory
/// (which aborted the process).
#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_size_beyond_memory_is_a_mismatch() {
    common::each_backend(a_recorded_size_beyond_memory_is_a_mismatch_on).await;
}

async fn a_recorded_size_beyond_memory_is_a_mismatch_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = registry(&t, &memory, HashAlgorithm::Sha256);
    let record = lakery::save_one(&capture(3), &registry, &t.db)
        .await
        .unwrap();
    t.execute("UPDATE lakery_contents SET size = 1000000000000000 WHERE content_key = 'notes'")
        .await;
    let is_mismatch = |error: &Error| {
        matches!(error, Error::HashMismatch { key, mismatch, .. }
            if key == "notes" && mismatch.expected_size == 1_000_000_000_000_000
                && mismatch.actual_size == "notes ".len() as u64 * 3)
    };
    let error = lakery::load_one::<Capture>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(is_mismatch(&error), "{error:?}");
    let mut loader = lakery::Loader::new(&registry, &t.db);
    loader.load_soon::<Capture>(&record);
    match loader.finish().await {
        Err(Error::Batch { failures, .. }) => {
            assert!(
                failures.iter().any(|f| is_mismatch(&f.error)),
                "{failures:?}"
            )
        }
        other => panic!("expected the batch to fail: {other:?}"),
    }
    let error = lakery::read_content(&registry, &t.db, record.id, "notes")
        .await
        .unwrap_err();
    assert!(is_mismatch(&error), "{error:?}");
}
