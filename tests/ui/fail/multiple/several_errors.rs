use lakery::Storable;

#[derive(Storable)]
#[storable(vesion = 2, version = "2", serializer = "json")]
struct Experiment {
    description: String,
    #[content(storage = archive, tags(kind = 1))]
    results: Vec<f64>,
    #[storable(skip)]
    #[content]
    cache: Option<u32>,
}

fn main() {}
