//! Many writers at once: tasks of one process, and separate processes, saving into one
//! database and one folder at the same time, on every backend. Afterwards every value
//! is loaded back and compared: none lost, none duplicated.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::TestDb;
use lakery::serializer::RawBytes;
use lakery::{
    Database, FileStorage, ManifestId, ManifestRecord, MemoryStorage, Query, Registry, Storable,
};

#[derive(Storable, Debug, Clone, PartialEq, Eq, Hash)]
#[storable(class_id = "c7a1d2e3-f405-4617-8293-a4b5c6d7e8f9")]
struct Item {
    /// Unique to the value: `w<worker>-i<index>`.
    marker: String,
    worker: u32,
    index: u32,
    #[content(serializer = RawBytes, storage = "files")]
    payload: Vec<u8>,
}

/// Writers of the whole test: 8, each saving `PER_WORKER` values.
const WORKERS: u32 = 8;
const PER_WORKER: u32 = 500;
const TOTAL: usize = (WORKERS * PER_WORKER) as usize;
/// Each worker alternates a batch of `BATCH` values with `SINGLES` values saved one by
/// one.
const BATCH: u32 = 90;
const SINGLES: u32 = 10;

fn item(worker: u32, index: u32) -> Item {
    let marker = format!("w{worker}-i{index}");
    let payload = format!("payload of {marker};").repeat(8).into_bytes();
    Item {
        marker,
        worker,
        index,
        payload,
    }
}

fn item_tags(item: &Item) -> [(&'static str, String); 2] {
    [
        ("marker", item.marker.clone()),
        ("worker", item.worker.to_string()),
    ]
}

/// A registry whose `files` storage is `files`.
fn registry(files: impl lakery::Storage) -> Registry {
    Registry::builder()
        .storage("files", files)
        .storable::<Item>()
        .build()
        .unwrap()
}

/// Saves `count` values of one worker, alternating batches and single saves (starting with
/// one or the other by the worker's parity); returns each value's record.
async fn save_worker(
    registry: &Registry,
    db: &Database,
    worker: u32,
    count: u32,
) -> Vec<(Item, ManifestRecord)> {
    let mut saved = Vec::with_capacity(count as usize);
    let mut index = 0;
    let mut batch_next = worker.is_multiple_of(2);
    while index < count {
        if batch_next {
            let end = (index + BATCH).min(count);
            let items: Vec<Item> = (index..end).map(|i| item(worker, i)).collect();
            let mut saver = lakery::Saver::new(registry, db);
            for item in &items {
                saver.save_soon_with_tags(item, item_tags(item));
            }
            let batch = saver
                .finish()
                .await
                .unwrap_or_else(|e| panic!("worker {worker}, batch of {index}..{end}: {e}"));
            assert_eq!(batch.records().len(), items.len());
            saved.extend(items.into_iter().zip(batch.into_records()));
            index = end;
        } else {
            let end = (index + SINGLES).min(count);
            for i in index..end {
                let item = item(worker, i);
                let record = lakery::save_one(&item, registry, db)
                    .tags(item_tags(&item))
                    .await
                    .unwrap_or_else(|e| panic!("worker {worker}, value {i}: {e}"));
                saved.push((item, record));
            }
            index = end;
        }
        batch_next = !batch_next;
    }
    for (item, record) in &saved {
        assert_eq!(record.class_id, Item::CLASS_ID);
        assert_eq!(record.tags["marker"], item.marker);
    }
    saved
}

/// Runs `workers` at once, `count` values each, on the runtime's threads; returns every value saved with the
/// id of its manifest.
async fn save_concurrently(
    registry: Arc<Registry>,
    db: &Database,
    workers: std::ops::Range<u32>,
    count: u32,
) -> Vec<(Item, ManifestId)> {
    let tasks: Vec<_> = workers
        .map(|worker| {
            let registry = registry.clone();
            let db = db.clone();
            tokio::spawn(async move { save_worker(&registry, &db, worker, count).await })
        })
        .collect();
    let mut saved = Vec::new();
    for task in tasks {
        let records = task.await.expect("a saving task panicked");
        saved.extend(records.into_iter().map(|(item, record)| (item, record.id)));
    }
    saved
}

/// Checks that the database holds exactly the `saved` values, each once, each loading
/// from its own manifest to the value that was saved.
async fn check_all_saved(t: &TestDb, registry: &Registry, saved: &[(Item, ManifestId)]) {
    let by_marker: HashMap<&str, &Item> = saved
        .iter()
        .map(|(item, _)| (item.marker.as_str(), item))
        .collect();
    for (w, i) in (0..WORKERS).flat_map(|w| (0..PER_WORKER).map(move |i| (w, i))) {
        assert_eq!(
            by_marker.get(item(w, i).marker.as_str()),
            Some(&&item(w, i)),
            "a record of value w{w}-i{i} was returned"
        );
    }
    assert_eq!(saved.len(), TOTAL, "every save returned one record");
    let ids: HashSet<ManifestId> = saved.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), TOTAL, "every value has an id of its own");

    // Rows: one manifest, two contents and two tags per value, and nothing else.
    let count = |sql: &'static str| t.count(sql);
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        TOTAL as i64
    );
    assert_eq!(
        count("SELECT COUNT(DISTINCT id) AS n FROM lakery_manifests").await,
        TOTAL as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM lakery_contents").await,
        2 * TOTAL as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM lakery_tags").await,
        2 * TOTAL as i64
    );
    assert_eq!(
        count("SELECT COUNT(DISTINCT tag_value) AS n FROM lakery_tags WHERE tag_key = 'marker'")
            .await,
        TOTAL as i64,
        "each marker once"
    );

    // The manifests the database has are those the saves returned.
    let page = t.db.find(&Query::of::<Item>()).await.unwrap();
    assert_eq!(page.records.len(), TOTAL);
    let found: HashSet<ManifestId> = page.records.iter().map(|r| r.id).collect();
    assert_eq!(found, ids);

    // Every value loads from its manifest to the exact value, and the values loaded
    // from all manifests are the values saved, each once.
    let mut loader = lakery::Loader::new(registry, &t.db);
    let handles: Vec<_> = saved
        .iter()
        .map(|(item, id)| (item, loader.load_soon::<Item>(*id)))
        .collect();
    let mut loaded = loader.finish().await.unwrap();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (item, handle) in handles {
        let value = loaded.take(handle).expect("a loaded value");
        assert_eq!(&value, item, "the manifest of {} loads to it", item.marker);
        *seen.entry(value.marker.clone()).or_default() += 1;
    }
    assert_eq!(seen.len(), TOTAL);
    for (marker, n) in &seen {
        assert_eq!(*n, 1, "{marker} loaded {n} times");
        assert!(
            by_marker.contains_key(marker.as_str()),
            "{marker} was never saved"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_save_at_once_and_nothing_is_lost_or_duplicated() {
    common::each_backend(tasks_save_at_once_and_nothing_is_lost_or_duplicated_on).await;
}

async fn tasks_save_at_once_and_nothing_is_lost_or_duplicated_on(t: TestDb) {
    // The payloads go to memory: here the contention is in the database, and 4000
    // fsynced files would only slow the test down (the processes below use a folder).
    let registry = Arc::new(registry(MemoryStorage::new()));
    let started = Instant::now();
    let saved = save_concurrently(registry.clone(), &t.db, 0..WORKERS, PER_WORKER).await;
    eprintln!(
        "{:?}: {TOTAL} values by {WORKERS} tasks in {:?}",
        t.backend(),
        started.elapsed()
    );
    check_all_saved(&t, &registry, &saved).await;
}

/// Set in a child process: `<database url>|<files folder>|<child index>`.
const CHILD: &str = "LAKERY_CONCURRENCY_CHILD";
const PROCESSES: u32 = 2;

fn millis_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Waits for `path` to exist.
async fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits until every child has written its `ready-<index>` file in `dir`; a child that
/// exits before that fails the test with its output.
async fn wait_ready(children: &mut [std::process::Child], dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for (index, child) in children.iter_mut().enumerate() {
        let ready = dir.join(format!("ready-{index}"));
        while !ready.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!("child {index} exited ({status}) before it was ready:\n{stderr}");
            }
            assert!(Instant::now() < deadline, "child {index} is never ready");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// The child's side: saves the values of its workers once the parent says go, and
/// prints what it saved.
async fn child(spec: &str) {
    let mut parts = spec.split('|');
    let (Some(url), Some(files), Some(index), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("{CHILD}={spec} is not <url>|<dir>|<index>")
    };
    let index: u32 = index.parse().unwrap();
    let files = PathBuf::from(files);
    let db = Database::connect(url).await.unwrap();
    let registry = Arc::new(registry(FileStorage::new(&files).unwrap()));
    let per_process = WORKERS / PROCESSES;
    let workers = index * per_process..(index + 1) * per_process;

    // Ready, then wait for the parent to start both at once.
    let signals = files.parent().unwrap();
    std::fs::write(signals.join(format!("ready-{index}")), b"").unwrap();
    wait_for(&signals.join("go")).await;
    println!("STARTED {}", millis_now());
    let saved = save_concurrently(registry, &db, workers, PER_WORKER).await;
    println!("FINISHED {}", millis_now());
    for (item, id) in saved {
        println!("SAVED {} {} {id}", item.worker, item.index);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_save_at_once_and_nothing_is_lost_or_duplicated() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec).await;
        return;
    }
    common::each_backend(two_processes_save_at_once_and_nothing_is_lost_or_duplicated_on).await;
}

async fn two_processes_save_at_once_and_nothing_is_lost_or_duplicated_on(t: TestDb) {
    let files = t.path("files");
    let registry = registry(FileStorage::new(&files).unwrap());
    let started = Instant::now();
    let mut children: Vec<_> = (0..PROCESSES)
        .map(|index| {
            let mut child = Command::new(std::env::current_exe().unwrap());
            child
                .args([
                    "two_processes_save_at_once_and_nothing_is_lost_or_duplicated",
                    "--exact",
                    "--nocapture",
                ])
                .env(CHILD, format!("{}|{}|{index}", t.db.url(), files.display()))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            child.spawn().expect("start a child process")
        })
        .collect();
    // The signals go beside the storage's folder, not in it.
    wait_ready(&mut children, t.dir.path()).await;
    std::fs::write(t.path("go"), b"").unwrap();

    // Collect the outputs on threads of their own, so neither child blocks on a full pipe.
    let outputs = tokio::task::spawn_blocking(move || {
        let waits: Vec<_> = children
            .into_iter()
            .map(|child| std::thread::spawn(move || child.wait_with_output()))
            .collect();
        waits
            .into_iter()
            .map(|wait| wait.join().unwrap().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    eprintln!(
        "{:?}: {TOTAL} values by {PROCESSES} processes in {:?}",
        t.backend(),
        started.elapsed()
    );

    let mut saved = Vec::new();
    let mut spans = Vec::new();
    for (index, output) in outputs.iter().enumerate() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "child {index} failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        let mut span = (None, None);
        let mut lines = 0;
        for line in stdout.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("STARTED") => span.0 = words.next().map(|w| w.parse::<u128>().unwrap()),
                Some("FINISHED") => span.1 = words.next().map(|w| w.parse::<u128>().unwrap()),
                Some("SAVED") => {
                    let worker: u32 = words.next().unwrap().parse().unwrap();
                    let i: u32 = words.next().unwrap().parse().unwrap();
                    let id: ManifestId = words.next().unwrap().parse().unwrap();
                    saved.push((item(worker, i), id));
                    lines += 1;
                }
                _ => {}
            }
        }
        assert_eq!(
            lines,
            TOTAL / PROCESSES as usize,
            "child {index} reports all its values:\n{stderr}"
        );
        match span {
            (Some(start), Some(end)) => spans.push((start, end)),
            _ => panic!("child {index} did not report its timing:\n{stdout}"),
        }
    }
    // The two really wrote at the same time.
    assert!(
        spans[0].0 < spans[1].1 && spans[1].0 < spans[0].1,
        "the children's saves overlap in time: {spans:?}"
    );

    check_all_saved(&t, &registry, &saved).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletes_run_beside_saves() {
    common::each_backend(deletes_run_beside_saves_on).await;
}

/// While tasks save values that stay, another saves scratch values and deletes them
/// again, by query and by id: every operation succeeds, and exactly the values that
/// stay are left.
async fn deletes_run_beside_saves_on(t: TestDb) {
    const KEEPERS: u32 = 4;
    const KEPT: u32 = 200;
    /// The deleter goes on while the savers run, for at least this many rounds.
    const MIN_ROUNDS: u32 = 12;
    let registry = Arc::new(registry(MemoryStorage::new()));
    let saving = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let savers = {
        let registry = registry.clone();
        let db = t.db.clone();
        let saving = saving.clone();
        tokio::spawn(async move {
            let kept = save_concurrently(registry, &db, 0..KEEPERS, KEPT).await;
            saving.store(false, std::sync::atomic::Ordering::SeqCst);
            kept
        })
    };
    let deleter = {
        let registry = registry.clone();
        let db = t.db.clone();
        tokio::spawn(async move {
            let mut errors = Vec::new();
            let mut round = 0;
            while round < MIN_ROUNDS || saving.load(std::sync::atomic::Ordering::SeqCst) {
                let worker = 1000 + round;
                let by_query = round % 2 == 0;
                round += 1;
                let mut saver = lakery::Saver::new(&registry, &db);
                for i in 0..20 {
                    let item = item(worker, i);
                    saver.save_soon_with_tags(&item, item_tags(&item));
                }
                let ids: Vec<ManifestId> = match saver.finish().await {
                    Ok(batch) => batch.records().iter().map(|r| r.id).collect(),
                    Err(e) => {
                        errors.push(format!("round {round}, saving scratch: {e}"));
                        continue;
                    }
                };
                let deleted = if by_query {
                    let query = Query::of::<Item>().tag("worker", worker.to_string());
                    db.delete_where(&query).await
                } else {
                    db.delete(&ids).await
                };
                match deleted {
                    Ok(20) => {}
                    Ok(n) => errors.push(format!("round {round}: deleted {n} of 20")),
                    Err(e) => errors.push(format!(
                        "round {round}, deleting by {}: {e}",
                        if by_query { "query" } else { "id" }
                    )),
                }
            }
            (round, errors)
        })
    };
    let kept = savers.await.expect("the saving tasks");
    let (rounds, errors) = deleter.await.expect("the deleting task");
    assert!(
        errors.is_empty(),
        "{:?}: {} of {rounds} rounds of saving and deleting failed beside saves:\n{}",
        t.backend(),
        errors.len(),
        errors.join("\n")
    );

    let total = (KEEPERS * KEPT) as i64;
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        total
    );
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_contents").await,
        2 * total
    );
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_tags").await,
        2 * total
    );
    let mut loader = lakery::Loader::new(&registry, &t.db);
    let handles: Vec<_> = kept
        .iter()
        .map(|(item, id)| (item, loader.load_soon::<Item>(*id)))
        .collect();
    let mut loaded = loader.finish().await.unwrap();
    for (item, handle) in handles {
        assert_eq!(loaded.take(handle).as_ref(), Some(item));
    }
}

/// Set in a child process that migrates: `<database url>|<signal folder>|<child index>`.
const MIGRATE_CHILD: &str = "LAKERY_CONCURRENCY_MIGRATE_CHILD";
const MIGRATE_TEST: &str = "two_processes_migrate_a_fresh_database_at_once";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_migrate_a_fresh_database_at_once() {
    if let Ok(spec) = std::env::var(MIGRATE_CHILD) {
        let parts: Vec<&str> = spec.split('|').collect();
        let [url, signals, index] = parts[..] else {
            panic!("{MIGRATE_CHILD}={spec} is not <url>|<dir>|<index>")
        };
        let signals = Path::new(signals);
        let index: u32 = index.parse().unwrap();
        let db = Database::connect(url).await.unwrap();
        std::fs::write(signals.join(format!("ready-{index}")), b"").unwrap();
        wait_for(&signals.join("go")).await;
        db.migrate()
            .await
            .unwrap_or_else(|e| panic!("child {index} migrating: {e}"));
        let registry = registry(MemoryStorage::new());
        for i in 0..10 {
            lakery::save_one(&item(index, i), &registry, &db)
                .await
                .unwrap_or_else(|e| panic!("child {index} saving after migrating: {e}"));
        }
        return;
    }

    // Migrating is documented to be safe from two processes at once: both must succeed
    // and the schema must work. Several rounds, each on a fresh database, to give the
    // race a chance (on SQLite without a lock, about one round in six collides).
    for (backend, rounds) in [
        (lakery::Backend::Sqlite, 25),
        (lakery::Backend::Postgres, 3),
        (lakery::Backend::Mysql, 3),
    ] {
        for round in 0..rounds {
            let Some(t) = TestDb::unmigrated(backend).await else {
                break;
            };
            let mut children: Vec<_> = (0..PROCESSES)
                .map(|index| {
                    Command::new(std::env::current_exe().unwrap())
                        .args([MIGRATE_TEST, "--exact", "--nocapture"])
                        .env(
                            MIGRATE_CHILD,
                            format!("{}|{}|{index}", t.db.url(), t.dir.path().display()),
                        )
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .expect("start a child process")
                })
                .collect();
            wait_ready(&mut children, t.dir.path()).await;
            std::fs::write(t.path("go"), b"").unwrap();
            let outputs = tokio::task::spawn_blocking(move || {
                children
                    .into_iter()
                    .map(|child| child.wait_with_output().unwrap())
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap();
            let failures: Vec<String> = outputs
                .iter()
                .enumerate()
                .filter(|(_, output)| !output.status.success())
                .map(|(index, output)| {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    let panic = stderr
                        .lines()
                        .skip_while(|line| !line.contains("panicked"))
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!("child {index}: {panic}")
                })
                .collect();
            assert!(
                failures.is_empty(),
                "{backend:?}, round {round}: two processes migrating one fresh database:\n{}",
                failures.join("\n")
            );
            assert_eq!(
                t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
                20,
                "{backend:?}"
            );
        }
    }
}
