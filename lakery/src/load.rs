//! Loading: [`load_one`] for one value, [`Loader`] for many in one round trip.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use bytes::Bytes;
use futures::future::FutureExt;
use futures::stream::{self, StreamExt};

use crate::db::records::ContentRow;
use crate::db::Database;
use crate::error::BatchFailure;
use crate::manifest::{digest, Digest, ManifestId, ManifestRef};
use crate::__private::{LoadedContent, Repacker};
use crate::registry::Registry;
use crate::save::DEFAULT_CONCURRENCY;
use crate::storable::{ClassId, ContentSpec, Storable};
use crate::storage::StorageEntry;
use crate::{Error, Result};

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
pub async fn load_one<T: Storable>(manifest: impl ManifestRef, registry: &Registry, db: &Database) -> Result<T> {
    let mut loader = Loader::new(registry, db);
    let handle = loader.load_soon::<T>(manifest);
    match loader.finish().await {
        Ok(mut batch) => match batch.take(handle) {
            Some(value) => Ok(value),
            None => unreachable!("a batch that finished holds the value of its only handle"),
        },
        Err(Error::Batch { mut failures, .. }) if failures.len() == 1 => Err(failures.remove(0).error),
        Err(error) => Err(error),
    }
}

type Repack = fn(ManifestId, &'static [ContentSpec], Vec<LoadedContent>) -> Result<Box<dyn Any + Send>>;

fn repack<T: Storable>(
    manifest: ManifestId,
    specs: &'static [ContentSpec],
    contents: Vec<LoadedContent>,
) -> Result<Box<dyn Any + Send>> {
    T::repack(&mut Repacker::new(manifest, specs, contents)).map(|value| Box::new(value) as Box<dyn Any + Send>)
}

struct Request {
    id: ManifestId,
    type_name: &'static str,
    class_id: ClassId,
    version: u32,
    specs: &'static [ContentSpec],
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
                version: T::VERSION,
                specs: T::CONTENTS,
                repack: repack::<T>,
            })),
            Err(error) => {
                self.requests.push(None);
                self.failures.push(BatchFailure { index, error });
            }
        }
        LoadHandle { batch: self.batch, index, _type: PhantomData }
    }

    /// Reads every queued manifest and its contents, checks every hash, and rebuilds
    /// the values. On failure, [`Error::Batch`] lists every value that failed.
    pub async fn finish(self) -> Result<LoadedBatch> {
        let Loader { registry, db, batch, requests, mut failures, concurrency } = self;
        let total = requests.len();
        let ids: Vec<String> = requests.iter().flatten().map(|r| r.id.to_string()).collect();
        let (mut manifests, mut content_rows) = db.fetch(ids).await?;

        let mut loaded: Vec<Option<Vec<LoadedContent>>> = Vec::with_capacity(total);
        let mut jobs = Vec::new();
        for (index, request) in requests.iter().enumerate() {
            loaded.push(None);
            let Some(request) = request else { continue };
            let key = request.id.to_string();
            let checked = match manifests.remove(&key) {
                None => Err(Error::ManifestNotFound(request.id)),
                Some(row) => row.into_record().and_then(|record| {
                    if record.class_id != request.class_id {
                        Err(Error::WrongClass {
                            manifest: request.id,
                            expected_type: request.type_name,
                            expected: request.class_id,
                            found: record.class_id,
                        })
                    } else if record.class_version != request.version {
                        Err(Error::UnsupportedVersion {
                            manifest: request.id,
                            type_name: request.type_name,
                            class_id: request.class_id,
                            stored: record.class_version,
                            current: request.version,
                        })
                    } else {
                        Ok(())
                    }
                }),
            };
            if let Err(error) = checked {
                failures.push(BatchFailure { index, error });
                continue;
            }
            let rows = content_rows.remove(&key).unwrap_or_default();
            loaded[index] = Some(Vec::with_capacity(rows.len()));
            for row in rows {
                jobs.push(read_job(index, request.id, row, registry));
            }
        }

        let mut results = stream::iter(jobs).buffer_unordered(concurrency);
        while let Some((index, result)) = results.next().await {
            match result {
                Ok(content) => {
                    if let Some(contents) = &mut loaded[index] {
                        contents.push(content);
                    }
                }
                Err(error) => failures.push(BatchFailure { index, error }),
            }
        }
        drop(results);

        let mut values: Vec<Option<Box<dyn Any + Send>>> = Vec::with_capacity(total);
        for (index, (request, contents)) in requests.into_iter().zip(loaded).enumerate() {
            let (Some(request), Some(contents)) = (request, contents) else {
                values.push(None);
                continue;
            };
            if failures.iter().any(|f| f.index == index) {
                values.push(None);
                continue;
            }
            match (request.repack)(request.id, request.specs, contents) {
                Ok(value) => values.push(Some(value)),
                Err(error) => {
                    failures.push(BatchFailure { index, error });
                    values.push(None);
                }
            }
        }
        if !failures.is_empty() {
            failures.sort_by_key(|f| f.index);
            return Err(Error::Batch { action: "loaded", total, failures });
        }
        Ok(LoadedBatch { batch, values })
    }
}

type ReadJob = Pin<Box<dyn Future<Output = (usize, Result<LoadedContent>)> + Send>>;

/// Fetches one content's bytes (from the row itself for the database storage) and
/// checks them against the recorded size and hash.
fn read_job(index: usize, manifest: ManifestId, row: ContentRow, registry: &Registry) -> ReadJob {
    let storage = registry.storage(&row.storage_name).cloned();
    async move {
        let result = async {
            let (record, inline) = row.into_record()?;
            let key = record.key.clone();
            let storage_error = |operation, source| Error::Storage {
                operation,
                storage: record.storage_name.clone(),
                manifest,
                key: key.clone(),
                source,
            };
            let data: Bytes = match (storage, inline) {
                (Some(StorageEntry::Database), Some(data)) => Bytes::from(data),
                (Some(StorageEntry::Database), None) => {
                    return Err(Error::CorruptRecord {
                        manifest: manifest.to_string(),
                        reason: format!("content `{key}` is in the database storage but its row holds no bytes"),
                    })
                }
                (Some(StorageEntry::External(storage)), _) => {
                    storage.read(&record.storage_config).await.map_err(|e| storage_error("read", e))?
                }
                (None, _) => {
                    return Err(Error::UnknownStorage { manifest, key, storage: record.storage_name.clone() })
                }
            };
            if record.hash_algorithm != Digest::ALGORITHM {
                return Err(Error::CorruptRecord {
                    manifest: manifest.to_string(),
                    reason: format!("content `{key}` uses unknown hash algorithm `{}`", record.hash_algorithm),
                });
            }
            let actual = digest(&data).await?;
            if actual.hex() != record.hash || actual.size != record.size {
                return Err(Error::HashMismatch {
                    manifest,
                    key,
                    storage: record.storage_name,
                    algorithm: record.hash_algorithm,
                    expected: record.hash,
                    actual: actual.hex(),
                    expected_size: record.size,
                    actual_size: actual.size,
                });
            }
            Ok(LoadedContent {
                key: record.key,
                data,
                content_type: record.content_type,
                serializer_name: record.serializer_name,
                serializer_config: record.serializer_config,
            })
        }
        .await;
        (index, result)
    }
    .boxed()
}

/// The values a [`Loader`] rebuilt.
pub struct LoadedBatch {
    batch: u64,
    values: Vec<Option<Box<dyn Any + Send>>>,
}

impl std::fmt::Debug for LoadedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waiting = self.values.iter().filter(|v| v.is_some()).count();
        f.debug_struct("LoadedBatch").field("values", &self.values.len()).field("not_taken", &waiting).finish()
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
