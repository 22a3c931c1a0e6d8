use lakery::__private::serde::{Deserialize, Serialize};
use lakery::Storable;

// `Self` in a body field means the user's struct, not the derive's body struct.
#[derive(Storable, Serialize, Deserialize)]
#[serde(crate = "lakery::__private::serde")]
#[storable(class_id = "7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f")]
struct Tree {
    label: String,
    children: Vec<Self>,
    #[content]
    parent: Option<Box<Self>>,
}

fn assert_storable<S: Storable>() {}

#[test]
fn compiles_and_runs() {
    assert_storable::<Tree>();
    let tree = Tree {
        label: String::new(),
        children: Vec::new(),
        parent: None,
    };
    let _ = (&tree.label, &tree.children, &tree.parent);
}
