use lakery::__private::serde::de::DeserializeOwned;
use lakery::__private::serde::Serialize;
use lakery::serializer::Bincode;
use lakery::Storable;

#[derive(Storable, Debug, PartialEq)]
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

#[tokio::test]
async fn compiles_and_runs() {
    assert_storable::<Series<f64, 4>>();
    assert_storable::<Series<String, 0>>();
    assert_eq!(Series::<f64, 4>::VERSION, 4);
    assert_eq!(Series::<f64, 4>::CONTENTS.len(), 2);
    assert_eq!(Series::<f64, 4>::CONTENTS[1].key, "window");

    // Two instances of the generic type, each saved and loaded; the skipped field comes
    // back as its default.
    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Series<f64, 4>>()
        .build()
        .unwrap();
    let numbers = Series::<f64, 4> {
        label: "numbers".into(),
        first: 2.5,
        window: vec![1.0, 2.0, 3.5],
        cursor: Some([1, 2, 3, 4]),
    };
    let (back, record) = super::round_trip(&registry, &db, &numbers).await;
    assert_eq!(record.class_version, 4);
    assert_eq!(
        back,
        Series {
            cursor: None,
            ..numbers
        }
    );
    let registry = lakery::Registry::builder()
        .storable::<Series<String, 0>>()
        .build()
        .unwrap();
    let words = Series::<String, 0> {
        label: "words".into(),
        first: "alpha".into(),
        window: vec!["beta".into(), "gamma".into()],
        cursor: None,
    };
    assert_eq!(super::round_trip(&registry, &db, &words).await.0, words);
}
