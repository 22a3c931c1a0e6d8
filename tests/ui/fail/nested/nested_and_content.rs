use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Metrics {
    accuracy: f64,
}

#[derive(Storable)]
#[storable(class_id = "7f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    description: String,
    #[storable(nested = true)]
    first: Metrics,
    #[storable(nested)]
    #[content(storage = "archive")]
    second: Metrics,
}

fn main() {}
