use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 2)]
struct RunV2 {
    loss: f64,
}

#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 2, migrate_from = RunV2)]
struct Run {
    train_loss: f64,
}

impl From<RunV2> for Run {
    fn from(old: RunV2) -> Self {
        Run { train_loss: old.loss }
    }
}

fn main() {}
