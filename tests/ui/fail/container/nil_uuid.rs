use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "00000000-0000-0000-0000-000000000000")]
struct Experiment {
    description: String,
}

fn main() {}
