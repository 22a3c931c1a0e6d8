//! Packing: a value into the contents a save writes, as `#[derive(Storable)]`'s
//! `unpack` drives it, field by field.

use bytes::Bytes;

use crate::each::{check_entry, EachContent};
use crate::error::{Error, Result};
use crate::id::ManifestId;
use crate::serializer::{Serializer, StreamSerializer};
use crate::storable::{ContentSpec, Storable};
use crate::storage::ByteStream;
use crate::stream::{ContentStream, Described, FailureSlot};

/// One serialized content, before it is written.
pub struct UnpackedContent {
    /// The field's attributes.
    pub spec: &'static ContentSpec,
    /// The content's key: the spec's, or `<spec key>.<entry>` for an entry of a
    /// `#[content(each)]` field.
    pub key: String,
    /// The bytes; empty for a stream.
    pub data: Bytes,
    /// For a stream, its bytes as they are encoded.
    pub(crate) stream: Option<PendingStream>,
    /// The MIME type the serializer gave.
    pub content_type: String,
    /// The serializer's versioned name.
    pub serializer_name: String,
    /// The serializer's configuration, if it records one.
    pub serializer_config: Option<serde_json::Value>,
    /// The compression applied to the bytes, from the field's attribute.
    pub encoding: Option<crate::encoding::Encoding>,
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

/// What the content of a `#[storable(nested)]` field records of the nested type.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct NestedMarker {
    pub(crate) class_id: String,
    pub(crate) version: u32,
}
