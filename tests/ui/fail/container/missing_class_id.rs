use lakery::Storable;

#[derive(Storable)]
#[storable(version = 2)]
struct Experiment {
    description: String,
}

fn main() {}
