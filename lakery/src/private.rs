//! Items used only by the code `#[derive(Storable)]` generates. Not public API.

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize};

pub use serde;

use futures::stream::StreamExt;

use crate::manifest::ManifestId;
use crate::migration::OldValue;
use crate::serializer::{Serializer, Stored, StreamSerializer};
use crate::storable::{ContentSpec, Storable};
use crate::storage::ByteStream;
use crate::stream::{ContentStream, Described, Expected, FailureSlot};
use crate::{Error, Result};

/// A field of the generated body struct: borrowed when saving, owned when loading, so
/// the body is serialized without cloning the user's fields.
pub enum Field<'a, T> {
    Borrowed(&'a T),
    Owned(T),
}

impl<T> Field<'_, T> {
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

/// One serialized content, before it is written.
pub struct UnpackedContent {
    pub spec: &'static ContentSpec,
    /// The content's key: the spec's, or `<spec key>.<entry>` for an entry of a
    /// `#[content(each)]` field.
    pub key: String,
    /// The bytes; empty for a stream.
    pub data: Bytes,
    /// For a stream, its bytes as they are encoded.
    pub(crate) stream: Option<PendingStream>,
    pub content_type: String,
    pub serializer_name: String,
    pub serializer_config: Option<serde_json::Value>,
    /// The compression applied to the bytes, from the field's attribute.
    pub encoding: Option<crate::Encoding>,
}

impl std::fmt::Debug for UnpackedContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnpackedContent")
            .field("key", &self.key)
            .field("size", &self.data.len())
            .field("stream", &self.stream.is_some())
            .field("serializer_name", &self.serializer_name)
            .finish()
    }
}

/// The encoded bytes of a stream content, taken by the job that writes them, and
/// where the first error of its items or encoder is kept.
pub(crate) struct PendingStream {
    pub bytes: std::sync::Mutex<Option<ByteStream>>,
    pub failure: FailureSlot,
}

/// Collects the contents of one value as `Storable::unpack` serializes them.
pub struct Unpacker {
    manifest: ManifestId,
    specs: &'static [ContentSpec],
    /// Before every key: `results.` for the contents of a nested field `results`.
    prefix: String,
    pub(crate) contents: Vec<UnpackedContent>,
}

impl Unpacker {
    pub(crate) fn new(manifest: ManifestId, specs: &'static [ContentSpec]) -> Self {
        Unpacker {
            manifest,
            specs,
            prefix: String::new(),
            contents: Vec::with_capacity(specs.len()),
        }
    }

    /// The stored key of a content of this type.
    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Unpacks `value`, of a `#[storable(nested)]` field, into contents keyed
    /// `<key>.<its key>`, each with its own serializer and storage; the content `<key>`
    /// records the nested type's class and version, for its migrations.
    pub fn push_nested<N: Storable>(&mut self, index: usize, value: &N) -> Result<()> {
        let marker = NestedMarker {
            class_id: N::CLASS_ID.to_string(),
            version: N::VERSION,
        };
        self.push(index, &crate::serializer::Json, &marker)?;
        let mut nested = Unpacker {
            manifest: self.manifest,
            specs: N::CONTENTS,
            prefix: format!("{}.", self.full_key(self.specs[index].key)),
            contents: Vec::new(),
        };
        value.unpack(&mut nested)?;
        self.contents.append(&mut nested.contents);
        Ok(())
    }

    /// Serializes `value` as the content described by `specs[index]`.
    pub fn push<S: Serializer<V>, V>(
        &mut self,
        index: usize,
        serializer: &S,
        value: &V,
    ) -> Result<()> {
        let key = self.full_key(self.specs[index].key);
        self.push_keyed(index, key, serializer, value)
    }

    /// Serializes each entry of `container` as a content of its own, keyed
    /// `<key>.<entry>` (`<key>` alone for an `Option`), for a `#[content(each)]` field.
    pub fn push_each<S: Serializer<C::Item>, C: EachContent>(
        &mut self,
        index: usize,
        serializer: &S,
        container: &C,
    ) -> Result<()> {
        let prefix = self.full_key(self.specs[index].key);
        for (entry, item) in container.entries() {
            let key = match entry {
                None => prefix.clone(),
                Some(entry) => {
                    let key = format!("{prefix}.{entry}");
                    if let Err(reason) = check_entry(&entry) {
                        return Err(Error::InvalidContentKey {
                            manifest: self.manifest,
                            key,
                            reason,
                        });
                    }
                    key
                }
            };
            self.push_keyed(index, key, serializer, item)?;
        }
        Ok(())
    }

    fn push_keyed<S: Serializer<V>, V>(
        &mut self,
        index: usize,
        key: String,
        serializer: &S,
        value: &V,
    ) -> Result<()> {
        let spec = &self.specs[index];
        let data = serializer
            .serialize(value)
            .map_err(|source| Error::Serialize {
                manifest: self.manifest,
                key: key.clone(),
                serializer: serializer.name().to_owned(),
                source,
            })?;
        let data = match spec.encoding {
            Some(encoding) => encoding.encode(&data).map_err(|source| Error::Encoding {
                action: "compress",
                manifest: self.manifest,
                key: key.clone(),
                encoding: encoding.name().to_owned(),
                source,
            })?,
            None => data,
        };
        self.contents.push(UnpackedContent {
            spec,
            key,
            data,
            stream: None,
            content_type: serializer.content_type().to_owned(),
            serializer_name: serializer.name().to_owned(),
            serializer_config: serializer.config(),
            encoding: spec.encoding,
        });
        Ok(())
    }

    /// Queues the items of `stream` as the content described by `specs[index]`, to be
    /// encoded with `serializer` as its storage writes them.
    pub fn push_stream<S: StreamSerializer<T>, T: Send + 'static>(
        &mut self,
        index: usize,
        serializer: &S,
        stream: &ContentStream<T>,
    ) -> Result<()> {
        let spec = &self.specs[index];
        let key = self.full_key(spec.key);
        let items = stream
            .take_for_save()
            .ok_or_else(|| Error::StreamConsumed {
                manifest: self.manifest,
                key: key.clone(),
            })?;
        let failure = FailureSlot::default();
        let what = Described {
            manifest: self.manifest,
            key: key.clone(),
            serializer: serializer.name().to_owned(),
        };
        let mut bytes =
            crate::stream::encode(items, serializer.encoder(), what.clone(), failure.clone());
        if let Some(encoding) = spec.encoding {
            bytes = crate::stream::compress(bytes, encoding, what, failure.clone());
        }
        self.contents.push(UnpackedContent {
            spec,
            key: key.clone(),
            data: Bytes::new(),
            stream: Some(PendingStream {
                bytes: std::sync::Mutex::new(Some(bytes)),
                failure,
            }),
            content_type: serializer.content_type().to_owned(),
            serializer_name: serializer.name().to_owned(),
            serializer_config: serializer.config(),
            encoding: spec.encoding,
        });
        Ok(())
    }
}

/// One content read back from storage, its hash already checked; or, for a content
/// the loaded type reads as a stream, where to read it from.
#[derive(Debug)]
pub(crate) struct LoadedContent {
    pub key: String,
    pub data: Bytes,
    /// Set for a stream not read yet (`data` then holds its bytes only if they were
    /// kept in the database, unchecked).
    pub lazy: Option<LazySource>,
    pub content_type: String,
    pub serializer_name: String,
    pub serializer_config: Option<serde_json::Value>,
    /// The compression to undo, as recorded with the content.
    pub encoding: Option<crate::Encoding>,
}

/// Where a stream content's bytes are, and what they must hash to.
#[derive(Clone)]
pub(crate) struct LazySource {
    /// `None` when the bytes came with the content's row.
    pub storage: Option<std::sync::Arc<dyn crate::storage::Storage>>,
    pub config: serde_json::Value,
    pub expected: Expected,
}

impl std::fmt::Debug for LazySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazySource")
            .field("storage", &self.expected.storage)
            .field("config", &self.config)
            .finish()
    }
}

/// Hands the contents of one manifest to `Storable::repack`.
pub struct Repacker {
    manifest: ManifestId,
    /// The version the manifest (or, for a nested value, its type) was saved at.
    version: u32,
    /// Before every key: `results.` for the contents of a nested field `results`.
    prefix: String,
    contents: Vec<LoadedContent>,
}

/// What the content of a `#[storable(nested)]` field records of the nested type.
#[derive(serde::Serialize, serde::Deserialize)]
struct NestedMarker {
    class_id: String,
    version: u32,
}

impl Repacker {
    pub(crate) fn new(manifest: ManifestId, version: u32, contents: Vec<LoadedContent>) -> Self {
        Repacker {
            manifest,
            version,
            prefix: String::new(),
            contents,
        }
    }

    /// The stored key of a content of this type.
    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Deserializes the content stored under `key`.
    pub fn take<S: Serializer<V>, V>(&mut self, key: &'static str, serializer: &S) -> Result<V> {
        let key = self.full_key(key);
        take_content(self.manifest, &mut self.contents, &key, serializer)
    }

    /// Rebuilds the value of a `#[storable(nested)]` field from the contents under
    /// `<key>.`, at the version its type was saved at, migrating it as a top-level value
    /// would be.
    pub fn take_nested<N: Storable>(&mut self, key: &'static str) -> Result<N> {
        let marker: NestedMarker = self.take(key, &crate::serializer::Json)?;
        let full_key = self.full_key(key);
        if marker.class_id != N::CLASS_ID.to_string() {
            return Err(Error::InvalidContentKey {
                manifest: self.manifest,
                key: full_key,
                reason: format!(
                    "holds a value of class {}, not `{}` (class {})",
                    marker.class_id,
                    N::type_name(),
                    N::CLASS_ID
                ),
            });
        }
        let prefix = format!("{full_key}.");
        let (nested, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.contents)
            .into_iter()
            .partition(|content| content.key.starts_with(&prefix));
        self.contents = rest;
        let mut nested = Repacker {
            manifest: self.manifest,
            version: marker.version,
            prefix,
            contents: nested,
        };
        N::repack_version(marker.version, &mut nested)
    }

    /// The entries of a `#[content(each)]` field: every content keyed `<key>.<entry>`
    /// (or `<key>` alone, for an `Option`), each deserialized on its own.
    pub fn take_each<S: Serializer<C::Item>, C: EachContent>(
        &mut self,
        key: &'static str,
        serializer: &S,
    ) -> Result<C> {
        let manifest = self.manifest;
        let key = self.full_key(key);
        let prefix = format!("{key}.");
        let mut entries = Vec::new();
        let mut index = 0;
        while index < self.contents.len() {
            let content_key = &self.contents[index].key;
            let entry = if *content_key == key {
                None
            } else if let Some(entry) = content_key.strip_prefix(&prefix) {
                Some(entry.to_owned())
            } else {
                index += 1;
                continue;
            };
            let content = self.contents.swap_remove(index);
            if content.lazy.is_some() {
                return Err(Error::StreamMismatch {
                    manifest,
                    key: content.key,
                    reason: "is a stream, which a `#[content(each)]` field does not read",
                });
            }
            entries.push((entry, decode(manifest, content, serializer)?));
        }
        C::from_entries(entries).map_err(|reason| Error::InvalidContentKey {
            manifest,
            key,
            reason,
        })
    }

    /// The content stored under `key` as a stream of items, read lazily.
    pub fn take_stream<S: StreamSerializer<T>, T: Send + 'static>(
        &mut self,
        key: &'static str,
        serializer: &S,
    ) -> Result<ContentStream<T>> {
        let manifest = self.manifest;
        let key = self.full_key(key);
        let position = self
            .contents
            .iter()
            .position(|content| content.key == key)
            .ok_or_else(|| Error::MissingContent {
                manifest,
                key: key.clone(),
            })?;
        let content = self.contents.swap_remove(position);
        if !serializer.can_read(&content.serializer_name) {
            return Err(Error::SerializerMismatch {
                manifest,
                key: content.key,
                stored: content.serializer_name,
                expected: serializer.name().to_owned(),
            });
        }
        let what = Described {
            manifest,
            key: content.key.clone(),
            serializer: content.serializer_name.clone(),
        };
        let stored = Stored {
            serializer_name: &content.serializer_name,
            serializer_config: content.serializer_config.as_ref(),
            content_type: &content.content_type,
        };
        if let Some((source, bytes, expected)) = ranged_source(&content) {
            if let Some(items) = serializer.read_ranged(source, &stored) {
                return Ok(ContentStream::loaded(crate::stream::ranged(
                    items, bytes, what, expected,
                )));
            }
        }
        let decoder = serializer
            .decoder(&stored)
            .map_err(|source| Error::Deserialize {
                manifest,
                key: content.key.clone(),
                serializer: content.serializer_name.clone(),
                source,
            })?;
        let data = content.data;
        let (bytes, expected): (ByteStream, _) = match content.lazy {
            Some(LazySource {
                storage: Some(storage),
                config,
                expected,
            }) => {
                // Opened when first polled, so a stream never read opens nothing.
                let opened =
                    futures::stream::once(async move { storage.read_stream(&config).await });
                let bytes = opened
                    .flat_map(|opened| match opened {
                        Ok(bytes) => bytes,
                        Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
                    })
                    .boxed();
                (bytes, Some(expected))
            }
            lazy => {
                let bytes = futures::stream::iter((!data.is_empty()).then_some(Ok(data))).boxed();
                (bytes, lazy.map(|source| source.expected))
            }
        };
        Ok(ContentStream::loaded(crate::stream::decode(
            bytes,
            decoder,
            what,
            expected,
            content.encoding,
        )))
    }
}

/// Byte ranges of a stream content read out of order, the whole of it in order for its
/// hash, and the hash; `None` for a content stored with an encoding, whose ranges are
/// not those of its format.
fn ranged_source(
    content: &LoadedContent,
) -> Option<(crate::serializer::RangeSource, ByteStream, Expected)> {
    if content.encoding.is_some() {
        return None;
    }
    let lazy = content.lazy.as_ref()?;
    let expected = lazy.expected.clone();
    match &lazy.storage {
        Some(storage) => {
            let (ranges, whole) = (storage.clone(), storage.clone());
            let (config, whole_config) = (lazy.config.clone(), lazy.config.clone());
            let source = crate::serializer::RangeSource::new(expected.size, move |range| {
                let storage = ranges.clone();
                let config = config.clone();
                Box::pin(async move { storage.read_range(&config, range).await })
            });
            // Opened when first polled, as the items are.
            let bytes =
                futures::stream::once(async move { whole.read_stream(&whole_config).await })
                    .flat_map(|opened| match opened {
                        Ok(bytes) => bytes,
                        Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
                    })
                    .boxed();
            Some((source, bytes, expected))
        }
        None => {
            let data = content.data.clone();
            let bytes = futures::stream::iter([Ok(data.clone())]).boxed();
            Some((
                crate::serializer::RangeSource::from_bytes(data),
                bytes,
                expected,
            ))
        }
    }
}

/// Removes the content under `key` from `contents` and deserializes it.
pub(crate) fn take_content<S: Serializer<V>, V>(
    manifest: ManifestId,
    contents: &mut Vec<LoadedContent>,
    key: &str,
    serializer: &S,
) -> Result<V> {
    let position = contents
        .iter()
        .position(|content| content.key == key)
        .ok_or_else(|| Error::MissingContent {
            manifest,
            key: key.to_owned(),
        })?;
    let content = contents.swap_remove(position);
    if content.lazy.is_some() {
        return Err(Error::StreamMismatch {
            manifest,
            key: content.key,
            reason: "was left unread, as the type being loaded reads it as a stream; a \
                     previous version that reads it as a value cannot be migrated from it",
        });
    }
    decode(manifest, content, serializer)
}

/// Deserializes one loaded content with `serializer`, which must be able to read it.
fn decode<S: Serializer<V>, V>(
    manifest: ManifestId,
    content: LoadedContent,
    serializer: &S,
) -> Result<V> {
    if !serializer.can_read(&content.serializer_name) {
        return Err(Error::SerializerMismatch {
            manifest,
            key: content.key,
            stored: content.serializer_name,
            expected: serializer.name().to_owned(),
        });
    }
    let data = match content.encoding {
        Some(encoding) => encoding
            .decode(&content.data)
            .map_err(|source| Error::Encoding {
                action: "decompress",
                manifest,
                key: content.key.clone(),
                encoding: encoding.name().to_owned(),
                source,
            })?,
        None => content.data,
    };
    let stored = Stored {
        serializer_name: &content.serializer_name,
        serializer_config: content.serializer_config.as_ref(),
        content_type: &content.content_type,
    };
    serializer
        .deserialize(data, &stored)
        .map_err(|source| Error::Deserialize {
            manifest,
            key: content.key.clone(),
            serializer: content.serializer_name.clone(),
            source,
        })
}

/// The error for a stored version that `T` does not load.
pub fn unsupported_version<T: Storable>(contents: &Repacker, version: u32) -> Error {
    Error::UnsupportedVersion {
        manifest: contents.manifest,
        type_name: T::type_name(),
        class_id: T::CLASS_ID,
        stored: version,
        known: T::known_versions(),
    }
}

/// What `#[storable(version = N, migrate_from = Previous)]` needs of the type: a
/// conversion from the previous version, `From` or `TryFrom`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` declares `migrate_from = {Previous}` but cannot be made from a `{Previous}`",
    label = "`{Self}` implements neither `From<{Previous}>` nor `TryFrom<{Previous}>`",
    note = "add `impl From<{Previous}> for {Self}`, or `impl TryFrom<{Previous}> for {Self}` whose `Error` implements `std::error::Error + Send + Sync + 'static`"
)]
pub trait MigrateFrom<Previous>: Sized {
    /// The conversion's error, carried in [`Error::VersionMigration`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Converts the previous version's value.
    fn migrate_from(previous: Previous) -> std::result::Result<Self, Self::Error>;
}

impl<Previous, T> MigrateFrom<Previous> for T
where
    T: TryFrom<Previous>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    type Error = T::Error;

    fn migrate_from(previous: Previous) -> std::result::Result<Self, Self::Error> {
        T::try_from(previous)
    }
}

/// One step of a `migrate_from` chain: `previous`, repacked at its own version, converted.
pub fn migrate_step<Previous: Storable, T: Storable + MigrateFrom<Previous>>(
    contents: &Repacker,
    previous: Previous,
) -> Result<T> {
    T::migrate_from(previous).map_err(|error| Error::VersionMigration {
        manifest: contents.manifest,
        type_name: T::type_name(),
        class_id: T::CLASS_ID,
        from: Previous::VERSION,
        to: T::VERSION,
        source: Box::new(error),
    })
}

/// Runs a `migrate` hook on the contents of a manifest stored at `version`.
pub fn run_hook<T: Storable, E, F>(contents: &mut Repacker, hook: F) -> Result<T>
where
    F: FnOnce(OldValue) -> std::result::Result<T, E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let old = OldValue::new(
        contents.manifest,
        T::CLASS_ID,
        contents.version,
        std::mem::take(&mut contents.contents),
    );
    hook(old).map_err(|error| Error::VersionMigration {
        manifest: contents.manifest,
        type_name: T::type_name(),
        class_id: T::CLASS_ID,
        from: contents.version,
        to: T::VERSION,
        source: error.into(),
    })
}

/// A container whose entries a `#[content(each)]` field stores as contents of their
/// own: `Option<T>` (one content or none), `Vec<T>` (keyed by index) and
/// `BTreeMap<String, T>` (keyed by map key).
#[diagnostic::on_unimplemented(
    message = "`#[content(each)]` needs a container of contents, not `{Self}`",
    label = "`{Self}` is not an `Option`, `Vec` or `BTreeMap<String, _>`",
    note = "`each` stores every entry of an `Option<T>`, `Vec<T>` or `BTreeMap<String, T>` as a content of its own; leave it out to store the field as one content"
)]
pub trait EachContent: Sized {
    /// What each entry holds.
    type Item;

    /// Every entry, with the key it is stored under after the field's (`None`: the
    /// field's key itself).
    fn entries(&self) -> Vec<(Option<String>, &Self::Item)>;

    /// The container again from its stored entries, in any order.
    fn from_entries(
        entries: Vec<(Option<String>, Self::Item)>,
    ) -> std::result::Result<Self, String>;
}

/// The longest entry key, in bytes: with the field's key it fits a content key.
const MAX_ENTRY_LEN: usize = 200;

fn check_entry(entry: &str) -> std::result::Result<(), String> {
    if entry.is_empty() {
        return Err("an entry's key must not be empty".to_owned());
    }
    if entry.len() > MAX_ENTRY_LEN {
        return Err(format!("an entry's key is at most {MAX_ENTRY_LEN} bytes"));
    }
    if entry.chars().any(char::is_control) {
        return Err("an entry's key must not contain control characters".to_owned());
    }
    Ok(())
}

impl<T> EachContent for Option<T> {
    type Item = T;

    fn entries(&self) -> Vec<(Option<String>, &T)> {
        self.iter().map(|item| (None, item)).collect()
    }

    fn from_entries(mut entries: Vec<(Option<String>, T)>) -> std::result::Result<Self, String> {
        match entries.len() {
            0 => Ok(None),
            1 if entries[0].0.is_none() => Ok(entries.pop().map(|(_, item)| item)),
            _ => Err(format!(
                "an `Option` field has one content at most, stored under its own key; found {}",
                describe(&entries)
            )),
        }
    }
}

impl<T> EachContent for Vec<T> {
    type Item = T;

    fn entries(&self) -> Vec<(Option<String>, &T)> {
        self.iter()
            .enumerate()
            .map(|(i, item)| (Some(i.to_string()), item))
            .collect()
    }

    fn from_entries(entries: Vec<(Option<String>, T)>) -> std::result::Result<Self, String> {
        let found = describe(&entries);
        let mut numbered = Vec::with_capacity(entries.len());
        for (entry, item) in entries {
            let index = entry
                .as_deref()
                .and_then(|e| e.parse::<usize>().ok().filter(|i| i.to_string() == e))
                .ok_or_else(|| {
                    format!("a `Vec` field's entries are numbered 0, 1, ...; found {found}")
                })?;
            numbered.push((index, item));
        }
        numbered.sort_by_key(|(index, _)| *index);
        if numbered
            .iter()
            .enumerate()
            .any(|(i, (index, _))| i != *index)
        {
            return Err(format!(
                "a `Vec` field's entries are numbered 0 to {} without a gap; found {found}",
                numbered.len().saturating_sub(1)
            ));
        }
        Ok(numbered.into_iter().map(|(_, item)| item).collect())
    }
}

impl<T> EachContent for std::collections::BTreeMap<String, T> {
    type Item = T;

    fn entries(&self) -> Vec<(Option<String>, &T)> {
        self.iter()
            .map(|(key, item)| (Some(key.clone()), item))
            .collect()
    }

    fn from_entries(entries: Vec<(Option<String>, T)>) -> std::result::Result<Self, String> {
        let found = describe(&entries);
        entries
            .into_iter()
            .map(|(entry, item)| {
                entry
                    .map(|entry| (entry, item))
                    .ok_or_else(|| format!("a map field's entries are keyed; found {found}"))
            })
            .collect()
    }
}

/// The stored entry keys, for messages.
fn describe<T>(entries: &[(Option<String>, T)]) -> String {
    let keys: Vec<String> = entries
        .iter()
        .map(|(entry, _)| match entry {
            Some(entry) => format!("`.{entry}`"),
            None => "the field's own key".to_owned(),
        })
        .collect();
    if keys.is_empty() {
        "none".to_owned()
    } else {
        keys.join(", ")
    }
}
