// A type where a serializer belongs says so, rather than "expected value, found struct".
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    #[content(serializer = String)]
    notes: String,
}

fn main() {}
