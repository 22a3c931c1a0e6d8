//! Loading: [`load_one`] for one value, [`Loader`] for many in one round trip.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use bytes::Bytes;
use futures::future::FutureExt;
use futures::stream::{self, StreamExt};

use crate::db::records::StoredContent;
use crate::db::{Database, Fetched, CHUNK};
use crate::error::{BatchFailure, Mismatch};
use crate::error::{Error, Result};
use crate::hash::{
    cooperate, digest, Digest, Digester, HashAlgorithm, HashPipe, INLINE_HASH_LIMIT,
};
use crate::id::ClassId;
use crate::id::ManifestId;
use crate::record::ManifestRef;
use crate::registry::Registry;
use crate::repack::{LazySource, LoadedContent, Repacker};
use crate::save::DEFAULT_CONCURRENCY;
use crate::storable::{ContentSpec, Storable};
use crate::storage::{StorageEntry, StorageError};
use crate::stream::Expected;

/// Loads the value a manifest holds, as `T`.
///
/// Every content's bytes are checked against the hash recorded when they were saved
/// before they are deserialized.
///
/// ```no_run
/// # use lakery::Storable;
/// # #[derive(Storable)]
/// # #[storable(class_id = "8f7e3a34-5a0c-4b8e-9d8a-2f1d0b6c7e55")]
/// # struct Experiment { name: String }
/// # async fn run(record: lakery::ManifestRecord, registry: &lakery::Registry, db: &lakery::Database) -> lakery::Result<()> {
/// let exp: Experiment = lakery::load_one(&record, registry, db).await?;
/// # Ok(()) }
/// ```
pub async fn load_one<T: Storable>(
    manifest: impl ManifestRef,
    registry: &Registry,
    db: &Database,
) -> Result<T> {
    let mut loader = Loader::new(registry, db);
    let handle = loader.load_soon::<T>(manifest);
    match loader.finish().await {
        Ok(mut batch) => match batch.take(handle) {
            Some(value) => Ok(value),
            None => unreachable!("a batch that finished holds the value of its only handle"),
        },
        Err(Error::Batch { mut failures, .. }) if failures.len() == 1 => {
            Err(failures.remove(0).error)
        }
        Err(error) => Err(error),
    }
}

type Repack = fn(ManifestId, u32, Vec<LoadedContent>) -> Result<Box<dyn Any + Send>>;

fn repack<T: Storable>(
    manifest: ManifestId,
    version: u32,
    contents: Vec<LoadedContent>,
) -> Result<Box<dyn Any + Send>> {
    T::repack_version(version, &mut Repacker::new(manifest, version, contents))
        .map(|value| Box::new(value) as Box<dyn Any + Send>)
}

struct Request {
    id: ManifestId,
    type_name: &'static str,
    class_id: ClassId,
    /// The contents of the type: those it reads as streams are left for it to read.
    specs: &'static [ContentSpec],
    loads_version: fn(u32) -> bool,
    known_versions: fn() -> Vec<u32>,
    repack: Repack,
}

/// Identifies a value requested from a [`Loader`]; take it from the [`LoadedBatch`].
#[derive(Debug)]
pub struct LoadHandle<T> {
    batch: u64,
    index: usize,
    _type: PhantomData<fn() -> T>,
}

/// Loads many values, possibly of different types, with one database round trip for
/// all their manifests and contents, and concurrent reads from the storages.
///
/// ```no_run
/// # use lakery::Storable;
/// # #[derive(Storable)]
/// # #[storable(class_id = "8f7e3a34-5a0c-4b8e-9d8a-2f1d0b6c7e55")]
/// # struct Experiment { name: String }
/// # async fn run(records: Vec<lakery::ManifestRecord>, registry: &lakery::Registry, db: &lakery::Database) -> lakery::Result<()> {
/// let mut loader = lakery::Loader::new(registry, db);
/// let handles: Vec<_> = records.iter().map(|r| loader.load_soon::<Experiment>(r)).collect();
/// let mut batch = loader.finish().await?;
/// let values: Vec<Experiment> = handles.into_iter().filter_map(|h| batch.take(h)).collect();
/// # Ok(()) }
/// ```
pub struct Loader<'r> {
    registry: &'r Registry,
    db: &'r Database,
    batch: u64,
    requests: Vec<Option<Request>>,
    failures: Vec<BatchFailure>,
    concurrency: usize,
}

impl<'r> Loader<'r> {
    /// An empty batch.
    pub fn new(registry: &'r Registry, db: &'r Database) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Loader {
            registry,
            db,
            batch: NEXT.fetch_add(1, Ordering::Relaxed),
            requests: Vec::new(),
            failures: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// How many contents to read from storages at once (at least 1).
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// Queues the manifest to be loaded as `T`.
    pub fn load_soon<T: Storable>(&mut self, manifest: impl ManifestRef) -> LoadHandle<T> {
        let index = self.requests.len();
        match self.registry.storable::<T>() {
            Ok(_) => self.requests.push(Some(Request {
                id: manifest.manifest_id(),
                type_name: T::type_name(),
                class_id: T::CLASS_ID,
                specs: T::CONTENTS,
                loads_version: T::loads_version,
                known_versions: T::known_versions,
                repack: repack::<T>,
            })),
            Err(error) => {
                self.requests.push(None);
                self.failures.push(BatchFailure { index, error });
            }
        }
        LoadHandle {
            batch: self.batch,
            index,
            _type: PhantomData,
        }
    }

    /// Reads every queued manifest and its contents, checks every hash, and rebuilds
    /// the values. On failure, [`Error::Batch`] lists every value that failed.
    ///
    /// Manifests are fetched in chunks, the next chunk read from the database while
    /// the contents of the current one are checked and deserialized.
    pub async fn finish(self) -> Result<LoadedBatch> {
        let Loader {
            registry,
            db,
            batch,
            requests,
            mut failures,
            concurrency,
        } = self;
        let total = requests.len();
        let fetch = |range: std::ops::Range<usize>| {
            let ids: Vec<uuid::Uuid> = requests[range]
                .iter()
                .flatten()
                .map(|r| *r.id.as_uuid())
                .collect();
            let db = db.clone();
            tokio::spawn(async move { db.fetch(ids).await })
        };
        let chunks: Vec<_> = (0..total)
            .step_by(CHUNK)
            .map(|start| start..(start + CHUNK).min(total))
            .collect();
        let mut next = chunks.first().cloned().map(fetch);
        let mut values: Vec<Option<Box<dyn Any + Send>>> = Vec::with_capacity(total);
        for (n, range) in chunks.iter().enumerate() {
            let fetched = match next.take() {
                Some(task) => task.await.map_err(|e| Error::Task(Box::new(e)))??,
                None => unreachable!("a fetch is started for every chunk"),
            };
            next = chunks.get(n + 1).cloned().map(fetch);
            let chunk = Chunk {
                first: range.start,
                requests: &requests[range.clone()],
                registry,
                concurrency,
            };
            values.extend(chunk.load(fetched, &mut failures).await);
        }
        if !failures.is_empty() {
            failures.sort_by_key(|f| f.index);
            return Err(Error::Batch {
                action: "loaded",
                total,
                failures,
            });
        }
        Ok(LoadedBatch { batch, values })
    }
}

/// The requests of one fetched chunk.
struct Chunk<'a> {
    first: usize,
    requests: &'a [Option<Request>],
    registry: &'a Registry,
    concurrency: usize,
}

impl Chunk<'_> {
    /// Checks the manifests, reads and verifies the contents, and repacks each value.
    async fn load(
        self,
        (manifests, mut content_rows): Fetched,
        failures: &mut Vec<BatchFailure>,
    ) -> Vec<Option<Box<dyn Any + Send>>> {
        let failures_before = failures.len();
        let mut loaded: Vec<Option<(u32, Vec<LoadedContent>)>> =
            Vec::with_capacity(self.requests.len());
        let mut jobs = Vec::new();
        // A manifest asked for more than once gets its rows copied for all but the
        // last request; the usual case, once each, moves them.
        let mut remaining: HashMap<ManifestId, usize> = HashMap::with_capacity(self.requests.len());
        for request in self.requests.iter().flatten() {
            *remaining.entry(request.id).or_default() += 1;
        }
        for (offset, request) in self.requests.iter().enumerate() {
            cooperate(offset).await;
            let index = self.first + offset;
            loaded.push(None);
            let Some(request) = request else { continue };
            let key = *request.id.as_uuid();
            let last = remaining.get_mut(&request.id).is_some_and(|n| {
                *n -= 1;
                *n == 0
            });
            let checked = match manifests.get(&key) {
                None => Err(Error::ManifestNotFound(request.id)),
                Some(head) => head.class().and_then(|(class_id, version)| {
                    request.check(class_id, version).map(|()| version)
                }),
            };
            let version = match checked {
                Ok(version) => version,
                Err(error) => {
                    failures.push(BatchFailure { index, error });
                    continue;
                }
            };
            let rows = if last {
                content_rows.remove(&key)
            } else {
                content_rows.get(&key).cloned()
            }
            .unwrap_or_default();
            let mut contents = Vec::with_capacity(rows.len());
            for mut row in rows {
                let stream = ContentSpec::is_stream(request.specs, &row.content_key);
                if stream {
                    let storage = self.registry.storage(&row.storage_name).cloned();
                    match lazy_content(request.id, row, storage) {
                        Ok(content) => contents.push(content),
                        Err(error) => failures.push(BatchFailure { index, error }),
                    }
                    continue;
                }
                match self.registry.storage(&row.storage_name) {
                    // Small contents kept in the database are checked right here: a
                    // future per content would cost more than the check.
                    Some(StorageEntry::Database)
                        if row
                            .data
                            .as_ref()
                            .is_some_and(|d| d.len() <= INLINE_HASH_LIMIT) =>
                    {
                        let data = Bytes::from(row.data.take().unwrap_or_default());
                        let digest = Digest::with(algorithm_of(&row), &data);
                        match verified(request.id, row, data, digest) {
                            Ok(content) => contents.push(content),
                            Err(error) => failures.push(BatchFailure { index, error }),
                        }
                    }
                    storage => jobs.push(read_job(offset, request.id, row, storage.cloned())),
                }
            }
            loaded[offset] = Some((version, contents));
        }

        let mut failed = vec![false; self.requests.len()];
        for failure in &failures[failures_before..] {
            if let Some(flag) = failure
                .index
                .checked_sub(self.first)
                .and_then(|offset| failed.get_mut(offset))
            {
                *flag = true;
            }
        }
        let mut results = stream::iter(jobs).buffer_unordered(self.concurrency);
        while let Some((offset, result)) = results.next().await {
            match (result, &mut loaded[offset]) {
                (Ok(content), Some((_, contents))) => contents.push(content),
                (Ok(_), None) => unreachable!("contents are read only for checked manifests"),
                (Err(error), _) => {
                    failed[offset] = true;
                    failures.push(BatchFailure {
                        index: self.first + offset,
                        error,
                    });
                }
            }
        }
        drop(results);

        let mut values = Vec::with_capacity(self.requests.len());
        for (offset, (request, contents)) in self.requests.iter().zip(loaded).enumerate() {
            cooperate(offset).await;
            let (Some(request), Some((version, contents)), false) =
                (request, contents, failed[offset])
            else {
                values.push(None);
                continue;
            };
            // Decompressing and deserializing large contents is CPU work that would
            // hold an async worker: it goes to the blocking pool, as hashing does.
            let size: usize = contents.iter().map(|c| c.data.len()).sum();
            let (repack, id) = (request.repack, request.id);
            let repacked = if size > INLINE_HASH_LIMIT {
                tokio::task::spawn_blocking(move || repack(id, version, contents))
                    .await
                    .unwrap_or_else(|e| Err(Error::Task(Box::new(e))))
            } else {
                repack(id, version, contents)
            };
            match repacked {
                Ok(value) => values.push(Some(value)),
                Err(error) => {
                    failures.push(BatchFailure {
                        index: self.first + offset,
                        error,
                    });
                    values.push(None);
                }
            }
        }
        values
    }
}

impl Request {
    fn check(&self, class_id: ClassId, version: u32) -> Result<()> {
        if class_id != self.class_id {
            return Err(Error::WrongClass {
                manifest: self.id,
                expected_type: self.type_name,
                expected: self.class_id,
                found: class_id,
            });
        }
        if !(self.loads_version)(version) {
            return Err(Error::UnsupportedVersion {
                manifest: self.id,
                type_name: self.type_name,
                class_id: self.class_id,
                stored: version,
                known: (self.known_versions)(),
            });
        }
        Ok(())
    }
}

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
    pub encoding: Option<crate::encoding::Encoding>,
    /// The bytes exactly as stored.
    pub data: Bytes,
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
    /// undone; [`Error::Encoding`] if they do not decompress.
    pub fn decoded(&self) -> Result<Bytes> {
        match self.encoding {
            None => Ok(self.data.clone()),
            Some(encoding) => encoding
                .decode(&self.data)
                .map_err(|source| self.decompress_error(encoding, source)),
        }
    }

    fn decompress_error(
        &self,
        encoding: crate::encoding::Encoding,
        source: std::io::Error,
    ) -> Error {
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
/// A missing manifest is [`Error::ManifestNotFound`], a missing key
/// [`Error::MissingContent`], bytes that do not match [`Error::HashMismatch`].
pub async fn read_content(
    registry: &Registry,
    db: &Database,
    manifest: ManifestId,
    key: &str,
) -> Result<StoredBytes> {
    let id = *manifest.as_uuid();
    let (manifests, mut contents) = db.fetch(vec![id]).await?;
    if !manifests.contains_key(&id) {
        return Err(Error::ManifestNotFound(manifest));
    }
    let row = contents
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .find(|row| row.content_key == key)
        .ok_or_else(|| Error::MissingContent {
            manifest,
            key: key.to_owned(),
        })?;
    let storage = registry.storage(&row.storage_name).cloned();
    let (_, content) = read_job(0, manifest, row, storage).await;
    let content = content?;
    Ok(StoredBytes {
        manifest,
        key: content.key,
        content_type: content.content_type,
        encoding: content.encoding,
        data: content.data,
    })
}

type ReadJob = Pin<Box<dyn Future<Output = (usize, Result<LoadedContent>)> + Send>>;

/// Fetches one content's bytes from its storage (or a large one from its row) and
/// checks them, hashing on a blocking thread when they are large.
pub(crate) fn read_job(
    offset: usize,
    manifest: ManifestId,
    mut row: StoredContent,
    storage: Option<StorageEntry>,
) -> ReadJob {
    async move {
        let result = async {
            let data = match (storage, row.data.take()) {
                (Some(StorageEntry::Database), Some(data)) => Bytes::from(data),
                (Some(StorageEntry::Database), None) => return Err(no_bytes(manifest, &row)),
                (Some(StorageEntry::External(storage)), _) => {
                    let config = storage_config(manifest, &row)?;
                    let size = usize::try_from(row.size).unwrap_or(0);
                    if size > STREAMED_READ_ABOVE {
                        let algorithm = algorithm_of(&row);
                        let (data, digest) =
                            read_while_hashing(&*storage, &config, algorithm, size)
                                .await
                                .map_err(|source| read_error(manifest, &row, source))?;
                        return verified(manifest, row, data, digest);
                    }
                    storage
                        .read(&config)
                        .await
                        .map_err(|source| read_error(manifest, &row, source))?
                }
                (None, _) => {
                    return Err(Error::UnknownStorage {
                        manifest,
                        key: row.content_key,
                        storage: row.storage_name,
                    })
                }
            };
            let digest = digest(algorithm_of(&row), &data).await?;
            verified(manifest, row, data, digest)
        }
        .await;
        (offset, result)
    }
    .boxed()
}

/// Above this size, a content is read as a stream and hashed on a thread of its own as
/// the chunks arrive, rather than read whole and hashed after.
const STREAMED_READ_ABOVE: usize = 4 << 20;

fn read_error(manifest: ManifestId, row: &StoredContent, source: StorageError) -> Error {
    Error::Storage {
        operation: "read",
        storage: row.storage_name.clone(),
        manifest,
        key: row.content_key.clone(),
        source: Box::new(source),
    }
}

/// Reads a content whole, about `size` bytes, as a stream whose chunks are hashed on
/// another thread while the next ones arrive.
async fn read_while_hashing(
    storage: &dyn crate::storage::Storage,
    config: &serde_json::Value,
    algorithm: HashAlgorithm,
    size: usize,
) -> std::result::Result<(Bytes, Digest), StorageError> {
    let mut chunks = storage.read_stream(config).await?;
    let mut hasher = HashPipe::new(Digester::with(algorithm));
    let mut data = bytes::BytesMut::with_capacity(size);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        data.extend_from_slice(&chunk);
        hasher.update(chunk).await;
    }
    let digest = hasher
        .finish()
        .await
        .map_err(|e| StorageError::io("cannot hash what was read", e))?;
    Ok((data.freeze(), digest))
}

/// Checks a content's bytes against its row, reading them as a stream so that memory
/// stays bounded however large the content; returns its size.
pub(crate) async fn check_content(
    manifest: ManifestId,
    mut row: StoredContent,
    storage: Option<StorageEntry>,
) -> Result<u64> {
    let algorithm = readable(manifest, &row)?;
    let actual = match (storage, row.data.take()) {
        (Some(StorageEntry::Database), Some(data)) => digest(algorithm, &Bytes::from(data)).await?,
        (Some(StorageEntry::Database), None) => return Err(no_bytes(manifest, &row)),
        (Some(StorageEntry::External(storage)), _) => {
            let config = storage_config(manifest, &row)?;
            let read_error = |source| Error::Storage {
                operation: "read",
                storage: row.storage_name.clone(),
                manifest,
                key: row.content_key.clone(),
                source: Box::new(source),
            };
            let mut chunks = storage.read_stream(&config).await.map_err(read_error)?;
            let mut hasher = HashPipe::new(Digester::with(algorithm));
            while let Some(chunk) = chunks.next().await {
                hasher.update(chunk.map_err(read_error)?).await;
            }
            hasher
                .finish()
                .await
                .map_err(|e| Error::Task(Box::new(e)))?
        }
        (None, _) => {
            return Err(Error::UnknownStorage {
                manifest,
                key: row.content_key,
                storage: row.storage_name,
            })
        }
    };
    verified(manifest, row, Bytes::new(), actual).map(|_| actual.size)
}

/// The error of a content in the database storage whose row holds no bytes.
fn no_bytes(manifest: ManifestId, row: &StoredContent) -> Error {
    Error::CorruptRecord {
        manifest: manifest.to_string(),
        reason: format!(
            "content `{}` is in the database storage but its row holds no bytes",
            row.content_key
        ),
    }
}

/// The hash algorithm a row names; SHA-256 for a name lakery does not know, which
/// [`readable`] refuses before any bytes are trusted.
fn algorithm_of(row: &StoredContent) -> HashAlgorithm {
    HashAlgorithm::from_name(&row.hash_algorithm).unwrap_or_default()
}

/// Checks that lakery can read a content as its row describes it, and returns the
/// algorithm of its hash.
fn readable(manifest: ManifestId, row: &StoredContent) -> Result<HashAlgorithm> {
    let corrupt = |reason: String| Error::CorruptRecord {
        manifest: manifest.to_string(),
        reason,
    };
    if let Some(encoding) = &row.encoding {
        if crate::encoding::Encoding::from_name(encoding).is_none() {
            return Err(corrupt(format!(
                "content `{}` has encoding `{encoding}`, which this build of lakery cannot \
                 decode (it knows {}; `zstd` and `gzip` are cargo features)",
                row.content_key,
                match crate::encoding::Encoding::ALL {
                    [] => "none".to_owned(),
                    all => all
                        .iter()
                        .map(|e| e.name())
                        .collect::<Vec<_>>()
                        .join(" and "),
                }
            )));
        }
    }
    HashAlgorithm::from_name(&row.hash_algorithm).ok_or_else(|| {
        corrupt(format!(
            "content `{}` uses hash algorithm `{}`, which this version of lakery does not know \
             (it knows {})",
            row.content_key,
            row.hash_algorithm,
            HashAlgorithm::ALL.map(HashAlgorithm::name).join(" and ")
        ))
    })
}

/// A content the loaded type reads as a stream: not read now, but described so that
/// the stream reads and checks it when it is polled.
fn lazy_content(
    manifest: ManifestId,
    mut row: StoredContent,
    storage: Option<StorageEntry>,
) -> Result<LoadedContent> {
    let algorithm = readable(manifest, &row)?;
    let expected = Expected {
        algorithm,
        hash: row.hash.clone(),
        size: u64::try_from(row.size).unwrap_or(u64::MAX),
        storage: row.storage_name.clone(),
    };
    let (storage, data, config) = match (storage, row.data.take()) {
        (Some(StorageEntry::Database), Some(data)) => {
            (None, Bytes::from(data), serde_json::Value::Null)
        }
        (Some(StorageEntry::Database), None) => return Err(no_bytes(manifest, &row)),
        (Some(StorageEntry::External(storage)), _) => {
            let config = storage_config(manifest, &row)?;
            (Some(storage), Bytes::new(), config)
        }
        (None, _) => {
            return Err(Error::UnknownStorage {
                manifest,
                key: row.content_key,
                storage: row.storage_name,
            })
        }
    };
    let lazy = LazySource {
        storage,
        config,
        expected,
    };
    content(manifest, row, data, Some(lazy))
}

fn storage_config(manifest: ManifestId, row: &StoredContent) -> Result<serde_json::Value> {
    serde_json::from_str(&row.storage_config.0).map_err(|e| Error::CorruptRecord {
        manifest: manifest.to_string(),
        reason: format!(
            "storage_config of content `{}` is not JSON: {e}",
            row.content_key
        ),
    })
}

/// Checks bytes read for a content against the size and hash its row recorded.
fn verified(
    manifest: ManifestId,
    row: StoredContent,
    data: Bytes,
    actual: Digest,
) -> Result<LoadedContent> {
    let algorithm = readable(manifest, &row)?;
    let mut expected = [0u8; 32];
    let hash_ok = hex::decode_to_slice(&row.hash, &mut expected).is_ok();
    if !hash_ok
        || algorithm != actual.algorithm
        || expected != actual.hash
        || u64::try_from(row.size).ok() != Some(actual.size)
    {
        return Err(Error::HashMismatch {
            manifest,
            key: row.content_key,
            storage: row.storage_name,
            mismatch: Box::new(Mismatch {
                algorithm: row.hash_algorithm,
                expected: row.hash,
                actual: actual.hex(),
                expected_size: u64::try_from(row.size).unwrap_or_default(),
                actual_size: actual.size,
            }),
        });
    }
    content(manifest, row, data, None)
}

/// A content's row and bytes, as the repacking code takes them.
fn content(
    manifest: ManifestId,
    row: StoredContent,
    data: Bytes,
    lazy: Option<LazySource>,
) -> Result<LoadedContent> {
    let serializer_config = match row.serializer_config.as_ref().map(|json| json.0.as_str()) {
        None => None,
        Some(json) => Some(
            serde_json::from_str(json).map_err(|e| Error::CorruptRecord {
                manifest: manifest.to_string(),
                reason: format!(
                    "serializer_config of content `{}` is not JSON: {e}",
                    row.content_key
                ),
            })?,
        ),
    };
    Ok(LoadedContent {
        key: row.content_key,
        data,
        lazy,
        content_type: row.content_type,
        serializer_name: row.serializer_name,
        serializer_config,
        encoding: row
            .encoding
            .as_deref()
            .and_then(crate::encoding::Encoding::from_name),
    })
}

/// The values a [`Loader`] rebuilt.
pub struct LoadedBatch {
    batch: u64,
    values: Vec<Option<Box<dyn Any + Send>>>,
}

impl std::fmt::Debug for LoadedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waiting = self.values.iter().filter(|v| v.is_some()).count();
        f.debug_struct("LoadedBatch")
            .field("values", &self.values.len())
            .field("not_taken", &waiting)
            .finish()
    }
}

impl LoadedBatch {
    /// Takes one value out; `None` if it was taken already or the handle is from
    /// another batch.
    pub fn take<T: Storable>(&mut self, handle: LoadHandle<T>) -> Option<T> {
        if handle.batch != self.batch {
            return None;
        }
        let value = self.values.get_mut(handle.index)?.take()?;
        // The handle's type is the type the value was repacked as.
        value.downcast::<T>().ok().map(|boxed| *boxed)
    }

    /// How many values it holds, taken or not.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
