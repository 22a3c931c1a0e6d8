use lakery::serializer::Text;
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a")]
struct Record {
    r#struct: String,
    #[content(serializer = Text, tags(r#type = "kind"))]
    r#type: String,
}

#[test]
fn compiles_and_runs() {
    let keys: Vec<&str> = Record::CONTENTS.iter().map(|spec| spec.key).collect();
    assert_eq!(keys, ["body", "type"]);
    assert_eq!(Record::CONTENTS[1].tags, &[("type", "kind")]);
    let record = Record {
        r#struct: String::new(),
        r#type: String::new(),
    };
    let _ = (&record.r#struct, &record.r#type);
}
