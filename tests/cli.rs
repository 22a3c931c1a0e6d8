//! The `lakery` command line, run as a real binary against every backend with saved
//! data: listing and filtering, showing, reading bytes back (hash-checked, encoding
//! undone), verifying (a corrupted blob is reported and exits with 1), deleting and
//! collecting, migrating, and the exit codes and messages of bad input.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::TestDb;
use lakery::serializer::{RawBytes, Text};
use lakery::{Backend, FileStorage, ManifestRecord, Registry, Storable};

#[derive(Storable, Debug)]
#[storable(class_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")]
struct Report {
    title: String,
    #[content(serializer = RawBytes, storage = "files")]
    blob: Vec<u8>,
    #[content(serializer = Text, encoding = "gzip")]
    notes: String,
}

/// How long one command may take; none of them takes a second here.
const COMMAND_TIME: Duration = Duration::from_secs(120);

fn lakery(t: &TestDb, args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_lakery"))
        .arg("--database")
        .arg(t.db.url())
        .arg("--storages")
        .arg(t.path("lakery.toml"))
        .args(args)
        .env_remove("LAKERY_DATABASE_URL")
        .env_remove("LAKERY_STORAGES"))
}

/// `command`'s output, as `Command::output` gives it (stdin empty, so nothing waits for
/// an answer), but killed and failed if it has not ended within [`COMMAND_TIME`]: a
/// command that hangs fails its test rather than stalling the run.
fn run(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lakery binary runs");
    // Both pipes are read to their end at once, so that the child never blocks on a full
    // one; their ends are the event that it exited.
    let (sender, ended) = mpsc::channel();
    let read = |mut pipe: Box<dyn Read + Send>| {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = sender.send(());
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + COMMAND_TIME;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if ended.recv_timeout(left).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not end within {COMMAND_TIME:?}");
        }
    }
    Output {
        status: child.wait().unwrap(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Two reports saved with tags, and the storage configuration naming their folder.
async fn saved(t: &TestDb) -> (ManifestRecord, ManifestRecord) {
    std::fs::write(
        t.path("lakery.toml"),
        "[storages.files]\ntype = \"file\"\npath = \"files\"\n",
    )
    .unwrap();
    let registry = Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Report>()
        .build()
        .unwrap();
    let report = |n: u8| Report {
        title: format!("report {n}"),
        blob: vec![n; 1000 + usize::from(n)],
        notes: format!("notes of report {n}\n").repeat(50),
    };
    let first = lakery::save_one(&report(1), &registry, &t.db)
        .tags([("project", "apollo"), ("stage", "draft")])
        .await
        .unwrap();
    let second = lakery::save_one(&report(2), &registry, &t.db)
        .tags([("project", "gemini")])
        .await
        .unwrap();
    (first, second)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_lists_shows_reads_and_verifies() {
    common::each_backend(the_command_line_lists_shows_reads_and_verifies_on).await;
}

async fn the_command_line_lists_shows_reads_and_verifies_on(t: TestDb) {
    let (first, second) = saved(&t).await;

    // ls: a table, newest first; filters; JSON lines.
    let all = lakery(&t, &["ls"]);
    assert!(all.status.success(), "{}", stderr(&all));
    let listed = stdout(&all);
    let (at_first, at_second) = (
        listed.find(&first.id.to_string()).unwrap(),
        listed.find(&second.id.to_string()).unwrap(),
    );
    assert!(at_second < at_first, "newest first:\n{listed}");
    assert!(listed.contains("project=apollo stage=draft"), "{listed}");
    let apollo = stdout(&lakery(&t, &["ls", "--tag", "project=apollo"]));
    assert!(apollo.contains(&first.id.to_string()) && !apollo.contains(&second.id.to_string()));
    let json = stdout(&lakery(&t, &["ls", "--json", "--limit", "1"]));
    let lines: Vec<ManifestRecord> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, vec![second.clone()]);
    let none = lakery(&t, &["ls", "--json", "--since", "2999-01-01"]);
    assert!(none.status.success(), "{}", stderr(&none));
    assert!(stdout(&none).is_empty(), "{}", stdout(&none));

    // show: the manifest and each content.
    let shown = stdout(&lakery(&t, &["show", &first.id.to_string()]));
    for part in [
        "class    9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d version 1",
        "tag      project=apollo",
        "blob",
        "application/octet-stream",
        "1001",
        "files",
        "notes",
        "gzip",
        "sha256:",
    ] {
        assert!(shown.contains(part), "`{part}` missing from:\n{shown}");
    }

    // cat: the bytes, hash-checked; the encoding undone unless --raw; into a file.
    let blob = lakery(&t, &["cat", &first.id.to_string(), "blob"]);
    assert!(blob.status.success(), "{}", stderr(&blob));
    assert_eq!(blob.stdout, vec![1u8; 1001]);
    let notes = lakery(&t, &["cat", &first.id.to_string(), "notes"]);
    assert_eq!(stdout(&notes), "notes of report 1\n".repeat(50));
    let raw = lakery(&t, &["cat", "--raw", &first.id.to_string(), "notes"]);
    assert!(raw.stdout.starts_with(&[0x1f, 0x8b]), "gzip as stored");
    let file = t.path("out/blob.bin");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let written = lakery(
        &t,
        &[
            "cat",
            &second.id.to_string(),
            "blob",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(written.status.success(), "{}", stderr(&written));
    assert_eq!(std::fs::read(&file).unwrap(), vec![2u8; 1002]);

    // verify: clean, then a corrupted blob is reported and exits with 1.
    let clean = lakery(&t, &["verify"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(
        stdout(&clean).contains("checked 2 manifests, 6 contents"),
        "{}",
        stdout(&clean)
    );
    assert!(
        stderr(&clean).contains("verify: 6 contents"),
        "a progress log line: {}",
        stderr(&clean)
    );
    let stored = t.db.contents(first.id).await.unwrap();
    let hash = &stored.iter().find(|c| c.key == "blob").unwrap().hash;
    let path = common::stored_file(&t.path("files"), hash);
    std::fs::write(&path, vec![9u8; 1001]).unwrap();
    let corrupt = lakery(&t, &["verify"]);
    assert_eq!(corrupt.status.code(), Some(1), "{}", stdout(&corrupt));
    let report = stdout(&corrupt);
    assert!(
        report.contains("Corrupt")
            && report.contains(&first.id.to_string())
            && report.contains("`blob`")
            && report.contains("`files`"),
        "names the manifest, the key and the storage: {report}"
    );
    assert!(report.contains("1 problems"), "{report}");
    // Only the other manifest: clean again.
    let gemini = lakery(&t, &["verify", "--tag", "project=gemini"]);
    assert_eq!(gemini.status.code(), Some(0), "{}", stdout(&gemini));
    // cat refuses the corrupted bytes rather than writing them.
    let refused = lakery(
        &t,
        &[
            "cat",
            &first.id.to_string(),
            "blob",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("corrupt")
            && message.contains(&first.id.to_string())
            && message.contains("`blob`")
            && message.contains("`files`"),
        "names the manifest, the key and the storage: {message}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        vec![2u8; 1002],
        "left as it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rm_deletes_only_when_confirmed_and_gc_removes_what_it_left() {
    common::each_backend(rm_deletes_only_when_confirmed_and_gc_removes_what_it_left_on).await;
}

async fn rm_deletes_only_when_confirmed_and_gc_removes_what_it_left_on(t: TestDb) {
    let (first, second) = saved(&t).await;
    let blob_of = |record: &ManifestRecord| {
        let t = &t;
        let id = record.id;
        async move {
            let contents = t.db.contents(id).await.unwrap();
            let hash = contents
                .iter()
                .find(|c| c.key == "blob")
                .unwrap()
                .hash
                .clone();
            common::stored_file(&t.path("files"), &hash)
        }
    };
    let (first_blob, second_blob) = (blob_of(&first).await, blob_of(&second).await);

    // Nothing to collect while both manifests refer to their blobs.
    let gc = lakery(&t, &["gc", "--grace", "0s", "--yes"]);
    assert!(gc.status.success(), "{}", stderr(&gc));
    assert!(
        stdout(&gc).contains("removed 0 unreferenced blobs"),
        "{}",
        stdout(&gc)
    );
    assert!(
        stdout(&gc).contains("kept 2 referenced blobs"),
        "{}",
        stdout(&gc)
    );

    // rm: never without confirmation; stdin here is not a terminal.
    let unconfirmed = lakery(&t, &["rm", "--tag", "project=apollo"]);
    assert_eq!(
        unconfirmed.status.code(),
        Some(2),
        "{}",
        stderr(&unconfirmed)
    );
    assert!(
        stdout(&unconfirmed).contains(&first.id.to_string()),
        "lists what it would delete"
    );
    assert!(
        stderr(&unconfirmed).contains("--yes"),
        "{}",
        stderr(&unconfirmed)
    );
    assert_eq!(t.db.manifest(first.id).await.unwrap(), first, "still there");
    let nothing = lakery(&t, &["rm"]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        stderr(&nothing).contains("a filter"),
        "{}",
        stderr(&nothing)
    );
    let unknown = lakery(&t, &["rm", "--yes", "01a2277c-1c33-72e0-bddc-13ad4ccae34b"]);
    assert_eq!(unknown.status.code(), Some(3), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("01a2277c-1c33-72e0-bddc-13ad4ccae34b"),
        "{}",
        stderr(&unknown)
    );
    let id = first.id.to_string();
    for (args, expected) in [
        (vec!["rm", &id], "--yes"),
        (
            vec!["rm", "--yes", &id, "--tag", "project=apollo"],
            "not both",
        ),
        (vec!["rm", "--yes", &id, "--limit", "1"], "--limit"),
    ] {
        let refused = lakery(&t, &args);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&refused).contains(expected),
            "{args:?}: {}",
            stderr(&refused)
        );
    }
    assert_eq!(t.db.manifest(first.id).await.unwrap(), first, "still there");
    let none = lakery(&t, &["rm", "--yes", "--tag", "project=mercury"]);
    assert!(none.status.success(), "{}", stderr(&none));
    assert!(
        stdout(&none).contains("nothing deleted"),
        "{}",
        stdout(&none)
    );

    let deleted = lakery(&t, &["rm", "--yes", "--tag", "project=apollo"]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(
        stdout(&deleted).contains("deleted 1 manifests"),
        "{}",
        stdout(&deleted)
    );
    assert!(
        stderr(&deleted).contains("rm: 1 of 1 manifests deleted"),
        "a log line: {}",
        stderr(&deleted)
    );
    match t.db.manifest(first.id).await {
        Err(error @ lakery::Error::ManifestNotFound(id)) => {
            assert_eq!(id, first.id);
            assert!(error.to_string().contains(&first.id.to_string()), "{error}");
        }
        other => panic!("rm left {} behind: {other:?}", first.id),
    }
    assert_eq!(t.db.manifest(second.id).await.unwrap(), second);
    assert!(first_blob.exists(), "rm leaves the blob for gc");

    // gc lists the orphan, removes it only with --yes, and keeps recent ones.
    let recent = lakery(&t, &["gc", "--yes"]);
    assert!(
        stdout(&recent).contains("removed 0 unreferenced blobs"),
        "{}",
        stdout(&recent)
    );
    assert!(
        stdout(&recent).contains("1 unreferenced blobs younger than 1day"),
        "{}",
        stdout(&recent)
    );
    let listed = lakery(&t, &["gc", "--grace", "0s"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(text.contains("files") && text.contains("1001"), "{text}");
    assert!(
        text.contains("1 unreferenced blobs") && text.contains("nothing removed"),
        "{text}"
    );
    assert!(first_blob.exists());
    let removed = lakery(&t, &["gc", "--grace", "0s", "--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(
        stdout(&removed).contains("removed 1 unreferenced blobs, 1001 B"),
        "{}",
        stdout(&removed)
    );
    assert!(
        stderr(&removed).contains("gc: 1 of 1 blobs removed"),
        "a log line: {}",
        stderr(&removed)
    );
    assert!(!first_blob.exists() && second_blob.exists());
    let clean = lakery(&t, &["verify"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_clear_message_and_its_exit_code() {
    common::each_backend(bad_input_gets_a_clear_message_and_its_exit_code_on).await;
}

async fn bad_input_gets_a_clear_message_and_its_exit_code_on(t: TestDb) {
    let (first, _) = saved(&t).await;
    let unknown = lakery(&t, &["show", "01a2277c-1c33-72e0-bddc-13ad4ccae34b"]);
    assert_eq!(unknown.status.code(), Some(3), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("01a2277c-1c33-72e0-bddc-13ad4ccae34b"),
        "{}",
        stderr(&unknown)
    );
    let missing_key = lakery(&t, &["cat", &first.id.to_string(), "nope"]);
    assert_eq!(missing_key.status.code(), Some(3));
    assert!(
        stderr(&missing_key).contains("`nope`")
            && stderr(&missing_key).contains(&first.id.to_string()),
        "names the manifest and the key: {}",
        stderr(&missing_key)
    );
    let not_an_id = lakery(&t, &["show", "yesterday"]);
    assert_eq!(not_an_id.status.code(), Some(2));
    assert!(
        stderr(&not_an_id).contains("yesterday"),
        "{}",
        stderr(&not_an_id)
    );
    let bad_tag = lakery(&t, &["ls", "--tag", "project"]);
    assert_eq!(bad_tag.status.code(), Some(2));
    assert!(
        stderr(&bad_tag).contains("KEY=VALUE"),
        "{}",
        stderr(&bad_tag)
    );

    std::fs::write(t.path("lakery.toml"), "[storages.files]\ntype = \"tape\"\n").unwrap();
    let bad_config = lakery(&t, &["verify"]);
    assert_eq!(bad_config.status.code(), Some(2));
    assert!(
        stderr(&bad_config).contains("lakery.toml"),
        "{}",
        stderr(&bad_config)
    );
}

/// No database here: these are refused, or answered, before one is opened.
#[test]
fn a_missing_database_is_named_and_every_command_has_help() {
    let no_database = run(Command::new(env!("CARGO_BIN_EXE_lakery"))
        .args(["ls"])
        .env_remove("LAKERY_DATABASE_URL"));
    assert_eq!(no_database.status.code(), Some(2));
    assert!(stderr(&no_database).contains("LAKERY_DATABASE_URL"));

    // Every command has help with an example.
    for command in [
        "migrate", "ls", "show", "cat", "verify", "gc", "rm", "serve",
    ] {
        let help = run(Command::new(env!("CARGO_BIN_EXE_lakery")).args([command, "--help"]));
        assert!(help.status.success());
        assert!(stdout(&help).contains("Example: lakery"), "{command}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_migrate_command_creates_the_tables() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        if let Some(t) = TestDb::unmigrated(backend).await {
            eprintln!("-- on {backend:?}");
            the_migrate_command_creates_the_tables_on(t).await;
        }
    }
}

async fn the_migrate_command_creates_the_tables_on(t: TestDb) {
    std::fs::write(t.path("lakery.toml"), "").unwrap();
    let before = lakery(&t, &["ls"]);
    assert_eq!(before.status.code(), Some(4), "{}", stdout(&before));
    assert!(
        stderr(&before).contains("missing lakery's schema") && stderr(&before).contains("migrate"),
        "says to migrate: {}",
        stderr(&before)
    );
    for _ in 0..2 {
        // Twice: a second run finds the schema up to date.
        let migrated = lakery(&t, &["migrate"]);
        assert!(migrated.status.success(), "{}", stderr(&migrated));
        assert!(
            stdout(&migrated).contains("the database is up to date"),
            "{}",
            stdout(&migrated)
        );
    }
    let empty = lakery(&t, &["ls", "--json"]);
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert!(stdout(&empty).is_empty(), "{}", stdout(&empty));
    // Every table is there: a value saved into them is listed and shown.
    let (first, second) = saved(&t).await;
    let listed = lakery(&t, &["ls"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        stdout(&listed).contains(&first.id.to_string())
            && stdout(&listed).contains(&second.id.to_string()),
        "{}",
        stdout(&listed)
    );
    let shown = lakery(&t, &["show", &first.id.to_string()]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(
        stdout(&shown).contains("tag      project=apollo") && stdout(&shown).contains("notes"),
        "{}",
        stdout(&shown)
    );
}

/// SQLite alone: a database there is a file, which `migrate` creates.
#[test]
fn the_migrate_command_creates_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    let output = run(Command::new(env!("CARGO_BIN_EXE_lakery"))
        .args(["migrate", "--database", &url])
        .current_dir(dir.path()));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(Path::new(&dir.path().join("new.db")).exists());
    let listed = run(Command::new(env!("CARGO_BIN_EXE_lakery"))
        .args(["ls", "--database", &url])
        .current_dir(dir.path()));
    assert!(listed.status.success(), "{}", stderr(&listed));
}
