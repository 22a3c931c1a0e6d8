use lakery::Storable;

#[derive(Storable)]
struct Experiment {
    description: String,
}

fn main() {}
