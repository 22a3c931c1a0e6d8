use lakery::__private::serde::{Deserialize, Serialize};
use lakery::Storable;

// `Self` in a body field means the user's struct, not the derive's body struct.
#[derive(Storable, Serialize, Deserialize, Debug, PartialEq)]
#[serde(crate = "lakery::__private::serde")]
#[storable(class_id = "7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f")]
struct Tree {
    label: String,
    children: Vec<Self>,
    #[content]
    parent: Option<Box<Self>>,
}

fn assert_storable<S: Storable>() {}

#[tokio::test]
async fn compiles_and_runs() {
    assert_storable::<Tree>();
    let leaf = |label: &str| Tree {
        label: label.into(),
        children: Vec::new(),
        parent: None,
    };
    let tree = Tree {
        label: "middle".into(),
        children: vec![leaf("left"), leaf("right")],
        parent: Some(Box::new(Tree {
            label: "root".into(),
            children: vec![leaf("sibling")],
            parent: None,
        })),
    };
    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Tree>()
        .build()
        .unwrap();
    let (back, _) = super::round_trip(&registry, &db, &tree).await;
    assert_eq!(back, tree);
}
