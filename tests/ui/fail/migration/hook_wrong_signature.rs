use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 2, migrate = from_old)]
struct Run {
    train_loss: f64,
}

fn from_old(version: u32) -> Run {
    Run { train_loss: f64::from(version) }
}

fn main() {}
