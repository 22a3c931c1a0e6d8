//! Crashes lose nothing: a child process saves batches in a loop (file storage, SQLite
//! and PostgreSQL) and is killed with SIGKILL at a random moment, again and again (200
//! times per backend; `LAKERY_CRASH_KILLS` changes it). After each kill:
//!
//! - every committed manifest loads, hash-checked, and equals what was saved;
//! - every batch is there whole or not at all;
//! - every file at a content path holds the bytes its name promises (nothing
//!   half-written is visible);
//! - every blob is referenced or found by garbage collection (the blobs of the saves
//!   the kill interrupted), which then removes them.
//!
//! The test prints the number of kills, manifests checked and orphans collected.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use lakery::serializer::{RawBytes, Text};
use lakery::{Backend, Database, FileStorage, GcOptions, ManifestId, Query, Registry, Storable};
use rand::Rng;

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "c8a5e0f1-7b2d-4c3e-9f4a-5b6c7d8e9f01")]
struct Entry {
    seed: u64,
    #[content(serializer = RawBytes, storage = "files")]
    blob: Vec<u8>,
    #[content(serializer = Text)]
    note: String,
}

/// The value saved for `seed`: its own bytes, from 9 bytes to 300 KB.
fn entry(seed: u64) -> Entry {
    let size = 1 + (seed.wrapping_mul(7919) % 300_000) as usize;
    Entry {
        seed,
        // Its seed first, so that no two values share a blob.
        blob: seed
            .to_le_bytes()
            .into_iter()
            .chain((0..size).map(|i| (seed as usize).wrapping_mul(31).wrapping_add(i * 13) as u8))
            .collect(),
        note: format!("note {seed} ").repeat(1 + (seed % 40) as usize),
    }
}

const CHILD: &str = "LAKERY_CRASH_CHILD";

fn registry(dir: &std::path::Path) -> Registry {
    Registry::builder()
        .storage("files", FileStorage::new(dir.join("files")).unwrap())
        .storable::<Entry>()
        .build()
        .unwrap()
}

/// The child: batches of 1 to 4 values, forever, until it is killed.
async fn child(spec: &str) -> ! {
    let mut parts = spec.split('|');
    let (url, dir, first) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap().parse::<u64>().unwrap(),
    );
    let db = Database::connect(url).await.unwrap();
    let registry = registry(std::path::Path::new(dir));
    let mut seed = first;
    let mut ready = false;
    loop {
        let size = 1 + seed % 4;
        let mut saver = lakery::Saver::new(&registry, &db);
        for n in 0..size {
            let value = entry(seed + n);
            saver.save_soon_with_tags(
                &value,
                [("batch", seed.to_string()), ("size", size.to_string())],
            );
        }
        saver.finish().await.unwrap();
        seed += size;
        // The parent kills it only after a first batch committed, so that every run
        // leaves something that must survive.
        if !std::mem::replace(&mut ready, true) {
            println!("READY");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_moments_loses_nothing() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec).await;
    }
    let kills = std::env::var("LAKERY_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200u32);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(t) = TestDb::new(backend).await {
            crash_loop(t, kills).await;
        }
    }
}

#[derive(Default)]
struct Checked {
    manifests: HashSet<ManifestId>,
    files: HashSet<String>,
    orphans: usize,
    orphan_bytes: u64,
}

async fn crash_loop(t: TestDb, kills: u32) {
    let backend = t.backend();
    let registry = registry(t.dir.path());
    let mut checked = Checked::default();
    let mut rng = rand::rng();
    let started = Instant::now();
    for kill in 0..kills {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "sigkill_at_random_moments_loses_nothing",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                CHILD,
                format!(
                    "{}|{}|{}",
                    t.db.url(),
                    t.dir.path().display(),
                    u64::from(kill) * 1_000_000
                ),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Once it has committed a batch and is saving the next, kill it at a random
        // moment.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(
            lines.any(|line| line.is_ok_and(|l| l.contains("READY"))),
            "the child did not start"
        );
        tokio::time::sleep(Duration::from_micros(rng.random_range(0..60_000))).await;
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed, not finished");
        check(&t, &registry, &mut checked).await;
    }
    // A last full pass: everything still loads and checks.
    let report = lakery::verify(&registry, &t.db, &Query::new())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.manifests, checked.manifests.len());
    let temporary = std::fs::read_dir(t.path("files"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".lakery-tmp-"))
        .count();
    eprintln!(
        "crash test on {backend:?}: {kills} SIGKILLs in {:.1} s; {} committed manifests \
         loaded and matched, {} blobs checked against their names; {} orphan blobs \
         ({} bytes) of interrupted saves found and removed by garbage collection; \
         {temporary} temporary files of interrupted writes left, never listed",
        started.elapsed().as_secs_f64(),
        checked.manifests.len(),
        checked.files.len(),
        checked.orphans,
        checked.orphan_bytes,
    );
    assert!(
        checked.manifests.len() >= kills as usize,
        "every run committed a batch before it was killed; some are missing"
    );
}

/// A killed client's server session may still be committing what the client sent
/// before it died; wait until no other session of the database is busy, so that what
/// is checked below is final. (Garbage collection in production has its grace period
/// for this: a commit finishing after the blobs were listed.)
async fn settle(t: &TestDb) {
    if t.backend() != Backend::Postgres {
        return;
    }
    let started = Instant::now();
    while t
        .count(
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'",
        )
        .await
        > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a killed session never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn check(t: &TestDb, registry: &Registry, checked: &mut Checked) {
    settle(t).await;
    // Every committed manifest loads and equals what was saved; batches are whole.
    let mut all = Vec::new();
    let mut query = Query::new();
    loop {
        let page = t.db.find(&query).await.unwrap();
        let next = page.next;
        all.extend(page.records);
        match next {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
    }
    let mut batches: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for record in &all {
        let size: usize = record.tags["size"].parse().unwrap();
        batches
            .entry(record.tags["batch"].clone())
            .or_insert((size, 0))
            .1 += 1;
    }
    for (batch, (size, found)) in &batches {
        assert_eq!(size, found, "batch {batch} is partly committed");
    }
    let fresh: Vec<_> = all
        .iter()
        .filter(|r| !checked.manifests.contains(&r.id))
        .collect();
    if !fresh.is_empty() {
        let mut loader = lakery::Loader::new(registry, &t.db);
        let handles: Vec<_> = fresh
            .iter()
            .map(|r| loader.load_soon::<Entry>(r.id))
            .collect();
        let mut loaded = loader.finish().await.unwrap();
        for (record, handle) in fresh.iter().zip(handles) {
            let value = loaded.take(handle).unwrap();
            assert_eq!(value, entry(value.seed), "manifest {}", record.id);
            checked.manifests.insert(record.id);
        }
    }

    // Nothing half-written under a content's name.
    let root = t.path("files");
    for dir in std::fs::read_dir(&root).unwrap().flatten() {
        if !dir.file_type().unwrap().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = file.file_name().into_string().unwrap();
            if checked.files.contains(&name) {
                continue;
            }
            let mut digester = lakery::Digester::new();
            digester.update(&std::fs::read(file.path()).unwrap());
            assert_eq!(
                digester.finish().hex(),
                name,
                "{} is not what its name says",
                file.path().display()
            );
            checked.files.insert(name);
        }
    }

    // Every blob is referenced, or an orphan that collection finds and removes.
    let report = lakery::collect_garbage(registry, &t.db, GcOptions::new().grace(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(report.recent, 0);
    assert_eq!(
        report.referenced + report.removed.len(),
        checked.files.len(),
        "every blob is referenced or collected"
    );
    for blob in &report.removed {
        let name = blob.config["path"].as_str().unwrap();
        checked.files.remove(&name[3..]);
        checked.orphans += 1;
        checked.orphan_bytes += blob.size;
    }
}
