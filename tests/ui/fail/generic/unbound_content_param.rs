// A type parameter stored as a `#[content]` without serde's bounds is told to add the
// bound, not to implement one of lakery's traits.
use lakery::Storable;

#[derive(Storable)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
struct Run<T> {
    name: String,
    #[content]
    value: T,
}

fn main() {}
