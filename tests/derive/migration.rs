//! Versions chained with `migrate_from` (`From` and `TryFrom`), a `migrate` hook, and a
//! generic model with a previous version.

use lakery::__private::serde::de::DeserializeOwned;
use lakery::__private::serde::Serialize;
use lakery::migration::OldValue;
use lakery::Storable;

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 1)]
struct RunV1 {
    loss: f64,
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 2, migrate_from = RunV1)]
struct RunV2 {
    train_loss: f64,
}

impl From<RunV1> for RunV2 {
    fn from(old: RunV1) -> Self {
        RunV2 {
            train_loss: old.loss,
        }
    }
}

#[derive(Debug)]
struct Negative;

impl std::fmt::Display for Negative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("negative loss")
    }
}

impl std::error::Error for Negative {}

#[derive(Storable, Debug, PartialEq)]
#[storable(
    class_id = "11111111-1111-4111-8111-111111111111",
    version = 5,
    migrate_from = RunV2,
    migrate = before_v2
)]
struct Run {
    train_loss: f64,
}

impl TryFrom<RunV2> for Run {
    type Error = Negative;

    fn try_from(old: RunV2) -> Result<Self, Negative> {
        if old.train_loss < 0.0 {
            return Err(Negative);
        }
        Ok(Run {
            train_loss: old.train_loss,
        })
    }
}

/// Only to store a value at version 3, which `Run` loads through its hook.
#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 3)]
struct RunV3 {
    loss: f64,
}

fn before_v2(mut old: OldValue) -> Result<Run, lakery::Error> {
    let body = old.body_json()?;
    Ok(Run {
        train_loss: body["loss"].as_f64().unwrap_or(0.0),
    })
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "33333333-3333-4333-8333-333333333333", version = 1)]
struct SeriesV1<T: Serialize + DeserializeOwned + Send + 'static> {
    points: Vec<T>,
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "33333333-3333-4333-8333-333333333333", version = 2, migrate_from = SeriesV1<T>)]
struct Series<T: Serialize + DeserializeOwned + Send + 'static> {
    values: Vec<T>,
}

impl<T: Serialize + DeserializeOwned + Send + 'static> From<SeriesV1<T>> for Series<T> {
    fn from(old: SeriesV1<T>) -> Self {
        Series { values: old.points }
    }
}

#[tokio::test]
async fn compiles_and_runs() {
    assert_eq!(RunV2::known_versions(), [1, 2]);
    assert_eq!(Run::known_versions(), [1, 2, 3, 4, 5]);
    assert!(Run::loads_version(3) && !Run::loads_version(6));
    assert_eq!(Series::<f64>::known_versions(), [1, 2]);

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<RunV1>()
        .storable::<RunV2>()
        .storable::<RunV3>()
        .storable::<Run>()
        .storable::<SeriesV1<f64>>()
        .storable::<Series<f64>>()
        .build()
        .unwrap();
    // Each stored version reaches the current one by its own path: version 1 through
    // `From` and `TryFrom`, version 2 through `TryFrom`, version 3 through the hook.
    let v1 = lakery::save_one(&RunV1 { loss: 0.75 }, &registry, &db)
        .await
        .unwrap();
    let v2 = lakery::save_one(&RunV2 { train_loss: 0.5 }, &registry, &db)
        .await
        .unwrap();
    let v3 = lakery::save_one(&RunV3 { loss: 0.25 }, &registry, &db)
        .await
        .unwrap();
    assert_eq!(
        (v1.class_version, v2.class_version, v3.class_version),
        (1, 2, 3)
    );
    for (record, train_loss) in [(&v1, 0.75), (&v2, 0.5), (&v3, 0.25)] {
        let run: Run = lakery::load_one(record, &registry, &db).await.unwrap();
        assert_eq!(
            run,
            Run { train_loss },
            "from version {}",
            record.class_version
        );
    }
    let v1_as_v2: RunV2 = lakery::load_one(&v1, &registry, &db).await.unwrap();
    assert_eq!(v1_as_v2, RunV2 { train_loss: 0.75 });
    let (current, _) = super::round_trip(&registry, &db, &Run { train_loss: 0.125 }).await;
    assert_eq!(current, Run { train_loss: 0.125 });

    // A conversion that refuses is an error naming the manifest and both versions.
    let negative = lakery::save_one(&RunV2 { train_loss: -1.0 }, &registry, &db)
        .await
        .unwrap();
    let error = lakery::load_one::<Run>(&negative, &registry, &db)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, lakery::Error::VersionMigration { manifest, from: 2, to: 5, .. } if *manifest == negative.id),
        "{error:?}"
    );
    assert!(error.to_string().contains("negative loss"), "{error}");

    // The generic model migrates too.
    let old = lakery::save_one(
        &SeriesV1 {
            points: vec![1.0, 2.0],
        },
        &registry,
        &db,
    )
    .await
    .unwrap();
    let series: Series<f64> = lakery::load_one(&old, &registry, &db).await.unwrap();
    assert_eq!(
        series,
        Series {
            values: vec![1.0, 2.0]
        }
    );
}
