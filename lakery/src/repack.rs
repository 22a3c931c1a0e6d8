//! Repacking: the contents a load read back (old versions' included) into a value, as
//! `#[derive(Storable)]`'s `repack` drives it; and the steps that migrate an old
//! version's value to the current one.

use bytes::Bytes;
use futures::stream::StreamExt;

use crate::each::EachContent;
use crate::error::{Error, Result};
use crate::id::{ClassId, ManifestId};
use crate::pack::NestedMarker;
use crate::serializer::{Json, Serializer, Stored, StreamSerializer};
use crate::storable::Storable;
use crate::storage::ByteStream;
use crate::stream::{ContentStream, Described, Expected};

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
    pub encoding: Option<crate::encoding::Encoding>,
    /// The storage it was read from, for errors.
    pub storage_name: String,
    /// How large it may become when its compression is undone.
    pub decoded_limit: u64,
}

impl LoadedContent {
    /// The content, to be decompressed to at most `limit` bytes.
    pub(crate) fn within(mut self, limit: u64) -> Self {
        self.decoded_limit = limit;
        self
    }
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
        let content = remove(manifest, &mut self.contents, &key)?;
        if !serializer.can_read(&content.serializer_name) {
            return Err(serializer_mismatch(manifest, content, serializer.name()));
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
            max_decoded_size: content.decoded_limit,
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
                let limit = expected.size.saturating_add(1);
                let bytes = crate::storage::open_stream(storage, config, limit);
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
    let content = remove(manifest, contents, key)?;
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

/// Takes the content stored under `key` out of `contents`.
fn remove(
    manifest: ManifestId,
    contents: &mut Vec<LoadedContent>,
    key: &str,
) -> Result<LoadedContent> {
    let position = contents
        .iter()
        .position(|content| content.key == key)
        .ok_or_else(|| Error::MissingContent {
            manifest,
            key: key.to_owned(),
        })?;
    Ok(contents.swap_remove(position))
}

/// The error for a content that the field's serializer, `expected`, cannot read.
fn serializer_mismatch(manifest: ManifestId, content: LoadedContent, expected: &str) -> Error {
    Error::SerializerMismatch {
        manifest,
        key: content.key,
        stored: content.serializer_name,
        expected: expected.to_owned(),
    }
}

/// Deserializes one loaded content with `serializer`, which must be able to read it.
fn decode<S: Serializer<V>, V>(
    manifest: ManifestId,
    content: LoadedContent,
    serializer: &S,
) -> Result<V> {
    if !serializer.can_read(&content.serializer_name) {
        return Err(serializer_mismatch(manifest, content, serializer.name()));
    }
    let data = match content.encoding {
        Some(encoding) => {
            let limit = content.decoded_limit;
            let (data, more) = encoding
                .decode_up_to(&content.data, usize::try_from(limit).unwrap_or(usize::MAX))
                .map_err(|source| Error::Encoding {
                    action: "decompress",
                    manifest,
                    key: content.key.clone(),
                    encoding: encoding.name().to_owned(),
                    source,
                })?;
            if more {
                return Err(Error::TooLarge {
                    manifest,
                    key: content.key,
                    storage: content.storage_name,
                    limit,
                });
            }
            data
        }
        None => content.data,
    };
    let stored = Stored {
        serializer_name: &content.serializer_name,
        serializer_config: content.serializer_config.as_ref(),
        content_type: &content.content_type,
        max_decoded_size: content.decoded_limit,
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

/// The stored contents of a manifest saved by an older version of a type, as a
/// `migrate` hook receives them: each content's bytes (their hash already checked),
/// content type and serializer, by key.
#[derive(Debug)]
pub struct OldValue {
    manifest: ManifestId,
    class_id: ClassId,
    version: u32,
    contents: Vec<LoadedContent>,
}

impl OldValue {
    pub(crate) fn new(
        manifest: ManifestId,
        class_id: ClassId,
        version: u32,
        contents: Vec<LoadedContent>,
    ) -> Self {
        OldValue {
            manifest,
            class_id,
            version,
            contents,
        }
    }

    /// The manifest being loaded.
    pub fn manifest(&self) -> ManifestId {
        self.manifest
    }

    /// The class id.
    pub fn class_id(&self) -> ClassId {
        self.class_id
    }

    /// The version the manifest was saved at.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The keys of the stored contents: `body` for the fields without `#[content]`, and
    /// the name of each `#[content]` field the old version had.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.contents.iter().map(|content| content.key.as_str())
    }

    /// The content stored under `key`, if there is one.
    pub fn content(&self, key: &str) -> Option<OldContent<'_>> {
        self.contents
            .iter()
            .find(|content| content.key == key)
            .map(|content| OldContent { content })
    }

    /// The body (the old fields without `#[content]`) as JSON, when it was saved with the
    /// JSON serializer, the default.
    pub fn body_json(&mut self) -> Result<serde_json::Value> {
        self.json("body")
    }

    /// The content under `key` as JSON, when it was saved with the JSON serializer.
    pub fn json(&mut self, key: &str) -> Result<serde_json::Value> {
        self.take(key, &Json)
    }

    /// Deserializes and removes the content under `key` with `serializer`, which must be
    /// able to read what it was stored with: to read an old `#[content(serializer =
    /// Bincode)]` field as its old type, `old.take::<Vec<f32>, _>("results", &Bincode)`.
    pub fn take<V, S: Serializer<V>>(&mut self, key: &str, serializer: &S) -> Result<V> {
        take_content(self.manifest, &mut self.contents, key, serializer)
    }
}

/// One stored content of an [`OldValue`].
#[derive(Debug, Clone, Copy)]
pub struct OldContent<'a> {
    content: &'a LoadedContent,
}

impl<'a> OldContent<'a> {
    /// The bytes, as stored.
    pub fn data(&self) -> &'a Bytes {
        &self.content.data
    }

    /// The content type recorded when it was saved, such as `application/json`.
    pub fn content_type(&self) -> &'a str {
        &self.content.content_type
    }

    /// The versioned name of the serializer that wrote it, such as `lakery.json@v1`.
    pub fn serializer_name(&self) -> &'a str {
        &self.content.serializer_name
    }

    /// The serializer's configuration, if it recorded one.
    pub fn serializer_config(&self) -> Option<&'a serde_json::Value> {
        self.content.serializer_config.as_ref()
    }
}
