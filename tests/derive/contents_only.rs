use lakery::serializer::{Bincode, RawBytes, Text};
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "0b8e3f4c-1d2a-4e5f-9a6b-7c8d9e0f1a2b", version = 3)]
struct Report {
    #[content(serializer = Text)]
    summary: String,
    #[content(serializer = RawBytes)]
    figure: Vec<u8>,
    #[content(serializer = Bincode)]
    values: Vec<f64>,
    #[content]
    notes: Vec<String>,
}

#[test]
fn compiles_and_runs() {
    assert_eq!(Report::VERSION, 3);
    let keys: Vec<&str> = Report::CONTENTS.iter().map(|spec| spec.key).collect();
    // No body: every field is a content of its own, in declaration order.
    assert_eq!(keys, ["summary", "figure", "values", "notes"]);
    let serializers: Vec<&str> = Report::CONTENTS
        .iter()
        .map(|spec| spec.serializer_type)
        .collect();
    assert_eq!(serializers, ["Text", "RawBytes", "Bincode", "Json"]);
}
