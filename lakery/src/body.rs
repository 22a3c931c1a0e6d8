//! The body: the fields without `#[content]`, serialized together as one content.

use serde::{Deserialize, Deserializer, Serialize};

/// A field of the generated body struct: borrowed when saving, owned when loading, so
/// the body is serialized without cloning the user's fields.
pub enum Field<'a, T> {
    /// The user's field, while saving.
    Borrowed(&'a T),
    /// The deserialized field, while loading.
    Owned(T),
}

impl<T> Field<'_, T> {
    /// The loaded field.
    pub fn into_owned(self) -> T {
        match self {
            Field::Owned(value) => value,
            Field::Borrowed(_) => {
                unreachable!(
                    "lakery invariant: a body field is only borrowed while saving, never repacked"
                )
            }
        }
    }
}

impl<T: Serialize> Serialize for Field<'_, T> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Field::Borrowed(value) => value.serialize(serializer),
            Field::Owned(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<'_, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        T::deserialize(deserializer).map(Field::Owned)
    }
}
