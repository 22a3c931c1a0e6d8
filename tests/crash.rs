//! Crashes lose nothing: a child process saves batches in a loop (file storage, on
//! SQLite, PostgreSQL and MariaDB) and is killed with SIGKILL at a random moment, again
//! and again (200 times per backend; `LAKERY_CRASH_KILLS` changes it). The child prints
//! every batch it committed: its first seed, its size, and the manifest id `finish`
//! returned for each seed. After each kill:
//!
//! - every manifest a child reported committed is there, loads, hash-checked, and equals
//!   the value saved for the seed the child recorded for that id (not the seed read back,
//!   so a value filed under the wrong manifest or batch is caught);
//! - every batch is there whole or not at all: each `batch=<first seed>` tag has exactly
//!   `size` manifests, holding the seeds of that batch once each; a batch committed but
//!   never reported can only be the one its child was saving when it was killed;
//! - every file at a content path holds the bytes its name promises (nothing
//!   half-written is visible);
//! - every blob is referenced or found by garbage collection (the blobs of the saves
//!   the kill interrupted), which then removes them.
//!
//! The kills must have fallen in the middle of saves, or none of this was tested: the
//! test counts the kills after which orphan blobs or new temporary files were found, and
//! fails if there were none (out of 20 kills or more; about half of them land mid-save).
//! It prints that count, the kills, the commits and manifests checked and the orphans
//! collected.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use lakery::serializer::{RawBytes, Text};
use lakery::{
    Backend, Database, FileStorage, GcOptions, ManifestId, ManifestRecord, Query, Registry,
    Storable,
};
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

/// How many values the batch starting at `first` holds: 1 to 4, so that the batches of
/// a run follow from its first seed alone.
fn batch_size(first: u64) -> u64 {
    1 + first % 4
}

/// Seeds of run `k` start at `k * RUN_SEEDS`: more than a run ever saves, so a batch's
/// first seed names its run.
const RUN_SEEDS: u64 = 1_000_000;

const CHILD: &str = "LAKERY_CRASH_CHILD";

/// How the child starts a line reporting a committed batch.
const COMMIT: &str = "COMMIT";

fn registry(dir: &std::path::Path) -> Registry {
    Registry::builder()
        .storage("files", FileStorage::new(dir.join("files")).unwrap())
        .storable::<Entry>()
        .build()
        .unwrap()
}

/// The child: batches of 1 to 4 values, forever, until it is killed. After each commit
/// it prints `COMMIT <first seed> <size> <id>=<seed> ...`, so that the parent knows
/// what was committed and under which id (stdout is line-buffered: the line is out
/// before the next batch starts).
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
    loop {
        let size = batch_size(seed);
        let mut saver = lakery::Saver::new(&registry, &db);
        let handles: Vec<_> = (seed..seed + size)
            .map(|s| {
                saver.save_soon_with_tags(
                    &entry(s),
                    [("batch", seed.to_string()), ("size", size.to_string())],
                )
            })
            .collect();
        let saved = saver.finish().await.unwrap();
        let ids: Vec<String> = handles
            .into_iter()
            .zip(seed..)
            .map(|(handle, s)| format!("{}={s}", saved[handle].id))
            .collect();
        println!("{COMMIT} {seed} {size} {}", ids.join(" "));
        seed += size;
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
    common::each_backend(|t| crash_loop(t, kills)).await;
}

/// What the children reported and what the checks have seen so far.
#[derive(Default)]
struct Ledger {
    /// Every manifest a child reported committed: the first seed of its batch and the
    /// seed of its value.
    reported: HashMap<ManifestId, (u64, u64)>,
    /// Reported commits.
    commits: usize,
    /// Per run, the first seed of the batch it was saving when it was killed: the one
    /// after its last reported commit.
    in_flight: HashMap<u64, u64>,
    /// Batches committed whose child was killed before it could report them.
    unreported: BTreeSet<u64>,
    /// Manifests loaded and compared.
    loaded: HashSet<ManifestId>,
    /// Files under content names whose bytes were checked against their names.
    files: HashSet<String>,
    /// Temporary files seen in the storage's root.
    temporary: HashSet<OsString>,
    orphans: usize,
    orphan_bytes: u64,
    /// Kills after which orphan blobs were collected.
    kills_with_orphans: u32,
    /// Kills after which new temporary files were found.
    kills_with_temporary: u32,
    /// Kills after which either was found: the kill fell in the middle of a save.
    mid_save: u32,
}

impl Ledger {
    /// Records a `COMMIT` line of run `run`, checking that it is the batch that follows
    /// the run's previous one.
    fn commit(&mut self, run: u64, line: &str) {
        let mut words = line.split(' ').skip(1);
        let batch: u64 = words.next().unwrap().parse().unwrap();
        let size: u64 = words.next().unwrap().parse().unwrap();
        let expected = self.in_flight.get(&run).copied().unwrap_or(run * RUN_SEEDS);
        assert_eq!(
            batch, expected,
            "run {run} reported batches out of order: {line}"
        );
        assert_eq!(size, batch_size(batch), "{line}");
        let mut seeds = Vec::new();
        for word in words {
            let (id, seed) = word.split_once('=').unwrap();
            let seed: u64 = seed.parse().unwrap();
            let previous = self.reported.insert(id.parse().unwrap(), (batch, seed));
            assert!(previous.is_none(), "manifest {id} reported twice");
            seeds.push(seed);
        }
        assert_eq!(seeds, (batch..batch + size).collect::<Vec<_>>(), "{line}");
        self.in_flight.insert(run, batch + size);
        self.commits += 1;
    }
}

/// A child process that is killed if the test fails while it runs, so that no saver is
/// left looping after the test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Once it has been killed and waited for, this does nothing.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn crash_loop(t: TestDb, kills: u32) {
    let backend = t.backend();
    let registry = registry(t.dir.path());
    let mut ledger = Ledger::default();
    let mut rng = rand::rng();
    let started = Instant::now();
    for run in 0..u64::from(kills) {
        let mut child = KillOnDrop(
            Command::new(std::env::current_exe().unwrap())
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
                        run * RUN_SEEDS
                    ),
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        // A thread reads the child's lines as they come, so the child never waits on a
        // full pipe and none of its reports is lost. The first report shares its line
        // with the test harness's `test ... `.
        let stdout = child.0.stdout.take().unwrap();
        let (sender, mut commits) = tokio::sync::mpsc::unbounded_channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find(COMMIT) {
                    if sender.send(line[at..].to_owned()).is_err() {
                        break;
                    }
                }
            }
        });
        // Kill it only after a first batch committed, so that every run leaves something
        // that must survive; then at a random moment of the batches that follow.
        let first = tokio::time::timeout(Duration::from_secs(60), commits.recv())
            .await
            .unwrap_or_else(|_| panic!("run {run}: the child committed nothing in a minute"))
            .unwrap_or_else(|| panic!("run {run}: the child ended before its first commit"));
        ledger.commit(run, &first);
        tokio::time::sleep(Duration::from_micros(rng.random_range(0..60_000))).await;
        child.0.kill().unwrap();
        let status = child.0.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "run {run}: the child ended by itself ({status}), not by the kill"
        );
        // The pipe is closed: every line the child printed is in the channel.
        while let Some(line) = commits.recv().await {
            ledger.commit(run, &line);
        }
        reader.join().unwrap();
        check(&t, &registry, &mut ledger).await;
    }

    // A last full pass: everything still loads and checks, and nothing else is there.
    let report = lakery::verify(&registry, &t.db, &Query::new())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.manifests, ledger.loaded.len());
    let unreported: u64 = ledger.unreported.iter().map(|&b| batch_size(b)).sum();
    assert_eq!(
        report.manifests as u64,
        ledger.reported.len() as u64 + unreported,
        "the database holds the reported manifests and the unreported batches, nothing else"
    );
    eprintln!(
        "crash test on {backend:?}: {kills} SIGKILLs in {:.1} s; {} kills fell mid-save \
         ({} left orphan blobs, {} left temporary files); {} reported commits and {} \
         batches committed but killed before reported, {} manifests loaded and matched; \
         {} blobs checked against their names; {} orphan blobs ({} bytes) found and \
         removed by garbage collection; {} temporary files left, never listed",
        started.elapsed().as_secs_f64(),
        ledger.mid_save,
        ledger.kills_with_orphans,
        ledger.kills_with_temporary,
        ledger.commits,
        ledger.unreported.len(),
        ledger.loaded.len(),
        ledger.files.len(),
        ledger.orphans,
        ledger.orphan_bytes,
        ledger.temporary.len(),
    );
    // About half the kills fall mid-save; below 20 kills none doing so is no sign of a
    // fault (a chance of one in a million at 20).
    assert!(
        ledger.mid_save > 0 || kills < 20,
        "on {backend:?}, none of {kills} kills fell in the middle of a save (no orphan \
         blob, no temporary file): the test showed nothing about crashes during saves"
    );
}

/// A killed client's server session may still be committing what the client sent
/// before it died; wait until no other session of the database is busy or holds a
/// transaction, so that what is checked below is final. (Garbage collection in
/// production has its grace period for this: a commit finishing after the blobs were
/// listed.)
async fn settle(t: &TestDb) {
    let busy = match t.backend() {
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'"
        }
        // A session that has sent COMMIT may still show as sleeping until the server
        // reads it; its open transaction shows in innodb_trx meanwhile.
        Backend::Mysql => {
            "SELECT COUNT(*) AS n FROM information_schema.processlist \
             WHERE db = DATABASE() AND id <> CONNECTION_ID() AND (command <> 'Sleep' \
             OR id IN (SELECT trx_mysql_thread_id FROM information_schema.innodb_trx))"
        }
        // SQLite has no server: a killed writer's transaction is rolled back by the next
        // connection that opens the file.
        _ => return,
    };
    let started = Instant::now();
    while t.count(busy).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a killed session never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn check(t: &TestDb, registry: &Registry, ledger: &mut Ledger) {
    settle(t).await;
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

    // Nothing reported committed is lost.
    let present: HashSet<ManifestId> = all.iter().map(|r| r.id).collect();
    for (id, (batch, seed)) in &ledger.reported {
        assert!(
            present.contains(id),
            "manifest {id} (seed {seed} of batch {batch}) was reported committed and is gone"
        );
    }

    // Every batch is whole, filed under the batch the child saved it in.
    let mut batches: BTreeMap<u64, Vec<&ManifestRecord>> = BTreeMap::new();
    for record in &all {
        let batch: u64 = record.tags["batch"].parse().unwrap();
        let size: u64 = record.tags["size"].parse().unwrap();
        assert_eq!(size, batch_size(batch), "manifest {}", record.id);
        batches.entry(batch).or_default().push(record);
    }
    for (&batch, members) in &batches {
        assert_eq!(
            members.len() as u64,
            batch_size(batch),
            "batch {batch} is partly committed"
        );
        let reported = members
            .iter()
            .filter(|r| ledger.reported.contains_key(&r.id))
            .count();
        if reported == members.len() {
            for record in members {
                assert_eq!(
                    ledger.reported[&record.id].0, batch,
                    "manifest {} is filed under the wrong batch",
                    record.id
                );
            }
        } else {
            assert_eq!(
                reported, 0,
                "batch {batch} mixes manifests reported committed with others"
            );
            let run = batch / RUN_SEEDS;
            assert_eq!(
                ledger.in_flight.get(&run),
                Some(&batch),
                "batch {batch} was committed but never reported, and is not the batch its \
                 run was saving when it was killed"
            );
            ledger.unreported.insert(batch);
        }
    }

    // Every new manifest loads and equals the value saved for its seed: the seed the
    // child recorded for its id, or, in a batch committed but not reported, each seed of
    // that batch once.
    let fresh: Vec<_> = all
        .iter()
        .filter(|r| !ledger.loaded.contains(&r.id))
        .collect();
    if !fresh.is_empty() {
        let mut loader = lakery::Loader::new(registry, &t.db);
        let handles: Vec<_> = fresh
            .iter()
            .map(|r| loader.load_soon::<Entry>(r.id))
            .collect();
        let mut loaded = loader.finish().await.unwrap();
        let mut unreported: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (record, handle) in fresh.iter().zip(handles) {
            let value = loaded.take(handle).unwrap();
            match ledger.reported.get(&record.id) {
                Some(&(_, seed)) => same_value(record.id, &value, seed),
                None => {
                    same_value(record.id, &value, value.seed);
                    let batch = record.tags["batch"].parse().unwrap();
                    unreported.entry(batch).or_default().push(value.seed);
                }
            }
            ledger.loaded.insert(record.id);
        }
        for (batch, mut seeds) in unreported {
            seeds.sort_unstable();
            assert_eq!(
                seeds,
                (batch..batch + batch_size(batch)).collect::<Vec<_>>(),
                "the values of unreported batch {batch}"
            );
        }
    }

    // Nothing half-written under a content's name; temporary files of interrupted
    // writes stay in the root, where nothing lists them.
    let root = t.path("files");
    let mut new_temporary = 0;
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name();
        if !entry.file_type().unwrap().is_dir() {
            if name.to_string_lossy().starts_with(".lakery-tmp-") && ledger.temporary.insert(name) {
                new_temporary += 1;
            }
            continue;
        }
        for file in std::fs::read_dir(entry.path()).unwrap().flatten() {
            let name = file.file_name().into_string().unwrap();
            if ledger.files.contains(&name) {
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
            ledger.files.insert(name);
        }
    }

    // Every blob is referenced, or an orphan that collection finds and removes.
    let report = lakery::collect_garbage(registry, &t.db, GcOptions::new().grace(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(report.recent, 0);
    assert_eq!(
        report.referenced + report.removed.len(),
        ledger.files.len(),
        "every blob is referenced or collected"
    );
    for blob in &report.removed {
        let name = blob.config["path"].as_str().unwrap();
        assert!(
            ledger.files.remove(&name[3..]),
            "collected {name}, which is no checked file"
        );
        ledger.orphans += 1;
        ledger.orphan_bytes += blob.size;
    }
    ledger.kills_with_orphans += u32::from(!report.removed.is_empty());
    ledger.kills_with_temporary += u32::from(new_temporary > 0);
    ledger.mid_save += u32::from(!report.removed.is_empty() || new_temporary > 0);
}

/// Checks that manifest `id` holds the value saved for `seed`, saying which parts differ
/// rather than printing hundreds of kilobytes.
fn same_value(id: ManifestId, value: &Entry, seed: u64) {
    let expected = entry(seed);
    assert!(
        *value == expected,
        "manifest {id} holds a value other than the one saved for seed {seed}: its seed is \
         {}, its blob ({} bytes) is {}, its note ({} bytes) is {}",
        value.seed,
        value.blob.len(),
        if value.blob == expected.blob {
            "right"
        } else {
            "wrong"
        },
        value.note.len(),
        if value.note == expected.note {
            "right"
        } else {
            "wrong"
        },
    );
}
