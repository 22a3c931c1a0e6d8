//! Saving: [`save_one`] for one value, [`Saver`] for a batch committed all at once.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::FutureExt;
use futures::stream::{self, StreamExt};

use crate::db::Database;
use crate::error::{BatchFailure, Error, Result};
use crate::hash::{cooperate, Digest, Digester, HashAlgorithm, INLINE_HASH_LIMIT};
use crate::id::ManifestId;
use crate::pack::{UnpackedContent, Unpacker};
use crate::record::{check_tag, ManifestRecord, NewContent, NewValue, Tags};
use crate::registry::Registry;
use crate::storable::Storable;
use crate::storage::{
    StorageEntry, StorageError, StorageErrorKind, StreamWriteRequest, WriteRequest,
    DEFAULT_CONCURRENCY,
};

/// Saves one value and commits its manifest. Add manifest tags with `.tags(...)`, then
/// `.await` it.
///
/// When it returns `Ok`, every content is durably written and the manifest committed.
///
/// ```no_run
/// # use lakery::Storable;
/// # #[derive(Storable)]
/// # #[storable(class_id = "8f7e3a34-5a0c-4b8e-9d8a-2f1d0b6c7e55")]
/// # struct Experiment { name: String }
/// # async fn run(registry: &lakery::Registry, db: &lakery::Database) -> lakery::Result<()> {
/// let exp = Experiment { name: "baseline".into() };
/// let record = lakery::save_one(&exp, registry, db).tags([("project", "p1")]).await?;
/// assert_eq!(record.tags["project"], "p1");
/// # Ok(()) }
/// ```
pub fn save_one<'a, T: Storable>(
    value: &'a T,
    registry: &'a Registry,
    db: &'a Database,
) -> SaveOne<'a, T> {
    SaveOne {
        value,
        registry,
        db,
        tags: Ok(Tags::new()),
    }
}

/// A pending [`save_one`]; await it.
#[must_use = "a save does nothing until it is awaited"]
pub struct SaveOne<'a, T> {
    value: &'a T,
    registry: &'a Registry,
    db: &'a Database,
    tags: Result<Tags>,
}

impl<'a, T: Storable> SaveOne<'a, T> {
    /// Adds manifest tags.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.tags = self.tags.and_then(|mut all| {
            extend_tags(&mut all, tags)?;
            Ok(all)
        });
        self
    }
}

impl<'a, T: Storable> IntoFuture for SaveOne<'a, T> {
    type Output = Result<ManifestRecord>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        // Serialize now, so the future does not hold the value.
        let mut saver = Saver::new(self.registry, self.db);
        let handle = self
            .tags
            .map(|tags| saver.save_soon_with_tags(self.value, tags));
        async move {
            let handle = handle?;
            match saver.finish().await {
                Ok(mut batch) => Ok(batch.records.swap_remove(handle.index)),
                Err(Error::Batch { mut failures, .. }) if failures.len() == 1 => {
                    Err(failures.remove(0).error)
                }
                Err(error) => Err(error),
            }
        }
        .boxed()
    }
}

fn extend_tags<K: Into<String>, V: Into<String>>(
    all: &mut Tags,
    tags: impl IntoIterator<Item = (K, V)>,
) -> Result<()> {
    for (key, value) in tags {
        let (key, value) = (key.into(), value.into());
        check_tag(&key, &value)?;
        all.insert(key, value);
    }
    Ok(())
}

/// Identifies a value added to a [`Saver`]; look its record up in the [`SavedBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveHandle {
    batch: u64,
    index: usize,
}

impl SaveHandle {
    /// The value's position in its batch.
    pub fn index(&self) -> usize {
        self.index
    }
}

struct Pending {
    record: ManifestRecord,
    contents: Vec<UnpackedContent>,
}

/// Saves many values, all or nothing.
///
/// [`save_soon`](Saver::save_soon) serializes a value at once and queues it;
/// [`finish`](Saver::finish) writes every content concurrently, then commits every
/// manifest in one transaction. If anything fails, nothing is committed and the error
/// lists every failure, not only the first.
///
/// ```no_run
/// # use lakery::Storable;
/// # #[derive(Storable)]
/// # #[storable(class_id = "8f7e3a34-5a0c-4b8e-9d8a-2f1d0b6c7e55")]
/// # struct Experiment { name: String }
/// # async fn run(registry: &lakery::Registry, db: &lakery::Database) -> lakery::Result<()> {
/// let mut saver = lakery::Saver::new(registry, db);
/// let a = saver.save_soon(&Experiment { name: "a".into() });
/// let b = saver.save_soon(&Experiment { name: "b".into() });
/// let batch = saver.finish().await?;
/// println!("saved {} and {}", batch[a].id, batch[b].id);
/// # Ok(()) }
/// ```
pub struct Saver<'r> {
    registry: &'r Registry,
    db: &'r Database,
    batch: u64,
    pending: Vec<Option<Pending>>,
    failures: Vec<BatchFailure>,
    concurrency: usize,
    /// Whether the manifests the queued values replace are deleted when they commit.
    delete_replaced: bool,
}

impl<'r> Saver<'r> {
    /// An empty batch.
    pub fn new(registry: &'r Registry, db: &'r Database) -> Self {
        Saver {
            registry,
            db,
            batch: next_batch_id(),
            pending: Vec::new(),
            failures: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            delete_replaced: false,
        }
    }

    /// Deletes the manifests that the queued values replace in the transaction that
    /// commits the batch.
    pub(crate) fn delete_replaced(mut self, delete: bool) -> Self {
        self.delete_replaced = delete;
        self
    }

    /// Queues `value` as the replacement of manifest `replaces`, with its tags.
    pub(crate) fn save_soon_replacing<T: Storable>(
        &mut self,
        value: &T,
        tags: Tags,
        replaces: ManifestId,
    ) -> SaveHandle {
        let handle = self.save_soon_with_tags(value, tags);
        if let Some(Some(pending)) = self.pending.get_mut(handle.index) {
            pending.record.replaces = Some(replaces);
        }
        handle
    }

    /// How many contents to write at once (at least 1).
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// Serializes `value` and queues it, with no manifest tags.
    pub fn save_soon<T: Storable>(&mut self, value: &T) -> SaveHandle {
        self.save_soon_with_tags(value, Tags::new())
    }

    /// Serializes `value` and queues it with manifest tags. A failure here (an
    /// unregistered type, a serializer error, a bad tag) is reported by `finish`.
    ///
    /// Serializing happens right here, on the calling thread, so that the batch holds
    /// bytes rather than borrows of your values. For values that take long to serialize
    /// (many megabytes of JSON) on a multi-threaded runtime, queue them inside
    /// `tokio::task::block_in_place` so the runtime moves its other tasks elsewhere.
    pub fn save_soon_with_tags<T: Storable, K: Into<String>, V: Into<String>>(
        &mut self,
        value: &T,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> SaveHandle {
        let index = self.pending.len();
        match self.prepare(value, tags) {
            Ok(pending) => self.pending.push(Some(pending)),
            Err(error) => {
                self.pending.push(None);
                self.failures.push(BatchFailure { index, error });
            }
        }
        SaveHandle {
            batch: self.batch,
            index,
        }
    }

    fn prepare<T: Storable, K: Into<String>, V: Into<String>>(
        &self,
        value: &T,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Pending> {
        // An unregistered type is refused here, before anything is serialized.
        self.registry.storable::<T>()?;
        let mut all = Tags::new();
        extend_tags(&mut all, tags)?;
        let id = ManifestId::new();
        let mut unpacker = Unpacker::new(id, T::CONTENTS);
        value.unpack(&mut unpacker)?;
        Ok(Pending {
            record: ManifestRecord {
                id,
                class_id: T::CLASS_ID,
                class_version: T::VERSION,
                tags: all,
                created_at: id.created_at(),
                replaces: None,
            },
            contents: unpacker.contents,
        })
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Writes every content, then commits every manifest in one transaction.
    ///
    /// On failure nothing is committed, and [`Error::Batch`] lists each failed value.
    /// Contents already written for a failed batch are referenced by no manifest.
    pub async fn finish(self) -> Result<SavedBatch> {
        let Saver {
            registry,
            db,
            batch,
            pending,
            mut failures,
            concurrency,
            delete_replaced,
        } = self;
        let total = pending.len();
        let (jobs, mut written) = plan(registry, &pending, &mut failures).await;
        write(jobs, &mut written, concurrency, &mut failures).await;
        if !failures.is_empty() {
            failures.sort_by_key(|f| f.index);
            return Err(Error::Batch {
                action: "saved",
                total,
                failures,
            });
        }
        let values = new_values(registry, pending, written, delete_replaced);
        let records = db.insert(values).await?;
        Ok(SavedBatch { batch, records })
    }
}

/// For each value, and each of its contents, what writing it produced; `None` until it
/// is written.
type Written = Vec<Vec<Option<Write>>>;

/// Decides where each content goes: a write job for every content bound for a storage
/// (or large, or a stream), and the digest alone for a small content the database keeps,
/// which is done right here.
async fn plan(
    registry: &Registry,
    pending: &[Option<Pending>],
    failures: &mut Vec<BatchFailure>,
) -> (Vec<WriteJob>, Written) {
    let algorithm = registry.hash_algorithm();
    let mut jobs = Vec::new();
    let mut written: Written = Vec::with_capacity(pending.len());
    for (index, item) in pending.iter().enumerate() {
        cooperate(index).await;
        let Some(item) = item else {
            written.push(Vec::new());
            continue;
        };
        written.push(vec![None; item.contents.len()]);
        for (slot, content) in item.contents.iter().enumerate() {
            let storage_name = registry.storage_of(content.spec);
            let storage = match registry.storage(storage_name) {
                Some(StorageEntry::Database) => None,
                Some(StorageEntry::External(storage)) => Some(storage.clone()),
                None => {
                    failures.push(BatchFailure {
                        index,
                        error: Error::UnknownStorage {
                            manifest: item.record.id,
                            key: content.key.clone(),
                            storage: storage_name.to_owned(),
                        },
                    });
                    continue;
                }
            };
            let target = Target {
                name: storage_name,
                storage,
                algorithm,
            };
            if content.stream.is_some() {
                jobs.push(stream_job(index, slot, item, content, target));
            } else if target.storage.is_none() && content.data.len() <= INLINE_HASH_LIMIT {
                written[index][slot] = Some(Write {
                    digest: Digest::with(algorithm, &content.data),
                    config: serde_json::Value::Null,
                    data: None,
                });
            } else {
                jobs.push(write_job(index, slot, item, content, target));
            }
        }
    }
    (jobs, written)
}

/// Runs the write jobs, `concurrency` at a time, recording what each produced.
async fn write(
    jobs: Vec<WriteJob>,
    written: &mut Written,
    concurrency: usize,
    failures: &mut Vec<BatchFailure>,
) {
    let mut results = stream::iter(jobs).buffer_unordered(concurrency);
    while let Some((index, slot, result)) = results.next().await {
        match result {
            Ok(done) => written[index][slot] = Some(done),
            Err(error) => failures.push(BatchFailure { index, error }),
        }
    }
}

/// The values to commit, each manifest with its written contents; called once every
/// content was written.
fn new_values(
    registry: &Registry,
    pending: Vec<Option<Pending>>,
    written: Written,
    delete_replaced: bool,
) -> Vec<NewValue> {
    let mut values = Vec::with_capacity(pending.len());
    for (item, written) in pending.into_iter().zip(written) {
        let Some(item) = item else {
            unreachable!("a failed value was reported before its contents were committed")
        };
        let contents = item
            .contents
            .into_iter()
            .zip(written)
            .map(|(content, written)| {
                let Some(Write {
                    digest,
                    config,
                    data,
                }) = written
                else {
                    unreachable!("every content of a value without failures was written")
                };
                // The database storage keeps the bytes in the row: a stream's as it
                // was encoded, else the value's.
                let data = config.is_null().then(|| data.unwrap_or(content.data));
                NewContent {
                    key: content.key,
                    content_type: content.content_type,
                    encoding: content.encoding,
                    digest,
                    serializer_name: content.serializer_name,
                    serializer_config: content.serializer_config,
                    storage_name: registry.storage_of(content.spec).to_owned(),
                    storage_config: config,
                    data,
                    tags: spec_tags(content.spec.tags),
                }
            })
            .collect();
        values.push(NewValue {
            record: item.record,
            contents,
            delete_replaced,
        });
    }
    values
}

fn spec_tags(tags: &[(&str, &str)]) -> Tags {
    tags.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What writing one content produced: its digest, the storage's config (`null` for the
/// database storage), and, for a stream bound for the database, its bytes.
#[derive(Clone)]
struct Write {
    digest: Digest,
    config: serde_json::Value,
    data: Option<Bytes>,
}

/// Where a content is written: the storage's registered name, the storage (`None` for
/// the database storage), and the hash algorithm of its digest.
struct Target {
    name: &'static str,
    storage: Option<Arc<dyn crate::storage::Storage>>,
    algorithm: HashAlgorithm,
}

type WriteJob = Pin<Box<dyn Future<Output = (usize, usize, Result<Write>)> + Send>>;

/// The tags a storage receives with a content: its own and its manifest's, the
/// manifest's winning.
fn merged_tags(item: &Pending, content: &UnpackedContent) -> Tags {
    let mut tags = spec_tags(content.spec.tags);
    tags.extend(item.record.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags
}

/// Writes one stream content as its items are encoded; into memory for the database
/// storage, which keeps the bytes in the content's row.
fn stream_job(
    index: usize,
    slot: usize,
    item: &Pending,
    content: &UnpackedContent,
    target: Target,
) -> WriteJob {
    let Target {
        name: storage_name,
        storage,
        algorithm,
    } = target;
    let manifest = item.record.id;
    let key = content.key.clone();
    let tags = merged_tags(item, content);
    let (bytes, failure) = match &content.stream {
        Some(stream) => (
            stream
                .bytes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
            stream.failure.clone(),
        ),
        None => (None, Default::default()),
    };
    async move {
        let Some(mut bytes) = bytes else {
            let error = Error::StreamConsumed {
                manifest,
                key: key.to_owned(),
            };
            return (index, slot, Err(error));
        };
        let storage_error = |source| Error::Storage {
            operation: "write",
            storage: storage_name.to_owned(),
            manifest,
            key: key.to_owned(),
            source: Box::new(source),
        };
        let result = match storage {
            None => {
                let mut digester = Digester::with(algorithm);
                let mut data = bytes::BytesMut::new();
                let mut failed = None;
                while let Some(chunk) = bytes.next().await {
                    match chunk {
                        Ok(chunk) => {
                            digester.update(&chunk);
                            data.extend_from_slice(&chunk);
                        }
                        Err(e) => {
                            failed = Some(storage_error(e));
                            break;
                        }
                    }
                }
                match failed {
                    Some(error) => Err(error),
                    None => Ok(Write {
                        digest: digester.finish(),
                        config: serde_json::Value::Null,
                        data: Some(data.freeze()),
                    }),
                }
            }
            Some(storage) => {
                // What the storage was handed, counted as it goes, to catch a storage
                // that reports success without having taken every byte, or after it was
                // handed an error and chose to carry on.
                let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
                let counted = {
                    let seen = Arc::clone(&seen);
                    let mut counting = bytes;
                    futures::stream::poll_fn(move |cx| {
                        let next = counting.poll_next_unpin(cx);
                        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        match &next {
                            std::task::Poll::Ready(Some(Ok(chunk))) => {
                                seen.taken += chunk.len() as u64
                            }
                            std::task::Poll::Ready(Some(Err(_))) => seen.errored = true,
                            std::task::Poll::Ready(None) => seen.ended = true,
                            std::task::Poll::Pending => {}
                        }
                        next
                    })
                    .boxed()
                };
                let written = storage
                    .write_stream(StreamWriteRequest::new(counted, &tags).hash_algorithm(algorithm))
                    .await;
                let seen = *seen.lock().unwrap_or_else(|p| p.into_inner());
                match written {
                    Err(source) => Err(storage_error(source)),
                    Ok(_) if seen.errored => Err(storage_error(StorageError::new(
                        StorageErrorKind::Other,
                        "the storage reported success for a stream that yielded an error",
                    ))),
                    Ok((_, digest)) if digest.algorithm != algorithm => {
                        Err(storage_error(StorageError::new(
                            StorageErrorKind::Other,
                            format!(
                                "the storage hashed the stream with {} where the request \
                                 asked for {algorithm}",
                                digest.algorithm
                            ),
                        )))
                    }
                    Ok((config, digest)) if seen.ended && seen.taken == digest.size => Ok(Write {
                        digest,
                        config,
                        data: None,
                    }),
                    Ok((_, digest)) => {
                        Err(storage_error(StorageError::new(
                            StorageErrorKind::Other,
                            format!(
                            "the storage reported a write of {} bytes after taking {} bytes of \
                             the stream{}; a streamed write must consume the whole stream",
                            digest.size,
                            seen.taken,
                            if seen.ended { "" } else { " without reaching its end" }
                        ),
                        )))
                    }
                }
            }
        };
        // When the items or their encoding failed, that is the cause of the write's
        // failure, and the error that names it; a failure fails the write even when the
        // storage reported success.
        let failed = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
        let result = match (result, failed) {
            (_, Some(error)) => Err(error),
            (result, None) => result,
        };
        (index, slot, result)
    }
    .boxed()
}

/// What a streamed write handed its storage.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    taken: u64,
    errored: bool,
    ended: bool,
}

/// Writes one content: its digest is computed on a blocking thread while the storage
/// writes, so large contents are hashed and written at the same time.
fn write_job(
    index: usize,
    slot: usize,
    item: &Pending,
    content: &UnpackedContent,
    target: Target,
) -> WriteJob {
    let Target {
        name: storage_name,
        storage,
        algorithm,
    } = target;
    let data: Bytes = content.data.clone();
    let manifest = item.record.id;
    let key = content.key.clone();
    let tags = merged_tags(item, content);
    async move {
        let hashed = data.clone();
        let digest = if data.len() <= INLINE_HASH_LIMIT {
            futures::future::ready(Ok(Digest::with(algorithm, &hashed))).boxed()
        } else {
            tokio::task::spawn_blocking(move || Digest::with(algorithm, &hashed))
                .map(|r| r.map_err(Arc::new))
                .boxed()
        }
        .shared();
        let result = match storage {
            None => digest
                .await
                .map(|digest| Write {
                    digest,
                    config: serde_json::Value::Null,
                    data: None,
                })
                .map_err(|e| Error::Task(Box::new(e))),
            Some(storage) => {
                let request = WriteRequest::with_pending_digest(data, &tags, digest.clone());
                match storage.write(request).await {
                    Ok(config) => digest
                        .await
                        .map(|digest| Write {
                            digest,
                            config,
                            data: None,
                        })
                        .map_err(|e| Error::Task(Box::new(e))),
                    Err(source) => Err(Error::Storage {
                        operation: "write",
                        storage: storage_name.to_owned(),
                        manifest,
                        key: key.to_owned(),
                        source: Box::new(source),
                    }),
                }
            }
        };
        (index, slot, result)
    }
    .boxed()
}

fn next_batch_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The manifests a [`Saver`] committed, in the order the values were added.
#[derive(Debug)]
pub struct SavedBatch {
    batch: u64,
    records: Vec<ManifestRecord>,
}

impl SavedBatch {
    /// The record of one value, or `None` for a handle from another batch.
    pub fn get(&self, handle: SaveHandle) -> Option<&ManifestRecord> {
        (handle.batch == self.batch)
            .then(|| self.records.get(handle.index))
            .flatten()
    }

    /// Every record, in the order the values were added.
    pub fn records(&self) -> &[ManifestRecord] {
        &self.records
    }

    /// Every record, in the order the values were added.
    pub fn into_records(self) -> Vec<ManifestRecord> {
        self.records
    }
}

impl std::ops::Index<SaveHandle> for SavedBatch {
    type Output = ManifestRecord;

    /// # Panics
    /// If the handle belongs to another batch: use [`SavedBatch::get`] to avoid that.
    fn index(&self, handle: SaveHandle) -> &ManifestRecord {
        match self.get(handle) {
            Some(record) => record,
            None => panic!(
                "SaveHandle #{} belongs to another batch than this SavedBatch",
                handle.index
            ),
        }
    }
}
