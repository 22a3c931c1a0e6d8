//! Once a save returns, what it saved survives a crash of the process.
//!
//! The test runs itself as a child process that saves values and aborts right after
//! the saves return, without any clean shutdown; the parent then opens the same
//! database and folder and loads every value the child reported as saved.

mod common;

use std::process::Command;

use lakery::serializer::RawBytes;
use lakery::{Database, FileStorage, ManifestId, Registry, Storable};

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

const CHILD: &str = "LAKERY_DURABILITY_CHILD_DIR";

async fn open(dir: &std::path::Path) -> (Database, Registry) {
    let db = Database::connect(&format!("sqlite://{}", dir.join("lakery.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let registry = Registry::builder()
        .storage("files", FileStorage::new(dir.join("files")).unwrap())
        .storable::<Blob>()
        .build()
        .unwrap();
    (db, registry)
}

#[tokio::test(flavor = "multi_thread")]
async fn saves_survive_an_abort_right_after_they_return() {
    if let Ok(dir) = std::env::var(CHILD) {
        let (db, registry) = open(std::path::Path::new(&dir)).await;
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

    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "saves_survive_an_abort_right_after_they_return",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, dir.path())
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

    let (db, registry) = open(dir.path()).await;
    for (i, id) in saved {
        let loaded: Blob = lakery::load_one(id, &registry, &db).await.unwrap();
        assert_eq!(loaded, blob(i));
    }
}
