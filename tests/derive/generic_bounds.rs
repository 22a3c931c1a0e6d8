use lakery::__private::serde::de::DeserializeOwned;
use lakery::__private::serde::Serialize;
use lakery::serializer::Bincode;
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", version = 4)]
struct Series<T: Serialize + DeserializeOwned, const N: usize>
where
    T: Clone,
{
    label: String,
    first: T,
    #[content(serializer = Bincode)]
    window: Vec<T>,
    #[storable(skip)]
    cursor: Option<[u8; N]>,
}

fn assert_storable<S: Storable>() {}

#[test]
fn compiles_and_runs() {
    assert_storable::<Series<f64, 4>>();
    assert_storable::<Series<String, 0>>();
    assert_eq!(Series::<f64, 4>::VERSION, 4);
    assert_eq!(Series::<f64, 4>::CONTENTS.len(), 2);
    assert_eq!(Series::<f64, 4>::CONTENTS[1].key, "window");
    let series = Series::<u8, 1> {
        label: String::new(),
        first: 0,
        window: vec![],
        cursor: None,
    };
    let _ = (&series.label, series.first, &series.window, series.cursor);
}
