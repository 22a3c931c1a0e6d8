//! `#[content(each)]`: every entry of an `Option`, `Vec` or `BTreeMap<String, _>` field
//! is a content of its own, keyed `<field>.<entry>`, with the field's serializer,
//! storage, tags and encoding; on every backend. Bad entry keys and stored entries that
//! do not rebuild the field are clear errors.

mod common;

use std::collections::BTreeMap;

use common::TestDb;
use lakery::serializer::ndarray::Array2;
use lakery::serializer::{Npy, Text};
use lakery::{Error, FileStorage, Registry, Storable};

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "0c9e8d7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f")]
struct Evaluation {
    name: String,
    #[content(serializer = Npy, storage = "arrays", each, tags(kind = "confusion"))]
    results: BTreeMap<String, Array2<f64>>,
    #[content(serializer = Text, each, encoding = "zstd")]
    notes: Vec<String>,
    #[content(serializer = Npy, storage = "arrays", each)]
    baseline: Option<Array2<f64>>,
}

fn evaluation() -> Evaluation {
    let matrix = |seed: f64| Array2::from_shape_fn((3, 3), |(i, j)| seed + (i * 3 + j) as f64);
    Evaluation {
        name: "spring".into(),
        results: BTreeMap::from([
            ("train".to_owned(), matrix(0.0)),
            ("validation".to_owned(), matrix(10.0)),
            ("test set ✓".to_owned(), matrix(20.0)),
        ]),
        notes: (0..12).map(|i| format!("note {i}")).collect(),
        baseline: Some(matrix(-1.0)),
    }
}

fn registry(t: &TestDb) -> Registry {
    Registry::builder()
        .storage("arrays", FileStorage::new(t.path("arrays")).unwrap())
        .storable::<Evaluation>()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_entry_is_a_content_of_its_own() {
    common::each_backend(each_entry_is_a_content_of_its_own_on).await;
}

async fn each_entry_is_a_content_of_its_own_on(t: TestDb) {
    let registry = registry(&t);
    let value = evaluation();
    let record = lakery::save_one(&value, &registry, &t.db).await.unwrap();
    let loaded: Evaluation = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded, value);

    let contents = t.db.contents(record.id).await.unwrap();
    let keys: Vec<&str> = contents.iter().map(|c| c.key.as_str()).collect();
    for key in [
        "body",
        "results.train",
        "results.validation",
        "results.test set ✓",
        "notes.0",
        "notes.11",
        "baseline",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert_eq!(contents.len(), 1 + 3 + 12 + 1);
    for content in &contents {
        if content.key.starts_with("results.") {
            assert_eq!(content.storage_name, "arrays");
            assert_eq!(content.content_type, "application/x-npy");
            assert_eq!(
                content.tags.get("kind").map(String::as_str),
                Some("confusion")
            );
        }
        if content.key.starts_with("notes.") {
            assert_eq!(content.encoding.as_deref(), Some("zstd"));
        }
    }

    // Empty containers store nothing and load empty.
    let empty = Evaluation {
        results: BTreeMap::new(),
        notes: Vec::new(),
        baseline: None,
        ..evaluation()
    };
    let record = lakery::save_one(&empty, &registry, &t.db).await.unwrap();
    assert_eq!(t.db.contents(record.id).await.unwrap().len(), 1);
    let loaded: Evaluation = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded, empty);
}

/// Keys that a database could take for equal are kept apart: MariaDB compares text in
/// `utf8mb4_bin` with trailing spaces ignored, so `results.a` and `results.a ` would
/// collide there unless keys are compared byte for byte; case and Unicode
/// normalisation likewise.
#[tokio::test(flavor = "multi_thread")]
async fn entry_keys_differing_only_in_spaces_case_or_normalisation_stay_apart() {
    common::each_backend(entry_keys_differing_only_in_spaces_case_or_normalisation_stay_apart_on)
        .await;
}

async fn entry_keys_differing_only_in_spaces_case_or_normalisation_stay_apart_on(t: TestDb) {
    let registry = registry(&t);
    let matrix = |seed: f64| Array2::from_shape_fn((2, 2), |(i, j)| seed + (i * 2 + j) as f64);
    let names = ["a", "a ", "a  ", "A", "\u{e9}", "e\u{301}"];
    let value = Evaluation {
        results: names
            .iter()
            .zip(0..)
            .map(|(name, seed)| ((*name).to_owned(), matrix(f64::from(seed))))
            .collect(),
        ..evaluation()
    };
    let record = lakery::save_one(&value, &registry, &t.db).await.unwrap();
    let loaded: Evaluation = lakery::load_one(&record, &registry, &t.db).await.unwrap();
    assert_eq!(loaded, value);
    let mut keys: Vec<String> =
        t.db.contents(record.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.key.starts_with("results."))
            .map(|c| c.key)
            .collect();
    keys.sort();
    let mut expected: Vec<String> = names.iter().map(|n| format!("results.{n}")).collect();
    expected.sort();
    assert_eq!(keys, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_entry_keys_are_refused_before_anything_is_stored() {
    common::each_backend(bad_entry_keys_are_refused_before_anything_is_stored_on).await;
}

async fn bad_entry_keys_are_refused_before_anything_is_stored_on(t: TestDb) {
    let registry = registry(&t);
    for (bad, reason) in [
        ("", "must not be empty"),
        ("line\nbreak", "control characters"),
        (&"x".repeat(201)[..], "at most 200 bytes"),
    ] {
        let mut value = evaluation();
        value.results.insert(bad.to_owned(), Array2::zeros((1, 1)));
        let error = lakery::save_one(&value, &registry, &t.db)
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("content `results.") && message.contains(reason),
            "{message}"
        );
    }
    assert_eq!(
        t.count("SELECT COUNT(*) AS n FROM lakery_manifests").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_entries_that_do_not_rebuild_the_field_are_errors() {
    common::each_backend(stored_entries_that_do_not_rebuild_the_field_are_errors_on).await;
}

async fn stored_entries_that_do_not_rebuild_the_field_are_errors_on(t: TestDb) {
    let registry = registry(&t);
    let record = lakery::save_one(&evaluation(), &registry, &t.db)
        .await
        .unwrap();
    // A gap in the numbering of a `Vec`'s entries.
    t.execute("DELETE FROM lakery_contents WHERE content_key = 'notes.4'")
        .await;
    let error = lakery::load_one::<Evaluation>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, Error::InvalidContentKey { ref key, .. } if key == "notes")
            && message.contains("without a gap"),
        "{message}"
    );
    // An entry that is not a number.
    t.execute(
        "UPDATE lakery_contents SET content_key = 'notes.four' WHERE content_key = 'notes.5'",
    )
    .await;
    let error = lakery::load_one::<Evaluation>(&record, &registry, &t.db)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("`.four`"), "{error}");
}
