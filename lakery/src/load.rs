//! Loading: [`load_one`] for one value, [`Loader`] for many in one round trip.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use futures::future::FutureExt;
use futures::stream::{self, StreamExt};

use crate::db::{Database, Fetched, CHUNK};
use crate::error::{BatchFailure, Error, Result};
use crate::fetch;
use crate::hash::{cooperate, INLINE_HASH_LIMIT};
use crate::id::{ClassId, ManifestId};
use crate::record::{CheckedContent, CorruptContent, ManifestRef};
use crate::registry::Registry;
use crate::repack::{LoadedContent, Repacker};
use crate::storable::{ContentSpec, Storable};
use crate::storage::DEFAULT_CONCURRENCY;

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

/// For each request of a chunk, its stored version and the contents read so far;
/// `None` once the value failed (or was never valid).
type Pending = Vec<Option<(u32, Vec<LoadedContent>)>>;

impl Chunk<'_> {
    /// Checks the manifests, reads and verifies the contents, and repacks each value.
    async fn load(
        &self,
        fetched: Fetched,
        failures: &mut Vec<BatchFailure>,
    ) -> Vec<Option<Box<dyn Any + Send>>> {
        let (mut pending, jobs) = self.check(fetched, failures).await;
        self.read(&mut pending, jobs, failures).await;
        self.repack(pending, failures).await
    }

    /// Checks each manifest against its request, and sorts its contents: streams are
    /// described for later, small contents in the database checked right away, and a
    /// read is planned for each of the others.
    async fn check(
        &self,
        (manifests, mut content_rows): Fetched,
        failures: &mut Vec<BatchFailure>,
    ) -> (Pending, Vec<ReadJob>) {
        let mut pending: Pending = Vec::with_capacity(self.requests.len());
        let mut jobs = Vec::new();
        // A manifest asked for more than once gets its contents copied for all but the
        // last request; the usual case, once each, moves them.
        let mut remaining: HashMap<ManifestId, usize> = HashMap::with_capacity(self.requests.len());
        for request in self.requests.iter().flatten() {
            *remaining.entry(request.id).or_default() += 1;
        }
        for (offset, request) in self.requests.iter().enumerate() {
            cooperate(offset).await;
            let index = self.first + offset;
            pending.push(None);
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
                content_rows
                    .get(&key)
                    .map(|rows| rows.iter().map(clone_checked).collect())
            }
            .unwrap_or_default();
            let mut contents = Vec::with_capacity(rows.len());
            let mut failed = false;
            for content in rows {
                match self.plan(offset, request, content, &mut jobs) {
                    Ok(Some(content)) => contents.push(content),
                    Ok(None) => {}
                    Err(error) => {
                        failed = true;
                        failures.push(BatchFailure { index, error });
                    }
                }
            }
            if !failed {
                pending[offset] = Some((version, contents));
            }
        }
        (pending, jobs)
    }

    /// What to do with one content of a checked manifest: the content when it is
    /// ready now, or `None` when a read of it was queued in `jobs`.
    fn plan(
        &self,
        offset: usize,
        request: &Request,
        content: CheckedContent,
        jobs: &mut Vec<ReadJob>,
    ) -> Result<Option<LoadedContent>> {
        let content = content.map_err(|bad| bad.error)?;
        let storage = self.registry.storage(&content.storage_name);
        let limit = self.registry.max_decoded_size();
        if ContentSpec::is_stream(request.specs, &content.key) {
            return fetch::lazy(content, storage.cloned())
                .map(|content| Some(content.within(limit)));
        }
        if fetch::is_inline(&content, storage) {
            return fetch::read_inline(content).map(|content| Some(content.within(limit)));
        }
        let read = fetch::read(content, storage.cloned());
        jobs.push(
            read.map(move |result| (offset, result.map(|content| content.within(limit))))
                .boxed(),
        );
        Ok(None)
    }

    /// Runs the planned reads, a few at a time, into the values they belong to.
    async fn read(
        &self,
        pending: &mut Pending,
        jobs: Vec<ReadJob>,
        failures: &mut Vec<BatchFailure>,
    ) {
        let mut results = stream::iter(jobs).buffer_unordered(self.concurrency);
        while let Some((offset, result)) = results.next().await {
            match result {
                Ok(content) => {
                    // A value that failed already keeps failing; its content is dropped.
                    if let Some((_, contents)) = &mut pending[offset] {
                        contents.push(content);
                    }
                }
                Err(error) => {
                    pending[offset] = None;
                    failures.push(BatchFailure {
                        index: self.first + offset,
                        error,
                    });
                }
            }
        }
    }

    /// Rebuilds each value whose contents were all read.
    async fn repack(
        &self,
        pending: Pending,
        failures: &mut Vec<BatchFailure>,
    ) -> Vec<Option<Box<dyn Any + Send>>> {
        let mut values = Vec::with_capacity(self.requests.len());
        for (offset, (request, loaded)) in self.requests.iter().zip(pending).enumerate() {
            cooperate(offset).await;
            let (Some(request), Some((version, contents))) = (request, loaded) else {
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

/// A copy of a checked content, for a manifest requested more than once.
fn clone_checked(content: &CheckedContent) -> CheckedContent {
    match content {
        Ok(content) => Ok(content.clone()),
        Err(bad) => Err(Box::new(CorruptContent {
            key: bad.key.clone(),
            storage_name: bad.storage_name.clone(),
            // Errors do not clone; a row check only finds corrupt records, whose copy
            // says the same.
            error: Error::CorruptRecord {
                manifest: match &bad.error {
                    Error::CorruptRecord { manifest, .. } => manifest.clone(),
                    _ => String::new(),
                },
                reason: match &bad.error {
                    Error::CorruptRecord { reason, .. } => reason.clone(),
                    other => other.to_string(),
                },
            },
        })),
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

/// A planned read of one content, with the offset of its value in the chunk.
type ReadJob = Pin<Box<dyn Future<Output = (usize, Result<LoadedContent>)> + Send>>;

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
