// `each` on a `HashMap` is reported at the field's type, once: the serializer is not what
// is wrong.
use std::collections::HashMap;

use lakery::serializer::Bincode;
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    description: String,
    #[content(serializer = Bincode, each)]
    scores: HashMap<String, f64>,
}

fn main() {}
