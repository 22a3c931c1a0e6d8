//! Versioned models: what a `migrate` hook receives, and rewriting stored data at the
//! current version.
//!
//! A type declares the version before it with `migrate_from`, and converts from it with
//! `From` or `TryFrom`; loading an old manifest repacks it as the old type and converts
//! it, step by step, along a chain of any length:
//!
//! ```
//! use lakery::Storable;
//!
//! #[derive(Storable)]
//! #[storable(class_id = "0b5c7f0e-3d2a-4c1b-9e8f-7a6b5c4d3e2f", version = 1)]
//! struct RunV1 {
//!     loss: f64,
//! }
//!
//! #[derive(Storable)]
//! #[storable(class_id = "0b5c7f0e-3d2a-4c1b-9e8f-7a6b5c4d3e2f", version = 2, migrate_from = RunV1)]
//! struct Run {
//!     train_loss: f64,
//!     validation_loss: Option<f64>,
//! }
//!
//! impl From<RunV1> for Run {
//!     fn from(old: RunV1) -> Self {
//!         Run { train_loss: old.loss, validation_loss: None }
//!     }
//! }
//!
//! assert!(Run::loads_version(1) && Run::loads_version(2));
//! assert_eq!(Run::known_versions(), [1, 2]);
//! ```
//!
//! Where the old struct no longer exists in the code, a `migrate` hook reads the stored
//! contents as an [`OldValue`]:
//!
//! ```
//! use lakery::migration::OldValue;
//! use lakery::Storable;
//!
//! #[derive(Storable)]
//! #[storable(class_id = "0b5c7f0e-3d2a-4c1b-9e8f-7a6b5c4d3e2f", version = 3, migrate = from_old)]
//! struct Run {
//!     train_loss: f64,
//! }
//!
//! fn from_old(mut old: OldValue) -> lakery::Result<Run> {
//!     let body = old.body_json()?;
//!     // Version 1 called it `loss`; version 2 `train_loss`.
//!     let loss = body.get("loss").or(body.get("train_loss")).and_then(|v| v.as_f64());
//!     Ok(Run { train_loss: loss.unwrap_or(f64::NAN) })
//! }
//!
//! assert_eq!(Run::known_versions(), [1, 2, 3]);
//! ```

use std::ops::ControlFlow;

use crate::db::{Cursor, Database, Query};
use crate::error::{Error, Result};
use crate::id::ManifestId;
use crate::load::Loader;
use crate::record::ManifestRecord;
use crate::registry::Registry;
pub use crate::repack::{OldContent, OldValue};
use crate::save::Saver;
use crate::storable::Storable;

/// How [`rewrite`] goes about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "options do nothing until they are given to `rewrite`"]
pub struct RewriteOptions {
    batch_size: usize,
    delete_old: bool,
    dry_run: bool,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        RewriteOptions {
            batch_size: 500,
            delete_old: false,
            dry_run: false,
        }
    }
}

impl RewriteOptions {
    /// Batches of 500 manifests; old manifests kept; not a dry run.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many manifests each batch loads, migrates and saves in one transaction (at
    /// least 1).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// Whether each old manifest is deleted in the transaction that saves its
    /// replacement. Kept by default: a kept manifest stays loadable and is never
    /// rewritten twice, as its replacement records that it replaced it.
    pub fn delete_old(mut self, delete: bool) -> Self {
        self.delete_old = delete;
        self
    }

    /// Loads and migrates every manifest that would be rewritten, reporting what would
    /// be done and what would fail, and writes nothing.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// Where a [`rewrite_with_progress`] stands after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewriteProgress {
    /// Batches done so far.
    pub batches: usize,
    /// Manifests rewritten so far (in a dry run: that would be).
    pub rewritten: usize,
    /// Manifests that failed to load or migrate so far.
    pub failed: usize,
}

/// What a [`rewrite`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct RewriteReport {
    /// Manifests rewritten at the current version (in a dry run: that would be).
    pub rewritten: usize,
    /// Old manifests deleted with their rewrite.
    pub deleted: usize,
    /// Manifests that could not be loaded or migrated, with the error of each; they are
    /// left as they are, and a later rewrite tries them again.
    pub failed: Vec<(ManifestId, Error)>,
    /// Batches committed (in a dry run: checked).
    pub batches: usize,
    /// Whether the progress callback stopped the rewrite before the end.
    pub stopped: bool,
    /// Whether this was a dry run, which writes nothing.
    pub dry_run: bool,
}

/// Rewrites every manifest of `T` stored at an older version: loads and migrates it,
/// saves it at `T::VERSION` with the same manifest tags, and records on the new
/// manifest the one it replaces.
///
/// Each batch is saved in one transaction, together with the deletion of the old
/// manifests when [`RewriteOptions::delete_old`] asks for it. A manifest is rewritten
/// at most once: the database refuses a second manifest replacing the same one, and
/// the manifests already replaced are not selected. So a rewrite that was interrupted
/// (by an error, a crash, or a dropped future) is resumed by running it again; the
/// contents written by a batch that did not commit are left for
/// [`collect_garbage`](crate::collect_garbage).
///
/// A manifest that fails to load or migrate is reported in [`RewriteReport::failed`]
/// and skipped; an error writing a batch stops the rewrite and is returned.
///
/// ```no_run
/// # use lakery::Storable;
/// # #[derive(Storable)]
/// # #[storable(class_id = "8f7e3a34-5a0c-4b8e-9d8a-2f1d0b6c7e55")]
/// # struct Experiment { name: String }
/// # async fn run(registry: &lakery::Registry, db: &lakery::Database) -> lakery::Result<()> {
/// use lakery::migration::{rewrite, RewriteOptions};
///
/// let planned = rewrite::<Experiment>(registry, db, RewriteOptions::new().dry_run(true)).await?;
/// println!("{} to rewrite, {} would fail", planned.rewritten, planned.failed.len());
/// let done = rewrite::<Experiment>(registry, db, RewriteOptions::new().delete_old(true)).await?;
/// # Ok(()) }
/// ```
pub async fn rewrite<T: Storable>(
    registry: &Registry,
    db: &Database,
    options: RewriteOptions,
) -> Result<RewriteReport> {
    rewrite_with_progress::<T>(registry, db, options, |_| ControlFlow::Continue(())).await
}

/// [`rewrite`], calling `progress` after each batch; returning
/// [`ControlFlow::Break`] stops the rewrite there, with everything done so far
/// committed, to be resumed by a later call.
pub async fn rewrite_with_progress<T: Storable>(
    registry: &Registry,
    db: &Database,
    options: RewriteOptions,
    mut progress: impl FnMut(&RewriteProgress) -> ControlFlow<()>,
) -> Result<RewriteReport> {
    registry.storable::<T>()?;
    let mut report = RewriteReport {
        rewritten: 0,
        deleted: 0,
        failed: Vec::new(),
        batches: 0,
        stopped: false,
        dry_run: options.dry_run,
    };
    let mut select = Query::of::<T>().unreplaced().limit(options.batch_size);
    select.older_than = Some(T::VERSION);
    loop {
        let page = db.find(&select).await?;
        let Some(last) = page.records.last() else {
            break;
        };
        // Manifests that fail stay behind; the cursor moves past them.
        select = select.after(Cursor::from(last.id));
        let (records, values) = load_migrated::<T>(registry, db, page.records, &mut report).await?;
        if !options.dry_run && !values.is_empty() {
            let mut saver = Saver::new(registry, db).delete_replaced(options.delete_old);
            for (record, value) in records.iter().zip(&values) {
                saver.save_soon_replacing(value, record.tags.clone(), record.id);
            }
            saver.finish().await?;
            if options.delete_old {
                report.deleted += values.len();
            }
        }
        report.rewritten += values.len();
        report.batches += 1;
        let now = RewriteProgress {
            batches: report.batches,
            rewritten: report.rewritten,
            failed: report.failed.len(),
        };
        if progress(&now).is_break() {
            report.stopped = true;
            break;
        }
    }
    Ok(report)
}

/// Loads `records` as `T`, migrating them; those that fail go to `report.failed`, and
/// the others come back with their values, in order.
async fn load_migrated<T: Storable>(
    registry: &Registry,
    db: &Database,
    mut records: Vec<ManifestRecord>,
    report: &mut RewriteReport,
) -> Result<(Vec<ManifestRecord>, Vec<T>)> {
    // A load batch fails as a whole; after a failure, the others are loaded again
    // without the ones that failed.
    loop {
        let mut loader = Loader::new(registry, db);
        let handles: Vec<_> = records.iter().map(|r| loader.load_soon::<T>(r)).collect();
        match loader.finish().await {
            Ok(mut batch) => {
                let values = handles
                    .into_iter()
                    .map(|handle| batch.take(handle))
                    .collect::<Option<Vec<T>>>()
                    .ok_or_else(|| Error::Task("a loaded batch lost a value".into()))?;
                return Ok((records, values));
            }
            Err(Error::Batch { failures, .. }) => {
                let mut failed = vec![false; records.len()];
                for failure in failures {
                    if let Some(record) = records.get(failure.index) {
                        failed[failure.index] = true;
                        report.failed.push((record.id, failure.error));
                    }
                }
                let mut flags = failed.into_iter();
                records.retain(|_| !flags.next().unwrap_or(false));
                if records.is_empty() {
                    return Ok((records, Vec::new()));
                }
            }
            Err(error) => return Err(error),
        }
    }
}
