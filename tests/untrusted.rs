//! What lakery reads is untrusted: a bad row is a problem about that row, a blob is read
//! only as far as its record says, a compressed content is undone within a bound, a
//! query's size is capped, and read-only tools open storages and databases without
//! changing them. Each test here failed (or hung, or aborted) before its fix.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{each_backend, TestDb};
use futures::StreamExt;
use lakery::serializer::RawBytes;
use lakery::{Backend, Database, Error, FileStorage, ManifestId, Query, Registry, Storable};

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "8a3c1f52-7d4e-4b9a-a1c6-2e5f0d9b7c31")]
struct Note {
    text: String,
}

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "5d2e8b17-3c4a-4f6e-9b21-7a0c5e8d4f62")]
struct Blob {
    #[content(serializer = RawBytes, storage = "files")]
    data: Bytes,
    #[content(serializer = RawBytes, storage = "files", encoding = "zstd")]
    packed: Bytes,
}

fn notes_registry() -> Registry {
    Registry::builder().storable::<Note>().build().unwrap()
}

async fn save_note(t: &TestDb, registry: &Registry, text: &str) -> lakery::ManifestRecord {
    let note = Note { text: text.into() };
    lakery::save_one(&note, registry, &t.db).await.unwrap()
}

fn blob_registry(t: &TestDb, limit: Option<u64>) -> Registry {
    let builder = Registry::builder()
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Blob>();
    match limit {
        Some(limit) => builder.max_decoded_size(limit),
        None => builder,
    }
    .build()
    .unwrap()
}

fn blob(packed_len: usize) -> Blob {
    Blob {
        data: Bytes::from_static(b"the data"),
        packed: Bytes::from(vec![0u8; packed_len]),
    }
}

/// The file a content of `record` is kept in, from its recorded config.
async fn blob_path(t: &TestDb, id: ManifestId, key: &str) -> std::path::PathBuf {
    let contents = t.db.contents(id).await.unwrap();
    let content = contents.iter().find(|c| c.key == key).unwrap();
    t.path("files")
        .join(content.storage_config["path"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_manifest_row_is_reported_by_its_id_and_the_others_still_read() {
    each_backend(a_bad_manifest_row_is_reported_on).await;
}

async fn a_bad_manifest_row_is_reported_on(t: TestDb) {
    let registry = notes_registry();
    let mut ids = Vec::new();
    for i in 0..5 {
        let note = Note {
            text: format!("note {i}"),
        };
        let record = lakery::save_one(&note, &registry, &t.db)
            .tags([("kind", "note")])
            .await
            .unwrap();
        ids.push(record.id);
    }
    let quoted = |id: &ManifestId| format!("'{id}'");
    // Each backend's column types allow different damage.
    let damage: Vec<(ManifestId, &str)> = match t.backend() {
        Backend::Sqlite => vec![
            (ids[1], "created_at = 'yesterday'"),
            (ids[2], "class_id = 'not a uuid'"),
            (ids[3], "tags = '[1, 2]'"),
        ],
        Backend::Postgres => vec![
            (ids[1], "class_version = -1"),
            (ids[3], "tags = '[1, 2]'::jsonb"),
        ],
        _ => vec![
            (ids[1], "class_version = -1"),
            (ids[2], "class_id = 'not a uuid'"),
            (ids[3], "tags = '[1, 2]'"),
        ],
    };
    for (id, set) in &damage {
        t.execute(&format!(
            "UPDATE lakery_manifests SET {set} WHERE id = {}",
            quoted(id)
        ))
        .await;
    }
    let bad: Vec<String> = damage.iter().map(|(id, _)| id.to_string()).collect();

    for query in [
        Query::new(),
        Query::new().tag("kind", "note"),
        Query::new().limit(2),
    ] {
        let mut query = query;
        let (mut records, mut unreadable) = (Vec::new(), Vec::new());
        loop {
            let page = t.db.find(&query).await.unwrap();
            records.extend(page.records.into_iter().map(|r| r.id));
            unreadable.extend(page.unreadable);
            match page.next {
                Some(cursor) => query = query.after(cursor),
                None => break,
            }
        }
        let listed: Vec<&str> = unreadable.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(listed, bad, "{query:?}: the bad rows, by id, in order");
        assert_eq!(records.len(), 5 - bad.len(), "{query:?}: the others");
        for problem in &unreadable {
            assert!(!problem.reason.is_empty());
        }
    }

    for (id, set) in &damage {
        match t.db.manifest(*id).await {
            Err(error @ Error::CorruptRecord { .. }) => {
                assert!(
                    error.to_string().contains(&id.to_string()),
                    "{set}: {error}"
                )
            }
            other => panic!("{set}: the manifest of a bad row: {other:?}"),
        }
    }

    // The loader fails the values whose class it cannot read, each by its id, and
    // loads the others (their time and tags are not what loading reads).
    let mut loader = lakery::Loader::new(&registry, &t.db);
    for id in &ids {
        loader.load_soon::<Note>(*id);
    }
    let unloadable: Vec<usize> = damage
        .iter()
        .filter(|(_, set)| set.starts_with("class"))
        .map(|(id, _)| ids.iter().position(|i| i == id).unwrap())
        .collect();
    match loader.finish().await {
        Err(Error::Batch { failures, .. }) => {
            let failed: Vec<usize> = failures.iter().map(|f| f.index).collect();
            assert_eq!(failed, unloadable);
            for failure in &failures {
                let named = ids[failure.index].to_string();
                assert!(
                    failure.error.to_string().contains(&named),
                    "{}",
                    failure.error
                );
            }
        }
        other => panic!("loading bad rows: {other:?}"),
    }

    // `verify` names them too, and checks their contents all the same.
    let report = lakery::verify(&registry, &t.db, &Query::new())
        .await
        .unwrap();
    let listed: Vec<&str> = report.unreadable.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(listed, bad);
    assert!(!report.is_ok() && report.problems.is_empty());
    assert_eq!((report.manifests, report.contents), (5, 5));

    // Each bad row can be removed as any other.
    let bad_ids: Vec<ManifestId> = damage.iter().map(|(id, _)| *id).collect();
    assert_eq!(t.db.delete(&bad_ids).await.unwrap(), bad_ids.len());
    let page = t.db.find(&Query::new()).await.unwrap();
    assert!(page.unreadable.is_empty());
    assert_eq!(page.records.len(), 5 - bad_ids.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_whose_id_is_not_a_uuid_is_listed_by_what_it_holds() {
    let t = TestDb::sqlite().await;
    let registry = notes_registry();
    let record = lakery::save_one(&Note { text: "a".into() }, &registry, &t.db)
        .await
        .unwrap();
    t.execute(&format!(
        "INSERT INTO lakery_manifests (id, class_id, class_version, tags, created_at) \
         VALUES ('not-an-id', '{}', 1, '{{}}', '2026-01-01 00:00:00.000000')",
        record.class_id
    ))
    .await;
    let page = t.db.find(&Query::new()).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.unreadable.len(), 1);
    assert_eq!(page.unreadable[0].id, "not-an-id");
    assert!(
        page.unreadable[0].reason.contains("UUID"),
        "{:?}",
        page.unreadable
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_take_up_to_the_cap_of_tags_in_one_flat_predicate() {
    each_backend(queries_take_up_to_the_cap_of_tags_on).await;
}

async fn queries_take_up_to_the_cap_of_tags_on(t: TestDb) {
    let registry = notes_registry();
    let tags: Vec<(String, String)> = (0..Query::MAX_TAGS)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    let tagged = lakery::save_one(&Note { text: "all".into() }, &registry, &t.db)
        .tags(tags.clone())
        .await
        .unwrap()
        .id;
    let partly = lakery::save_one(&Note { text: "one".into() }, &registry, &t.db)
        .tags([("k0", "v0")])
        .await
        .unwrap()
        .id;

    let all = tags
        .iter()
        .fold(Query::new(), |q, (k, v)| q.tag(k.as_str(), v.as_str()));
    let found = t.db.find(&all).await.unwrap();
    assert_eq!(
        found.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        [tagged]
    );

    // The same tag twice is the tag once; one key with two values matches nothing.
    let twice = Query::new().tag("k0", "v0").tag("k0", "v0");
    let found = t.db.find(&twice).await.unwrap();
    assert_eq!(
        found.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        [tagged, partly]
    );
    let both = Query::new().tag("k0", "v0").tag("k0", "other");
    assert!(t.db.find(&both).await.unwrap().records.is_empty());

    // Past the cap, and far past it, the query is refused before the database sees it.
    for count in [Query::MAX_TAGS + 1, 5000] {
        let query = (0..count).fold(Query::new(), |q, i| q.tag(format!("k{i}"), "v"));
        let started = Instant::now();
        match t.db.find(&query).await {
            Err(Error::InvalidQuery(message)) => {
                assert!(message.contains(&Query::MAX_TAGS.to_string()), "{message}")
            }
            other => panic!("{count} tags: {other:?}"),
        }
        match t.db.delete_where(&query).await {
            Err(Error::InvalidQuery(_)) => {}
            other => panic!("{count} tags, deleting: {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_blob_is_missing_by_manifest_key_and_storage_not_by_path() {
    let t = TestDb::sqlite().await;
    let registry = blob_registry(&t, None);
    let record = lakery::save_one(&blob(10), &registry, &t.db).await.unwrap();
    let path = blob_path(&t, record.id, "data").await;
    std::fs::remove_file(&path).unwrap();

    let errors = [
        lakery::load_one::<Blob>(&record, &registry, &t.db)
            .await
            .unwrap_err(),
        lakery::read_content(&registry, &t.db, record.id, "data")
            .await
            .unwrap_err(),
        lakery::stream_content(&registry, &t.db, record.id, "data")
            .await
            .unwrap()
            .into_stream(true)
            .next()
            .await
            .unwrap()
            .unwrap_err(),
    ];
    for error in errors {
        let Error::BlobMissing {
            manifest,
            key,
            storage,
        } = &error
        else {
            panic!("not a missing blob: {error}");
        };
        assert_eq!(
            (manifest, &key[..], &storage[..]),
            (&record.id, "data", "files")
        );
        let message = error.to_string();
        assert!(message.contains("missing"), "{message}");
        assert!(
            !message.contains(&*t.dir.path().to_string_lossy()),
            "no path of the machine: {message}"
        );
    }
    let report = lakery::verify(&registry, &t.db, &Query::new())
        .await
        .unwrap();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].kind, lakery::ProblemKind::Missing);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_grown_past_its_record_is_read_only_one_byte_past_it() {
    let t = TestDb::sqlite().await;
    let registry = blob_registry(&t, None);
    let record = lakery::save_one(&blob(10), &registry, &t.db).await.unwrap();
    // A sparse file that claims 64 GiB: reading it whole aborted the process.
    let path = blob_path(&t, record.id, "data").await;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    for error in [
        lakery::load_one::<Blob>(&record, &registry, &t.db)
            .await
            .unwrap_err(),
        lakery::read_content(&registry, &t.db, record.id, "data")
            .await
            .unwrap_err(),
    ] {
        let Error::HashMismatch { mismatch, key, .. } = &error else {
            panic!("not a mismatch: {error}");
        };
        assert_eq!(key, "data");
        assert_eq!(mismatch.expected_size, 8);
        assert_eq!(mismatch.actual_size, 9, "one byte past the record, no more");
    }
    // The stream stops there too.
    let mut chunks = lakery::stream_content(&registry, &t.db, record.id, "data")
        .await
        .unwrap()
        .into_stream(false);
    let mut read = 0;
    let mut last = None;
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(chunk) => read += chunk.len(),
            Err(error) => last = Some(error),
        }
    }
    assert!(read <= 9, "{read} bytes handed out");
    assert!(matches!(last, Some(Error::HashMismatch { .. })), "{last:?}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_in_place_of_a_blob_is_refused_without_waiting() {
    let t = TestDb::sqlite().await;
    let registry = blob_registry(&t, None);
    let record = lakery::save_one(&blob(10), &registry, &t.db).await.unwrap();
    let path = blob_path(&t, record.id, "data").await;
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a FIFO for reading waits for a writer: the load hung forever.
    let loaded = tokio::time::timeout(
        Duration::from_secs(20),
        lakery::load_one::<Blob>(&record, &registry, &t.db),
    )
    .await
    .expect("the load returns");
    let error = loaded.unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compressed_content_is_undone_only_up_to_the_registry_limit() {
    let t = TestDb::sqlite().await;
    let record = lakery::save_one(&blob(8 << 20), &blob_registry(&t, None), &t.db)
        .await
        .unwrap();
    // 8 MiB of zeros are a few hundred bytes of zstd, which the row records.
    let limited = blob_registry(&t, Some(1 << 20));
    let error = lakery::load_one::<Blob>(&record, &limited, &t.db)
        .await
        .unwrap_err();
    let Error::TooLarge {
        manifest,
        key,
        storage,
        limit,
    } = &error
    else {
        panic!("not too large: {error}");
    };
    assert_eq!(
        (manifest, &key[..], &storage[..], *limit),
        (&record.id, "packed", "files", 1 << 20)
    );
    let stored = lakery::read_content(&limited, &t.db, record.id, "packed")
        .await
        .unwrap();
    assert!(matches!(stored.decoded(), Err(Error::TooLarge { .. })));
    let (head, more) = stored.decoded_up_to(100).unwrap();
    assert_eq!((head.len(), more), (100, true));

    // Within the limit it loads; the default limit is far above.
    let loaded = lakery::load_one::<Blob>(&record, &blob_registry(&t, None), &t.db)
        .await
        .unwrap();
    assert_eq!(loaded.packed.len(), 8 << 20);

    // As a stream it needs no limit: every piece is bounded, whatever the total.
    let content = lakery::stream_content(&limited, &t.db, record.id, "packed")
        .await
        .unwrap();
    assert_eq!(content.encoding(), Some(lakery::Encoding::Zstd));
    assert!(content.size() < 64 << 10);
    let mut chunks = content.into_stream(true);
    let mut total = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.len() <= 256 << 10, "a piece of {} bytes", chunk.len());
        assert!(chunk.iter().all(|&b| b == 0));
        total += chunk.len();
    }
    assert_eq!(total, 8 << 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_opening_creates_and_changes_nothing_and_fails_at_once() {
    let t = TestDb::sqlite().await;
    let missing = t.path("no-such-folder");
    let error = FileStorage::read_only(&missing).unwrap_err();
    assert!(error.to_string().contains("no-such-folder"), "{error}");
    assert!(!missing.exists(), "nothing was created");

    let root = t.path("files");
    std::fs::create_dir(&root).unwrap();
    let storage = FileStorage::read_only(&root).unwrap();
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        0,
        "no lock file or anything else"
    );
    let registry = Registry::builder()
        .storage("files", storage)
        .storable::<Blob>()
        .build()
        .unwrap();
    let error = lakery::save_one(&blob(1), &registry, &t.db)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("read-only"), "{error}");

    // A database file that is not there, or whose folder is not, fails now, not after
    // the pool's 30 s of retries; a read-only open creates no file.
    for (url, read_only) in [
        (format!("sqlite://{}/x.db", missing.display()), false),
        (format!("sqlite://{}/x.db", missing.display()), true),
        (format!("sqlite://{}", t.path("typo.db").display()), true),
    ] {
        let started = Instant::now();
        let result = if read_only {
            Database::connect_read_only(&url).await
        } else {
            Database::connect(&url).await
        };
        let error = result.unwrap_err();
        assert!(
            error.to_string().contains("does not exist"),
            "{url}: {error}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{url}");
    }
    assert!(!t.path("typo.db").exists());

    // A read-only open of a real database reads, refuses writes, and leaves the file
    // as it was.
    let registry = notes_registry();
    let record = save_note(&t, &registry, "kept").await;
    let file = std::path::PathBuf::from(t.db.url().trim_start_matches("sqlite://"));
    let before = std::fs::read(&file).unwrap();
    let db = Database::connect_read_only(t.db.url()).await.unwrap();
    let loaded = lakery::load_one::<Note>(&record, &registry, &db)
        .await
        .unwrap();
    assert_eq!(loaded.text, "kept");
    assert!(lakery::save_one(&loaded, &registry, &db).await.is_err());
    assert!(db.delete(&[record.id]).await.is_err());
    drop(db);
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_server_session_refuses_writes() {
    each_backend(a_read_only_server_session_refuses_writes_on).await;
}

async fn a_read_only_server_session_refuses_writes_on(t: TestDb) {
    if t.backend() == Backend::Sqlite {
        return;
    }
    let registry = notes_registry();
    let record = save_note(&t, &registry, "kept").await;
    let db = Database::connect_read_only(t.db.url()).await.unwrap();
    assert_eq!(db.find(&Query::new()).await.unwrap().records.len(), 1);
    assert!(
        lakery::save_one(&Note { text: "no".into() }, &registry, &db)
            .await
            .is_err()
    );
    assert!(db.delete(&[record.id]).await.is_err());
    assert_eq!(t.db.find(&Query::new()).await.unwrap().records.len(), 1);
}
