//! The [`Storable`] trait: what `#[derive(Storable)]` implements.

use crate::db::Query;
use crate::error::Result;
use crate::id::ClassId;
use crate::pack::Unpacker;
use crate::repack::Repacker;

/// The static description of one content of a storable type, as written in its
/// attributes. The registry reads these to check, before anything is saved, that every
/// storage a type names exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentSpec {
    /// The content's key: `body` for the fields without `#[content]`, else the field name.
    pub key: &'static str,
    /// The storage named by `storage = "..."`, or `None` for the registry's default.
    pub storage: Option<&'static str>,
    /// The content's tags, from `tags(key = "value", ...)`.
    pub tags: &'static [(&'static str, &'static str)],
    /// The Rust type of the serializer, for error messages.
    pub serializer_type: &'static str,
    /// Whether the field is a [`ContentStream`](crate::ContentStream), read lazily.
    pub stream: bool,
    /// The compression of `encoding = "..."`, applied after the serializer.
    pub encoding: Option<crate::encoding::Encoding>,
    /// For a `#[storable(nested)]` field, the contents of its type, stored under
    /// `<key>.<their key>`; the content `key` itself then records the nested type's
    /// class and version.
    pub nested: Option<&'static [ContentSpec]>,
}

impl ContentSpec {
    /// Whether the stored content `key` of a type with `specs` is a stream, looking into
    /// nested types.
    pub(crate) fn is_stream(specs: &[ContentSpec], key: &str) -> bool {
        let (first, rest) = match key.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (key, None),
        };
        specs.iter().any(|spec| {
            spec.key == first
                && match (spec.nested, rest) {
                    (Some(nested), Some(rest)) => ContentSpec::is_stream(nested, rest),
                    (None, None) => spec.stream,
                    _ => false,
                }
        })
    }
}

/// A type whose values lakery can save and load.
///
/// Derive it; do not implement it by hand. The derive splits a value into contents
/// ([`Storable::unpack`]) and rebuilds it from them ([`Storable::repack`]):
///
/// ```
/// use lakery::Storable;
/// use lakery::serializer::Bincode;
///
/// #[derive(Storable)]
/// #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 1)]
/// struct Experiment {
///     description: String,
///     #[content(serializer = Bincode, storage = "archive", tags(kind = "results"))]
///     results: Vec<f64>,
/// }
///
/// assert_eq!(Experiment::VERSION, 1);
/// assert_eq!(Experiment::CONTENTS.len(), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a lakery storable",
    label = "`{Self}` does not implement `Storable`",
    note = "add `#[derive(lakery::Storable)]` and a `#[storable(class_id = \"...\")]` attribute to `{Self}`"
)]
pub trait Storable: Sized + Send + 'static {
    /// The type's class id, stable forever.
    const CLASS_ID: ClassId;
    /// The version of the type's layout; manifests record it.
    const VERSION: u32;
    /// The contents a value of this type is split into, in the order `unpack` emits them.
    const CONTENTS: &'static [ContentSpec];

    /// The type's name, for messages.
    fn type_name() -> &'static str {
        std::any::type_name::<Self>()
    }

    /// Serializes each content of `self` into `contents`.
    #[doc(hidden)]
    fn unpack(&self, contents: &mut Unpacker) -> Result<()>;

    /// Rebuilds a value from the contents of one manifest saved at [`Self::VERSION`].
    #[doc(hidden)]
    fn repack(contents: &mut Repacker) -> Result<Self>;

    /// Whether a manifest saved at `version` loads as this type: its own version, and
    /// every older one that its `migrate_from` chain or its `migrate` hook reaches.
    fn loads_version(version: u32) -> bool {
        version == Self::VERSION
    }

    /// The stored versions that load as this type, oldest first; for messages.
    fn known_versions() -> Vec<u32> {
        vec![Self::VERSION]
    }

    /// Rebuilds a value from the contents of a manifest saved at `version`, migrating it
    /// along the type's `migrate_from` chain or through its `migrate` hook.
    #[doc(hidden)]
    fn repack_version(version: u32, contents: &mut Repacker) -> Result<Self> {
        if version == Self::VERSION {
            Self::repack(contents)
        } else {
            Err(crate::repack::unsupported_version::<Self>(
                contents, version,
            ))
        }
    }
}

// A query by Rust type is written here, beside the trait that gives the class id, so
// the database layer does not depend on the codec.
impl Query {
    /// A query for the manifests of storable type `T`, at any version.
    pub fn of<T: Storable>() -> Self {
        Query::new().class_id(T::CLASS_ID)
    }
}
