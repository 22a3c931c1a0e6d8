//! Watching the order in which a save makes its writes durable, and the settings that
//! durability rests on.

use std::collections::BTreeMap;

use crate::db::Database;
use crate::durable::log;
pub use crate::durable::Step as DurabilityStep;
use crate::error::Result;

/// Records every [`DurabilityStep`] taken in this process while it lives: the fsyncs and
/// renames of [`FileStorage`](crate::FileStorage), and the start of each transaction
/// that commits manifests.
///
/// The log is shared by the whole process, so a test that saves beside others should
/// look only at the steps for its own folders and manifests.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread")]
/// # async fn main() -> lakery::Result<()> {
/// use lakery::testing::{DurabilityLog, DurabilityStep};
///
/// let log = DurabilityLog::start();
/// let dir = tempfile::tempdir().unwrap();
/// # let storage = lakery::FileStorage::new(dir.path())?;
/// # lakery::testing::check_storage(&storage).await.unwrap();
/// // ... save something to a FileStorage under `dir` ...
/// let synced = log
///     .steps()
///     .iter()
///     .filter(|step| matches!(step, DurabilityStep::FileSynced(path) if path.starts_with(dir.path())))
///     .count();
/// assert!(synced > 0);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DurabilityLog {
    _recording: (),
}

impl DurabilityLog {
    /// Starts recording. Steps recorded before any log was alive are gone.
    pub fn start() -> Self {
        log::start();
        DurabilityLog { _recording: () }
    }

    /// The steps recorded so far, oldest first.
    pub fn steps(&self) -> Vec<DurabilityStep> {
        log::steps()
    }
}

impl Drop for DurabilityLog {
    fn drop(&mut self) {
        log::stop();
    }
}

/// The settings a save's durability rests on, read on every connection of `db`'s pool
/// at once (so the pool opens all it may hold), one map per connection:
///
/// - SQLite: `journal_mode`, `synchronous` (`2` is `FULL`), `foreign_keys`,
///   `busy_timeout`;
/// - PostgreSQL: `synchronous_commit`, `fsync`;
/// - MySQL and MariaDB: `innodb_flush_log_at_trx_commit` (`1` writes and fsyncs the log
///   at every commit).
///
/// Servers keep their own settings; lakery's part is to leave them on in every session.
pub async fn connection_settings(db: &Database) -> Result<Vec<BTreeMap<String, String>>> {
    db.connection_settings().await
}
