//! Contents as stored, whatever type wrote them: for tools that look at stored data
//! without its Rust type (the `lakery` command line and viewer). Each content is read
//! through `fetch` or as a checked stream, so it is checked as a load
//! checks it.

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};

use crate::db::Database;
use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::fetch;
use crate::id::ManifestId;
use crate::record::StoredContent;
use crate::registry::Registry;
use crate::serializer::RawChunksCodec;
use crate::storage::{open_stream, ByteStream, StorageEntry};
use crate::stream::{Described, Expected};

/// One content's bytes as stored, checked against their hash, with what is needed to
/// read them: returned by [`read_content`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredBytes {
    /// The manifest it belongs to.
    pub manifest: ManifestId,
    /// The content's key.
    pub key: String,
    /// The MIME type its serializer gave.
    pub content_type: String,
    /// The encoding applied after the serializer, if any.
    pub encoding: Option<Encoding>,
    /// The bytes exactly as stored.
    pub data: Bytes,
    /// The storage they were read from, for errors.
    storage: String,
    /// How large they may become when their encoding is undone.
    decoded_limit: u64,
}

impl StoredBytes {
    /// At most `limit` bytes of what its serializer wrote, and whether there was more:
    /// for a look at a content whose decompressed size is not to be trusted.
    pub fn decoded_up_to(&self, limit: usize) -> Result<(Bytes, bool)> {
        match self.encoding {
            None => {
                let more = self.data.len() > limit;
                Ok((self.data.slice(..self.data.len().min(limit)), more))
            }
            Some(encoding) => encoding
                .decode_up_to(&self.data, limit)
                .map_err(|source| self.decompress_error(encoding, source)),
        }
    }

    /// The bytes its serializer wrote: [`data`](StoredBytes::data) with the encoding
    /// undone; [`Error::Encoding`] if they do not decompress, [`Error::TooLarge`] if
    /// they would pass the registry's
    /// [`max_decoded_size`](crate::RegistryBuilder::max_decoded_size).
    pub fn decoded(&self) -> Result<Bytes> {
        let limit = usize::try_from(self.decoded_limit).unwrap_or(usize::MAX);
        match self.decoded_up_to(limit)? {
            (data, false) => Ok(data),
            (_, true) => Err(Error::TooLarge {
                manifest: self.manifest,
                key: self.key.clone(),
                storage: self.storage.clone(),
                limit: self.decoded_limit,
            }),
        }
    }

    fn decompress_error(&self, encoding: Encoding, source: std::io::Error) -> Error {
        Error::Encoding {
            action: "decompress",
            manifest: self.manifest,
            key: self.key.clone(),
            encoding: encoding.name().to_owned(),
            source,
        }
    }
}

/// The stored bytes of one content, whatever type wrote it, checked against their hash:
/// for tools that look at stored data without its Rust type (the `lakery` command line
/// and viewer). [`StoredBytes::decoded`] undoes the content's encoding.
///
/// The content is read whole; [`stream_content`] reads one of any size in bounded
/// memory. A missing manifest is [`Error::ManifestNotFound`], a missing key
/// [`Error::MissingContent`], bytes that do not match [`Error::HashMismatch`], bytes
/// the storage no longer has [`Error::BlobMissing`].
pub async fn read_content(
    registry: &Registry,
    db: &Database,
    manifest: ManifestId,
    key: &str,
) -> Result<StoredBytes> {
    let content = find(db, manifest, key).await?;
    let storage = registry.storage(&content.storage_name).cloned();
    let content = fetch::read(content, storage).await?;
    Ok(StoredBytes {
        manifest,
        key: content.key,
        content_type: content.content_type,
        encoding: content.encoding,
        data: content.data,
        storage: content.storage_name,
        decoded_limit: registry.max_decoded_size(),
    })
}

/// One content's bytes as a stream, checked against their hash as they pass: for tools
/// that copy a content of any size out of the store (`lakery cat`, the viewer's
/// download). Returned by [`stream_content`].
pub struct ContentChunks {
    manifest: ManifestId,
    content: StoredContent,
    storage: StorageEntry,
}

/// The most bytes one chunk of [`ContentChunks::into_stream`] holds.
const CHUNK: usize = 256 << 10;

/// A content's bytes in chunks of bounded size, ending in the content's error when
/// something is wrong: [`Error::HashMismatch`] as the last item when the bytes are not
/// those recorded (chunks before it may already have been handed out, so write them
/// somewhere that is only kept once the stream ended without error).
pub type Chunks = BoxStream<'static, Result<Bytes>>;

impl std::fmt::Debug for ContentChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentChunks")
            .field("manifest", &self.manifest)
            .field("key", &self.content.key)
            .field("storage", &self.content.storage_name)
            .field("size", &self.content.size)
            .finish_non_exhaustive()
    }
}

impl ContentChunks {
    /// The MIME type its serializer gave.
    pub fn content_type(&self) -> &str {
        &self.content.content_type
    }

    /// The encoding applied after the serializer, if any.
    pub fn encoding(&self) -> Option<Encoding> {
        self.content.encoding
    }

    /// Its size as stored (before its encoding is undone), as recorded when it was
    /// saved: untrusted, and checked as the bytes pass.
    pub fn size(&self) -> u64 {
        self.content.size
    }

    /// The storage it is read from.
    pub fn storage_name(&self) -> &str {
        &self.content.storage_name
    }

    /// The bytes in chunks of at most 256 KiB, hash-checked as they pass, with the
    /// encoding undone when `decode` is set. The read stops one byte past the recorded
    /// size, and an encoding is undone a piece at a time (at most 256 KiB of zstd, a few
    /// MiB of gzip), so memory stays bounded whatever the row or the blob claims.
    pub fn into_stream(self, decode: bool) -> Chunks {
        let ContentChunks {
            manifest,
            mut content,
            storage,
        } = self;
        let expected = Expected {
            algorithm: content.algorithm,
            hash: content.hash.clone(),
            size: content.size,
            storage: content.storage_name.clone(),
        };
        let what = Described {
            manifest,
            key: content.key.clone(),
            serializer: content.serializer_name.clone(),
        };
        let encoding = content.encoding.filter(|_| decode);
        let bytes: ByteStream = match (storage, content.data.take()) {
            (StorageEntry::External(storage), _) => {
                let config = std::mem::take(&mut content.storage_config);
                open_stream(storage, config, content.size.saturating_add(1))
            }
            (_, data) => futures::stream::iter(data.map(Ok)).boxed(),
        };
        // Storages hand out chunks of their own size, and gzip undoes a slice into up to
        // a few MiB: both are cut to the size promised, without copying.
        crate::stream::decode(
            bytes,
            Box::new(RawChunksCodec),
            what,
            Some(expected),
            encoding,
        )
        .flat_map(|chunk| {
            let pieces: Vec<Result<Bytes>> = match chunk {
                Ok(chunk) => (0..chunk.len())
                    .step_by(CHUNK)
                    .map(|at| Ok(chunk.slice(at..chunk.len().min(at + CHUNK))))
                    .collect(),
                Err(error) => vec![Err(error)],
            };
            futures::stream::iter(pieces)
        })
        .boxed()
    }
}

/// Opens one content's bytes as a checked stream, whatever type wrote it: the
/// streaming form of [`read_content`], for contents of any size. Errors as there; the
/// bytes themselves are checked as the stream passes them (see [`Chunks`]).
///
/// ```no_run
/// # async fn run(registry: &lakery::Registry, db: &lakery::Database, id: lakery::ManifestId) -> lakery::Result<()> {
/// use futures::StreamExt;
///
/// let content = lakery::stream_content(registry, db, id, "weights").await?;
/// let mut chunks = content.into_stream(true);
/// while let Some(chunk) = chunks.next().await {
///     let chunk = chunk?; // the last item is the hash error, if there is one
///     // write `chunk` somewhere that is kept only once the stream ended without error
/// }
/// # Ok(()) }
/// ```
pub async fn stream_content(
    registry: &Registry,
    db: &Database,
    manifest: ManifestId,
    key: &str,
) -> Result<ContentChunks> {
    let content = find(db, manifest, key).await?;
    let storage = match registry.storage(&content.storage_name) {
        Some(StorageEntry::Database) if content.data.is_none() => {
            return Err(Error::CorruptRecord {
                manifest: manifest.to_string(),
                reason: format!(
                    "content `{key}` is in the database storage but its row holds no bytes"
                ),
            })
        }
        Some(storage) => storage.clone(),
        None => {
            return Err(Error::UnknownStorage {
                manifest,
                key: key.to_owned(),
                storage: content.storage_name,
            })
        }
    };
    Ok(ContentChunks {
        manifest,
        content,
        storage,
    })
}

/// The checked record of one content.
async fn find(db: &Database, manifest: ManifestId, key: &str) -> Result<StoredContent> {
    let id = *manifest.as_uuid();
    let (manifests, mut contents) = db.fetch(vec![id]).await?;
    if !manifests.contains_key(&id) {
        return Err(Error::ManifestNotFound(manifest));
    }
    contents
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .find(|content| match content {
            Ok(content) => content.key == key,
            Err(bad) => bad.key == key,
        })
        .ok_or_else(|| Error::MissingContent {
            manifest,
            key: key.to_owned(),
        })?
        .map_err(|bad| bad.error)
}
