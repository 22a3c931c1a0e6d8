use std::collections::BTreeMap;

use lakery::serializer::{Bincode, Json};
use lakery::{ContentSpec, Encoding, Storable};

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 2, serializer = Json)]
struct Experiment {
    description: String,
    parameters: BTreeMap<String, f64>,
    #[content(serializer = Bincode, storage = "archive", tags(kind = "results", "data-stage" = "final"))]
    results: Vec<f64>,
    #[content(storage = "archive", encoding = "zstd")]
    log: Vec<String>,
}

#[test]
fn compiles_and_runs() {
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
}
