//! Garbage collection and verification, on every backend.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::TestDb;
use lakery::serializer::{RawBytes, Text};
use lakery::storage::{StorageError, WriteRequest};
use lakery::{
    Digest, FileStorage, GcOptions, ManifestRecord, MemoryStorage, ProblemKind, Query, Registry,
    Storable, Storage, Tags,
};
use serde_json::Value;

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "5d3b1c2a-8e7f-4a6b-9c0d-1e2f3a4b5c6d")]
struct Document {
    title: String,
    #[content(serializer = Text, storage = "files")]
    text: String,
    #[content(serializer = RawBytes, storage = "memory")]
    attachment: Vec<u8>,
}

fn document(n: u32, attachment: &[u8]) -> Document {
    Document {
        title: format!("document {n}"),
        text: format!("the text of document {n}"),
        attachment: attachment.to_vec(),
    }
}

struct Setup {
    files: FileStorage,
    memory: MemoryStorage,
    registry: Registry,
}

fn setup(t: &TestDb) -> Setup {
    let files = FileStorage::new(t.path("files")).unwrap();
    let memory = MemoryStorage::new();
    let registry = Registry::builder()
        .storage("files", files.clone())
        .storage("memory", memory.clone())
        .storable::<Document>()
        .build()
        .unwrap();
    Setup {
        files,
        memory,
        registry,
    }
}

/// Writes bytes straight to a storage, as a save that never committed would have.
async fn write_orphan(storage: &dyn Storage, data: &'static [u8]) -> Value {
    let tags = Tags::new();
    storage
        .write(WriteRequest::new(
            Bytes::from_static(data),
            Digest::of(data),
            &tags,
        ))
        .await
        .unwrap()
}

fn file_path(files: &FileStorage, config: &Value) -> PathBuf {
    files.root().join(config["path"].as_str().unwrap())
}

/// Makes a file look as if it was written two days ago.
fn age(path: &Path) {
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(two_days_ago))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn age_all(files: &FileStorage) {
    for dir in std::fs::read_dir(files.root()).unwrap().flatten() {
        if dir.file_type().unwrap().is_dir() {
            for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
                age(&file.path());
            }
        }
    }
}

async fn content_config(t: &TestDb, record: &ManifestRecord, key: &str) -> Value {
    t.db.contents(record.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.key == key)
        .unwrap_or_else(|| panic!("no content `{key}`"))
        .storage_config
}

#[tokio::test(flavor = "multi_thread")]
async fn collection_removes_unreferenced_old_blobs_and_keeps_the_rest() {
    common::each_backend(collection_removes_unreferenced_old_blobs_and_keeps_the_rest_on).await;
}

async fn collection_removes_unreferenced_old_blobs_and_keeps_the_rest_on(t: TestDb) {
    let s = setup(&t);
    // `kept` and `deleted` share an attachment: one blob, referenced by both.
    let kept = document(1, b"shared attachment");
    let deleted = Document {
        text: "text only the deleted document has".into(),
        ..document(2, b"shared attachment")
    };
    let kept_record = lakery::save_one(&kept, &s.registry, &t.db).await.unwrap();
    let deleted_record = lakery::save_one(&deleted, &s.registry, &t.db)
        .await
        .unwrap();
    let deleted_text = content_config(&t, &deleted_record, "text").await;
    assert_eq!(t.db.delete(&[deleted_record.id]).await.unwrap(), 1);

    // Left behind by saves that never committed.
    let orphan_file = write_orphan(&s.files, b"orphaned file bytes").await;
    let orphan_memory = write_orphan(&s.memory, b"orphaned memory bytes").await;
    age_all(&s.files);

    // The memory storage's blobs are all fresh: only files are old enough yet.
    let dry = lakery::collect_garbage(&s.registry, &t.db, GcOptions::new().dry_run(true))
        .await
        .unwrap();
    assert!(dry.dry_run);
    let mut would_remove: Vec<_> = dry.removed.iter().map(|b| b.config.clone()).collect();
    would_remove.sort_by_key(|c| c.to_string());
    let mut expected = vec![deleted_text.clone(), orphan_file.clone()];
    expected.sort_by_key(|c| c.to_string());
    assert_eq!(would_remove, expected);
    let text_size = "text only the deleted document has".len() as u64;
    let orphan_size = "orphaned file bytes".len() as u64;
    assert_eq!(dry.removed_bytes, text_size + orphan_size);
    assert!(
        file_path(&s.files, &orphan_file).exists(),
        "a dry run removed a file"
    );
    // kept's text in files; the shared attachment in memory; orphan in memory (fresh).
    assert_eq!(dry.referenced, 2);
    assert_eq!(dry.recent, 1);

    let report = lakery::collect_garbage(&s.registry, &t.db, GcOptions::new())
        .await
        .unwrap();
    assert!(!report.dry_run);
    assert_eq!(report.removed, dry.removed);
    assert_eq!(report.removed_bytes, text_size + orphan_size);
    assert!(report.skipped_storages.is_empty());
    assert!(!file_path(&s.files, &orphan_file).exists());
    assert!(!file_path(&s.files, &deleted_text).exists());

    // With no grace, the fresh orphan in memory goes too; the shared blob stays.
    let report =
        lakery::collect_garbage(&s.registry, &t.db, GcOptions::new().grace(Duration::ZERO))
            .await
            .unwrap();
    assert_eq!(report.removed.len(), 1);
    assert_eq!(report.removed[0].storage, "memory");
    assert_eq!(report.removed[0].config, orphan_memory);
    assert!(!s.memory.exists(&orphan_memory).await.unwrap());

    // What is referenced still loads, and a further collection finds nothing.
    let back: Document = lakery::load_one(&kept_record, &s.registry, &t.db)
        .await
        .unwrap();
    assert_eq!(back, kept);
    let again = lakery::collect_garbage(&s.registry, &t.db, GcOptions::new().grace(Duration::ZERO))
        .await
        .unwrap();
    assert!(again.removed.is_empty(), "{again:?}");
    assert_eq!(again.referenced, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grace_period_protects_blobs_of_saves_in_flight() {
    common::each_backend(the_grace_period_protects_blobs_of_saves_in_flight_on).await;
}

async fn the_grace_period_protects_blobs_of_saves_in_flight_on(t: TestDb) {
    let s = setup(&t);
    // A save has written its content and not yet committed.
    let fresh = write_orphan(&s.files, b"a save in flight").await;
    // An old unreferenced blob, which a new save is writing again right now: writing
    // refreshes it, so it must survive too.
    let reused = write_orphan(&s.files, b"old bytes a new save reuses").await;
    age(&file_path(&s.files, &reused));
    // An old unreferenced blob nobody writes: collected.
    let stale = write_orphan(&s.files, b"stale").await;
    age(&file_path(&s.files, &stale));
    assert_eq!(
        write_orphan(&s.files, b"old bytes a new save reuses").await,
        reused
    );

    let report = lakery::collect_garbage(
        &s.registry,
        &t.db,
        GcOptions::new().grace(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    assert_eq!(report.recent, 2, "{report:?}");
    assert_eq!(report.removed.len(), 1, "{report:?}");
    assert_eq!(report.removed[0].config, stale);
    assert!(file_path(&s.files, &fresh).exists());
    assert!(file_path(&s.files, &reused).exists());
}

/// A storage that does not implement listing.
struct Unlistable(MemoryStorage);

#[async_trait::async_trait]
impl Storage for Unlistable {
    async fn write(&self, request: WriteRequest<'_>) -> Result<Value, StorageError> {
        self.0.write(request).await
    }
    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        self.0.read(config).await
    }
    async fn delete(&self, config: &Value) -> Result<(), StorageError> {
        self.0.delete(config).await
    }
    async fn exists(&self, config: &Value) -> Result<bool, StorageError> {
        self.0.exists(config).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn storages_that_cannot_list_are_skipped_and_named() {
    common::each_backend(storages_that_cannot_list_are_skipped_and_named_on).await;
}

async fn storages_that_cannot_list_are_skipped_and_named_on(t: TestDb) {
    let memory = MemoryStorage::new();
    let registry = Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storage("memory", Unlistable(memory.clone()))
        .storable::<Document>()
        .build()
        .unwrap();
    let orphan = write_orphan(&memory, b"never collected").await;
    let report = lakery::collect_garbage(&registry, &t.db, GcOptions::new().grace(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(report.skipped_storages, ["memory"]);
    assert!(report.removed.is_empty());
    assert!(memory.exists(&orphan).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_reports_every_missing_and_corrupt_content() {
    common::each_backend(verification_reports_every_missing_and_corrupt_content_on).await;
}

async fn verification_reports_every_missing_and_corrupt_content_on(t: TestDb) {
    let s = setup(&t);
    let mut records = Vec::new();
    for n in 0..5 {
        let doc = document(n, format!("attachment {n}").as_bytes());
        records.push(lakery::save_one(&doc, &s.registry, &t.db).await.unwrap());
    }

    let report = lakery::verify(&s.registry, &t.db, &Query::new())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.manifests, 5);
    assert_eq!(report.contents, 15);
    assert!(report.bytes > 0);

    // Record 1: its text file is gone. Record 2: its text file is damaged.
    // Record 3: its attachment is damaged in memory. Record 4: its body, kept in the
    // database, is damaged.
    let missing = content_config(&t, &records[1], "text").await;
    std::fs::remove_file(file_path(&s.files, &missing)).unwrap();
    let damaged = content_config(&t, &records[2], "text").await;
    std::fs::write(file_path(&s.files, &damaged), "the text of document 9").unwrap();
    let attachment = content_config(&t, &records[3], "attachment").await;
    assert!(s.memory.corrupt(&attachment, &b"attachment 9"[..]));
    t.execute(&format!(
        "UPDATE lakery_contents SET data = {} WHERE content_key = 'body' AND manifest_id = '{}'",
        t.blob(br#"{"title":"document 9"}"#),
        records[4].id
    ))
    .await;

    let report = lakery::verify(&s.registry, &t.db, &Query::new())
        .await
        .unwrap();
    assert_eq!(report.manifests, 5);
    assert_eq!(report.contents, 15);
    let found: Vec<_> = report
        .problems
        .iter()
        .map(|p| (p.manifest, p.key.as_str(), p.storage.as_str(), p.kind))
        .collect();
    let mut expected = vec![
        (records[1].id, "text", "files", ProblemKind::Missing),
        (records[2].id, "text", "files", ProblemKind::Corrupt),
        (records[3].id, "attachment", "memory", ProblemKind::Corrupt),
        (records[4].id, "body", "database", ProblemKind::Corrupt),
    ];
    expected.sort();
    assert_eq!(found, expected);
    // The errors name what is wrong.
    let message = report.problems[0].error.to_string();
    assert!(
        message.contains("text") && message.contains("files"),
        "{message}"
    );

    // A query narrows what is checked; its limit caps it.
    let report = lakery::verify(&s.registry, &t.db, &Query::new().limit(2))
        .await
        .unwrap();
    assert_eq!(report.manifests, 2);
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].manifest, records[1].id);

    // A registry without the storage (verification needs no storable types) cannot
    // read those contents: said so, per content.
    let registry = Registry::builder()
        .storage("memory", s.memory.clone())
        .build()
        .unwrap();
    let report = lakery::verify(&registry, &t.db, &Query::new())
        .await
        .unwrap();
    let unreadable = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Unreadable && p.storage == "files")
        .count();
    assert_eq!(unreadable, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_pages_through_many_manifests() {
    common::each_backend(verification_pages_through_many_manifests_on).await;
}

async fn verification_pages_through_many_manifests_on(t: TestDb) {
    let s = setup(&t);
    let mut saver = lakery::Saver::new(&s.registry, &t.db);
    let docs: Vec<_> = (0..1200).map(|n| document(n, b"same")).collect();
    for doc in &docs {
        saver.save_soon(doc);
    }
    saver.finish().await.unwrap();
    let report = lakery::verify(&s.registry, &t.db, &Query::of::<Document>())
        .await
        .unwrap();
    assert!(report.is_ok());
    assert_eq!(report.manifests, 1200);
    assert_eq!(report.contents, 3600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collection_running_beside_saves_loses_nothing() {
    common::each_backend(collection_running_beside_saves_loses_nothing_on).await;
}

/// Saves run while collection loops with a short grace period. Half the saves reuse
/// content that sits on disk unreferenced and old: the case where a careless collector
/// deletes a blob a save has just counted on. Afterwards every manifest verifies.
async fn collection_running_beside_saves_loses_nothing_on(t: TestDb) {
    let s = setup(&t);
    let texts: Vec<String> = (0..400)
        .map(|n| format!("the text of document {n}"))
        .collect();
    // Old, unreferenced copies of what even-numbered saves will write.
    for text in texts.iter().step_by(2) {
        let data: &'static [u8] = Box::leak(text.clone().into_bytes().into_boxed_slice());
        let config = write_orphan(&s.files, data).await;
        age(&file_path(&s.files, &config));
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let saves = async {
        let mut records = Vec::new();
        for chunk in (0..400u32).collect::<Vec<_>>().chunks(20) {
            let docs: Vec<_> = chunk.iter().map(|&n| document(n, b"a")).collect();
            let mut saver = lakery::Saver::new(&s.registry, &t.db);
            for doc in &docs {
                saver.save_soon(doc);
            }
            records.extend(saver.finish().await.unwrap().into_records());
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        records
    };
    let collections = async {
        let mut runs = 0;
        let mut removed = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) || runs == 0 {
            let report = lakery::collect_garbage(
                &s.registry,
                &t.db,
                GcOptions::new().grace(Duration::from_secs(5)),
            )
            .await
            .unwrap();
            removed += report.removed.len();
            runs += 1;
        }
        (runs, removed)
    };
    let (records, (runs, removed)) = tokio::join!(saves, collections);
    assert_eq!(records.len(), 400);
    assert!(runs > 0);
    // Every old orphan was either reused by a save (and so kept) or collected.
    assert!(removed <= 200, "{removed}");
    let report = lakery::verify(&s.registry, &t.db, &Query::new())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.manifests, 400);
}
