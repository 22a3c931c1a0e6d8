use lakery::serializer::Text;
use lakery::Storable;

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a")]
struct Record {
    r#struct: String,
    #[content(serializer = Text, tags(r#type = "kind"))]
    r#type: String,
}

#[tokio::test]
async fn compiles_and_runs() {
    let keys: Vec<&str> = Record::CONTENTS.iter().map(|spec| spec.key).collect();
    assert_eq!(keys, ["body", "type"]);
    assert_eq!(Record::CONTENTS[1].tags, &[("type", "kind")]);

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Record>()
        .build()
        .unwrap();
    let record = Record {
        r#struct: "in the body".into(),
        r#type: "a content of its own".into(),
    };
    let (back, saved) = super::round_trip(&registry, &db, &record).await;
    assert_eq!(back, record);
    // The body names its field without the `r#` prefix too.
    let body = lakery::read_content(&registry, &db, saved.id, "body")
        .await
        .unwrap();
    assert_eq!(&body.data[..], br#"{"struct":"in the body"}"#);
}
