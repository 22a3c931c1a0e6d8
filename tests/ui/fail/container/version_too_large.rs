use lakery::Storable;

// Fits in a `u32`, but not in the signed 32-bit column every database stores it in.
#[derive(Storable)]
#[storable(
    class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11",
    version = 2147483648
)]
struct Experiment {
    description: String,
}

fn main() {}
