//! The steps that make a save durable: fsyncing a file or a folder, moving a written
//! file to its final name, and starting the transaction that commits manifests.
//!
//! Every storage and the database take these steps through this module, so that their
//! order can be watched. With the `testing` feature, [`crate::testing::DurabilityLog`]
//! records each step as it happens; without it, the functions are the plain system
//! calls and recording compiles to nothing.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::id::ManifestId;

/// Fsyncs a file's data and metadata.
pub(crate) fn sync_file(file: &File, path: &Path) -> io::Result<()> {
    file.sync_all()?;
    record(|| Step::FileSynced(path.to_owned()));
    Ok(())
}

/// Fsyncs a folder, which makes the names of the files in it durable.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()?;
    record(|| Step::FolderSynced(path.to_owned()));
    Ok(())
}

/// Records that a written file now has its final name.
pub(crate) fn renamed(from: &Path, to: &Path) {
    record(|| Step::Renamed {
        from: from.to_owned(),
        to: to.to_owned(),
    });
}

/// Records that the transaction committing `manifests` is about to start: everything
/// they refer to must be durable by now.
pub(crate) fn committing(manifests: impl FnOnce() -> Vec<uuid::Uuid>) {
    record(|| Step::Committing(manifests().into_iter().map(Into::into).collect()));
}

#[cfg(feature = "testing")]
pub(crate) use log::record;

#[cfg(not(feature = "testing"))]
fn record<T>(_: impl FnOnce() -> T) {}

/// One step towards durability, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub enum Step {
    /// A file's data and metadata were fsynced.
    FileSynced(PathBuf),
    /// A folder was fsynced, making the names in it durable.
    FolderSynced(PathBuf),
    /// A written file was moved to its final name.
    Renamed {
        /// The temporary file.
        from: PathBuf,
        /// Its final name.
        to: PathBuf,
    },
    /// The transaction committing these manifests was about to start.
    Committing(Vec<ManifestId>),
}

#[cfg(feature = "testing")]
pub(crate) mod log {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::Step;

    /// How many logs are recording: steps are only kept while one is.
    static RECORDING: AtomicUsize = AtomicUsize::new(0);
    static STEPS: Mutex<Vec<Step>> = Mutex::new(Vec::new());

    pub(crate) fn record(step: impl FnOnce() -> Step) {
        if RECORDING.load(Ordering::Acquire) > 0 {
            let step = step();
            STEPS.lock().unwrap_or_else(|e| e.into_inner()).push(step);
        }
    }

    pub(crate) fn start() {
        if RECORDING.fetch_add(1, Ordering::AcqRel) == 0 {
            STEPS.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }

    pub(crate) fn stop() {
        RECORDING.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn steps() -> Vec<Step> {
        STEPS.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
