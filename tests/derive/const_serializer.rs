use lakery::serializer::Json;
use lakery::Storable;

const PRETTY: Json = Json;

mod formats {
    pub const COMPACT: lakery::serializer::Bincode = lakery::serializer::Bincode;
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", serializer = PRETTY)]
struct Settings {
    name: String,
    #[content(serializer = formats::COMPACT)]
    weights: Vec<f32>,
    #[content(serializer = lakery::serializer::Json)]
    extra: Option<String>,
}

#[tokio::test]
async fn compiles_and_runs() {
    let types: Vec<&str> = Settings::CONTENTS
        .iter()
        .map(|spec| spec.serializer_type)
        .collect();
    assert_eq!(
        types,
        ["PRETTY", "formats::COMPACT", "lakery::serializer::Json"]
    );

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Settings>()
        .build()
        .unwrap();
    let settings = Settings {
        name: "compact weights".into(),
        weights: vec![0.5, -1.25, f32::MAX],
        extra: Some("json".into()),
    };
    let (back, record) = super::round_trip(&registry, &db, &settings).await;
    assert_eq!(back, settings);
    // Each content was written by the serializer its constant names (by key).
    let serializers: Vec<(String, String)> = db
        .contents(record.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.key, c.serializer_name))
        .collect();
    assert_eq!(
        serializers,
        [
            ("body".to_owned(), "lakery.json@v1".to_owned()),
            ("extra".to_owned(), "lakery.json@v1".to_owned()),
            ("weights".to_owned(), "lakery.bincode@v1".to_owned()),
        ]
    );
}
