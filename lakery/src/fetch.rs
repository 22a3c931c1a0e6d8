//! Fetching: a content's bytes from wherever they are kept, checked against the size
//! and hash recorded when they were saved. Loading, [`read_content`](crate::read_content)
//! and [`verify`](crate::verify) all read through here, so a content is checked one way.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::StreamExt;

use crate::error::{Error, Mismatch, Result};
use crate::hash::{digest, Digest, Digester, HashPipe, INLINE_HASH_LIMIT};
use crate::record::StoredContent;
use crate::repack::{LazySource, LoadedContent};
use crate::storage::{Storage, StorageEntry, StorageError};
use crate::stream::Expected;

/// Above this size, a content is read as a stream and hashed on a thread of its own as
/// the chunks arrive, rather than read whole and hashed after.
const STREAMED_READ_ABOVE: usize = 4 << 20;

/// The most a streamed read sets aside before its bytes arrive. The recorded size is
/// untrusted: a row that claims a petabyte must not make a load ask for one.
const MAX_RESERVED: usize = 64 << 20;

/// Where a content's bytes are: in its row (the database storage), or in a storage at
/// the config the storage returned.
enum Source {
    Row(Bytes),
    Storage(Arc<dyn Storage>),
}

/// Finds a content's bytes: a storage this registry knows, or its row's bytes.
fn source(content: &mut StoredContent, storage: Option<StorageEntry>) -> Result<Source> {
    match (storage, content.data.take()) {
        (Some(StorageEntry::Database), Some(data)) => Ok(Source::Row(data)),
        (Some(StorageEntry::Database), None) => Err(Error::CorruptRecord {
            manifest: content.manifest.to_string(),
            reason: format!(
                "content `{}` is in the database storage but its row holds no bytes",
                content.key
            ),
        }),
        (Some(StorageEntry::External(storage)), _) => Ok(Source::Storage(storage)),
        (None, _) => Err(Error::UnknownStorage {
            manifest: content.manifest,
            key: content.key.clone(),
            storage: content.storage_name.clone(),
        }),
    }
}

/// Reads a content whole and checks it, hashing on a blocking thread when it is large
/// and as the chunks arrive when it is larger still.
pub(crate) async fn read(
    mut content: StoredContent,
    storage: Option<StorageEntry>,
) -> Result<LoadedContent> {
    let data = match source(&mut content, storage)? {
        Source::Row(data) => data,
        Source::Storage(storage) => {
            let size = usize::try_from(content.size).unwrap_or(usize::MAX);
            if size > STREAMED_READ_ABOVE {
                let (data, digest) = hash_stream(&*storage, &content, Some(size)).await?;
                return verified(content, data.unwrap_or_default(), digest);
            }
            // One byte past the record tells a blob that grew from one that did not,
            // without reading the rest of it.
            storage
                .read_up_to(&content.storage_config, content.size + 1)
                .await
                .map_err(|source| read_error(&content, source))?
        }
    };
    let digest = digest(content.algorithm, &data).await?;
    verified(content, data, digest)
}

/// Whether a content is small and kept in its row, so that checking it right where it
/// is costs less than a future of its own would.
pub(crate) fn is_inline(content: &StoredContent, storage: Option<&StorageEntry>) -> bool {
    matches!(storage, Some(StorageEntry::Database))
        && content
            .data
            .as_ref()
            .is_some_and(|data| data.len() <= INLINE_HASH_LIMIT)
}

/// Checks a content that [`is_inline`], on the calling thread.
pub(crate) fn read_inline(mut content: StoredContent) -> Result<LoadedContent> {
    let data = content.data.take().unwrap_or_default();
    let digest = Digest::with(content.algorithm, &data);
    verified(content, data, digest)
}

/// Checks a content's bytes against its record, reading them as a stream so that
/// memory stays bounded however large the content; returns its size.
pub(crate) async fn check(
    mut content: StoredContent,
    storage: Option<StorageEntry>,
) -> Result<u64> {
    let actual = match source(&mut content, storage)? {
        Source::Row(data) => digest(content.algorithm, &data).await?,
        Source::Storage(storage) => hash_stream(&*storage, &content, None).await?.1,
    };
    verified(content, Bytes::new(), actual).map(|_| actual.size)
}

/// A content the loaded type reads as a stream: not read now, but described so that
/// the stream reads and checks it when it is polled.
pub(crate) fn lazy(
    mut content: StoredContent,
    storage: Option<StorageEntry>,
) -> Result<LoadedContent> {
    let expected = Expected {
        algorithm: content.algorithm,
        hash: content.hash.clone(),
        size: content.size,
        storage: content.storage_name.clone(),
    };
    let (storage, data, config) = match source(&mut content, storage)? {
        Source::Row(data) => (None, data, serde_json::Value::Null),
        Source::Storage(storage) => {
            let config = std::mem::take(&mut content.storage_config);
            (Some(storage), Bytes::new(), config)
        }
    };
    let lazy = LazySource {
        storage,
        config,
        expected,
    };
    Ok(loaded(content, data, Some(lazy)))
}

/// Reads a content as a stream whose chunks are hashed on another thread while the next
/// ones arrive; keeps the bytes when `keep` gives their expected size.
async fn hash_stream(
    storage: &dyn Storage,
    content: &StoredContent,
    keep: Option<usize>,
) -> Result<(Option<Bytes>, Digest)> {
    let read_error = |source| read_error(content, source);
    let mut chunks = storage
        .read_stream(&content.storage_config)
        .await
        .map_err(read_error)?;
    let mut hasher = HashPipe::new(Digester::with(content.algorithm));
    let mut data = keep.map(|size| BytesMut::with_capacity(size.min(MAX_RESERVED)));
    let mut read = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(read_error)?;
        // One byte past the record decides the check: the rest is not read.
        let room = content.size.saturating_add(1).saturating_sub(read);
        let chunk = chunk.slice(..chunk.len().min(usize::try_from(room).unwrap_or(usize::MAX)));
        read += chunk.len() as u64;
        if let Some(kept) = &mut data {
            // Bytes beyond the recorded size cannot pass the check: they are hashed, for
            // the mismatch to report, but not kept, so memory stays within the record.
            if (kept.len() + chunk.len()) as u64 > content.size {
                data = None;
            } else {
                kept.extend_from_slice(&chunk);
            }
        }
        hasher.update(chunk).await;
        if read > content.size {
            break;
        }
    }
    let digest = hasher
        .finish()
        .await
        .map_err(|e| read_error(StorageError::io("cannot hash what was read", e)))?;
    Ok((data.map(BytesMut::freeze), digest))
}

fn read_error(content: &StoredContent, source: StorageError) -> Error {
    Error::reading(
        content.manifest,
        &content.key,
        &content.storage_name,
        source,
    )
}

/// Checks bytes read for a content against the size and hash its record holds.
fn verified(content: StoredContent, data: Bytes, actual: Digest) -> Result<LoadedContent> {
    let mut expected = [0u8; 32];
    let hash_ok = hex::decode_to_slice(&content.hash, &mut expected).is_ok();
    if !hash_ok
        || content.algorithm != actual.algorithm
        || expected != actual.hash
        || content.size != actual.size
    {
        return Err(Error::HashMismatch {
            manifest: content.manifest,
            key: content.key,
            storage: content.storage_name,
            mismatch: Box::new(Mismatch {
                algorithm: content.algorithm.name().to_owned(),
                expected: content.hash,
                actual: actual.hex(),
                expected_size: content.size,
                actual_size: actual.size,
            }),
        });
    }
    Ok(loaded(content, data, None))
}

/// A content's record and bytes, as the repacking code takes them.
fn loaded(content: StoredContent, data: Bytes, lazy: Option<LazySource>) -> LoadedContent {
    LoadedContent {
        key: content.key,
        data,
        lazy,
        content_type: content.content_type,
        serializer_name: content.serializer_name,
        serializer_config: content.serializer_config,
        encoding: content.encoding,
        storage_name: content.storage_name,
        decoded_limit: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
    }
}
