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

// Names and checks for generated code (the derive).
//
// Everything below is self-contained (full paths, no edits above), so that it moves as one
// block. The derive names std, core and serde items only through `prelude`, so a user's
// crate that defines its own `Result`, `Option` or `String` still compiles. It checks each
// field once, at the user's token, through the probes further down: each probe picks, by
// method resolution on references (dtolnay's autoref specialization), either the real
// handler, when the field's type and serializer fit, or a placeholder whose method carries
// a bound that no type meets and whose `on_unimplemented` is lakery's message. The
// placeholder never runs: a program that selects it does not compile. So a mistake is one
// error, and the code that uses the field after the check reports nothing more.

/// The std, core and serde names generated code uses. A module of their own: this file
/// already imports lakery's `Result` under that name.
pub mod prelude {
    pub use ::core::default::Default;
    pub use ::core::marker::{PhantomData, Send};
    pub use ::core::option::Option::{self, None, Some};
    pub use ::core::result::Result::{self, Err, Ok};
    pub use ::serde::de::DeserializeOwned;
    pub use ::serde::{Deserialize, Serialize};
    pub use ::std::boxed::Box;
    pub use ::std::string::String;
    pub use ::std::vec::Vec;
}

/// Probes and handlers: see the comment above `prelude`.
pub mod probe {
    use ::core::marker::PhantomData;

    use ::serde::de::DeserializeOwned;
    use ::serde::Serialize;

    use crate::__private::{EachContent, Field, Repacker, Unpacker};
    use crate::serializer::{Serializer, StreamSerializer};
    use crate::storable::Storable;
    use crate::stream::ContentStream;

    /// The probes' traits, unnamed, for a glob import in generated code: they must be in
    /// scope for their methods to resolve, and must not shadow a user's type names.
    pub mod methods {
        pub use super::{
            BodyFieldPlaceholder as _, BodyFieldSerde as _, ContainerFits as _,
            ContainerPlaceholder as _, EachFits as _, EachItemPlaceholder as _,
            EachPlaceholder as _, NestedFits as _, NestedPlaceholder as _, StreamFits as _,
            StreamPlaceholder as _, ValueFits as _, ValuePlaceholder as _,
        };
    }

    const UNREACHABLE: &str =
        "lakery invariant: a placeholder of the derive runs only in code that does not compile";

    // ---- The messages: traits no type implements, named in the placeholders' bounds.
    // Each is named for what is required, as rustc's help line reads "the trait `X` is
    // not implemented for `Y`".

    #[diagnostic::on_unimplemented(
        message = "a body field of type `{Self}` must implement `serde::Serialize` and `serde::de::DeserializeOwned`",
        label = "fields without `#[content]` are serialized together, as the body, through serde",
        note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or give the field `#[content(serializer = ...)]` with a serializer that handles it"
    )]
    pub trait SerdeBodyField {}

    #[diagnostic::on_unimplemented(
        message = "a body field of type `{T}` needs the bound `{T}: serde::Serialize + serde::de::DeserializeOwned`",
        label = "fields without `#[content]` are serialized together, as the body, through serde",
        note = "add `{T}: serde::Serialize + serde::de::DeserializeOwned` to the struct's `where` clause: the derive does not add bounds of its own"
    )]
    pub trait BoundedBodyField<T> {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot serialize the body of `{Owner}`",
        label = "the body (the fields without `#[content]`) is one struct, serialized through serde",
        note = "`#[storable(serializer = ...)]` needs a serde-based serializer such as `Json`, `Bincode` or `MessagePack`; give a field that needs another serializer `#[content(serializer = ...)]`"
    )]
    pub trait BodySerializerOf<Owner> {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot serialize a field of type `{V}`",
        label = "`{Self}` does not implement `Serializer<{V}>`",
        note = "choose a serializer that handles `{V}` in `#[content(serializer = ...)]`, or implement `lakery::serializer::Serializer<{V}>` for `{Self}`"
    )]
    pub trait SerializerFor<V> {}

    #[diagnostic::on_unimplemented(
        message = "a `#[content]` field of type `{Self}` is serialized with `Json` by default, which needs `serde::Serialize` and `serde::de::DeserializeOwned`",
        label = "`{Self}` does not implement the serde traits",
        note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or choose a serializer that handles it with `#[content(serializer = ...)]`"
    )]
    pub trait SerdeContent {}

    #[diagnostic::on_unimplemented(
        message = "a `#[content]` field of type `{Self}` needs the bound `{Self}: serde::Serialize + serde::de::DeserializeOwned` for `Json`, its default serializer",
        label = "`{Self}` is not bounded by the serde traits",
        note = "add `{Self}: serde::Serialize + serde::de::DeserializeOwned` to the struct's `where` clause (the derive does not add bounds of its own), or choose a serializer with `#[content(serializer = ...)]`"
    )]
    pub trait BoundedContentField {}

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot serialize a stream of `{T}`",
        label = "`{Self}` does not implement `StreamSerializer<{T}>`",
        note = "a `ContentStream<{T}>` field needs a stream serializer that handles `{T}`, such as `JsonLines`, `Csv`, `MessagePack`, `RawChunks` (for `Bytes`) or `TextLines` (for `String`)"
    )]
    pub trait StreamSerializerFor<T> {}

    #[diagnostic::on_unimplemented(
        message = "`#[content(each)]` needs a container of contents, not `{Self}`",
        label = "`{Self}` is not an `Option`, `Vec` or `BTreeMap<String, _>`",
        note = "`each` stores every entry of an `Option<T>`, `Vec<T>` or `BTreeMap<String, T>` as a content of its own; leave it out to store the field as one content"
    )]
    pub trait EachContainer {}

    // ---- Handlers: what a probe hands back. Each has `push` (save) and `take` (load).

    /// A field stored as one value with a serializer.
    pub struct ValueHandler<'a, S, V>(&'a S, PhantomData<fn() -> V>);

    impl<S: Serializer<V>, V> ValueHandler<'_, S, V> {
        pub fn push(&self, contents: &mut Unpacker, index: usize, value: &V) -> crate::Result<()> {
            contents.push(index, self.0, value)
        }

        pub fn take(&self, contents: &mut Repacker, key: &'static str) -> crate::Result<V> {
            contents.take(key, self.0)
        }
    }

    /// A `#[content(each)]` field.
    pub struct EachHandler<'a, S, C>(&'a S, PhantomData<fn() -> C>);

    impl<S: Serializer<C::Item>, C: EachContent> EachHandler<'_, S, C> {
        pub fn push(&self, contents: &mut Unpacker, index: usize, value: &C) -> crate::Result<()> {
            contents.push_each(index, self.0, value)
        }

        pub fn take(&self, contents: &mut Repacker, key: &'static str) -> crate::Result<C> {
            contents.take_each(key, self.0)
        }
    }

    /// A `ContentStream<T>` field.
    pub struct StreamHandler<'a, S, T>(&'a S, PhantomData<fn() -> T>);

    impl<S: StreamSerializer<T>, T: Send + 'static> StreamHandler<'_, S, T> {
        pub fn push(
            &self,
            contents: &mut Unpacker,
            index: usize,
            value: &ContentStream<T>,
        ) -> crate::Result<()> {
            contents.push_stream(index, self.0, value)
        }

        pub fn take(
            &self,
            contents: &mut Repacker,
            key: &'static str,
        ) -> crate::Result<ContentStream<T>> {
            contents.take_stream(key, self.0)
        }
    }

    /// A `#[storable(nested)]` field.
    pub struct NestedHandler<N>(PhantomData<fn() -> N>);

    impl<N: Storable> NestedHandler<N> {
        pub fn push(&self, contents: &mut Unpacker, index: usize, value: &N) -> crate::Result<()> {
            contents.push_nested(index, value)
        }

        pub fn take(&self, contents: &mut Repacker, key: &'static str) -> crate::Result<N> {
            contents.take_nested(key)
        }
    }

    /// The handler of a field whose check failed.
    pub struct Placeholder<V>(PhantomData<fn() -> V>);

    impl<V> Placeholder<V> {
        pub fn push(&self, _: &mut Unpacker, _: usize, _: &V) -> crate::Result<()> {
            unreachable!("{UNREACHABLE}")
        }

        pub fn take(&self, _: &mut Repacker, _: &'static str) -> crate::Result<V> {
            unreachable!("{UNREACHABLE}")
        }
    }

    fn placeholder<V>() -> Placeholder<V> {
        Placeholder(PhantomData)
    }

    // ---- Body fields: borrowed into the body when saving, owned when loading.

    /// How a body field of type `T` goes into the body.
    pub struct BodyField<T>(PhantomData<fn() -> T>);

    impl<T> BodyField<T> {
        pub fn new() -> Self {
            BodyField(PhantomData)
        }
    }

    impl<T> Default for BodyField<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    /// A body field through serde.
    pub struct SerdeField<T>(PhantomData<fn() -> T>);

    impl<T> SerdeField<T> {
        pub fn borrow<'a>(&self, value: &'a T) -> Field<'a, T> {
            Field::Borrowed(value)
        }

        /// The type the body holds it as when loading.
        pub fn owned(&self) -> PhantomData<Field<'static, T>> {
            PhantomData
        }
    }

    /// A body field whose check failed: serializes as nothing, never runs.
    pub struct PlaceholderField<T>(PhantomData<fn() -> T>);

    impl<T> PlaceholderField<T> {
        pub fn borrow(&self, _: &T) -> PlaceholderValue<T> {
            PlaceholderValue(PhantomData)
        }

        pub fn owned(&self) -> PhantomData<PlaceholderValue<T>> {
            PhantomData
        }
    }

    pub struct PlaceholderValue<T>(PhantomData<fn() -> T>);

    impl<T> PlaceholderValue<T> {
        pub fn into_owned(self) -> T {
            unreachable!("{UNREACHABLE}")
        }
    }

    impl<T> Serialize for PlaceholderValue<T> {
        fn serialize<S: ::serde::Serializer>(
            &self,
            _: S,
        ) -> ::core::result::Result<S::Ok, S::Error> {
            unreachable!("{UNREACHABLE}")
        }
    }

    impl<'de, T> ::serde::Deserialize<'de> for PlaceholderValue<T> {
        fn deserialize<D: ::serde::Deserializer<'de>>(
            _: D,
        ) -> ::core::result::Result<Self, D::Error> {
            unreachable!("{UNREACHABLE}")
        }
    }

    pub trait BodyFieldSerde<T> {
        fn checked(&self) -> SerdeField<T>;
        fn checked_generic(&self) -> SerdeField<T>;
        fn silent(&self) -> SerdeField<T>;
    }

    impl<T: Serialize + DeserializeOwned> BodyFieldSerde<T> for BodyField<T> {
        fn checked(&self) -> SerdeField<T> {
            SerdeField(PhantomData)
        }
        fn checked_generic(&self) -> SerdeField<T> {
            SerdeField(PhantomData)
        }
        fn silent(&self) -> SerdeField<T> {
            SerdeField(PhantomData)
        }
    }

    /// What the body's marker type is, in `BoundedBodyField<T>`: a generic field's type is a
    /// parameter, and a bound on a parameter would make rustc suggest that bound.
    pub enum Body {}

    pub trait BodyFieldPlaceholder<T> {
        fn checked(&self) -> PlaceholderField<T>
        where
            T: SerdeBodyField;
        fn checked_generic(&self) -> PlaceholderField<T>
        where
            Body: BoundedBodyField<T>;
        fn silent(&self) -> PlaceholderField<T>;
    }

    impl<T> BodyFieldPlaceholder<T> for &BodyField<T> {
        fn checked(&self) -> PlaceholderField<T>
        where
            T: SerdeBodyField,
        {
            PlaceholderField(PhantomData)
        }
        fn checked_generic(&self) -> PlaceholderField<T>
        where
            Body: BoundedBodyField<T>,
        {
            PlaceholderField(PhantomData)
        }
        fn silent(&self) -> PlaceholderField<T> {
            PlaceholderField(PhantomData)
        }
    }

    // ---- A value with a serializer: the body, or a `#[content]` field.

    /// Serializer `S` for values of type `V`; `Owner` is the struct, for messages.
    pub struct Value<'a, S, V, Owner = ()>(&'a S, PhantomData<fn() -> (V, Owner)>);

    impl<'a, S, V, Owner> Value<'a, S, V, Owner> {
        pub fn new(serializer: &'a S) -> Self {
            Value(serializer, PhantomData)
        }

        /// For the body, whose type is only known as a value (`PhantomData`) or a reference.
        pub fn of(serializer: &'a S, _: PhantomData<V>) -> Self {
            Value(serializer, PhantomData)
        }

        pub fn for_value(serializer: &'a S, _: &V) -> Self {
            Value(serializer, PhantomData)
        }
    }

    pub trait ValueFits<'a, S, V> {
        fn checked(&self) -> ValueHandler<'a, S, V>;
        fn checked_default(&self) -> ValueHandler<'a, S, V>;
        fn checked_generic_default(&self) -> ValueHandler<'a, S, V>;
        fn checked_body(&self) -> ValueHandler<'a, S, V>;
        fn silent(&self) -> ValueHandler<'a, S, V>;
    }

    impl<'a, S: Serializer<V>, V, Owner> ValueFits<'a, S, V> for Value<'a, S, V, Owner> {
        fn checked(&self) -> ValueHandler<'a, S, V> {
            ValueHandler(self.0, PhantomData)
        }
        fn checked_default(&self) -> ValueHandler<'a, S, V> {
            ValueHandler(self.0, PhantomData)
        }
        fn checked_generic_default(&self) -> ValueHandler<'a, S, V> {
            ValueHandler(self.0, PhantomData)
        }
        fn checked_body(&self) -> ValueHandler<'a, S, V> {
            ValueHandler(self.0, PhantomData)
        }
        fn silent(&self) -> ValueHandler<'a, S, V> {
            ValueHandler(self.0, PhantomData)
        }
    }

    pub trait ValuePlaceholder<S, V, Owner> {
        fn checked(&self) -> Placeholder<V>
        where
            S: SerializerFor<V>;
        fn checked_default(&self) -> Placeholder<V>
        where
            V: SerdeContent;
        fn checked_generic_default(&self) -> Placeholder<V>
        where
            V: BoundedContentField;
        fn checked_body(&self) -> Placeholder<V>
        where
            S: BodySerializerOf<Owner>;
        fn silent(&self) -> Placeholder<V>;
    }

    impl<S, V, Owner> ValuePlaceholder<S, V, Owner> for &Value<'_, S, V, Owner> {
        fn checked(&self) -> Placeholder<V>
        where
            S: SerializerFor<V>,
        {
            placeholder()
        }
        fn checked_default(&self) -> Placeholder<V>
        where
            V: SerdeContent,
        {
            placeholder()
        }
        fn checked_generic_default(&self) -> Placeholder<V>
        where
            V: BoundedContentField,
        {
            placeholder()
        }
        fn checked_body(&self) -> Placeholder<V>
        where
            S: BodySerializerOf<Owner>,
        {
            placeholder()
        }
        fn silent(&self) -> Placeholder<V> {
            placeholder()
        }
    }

    // ---- `#[content(each)]`: the container, then the serializer of its items.

    /// Container `C` of a `#[content(each)]` field.
    pub struct Container<C>(PhantomData<fn() -> C>);

    impl<C> Container<C> {
        pub fn new() -> Self {
            Container(PhantomData)
        }
    }

    impl<C> Default for Container<C> {
        fn default() -> Self {
            Self::new()
        }
    }

    pub trait ContainerFits {
        fn checked(&self);
    }

    impl<C: EachContent> ContainerFits for Container<C> {
        fn checked(&self) {}
    }

    pub trait ContainerPlaceholder<C> {
        fn checked(&self)
        where
            C: EachContainer;
    }

    impl<C> ContainerPlaceholder<C> for &Container<C> {
        fn checked(&self)
        where
            C: EachContainer,
        {
        }
    }

    /// Serializer `S` for the entries of container `C`; call on `&&Each`.
    pub struct Each<'a, S, C>(&'a S, PhantomData<fn() -> C>);

    impl<'a, S, C> Each<'a, S, C> {
        pub fn new(serializer: &'a S) -> Self {
            Each(serializer, PhantomData)
        }
    }

    pub trait EachFits<'a, S, C> {
        fn checked(&self) -> EachHandler<'a, S, C>;
        fn silent(&self) -> EachHandler<'a, S, C>;
    }

    impl<'a, S: Serializer<C::Item>, C: EachContent> EachFits<'a, S, C> for &Each<'a, S, C> {
        fn checked(&self) -> EachHandler<'a, S, C> {
            EachHandler(self.0, PhantomData)
        }
        fn silent(&self) -> EachHandler<'a, S, C> {
            EachHandler(self.0, PhantomData)
        }
    }

    /// A container whose items the serializer cannot handle: reported here.
    pub trait EachItemPlaceholder<S, C: EachContent> {
        fn checked(&self) -> Placeholder<C>
        where
            S: SerializerFor<C::Item>;
        fn silent(&self) -> Placeholder<C>;
    }

    impl<S, C: EachContent> EachItemPlaceholder<S, C> for &&Each<'_, S, C> {
        fn checked(&self) -> Placeholder<C>
        where
            S: SerializerFor<C::Item>,
        {
            placeholder()
        }
        fn silent(&self) -> Placeholder<C> {
            placeholder()
        }
    }

    /// Not a container at all: reported by `Container`, so nothing more here.
    pub trait EachPlaceholder<C> {
        fn checked(&self) -> Placeholder<C>;
        fn silent(&self) -> Placeholder<C>;
    }

    impl<S, C> EachPlaceholder<C> for Each<'_, S, C> {
        fn checked(&self) -> Placeholder<C> {
            placeholder()
        }
        fn silent(&self) -> Placeholder<C> {
            placeholder()
        }
    }

    // ---- `ContentStream<T>` fields.

    /// Stream serializer `S` for items of type `T`.
    pub struct Stream<'a, S, T>(&'a S, PhantomData<fn() -> T>);

    impl<'a, S, T> Stream<'a, S, T> {
        pub fn new(serializer: &'a S) -> Self {
            Stream(serializer, PhantomData)
        }
    }

    pub trait StreamFits<'a, S, T> {
        fn checked(&self) -> StreamHandler<'a, S, T>;
        fn silent(&self) -> StreamHandler<'a, S, T>;
    }

    impl<'a, S: StreamSerializer<T>, T: Send + 'static> StreamFits<'a, S, T> for Stream<'a, S, T> {
        fn checked(&self) -> StreamHandler<'a, S, T> {
            StreamHandler(self.0, PhantomData)
        }
        fn silent(&self) -> StreamHandler<'a, S, T> {
            StreamHandler(self.0, PhantomData)
        }
    }

    pub trait StreamPlaceholder<S, T> {
        fn checked(&self) -> Placeholder<ContentStream<T>>
        where
            S: StreamSerializerFor<T>;
        fn silent(&self) -> Placeholder<ContentStream<T>>;
    }

    impl<S, T> StreamPlaceholder<S, T> for &Stream<'_, S, T> {
        fn checked(&self) -> Placeholder<ContentStream<T>>
        where
            S: StreamSerializerFor<T>,
        {
            placeholder()
        }
        fn silent(&self) -> Placeholder<ContentStream<T>> {
            placeholder()
        }
    }

    // ---- `#[storable(nested)]` fields, checked by the content spec's `<N as Storable>`.

    pub struct Nested<N>(PhantomData<fn() -> N>);

    impl<N> Nested<N> {
        pub fn new() -> Self {
            Nested(PhantomData)
        }
    }

    impl<N> Default for Nested<N> {
        fn default() -> Self {
            Self::new()
        }
    }

    pub trait NestedFits<N> {
        fn silent(&self) -> NestedHandler<N>;
    }

    impl<N: Storable> NestedFits<N> for Nested<N> {
        fn silent(&self) -> NestedHandler<N> {
            NestedHandler(PhantomData)
        }
    }

    pub trait NestedPlaceholder<N> {
        fn silent(&self) -> Placeholder<N>;
    }

    impl<N> NestedPlaceholder<N> for &Nested<N> {
        fn silent(&self) -> Placeholder<N> {
            placeholder()
        }
    }

    // ---- `migrate_from`, checked at compile time as traits, so that a wrong previous
    // type reads as lakery's message rather than as a panic in constant evaluation.

    /// A `bool` computed by a constant, as a type.
    pub struct Bool<const B: bool>;

    #[diagnostic::on_unimplemented(
        message = "`migrate_from = {Previous}`: `{Previous}` has a different class id from `{This}`",
        label = "the versions of one model share its class id",
        note = "give `{Previous}` the `class_id` of `{This}`: `migrate_from` names the previous version of the same model"
    )]
    pub trait SameClass<Previous, This> {}

    impl<Previous, This> SameClass<Previous, This> for Bool<true> {}

    #[diagnostic::on_unimplemented(
        message = "`migrate_from = {Previous}`: the version of `{Previous}` ({PREVIOUS}) must be lower than {THIS}, the version of `{This}`",
        label = "`migrate_from` names the version before this one",
        note = "give `{Previous}` a lower `version`, or this type a higher one"
    )]
    pub trait LowerVersion<Previous, This, const PREVIOUS: u32, const THIS: u32> {}

    impl<Previous, This, const PREVIOUS: u32, const THIS: u32>
        LowerVersion<Previous, This, PREVIOUS, THIS> for Bool<true>
    {
    }

    pub fn same_class<B: SameClass<Previous, This>, Previous, This>() {}

    pub fn lower_version<
        B: LowerVersion<Previous, This, PREVIOUS, THIS>,
        Previous,
        This,
        const PREVIOUS: u32,
        const THIS: u32,
    >() {
    }
}
