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

/// What a field without `#[content]` needs: the body is one serde struct of them all.
#[diagnostic::on_unimplemented(
    message = "a body field of type `{Self}` must implement `serde::Serialize` and `serde::de::DeserializeOwned`",
    label = "fields without `#[content]` are serialized together, as the body, through serde",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or give the field `#[content(serializer = ...)]` with a serializer that handles it"
)]
pub trait BodyField {}

impl<T: Serialize + serde::de::DeserializeOwned> BodyField for T {}

/// Checked for each body field, at the field's type, so the error points there.
pub fn assert_body_field<T: BodyField>() {}
