use lakery::Storable;

#[derive(Default, Debug, PartialEq)]
struct Cache {
    #[allow(dead_code)]
    hits: u64,
}

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "8a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d")]
struct Model {
    name: String,
    #[storable(skip)]
    cache: Cache,
    #[storable(skip)]
    scratch: Option<u32>,
}

#[tokio::test]
async fn compiles_and_runs() {
    let model = Model {
        name: "m".into(),
        cache: Cache { hits: 7 },
        scratch: Some(1),
    };
    // Skipped fields are not stored: only the body, with `name`, remains.
    assert_eq!(Model::CONTENTS.len(), 1);
    assert_eq!(Model::CONTENTS[0].key, "body");

    // They come back as their defaults, and the stored body holds `name` alone.
    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Model>()
        .build()
        .unwrap();
    let (back, record) = super::round_trip(&registry, &db, &model).await;
    assert_eq!(
        back,
        Model {
            name: "m".into(),
            cache: Cache::default(),
            scratch: None,
        }
    );
    let body = lakery::read_content(&registry, &db, record.id, "body")
        .await
        .unwrap();
    assert_eq!(&body.data[..], br#"{"name":"m"}"#);
}
