//! `#[storable(nested)]`: a field whose type derives `Storable` is unpacked into the
//! parent's contents under prefixed keys, each with its own serializer and storage, at
//! any depth, streams included; the nested type's version is recorded and migrates on
//! load as a top-level one would; a storage a nested type names must be configured.

mod common;

use common::TestDb;
use futures::TryStreamExt;
use lakery::serializer::ndarray::Array2;
use lakery::serializer::{JsonLines, Npy};
use lakery::{ContentStream, Error, FileStorage, Registry, Storable};

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b")]
struct Metrics {
    accuracy: f64,
    #[content(serializer = Npy, storage = "arrays", tags(kind = "confusion"))]
    confusion: Array2<f64>,
}

#[derive(Storable, Debug)]
#[storable(class_id = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d")]
struct Results {
    summary: String,
    #[storable(nested)]
    metrics: Metrics,
    #[content(serializer = JsonLines, storage = "files")]
    log: ContentStream<String>,
}

#[derive(Storable, Debug)]
#[storable(class_id = "3b4c5d6e-7f8a-4b9c-8d1e-2f3a4b5c6d7e")]
struct Experiment {
    name: String,
    #[storable(nested)]
    results: Results,
    #[storable(nested)]
    baseline: Metrics,
}

fn metrics(seed: f64) -> Metrics {
    Metrics {
        accuracy: 0.9 + seed / 100.0,
        confusion: Array2::from_shape_fn((2, 2), |(i, j)| seed + (i * 2 + j) as f64),
    }
}

fn registry(t: &TestDb) -> Registry {
    Registry::builder()
        .storage("arrays", FileStorage::new(t.path("arrays")).unwrap())
        .storage("files", FileStorage::new(t.path("files")).unwrap())
        .storable::<Experiment>()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_values_unpack_under_prefixed_keys_at_any_depth() {
    common::each_backend(nested_values_unpack_under_prefixed_keys_at_any_depth_on).await;
}

async fn nested_values_unpack_under_prefixed_keys_at_any_depth_on(t: TestDb) {
    let registry = registry(&t);
    let value = Experiment {
        name: "spring".into(),
        results: Results {
            summary: "better than the baseline".into(),
            metrics: metrics(1.0),
            log: ContentStream::from_iter((0..500).map(|i| format!("step {i}"))),
        },
        baseline: metrics(0.0),
    };
    let record = lakery::save_one(&value, &registry, &t.db).await.unwrap();

    let contents = t.db.contents(record.id).await.unwrap();
    let mut keys: Vec<(&str, &str)> = contents
        .iter()
        .map(|c| (c.key.as_str(), c.storage_name.as_str()))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            ("baseline", "database"),
            ("baseline.body", "database"),
            ("baseline.confusion", "arrays"),
            ("body", "database"),
            ("results", "database"),
            ("results.body", "database"),
            ("results.log", "files"),
            ("results.metrics", "database"),
            ("results.metrics.body", "database"),
            ("results.metrics.confusion", "arrays"),
        ]
    );
    let confusion = contents
        .iter()
        .find(|c| c.key == "results.metrics.confusion")
        .unwrap();
    assert_eq!(confusion.content_type, "application/x-npy");
    assert_eq!(
        confusion.tags.get("kind").map(String::as_str),
        Some("confusion")
    );

    let loaded: Experiment = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded.name, "spring");
    assert_eq!(loaded.baseline, metrics(0.0));
    assert_eq!(loaded.results.summary, "better than the baseline");
    assert_eq!(loaded.results.metrics, metrics(1.0));
    let log: Vec<String> = loaded.results.log.try_collect().await.unwrap();
    assert_eq!(log.len(), 500);
    assert_eq!(log[499], "step 499");
}

/// The first version of the nested type, and a parent that holds it.
#[derive(Storable, Debug)]
#[storable(class_id = "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f")]
struct ScoreV1 {
    correct: u32,
    total: u32,
}

#[derive(Storable, Debug, PartialEq)]
#[storable(
    class_id = "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
    version = 2,
    migrate_from = ScoreV1
)]
struct Score {
    accuracy: f64,
    total: u32,
}

impl From<ScoreV1> for Score {
    fn from(old: ScoreV1) -> Self {
        Score {
            accuracy: f64::from(old.correct) / f64::from(old.total),
            total: old.total,
        }
    }
}

#[derive(Storable, Debug)]
#[storable(class_id = "5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f8a")]
struct RunV1 {
    name: String,
    #[storable(nested)]
    score: ScoreV1,
}

#[derive(Storable, Debug)]
#[storable(class_id = "5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7f8a")]
struct Run {
    name: String,
    #[storable(nested)]
    score: Score,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nested_value_of_an_older_version_migrates_on_load() {
    common::each_backend(a_nested_value_of_an_older_version_migrates_on_load_on).await;
}

async fn a_nested_value_of_an_older_version_migrates_on_load_on(t: TestDb) {
    let old = Registry::builder().storable::<RunV1>().build().unwrap();
    let record = lakery::save_one(
        &RunV1 {
            name: "march".into(),
            score: ScoreV1 {
                correct: 3,
                total: 4,
            },
        },
        &old,
        &t.db,
    )
    .await
    .unwrap();
    let new = Registry::builder().storable::<Run>().build().unwrap();
    let loaded: Run = lakery::load_one(&record, &new, &t.db).await.unwrap();
    assert_eq!(loaded.name, "march");
    assert_eq!(
        loaded.score,
        Score {
            accuracy: 0.75,
            total: 4
        }
    );

    // A version the nested type does not know is the usual error.
    t.execute(&format!(
        "UPDATE lakery_contents SET data = {} WHERE content_key = 'score'",
        t.blob(br#"{"class_id":"4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f","version":7}"#)
    ))
    .await;
    t.execute(&format!(
        "UPDATE lakery_contents SET hash = '{}', size = {} WHERE content_key = 'score'",
        hex(&sha256(
            br#"{"class_id":"4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f","version":7}"#
        )),
        br#"{"class_id":"4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f","version":7}"#.len()
    ))
    .await;
    let error = lakery::load_one::<Run>(&record, &new, &t.db)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, Error::UnsupportedVersion { stored: 7, .. })
            && message.contains(&record.id.to_string()),
        "{message}"
    );
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    <sha2::Sha256 as sha2::Digest>::digest(bytes).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_storage_a_nested_type_names_must_be_configured() {
    let error = Registry::builder()
        .storage("files", lakery::MemoryStorage::new())
        .storable::<Experiment>()
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("content `results.metrics.confusion` of `")
            && error.contains("Experiment` names storage `arrays`")
            && error.contains("content `baseline.confusion` of `"),
        "{error}"
    );
}
