//! `#[storable(crate = "...")]`: a crate that re-exports lakery (a framework built on it)
//! lets its users derive `Storable` without depending on lakery by name.

/// What such a framework would export: lakery, whole, under a path of its own.
mod facade {
    pub mod store {
        pub use ::lakery::*;
    }
}

use self::facade::store::serializer::Bincode;
use self::facade::store::{ContentStream, Storable};

#[derive(Storable, Debug, PartialEq)]
#[storable(
    class_id = "5a0a9e61-3c55-4f0e-9d8e-0b8a2f6d1c01",
    crate = "self::facade::store"
)]
struct Metrics {
    accuracy: f64,
}

#[derive(Storable, Debug, PartialEq)]
#[storable(
    class_id = "5a0a9e61-3c55-4f0e-9d8e-0b8a2f6d1c02",
    crate = "self::facade::store"
)]
struct RunV1 {
    name: String,
}

#[derive(Storable)]
#[storable(
    class_id = "5a0a9e61-3c55-4f0e-9d8e-0b8a2f6d1c02",
    version = 2,
    migrate_from = RunV1,
    crate = "self::facade::store"
)]
struct Run {
    name: String,
    #[content(serializer = Bincode, each)]
    results: Vec<f64>,
    #[content]
    lines: ContentStream<String>,
    #[storable(nested)]
    metrics: Metrics,
}

impl From<RunV1> for Run {
    fn from(old: RunV1) -> Self {
        Run {
            name: old.name,
            results: Vec::new(),
            lines: ContentStream::from_iter(Vec::new()),
            metrics: Metrics { accuracy: 0.0 },
        }
    }
}

#[tokio::test]
async fn compiles_and_runs() {
    use futures::TryStreamExt;

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Run>()
        .build()
        .unwrap();
    let run = Run {
        name: "through a re-export".into(),
        results: vec![0.5, 0.25],
        lines: ContentStream::from_iter(vec!["a".to_owned(), "b".to_owned()]),
        metrics: Metrics { accuracy: 0.75 },
    };
    let (back, _) = super::round_trip(&registry, &db, &run).await;
    assert_eq!(back.name, run.name);
    assert_eq!(back.results, run.results);
    assert_eq!(back.metrics, run.metrics);
    let lines: Vec<String> = back.lines.try_collect().await.unwrap();
    assert_eq!(lines, ["a", "b"]);
    assert_eq!(Run::known_versions(), [1, 2]);
}
