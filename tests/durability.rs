//! Once a save returns, what it saved survives a crash of the process.
//!
//! The test runs itself as a child process that saves values and aborts right after
//! the saves return, without any clean shutdown; the parent then opens the same
//! database and folder and loads every value the child reported as saved. On every
//! backend.

mod common;

use std::process::Command;

use common::TestDb;
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
