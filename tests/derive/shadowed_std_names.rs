//! A module whose own types are named `Result`, `Option`, `String`, `Vec`, `Box`, ... as
//! std's are: the generated code names std's through lakery's private re-exports, so the
//! derive still compiles here, and the user's names still mean the user's types.
#![allow(dead_code)]

use ::std::collections::BTreeMap;

use lakery::serializer::Bincode;
use lakery::Storable;

struct Result;
struct Option;
struct Some;
struct None;
struct Ok;
struct Err;
struct String;
struct Vec;
struct Box;
struct Default;
struct PhantomData;
trait Send {}
mod core {}
mod std {}
mod serde {}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "7c1f0e52-1d5b-4c8e-a0f2-3b9d6e4a2c10")]
struct Metrics {
    accuracy: f64,
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "7c1f0e52-1d5b-4c8e-a0f2-3b9d6e4a2c11", version = 1)]
struct RunV1 {
    name: ::std::string::String,
}

#[derive(Storable)]
#[storable(class_id = "7c1f0e52-1d5b-4c8e-a0f2-3b9d6e4a2c11", version = 2, migrate_from = RunV1)]
struct Run<T>
where
    T: ::serde::Serialize + ::serde::de::DeserializeOwned + ::core::default::Default,
{
    name: ::std::string::String,
    value: T,
    #[content(serializer = Bincode)]
    results: ::std::vec::Vec<f64>,
    #[content(each)]
    parts: BTreeMap<::std::string::String, u32>,
    #[storable(nested)]
    metrics: Metrics,
    #[storable(skip)]
    cache: ::std::option::Option<u8>,
}

impl<T> From<RunV1> for Run<T>
where
    T: ::serde::Serialize + ::serde::de::DeserializeOwned + ::core::default::Default,
{
    fn from(old: RunV1) -> Self {
        Run {
            name: old.name,
            value: T::default(),
            results: ::std::vec::Vec::new(),
            parts: BTreeMap::new(),
            metrics: Metrics { accuracy: 0.0 },
            cache: ::std::option::Option::None,
        }
    }
}

#[tokio::test]
async fn compiles_and_runs() {
    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Run<u32>>()
        .build()
        .unwrap();
    let run = Run {
        name: "shadowed".into(),
        value: 7u32,
        results: vec![1.5],
        parts: BTreeMap::from([("a".into(), 1)]),
        metrics: Metrics { accuracy: 0.5 },
        cache: ::std::option::Option::Some(3),
    };
    let (back, _) = super::round_trip(&registry, &db, &run).await;
    assert_eq!(back.value, 7);
    assert_eq!(back.parts, run.parts);
    assert_eq!(back.cache, ::std::option::Option::None);
    // The user's names still mean the user's types.
    let _ = (
        Result,
        Option,
        Some,
        None,
        Ok,
        Err,
        String,
        Vec,
        Box,
        Default,
        PhantomData,
    );
}
