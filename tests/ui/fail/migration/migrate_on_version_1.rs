use lakery::migration::OldValue;
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 1, migrate = from_old)]
struct Run {
    train_loss: f64,
}

fn from_old(_old: OldValue) -> lakery::Result<Run> {
    Ok(Run { train_loss: 0.0 })
}

fn main() {}
