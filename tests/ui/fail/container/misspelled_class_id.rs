// A misspelled `class_id` is one error, which names the right key; "missing `class_id`"
// would only repeat it.
use lakery::Storable;

#[derive(Storable)]
#[storable(clas_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    description: String,
}

fn main() {}
