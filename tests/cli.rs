//! The `lakery` command line, run as a real binary against every backend with saved
//! data: listing and filtering, showing, reading bytes back (hash-checked, encoding
//! undone), verifying (a corrupted blob is reported and exits with 1), deleting and
//! collecting, migrating, and the exit codes and messages of bad input. Then what issue
//! 21 found, each a test that failed before its fix: read-only opening, exit codes,
//! redacted URLs, escaped control characters, tags with `=` in their key, a malformed
//! `lakery.toml`, bad rows by id, `rm` in one transaction, a missing blob, `cat`
//! streaming in bounded memory, and `cat -o` targets.

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

/// A registry of `T` with the storage `files`, and the storage configuration naming
/// its folder.
fn files_registry<T: Storable>(t: &TestDb) -> Registry {
    std::fs::write(
        t.path("lakery.toml"),
        "[storages.files]\ntype = \"file\"\npath = \"files\"\n",
    )
    .unwrap();
    Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<T>()
        .build()
        .unwrap()
}

/// `lakery cat ID KEY -o PATH`.
fn cat_to(t: &TestDb, id: &ManifestRecord, key: &str, path: &Path) -> Output {
    let id = id.id.to_string();
    lakery(t, &["cat", &id, key, "-o", path.to_str().unwrap()])
}

/// The file that holds the `blob` content of `record`.
async fn blob_file(t: &TestDb, record: &ManifestRecord) -> std::path::PathBuf {
    let contents = t.db.contents(record.id).await.unwrap();
    let content = contents.iter().find(|c| c.key == "blob").unwrap();
    common::stored_file(&t.path("files"), &content.hash)
}

/// Asserts that `message` says `what` of the `blob` content of `record`, naming the
/// manifest, the key and the storage.
fn assert_names_blob(message: &str, what: &str, record: &ManifestRecord) {
    assert!(
        message.contains(what)
            && message.contains(&record.id.to_string())
            && message.contains("`blob`")
            && message.contains("`files`"),
        "says `{what}` naming the manifest, the key and the storage: {message}"
    );
}

/// Two reports saved with tags, and the storage configuration naming their folder.
async fn saved(t: &TestDb) -> (ManifestRecord, ManifestRecord) {
    let registry = files_registry::<Report>(t);
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
    let written = cat_to(&t, &second, "blob", &file);
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
    std::fs::write(blob_file(&t, &first).await, vec![9u8; 1001]).unwrap();
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
    let refused = cat_to(&t, &first, "blob", &file);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert_names_blob(&stderr(&refused), "corrupt", &first);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        vec![2u8; 1002],
        "left as it was"
    );
    // Nor a new file: nothing is left behind, not even the temporary file.
    let fresh = t.path("out/fresh.bin");
    let refused = cat_to(&t, &first, "blob", &fresh);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    let left: Vec<_> = std::fs::read_dir(t.path("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("blob.bin")]);
    // To stdout the bytes go out as they are read; the mismatch, found at their end,
    // is the exit code and the message.
    let streamed = lakery(&t, &["cat", &first.id.to_string(), "blob"]);
    assert_eq!(streamed.status.code(), Some(4), "{}", stderr(&streamed));
    assert!(
        stderr(&streamed).contains("corrupt"),
        "{}",
        stderr(&streamed)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rm_deletes_only_when_confirmed_and_gc_removes_what_it_left() {
    common::each_backend(rm_deletes_only_when_confirmed_and_gc_removes_what_it_left_on).await;
}

async fn rm_deletes_only_when_confirmed_and_gc_removes_what_it_left_on(t: TestDb) {
    let (first, second) = saved(&t).await;
    let (first_blob, second_blob) = (blob_file(&t, &first).await, blob_file(&t, &second).await);

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

/// Runs `lakery` on `t`'s database with the given environment-free arguments, as
/// [`lakery`] does, but with the database URL given.
fn lakery_at(url: &str, t: &TestDb, args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_lakery"))
        .arg("--database")
        .arg(url)
        .arg("--storages")
        .arg(t.path("lakery.toml"))
        .args(args)
        .env_remove("LAKERY_DATABASE_URL")
        .env_remove("LAKERY_STORAGES"))
}

fn assert_code(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: stdout {}\nstderr {}",
        stdout(output),
        stderr(output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_commands_create_nothing_and_name_a_missing_path() {
    let t = TestDb::sqlite().await;
    let (first, _) = saved(&t).await;
    let id = first.id.to_string();
    // A mistyped storage folder: an error naming it, and no new empty folder.
    std::fs::write(
        t.path("lakery.toml"),
        "[storages.files]\ntype = \"file\"\npath = \"flies\"\n",
    )
    .unwrap();
    for args in [vec!["verify"], vec!["cat", &id, "blob"]] {
        let output = lakery(&t, &args);
        assert_code(&output, 2, &format!("{args:?}"));
        assert!(stderr(&output).contains("flies"), "{}", stderr(&output));
        assert!(!t.path("flies").exists(), "{args:?} created the folder");
    }
    // A mistyped SQLite file: an error, and no new empty database.
    let typo = t.path("typo.db");
    let url = format!("sqlite://{}", typo.display());
    for args in [vec!["ls"], vec!["show", &id], vec!["verify"]] {
        let output = lakery_at(&url, &t, &args);
        assert!(!output.status.success(), "{args:?}: {}", stdout(&output));
        assert!(stderr(&output).contains("typo.db"), "{}", stderr(&output));
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_and_configuration_errors_exit_with_2() {
    let t = TestDb::sqlite().await;
    let (first, _) = saved(&t).await;
    let bad_url = lakery_at("nosuch://host/db", &t, &["ls"]);
    assert_code(&bad_url, 2, "a bad database URL");
    assert!(
        stderr(&bad_url).contains("nosuch://"),
        "{}",
        stderr(&bad_url)
    );
    assert_code(&lakery(&t, &["ls", "--limit", "0"]), 2, "--limit 0");
    assert_code(&lakery(&t, &["ls", "--tag", "=x"]), 2, "an empty tag key");
    let many: Vec<String> = (0..17).map(|i| format!("k{i}=v")).collect();
    let mut args = vec!["ls"];
    for tag in &many {
        args.extend(["--tag", tag]);
    }
    assert_code(&lakery(&t, &args), 2, "more tags than a query takes");
    // A malformed storage file, named with its line, for the commands that need it.
    std::fs::write(
        t.path("lakery.toml"),
        "[storages.files]\ntype = \"file\"\npath = \n",
    )
    .unwrap();
    let id = first.id.to_string();
    for args in [vec!["verify"], vec!["cat", &id, "blob"], vec!["gc"]] {
        let output = lakery(&t, &args);
        assert_code(&output, 2, &format!("{args:?}"));
        let message = stderr(&output);
        assert!(
            message.contains("lakery.toml") && message.contains("line 3"),
            "{args:?}: names the file and the line: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_storage_file_stops_only_commands_that_need_a_storage() {
    let t = TestDb::sqlite().await;
    let (first, second) = saved(&t).await;
    std::fs::write(t.path("lakery.toml"), "[storages.files\ntype = ").unwrap();
    let id = first.id.to_string();
    for args in [
        vec!["ls"],
        vec!["ls", "--json"],
        vec!["show", &id],
        vec!["migrate"],
        vec!["rm", "--yes", &id],
    ] {
        let output = lakery(&t, &args);
        assert_code(&output, 0, &format!("{args:?}"));
    }
    assert!(t.db.manifest(second.id).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn database_urls_are_redacted_in_messages_and_logs() {
    let t = TestDb::sqlite().await;
    std::fs::write(t.path("lakery.toml"), "").unwrap();
    // Nothing listens on port 1: each connection fails, and says where it tried.
    let cases = [
        (
            "postgres://lakery:p%40ss%3Aw0rd@127.0.0.1:1/db",
            &["p%40ss", "p@ss", "w0rd"][..],
        ),
        (
            "postgres://lakery@127.0.0.1:1/db?password=hunter2&sslmode=disable",
            &["hunter2"],
        ),
        (
            "mysql://root@127.0.0.1:1/db?pass=x1&pwd=x2&token=x3&secret=x4&sslpassword=x5",
            &["x1", "x2", "x3", "x4", "x5"],
        ),
        (
            "sqlite:///no/such/dir/x.db?password=p%40ss",
            &["p%40ss", "p@ss"],
        ),
        (
            "nosuch://user:s3cret@host/db?token=t0ken",
            &["s3cret", "t0ken"],
        ),
    ];
    for (url, secrets) in cases {
        for command in ["ls", "migrate"] {
            let output = lakery_at(url, &t, &["-v", command]);
            assert!(!output.status.success(), "{url}");
            let message = stderr(&output);
            assert!(message.contains("***"), "{url}: {message}");
            for secret in secrets {
                assert!(
                    !message.contains(secret),
                    "{url}: `{secret}` shown in {message}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_stored_rows_reach_the_terminal_escaped() {
    let t = TestDb::sqlite().await;
    let (first, _) = saved(&t).await;
    // Rows as someone with write access could leave them: an ANSI escape that clears
    // the screen, one that sets the window title, a bell, a bidi override.
    t.execute(&format!(
        "UPDATE lakery_manifests SET tags = '{{\"k\\u001b[2J\":\"v\\u0007\\u202e\"}}' WHERE id = '{}';
         UPDATE lakery_contents SET content_key = 'blob' || char(27) || ']0;owned' || char(7),
             content_type = 'text/plain' || char(27) || '[31m',
             storage_name = 'files' || char(13),
             serializer_name = 'raw' || char(8)
         WHERE manifest_id = '{}' AND content_key = 'blob';",
        first.id, first.id
    ))
    .await;
    let id = first.id.to_string();
    for args in [vec!["ls"], vec!["show", &id]] {
        let output = lakery(&t, &args);
        assert_code(&output, 0, &format!("{args:?}"));
        let text = stdout(&output);
        for raw in ['\u{1b}', '\u{7}', '\u{d}', '\u{8}', '\u{202e}'] {
            assert!(!text.contains(raw), "{args:?}: {raw:?} raw in {text:?}");
        }
        assert!(
            text.contains(r"k\u{1b}[2J=v\u{7}\u{202e}"),
            "{args:?}: {text}"
        );
    }
    let shown = stdout(&lakery(&t, &["show", &id]));
    for escaped in [
        r"blob\u{1b}]0;owned\u{7}",
        r"text/plain\u{1b}[31m",
        r"files\u{d}",
        r"raw\u{8}",
    ] {
        assert!(shown.contains(escaped), "`{escaped}` in {shown}");
    }
    for args in [vec!["ls", "--json"], vec!["show", "--json", &id]] {
        let text = stdout(&lakery(&t, &args));
        for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!text.contains(raw), "{args:?}: {raw:?} raw in {text:?}");
        }
        assert!(text.contains(r"\u001b"), "{args:?}: JSON-escaped: {text}");
        assert!(text.contains(r"\u202e"), "{args:?}: JSON-escaped: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_whose_key_holds_an_equals_sign_can_be_filtered_on() {
    common::each_backend(a_tag_whose_key_holds_an_equals_sign_on).await;
}

async fn a_tag_whose_key_holds_an_equals_sign_on(t: TestDb) {
    let (first, second) = saved(&t).await;
    let registry = files_registry::<Report>(&t);
    let tagged = lakery::save_one(
        &Report {
            title: "t".into(),
            blob: vec![3],
            notes: String::new(),
        },
        &registry,
        &t.db,
    )
    .tags([("a=b", "c=d"), (r"back\slash", "x")])
    .await
    .unwrap();
    for tag in [r"a\=b=c=d", r"back\slash=x", r"back\\slash=x"] {
        let output = lakery(&t, &["ls", "--json", "--tag", tag]);
        assert_code(&output, 0, tag);
        let listed = stdout(&output);
        assert!(listed.contains(&tagged.id.to_string()), "{tag}: {listed}");
        assert!(
            !listed.contains(&first.id.to_string()) && !listed.contains(&second.id.to_string()),
            "{tag}: {listed}"
        );
    }
    let none = lakery(&t, &["ls", "--json", "--tag", "a=b=c=d"]);
    assert!(
        stdout(&none).is_empty(),
        "key `a`, value `b=c=d`: {}",
        stdout(&none)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_manifest_row_is_named_by_its_id_and_the_rest_still_listed() {
    common::each_backend(a_bad_manifest_row_is_named_by_its_id_on).await;
}

async fn a_bad_manifest_row_is_named_by_its_id_on(t: TestDb) {
    let (first, second) = saved(&t).await;
    // What each backend's column types let a row hold that lakery never writes.
    let (bad_time_or_version, bad_tags) = match t.backend() {
        Backend::Sqlite => ("created_at = 'yesterday'", "tags = '[1, 2]'"),
        Backend::Postgres => ("class_version = -1", "tags = '[1, 2]'::jsonb"),
        _ => ("class_version = -1", "tags = '[1, 2]'"),
    };
    let damage = |set: &str, id: lakery::ManifestId| {
        format!("UPDATE lakery_manifests SET {set} WHERE id = '{id}'")
    };
    t.execute(&damage(bad_time_or_version, first.id)).await;
    let (bad, good) = (first.id.to_string(), second.id.to_string());
    for args in [
        vec!["ls"],
        vec!["ls", "--json"],
        vec!["ls", "--tag", "project=apollo"],
        vec!["ls", "--limit", "2"],
    ] {
        let output = lakery(&t, &args);
        assert_code(&output, 1, &format!("{args:?}"));
        assert!(
            stderr(&output).contains(&bad),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let listed = stdout(&lakery(&t, &["ls", "--json"]));
    assert!(listed.contains(&good) && !listed.contains(&bad), "{listed}");
    let shown = lakery(&t, &["show", &bad]);
    assert_code(&shown, 1, "show");
    assert!(stderr(&shown).contains(&bad), "{}", stderr(&shown));
    assert!(
        stdout(&shown).contains("notes"),
        "its contents: {}",
        stdout(&shown)
    );
    let verified = lakery(&t, &["verify"]);
    assert_code(&verified, 1, "verify");
    assert!(stdout(&verified).contains(&bad), "{}", stdout(&verified));
    // rm lists it and removes it.
    let removed = lakery(&t, &["rm", "--yes", "--tag", "project=apollo"]);
    assert_code(&removed, 0, "rm");
    assert!(stdout(&removed).contains(&bad), "{}", stdout(&removed));
    assert!(matches!(
        t.db.manifest(first.id).await,
        Err(lakery::Error::ManifestNotFound(_))
    ));
    assert_code(&lakery(&t, &["ls"]), 0, "ls once it is gone");
    // And by its id.
    t.execute(&damage(bad_tags, second.id)).await;
    assert_code(&lakery(&t, &["ls"]), 1, "ls of bad tags");
    let removed = lakery(&t, &["rm", "--yes", &good]);
    assert_code(&removed, 0, "rm by id");
    assert!(
        stdout(&removed).contains("cannot be read"),
        "{}",
        stdout(&removed)
    );
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ls_pages_and_rm_deletes_its_whole_selection_in_one_transaction() {
    const COUNT: usize = 501;
    let t = TestDb::sqlite().await;
    std::fs::write(t.path("lakery.toml"), "").unwrap();
    #[derive(Storable, Debug)]
    #[storable(class_id = "3f1d2c4b-6a5e-4d7c-9b8a-0e1f2a3b4c5d")]
    struct Tiny {
        n: usize,
    }
    let registry = Registry::builder().storable::<Tiny>().build().unwrap();
    let mut ids = Vec::new();
    for n in 0..COUNT {
        let record = lakery::save_one(&Tiny { n }, &registry, &t.db)
            .tags([("kind", "tiny")])
            .await
            .unwrap();
        ids.push(record.id.to_string());
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    // ls reads them a page (500) at a time: all of them, each once, in order; a limit
    // across the page boundary, or inside the first page, is kept.
    for (args, expected) in [
        (vec!["ls", "--json"], COUNT),
        (vec!["ls", "--json", "--limit", "600"], COUNT),
        (vec!["ls", "--json", "--limit", "501"], 501),
        (vec!["ls", "--json", "--limit", "499"], 499),
    ] {
        let output = lakery(&t, &args);
        assert_code(&output, 0, &format!("{args:?}"));
        let listed: Vec<String> = stdout(&output)
            .lines()
            .map(|line| {
                serde_json::from_str::<ManifestRecord>(line)
                    .unwrap()
                    .id
                    .to_string()
            })
            .collect();
        assert_eq!(listed, newest_first[..expected], "{args:?}");
    }

    // The database refuses to delete the oldest one: the deletion fails, and takes
    // none of the others with it (it took 400 when rm deleted 200 at a time).
    t.execute(&format!(
        "CREATE TRIGGER refuse BEFORE DELETE ON lakery_manifests WHEN OLD.id = '{}' \
         BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        ids[0]
    ))
    .await;
    let refused = lakery(&t, &["rm", "--yes", "--tag", "kind=tiny"]);
    assert_code(&refused, 4, "rm refused by the database");
    let count = "SELECT COUNT(*) AS n FROM lakery_manifests";
    assert_eq!(t.count(count).await, COUNT as i64, "all or nothing");
    t.execute("DROP TRIGGER refuse").await;
    let deleted = lakery(&t, &["rm", "--yes", "--tag", "kind=tiny"]);
    assert_code(&deleted, 0, "rm");
    assert!(
        stdout(&deleted).contains(&format!("deleted {COUNT} manifests")),
        "{}",
        stdout(&deleted)
    );
    assert_eq!(t.count(count).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_blob_is_a_missing_content_named_without_a_path() {
    let t = TestDb::sqlite().await;
    let (first, _) = saved(&t).await;
    std::fs::remove_file(blob_file(&t, &first).await).unwrap();
    let output = lakery(&t, &["cat", &first.id.to_string(), "blob"]);
    assert_code(&output, 3, "cat of a deleted blob");
    let message = stderr(&output);
    assert_names_blob(&message, "missing", &first);
    assert!(
        !message.contains(&*t.path("files").to_string_lossy()),
        "no path of the machine: {message}"
    );
}

/// The peak resident size of a running process, in bytes, as `/proc` tells it.
#[cfg(target_os = "linux")]
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn cat_streams_a_content_that_decodes_far_larger_than_it_stores() {
    #[derive(Storable, Debug)]
    #[storable(class_id = "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e")]
    struct Packed {
        #[content(serializer = RawBytes, storage = "files", encoding = "zstd")]
        zeros: Vec<u8>,
    }
    const DECODED: usize = 256 << 20;
    const BOUND: u64 = 128 << 20;
    let t = TestDb::sqlite().await;
    let registry = files_registry::<Packed>(&t);
    let record = lakery::save_one(
        &Packed {
            zeros: vec![0; DECODED],
        },
        &registry,
        &t.db,
    )
    .await
    .unwrap();
    let stored = t.db.contents(record.id).await.unwrap()[0].size;
    assert!(stored < 64 << 10, "a small blob: {stored} bytes");
    let id = record.id.to_string();
    // The bytes come through a pipe read here, so the command is still running, its
    // last megabyte unwritten, when its peak is read.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lakery"))
        .args(["--database", t.db.url(), "--storages"])
        .arg(t.path("lakery.toml"))
        .args(["cat", &id, "zeros"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let (mut received, mut peak) = (0, None);
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let n = pipe.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        assert!(buffer[..n].iter().all(|b| *b == 0));
        received += n;
        if peak.is_none() && received >= DECODED - (1 << 20) {
            peak = Some(peak_memory(child.id()));
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(received, DECODED);
    let peak = peak.unwrap();
    assert!(
        peak < BOUND,
        "{} MiB decoded took {} MiB at the peak",
        DECODED >> 20,
        peak >> 20
    );
    let file = t.path("zeros.bin");
    let written = cat_to(&t, &record, "zeros", &file);
    assert_code(&written, 0, "cat -o");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), DECODED as u64);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn cat_o_writes_through_symlinks_keeps_modes_and_refuses_other_targets() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

    let t = TestDb::sqlite().await;
    let (first, _) = saved(&t).await;
    let cat_to = |path: &Path| cat_to(&t, &first, "blob", path);
    let expected = vec![1u8; 1001];

    // An existing file keeps its mode.
    let kept = t.path("kept.bin");
    std::fs::write(&kept, "old").unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_code(&cat_to(&kept), 0, "an existing file");
    assert_eq!(std::fs::read(&kept).unwrap(), expected);
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640, "its mode kept: {mode:o}");
    // Its owner too, where cat may set it (as root); set-id bits are not kept for new
    // bytes.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&kept, Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o4755)).unwrap();
        assert_code(&cat_to(&kept), 0, "a file of another user");
        let meta = std::fs::metadata(&kept).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "its owner kept");
        assert_eq!(
            meta.permissions().mode() & 0o7777,
            0o755,
            "without set-user-id"
        );
    }

    // A new file gets the mode any new file gets, not a temporary file's 0600.
    let new = t.path("new.bin");
    assert_code(&cat_to(&new), 0, "a new file");
    let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o7777;
    assert_ne!(mode, 0o600, "a new file's mode: {mode:o}");

    // A symlink: the file it points at is written, the link stays.
    let pointed = t.path("pointed.bin");
    std::fs::write(&pointed, "old").unwrap();
    let link = t.path("link.bin");
    std::os::unix::fs::symlink(&pointed, &link).unwrap();
    assert_code(&cat_to(&link), 0, "a symlink");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&pointed).unwrap(), expected);

    // Not regular files: refused, and left as they were.
    let fifo = t.path("fifo");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    let folder = t.path("folder");
    std::fs::create_dir(&folder).unwrap();
    let to_null = t.path("to-null");
    std::os::unix::fs::symlink("/dev/null", &to_null).unwrap();
    // As root, a device node of its own, so that a regression replaces only that.
    let device = if unsafe { libc::geteuid() } == 0 {
        let node = t.path("null");
        let path = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; 1,3 is the null device.
        let made =
            unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        assert_eq!(made, 0, "mknod");
        node
    } else {
        std::path::PathBuf::from("/dev/null")
    };
    for target in [&fifo, &folder, &to_null, &device] {
        let refused = cat_to(target);
        assert_code(&refused, 2, &target.display().to_string());
        assert!(
            stderr(&refused).contains("not a regular file"),
            "{}",
            stderr(&refused)
        );
    }
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(std::fs::symlink_metadata(&to_null)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::symlink_metadata(&device)
        .unwrap()
        .file_type()
        .is_char_device());
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}
