use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = 0x6f1c2a7e9a1b4c558d2e0b7f3c9e4a11)]
struct Experiment {
    description: String,
}

fn main() {}
