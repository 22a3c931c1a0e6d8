use lakery::serializer::Json;
use lakery::Storable;

const PRETTY: Json = Json;

mod formats {
    pub const COMPACT: lakery::serializer::Bincode = lakery::serializer::Bincode;
}

#[derive(Storable)]
#[storable(class_id = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", serializer = PRETTY)]
struct Settings {
    name: String,
    #[content(serializer = formats::COMPACT)]
    weights: Vec<f32>,
    #[content(serializer = lakery::serializer::Json)]
    extra: Option<String>,
}

#[test]
fn compiles_and_runs() {
    let types: Vec<&str> = Settings::CONTENTS
        .iter()
        .map(|spec| spec.serializer_type)
        .collect();
    assert_eq!(
        types,
        ["PRETTY", "formats::COMPACT", "lakery::serializer::Json"]
    );
}
