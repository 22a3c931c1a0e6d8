//! Saving and loading single values through the public API, on SQLite with the memory,
//! file and database storages.

mod common;

use std::collections::BTreeMap;

use common::TestDb;
use lakery::serializer::{Bincode, RawBytes, Text};
use lakery::Backend;
use lakery::{Error, FileStorage, MemoryStorage, Registry, Storable};

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 1)]
struct Experiment {
    description: String,
    parameters: BTreeMap<String, f64>,
    #[content(serializer = Bincode, storage = "archive", tags(kind = "results", project = "from-field"))]
    results: Vec<f64>,
}

fn experiment(seed: u32) -> Experiment {
    Experiment {
        description: format!("run {seed}"),
        parameters: BTreeMap::from([
            ("lr".to_owned(), 0.1 * f64::from(seed)),
            ("epochs".to_owned(), 3.0),
        ]),
        results: (0..100).map(|i| f64::from(i * seed) / 7.0).collect(),
    }
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "0c0ffee0-1d2e-4f3a-8b5c-6d7e8f901234", version = 3)]
struct Report {
    title: String,
    #[content(serializer = Text, storage = "files")]
    text: String,
    #[content(serializer = RawBytes, storage = "files")]
    attachment: Vec<u8>,
    #[storable(skip)]
    cached_len: usize,
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trip_with_memory_storage_and_merged_tags() {
    common::each_backend(round_trip_with_memory_storage_and_merged_tags_on).await;
}

async fn round_trip_with_memory_storage_and_merged_tags_on(t: TestDb) {
    let archive = MemoryStorage::new();
    let registry = Registry::builder()
        .storage("archive", archive.clone())
        .storable::<Experiment>()
        .build()
        .unwrap();

    let exp = experiment(3);
    let record = lakery::save_one(&exp, &registry, &t.db)
        .tags([("project", "p1"), ("owner", "ada")])
        .await
        .unwrap();
    assert_eq!(record.class_id, Experiment::CLASS_ID);
    assert_eq!(record.class_version, 1);
    assert_eq!(
        record.tags,
        BTreeMap::from([
            ("owner".into(), "ada".into()),
            ("project".into(), "p1".into())
        ])
    );

    let back: Experiment = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(back, exp);

    // The manifest in the database is the one returned.
    assert_eq!(t.db.manifest(record.id).await.unwrap(), record);

    // Two content records: the JSON body in the database, the results in the archive.
    let contents = t.db.contents(record.id).await.unwrap();
    let keys: Vec<_> = contents.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["body", "results"]);
    let body = &contents[0];
    assert_eq!(body.storage_name, "database");
    assert_eq!(body.serializer_name, "lakery.json@v1");
    assert_eq!(body.content_type, "application/json");
    assert_eq!(body.hash_algorithm, "sha256");
    assert_eq!(body.hash.len(), 64);
    let results = &contents[1];
    assert_eq!(results.storage_name, "archive");
    assert_eq!(results.serializer_name, "lakery.bincode@v1");
    assert_eq!(
        results.tags,
        BTreeMap::from([
            ("kind".into(), "results".into()),
            ("project".into(), "from-field".into())
        ])
    );
    assert!(
        (800..=810).contains(&results.size),
        "100 f64 in bincode are 800 bytes and a length, not {}",
        results.size
    );

    // The storage received the merged tags; the manifest's `project` won.
    let tags = archive
        .tags(&results.storage_config)
        .expect("the archive holds the results");
    assert_eq!(
        tags,
        BTreeMap::from([
            ("kind".into(), "results".into()),
            ("owner".into(), "ada".into()),
            ("project".into(), "p1".into())
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn file_storage_writes_content_addressed_files_and_dedupes() {
    common::each_backend(file_storage_writes_content_addressed_files_and_dedupes_on).await;
}

async fn file_storage_writes_content_addressed_files_and_dedupes_on(t: TestDb) {
    let files = FileStorage::new(t.path("files")).unwrap();
    let registry = Registry::builder()
        .storage("files", files.clone())
        .storable::<Report>()
        .build()
        .unwrap();

    let report = Report {
        title: "q3".into(),
        text: "all good".into(),
        attachment: vec![7; 10_000],
        cached_len: 42,
    };
    let first = lakery::save_one(&report, &registry, &t.db).await.unwrap();
    let second = lakery::save_one(&report, &registry, &t.db).await.unwrap();
    assert_ne!(first.id, second.id);

    // Each distinct content is one file named by its SHA-256, found again from the
    // relative path recorded in the database.
    let contents = t.db.contents(first.id).await.unwrap();
    let text = contents.iter().find(|c| c.key == "text").unwrap();
    assert_eq!(text.content_type, "text/plain; charset=utf-8");
    let relative = text.storage_config["path"].as_str().unwrap();
    assert_eq!(relative, format!("{}/{}", &text.hash[..2], text.hash));
    assert_eq!(
        std::fs::read(files.root().join(relative)).unwrap(),
        b"all good"
    );
    let mut stored: Vec<_> = walk(files.root());
    stored.sort();
    assert_eq!(
        stored.len(),
        2,
        "text and attachment, stored once for two manifests: {stored:?}"
    );

    let back: Report = lakery::load_one(second.id, &registry, &t.db).await.unwrap();
    assert_eq!(
        back,
        Report {
            cached_len: 0,
            ..report
        },
        "skipped fields come back as Default"
    );
}

/// The files under `dir`, leaving out the storage's own lock file.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|name| name == ".lakery-lock") {
            continue;
        } else if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_bytes_fail_the_hash_check_naming_manifest_and_key() {
    common::each_backend(corrupt_bytes_fail_the_hash_check_naming_manifest_and_key_on).await;
}

async fn corrupt_bytes_fail_the_hash_check_naming_manifest_and_key_on(t: TestDb) {
    let files = FileStorage::new(t.path("files")).unwrap();
    let registry = Registry::builder()
        .storage("files", files.clone())
        .storable::<Report>()
        .build()
        .unwrap();
    let report = Report {
        title: "t".into(),
        text: "original".into(),
        attachment: vec![1, 2, 3],
        cached_len: 0,
    };
    let record = lakery::save_one(&report, &registry, &t.db).await.unwrap();

    let text =
        t.db.contents(record.id)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.key == "text")
            .unwrap();
    std::fs::write(
        files
            .root()
            .join(text.storage_config["path"].as_str().unwrap()),
        b"tampered",
    )
    .unwrap();

    let error = lakery::load_one::<Report>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::HashMismatch { manifest, key, storage, .. }
        if *manifest == record.id && key == "text" && storage == "files"),
        "{error:?}"
    );
    assert_names(
        &error,
        &[&record.id.to_string(), "`text`", "`files`", "corrupt"],
    );
}

/// Fails unless `error`'s message holds every one of `needles`.
fn assert_names(error: &Error, needles: &[&str]) {
    let message = error.to_string();
    for needle in needles {
        assert!(message.contains(needle), "{needle} missing from: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_body_in_the_database_fails_the_hash_check() {
    common::each_backend(corrupt_body_in_the_database_fails_the_hash_check_on).await;
}

async fn corrupt_body_in_the_database_fails_the_hash_check_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("archive", MemoryStorage::new())
        .storable::<Experiment>()
        .build()
        .unwrap();
    let record = lakery::save_one(&experiment(1), &registry, &t.db)
        .await
        .unwrap();

    t.execute(&format!(
        "UPDATE lakery_contents SET data = {} WHERE content_key = 'body'",
        t.blob(br#"{"description":"forged"}"#)
    ))
    .await;
    let error = lakery::load_one::<Experiment>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::HashMismatch { manifest, key, storage, .. }
            if *manifest == record.id && key == "body" && storage == "database"),
        "{error:?}"
    );
    assert_names(
        &error,
        &[&record.id.to_string(), "`body`", "`database`", "corrupt"],
    );
}

/// A file storage under `<dir>/files` with hostile things planted in and around it, to
/// show that no config read from a database reaches them.
struct Planted {
    dir: std::path::PathBuf,
    files: FileStorage,
}

/// A name of the content layout (`<2 hex>/<64 hex>`) under the folder `prefix`.
fn blob_name(prefix: &str) -> String {
    format!("{prefix}{}", "0".repeat(62))
}

impl Planted {
    /// Plants, in `dir`:
    /// - `outside/secret`, a file beside the root;
    /// - `outside/cd/cd00…`, a file named as a content, in a folder beside the root;
    /// - `files/ab/ab00…`, a symlink where a content would be, to `outside/secret`;
    /// - `files/cd`, a symlink where a two-hex folder would be, to `outside/cd`;
    /// - `files/.lakery-tmp-planted`, a write in progress, and the storage's lock file:
    ///   inside the root, but no content.
    fn new(dir: &std::path::Path) -> Planted {
        let files = FileStorage::new(dir.join("files")).unwrap();
        let outside = dir.join("outside");
        std::fs::create_dir_all(outside.join("cd")).unwrap();
        std::fs::write(outside.join("secret"), b"outside").unwrap();
        std::fs::write(outside.join("cd").join(blob_name("cd")), b"outside blob").unwrap();
        std::fs::create_dir_all(files.root().join("ab")).unwrap();
        std::os::unix::fs::symlink(
            outside.join("secret"),
            files.root().join("ab").join(blob_name("ab")),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.join("cd"), files.root().join("cd")).unwrap();
        std::fs::write(files.root().join(".lakery-tmp-planted"), b"in flight").unwrap();
        Planted {
            dir: dir.to_owned(),
            files,
        }
    }

    /// Configs a tampered row could hold: each reaches outside the root, or names
    /// something in it that is not a content, or is malformed.
    fn hostile_configs(&self) -> Vec<serde_json::Value> {
        use serde_json::json;
        let ab = blob_name("ab");
        let cd = blob_name("cd");
        let absolute = self.dir.join("outside/secret").display().to_string();
        let absolute_blob = self.files.root().join("ab").join(&ab).display().to_string();
        vec![
            // Up and out, plainly, through a content folder, dotted, or to a file that
            // has a content's name.
            json!({ "path": "../outside/secret" }),
            json!({ "path": "ab/../../outside/secret" }),
            json!({ "path": "ab/./../../outside/secret" }),
            json!({ "path": format!("ab/../../outside/cd/{cd}") }),
            json!({ "path": format!("./cd/{cd}") }),
            // Absolute.
            json!({ "path": absolute }),
            json!({ "path": absolute_blob }),
            json!({ "path": "/etc/passwd" }),
            // Separators in disguise.
            json!({ "path": "..%2Foutside%2Fsecret" }),
            json!({ "path": "ab%2F..%2F..%2Foutside%2Fsecret" }),
            json!({ "path": "..\\outside\\secret" }),
            json!({ "path": format!("ab\\{ab}") }),
            json!({ "path": format!("ab//{ab}") }),
            json!({ "path": format!("ab/{ab}/") }),
            // Control characters.
            json!({ "path": "\u{1}ab/secret" }),
            json!({ "path": format!("ab/{ab}\u{0}") }),
            // Inside the root, but not a content.
            json!({ "path": ".lakery-lock" }),
            json!({ "path": ".lakery-tmp-planted" }),
            json!({ "path": "ab" }),
            json!({ "path": "." }),
            json!({ "path": "" }),
            // Malformed shapes.
            json!({ "path": 17 }),
            json!({ "path": null }),
            json!({ "path": ["ab", ab] }),
            json!({ "path": { "path": format!("ab/{ab}") } }),
            json!({ "key": format!("ab/{ab}") }),
            json!({}),
            json!([]),
            json!(null),
            json!(format!("ab/{ab}")),
            // Valid names, through symlinks planted under the root: a file, a folder.
            json!({ "path": format!("ab/{ab}") }),
            json!({ "path": format!("cd/{cd}") }),
        ]
    }

    /// Fails unless everything planted is still there, as it was planted: a delete that
    /// escaped would have removed something.
    fn assert_untouched(&self) {
        let outside = self.dir.join("outside");
        let root = self.files.root();
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"outside");
        assert_eq!(
            std::fs::read(outside.join("cd").join(blob_name("cd"))).unwrap(),
            b"outside blob"
        );
        for link in [root.join("ab").join(blob_name("ab")), root.join("cd")] {
            let kind = std::fs::symlink_metadata(&link).unwrap().file_type();
            assert!(
                kind.is_symlink(),
                "{} is still the planted symlink",
                link.display()
            );
        }
        assert_eq!(
            std::fs::read(root.join(".lakery-tmp-planted")).unwrap(),
            b"in flight"
        );
        assert!(root.join(".lakery-lock").is_file());
    }
}

/// How a refused config is recognised: a storage error of kind `InvalidConfig` whose
/// message quotes the config.
fn assert_refused(
    operation: &str,
    config: &serde_json::Value,
    result: Result<String, lakery::storage::StorageError>,
) {
    match result {
        Err(error) => {
            assert_eq!(
                error.kind(),
                lakery::storage::StorageErrorKind::InvalidConfig,
                "{operation} {config}: {error}"
            );
            assert!(
                error.to_string().contains(&config.to_string()),
                "{operation} {config}: the error quotes the config: {error}"
            );
        }
        Ok(outcome) => panic!("{operation} {config} was not refused: {outcome}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_file_storage_operation_refuses_a_config_reaching_outside_the_root() {
    use futures::TryStreamExt;
    use lakery::Storage;

    let dir = tempfile::tempdir().unwrap();
    let planted = Planted::new(dir.path());
    let files = &planted.files;
    // A blob may be deleted by age only if it is older than this: everything is.
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    for config in planted.hostile_configs() {
        let c = &config;
        assert_refused("read", c, files.read(c).await.map(|b| format!("{b:?}")));
        let stream = match files.read_stream(c).await {
            Ok(stream) => stream
                .try_collect::<Vec<_>>()
                .await
                .map(|b| format!("{b:?}")),
            Err(e) => Err(e),
        };
        assert_refused("read_stream", c, stream);
        let range = files.read_range(c, 0..3).await;
        assert_refused("read_range", c, range.map(|b| format!("{b:?}")));
        assert_refused("exists", c, files.exists(c).await.map(|e| e.to_string()));
        assert_refused(
            "delete",
            c,
            files.delete(c).await.map(|()| "deleted".into()),
        );
        let aged = files.delete_if_older(c, future).await;
        assert_refused("delete_if_older", c, aged.map(|d| d.to_string()));
        planted.assert_untouched();
    }
    // Nothing planted is listed as a content: collection would not reach it either.
    assert_eq!(files.list().await.unwrap(), []);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_config_reaching_outside_the_root_is_refused() {
    common::each_backend(a_storage_config_reaching_outside_the_root_is_refused_on).await;
}

/// `text` as a string literal of `t`'s SQL: MariaDB reads backslashes in literals as
/// escapes, the others do not.
fn sql_string(t: &TestDb, text: &str) -> String {
    let quoted = text.replace('\'', "''");
    match t.backend() {
        Backend::Mysql => format!("'{}'", quoted.replace('\\', "\\\\")),
        _ => format!("'{quoted}'"),
    }
}

/// Through the operations a user runs on a database whose content row was tampered
/// with: loading, reading one content, verifying, collecting garbage, and deleting the
/// manifest and collecting again.
async fn a_storage_config_reaching_outside_the_root_is_refused_on(t: TestDb) {
    let planted = Planted::new(t.dir.path());
    let registry = Registry::builder()
        .storage("files", planted.files.clone())
        .storable::<Report>()
        .build()
        .unwrap();
    let report = Report {
        title: "t".into(),
        text: "x".into(),
        attachment: vec![1, 2, 3],
        cached_len: 0,
    };
    let record = lakery::save_one(&report, &registry, &t.db).await.unwrap();
    let contents = t.db.contents(record.id).await.unwrap();
    let original = |key: &str| {
        let content = contents.iter().find(|c| c.key == key).unwrap();
        content.storage_config.clone()
    };
    let (text_blob, attachment_blob) = (original("text"), original("attachment"));

    for config in planted.hostile_configs() {
        // PostgreSQL's jsonb cannot hold a NUL character: the row cannot be written.
        if t.backend() == Backend::Postgres && config.to_string().contains("\\u0000") {
            continue;
        }
        t.execute(&format!(
            "UPDATE lakery_contents SET storage_config = {} WHERE content_key = 'text'",
            sql_string(&t, &config.to_string())
        ))
        .await;
        // The row holds what was written into it.
        let row = t.db.contents(record.id).await.unwrap();
        let text = row.iter().find(|c| c.key == "text").unwrap();
        assert_eq!(text.storage_config, config);

        let error = lakery::load_one::<Report>(&record, &registry, &t.db)
            .await
            .unwrap_err();
        assert_refused_read(&error, &record, &config);
        let Err(error) = lakery::read_content(&registry, &t.db, record.id, "text").await else {
            panic!("{config}: read_content was not refused");
        };
        assert_refused_read(&error, &record, &config);

        let verified = lakery::verify(&registry, &t.db, &lakery::Query::new())
            .await
            .unwrap();
        let [problem] = verified.problems.as_slice() else {
            panic!("{config}: one problem expected: {:?}", verified.problems);
        };
        assert_eq!(
            (
                problem.manifest,
                problem.key.as_str(),
                problem.storage.as_str()
            ),
            (record.id, "text", "files")
        );
        assert_refused_read(&problem.error, &record, &config);
        planted.assert_untouched();
    }

    // Collection keeps what a row refers to, removes the text's blob that no row refers
    // to any more, and touches nothing planted.
    let gc = || {
        lakery::collect_garbage(
            &registry,
            &t.db,
            lakery::GcOptions::new().grace(std::time::Duration::ZERO),
        )
    };
    let collected = gc().await.unwrap();
    let removed: Vec<_> = collected.removed.iter().map(|b| &b.config).collect();
    assert_eq!(removed, [&text_blob]);
    assert_eq!(collected.referenced, 1);
    planted.assert_untouched();

    // Deleting the manifest leaves its attachment to collection; still nothing planted
    // is touched.
    assert_eq!(t.db.delete(&[record.id]).await.unwrap(), 1);
    let collected = gc().await.unwrap();
    let removed: Vec<_> = collected.removed.iter().map(|b| &b.config).collect();
    assert_eq!(removed, [&attachment_blob]);
    planted.assert_untouched();
}

/// `error` is the refusal to read content `text` of `record` from `files` under
/// `config`, and says so.
fn assert_refused_read(error: &Error, record: &lakery::ManifestRecord, config: &serde_json::Value) {
    let Error::Storage {
        operation: "read",
        storage,
        manifest,
        key,
        source,
    } = error
    else {
        panic!("expected a refused storage config for {config}, got {error:?}");
    };
    assert_eq!(
        (*manifest, storage.as_str(), key.as_str()),
        (record.id, "files", "text")
    );
    assert_eq!(
        source.kind(),
        lakery::storage::StorageErrorKind::InvalidConfig,
        "{config}: {error}"
    );
    let message = error.to_string();
    for needle in [
        record.id.to_string(),
        "`text`".into(),
        "`files`".into(),
        config.to_string(),
    ] {
        assert!(
            message.contains(&needle),
            "{needle} missing from: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_naming_an_unconfigured_storage_is_a_clear_error() {
    common::each_backend(a_row_naming_an_unconfigured_storage_is_a_clear_error_on).await;
}

async fn a_row_naming_an_unconfigured_storage_is_a_clear_error_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Report>()
        .build()
        .unwrap();
    let report = Report {
        title: "t".into(),
        text: "x".into(),
        attachment: vec![1],
        cached_len: 0,
    };
    let record = lakery::save_one(&report, &registry, &t.db).await.unwrap();
    t.execute("UPDATE lakery_contents SET storage_name = 'nowhere' WHERE content_key = 'text'")
        .await;
    let error = lakery::load_one::<Report>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnknownStorage { manifest, key, storage }
            if *manifest == record.id && key == "text" && storage == "nowhere"),
        "{error:?}"
    );
    assert_names(&error, &[&record.id.to_string(), "`text`", "`nowhere`"]);
    let report = lakery::verify(&registry, &t.db, &lakery::Query::new())
        .await
        .unwrap();
    let [problem] = report.problems.as_slice() else {
        panic!("one problem expected: {:?}", report.problems);
    };
    assert_eq!(problem.kind, lakery::ProblemKind::Unreadable);
    assert_eq!(
        (
            problem.manifest,
            problem.key.as_str(),
            problem.storage.as_str()
        ),
        (record.id, "text", "nowhere")
    );
    assert_names(
        &problem.error,
        &[&record.id.to_string(), "`text`", "`nowhere`"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn loading_as_the_wrong_type_names_both_class_ids() {
    common::each_backend(loading_as_the_wrong_type_names_both_class_ids_on).await;
}

async fn loading_as_the_wrong_type_names_both_class_ids_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("archive", MemoryStorage::new())
        .storage("files", MemoryStorage::new())
        .storable::<Experiment>()
        .storable::<Report>()
        .build()
        .unwrap();
    let record = lakery::save_one(&experiment(2), &registry, &t.db)
        .await
        .unwrap();
    let error = lakery::load_one::<Report>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::WrongClass { manifest, expected, found, .. }
            if *manifest == record.id && *expected == Report::CLASS_ID
                && *found == Experiment::CLASS_ID),
        "{error:?}"
    );
    assert_names(
        &error,
        &[
            &record.id.to_string(),
            &Experiment::CLASS_ID.to_string(),
            &Report::CLASS_ID.to_string(),
            "::Report`",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_stored_version_is_an_error_not_a_guess() {
    common::each_backend(a_newer_stored_version_is_an_error_not_a_guess_on).await;
}

async fn a_newer_stored_version_is_an_error_not_a_guess_on(t: TestDb) {
    #[derive(Storable, Debug, PartialEq)]
    #[storable(class_id = "0c0ffee0-1d2e-4f3a-8b5c-6d7e8f901234", version = 4)]
    struct ReportV4 {
        title: String,
    }
    #[derive(Storable, Debug, PartialEq)]
    #[storable(class_id = "0c0ffee0-1d2e-4f3a-8b5c-6d7e8f901234", version = 3)]
    struct ReportV3Body {
        title: String,
    }
    let registry = Registry::builder()
        .storable::<ReportV4>()
        .storable::<ReportV3Body>()
        .build()
        .unwrap();
    let record = lakery::save_one(
        &ReportV4 {
            title: "new".into(),
        },
        &registry,
        &t.db,
    )
    .await
    .unwrap();
    let error = lakery::load_one::<ReportV3Body>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::UnsupportedVersion {
                manifest,
                stored: 4,
                known,
                class_id,
                ..
            } if *manifest == record.id && known == &[3] && *class_id == ReportV3Body::CLASS_ID
        ),
        "{error:?}"
    );
    assert_names(
        &error,
        &[
            &record.id.to_string(),
            "version 4",
            "::ReportV3Body`",
            &ReportV3Body::CLASS_ID.to_string(),
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_manifest_and_unregistered_type_are_clear_errors() {
    common::each_backend(missing_manifest_and_unregistered_type_are_clear_errors_on).await;
}

async fn missing_manifest_and_unregistered_type_are_clear_errors_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("archive", MemoryStorage::new())
        .build()
        .unwrap();
    let error = lakery::save_one(&experiment(1), &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotRegistered { class_id, .. } if *class_id == Experiment::CLASS_ID),
        "{error:?}"
    );
    assert_names(
        &error,
        &[
            ".storable::<",
            "Experiment",
            &Experiment::CLASS_ID.to_string(),
        ],
    );

    let registry = Registry::builder()
        .storage("archive", MemoryStorage::new())
        .storable::<Experiment>()
        .build()
        .unwrap();
    let record = lakery::save_one(&experiment(1), &registry, &t.db)
        .await
        .unwrap();
    t.execute("DELETE FROM lakery_tags; DELETE FROM lakery_contents; DELETE FROM lakery_manifests")
        .await;
    let error = lakery::load_one::<Experiment>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ManifestNotFound(id) if id == record.id),
        "{error:?}"
    );
    assert_names(&error, &[&record.id.to_string(), "does not exist"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_reports_every_missing_storage_at_once() {
    let error = Registry::builder()
        .storable::<Experiment>()
        .storable::<Report>()
        .storage("database", MemoryStorage::new())
        .build()
        .unwrap_err();
    let Error::Registry(problems) = &error else {
        panic!("expected a registry error, got {error:?}")
    };
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let message = error.to_string();
    for needle in [
        "`results`",
        "storage `archive`",
        "`text`",
        "`attachment`",
        "storage `files`",
        "`database` is reserved",
    ] {
        assert!(message.contains(needle), "{needle} missing from: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_without_schema_says_to_migrate() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let Some(t) = TestDb::unmigrated(backend).await else {
            continue;
        };
        let registry = Registry::builder()
            .storage("archive", MemoryStorage::new())
            .storable::<Experiment>()
            .build()
            .unwrap();
        let error = lakery::save_one(&experiment(1), &registry, &t.db)
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::SchemaMissing(_)),
            "{backend:?}: {error:?}"
        );
        assert!(error.to_string().contains("migrate"), "{error}");
        // Migrating twice is a no-op.
        t.db.migrate().await.unwrap();
        t.db.migrate().await.unwrap();
        lakery::save_one(&experiment(1), &registry, &t.db)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_database_urls_and_tags_are_refused() {
    for url in ["mongodb://localhost/x", "lakery.db", "sqlite://"] {
        let error = lakery::Database::connect(url).await.unwrap_err();
        assert!(
            matches!(&error, Error::InvalidDatabaseUrl { url: named, .. } if named == url),
            "{url}: {error:?}"
        );
        assert_names(&error, &[&format!("`{url}`")]);
    }
    // Nothing listens on port 1: the error comes at once and hides the password.
    for url in [
        "postgres://lakery:hunter2@127.0.0.1:1/x",
        "mysql://lakery:hunter2@127.0.0.1:1/x",
    ] {
        let error = lakery::Database::connect(url).await.unwrap_err();
        assert!(matches!(error, Error::Connect { .. }), "{url}: {error:?}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert_names(&error, &["127.0.0.1:1"]);
    }
    common::each_backend(tags_are_checked_on).await;
}

async fn tags_are_checked_on(t: TestDb) {
    let registry = Registry::builder()
        .storage("archive", MemoryStorage::new())
        .storable::<Experiment>()
        .build()
        .unwrap();
    for (key, value) in [("", "v"), ("k", "line\nbreak")] {
        let error = lakery::save_one(&experiment(1), &registry, &t.db)
            .tags([(key, value)])
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidTag { key: named, .. } if named == key),
            "{error:?}"
        );
        assert_names(&error, &[&format!("{key:?}")]);
    }
}

/// A storable generic over the type of its samples.
#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7")]
struct Series<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    label: String,
    #[content(serializer = Bincode)]
    samples: Vec<T>,
}

#[tokio::test(flavor = "multi_thread")]
async fn generic_storables_round_trip_per_instantiation() {
    common::each_backend(generic_storables_round_trip_per_instantiation_on).await;
}

async fn generic_storables_round_trip_per_instantiation_on(t: TestDb) {
    let registry = Registry::builder()
        .storable::<Series<u16>>()
        .storable::<Series<String>>()
        .build();
    // Two instantiations share a class id and version: the registry refuses that.
    assert!(
        matches!(registry, Err(Error::Registry(ref p)) if p.len() == 1 && p[0].contains("both claim")),
        "{registry:?}"
    );

    let registry = Registry::builder()
        .storable::<Series<u16>>()
        .build()
        .unwrap();
    let series = Series {
        label: "ticks".into(),
        samples: vec![1u16, 2, 65535],
    };
    let record = lakery::save_one(&series, &registry, &t.db).await.unwrap();
    let back: Series<u16> = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(back, series);
}

/// Version 2 of a decimal-text serializer that still reads what version 1 wrote.
struct Decimal;

impl lakery::serializer::Serializer<u64> for Decimal {
    fn name(&self) -> &str {
        "example.decimal@v2"
    }
    fn content_type(&self) -> &str {
        "text/plain; charset=utf-8"
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "radix": 10 }))
    }
    fn can_read(&self, stored_name: &str) -> bool {
        matches!(stored_name, "example.decimal@v1" | "example.decimal@v2")
    }
    fn serialize(&self, value: &u64) -> Result<bytes::Bytes, lakery::serializer::SerializerError> {
        Ok(value.to_string().into())
    }
    fn deserialize(
        &self,
        bytes: bytes::Bytes,
        stored: &lakery::serializer::Stored<'_>,
    ) -> Result<u64, lakery::serializer::SerializerError> {
        let text = std::str::from_utf8(&bytes)?;
        // Version 1 wrote a trailing newline.
        let text = if stored.serializer_name.ends_with("@v1") {
            text.trim_end()
        } else {
            text
        };
        Ok(text.parse()?)
    }
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "4f5a6b7c-8d9e-4fa0-b1c2-d3e4f5a6b7c8")]
struct Counter {
    #[content(serializer = Decimal)]
    count: u64,
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_serializer_names_are_checked_and_old_versions_read() {
    common::each_backend(stored_serializer_names_are_checked_and_old_versions_read_on).await;
}

async fn stored_serializer_names_are_checked_and_old_versions_read_on(t: TestDb) {
    let registry = Registry::builder().storable::<Counter>().build().unwrap();
    let record = lakery::save_one(&Counter { count: 42 }, &registry, &t.db)
        .await
        .unwrap();
    let content = &t.db.contents(record.id).await.unwrap()[0];
    assert_eq!(content.serializer_name, "example.decimal@v2");
    assert_eq!(
        content.serializer_config,
        Some(serde_json::json!({ "radix": 10 }))
    );
    assert_eq!(
        lakery::load_one::<Counter>(&record, &registry, &t.db)
            .await
            .unwrap(),
        Counter { count: 42 }
    );

    // Rewrite the row as version 1 would have written it.
    let v1 = b"7\n";
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(v1));
    t.execute(&format!(
        "UPDATE lakery_contents SET serializer_name = 'example.decimal@v1', data = {}, hash = '{hash}', size = 2",
        t.blob(v1)
    ))
    .await;
    assert_eq!(
        lakery::load_one::<Counter>(&record, &registry, &t.db)
            .await
            .unwrap(),
        Counter { count: 7 }
    );

    // A name the field's serializer does not accept is refused before deserializing.
    t.execute("UPDATE lakery_contents SET serializer_name = 'someone.else@v1'")
        .await;
    let error = lakery::load_one::<Counter>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::SerializerMismatch { manifest, key, stored, expected }
            if *manifest == record.id && key == "count" && stored == "someone.else@v1"
                && expected == "example.decimal@v2"),
        "{error:?}"
    );
    assert_names(
        &error,
        &[
            &record.id.to_string(),
            "`count`",
            "`someone.else@v1`",
            "`example.decimal@v2`",
        ],
    );
}
