//! Versioned models on every backend: old versions load as the current type along a
//! `migrate_from` chain or through a `migrate` hook, failures and unknown versions are
//! clear errors, and `rewrite` moves stored data to the current version, resumably.

mod common;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use lakery::storage::{StorageError, WriteRequest};
use serde_json::Value;

use common::TestDb;
use lakery::migration::{rewrite, rewrite_with_progress, RewriteOptions};
use lakery::serializer::Bincode;
use lakery::{Error, MemoryStorage, Query, Registry, Storable, Storage};

const RUN: &str = "5d0e3c1a-8b7f-4e2d-9c6b-1a2f3e4d5c6b";

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "5d0e3c1a-8b7f-4e2d-9c6b-1a2f3e4d5c6b", version = 1)]
struct RunV1 {
    loss: f64,
    notes: String,
}

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(
    class_id = "5d0e3c1a-8b7f-4e2d-9c6b-1a2f3e4d5c6b",
    version = 2,
    migrate_from = RunV1
)]
struct RunV2 {
    train_loss: f64,
    notes: String,
    #[content(serializer = Bincode, storage = "archive")]
    curve: Vec<f64>,
}

impl From<RunV1> for RunV2 {
    fn from(old: RunV1) -> Self {
        RunV2 {
            train_loss: old.loss,
            notes: old.notes,
            curve: Vec::new(),
        }
    }
}

/// The current version.
#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(
    class_id = "5d0e3c1a-8b7f-4e2d-9c6b-1a2f3e4d5c6b",
    version = 3,
    migrate_from = RunV2
)]
struct Run {
    train_loss: f64,
    validation_loss: Option<f64>,
    notes: String,
    #[content(serializer = Bincode, storage = "archive")]
    curve: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
#[error("notes `{0}` mark a run that must not be migrated")]
struct Refused(String);

impl TryFrom<RunV2> for Run {
    type Error = Refused;

    fn try_from(old: RunV2) -> Result<Self, Refused> {
        if old.notes == "reject" {
            return Err(Refused(old.notes));
        }
        Ok(Run {
            train_loss: old.train_loss,
            validation_loss: None,
            notes: old.notes,
            curve: old.curve,
        })
    }
}

/// A version from a newer program.
#[derive(Storable, Debug)]
#[storable(class_id = "5d0e3c1a-8b7f-4e2d-9c6b-1a2f3e4d5c6b", version = 4)]
struct RunV4 {
    everything_renamed: u8,
}

fn registry() -> Registry {
    registry_with(MemoryStorage::new())
}

/// The models' registry, with `archive` as the archive storage.
fn registry_with(archive: impl Storage) -> Registry {
    Registry::builder()
        .storage("archive", archive)
        .storable::<RunV1>()
        .storable::<RunV2>()
        .storable::<Run>()
        .storable::<RunV4>()
        .build()
        .unwrap()
}

fn v1(n: u32) -> RunV1 {
    RunV1 {
        loss: f64::from(n) / 8.0,
        notes: format!("v1 run {n}"),
    }
}

fn v2(n: u32) -> RunV2 {
    RunV2 {
        train_loss: f64::from(n) / 4.0,
        notes: format!("v2 run {n}"),
        curve: vec![f64::from(n), 0.5],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn old_versions_load_as_the_current_type() {
    common::each_backend(old_versions_load_as_the_current_type_on).await;
}

async fn old_versions_load_as_the_current_type_on(t: TestDb) {
    let registry = registry();
    let a = lakery::save_one(&v1(1), &registry, &t.db).await.unwrap();
    let b = lakery::save_one(&v2(2), &registry, &t.db).await.unwrap();
    let current = Run {
        train_loss: 0.75,
        validation_loss: Some(0.8),
        notes: "v3".into(),
        curve: vec![3.0],
    };
    let c = lakery::save_one(&current, &registry, &t.db).await.unwrap();
    assert_eq!(
        (a.class_version, b.class_version, c.class_version),
        (1, 2, 3)
    );

    let from_v1: Run = lakery::load_one(&a, &registry, &t.db).await.unwrap();
    assert_eq!(
        from_v1,
        Run {
            train_loss: 0.125,
            validation_loss: None,
            notes: "v1 run 1".into(),
            curve: vec![],
        }
    );
    let from_v2: Run = lakery::load_one(&b, &registry, &t.db).await.unwrap();
    assert_eq!(from_v2.curve, vec![2.0, 0.5]);
    assert_eq!(from_v2.train_loss, 0.5);
    let same: Run = lakery::load_one(&c, &registry, &t.db).await.unwrap();
    assert_eq!(same, current);

    // Every version of a page, in one load batch.
    let page = t.db.find(&Query::of::<Run>()).await.unwrap();
    assert_eq!(page.records.len(), 3);
    let mut loader = lakery::Loader::new(&registry, &t.db);
    let handles: Vec<_> = page
        .records
        .iter()
        .map(|r| loader.load_soon::<Run>(r))
        .collect();
    let mut batch = loader.finish().await.unwrap();
    let notes: Vec<String> = handles
        .into_iter()
        .map(|h| batch.take(h).unwrap().notes)
        .collect();
    assert_eq!(notes, ["v1 run 1", "v2 run 2", "v3"]);

    // An intermediate version loads older ones too, but not newer ones.
    let v2_from_v1: RunV2 = lakery::load_one(&a, &registry, &t.db).await.unwrap();
    assert_eq!(v2_from_v1.train_loss, 0.125);
    let error = lakery::load_one::<RunV2>(&c, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnsupportedVersion { manifest, stored: 3, known, .. }
            if *manifest == c.id && known == &[1, 2]),
        "{error:?}"
    );
    let message = error.to_string();
    for part in [&c.id.to_string(), "version 3", RUN] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_conversion_names_the_manifest_and_both_versions() {
    common::each_backend(a_failed_conversion_names_the_manifest_and_both_versions_on).await;
}

async fn a_failed_conversion_names_the_manifest_and_both_versions_on(t: TestDb) {
    let registry = registry();
    let rejected = RunV2 {
        notes: "reject".into(),
        ..v2(1)
    };
    let record = lakery::save_one(&rejected, &registry, &t.db).await.unwrap();
    let error = lakery::load_one::<Run>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    match &error {
        Error::VersionMigration {
            manifest,
            from,
            to,
            source,
            ..
        } => {
            assert_eq!((*manifest, *from, *to), (record.id, 2, 3));
            assert!(source.downcast_ref::<Refused>().is_some(), "{source:?}");
        }
        other => panic!("expected a migration error, got {other:?}"),
    }
    let message = error.to_string();
    for part in [
        &record.id.to_string(),
        "from version 2 to version 3",
        "must not be migrated",
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
    // A v1 value that reaches the refusing step fails there too, with the step's versions.
    let old = RunV1 {
        notes: "reject".into(),
        ..v1(1)
    };
    let record = lakery::save_one(&old, &registry, &t.db).await.unwrap();
    let error = lakery::load_one::<Run>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::VersionMigration { manifest, from: 2, to: 3, .. }
            if *manifest == record.id),
        "{error:?}"
    );
    let message = error.to_string();
    for part in [&record.id.to_string(), "from version 2 to version 3", RUN] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_version_is_an_error_naming_what_the_code_knows() {
    common::each_backend(a_newer_version_is_an_error_naming_what_the_code_knows_on).await;
}

async fn a_newer_version_is_an_error_naming_what_the_code_knows_on(t: TestDb) {
    let registry = registry();
    let record = lakery::save_one(
        &RunV4 {
            everything_renamed: 1,
        },
        &registry,
        &t.db,
    )
    .await
    .unwrap();
    let error = lakery::load_one::<Run>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnsupportedVersion { stored: 4, known, .. } if known == &[1, 2, 3]),
        "{error:?}"
    );
    let message = error.to_string();
    for part in [
        "version 4",
        RUN,
        "versions 1, 2 and 3",
        "newer program",
        &record.id.to_string(),
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }

    // An old version that no chain or hook reaches: `RunV4` declares no `migrate_from`.
    let old = lakery::save_one(&v1(1), &registry, &t.db).await.unwrap();
    let error = lakery::load_one::<RunV4>(&old, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnsupportedVersion { manifest, stored: 1, known, .. }
            if *manifest == old.id && known == &[4]),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&old.id.to_string()), "{message}");
    assert!(message.contains("loads only version 4"), "{message}");
    assert!(
        message.contains("add a `migrate_from` chain or a `migrate` hook"),
        "{message}"
    );
}

/// A model whose old versions are gone from the code: a hook reads their contents.
mod hooked {
    use lakery::migration::OldValue;
    use lakery::serializer::Bincode;
    use lakery::Storable;

    pub const CLASS: &str = "7e1f4d2b-9c8a-4f3e-8d7c-2b3a4c5d6e7f";

    /// What version 1 looked like; kept here only to save old data for the test.
    #[derive(Storable)]
    #[storable(class_id = "7e1f4d2b-9c8a-4f3e-8d7c-2b3a4c5d6e7f", version = 1)]
    pub struct SampleV1 {
        pub full_name: String,
        #[content(serializer = Bincode, storage = "archive")]
        pub readings: Vec<f32>,
    }

    #[derive(Storable, Debug, PartialEq)]
    #[storable(
        class_id = "7e1f4d2b-9c8a-4f3e-8d7c-2b3a4c5d6e7f",
        version = 2,
        migrate = from_v1
    )]
    pub struct Sample {
        pub first_name: String,
        pub last_name: String,
        #[content(serializer = Bincode, storage = "archive")]
        pub readings: Vec<f64>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("`{0}` is not a first and a last name")]
    pub struct BadName(pub String);

    pub fn from_v1(mut old: OldValue) -> Result<Sample, Box<dyn std::error::Error + Send + Sync>> {
        // What the hook sees of the stored value; a failed assertion fails the test.
        assert_eq!(old.version(), 1);
        let mut keys: Vec<&str> = old.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, ["body", "readings"]);
        let readings = old.content("readings").expect("the old content is there");
        assert_eq!(readings.serializer_name(), "lakery.bincode@v1");
        assert_eq!(readings.content_type(), "application/x-bincode");
        assert!(!readings.data().is_empty());
        assert!(old.content("missing").is_none());
        let body = old.body_json()?;
        let full = body["full_name"].as_str().unwrap_or_default().to_owned();
        let Some((first, last)) = full.split_once(' ') else {
            return Err(Box::new(BadName(full)));
        };
        let readings: Vec<f32> = old.take("readings", &Bincode)?;
        Ok(Sample {
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            readings: readings.into_iter().map(f64::from).collect(),
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_migrates_versions_whose_type_is_gone() {
    common::each_backend(a_hook_migrates_versions_whose_type_is_gone_on).await;
}

async fn a_hook_migrates_versions_whose_type_is_gone_on(t: TestDb) {
    use hooked::{Sample, SampleV1};
    let registry = Registry::builder()
        .storage("archive", MemoryStorage::new())
        .storable::<SampleV1>()
        .storable::<Sample>()
        .build()
        .unwrap();
    let old = SampleV1 {
        full_name: "Ada Lovelace".into(),
        readings: vec![1.5, 2.25],
    };
    let record = lakery::save_one(&old, &registry, &t.db).await.unwrap();
    let sample: Sample = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(
        sample,
        Sample {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            readings: vec![1.5, 2.25],
        }
    );
    assert_eq!(Sample::known_versions(), [1, 2]);

    // The hook's own error, carried with the manifest and the versions.
    let bad = SampleV1 {
        full_name: "Plato".into(),
        readings: vec![],
    };
    let record = lakery::save_one(&bad, &registry, &t.db).await.unwrap();
    let error = lakery::load_one::<Sample>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, Error::VersionMigration { manifest, from: 1, to: 2, .. }
            if *manifest == record.id),
        "{error:?}"
    );
    for part in [
        "`Plato` is not a first and a last name",
        hooked::CLASS,
        &record.id.to_string(),
        "from version 1 to version 2",
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

/// Saves `n` values of versions 1 and 2, alternately, tagged with their number.
async fn save_old(t: &TestDb, registry: &Registry, n: u32) -> Vec<lakery::ManifestRecord> {
    let mut saver = lakery::Saver::new(registry, &t.db);
    for i in 0..n {
        let tags = [("n", i.to_string()), ("project", "p1".to_owned())];
        if i % 2 == 0 {
            saver.save_soon_with_tags(&v1(i), tags);
        } else {
            saver.save_soon_with_tags(&v2(i), tags);
        }
    }
    saver.finish().await.unwrap().into_records()
}

/// `failed` is the refusal of `rejected`, naming it and the step that refused.
fn assert_refused(failed: &(lakery::ManifestId, Error), rejected: &lakery::ManifestRecord) {
    let (id, error) = failed;
    assert_eq!(*id, rejected.id);
    assert!(
        matches!(error, Error::VersionMigration { manifest, from: 2, to: 3, .. }
            if *manifest == rejected.id),
        "{error:?}"
    );
    let message = error.to_string();
    for part in [&rejected.id.to_string(), "must not be migrated"] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rewrite_moves_old_versions_to_the_current_one() {
    common::each_backend(rewrite_moves_old_versions_to_the_current_one_on).await;
}

async fn rewrite_moves_old_versions_to_the_current_one_on(t: TestDb) {
    let registry = registry();
    let old = save_old(&t, &registry, 10).await;
    let rejected = lakery::save_one(
        &RunV2 {
            notes: "reject".into(),
            ..v2(99)
        },
        &registry,
        &t.db,
    )
    .await
    .unwrap();
    let newer = lakery::save_one(
        &RunV4 {
            everything_renamed: 0,
        },
        &registry,
        &t.db,
    )
    .await
    .unwrap();

    // A dry run migrates everything and writes nothing.
    let planned = rewrite::<Run>(&registry, &t.db, RewriteOptions::new().dry_run(true))
        .await
        .unwrap();
    assert!(planned.dry_run);
    assert_eq!(planned.rewritten, 10);
    assert_eq!(planned.failed.len(), 1);
    assert_refused(&planned.failed[0], &rejected);
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        12
    );

    // Old manifests kept.
    let mut seen = Vec::new();
    let report = rewrite_with_progress::<Run>(
        &registry,
        &t.db,
        RewriteOptions::new().batch_size(4),
        |progress| {
            seen.push(*progress);
            ControlFlow::Continue(())
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (report.rewritten, report.deleted, report.failed.len()),
        (10, 0, 1)
    );
    assert!(!report.stopped && !report.dry_run);
    assert_refused(&report.failed[0], &rejected);
    assert_eq!(report.batches, 3, "11 old manifests in batches of 4");
    assert_eq!(seen.last().map(|p| (p.rewritten, p.failed)), Some((10, 1)));
    assert!(seen.windows(2).all(|w| w[0].rewritten <= w[1].rewritten));

    let current =
        t.db.find(&Query::of::<Run>().version(3))
            .await
            .unwrap()
            .records;
    assert_eq!(current.len(), 10);
    for record in &current {
        let replaced = record
            .replaces
            .expect("a rewritten manifest names the one it replaces");
        let original = old
            .iter()
            .find(|o| o.id == replaced)
            .expect("it replaces an old one");
        assert_eq!(record.tags, original.tags, "tags carried over");
        let before: Run = lakery::load_one(original, &registry, &t.db).await.unwrap();
        let after: Run = lakery::load_one(record, &registry, &t.db).await.unwrap();
        assert_eq!(before, after);
    }
    // The newer version and the refused one are left alone; the old ones are kept.
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        22
    );
    assert_eq!(t.db.manifest(newer.id).await.unwrap(), newer);
    assert_eq!(t.db.manifest(rejected.id).await.unwrap(), rejected);

    // Nothing is done twice.
    let again = rewrite::<Run>(&registry, &t.db, RewriteOptions::new())
        .await
        .unwrap();
    assert_eq!((again.rewritten, again.failed.len()), (0, 1));
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        22
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_rewrite_resumes_without_doing_anything_twice() {
    common::each_backend(an_interrupted_rewrite_resumes_without_doing_anything_twice_on).await;
}

/// A memory storage whose `hold_at`-th write, once its bytes are stored, says so and
/// never returns: a save held after writing its content, before committing.
struct HoldingWrite {
    inner: MemoryStorage,
    writes: AtomicUsize,
    hold_at: usize,
    held: Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl Storage for HoldingWrite {
    async fn write(&self, request: WriteRequest<'_>) -> Result<Value, StorageError> {
        let config = self.inner.write(request).await?;
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.hold_at {
            self.held.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(config)
    }
    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        self.inner.read(config).await
    }
    async fn delete(&self, config: &Value) -> Result<(), StorageError> {
        self.inner.delete(config).await
    }
    async fn exists(&self, config: &Value) -> Result<bool, StorageError> {
        self.inner.exists(config).await
    }
}

async fn an_interrupted_rewrite_resumes_without_doing_anything_twice_on(t: TestDb) {
    let archive = MemoryStorage::new();
    let registry = registry_with(archive.clone());
    let old = save_old(&t, &registry, 25).await;
    let current = || async {
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests WHERE class_version = 3")
            .await
    };

    // Stopped by the caller after two batches.
    let first = rewrite_with_progress::<Run>(
        &registry,
        &t.db,
        RewriteOptions::new().batch_size(5).delete_old(true),
        |progress| {
            if progress.batches == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .await
    .unwrap();
    assert!(first.stopped);
    assert_eq!((first.rewritten, first.deleted), (10, 10));
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        25
    );

    assert_eq!(current().await, 10);

    // Interrupted again, by dropping the future in the middle of a save: batches of one,
    // each writing one content to the archive; the fourth holds once its content is
    // stored, before it commits, and the rewrite is dropped there. The three batches
    // before it are committed whole; the fourth leaves only an orphan blob.
    let held = Arc::new(tokio::sync::Notify::new());
    let holding = registry_with(HoldingWrite {
        inner: archive.clone(),
        writes: AtomicUsize::new(0),
        hold_at: 4,
        held: held.clone(),
    });
    tokio::select! {
        result = rewrite::<Run>(
            &holding,
            &t.db,
            RewriteOptions::new().batch_size(1).delete_old(true),
        ) => panic!("the rewrite ended before it was interrupted: {result:?}"),
        () = held.notified() => {}
    }
    let interrupted = current().await - 10;
    assert!(
        0 < interrupted && interrupted < 15,
        "the drop did not land part-way: {interrupted} of 15 rewritten"
    );
    assert_eq!(interrupted, 3);
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        25
    );

    // Resumed to the end.
    let rest = rewrite::<Run>(
        &registry,
        &t.db,
        RewriteOptions::new().batch_size(5).delete_old(true),
    )
    .await
    .unwrap();
    assert!(!rest.stopped);
    assert_eq!((rest.rewritten, rest.deleted), (12, 12));

    // Every old manifest was replaced exactly once and then deleted.
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        25
    );
    assert_eq!(
        t.count("SELECT COUNT(DISTINCT replaces) AS n FROM lakery_manifests")
            .await,
        25
    );
    assert_eq!(current().await, 25);
    let current = t.db.find(&Query::of::<Run>()).await.unwrap().records;
    let mut numbers: Vec<u32> = Vec::new();
    for record in &current {
        assert!(old.iter().any(|o| Some(o.id) == record.replaces));
        let run: Run = lakery::load_one(record, &registry, &t.db).await.unwrap();
        let n: u32 = record.tags["n"].parse().unwrap();
        assert!(
            run.notes.ends_with(&format!("run {n}")),
            "{run:?} tagged {n}"
        );
        numbers.push(n);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (0..25).collect::<Vec<_>>());
    // The contents rows of the deleted manifests went with them.
    assert_eq!(
        t.count(
            "SELECT COUNT(*) AS n FROM lakery_contents WHERE manifest_id NOT IN \
             (SELECT id FROM lakery_manifests)"
        )
        .await,
        0
    );
}
