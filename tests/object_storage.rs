//! `ObjectStorage` over `object_store`: in memory, in a local folder, and over HTTP
//! against a local S3 server (moto, started by `.ci/s3 start`, which prints the
//! `LAKERY_TEST_S3_*` variables these tests read) and a local Azure Blob Storage
//! emulator (Azurite, `.ci/azure start`, `LAKERY_TEST_AZURE_*`). Outside CI those tests
//! skip with a notice when their variables are not set; with `CI=true` they fail.

mod common;

use std::io::Write as _;

use bytes::Bytes;
use common::TestDb;
use futures::TryStreamExt;
use lakery::serializer::{JsonLines, RawBytes, RawChunks};
use lakery::storage::object_store::{self, ObjectStore, ObjectStoreExt};
use lakery::storage::{StorageErrorKind, TagMode};
use lakery::testing::check_storage;
use lakery::{ContentStream, Error, ObjectStorage, Registry, Storable};

/// The local S3 server, as `.ci/s3 start` describes it.
struct S3 {
    endpoint: String,
    bucket: String,
    key_id: String,
    secret: String,
}

/// The variables `names`, or `None` (with a notice) outside CI when one is not set.
fn configured<const N: usize>(what: &str, names: [&str; N], start: &str) -> Option<[String; N]> {
    let values = names.map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    if values.iter().all(Option::is_some) {
        return Some(values.map(Option::unwrap_or_default));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true but {names:?} are not set: start the {what} with `eval \"$({start})\"`");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {what} tests: {names:?} are not set; run `eval \"$({start})\"` first \
         (CI=true makes this a failure)"
    );
    None
}

/// The server, or `None` (with a notice) outside CI when it is not configured.
fn s3() -> Option<S3> {
    let [endpoint, bucket, key_id, secret] = configured(
        "S3 server",
        [
            "LAKERY_TEST_S3_ENDPOINT",
            "LAKERY_TEST_S3_BUCKET",
            "LAKERY_TEST_S3_ACCESS_KEY_ID",
            "LAKERY_TEST_S3_SECRET_ACCESS_KEY",
        ],
        ".ci/s3 start",
    )?;
    Some(S3 {
        endpoint,
        bucket,
        key_id,
        secret,
    })
}

impl S3 {
    /// A storage under a prefix of its own, so that tests running at once do not meet.
    fn storage(&self, prefix: &str) -> ObjectStorage {
        self.storage_with_secret(prefix, &self.secret)
    }

    fn storage_with_secret(&self, prefix: &str, secret: &str) -> ObjectStorage {
        ObjectStorage::from_url_opts(
            &format!("s3://{}/{prefix}", self.bucket),
            [
                ("aws_endpoint", self.endpoint.as_str()),
                ("aws_allow_http", "true"),
                ("aws_region", "us-east-1"),
                ("aws_access_key_id", self.key_id.as_str()),
                ("aws_secret_access_key", secret),
            ],
        )
        .unwrap()
        .with_part_size(5 << 20)
    }

    /// The tags of an object, read with curl's SigV4 signing (object_store cannot).
    fn tags(&self, key: &str) -> String {
        let output = std::process::Command::new("curl")
            .args(["-sf", "--aws-sigv4", "aws:amz:us-east-1:s3"])
            .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--user"])
            .arg(format!("{}:{}", self.key_id, self.secret))
            // `tagging=`: curl signs a bare `tagging` differently from how S3 reads it.
            .arg(format!("{}/{}/{key}?tagging=", self.endpoint, self.bucket))
            .output()
            .expect("curl runs");
        assert!(output.status.success(), "curl failed: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }
}

/// The keys of every object under `prefix`.
async fn keys(storage: &ObjectStorage, prefix: &str) -> Vec<String> {
    let prefix = object_store::path::Path::from(prefix);
    let mut keys: Vec<String> = storage
        .store()
        .list(Some(&prefix))
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

fn unique_prefix(test: &str) -> String {
    format!("{test}-{}", uuid::Uuid::new_v4())
}

#[tokio::test(flavor = "multi_thread")]
async fn object_storages_pass_the_conformance_kit() {
    let memory = ObjectStorage::new(object_store::memory::InMemory::new(), "lakery").unwrap();
    check_storage(&memory).await.unwrap();
    let from_url = ObjectStorage::from_url("memory:///some/prefix").unwrap();
    check_storage(&from_url).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let local =
        ObjectStorage::from_url(&format!("file://{}/objects", dir.path().display())).unwrap();
    std::fs::create_dir_all(dir.path().join("objects")).unwrap();
    check_storage(&local).await.unwrap();

    if let Some(s3) = s3() {
        // Spooled to the system's temporary folder, to a folder of its own, and not
        // spooled but uploaded under a temporary key.
        check_storage(&s3.storage(&unique_prefix("kit")))
            .await
            .unwrap();
        let spool = tempfile::tempdir().unwrap();
        let spooled = s3
            .storage(&unique_prefix("kit-spooled"))
            .with_spool_dir(spool.path());
        check_storage(&spooled).await.unwrap();
        let unspooled = s3.storage(&unique_prefix("kit-temp-key")).without_spool();
        check_storage(&unspooled).await.unwrap();
    }
}

/// A name of the content layout (`<2 hex>/<64 hex>`) under the folder `prefix`.
fn blob_name(prefix: &str) -> String {
    format!("{prefix}{}", "0".repeat(62))
}

/// `relative` under `prefix`, as a key of the store.
fn under(prefix: &str, relative: &str) -> String {
    if prefix.is_empty() {
        relative.to_owned()
    } else {
        format!("{prefix}/{relative}")
    }
}

/// Objects planted in `storage`'s store around its prefix `prefix` (a key of the store,
/// `""` for its root), which no config may reach: beside the prefix, in a sibling
/// prefix that starts with the same letters, and under the prefix but not a content (an
/// upload in progress, another program's object). Returns their keys.
async fn plant_objects(storage: &ObjectStorage, prefix: &str) -> Vec<String> {
    let mut planted = vec![
        under(prefix, ".lakery-tmp/planted"),
        under(prefix, "notes.txt"),
    ];
    if !prefix.is_empty() {
        planted.push(format!("{prefix}-sibling/ab/{}", blob_name("ab")));
        let parent = prefix.rsplit_once('/').map_or("", |(parent, _)| parent);
        planted.push(under(parent, &format!("secret-{}", uuid::Uuid::new_v4())));
    }
    for key in &planted {
        let path = object_store::path::Path::from(key.as_str());
        let data = Bytes::from(key.clone().into_bytes());
        storage.store().put(&path, data.into()).await.unwrap();
    }
    planted
}

/// Fails unless every planted object is still there, holding its own key.
async fn assert_objects_untouched(storage: &ObjectStorage, planted: &[String]) {
    for key in planted {
        let path = object_store::path::Path::from(key.as_str());
        let got = storage.store().get(&path).await;
        let held = match got {
            Ok(got) => got.bytes().await.unwrap(),
            Err(e) => panic!("planted object {key} is gone: {e}"),
        };
        assert_eq!(held, key.as_bytes(), "planted object {key} was changed");
    }
}

/// Configs a tampered row could hold for an object storage whose prefix is `prefix`:
/// each names an object outside the prefix, something under it that is not a content,
/// or is malformed.
fn hostile_object_configs(prefix: &str) -> Vec<serde_json::Value> {
    use serde_json::json;
    let ab = blob_name("ab");
    let last = prefix.rsplit('/').next().unwrap_or_default();
    let mut configs = vec![
        // Up and out, plainly, dotted or encoded.
        json!({ "key": "../secret" }),
        json!({ "key": "ab/../../secret" }),
        json!({ "key": format!("../{last}-sibling/ab/{ab}") }),
        json!({ "key": format!("./ab/{ab}") }),
        json!({ "key": format!("ab/./{ab}") }),
        json!({ "key": "%2E%2E/secret" }),
        json!({ "key": "..%2Fsecret" }),
        json!({ "key": format!("ab%2F{ab}") }),
        json!({ "key": format!("ab\\{ab}") }),
        // From the store's root rather than the prefix.
        json!({ "key": "/secret" }),
        json!({ "key": format!("/ab/{ab}") }),
        json!({ "key": format!("s3://lakery-test/ab/{ab}") }),
        // Under the prefix, but not a content.
        json!({ "key": ".lakery-tmp/planted" }),
        json!({ "key": "notes.txt" }),
        json!({ "key": "ab" }),
        json!({ "key": "ab/" }),
        json!({ "key": format!("ab/{ab}/") }),
        json!({ "key": format!("ab//{ab}") }),
        json!({ "key": "" }),
        // Control characters.
        json!({ "key": format!("ab/{ab}\n") }),
        json!({ "key": format!("\u{1}ab/{ab}") }),
        // Malformed shapes.
        json!({ "key": 17 }),
        json!({ "key": null }),
        json!({ "key": ["ab", ab] }),
        json!({ "path": format!("ab/{ab}") }),
        json!({}),
        json!([]),
        json!(null),
        json!(format!("ab/{ab}")),
    ];
    if !prefix.is_empty() {
        // The prefix twice: a content's key as the store names it.
        configs.push(json!({ "key": under(prefix, &format!("ab/{ab}")) }));
    }
    configs
}

/// Runs every operation that takes a config on each of `configs`, and fails unless all
/// are refused as invalid configs.
async fn assert_every_operation_refuses(
    what: &str,
    storage: &ObjectStorage,
    configs: &[serde_json::Value],
) {
    use lakery::Storage;

    for config in configs {
        let refused =
            |operation: &str, result: Result<String, lakery::storage::StorageError>| match result {
                Err(error) => {
                    assert_eq!(
                        error.kind(),
                        StorageErrorKind::InvalidConfig,
                        "{what}: {operation} {config}: {error}"
                    );
                    assert!(
                        error.to_string().contains(&config.to_string()),
                        "{what}: {operation} {config}: the error quotes the config: {error}"
                    );
                }
                Ok(outcome) => panic!("{what}: {operation} {config} was not refused: {outcome}"),
            };
        refused("read", storage.read(config).await.map(|b| format!("{b:?}")));
        let stream = match storage.read_stream(config).await {
            Ok(stream) => stream
                .try_collect::<Vec<_>>()
                .await
                .map(|b| format!("{b:?}")),
            Err(e) => Err(e),
        };
        refused("read_stream", stream);
        let range = storage.read_range(config, 0..3).await;
        refused("read_range", range.map(|b| format!("{b:?}")));
        refused(
            "exists",
            storage.exists(config).await.map(|e| e.to_string()),
        );
        let deleted = storage.delete(config).await;
        refused("delete", deleted.map(|()| "deleted".to_owned()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_reaching_outside_the_prefix_is_refused() {
    // In memory, under a prefix and at the store's root.
    for prefix in ["lakery/objects", ""] {
        let memory = ObjectStorage::new(object_store::memory::InMemory::new(), prefix).unwrap();
        let planted = plant_objects(&memory, prefix).await;
        let configs = hostile_object_configs(prefix);
        assert_every_operation_refuses(&format!("memory at {prefix:?}"), &memory, &configs).await;
        assert_objects_untouched(&memory, &planted).await;
    }

    // A local folder, whose store is the whole file system: its prefix is the folder's
    // path. A two-hex folder planted under it as a symlink leads outside.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("objects");
    std::fs::create_dir_all(&root).unwrap();
    let local = ObjectStorage::from_url(&format!("file://{}", root.display())).unwrap();
    let prefix = root
        .display()
        .to_string()
        .trim_start_matches('/')
        .to_owned();
    let planted = plant_objects(&local, &prefix).await;
    let outside = dir.path().join("outside-cd");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join(blob_name("cd")), b"outside blob").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("cd")).unwrap();
    let mut configs = hostile_object_configs(&prefix);
    configs.push(serde_json::json!({ "key": format!("cd/{}", blob_name("cd")) }));
    assert_every_operation_refuses("a local folder", &local, &configs).await;
    assert_objects_untouched(&local, &planted).await;
    assert_eq!(
        std::fs::read(outside.join(blob_name("cd"))).unwrap(),
        b"outside blob"
    );

    if let Some(s3) = s3() {
        let prefix = unique_prefix("escape");
        let storage = s3.storage(&prefix);
        let planted = plant_objects(&storage, &prefix).await;
        assert_every_operation_refuses("S3", &storage, &hostile_object_configs(&prefix)).await;
        assert_objects_untouched(&storage, &planted).await;
    }
}

#[derive(Storable, Debug)]
#[storable(class_id = "7c1d9e2f-3a4b-4c5d-8e6f-a7b8c9d0e1f2")]
struct Upload {
    name: String,
    #[content(serializer = RawBytes, storage = "s3")]
    blob: Vec<u8>,
    #[content(serializer = RawChunks, storage = "s3")]
    capture: ContentStream<Bytes>,
    #[content(serializer = JsonLines, storage = "s3", tags(kind = "log"))]
    log: ContentStream<String>,
}

/// 1 MiB chunks, numbered in their first bytes.
fn chunks(n: u64) -> impl Iterator<Item = Bytes> {
    (0..n).map(|i| {
        let mut chunk = vec![(i % 251) as u8; 1 << 20];
        chunk[..8].copy_from_slice(&i.to_le_bytes());
        Bytes::from(chunk)
    })
}

fn upload(name: &str, capture_mib: u64) -> Upload {
    Upload {
        name: name.to_owned(),
        blob: (0..100_000u32).map(|i| (i % 256) as u8).collect(),
        capture: ContentStream::from_iter(chunks(capture_mib)),
        log: ContentStream::from_iter((0..1000).map(|i| format!("line {i}"))),
    }
}

/// An upload whose capture fails after 12 MiB, once its upload in parts has begun.
fn failing_upload() -> Upload {
    let failing = futures::stream::iter(chunks(20).enumerate().map(|(i, chunk)| {
        if i == 12 {
            Err(std::io::Error::other("the capture device went away"))
        } else {
            Ok(chunk)
        }
    }));
    Upload {
        capture: ContentStream::new(failing),
        ..upload("failing", 0)
    }
}

fn registry(storage: ObjectStorage) -> Registry {
    Registry::builder()
        .storage("s3", storage)
        .storable::<Upload>()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn values_and_streams_round_trip_through_s3_in_parts_and_once() {
    let Some(s3) = s3() else { return };
    let prefix = unique_prefix("round-trip");
    let storage = s3.storage(&prefix).without_spool();
    let registry = registry(storage.clone());
    let t = TestDb::sqlite().await;

    // 12 MiB of capture: three parts of 5 MiB at most, under a temporary key first.
    let record = lakery::save_one(&upload("first", 12), &registry, &t.db)
        .tags([("project", "lakery"), ("stage", "test")])
        .await
        .unwrap();
    let loaded: Upload = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded.name, "first");
    assert_eq!(loaded.blob, upload("x", 0).blob);
    let capture: Vec<Bytes> = loaded.capture.try_collect().await.unwrap();
    let capture: Vec<u8> = capture.concat();
    assert_eq!(capture, chunks(12).collect::<Vec<_>>().concat());
    let log: Vec<String> = loaded.log.try_collect().await.unwrap();
    assert_eq!(log.len(), 1000);

    // Content-addressed, and nothing left under the temporary folder.
    let stored = keys(&storage, &prefix).await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(
        stored.iter().all(|k| !k.contains(".lakery-tmp")),
        "{stored:?}"
    );
    let contents = t.db.contents(record.id).await.unwrap();
    let objects = objects_of(&contents, &prefix);
    for (content, object) in &objects {
        assert!(stored.contains(object), "{object} in {stored:?}");
        assert!(object.ends_with(&content.hash));
    }

    // Tags reach S3 as object tags, on the object put in one request and on the one
    // uploaded in parts.
    for (content, object) in &objects {
        let tags = s3.tags(object);
        assert!(
            tags.contains("<Key>project</Key><Value>lakery</Value>")
                && tags.contains("<Key>stage</Key><Value>test</Value>"),
            "{}: {tags}",
            content.key
        );
        assert_eq!(
            tags.contains("<Key>kind</Key><Value>log</Value>"),
            content.key == "log"
        );
    }

    // The same contents again: no new object, and none uploaded again, which would
    // replace the marker put at each key.
    for (_, object) in &objects {
        mark(&storage, object).await;
    }
    lakery::save_one(&upload("second", 12), &registry, &t.db)
        .await
        .unwrap();
    assert_eq!(keys(&storage, &prefix).await, stored);
    for (content, object) in &objects {
        assert_marked(&storage, object, &content.key).await;
    }
}

/// The contents of `Upload` stored in the object store, each with its object's key
/// under `prefix`: the three of them, whatever the rows say.
fn objects_of<'a>(
    contents: &'a [lakery::ContentRecord],
    prefix: &str,
) -> Vec<(&'a lakery::ContentRecord, String)> {
    let objects: Vec<_> = contents
        .iter()
        .filter(|c| c.storage_name == "s3")
        .map(|c| {
            let key = c.storage_config["key"].as_str().unwrap();
            (c, format!("{prefix}/{key}"))
        })
        .collect();
    let keys: Vec<_> = objects.iter().map(|(c, _)| c.key.as_str()).collect();
    assert_eq!(keys, ["blob", "capture", "log"], "{contents:?}");
    objects
}

/// Bytes no content has, put at an object's key to see whether a save uploads it again.
const MARKER: &[u8] = b"not uploaded again";

async fn mark(storage: &ObjectStorage, object: &str) {
    let path = object_store::path::Path::from(object);
    storage
        .store()
        .put(&path, Bytes::from_static(MARKER).into())
        .await
        .unwrap();
}

/// Fails unless the object still holds the marker: the save found it there and did not
/// upload the content again.
async fn assert_marked(storage: &ObjectStorage, object: &str, content: &str) {
    let path = object_store::path::Path::from(object);
    let held = storage.store().get(&path).await.unwrap().bytes().await;
    // Not `assert_eq!`: a content uploaded again would be printed whole.
    let held = held.unwrap();
    assert!(
        held == MARKER,
        "{content} was uploaded again: its object holds {} bytes, not the marker",
        held.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_failing_midway_leaves_no_object() {
    let Some(s3) = s3() else { return };
    let prefix = unique_prefix("failing");
    let storage = s3.storage(&prefix).without_spool();
    let registry = registry(storage.clone());
    let t = TestDb::sqlite().await;
    let error = lakery::save_one(&failing_upload(), &registry, &t.db)
        .await
        .unwrap_err();
    assert_names_capture_failure(&error);
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        0
    );
    let left: Vec<String> = keys(&storage, &prefix)
        .await
        .into_iter()
        .filter(|k| k.contains(".lakery-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Fails unless `error` is the save of `failing_upload()` failing in its stream,
/// naming its content `capture`, its manifest and the cause.
fn assert_names_capture_failure(error: &Error) {
    let Error::StreamSource {
        manifest: Some(manifest),
        key: Some(key),
        ..
    } = error
    else {
        panic!("expected the stream's failure, got {error:?}");
    };
    assert_eq!(key, "capture");
    let message = error.to_string();
    for needle in [
        format!("content `capture` of manifest {manifest}"),
        "the capture device went away".to_owned(),
    ] {
        assert!(
            message.contains(&needle),
            "{needle} missing from: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_object_is_a_missing_content_and_the_storage_names_it() {
    let Some(s3) = s3() else { return };
    let prefix = unique_prefix("missing");
    let storage = s3.storage(&prefix);
    let registry = registry(storage.clone());
    let t = TestDb::sqlite().await;
    let record = lakery::save_one(&upload("gone", 1), &registry, &t.db)
        .await
        .unwrap();
    let contents = t.db.contents(record.id).await.unwrap();
    let blob = contents.iter().find(|c| c.key == "blob").unwrap();
    let key = blob.storage_config["key"].as_str().unwrap();
    storage
        .store()
        .delete(&object_store::path::Path::from(format!("{prefix}/{key}")))
        .await
        .unwrap();
    let error = lakery::load_one::<Upload>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    let Error::BlobMissing {
        manifest,
        key: content,
        storage: name,
    } = &error
    else {
        panic!("expected a missing content, got {error:?}");
    };
    assert_eq!(
        (*manifest, name.as_str(), content.as_str()),
        (record.id, "s3", "blob")
    );
    let message = error.to_string();
    for needle in [
        record.id.to_string(),
        "`blob`".into(),
        "`s3`".into(),
        "missing".into(),
    ] {
        assert!(
            message.contains(&needle),
            "{needle} missing from: {message}"
        );
    }
    // The storage itself says which object is gone, and that retrying will not help.
    let source = lakery::Storage::read(&storage, &blob.storage_config)
        .await
        .unwrap_err();
    assert_eq!(source.kind(), StorageErrorKind::NotFound);
    assert!(!source.is_retryable());
    let object = format!("{prefix}/{key}");
    assert!(source.to_string().contains(&object), "{source}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_refused_and_not_worth_retrying() {
    let Some(s3) = s3() else { return };
    let prefix = unique_prefix("denied");
    let storage = s3.storage_with_secret(&prefix, "not-the-secret");
    let registry = registry(storage);
    let t = TestDb::sqlite().await;
    let error = lakery::save_one(&upload("denied", 1), &registry, &t.db)
        .await
        .unwrap_err();
    let Error::Batch { failures, .. } = &error else {
        panic!("expected a batch error, got {error:?}");
    };
    // Each content refused is listed, as a failure of the one value.
    assert!(!failures.is_empty());
    let message = error.to_string();
    for failure in failures {
        assert_eq!(failure.index, 0, "{error}");
        let Error::Storage {
            operation: "write",
            storage,
            manifest,
            key,
            source,
        } = &failure.error
        else {
            panic!("expected a storage error writing, got {:?}", failure.error);
        };
        assert_eq!(storage, "s3");
        assert!(["blob", "capture", "log"].contains(&key.as_str()), "{key}");
        assert_eq!(
            source.kind(),
            StorageErrorKind::PermissionDenied,
            "{source}"
        );
        assert!(!source.is_retryable());
        // The message names the value, the content, its manifest, the storage, and
        // the bucket and prefix.
        for needle in [
            format!(
                "value #0: storage `s3` failed to write content `{key}` of manifest {manifest}"
            ),
            format!("s3://{}/{prefix}", s3.bucket),
        ] {
            assert!(
                message.contains(&needle),
                "{needle} missing from: {message}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_store_is_worth_retrying() {
    // Port 9 (discard) is closed here; no retries, so the test is quick.
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint("http://127.0.0.1:9")
        .with_allow_http(true)
        .with_bucket_name("nowhere")
        .with_region("us-east-1")
        .with_access_key_id("key")
        .with_secret_access_key("secret")
        .with_retry(object_store::RetryConfig {
            max_retries: 0,
            retry_timeout: std::time::Duration::from_secs(1),
            ..Default::default()
        })
        .build()
        .unwrap();
    let storage = ObjectStorage::new(store, "lakery")
        .unwrap()
        .with_tags(TagMode::None);
    let data = Bytes::from_static(b"bytes");
    let digest = lakery::Digest::of(&data);
    let tags = lakery::Tags::new();
    let error = lakery::Storage::write(
        &storage,
        lakery::storage::WriteRequest::new(data, digest, &tags),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), StorageErrorKind::Io, "{error}");
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().contains("a retry may help"), "{error}");
}

#[test]
fn urls_without_their_feature_or_malformed_are_clear_errors() {
    let error = ObjectStorage::from_url("not a url").unwrap_err();
    assert_eq!(error.kind(), StorageErrorKind::InvalidConfig);
    assert!(error.to_string().contains("not a url"), "{error}");
    // The URL parser's error stays the cause, not only words in the message.
    let cause = std::error::Error::source(&error).expect("the parser's error");
    assert!(cause.is::<url::ParseError>(), "{cause:?}");
    let error = ObjectStorage::from_url("ftp://example.com/x").unwrap_err();
    assert!(error.to_string().contains("ftp://example.com/x"), "{error}");
    // This build has `s3` but not `gcs` unless all features are on.
    if !cfg!(feature = "gcs") {
        let error = ObjectStorage::from_url("gs://bucket/prefix").unwrap_err();
        assert!(error.to_string().contains("`gcs` feature"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spooled_stream_goes_straight_to_its_key_and_only_once() {
    let Some(s3) = s3() else { return };
    let prefix = unique_prefix("spooled");
    let spool = tempfile::tempdir().unwrap();
    let storage = s3.storage(&prefix).with_spool_dir(spool.path());
    let registry = registry(storage.clone());
    let t = TestDb::sqlite().await;
    let spool_files = || std::fs::read_dir(spool.path()).unwrap().count();

    let record = lakery::save_one(&upload("spooled", 12), &registry, &t.db)
        .tags([("project", "lakery")])
        .await
        .unwrap();
    assert_eq!(spool_files(), 0, "the spool file goes with the upload");
    let loaded: Upload = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let capture: Vec<Bytes> = loaded.capture.try_collect().await.unwrap();
    assert_eq!(capture.concat(), chunks(12).collect::<Vec<_>>().concat());
    let stored = keys(&storage, &prefix).await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    let contents = t.db.contents(record.id).await.unwrap();
    let capture = contents.iter().find(|c| c.key == "capture").unwrap();
    let object = format!(
        "{prefix}/{}",
        capture.storage_config["key"].as_str().unwrap()
    );
    assert!(s3
        .tags(&object)
        .contains("<Key>project</Key><Value>lakery</Value>"));

    // The same stream again is spooled and hashed, but not uploaded: the marker put at
    // its key stays.
    mark(&storage, &object).await;
    lakery::save_one(&upload("again", 12), &registry, &t.db)
        .await
        .unwrap();
    assert_marked(&storage, &object, "capture").await;
    assert_eq!(spool_files(), 0, "the spool file goes with the hashing");
    assert_eq!(keys(&storage, &prefix).await, stored);

    // A stream failing midway leaves no object and no spool file.
    let error = lakery::save_one(&failing_upload(), &registry, &t.db)
        .await
        .unwrap_err();
    assert_names_capture_failure(&error);
    assert_eq!(spool_files(), 0);
    assert_eq!(keys(&storage, &prefix).await, stored);
}

/// Azurite's well-known development account.
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A blob's index tags, as `.ci/azure tags` prints them.
fn azure_tags(blob: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/azure");
    let output = std::process::Command::new(script)
        .args(["tags", blob])
        .output()
        .expect(".ci/azure runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_blob_storage_conforms_and_keeps_tags() {
    let Some([endpoint, container]) = configured(
        "Azure emulator",
        ["LAKERY_TEST_AZURE_ENDPOINT", "LAKERY_TEST_AZURE_CONTAINER"],
        ".ci/azure start",
    ) else {
        return;
    };
    let prefix = unique_prefix("azure");
    let spool = tempfile::tempdir().unwrap();
    let storage = |prefix: &str| {
        ObjectStorage::from_url_opts(
            &format!("az://{container}/{prefix}"),
            [
                ("azure_storage_account_name", AZURITE_ACCOUNT),
                ("azure_storage_access_key", AZURITE_KEY),
                ("azure_endpoint", endpoint.as_str()),
                ("azure_allow_http", "true"),
            ],
        )
        .unwrap()
        .with_part_size(5 << 20)
    };
    check_storage(&storage(&prefix)).await.unwrap();
    check_storage(&storage(&format!("{prefix}-temp-key")).without_spool())
        .await
        .unwrap();

    // Values and streams, the long one spooled (a copy on Azure would drop index tags).
    let storage = storage(&prefix).with_spool_dir(spool.path());
    let registry = registry(storage.clone());
    let t = TestDb::sqlite().await;
    let record = lakery::save_one(&upload("azure", 12), &registry, &t.db)
        .tags([("project", "lakery")])
        .await
        .unwrap();
    let loaded: Upload = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    let capture: Vec<Bytes> = loaded.capture.try_collect().await.unwrap();
    assert_eq!(capture.concat(), chunks(12).collect::<Vec<_>>().concat());
    let contents = t.db.contents(record.id).await.unwrap();
    for (content, object) in objects_of(&contents, &prefix) {
        let tags = azure_tags(&object);
        assert!(
            tags.contains(r#""project": "lakery""#),
            "{}: {tags}",
            content.key
        );
        assert_eq!(
            tags.contains(r#""kind": "log""#),
            content.key == "log",
            "{tags}"
        );
    }
}
