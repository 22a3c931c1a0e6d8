//! Batches: all-or-nothing saves that report every failure, and batch loads.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::TestDb;
use lakery::storage::{StorageError, StorageErrorKind, WriteRequest};
use lakery::{Error, MemoryStorage, Registry, Storable, Storage};

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "a1b2c3d4-0000-4000-8000-000000000001")]
struct Sample {
    name: String,
    #[content(storage = "blobs")]
    payload: Vec<u32>,
}

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "a1b2c3d4-0000-4000-8000-000000000002", version = 2)]
struct Summary {
    count: u64,
    // JSON cannot write a map whose keys are not strings: a serialization failure.
    by_pair: BTreeMap<(u8, u8), u32>,
}

/// A storage that refuses to write payloads starting with a marker, and counts how
/// many writes run at once.
#[derive(Clone, Default)]
struct Picky {
    inner: MemoryStorage,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Storage for Picky {
    async fn write(&self, request: WriteRequest<'_>) -> Result<serde_json::Value, StorageError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let result = if request.data().starts_with(b"[666") {
            Err(StorageError::new(StorageErrorKind::Io, "disk on fire"))
        } else {
            self.inner.write(request).await
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
    async fn read(&self, config: &serde_json::Value) -> Result<bytes::Bytes, StorageError> {
        self.inner.read(config).await
    }
    async fn delete(&self, config: &serde_json::Value) -> Result<(), StorageError> {
        self.inner.delete(config).await
    }
    async fn exists(&self, config: &serde_json::Value) -> Result<bool, StorageError> {
        self.inner.exists(config).await
    }
}

fn sample(i: u32) -> Sample {
    Sample {
        name: format!("sample {i}"),
        payload: (i..i + 10).collect(),
    }
}

async fn count_manifests(t: &TestDb) -> i64 {
    t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_commits_every_manifest_and_loads_back_in_one_go() {
    common::each_backend(a_batch_commits_every_manifest_and_loads_back_in_one_go_on).await;
}

async fn a_batch_commits_every_manifest_and_loads_back_in_one_go_on(t: TestDb) {
    let picky = Picky::default();
    let registry = Registry::builder()
        .storage("blobs", picky.clone())
        .storable::<Sample>()
        .storable::<Summary>()
        .build()
        .unwrap();

    let values: Vec<Sample> = (0..200).map(sample).collect();
    let mut saver = lakery::Saver::new(&registry, &t.db).concurrency(4);
    let handles: Vec<_> = values
        .iter()
        .map(|v| saver.save_soon_with_tags(v, [("batch", "one")]))
        .collect();
    let summary = Summary {
        count: 200,
        by_pair: BTreeMap::new(),
    };
    let summary_handle = saver.save_soon(&summary);
    assert_eq!(saver.len(), 201);
    let batch = saver.finish().await.unwrap();
    assert_eq!(count_manifests(&t).await, 201);
    assert!(
        picky.max_in_flight.load(Ordering::SeqCst) <= 4,
        "at most 4 writes at once"
    );
    assert!(
        picky.max_in_flight.load(Ordering::SeqCst) >= 2,
        "writes ran concurrently"
    );
    assert_eq!(batch[handles[7]].tags["batch"], "one");

    let mut loader = lakery::Loader::new(&registry, &t.db);
    let load_handles: Vec<_> = handles
        .iter()
        .map(|h| loader.load_soon::<Sample>(&batch[*h]))
        .collect();
    let summary_load = loader.load_soon::<Summary>(&batch[summary_handle]);
    let mut loaded = loader.finish().await.unwrap();
    let back: Vec<Sample> = load_handles
        .into_iter()
        .map(|h| loaded.take(h).unwrap())
        .collect();
    assert_eq!(back, values);
    assert_eq!(loaded.take(summary_load), Some(summary));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_batch_commits_nothing_and_reports_every_failure() {
    common::each_backend(a_failing_batch_commits_nothing_and_reports_every_failure_on).await;
}

async fn a_failing_batch_commits_nothing_and_reports_every_failure_on(t: TestDb) {
    let picky = Picky::default();
    let registry = Registry::builder()
        .storage("blobs", picky.clone())
        .storable::<Sample>()
        .storable::<Summary>()
        .build()
        .unwrap();

    let mut saver = lakery::Saver::new(&registry, &t.db);
    saver.save_soon(&sample(1));
    saver.save_soon(&sample(666)); // the storage refuses it
    saver.save_soon(&Summary {
        count: 1,
        by_pair: BTreeMap::from([((1, 2), 3)]),
    }); // JSON refuses it
    saver.save_soon(&sample(2));
    saver.save_soon(&sample(666)); // the last value fails too, after the others wrote
    let error = saver.finish().await.unwrap_err();

    let Error::Batch {
        action,
        total,
        failures,
    } = &error
    else {
        panic!("expected a batch error, got {error:?}")
    };
    assert_eq!((*action, *total), ("saved", 5));
    // Every failure, not only the first: a saver that stops at its first failure, or
    // reports only one, loses an index here.
    let indices: Vec<_> = failures.iter().map(|f| f.index).collect();
    assert_eq!(indices, [1, 2, 4], "{error}");

    // Each failure names its manifest, content key and storage or serializer, in its
    // fields and in the message a user reads.
    let mut manifests = Vec::new();
    for failure in failures {
        let message = failure.error.to_string();
        let manifest = match (failure.index, &failure.error) {
            (
                1 | 4,
                Error::Storage {
                    operation: "write",
                    storage,
                    manifest,
                    key,
                    source,
                },
            ) => {
                assert_eq!((storage.as_str(), key.as_str()), ("blobs", "payload"));
                assert_eq!(source.kind(), StorageErrorKind::Io);
                assert!(
                    message.contains("storage `blobs` failed to write content `payload`")
                        && message.contains("disk on fire"),
                    "{message}"
                );
                *manifest
            }
            (
                2,
                Error::Serialize {
                    manifest,
                    key,
                    serializer,
                    ..
                },
            ) => {
                assert_eq!(
                    (key.as_str(), serializer.as_str()),
                    ("body", "lakery.json@v1")
                );
                assert!(
                    message.contains("cannot serialize content `body`")
                        && message.contains("`lakery.json@v1`"),
                    "{message}"
                );
                *manifest
            }
            (index, other) => panic!("value #{index} failed unexpectedly: {other:?}"),
        };
        assert!(
            message.contains(&format!("of manifest {manifest}")),
            "value #{} names its manifest {manifest}: {message}",
            failure.index
        );
        manifests.push(manifest);
    }
    manifests.sort();
    manifests.dedup();
    assert_eq!(
        manifests.len(),
        3,
        "each failed value has a manifest of its own"
    );

    // The batch's message lists each failed value by its index, and no other.
    let message = error.to_string();
    assert!(
        message.starts_with("3 of 5 values in the batch failed and nothing was saved"),
        "{message}"
    );
    for failure in failures {
        assert!(
            message.contains(&format!("value #{}: {}", failure.index, failure.error)),
            "{message}"
        );
    }
    assert!(
        !message.contains("value #0") && !message.contains("value #3"),
        "{message}"
    );

    // The values that did not fail were written before the batch failed (so the
    // failure came after writes, not before them), and no row refers to them.
    assert_eq!(
        picky.inner.len(),
        2,
        "the payloads of values #0 and #3 were written"
    );
    for table in ["lakery_manifests", "lakery_contents", "lakery_tags"] {
        let rows = t.count(&format!("SELECT count(*) AS n FROM {table}")).await;
        assert_eq!(rows, 0, "{table} kept rows of a failed batch");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_load_reports_each_failed_value() {
    common::each_backend(a_batch_load_reports_each_failed_value_on).await;
}

async fn a_batch_load_reports_each_failed_value_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = Registry::builder()
        .storage("blobs", memory.clone())
        .storable::<Sample>()
        .build()
        .unwrap();
    let a = lakery::save_one(&sample(1), &registry, &t.db)
        .await
        .unwrap();
    let b = lakery::save_one(&sample(2), &registry, &t.db)
        .await
        .unwrap();
    let payload =
        t.db.contents(b.id)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.key == "payload")
            .unwrap();
    assert!(memory.corrupt(&payload.storage_config, &b"[1,2,3]"[..]));

    let mut loader = lakery::Loader::new(&registry, &t.db);
    loader.load_soon::<Sample>(&a);
    loader.load_soon::<Sample>(&b);
    loader.load_soon::<Summary>(&a); // not registered
    let error = loader.finish().await.unwrap_err();
    let Error::Batch {
        action: "loaded",
        failures,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(failures.len(), 2, "{error}");
    assert!(
        matches!(&failures[0], lakery::BatchFailure { index: 1, error: Error::HashMismatch { manifest, key, storage, .. } }
            if *manifest == b.id && key == "payload" && storage == "blobs"),
        "{error:?}"
    );
    assert!(
        matches!(&failures[1], lakery::BatchFailure { index: 2, error: Error::NotRegistered { type_name, class_id } }
            if type_name.ends_with("Summary") && *class_id == Summary::CLASS_ID),
        "{error:?}"
    );
    // What a user reads: which value, which manifest, which content, which storage.
    let message = error.to_string();
    for expected in [
        "2 of 3 values in the batch failed and nothing was loaded".to_owned(),
        format!(
            "value #1: content `payload` of manifest {} in storage `blobs` is corrupt",
            b.id
        ),
        format!(
            "value #2: `{}` (class {}) is not registered",
            Summary::type_name(),
            Summary::CLASS_ID
        ),
    ] {
        assert!(message.contains(&expected), "{expected} in {message}");
    }
    assert!(!message.contains("value #0"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_manifest_can_be_loaded_several_times_in_one_batch() {
    common::each_backend(one_manifest_can_be_loaded_several_times_in_one_batch_on).await;
}

async fn one_manifest_can_be_loaded_several_times_in_one_batch_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("blobs", MemoryStorage::new())
        .storable::<Sample>()
        .build()
        .unwrap();
    let a = lakery::save_one(&sample(1), &registry, &t.db)
        .await
        .unwrap();
    let b = lakery::save_one(&sample(2), &registry, &t.db)
        .await
        .unwrap();

    let mut loader = lakery::Loader::new(&registry, &t.db);
    let handles = [&a, &b, &a, &a].map(|m| loader.load_soon::<Sample>(m));
    let mut loaded = loader.finish().await.unwrap();
    let back = handles.map(|h| loaded.take(h).unwrap());
    assert_eq!(back, [sample(1), sample(2), sample(1), sample(1)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_headline_counts_values_not_failed_contents() {
    common::each_backend(the_headline_counts_values_not_failed_contents_on).await;
}

async fn the_headline_counts_values_not_failed_contents_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = Registry::builder()
        .storage("blobs", memory.clone())
        .storable::<Sample>()
        .build()
        .unwrap();
    let a = lakery::save_one(&sample(1), &registry, &t.db)
        .await
        .unwrap();
    // Both contents of `a` are damaged: the body in the database, the payload in memory.
    t.execute(&format!(
        "UPDATE lakery_contents SET data = {} WHERE content_key = 'body'",
        t.blob(b"{}")
    ))
    .await;
    let payload =
        t.db.contents(a.id)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.key == "payload")
            .unwrap();
    assert!(memory.corrupt(&payload.storage_config, &b"[0]"[..]));

    let mut loader = lakery::Loader::new(&registry, &t.db);
    loader.load_soon::<Sample>(&a);
    loader.load_soon::<Sample>(&a);
    let error = loader.finish().await.unwrap_err();
    let Error::Batch { failures, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(failures.len(), 4, "two contents of two values: {error}");
    assert!(error.to_string().starts_with("2 of 2 values"), "{error}");
    // Each failure names the content and where it was read from.
    let mut places: Vec<(usize, &str, &str)> = failures
        .iter()
        .map(|f| match &f.error {
            Error::HashMismatch {
                manifest,
                key,
                storage,
                ..
            } if *manifest == a.id => (f.index, key.as_str(), storage.as_str()),
            other => panic!("value #{}: {other:?}", f.index),
        })
        .collect();
    places.sort();
    let database = registry.default_storage_name();
    assert_eq!(
        places,
        [
            (0, "body", database),
            (0, "payload", "blobs"),
            (1, "body", database),
            (1, "payload", "blobs")
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_the_database_refuses_part_way_leaves_nothing_and_the_pool_works() {
    common::each_backend(
        a_commit_the_database_refuses_part_way_leaves_nothing_and_the_pool_works_on,
    )
    .await;
}

/// The database refuses one tag row near the end of a large batch, after every content
/// of the batch was written and while its transaction holds the batch's manifest and
/// content rows: on PostgreSQL the batch's INSERTs are pipelined, so the failure arrives
/// while later statements are in flight. Nothing of the batch may stay, and the
/// connection must be usable after. This is the test that an insert without its
/// transaction, or one that does not roll back, fails.
async fn a_commit_the_database_refuses_part_way_leaves_nothing_and_the_pool_works_on(t: TestDb) {
    // The trigger refuses only once the batch's 300 manifest rows are visible to it, so
    // a refusal shows that the failure came part way through the insert, not before it.
    let poisoned = "NEW.tag_value = 'poison' AND (SELECT COUNT(*) FROM lakery_manifests) >= 300";
    let trigger = match t.backend() {
        lakery::Backend::Sqlite => format!(
            "CREATE TRIGGER lakery_test_refuse BEFORE INSERT ON lakery_tags \
             WHEN {poisoned} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        ),
        lakery::Backend::Postgres => format!(
            "CREATE FUNCTION lakery_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF {poisoned} THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER lakery_test_refuse BEFORE INSERT ON lakery_tags \
             FOR EACH ROW EXECUTE FUNCTION lakery_test_refuse();"
        ),
        _ => format!(
            "CREATE TRIGGER lakery_test_refuse BEFORE INSERT ON lakery_tags \
             FOR EACH ROW BEGIN IF {poisoned} THEN \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END"
        ),
    };
    t.execute(&trigger).await;
    let memory = MemoryStorage::new();
    let registry = Registry::builder()
        .storage("blobs", memory.clone())
        .storable::<Sample>()
        .build()
        .unwrap();
    let samples: Vec<Sample> = (0..300).map(sample).collect();

    for attempt in 0..3 {
        let mut saver = lakery::Saver::new(&registry, &t.db);
        for (i, s) in samples.iter().enumerate() {
            let tag = if i == 290 { "poison" } else { "fine" };
            saver.save_soon_with_tags(s, [("state", tag)]);
        }
        let error = saver.finish().await.unwrap_err();
        // The whole commit failed, not a value: the error says what lakery was doing
        // and carries the database's reason.
        assert!(
            matches!(&error, Error::Database { context, .. } if context == "committing manifests"),
            "attempt {attempt}: {error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("database error while committing manifests: ")
                && error.to_string().contains("refused by the test"),
            "{error}"
        );
        // The cause stays an error, reachable as the source, without diesel in lakery's
        // own types.
        let cause = std::error::Error::source(&error).expect("the database's error");
        assert!(
            cause.downcast_ref::<diesel::result::Error>().is_some(),
            "attempt {attempt}: {cause:?}"
        );
        // Every payload was written before the commit was tried (the same bytes each
        // attempt, so the same 300 blobs).
        assert_eq!(memory.len(), 300, "attempt {attempt}");
        for table in ["lakery_manifests", "lakery_contents", "lakery_tags"] {
            let rows = t.count(&format!("SELECT count(*) AS n FROM {table}")).await;
            assert_eq!(
                rows, 0,
                "attempt {attempt}: {table} kept rows of a refused batch"
            );
        }
    }

    // The pool's connections are still good: the same batch without the poison commits.
    let mut saver = lakery::Saver::new(&registry, &t.db);
    for s in &samples {
        saver.save_soon_with_tags(s, [("state", "fine")]);
    }
    let saved = saver.finish().await.unwrap();
    assert_eq!(saved.records().len(), 300);
    assert_eq!(t.count("SELECT count(*) AS n FROM lakery_tags").await, 300);
    let mut loader = lakery::Loader::new(&registry, &t.db);
    let handles: Vec<_> = saved
        .records()
        .iter()
        .map(|r| loader.load_soon::<Sample>(r))
        .collect();
    let mut loaded = loader.finish().await.unwrap();
    for (handle, s) in handles.into_iter().zip(&samples) {
        assert_eq!(loaded.take(handle).as_ref(), Some(s));
    }
}
