//! Once a save returns, what it saved survives a crash of the process, and of the
//! machine as far as a test can show it. On every backend:
//!
//! - a child process saves values and aborts right after the saves return, without any
//!   clean shutdown; the parent then loads every value the child reported as saved;
//! - the steps that make a content durable (its file fsynced, moved to its name, its
//!   folder and the root fsynced) are watched through `lakery::testing::DurabilityLog`
//!   and must all come before the transaction that commits its manifest starts: an
//!   abort keeps the operating system's page cache, so only the order shows that a
//!   power cut could not lose a committed content;
//! - every connection of the pool keeps the settings a commit's durability rests on
//!   (SQLite's `synchronous = FULL` in WAL mode; the servers' synchronous commit).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestDb;
use lakery::serializer::RawBytes;
use lakery::testing::{DurabilityLog, DurabilityStep};
use lakery::{Backend, Database, FileStorage, ManifestId, Registry, Storable};

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "d0e1f2a3-b4c5-4d6e-8f70-8192a3b4c5d6")]
struct Blob {
    label: String,
    #[content(serializer = RawBytes, storage = "files")]
    bytes: Vec<u8>,
}

fn blob(i: usize) -> Blob {
    Blob {
        label: format!("blob {i}"),
        bytes: (0..50_000).map(|b| (b * i % 251) as u8).collect(),
    }
}

/// Set for the child: `<database URL>|<folder>`.
const CHILD: &str = "LAKERY_DURABILITY_CHILD";

fn registry(dir: &std::path::Path) -> Registry {
    Registry::builder()
        .storage("files", FileStorage::new(dir.join("files")).unwrap())
        .storable::<Blob>()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn saves_survive_an_abort_right_after_they_return() {
    if let Ok(child) = std::env::var(CHILD) {
        let (url, dir) = child.split_once('|').expect("<url>|<folder>");
        let db = Database::connect(url).await.unwrap();
        let registry = registry(std::path::Path::new(dir));
        for i in 0..5 {
            let record = lakery::save_one(&blob(i), &registry, &db).await.unwrap();
            println!("SAVED {i} {}", record.id);
        }
        let mut saver = lakery::Saver::new(&registry, &db);
        for i in 5..10 {
            saver.save_soon(&blob(i));
        }
        for (i, record) in (5..).zip(saver.finish().await.unwrap().records()) {
            println!("SAVED {i} {}", record.id);
        }
        // No destructors, no flush, no clean close of the pool.
        std::process::abort();
    }
    common::each_backend(saves_survive_an_abort_right_after_they_return_on).await;
}

async fn saves_survive_an_abort_right_after_they_return_on(t: TestDb) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "saves_survive_an_abort_right_after_they_return",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, format!("{}|{}", t.db.url(), t.dir.path().display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the child must die by abort; it printed:\n{stdout}"
    );
    let saved: Vec<(usize, ManifestId)> = stdout
        .lines()
        .filter_map(|line| line.find("SAVED ").map(|at| &line[at + "SAVED ".len()..]))
        .map(|rest| {
            let (i, id) = rest.split_once(' ').unwrap();
            (i.parse().unwrap(), id.parse().unwrap())
        })
        .collect();
    assert_eq!(
        saved.len(),
        10,
        "the child saved 10 values before aborting:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let registry = registry(t.dir.path());
    for (i, id) in saved {
        let loaded: Blob = lakery::load_one(id, &registry, &t.db).await.unwrap();
        assert_eq!(loaded, blob(i));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn contents_are_durable_before_their_manifest_commits() {
    common::each_backend(contents_are_durable_before_their_manifest_commits_on).await;
}

async fn contents_are_durable_before_their_manifest_commits_on(t: TestDb) {
    let log = DurabilityLog::start();
    let files = FileStorage::new(t.path("files")).unwrap();
    let registry = registry(t.dir.path());
    let mut saved = Vec::new();
    for i in 0..3 {
        saved.push(
            lakery::save_one(&blob(i), &registry, &t.db)
                .await
                .unwrap()
                .id,
        );
    }
    let mut saver = lakery::Saver::new(&registry, &t.db);
    for i in 3..8 {
        saver.save_soon(&blob(i));
    }
    saved.extend(saver.finish().await.unwrap().records().iter().map(|r| r.id));
    let steps = log.steps();

    for id in saved {
        let content =
            t.db.contents(id)
                .await
                .unwrap()
                .into_iter()
                .find(|c| c.key == "bytes")
                .expect("the file content's record");
        let relative = content.storage_config["path"].as_str().unwrap();
        let target = files.root().join(relative);
        assert_durable_before_commit(&steps, id, &target, files.root());
    }
}

/// Asserts, in `steps`, that the file now at `target` was fsynced under its temporary
/// name, then moved to `target`, then its folder and the storage's root were fsynced,
/// all before the transaction committing manifest `id` started.
fn assert_durable_before_commit(
    steps: &[DurabilityStep],
    id: ManifestId,
    target: &Path,
    root: &Path,
) {
    let position = |what: &str, found: &dyn Fn(&DurabilityStep) -> bool, after: usize| {
        steps
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, step)| found(step))
            .map(|(at, _)| at)
            .unwrap_or_else(|| {
                panic!(
                    "manifest {id}: no step `{what}` after step {after} for {}; steps:\n{steps:#?}",
                    target.display()
                )
            })
    };
    let commit = position(
        "committing",
        &|step| matches!(step, DurabilityStep::Committing(ids) if ids.contains(&id)),
        0,
    );
    // The last move to the target before the commit: content-addressed files may be
    // written again by a later save.
    let renamed = steps[..commit]
        .iter()
        .rposition(|step| matches!(step, DurabilityStep::Renamed { to, .. } if to == target))
        .unwrap_or_else(|| {
            panic!(
                "manifest {id}: {} was not moved into place before its commit; steps:\n{steps:#?}",
                target.display()
            )
        });
    let DurabilityStep::Renamed { from: temp, .. } = &steps[renamed] else {
        unreachable!("found as a rename")
    };
    let temp: PathBuf = temp.clone();
    let synced = steps[..renamed]
        .iter()
        .any(|step| matches!(step, DurabilityStep::FileSynced(path) if *path == temp));
    assert!(
        synced,
        "manifest {id}: {} was not fsynced before it was moved to {}",
        temp.display(),
        target.display()
    );
    let folder = target.parent().unwrap().to_owned();
    let folder_synced = position(
        "folder fsynced",
        &|step| matches!(step, DurabilityStep::FolderSynced(path) if *path == folder),
        renamed,
    );
    let root_synced = position(
        "root fsynced",
        &|step| matches!(step, DurabilityStep::FolderSynced(path) if path == root),
        renamed,
    );
    assert!(
        folder_synced < commit && root_synced < commit,
        "manifest {id}: the folders of {} were fsynced (steps {folder_synced}, {root_synced}) after its commit started (step {commit})",
        target.display()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_connection_keeps_the_settings_durability_rests_on() {
    common::each_backend(every_connection_keeps_the_settings_durability_rests_on_on).await;
}

async fn every_connection_keeps_the_settings_durability_rests_on_on(t: TestDb) {
    let expected: &[(&str, &str)] = match t.backend() {
        // FULL (2) fsyncs the log at every commit; NORMAL in WAL mode would lose the
        // last commits to a power cut.
        Backend::Sqlite => &[
            ("journal_mode", "wal"),
            ("synchronous", "2"),
            ("foreign_keys", "1"),
            ("busy_timeout", "30000"),
        ],
        Backend::Postgres => &[("synchronous_commit", "on"), ("fsync", "on")],
        Backend::Mysql => &[("innodb_flush_log_at_trx_commit", "1")],
        _ => unreachable!(),
    };
    let settings = lakery::testing::connection_settings(&t.db).await.unwrap();
    // Every connection the pool may open: a setting made on the first alone would pass
    // a check of one.
    assert_eq!(settings.len(), 8, "{settings:?}");
    for (n, connection) in settings.iter().enumerate() {
        for (name, value) in expected {
            assert_eq!(
                connection.get(*name).map(String::as_str),
                Some(*value),
                "connection {n} of {:?}: {name}; all: {connection:?}",
                t.backend()
            );
        }
    }
}
