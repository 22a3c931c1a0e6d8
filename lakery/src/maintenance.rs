//! Looking after what is stored: [`collect_garbage`] removes blobs nothing refers to,
//! [`verify`] re-reads contents and checks them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::db::{Database, Query, UnreadableManifest};
use crate::error::{Error, Result};
use crate::fetch;
use crate::id::ManifestId;
use crate::registry::Registry;
use crate::storage::{Storage, StorageEntry, StorageError, StorageErrorKind, StoredBlob};

/// How many blobs are deleted, or contents read, at once.
const CONCURRENCY: usize = 16;

/// How many manifests [`verify`] reads per page.
const VERIFY_PAGE: usize = 500;

/// How [`collect_garbage`] runs.
///
/// ```
/// use std::time::Duration;
/// let options = lakery::GcOptions::new().grace(Duration::from_secs(3600)).dry_run(true);
/// assert_eq!(options.grace_period(), Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcOptions {
    grace: Duration,
    dry_run: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            grace: GcOptions::DEFAULT_GRACE,
            dry_run: false,
        }
    }
}

impl GcOptions {
    /// The default grace period: a day.
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

    /// A grace period of [`DEFAULT_GRACE`](GcOptions::DEFAULT_GRACE), deleting for real.
    pub fn new() -> Self {
        GcOptions::default()
    }

    /// Keeps every blob written less than `grace` ago, referenced or not. It must be
    /// longer than any save takes from writing its first content to committing its
    /// manifest (see [`collect_garbage`]).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Reports what would be removed, and removes nothing.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The grace period.
    pub fn grace_period(&self) -> Duration {
        self.grace
    }
}

/// One blob that [`collect_garbage`] removed (or, in a dry run, would remove).
#[derive(Debug, Clone, PartialEq)]
pub struct CollectedBlob {
    /// The storage's registered name.
    pub storage: String,
    /// The config that named the blob.
    pub config: serde_json::Value,
    /// Its size in bytes.
    pub size: u64,
}

/// What [`collect_garbage`] did.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct GcReport {
    /// The blobs removed, or in a dry run the blobs that would be, ordered by storage
    /// and config.
    pub removed: Vec<CollectedBlob>,
    /// Their total size in bytes.
    pub removed_bytes: u64,
    /// Blobs kept because a content record refers to them.
    pub referenced: usize,
    /// Blobs no record refers to, kept because they were written within the grace
    /// period: most likely a save that has not committed yet.
    pub recent: usize,
    /// Storages that cannot list their blobs, and so were not collected.
    pub skipped_storages: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Removes the blobs of external storages that no content record refers to: left by a
/// save that failed or crashed, or by [`Database::delete`]. Contents in the database
/// storage go with their rows and need no collection.
///
/// # Why it never removes a blob a save is about to use
///
/// A save writes its contents first and commits its manifest after, so for a moment a
/// blob exists that nothing refers to yet. Collection therefore
///
/// 1. notes the time `t` and lists every blob of every storage, with when it was last
///    written;
/// 2. then reads which blobs the database refers to;
/// 3. removes a blob only if nothing refers to it and it was last written before
///    `t - grace`, checking that age again at the moment of removal, atomically with
///    respect to writers ([`Storage::delete_if_older`](crate::Storage::delete_if_older)).
///
/// A save that commits after step 2 wrote its blobs at most `grace` before committing
/// (the requirement on the grace period), so after `t - grace`: it is kept. Writing a
/// content that is already stored counts as writing it again (the file storage replaces
/// the file), so a save that reuses an old blob protects it in the same way. A save
/// that commits before step 2 is seen as a reference. The default grace of a day is
/// far longer than any save.
///
/// Every content record counts as a reference for every storage, whatever storage it
/// names, so two names for one folder or bucket, or another program's storage names,
/// cannot make a blob look unreferenced. Storages that cannot list their blobs are
/// skipped and named in the report.
///
/// The references are held in memory while it runs: a few hundred bytes per distinct
/// stored blob.
///
/// ```no_run
/// # async fn run(registry: &lakery::Registry, db: &lakery::Database) -> lakery::Result<()> {
/// let report = lakery::collect_garbage(registry, db, lakery::GcOptions::new()).await?;
/// println!("removed {} blobs, {} bytes", report.removed.len(), report.removed_bytes);
/// # Ok(()) }
/// ```
pub async fn collect_garbage(
    registry: &Registry,
    db: &Database,
    options: GcOptions,
) -> Result<GcReport> {
    collect_garbage_with_progress(registry, db, options, |_| {}).await
}

/// How far [`verify_with_progress`] or [`collect_garbage_with_progress`] has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Contents checked, or blobs removed.
    pub done: u64,
    /// How many there are in all, once known: blobs to remove are known after the
    /// listing; contents to check are read page by page and never known ahead.
    pub total: Option<u64>,
    /// Bytes checked, or removed.
    pub bytes: u64,
}

/// [`collect_garbage`], telling `progress` after the listing (with the number of blobs
/// to remove) and after each blob removed: for a progress bar.
pub async fn collect_garbage_with_progress(
    registry: &Registry,
    db: &Database,
    options: GcOptions,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<GcReport> {
    let started = SystemTime::now();
    let cutoff = started
        .checked_sub(options.grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };

    // 1. Every blob of every storage, listed before the references are read.
    let mut listed = Vec::new();
    let mut names: Vec<&str> = registry.storage_names().collect();
    names.sort_unstable();
    for name in names {
        let Some(StorageEntry::External(storage)) = registry.storage(name) else {
            continue;
        };
        match storage.list().await {
            Ok(blobs) => listed.push((name.to_owned(), storage.clone(), blobs)),
            Err(e) if e.kind() == StorageErrorKind::Unsupported => {
                report.skipped_storages.push(name.to_owned());
            }
            Err(e) => return Err(maintenance_error(name, "list its blobs", e)),
        }
    }

    // 2. What the database refers to.
    let referenced = db.referenced_configs().await?;

    // 3. Unreferenced and old enough: a pass over every blob, off the async threads.
    let (candidates, referenced_count, recent) = tokio::task::spawn_blocking(move || {
        let (mut candidates, mut referenced_count, mut recent) = (Vec::new(), 0, 0);
        for (name, storage, blobs) in listed {
            for blob in blobs {
                if referenced.contains(&blob.config.to_string()) {
                    referenced_count += 1;
                } else if blob.written_at >= cutoff {
                    recent += 1;
                } else {
                    candidates.push((name.clone(), storage.clone(), blob));
                }
            }
        }
        (candidates, referenced_count, recent)
    })
    .await
    .map_err(|e| Error::Task(Box::new(e)))?;
    report.referenced = referenced_count;
    report.recent = recent;
    let mut done = Progress {
        total: Some(if options.dry_run {
            0
        } else {
            candidates.len() as u64
        }),
        ..Progress::default()
    };
    progress(done);
    if options.dry_run {
        for (name, _, blob) in candidates {
            report.add_removed(name, blob);
        }
        report.sort();
        return Ok(report);
    }
    let mut deletions = stream::iter(candidates)
        .map(move |(name, storage, blob)| remove_blob(name, storage, blob, cutoff))
        .buffer_unordered(CONCURRENCY)
        // Boxed, so that the stream is proven `Send` here, where its types are known:
        // left to the caller's `tokio::spawn`, the check meets the closure's erased
        // lifetimes and fails as "not general enough" (tests/spawn.rs).
        .boxed();
    while let Some((name, blob, deleted)) = deletions.try_next().await? {
        if deleted {
            done.done += 1;
            done.bytes += blob.size;
            progress(done);
            report.add_removed(name, blob);
        } else {
            // Written again (or removed) since it was listed.
            report.recent += 1;
        }
    }
    report.sort();
    Ok(report)
}

/// Deletes one unreferenced blob unless it was written again since `cutoff`.
///
async fn remove_blob(
    name: String,
    storage: Arc<dyn Storage>,
    blob: StoredBlob,
    cutoff: SystemTime,
) -> Result<(String, StoredBlob, bool)> {
    match storage.delete_if_older(&blob.config, cutoff).await {
        Ok(deleted) => Ok((name, blob, deleted)),
        Err(e) => Err(maintenance_error(&name, "delete an unreferenced blob", e)),
    }
}

impl GcReport {
    fn add_removed(&mut self, storage: String, blob: StoredBlob) {
        self.removed_bytes += blob.size;
        self.removed.push(CollectedBlob {
            storage,
            config: blob.config,
            size: blob.size,
        });
    }

    fn sort(&mut self) {
        self.removed
            .sort_by_cached_key(|blob| (blob.storage.clone(), blob.config.to_string()));
    }
}

fn maintenance_error(storage: &str, operation: &'static str, source: StorageError) -> Error {
    Error::Maintenance {
        storage: storage.to_owned(),
        operation,
        source: Box::new(source),
    }
}

/// What [`verify`] found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// How many manifests were checked.
    pub manifests: usize,
    /// How many contents were read.
    pub contents: usize,
    /// How many bytes were read and hashed.
    pub bytes: u64,
    /// Every content that is missing, corrupt or could not be read.
    pub problems: Vec<Problem>,
    /// The manifests whose own rows cannot be read (their contents are checked all
    /// the same when their id can be).
    pub unreadable: Vec<UnreadableManifest>,
}

impl VerifyReport {
    /// Whether every manifest and content was found intact.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.unreadable.is_empty()
    }
}

/// A content [`verify`] found wanting.
#[derive(Debug)]
#[non_exhaustive]
pub struct Problem {
    /// The manifest the content belongs to.
    pub manifest: ManifestId,
    /// The content's key.
    pub key: String,
    /// The storage it is recorded in.
    pub storage: String,
    /// What is wrong.
    pub kind: ProblemKind,
    /// The error reading it gave.
    pub error: Error,
}

/// What is wrong with a content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Its storage has no data for it.
    Missing,
    /// Its data's size or hash is not what was recorded, or its record is malformed.
    Corrupt,
    /// It could not be read: the storage is not configured here, or failed.
    Unreadable,
}

/// Re-reads every content of the manifests `query` selects and checks its size and
/// hash against what was recorded when it was saved. Problems with contents are
/// collected in the report, not returned as errors; an `Err` means the check itself
/// could not run (the database failed, for example).
///
/// All pages of the query are checked, from its cursor on; a limit on the query caps
/// the number of manifests checked.
///
/// ```no_run
/// # async fn run(registry: &lakery::Registry, db: &lakery::Database) -> lakery::Result<()> {
/// let report = lakery::verify(registry, db, &lakery::Query::new()).await?;
/// for problem in &report.problems {
///     eprintln!("{:?}: {}", problem.kind, problem.error);
/// }
/// # Ok(()) }
/// ```
pub async fn verify(registry: &Registry, db: &Database, query: &Query) -> Result<VerifyReport> {
    verify_with_progress(registry, db, query, |_| {}).await
}

/// [`verify`], telling `progress` after each content checked: for a progress bar.
pub async fn verify_with_progress(
    registry: &Registry,
    db: &Database,
    query: &Query,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let mut remaining = query.limit_value();
    let mut query = query.clone();
    loop {
        let page_size = remaining.map_or(VERIFY_PAGE, |r| r.min(VERIFY_PAGE));
        query = query.limit(page_size);
        let page = db.find(&query).await?;
        // A manifest whose row is bad still has contents to check, if its id is one.
        let ids: Vec<ManifestId> = page
            .records
            .iter()
            .map(|r| r.id)
            .chain(page.unreadable.iter().filter_map(|u| u.id.parse().ok()))
            .collect();
        let listed = page.records.len() + page.unreadable.len();
        report.unreadable.extend(page.unreadable);
        let (manifests, mut contents) = db
            .fetch(ids.iter().map(|id| *id.as_uuid()).collect())
            .await?;
        let mut jobs = Vec::new();
        for &manifest in &ids {
            let key = manifest.as_uuid();
            // Deleted between the two reads: nothing left to check.
            if !manifests.contains_key(key) {
                continue;
            }
            report.manifests += 1;
            for content in contents.remove(key).unwrap_or_default() {
                jobs.push(async move {
                    match content {
                        Ok(content) => {
                            let (key, storage) =
                                (content.key.clone(), content.storage_name.clone());
                            let entry = registry.storage(&storage).cloned();
                            (manifest, key, storage, fetch::check(content, entry).await)
                        }
                        Err(bad) => (manifest, bad.key, bad.storage_name, Err(bad.error)),
                    }
                });
            }
        }
        let mut results = stream::iter(jobs).buffer_unordered(CONCURRENCY);
        while let Some((manifest, key, storage, result)) = results.next().await {
            report.contents += 1;
            match result {
                Ok(size) => report.bytes += size,
                Err(error) => report.problems.push(Problem {
                    manifest,
                    key,
                    storage,
                    kind: problem_kind(&error),
                    error,
                }),
            }
            progress(Progress {
                done: report.contents as u64,
                total: None,
                bytes: report.bytes,
            });
        }
        drop(results);
        if let Some(remaining) = remaining.as_mut() {
            *remaining -= listed.min(*remaining);
            if *remaining == 0 {
                break;
            }
        }
        match page.next {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
    }
    report
        .problems
        .sort_by(|a, b| (a.manifest, &a.key).cmp(&(b.manifest, &b.key)));
    Ok(report)
}

fn problem_kind(error: &Error) -> ProblemKind {
    match error {
        Error::BlobMissing { .. } => ProblemKind::Missing,
        Error::HashMismatch { .. } | Error::CorruptRecord { .. } => ProblemKind::Corrupt,
        _ => ProblemKind::Unreadable,
    }
}
