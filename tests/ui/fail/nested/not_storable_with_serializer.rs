// Every use of a nested type that is not storable is one error, at the field's type.
use lakery::Storable;

#[derive(serde::Serialize, serde::Deserialize)]
struct Metrics {
    accuracy: f64,
}

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    #[storable(nested)]
    metrics: Metrics,
    #[storable(nested)]
    baseline: Option<Metrics>,
}

fn main() {}
