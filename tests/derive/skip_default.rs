use lakery::Storable;

#[derive(Default)]
struct Cache {
    #[allow(dead_code)]
    hits: u64,
}

#[derive(Storable)]
#[storable(class_id = "8a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d")]
struct Model {
    name: String,
    #[storable(skip)]
    cache: Cache,
    #[storable(skip)]
    scratch: Option<u32>,
}

#[test]
fn compiles_and_runs() {
    let model = Model {
        name: "m".into(),
        cache: Cache::default(),
        scratch: Some(1),
    };
    let _ = (&model.name, &model.cache, model.scratch);
    // Skipped fields are not stored: only the body, with `name`, remains.
    assert_eq!(Model::CONTENTS.len(), 1);
    assert_eq!(Model::CONTENTS[0].key, "body");
}
