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
    let message = error.to_string();
    assert!(
        message.contains(&record.id.to_string())
            && message.contains("`text`")
            && message.contains("corrupt"),
        "{message}"
    );
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
        matches!(&error, Error::HashMismatch { key, storage, .. } if key == "body" && storage == "database"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_config_reaching_outside_the_root_is_refused() {
    common::each_backend(a_storage_config_reaching_outside_the_root_is_refused_on).await;
}

async fn a_storage_config_reaching_outside_the_root_is_refused_on(t: TestDb) {
    let files = FileStorage::new(t.path("files")).unwrap();
    let registry = Registry::builder()
        .storage("files", files)
        .storable::<Report>()
        .build()
        .unwrap();
    let report = Report {
        title: "t".into(),
        text: "x".into(),
        attachment: vec![],
        cached_len: 0,
    };
    let record = lakery::save_one(&report, &registry, &t.db).await.unwrap();
    std::fs::write(t.path("secret"), b"outside").unwrap();
    // A symlink planted where a content would be, pointing out of the root.
    let planted = format!("ab/ab{}", "0".repeat(62));
    std::fs::create_dir_all(t.path("files/ab")).unwrap();
    std::os::unix::fs::symlink(t.path("secret"), t.path("files").join(&planted)).unwrap();
    let symlink = format!(r#"{{"path":"{planted}"}}"#);

    for config in [
        r#"{"path":"../secret"}"#,
        r#"{"path":"/etc/passwd"}"#,
        r#"{"path":"..%2fsecret"}"#,
        r#"{"path":"ab/..%2F..%2Fsecret"}"#,
        r#"{"path":"ab/./../../secret"}"#,
        r#"{"path":"\u0001ab/secret"}"#,
        r#"{"path":""}"#,
        r#"{"path":17}"#,
        r#"{}"#,
        &symlink,
    ] {
        t.execute(&format!(
            "UPDATE lakery_contents SET storage_config = '{config}' WHERE content_key = 'text'"
        ))
        .await;
        let error = lakery::load_one::<Report>(&record, &registry, &t.db)
            .await
            .unwrap_err();
        match &error {
            Error::Storage {
                operation: "read",
                storage,
                key,
                source,
                ..
            } => {
                assert_eq!((storage.as_str(), key.as_str()), ("files", "text"));
                assert_eq!(
                    source.kind(),
                    lakery::storage::StorageErrorKind::InvalidConfig,
                    "{error}"
                );
            }
            other => panic!("expected a refused storage config for {config}, got {other:?}"),
        }
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
    assert!(error.to_string().contains("`nowhere`"), "{error}");
    let report = lakery::verify(&registry, &t.db, &lakery::Query::new())
        .await
        .unwrap();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].kind, lakery::ProblemKind::Unreadable);
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
    assert!(matches!(error, Error::WrongClass { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&Experiment::CLASS_ID.to_string()),
        "{message}"
    );
    assert!(message.contains(&Report::CLASS_ID.to_string()), "{message}");
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
            error,
            Error::UnsupportedVersion {
                stored: 4,
                ref known,
                ..
            } if known == &[3]
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("version 4"), "{error}");
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
    assert!(matches!(error, Error::NotRegistered { .. }), "{error:?}");
    assert!(error.to_string().contains(".storable::<"), "{error}");

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
            matches!(error, Error::InvalidDatabaseUrl { .. }),
            "{url}: {error:?}"
        );
    }
    // Nothing listens on port 1: the error comes at once and hides the password.
    for url in [
        "postgres://lakery:hunter2@127.0.0.1:1/x",
        "mysql://lakery:hunter2@127.0.0.1:1/x",
    ] {
        let error = lakery::Database::connect(url).await.unwrap_err();
        assert!(matches!(error, Error::Connect { .. }), "{url}: {error:?}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
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
        assert!(matches!(error, Error::InvalidTag { .. }), "{error:?}");
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
        matches!(&error, Error::SerializerMismatch { key, stored, expected, .. }
            if key == "count" && stored == "someone.else@v1" && expected == "example.decimal@v2"),
        "{error:?}"
    );
}
