// A serializer that cannot handle the entries of an `each` field is one error, at the
// serializer.
use lakery::serializer::Text;
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    #[content(serializer = Text, each)]
    runs: Vec<f64>,
}

fn main() {}
