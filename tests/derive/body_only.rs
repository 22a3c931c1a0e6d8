use std::collections::BTreeMap;

use lakery::Storable;

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    description: String,
    parameters: BTreeMap<String, f64>,
}

#[tokio::test]
async fn compiles_and_runs() {
    assert_eq!(
        Experiment::CLASS_ID.to_string(),
        "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11"
    );
    assert_eq!(Experiment::VERSION, 1);
    assert_eq!(
        Experiment::CONTENTS,
        &[lakery::ContentSpec {
            key: "body",
            storage: None,
            tags: &[],
            serializer_type: "Json",
            stream: false,
            encoding: None,
            nested: None,
        }]
    );

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Experiment>()
        .build()
        .unwrap();
    let experiment = Experiment {
        description: "a body of two fields".into(),
        parameters: BTreeMap::from([("lr".to_owned(), 0.25), ("momentum".to_owned(), 0.9)]),
    };
    let (back, record) = super::round_trip(&registry, &db, &experiment).await;
    assert_eq!(back, experiment);
    let keys: Vec<String> = db
        .contents(record.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect();
    assert_eq!(keys, ["body"]);
}
