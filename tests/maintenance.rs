//! Garbage collection and verification, on every backend.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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
    let registry = registry_of(&files, &memory);
    Setup {
        files,
        memory,
        registry,
    }
}

/// A registry of these storages: another one over the same folder and memory, for a
/// task of its own.
fn registry_of(files: &FileStorage, memory: &MemoryStorage) -> Registry {
    Registry::builder()
        .storage("files", files.clone())
        .storage("memory", memory.clone())
        .storable::<Document>()
        .build()
        .unwrap()
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

/// A point that calls wait at until the test opens it: puts a save or a collection at
/// an exact moment, rather than hoping a race lands there.
struct Gate {
    /// How many calls have reached the gate.
    arrived: tokio::sync::watch::Sender<usize>,
    open: tokio::sync::watch::Sender<bool>,
}

impl Gate {
    fn new() -> Arc<Gate> {
        Arc::new(Gate {
            arrived: tokio::sync::watch::channel(0).0,
            open: tokio::sync::watch::channel(false).0,
        })
    }

    async fn pass(&self) {
        let mut open = self.open.subscribe();
        self.arrived.send_modify(|n| *n += 1);
        open.wait_for(|open| *open).await.unwrap();
    }

    /// Returns once a call is waiting at the gate; fails the test if none comes, rather
    /// than waiting for ever.
    async fn reached(&self, what: &str) {
        let mut arrived = self.arrived.subscribe();
        tokio::time::timeout(Duration::from_secs(60), arrived.wait_for(|n| *n > 0))
            .await
            .unwrap_or_else(|_| panic!("{what} never came"))
            .unwrap();
    }

    fn open(&self) {
        self.open.send_replace(true);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum GatedCall {
    /// After the bytes are durably written, before `write` returns: a save holds an
    /// unreferenced blob and has not committed.
    Write,
    /// Before any deletion: collection has listed the blobs and read the references.
    Delete,
}

/// A `FileStorage` whose writes, or deletions, wait at a gate.
struct Gated {
    inner: FileStorage,
    call: GatedCall,
    gate: Arc<Gate>,
}

#[async_trait::async_trait]
impl Storage for Gated {
    async fn write(&self, request: WriteRequest<'_>) -> Result<Value, StorageError> {
        let config = self.inner.write(request).await?;
        if self.call == GatedCall::Write {
            self.gate.pass().await;
        }
        Ok(config)
    }
    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        self.inner.read(config).await
    }
    async fn delete(&self, config: &Value) -> Result<(), StorageError> {
        if self.call == GatedCall::Delete {
            self.gate.pass().await;
        }
        self.inner.delete(config).await
    }
    async fn exists(&self, config: &Value) -> Result<bool, StorageError> {
        self.inner.exists(config).await
    }
    async fn list(&self) -> Result<Vec<lakery::storage::StoredBlob>, StorageError> {
        self.inner.list().await
    }
    async fn delete_if_older(
        &self,
        config: &Value,
        cutoff: SystemTime,
    ) -> Result<bool, StorageError> {
        if self.call == GatedCall::Delete {
            self.gate.pass().await;
        }
        self.inner.delete_if_older(config, cutoff).await
    }
}

/// `s`'s registry, with its file storage gated at `call`.
fn gated_registry(s: &Setup, call: GatedCall, gate: &Arc<Gate>) -> Arc<Registry> {
    let files = Gated {
        inner: s.files.clone(),
        call,
        gate: gate.clone(),
    };
    Arc::new(
        Registry::builder()
            .storage("files", files)
            .storage("memory", s.memory.clone())
            .storable::<Document>()
            .build()
            .unwrap(),
    )
}

/// Runs `make()`'s future on a thread of its own, beside the test's tasks, on the
/// test's runtime. Not `tokio::spawn`: `collect_garbage`'s future is not `Send` for
/// every lifetime the compiler asks about (a higher-ranked lifetime error around
/// `Arc<dyn Storage>`), so a blocking thread drives it with `Handle::block_on`.
fn on_a_thread_of_its_own<F, Fut, T>(make: F) -> tokio::task::JoinHandle<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(make()))
}

/// `collect_garbage` on a thread of its own.
fn spawn_collection(
    registry: Arc<Registry>,
    db: lakery::Database,
    options: GcOptions,
) -> tokio::task::JoinHandle<lakery::GcReport> {
    on_a_thread_of_its_own(move || async move {
        lakery::collect_garbage(&registry, &db, options)
            .await
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn collection_at_the_riskiest_moments_of_a_save_keeps_its_blobs() {
    common::each_backend(collection_at_the_riskiest_moments_of_a_save_keeps_its_blobs_on).await;
}

/// The two moments where a collector can take a blob a save counts on, each made to
/// happen rather than left to a race: collection running whole while a save holds a
/// written, uncommitted blob (the grace period must keep it), and a save reusing an old
/// unreferenced blob after collection listed it and read the references, before it
/// deletes (the write must refresh the blob, and the deletion must check its age again).
async fn collection_at_the_riskiest_moments_of_a_save_keeps_its_blobs_on(t: TestDb) {
    let s = setup(&t);
    let hour = GcOptions::new().grace(Duration::from_secs(3600));

    // 1. A save has written its text and waits before committing.
    let gate = Gate::new();
    let saving = {
        let registry = gated_registry(&s, GatedCall::Write, &gate);
        let db = t.db.clone();
        tokio::spawn(async move {
            let doc = document(1, b"a");
            let record = lakery::save_one(&doc, &registry, &db).await.unwrap();
            (doc, record)
        })
    };
    let stale = write_orphan(&s.files, b"an old orphan nobody reuses").await;
    age(&file_path(&s.files, &stale));
    gate.reached("the save's write").await;
    let in_flight = lakery::collect_garbage(&s.registry, &t.db, hour.clone())
        .await
        .unwrap();
    // Only the old orphan goes: the save's blob is unreferenced but recent.
    let removed: Vec<_> = in_flight.removed.iter().map(|b| &b.config).collect();
    assert_eq!(removed, [&stale], "{in_flight:?}");
    assert!(in_flight.recent >= 1, "{in_flight:?}");
    gate.open();
    let (doc, record) = saving.await.unwrap();
    let back: Document = lakery::load_one(&record, &s.registry, &t.db).await.unwrap();
    assert_eq!(back, doc);

    // 2. Collection has listed an old unreferenced blob and read the references; a save
    // then writes the same content and commits; then collection deletes.
    let reused_doc = document(2, b"a");
    let reused = write_orphan(&s.files, b"the text of document 2").await;
    age(&file_path(&s.files, &reused));
    let stale = write_orphan(&s.files, b"another old orphan nobody reuses").await;
    age(&file_path(&s.files, &stale));
    let gate = Gate::new();
    let collecting = spawn_collection(
        gated_registry(&s, GatedCall::Delete, &gate),
        t.db.clone(),
        hour,
    );
    gate.reached("collection's deletion").await;
    let record = lakery::save_one(&reused_doc, &s.registry, &t.db)
        .await
        .unwrap();
    assert_eq!(content_config(&t, &record, "text").await, reused);
    gate.open();
    let report = collecting.await.unwrap();
    let removed: Vec<_> = report.removed.iter().map(|b| &b.config).collect();
    assert_eq!(removed, [&stale], "{report:?}");
    assert!(file_path(&s.files, &reused).exists());
    assert!(!file_path(&s.files, &stale).exists());
    let back: Document = lakery::load_one(&record, &s.registry, &t.db).await.unwrap();
    assert_eq!(back, reused_doc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collection_running_beside_saves_loses_nothing() {
    common::each_backend(collection_running_beside_saves_loses_nothing_on).await;
}

/// Collection loops in a task of its own, with a short grace period, while batches of
/// saves run: each batch starts as a collection run starts, so the two race. On disk
/// beforehand: old blobs that manifests use (never removed), old unreferenced copies of
/// what half the saves will write (a save reuses it, or collection removed it first),
/// and old orphans nobody reuses (removed). Afterwards every manifest verifies and
/// nothing is left to collect.
async fn collection_running_beside_saves_loses_nothing_on(t: TestDb) {
    use std::collections::{HashMap, HashSet};

    let s = setup(&t);
    let mut kept = lakery::Saver::new(&s.registry, &t.db);
    let kept_docs: Vec<_> = (0..40)
        .map(|n| Document {
            text: format!("kept {n}"),
            ..document(1000 + n, b"a")
        })
        .collect();
    for doc in &kept_docs {
        kept.save_soon(doc);
    }
    kept.finish().await.unwrap();
    age_all(&s.files);

    let texts: Vec<String> = (0..400)
        .map(|n| format!("the text of document {n}"))
        .collect();
    let leak = |s: String| -> &'static [u8] { Box::leak(s.into_bytes().into_boxed_slice()) };
    let mut may_go = HashSet::new();
    for text in texts.iter().step_by(2) {
        let config = write_orphan(&s.files, leak(text.clone())).await;
        age(&file_path(&s.files, &config));
        may_go.insert(config.to_string());
    }
    let mut must_go = Vec::new();
    for n in 0..100 {
        let config = write_orphan(&s.files, leak(format!("an orphan nobody reuses {n}"))).await;
        age(&file_path(&s.files, &config));
        may_go.insert(config.to_string());
        must_go.push(config);
    }

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (started, mut run_started) = tokio::sync::watch::channel(0usize);
    let collector = {
        let registry = Arc::new(registry_of(&s.files, &s.memory));
        let (db, done) = (t.db.clone(), done.clone());
        on_a_thread_of_its_own(move || async move {
            let mut runs = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let begun = Instant::now();
                started.send_modify(|n| *n += 1);
                let report = lakery::collect_garbage(
                    &registry,
                    &db,
                    GcOptions::new().grace(Duration::from_secs(5)),
                )
                .await
                .unwrap();
                runs.push((begun, Instant::now(), report));
            }
            runs
        })
    };

    let mut records = Vec::new();
    let mut batches = Vec::new();
    let mut seen = 0;
    let docs: Vec<_> = (0..400).map(|n| document(n, b"a")).collect();
    for chunk in docs.chunks(20) {
        seen = *run_started
            .wait_for(|n| *n > seen)
            .await
            .expect("the collector stopped");
        let begun = Instant::now();
        let mut saver = lakery::Saver::new(&s.registry, &t.db);
        for doc in chunk {
            saver.save_soon(doc);
        }
        records.extend(saver.finish().await.unwrap().into_records());
        batches.push((begun, Instant::now()));
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let runs = collector.await.unwrap();

    // The runs raced the saves: most batches ran while a collection was under way.
    let overlaps =
        |(b0, b1): (Instant, Instant)| runs.iter().any(|(r0, r1, _)| *r0 < b1 && b0 < *r1);
    let raced = batches.iter().filter(|b| overlaps(**b)).count();
    eprintln!(
        "{} collection runs beside {} batches; {raced} batches overlapped a run",
        runs.len(),
        batches.len()
    );
    assert!(
        raced * 2 >= batches.len(),
        "only {raced} batches raced a run"
    );

    // Only old unreferenced blobs were removed, each once; the orphans nobody reuses
    // all were.
    let mut removed = HashMap::new();
    for (_, _, report) in &runs {
        for blob in &report.removed {
            assert_eq!(blob.storage, "files", "{blob:?}");
            let config = blob.config.to_string();
            assert!(
                may_go.contains(&config),
                "removed {blob:?}: a manifest uses it, or a save in flight wrote it"
            );
            *removed.entry(config).or_insert(0) += 1;
        }
    }
    assert!(removed.values().all(|n| *n == 1), "{removed:?}");
    for config in &must_go {
        assert!(
            removed.contains_key(&config.to_string()),
            "{config} was not collected"
        );
        assert!(
            !file_path(&s.files, config).exists(),
            "{config} is still there"
        );
    }

    // Every value saved loads back, every manifest verifies, and nothing is left over:
    // 440 texts and the one shared attachment, all referenced.
    assert_eq!(records.len(), 400);
    let mut loader = lakery::Loader::new(&s.registry, &t.db);
    let handles: Vec<_> = records
        .iter()
        .map(|r| loader.load_soon::<Document>(r))
        .collect();
    let mut loaded = loader.finish().await.unwrap();
    for (doc, handle) in docs.iter().zip(handles) {
        assert_eq!(&loaded.take(handle).unwrap(), doc);
    }
    let report = lakery::verify(&s.registry, &t.db, &Query::new())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.manifests, 440);
    let last = lakery::collect_garbage(&s.registry, &t.db, GcOptions::new().grace(Duration::ZERO))
        .await
        .unwrap();
    assert!(last.removed.is_empty(), "{last:?}");
    assert_eq!(last.referenced, 441, "{last:?}");
}
