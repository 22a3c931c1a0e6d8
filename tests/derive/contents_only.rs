use lakery::serializer::{Bincode, RawBytes, Text};
use lakery::Storable;

#[derive(Storable, Debug, PartialEq)]
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

#[tokio::test]
async fn compiles_and_runs() {
    assert_eq!(Report::VERSION, 3);
    let keys: Vec<&str> = Report::CONTENTS.iter().map(|spec| spec.key).collect();
    // No body: every field is a content of its own, in declaration order.
    assert_eq!(keys, ["summary", "figure", "values", "notes"]);
    let serializers: Vec<&str> = Report::CONTENTS
        .iter()
        .map(|spec| spec.serializer_type)
        .collect();
    assert_eq!(serializers, ["Text", "RawBytes", "Bincode", "Json"]);

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Report>()
        .build()
        .unwrap();
    // Fields of distinct values, so a content read back into another field shows.
    let report = Report {
        summary: "all four fields are contents".into(),
        figure: vec![0x89, b'P', b'N', b'G', 0, 255],
        values: vec![1.5, -0.0, f64::MIN_POSITIVE],
        notes: vec!["first".into(), "second".into()],
    };
    let (back, record) = super::round_trip(&registry, &db, &report).await;
    assert_eq!(back, report);
    assert_eq!(record.class_version, 3);
    let stored: Vec<(String, String)> = db
        .contents(record.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.key, c.serializer_name))
        .collect();
    assert_eq!(
        stored,
        [
            ("figure".to_owned(), "lakery.bytes@v1".to_owned()),
            ("notes".to_owned(), "lakery.json@v1".to_owned()),
            ("summary".to_owned(), "lakery.text@v1".to_owned()),
            ("values".to_owned(), "lakery.bincode@v1".to_owned()),
        ]
    );
}
