//! Storages put a content's bytes somewhere and return a small JSON config that finds
//! them again; the config is recorded with the content.
//!
//! Built in: [`FileStorage`] (a local folder, content-addressed), [`MemoryStorage`]
//! (for tests) and [`DatabaseStorage`] (the bytes live in the database, committed in
//! the same transaction as the manifest: the default, and the fastest for small
//! contents). Implement [`Storage`] for your own.

mod database;
mod file;
mod memory;
#[cfg(feature = "object-store")]
mod object;

use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::stream::{BoxStream, StreamExt};

use crate::hash::{Digest, Digester, HashAlgorithm};
use crate::record::Tags;

pub use database::DatabaseStorage;
pub use file::FileStorage;
pub use memory::MemoryStorage;
#[cfg(feature = "object-store")]
pub use object::{ObjectStorage, TagMode};
/// The `object_store` crate, at the version [`ObjectStorage`] is built on, to build a
/// store by hand.
#[cfg(feature = "object-store")]
pub use object_store;

pub use crate::error::storage::{StorageError, StorageErrorKind};

/// How many contents a [`Saver`](crate::Saver) writes, and a
/// [`Loader`](crate::Loader) reads, at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// A digest computed on another thread; shared, so its failure is too.
type SharedDigest = Shared<BoxFuture<'static, Result<Digest, Arc<tokio::task::JoinError>>>>;

/// The bytes of one content to write, with their tags and digest.
///
/// The digest of a large content is computed on another thread while the storage
/// writes: await [`WriteRequest::digest`] only when it is needed (a content-addressed
/// storage needs it to name the data; most others only after the bytes are written).
pub struct WriteRequest<'a> {
    data: Bytes,
    tags: &'a Tags,
    digest: SharedDigest,
}

impl<'a> WriteRequest<'a> {
    /// A request whose digest is already known.
    pub fn new(data: Bytes, digest: Digest, tags: &'a Tags) -> Self {
        WriteRequest {
            data,
            tags,
            digest: futures::future::ready(Ok(digest)).boxed().shared(),
        }
    }

    pub(crate) fn with_pending_digest(data: Bytes, tags: &'a Tags, digest: SharedDigest) -> Self {
        WriteRequest { data, tags, digest }
    }

    /// The bytes to write.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The merged tags of the content: its own and its manifest's, the manifest's winning
    /// where keys collide.
    pub fn tags(&self) -> &'a Tags {
        self.tags
    }

    /// The hash and size of [`data`](WriteRequest::data), in the algorithm the
    /// registry saves with.
    pub async fn digest(&self) -> Result<Digest, StorageError> {
        self.digest.clone().await.map_err(|e| {
            StorageError::new(StorageErrorKind::Other, "hashing the content failed").with_source(e)
        })
    }
}

/// Bytes in chunks, as [`Storage::write_stream`] receives them and
/// [`Storage::read_stream`] returns them.
pub type ByteStream = BoxStream<'static, Result<Bytes, StorageError>>;

/// The bytes of one streamed content to write, with their tags.
///
/// The stream may fail midway (its producer failed): the storage must then return an
/// error and leave nothing visible that a config could name.
pub struct StreamWriteRequest<'a> {
    stream: ByteStream,
    tags: &'a Tags,
    algorithm: HashAlgorithm,
}

impl<'a> StreamWriteRequest<'a> {
    /// A request to write what `stream` yields, hashed with SHA-256.
    pub fn new(stream: ByteStream, tags: &'a Tags) -> Self {
        StreamWriteRequest {
            stream,
            tags,
            algorithm: HashAlgorithm::default(),
        }
    }

    /// Asks for the digest in `algorithm`.
    pub fn hash_algorithm(mut self, algorithm: HashAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// A [`Digester`] of the algorithm the digest must be in; a storage that returns a
    /// digest in another fails the save.
    pub fn digester(&self) -> Digester {
        Digester::with(self.algorithm)
    }

    /// The merged tags of the content, as for [`WriteRequest::tags`].
    pub fn tags(&self) -> &'a Tags {
        self.tags
    }

    /// The chunks to write, to be consumed to the end.
    pub fn into_stream(self) -> ByteStream {
        self.stream
    }
}

/// Where content bytes go.
///
/// A storage must make written data durable before `write` returns: lakery commits the
/// manifest right after, and a manifest must never point at data a crash could lose.
/// Configs it returns are read back from the database, so `read` must treat them as
/// untrusted input and refuse one that reaches outside the storage.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Writes the bytes durably and returns the config that finds them again.
    async fn write(&self, request: WriteRequest<'_>) -> Result<serde_json::Value, StorageError>;

    /// Reads back the bytes a config names.
    async fn read(&self, config: &serde_json::Value) -> Result<Bytes, StorageError>;

    /// Writes the chunks of a stream durably, hashing them as they pass, and returns the
    /// config that finds them again with their digest. It must consume the whole stream:
    /// an error from the stream is an error of the write, and a short write is never
    /// reported as success.
    ///
    /// The default collects the chunks in memory and calls [`write`](Storage::write);
    /// a storage that can write incrementally should do so, in bounded memory.
    async fn write_stream(
        &self,
        request: StreamWriteRequest<'_>,
    ) -> Result<(serde_json::Value, Digest), StorageError> {
        let mut digester = request.digester();
        let tags = request.tags;
        let mut stream = request.stream;
        let mut data = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            digester.update(&chunk);
            data.extend_from_slice(&chunk);
        }
        let digest = digester.finish();
        let config = self
            .write(WriteRequest::new(data.freeze(), digest, tags))
            .await?;
        Ok((config, digest))
    }

    /// Reads back the bytes a config names, in chunks. Dropping the stream releases
    /// whatever it holds open.
    ///
    /// The default reads them whole with [`read`](Storage::read) and yields one chunk.
    async fn read_stream(&self, config: &serde_json::Value) -> Result<ByteStream, StorageError> {
        let data = self.read(config).await?;
        Ok(futures::stream::once(async move { Ok(data) }).boxed())
    }

    /// Reads the bytes a config names, or their first `limit` bytes when there are more.
    /// Loading asks for the recorded size plus one, so that a blob grown past its record
    /// fails its check without being read whole; a storage that knows a blob's length
    /// before reading it should not allocate past the limit.
    ///
    /// The default reads the stream until the limit.
    async fn read_up_to(
        &self,
        config: &serde_json::Value,
        limit: u64,
    ) -> Result<Bytes, StorageError> {
        let mut chunks = self.read_stream(config).await?;
        let mut kept = BytesMut::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            let room = limit.saturating_sub(kept.len() as u64);
            let take = chunk.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            kept.extend_from_slice(&chunk[..take]);
            if take < chunk.len() || kept.len() as u64 >= limit {
                break;
            }
        }
        Ok(kept.freeze())
    }

    /// Reads `range` of the bytes a config names, for formats read out of order (a
    /// Parquet stream reads its footer first). A range past the end is an error.
    ///
    /// The default reads the stream up to the range's end and keeps the range;
    /// storages that can seek override it.
    async fn read_range(
        &self,
        config: &serde_json::Value,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StorageError> {
        let mut chunks = self.read_stream(config).await?;
        let mut kept = bytes::BytesMut::new();
        let mut at = 0u64;
        while at < range.end {
            let Some(chunk) = chunks.next().await else {
                break;
            };
            let chunk = chunk?;
            let end = at + chunk.len() as u64;
            if end > range.start {
                let from = range.start.saturating_sub(at) as usize;
                let to = (range.end.min(end) - at) as usize;
                kept.extend_from_slice(&chunk[from..to]);
            }
            at = end;
        }
        check_range(&range, kept.len())?;
        Ok(kept.freeze())
    }

    /// Deletes the bytes a config names. Deleting what is not there is not an error.
    async fn delete(&self, config: &serde_json::Value) -> Result<(), StorageError>;

    /// Whether the bytes a config names exist.
    async fn exists(&self, config: &serde_json::Value) -> Result<bool, StorageError>;

    /// Every blob the storage holds, with the config that names it (as `write` returned
    /// it), its size and when it was last written. Used by
    /// [`collect_garbage`](crate::collect_garbage); a storage that cannot list returns
    /// [`StorageErrorKind::Unsupported`], the default, and is skipped by collection.
    ///
    /// Listing and [`delete_if_older`](Storage::delete_if_older) together must uphold
    /// what collection relies on: a `write` of content that is already stored counts as
    /// writing it again, so `written_at` is the time of the latest write.
    async fn list(&self) -> Result<Vec<StoredBlob>, StorageError> {
        Err(StorageError::unsupported("listing its blobs"))
    }

    /// Deletes the blob `config` names if it was last written before `cutoff`, and
    /// returns whether it did. The check and the deletion must be atomic with respect to
    /// `write`: a write that finishes concurrently keeps its blob. Deleting what is not
    /// there returns `false`. The default is [`StorageErrorKind::Unsupported`].
    async fn delete_if_older(
        &self,
        config: &serde_json::Value,
        cutoff: SystemTime,
    ) -> Result<bool, StorageError> {
        let _ = (config, cutoff);
        Err(StorageError::unsupported("deleting by age"))
    }
}

/// One blob a [`Storage`] holds, as [`Storage::list`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBlob {
    /// The config that names it, equal to what `write` returned for it.
    pub config: serde_json::Value,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub written_at: SystemTime,
}

/// A storage as the registry holds it.
#[derive(Clone)]
pub(crate) enum StorageEntry {
    /// Bytes in the contents table, written in the manifest's transaction.
    Database,
    /// Any other storage.
    External(Arc<dyn Storage>),
}

/// What [`RegistryBuilder::storage`](crate::RegistryBuilder::storage) accepts: any
/// [`Storage`], or [`DatabaseStorage`].
pub trait IntoStorage {
    #[doc(hidden)]
    fn into_entry(self) -> StorageEntryHandle;
}

/// Opaque form of a storage on its way into the registry.
#[doc(hidden)]
pub struct StorageEntryHandle(pub(crate) StorageEntry);

impl<S: Storage> IntoStorage for S {
    fn into_entry(self) -> StorageEntryHandle {
        StorageEntryHandle(StorageEntry::External(Arc::new(self)))
    }
}

impl IntoStorage for DatabaseStorage {
    fn into_entry(self) -> StorageEntryHandle {
        StorageEntryHandle(StorageEntry::Database)
    }
}

/// The bytes `config` names in `storage`, as a stream opened when first polled (so a
/// stream never read opens nothing) and cut after `limit` bytes: a load asks for the
/// recorded size plus one, enough to fail the check of a blob that grew, however large
/// it grew.
pub(crate) fn open_stream(
    storage: Arc<dyn Storage>,
    config: serde_json::Value,
    limit: u64,
) -> ByteStream {
    futures::stream::once(async move { storage.read_stream(&config).await })
        .flat_map(|opened| match opened {
            Ok(bytes) => bytes,
            Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
        })
        .scan(0u64, move |read, chunk| {
            let chunk = match chunk {
                Ok(_) if *read >= limit => return futures::future::ready(None),
                Ok(chunk) => {
                    let room = usize::try_from(limit - *read).unwrap_or(usize::MAX);
                    *read += chunk.len().min(room) as u64;
                    Ok(chunk.slice(..chunk.len().min(room)))
                }
                Err(error) => Err(error),
            };
            futures::future::ready(Some(chunk))
        })
        .boxed()
}

/// The error for a range read that came back short.
pub(crate) fn check_range(range: &std::ops::Range<u64>, read: usize) -> Result<(), StorageError> {
    if read as u64 == range.end.saturating_sub(range.start) {
        return Ok(());
    }
    Err(StorageError::new(
        StorageErrorKind::Io,
        format!(
            "bytes {}..{} asked for, {read} read: the content is shorter",
            range.start, range.end
        ),
    ))
}
