use lakery::serializer::JsonLines;
use lakery::{ContentStream, Storable};

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Experiment {
    description: String,
    #[content(each = true)]
    results: Vec<f64>,
    #[content(serializer = JsonLines, each)]
    rows: ContentStream<u32>,
}

fn main() {}
