use std::collections::BTreeMap;

use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    description: String,
    parameters: BTreeMap<String, f64>,
}

#[test]
fn compiles_and_runs() {
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
}
