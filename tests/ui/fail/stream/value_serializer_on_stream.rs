use lakery::serializer::Bincode;
use lakery::{ContentStream, Storable};

#[derive(serde::Serialize, serde::Deserialize)]
struct Row {
    id: u64,
}

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Dataset {
    #[content(serializer = Bincode)]
    rows: ContentStream<Row>,
}

fn main() {}
