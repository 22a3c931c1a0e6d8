// One typo in the attribute is one error: the placeholder impl keeps the uses of the
// type as a storable from adding errors of their own.
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = "2")]
struct Experiment {
    description: String,
}

fn takes_storable<S: Storable>() -> u32 {
    S::VERSION
}

fn main() {
    let _ = takes_storable::<Experiment>();
}
