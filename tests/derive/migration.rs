//! Versions chained with `migrate_from` (`From` and `TryFrom`), a `migrate` hook, and a
//! generic model with a previous version.

use lakery::__private::serde::de::DeserializeOwned;
use lakery::__private::serde::Serialize;
use lakery::migration::OldValue;
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 1)]
struct RunV1 {
    loss: f64,
}

#[derive(Storable)]
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

#[derive(Storable)]
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

fn before_v2(mut old: OldValue) -> Result<Run, lakery::Error> {
    let body = old.body_json()?;
    Ok(Run {
        train_loss: body["loss"].as_f64().unwrap_or(0.0),
    })
}

#[derive(Storable)]
#[storable(class_id = "33333333-3333-4333-8333-333333333333", version = 1)]
struct SeriesV1<T: Serialize + DeserializeOwned + Send + 'static> {
    points: Vec<T>,
}

#[derive(Storable)]
#[storable(class_id = "33333333-3333-4333-8333-333333333333", version = 2, migrate_from = SeriesV1<T>)]
struct Series<T: Serialize + DeserializeOwned + Send + 'static> {
    values: Vec<T>,
}

impl<T: Serialize + DeserializeOwned + Send + 'static> From<SeriesV1<T>> for Series<T> {
    fn from(old: SeriesV1<T>) -> Self {
        Series { values: old.points }
    }
}

#[test]
fn compiles_and_runs() {
    assert_eq!(RunV2::known_versions(), [1, 2]);
    assert_eq!(Run::known_versions(), [1, 2, 3, 4, 5]);
    assert!(Run::loads_version(3) && !Run::loads_version(6));
    assert_eq!(Series::<f64>::known_versions(), [1, 2]);
}
