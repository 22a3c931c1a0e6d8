use std::collections::BTreeMap;

use lakery::serializer::{Bincode, Json};
use lakery::{ContentSpec, Encoding, Storable};

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 2, serializer = Json)]
struct Experiment {
    description: String,
    parameters: BTreeMap<String, f64>,
    #[content(serializer = Bincode, storage = "archive", tags(kind = "results", "data-stage" = "final"))]
    results: Vec<f64>,
    #[content(storage = "archive", encoding = "zstd")]
    log: Vec<String>,
}

#[tokio::test]
async fn compiles_and_runs() {
    assert_eq!(Experiment::VERSION, 2);
    assert_eq!(
        Experiment::CONTENTS,
        &[
            ContentSpec {
                key: "body",
                storage: None,
                tags: &[],
                serializer_type: "Json",
                stream: false,
                encoding: None,
                nested: None,
            },
            ContentSpec {
                key: "results",
                storage: Some("archive"),
                tags: &[("kind", "results"), ("data-stage", "final")],
                serializer_type: "Bincode",
                stream: false,
                encoding: None,
                nested: None,
            },
            ContentSpec {
                key: "log",
                storage: Some("archive"),
                tags: &[],
                serializer_type: "Json",
                stream: false,
                encoding: Some(Encoding::Zstd),
                nested: None,
            },
        ]
    );

    let db = super::database().await;
    let archive = lakery::MemoryStorage::new();
    let registry = lakery::Registry::builder()
        .storage("archive", archive.clone())
        .storable::<Experiment>()
        .build()
        .unwrap();
    let experiment = Experiment {
        description: "tags, storages and an encoding".into(),
        parameters: BTreeMap::from([("lr".to_owned(), 0.01)]),
        results: vec![0.5, 0.75, 1.0],
        log: (0..100).map(|i| format!("step {i}: fine")).collect(),
    };
    let (back, record) = super::round_trip(&registry, &db, &experiment).await;
    assert_eq!(back, experiment);
    assert_eq!(record.class_version, 2);

    // Each content went where its attributes say, with its serializer, tags and
    // encoding.
    let contents = db.contents(record.id).await.unwrap();
    let placed: Vec<(&str, &str, &str, Option<&str>)> = contents
        .iter()
        .map(|c| {
            (
                c.key.as_str(),
                c.storage_name.as_str(),
                c.serializer_name.as_str(),
                c.encoding.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            ("body", "database", "lakery.json@v1", None),
            ("log", "archive", "lakery.json@v1", Some("zstd")),
            ("results", "archive", "lakery.bincode@v1", None),
        ]
    );
    let results = &contents[2];
    let tags: BTreeMap<String, String> = [("data-stage", "final"), ("kind", "results")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(results.tags, tags);
    assert_eq!(archive.tags(&results.storage_config), Some(tags));
    assert_eq!(archive.len(), 2);
}
