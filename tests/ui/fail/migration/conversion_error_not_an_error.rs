use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 1)]
struct RunV1 {
    loss: f64,
}

#[derive(Storable)]
#[storable(class_id = "11111111-1111-4111-8111-111111111111", version = 2, migrate_from = RunV1)]
struct Run {
    train_loss: f64,
}

impl TryFrom<RunV1> for Run {
    type Error = String;

    fn try_from(old: RunV1) -> Result<Self, String> {
        Ok(Run { train_loss: old.loss })
    }
}

fn main() {}
