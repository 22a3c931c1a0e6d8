//! The database that holds manifests and content records: its schema, its migrations
//! and the [`Database`] handle.
//!
//! SQLite, the embedded default, is reached through diesel-async's
//! `SyncConnectionWrapper`, pooled with bb8. Every operation lakery performs on it runs
//! as one closure on a blocking thread (`SyncConnectionWrapper::spawn_blocking`): a save
//! of a whole batch is one hop off the async runtime, not one per statement.

pub(crate) mod records;
#[allow(missing_docs)]
pub mod schema;

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures::FutureExt;

use self::records::{
    ContentRow, ManifestHead, ManifestRow, NewContent, NewManifest, StoredContent,
};
use self::schema::{lakery_contents, lakery_manifests};
use crate::manifest::{ContentRecord, ManifestId, ManifestRecord};
use crate::{Error, Result};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Pragmas set on every SQLite connection. A page of 16 KiB (taken when the file is
/// created) holds several JSON bodies of a few kilobytes, where 4 KiB pages would give
/// most bodies a page of their own; WAL lets readers run beside the one writer;
/// `synchronous = FULL` fsyncs the log at every commit, so a save that returned
/// survives a crash of the process and of the machine; the busy timeout makes
/// concurrent writers queue instead of failing.
const SQLITE_PRAGMAS: &str = "PRAGMA page_size = 16384; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 30000; \
     PRAGMA cache_size = -32768; \
     PRAGMA mmap_size = 268435456;";

/// Ids per `IN (...)`, and so manifests per chunk of a batch load: well under SQLite's
/// limit of 32,766 bound parameters.
pub(crate) const CHUNK: usize = 1000;

type SqliteAsync = SyncConnectionWrapper<SqliteConnection>;

/// Rows per multi-row INSERT. A fixed-size array gives the statement a static query id,
/// so diesel prepares it once per connection and caches it; the rest go in one by one,
/// through another cached statement.
const INSERT_ROWS: usize = 64;

/// Inserts `rows` into `table` with cached multi-row statements.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut chunks = $rows.chunks_exact(INSERT_ROWS);
        for chunk in &mut chunks {
            let Ok(chunk) = <&[_; INSERT_ROWS]>::try_from(chunk) else {
                unreachable!("chunks_exact yields chunks of exactly INSERT_ROWS")
            };
            diesel::insert_into($table).values(chunk).execute($conn)?;
        }
        for row in chunks.remainder() {
            diesel::insert_into($table).values(row).execute($conn)?;
        }
    }};
}

/// Manifest rows by id, and their content rows by manifest id.
pub(crate) type Fetched = (
    HashMap<String, ManifestHead>,
    HashMap<String, Vec<StoredContent>>,
);

/// A pooled handle to the database that holds lakery's manifests.
///
/// Cheap to clone; clones share the pool.
///
/// ```no_run
/// # async fn run() -> lakery::Result<()> {
/// let db = lakery::Database::connect("sqlite://lakery.db").await?;
/// db.migrate().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database {
    pool: Pool<SqliteAsync>,
    url: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The path SQLite opens for a `sqlite:` URL.
fn sqlite_path(url: &str) -> Result<String> {
    let invalid = |reason: &str| Error::InvalidDatabaseUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| invalid("expected `sqlite://<path>` or `sqlite::memory:`; PostgreSQL and MySQL are not supported yet"))?;
    if rest.is_empty() {
        return Err(invalid("the path is empty; try `sqlite://lakery.db`"));
    }
    Ok(rest.to_owned())
}

impl Database {
    /// Opens the database at `url`: `sqlite://path/to/file.db` (created if missing) or
    /// `sqlite::memory:` (private to one connection, so the pool holds one).
    pub async fn connect(url: &str) -> Result<Self> {
        let path = sqlite_path(url)?;
        let in_memory = path == ":memory:";
        let mut config = ManagerConfig::<SqliteAsync>::default();
        config.custom_setup = Box::new(|path: &str| {
            let path = path.to_owned();
            async move {
                let mut conn = SqliteAsync::establish(&path).await?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(conn)
            }
            .boxed()
        });
        let manager = AsyncDieselConnectionManager::new_with_config(path, config);
        let pool = Pool::builder().max_size(if in_memory { 1 } else { 8 });
        // An in-memory database lives as long as its one connection: keep it forever.
        let pool = if in_memory {
            pool.min_idle(Some(1)).idle_timeout(None).max_lifetime(None)
        } else {
            pool
        };
        let pool = pool
            .connection_timeout(Duration::from_secs(30))
            .build(manager)
            .await
            .map_err(|e| Error::Connect {
                url: url.to_owned(),
                source: Box::new(e),
            })?;
        // Open one connection now, so a bad path fails here and not at the first save.
        let db = Database {
            pool,
            url: url.to_owned(),
        };
        db.pool.get().await.map_err(|e| Error::Connect {
            url: url.to_owned(),
            source: Box::new(e),
        })?;
        Ok(db)
    }

    /// The URL it was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Applies lakery's schema migrations, which are embedded in the crate. Applying
    /// them again is a no-op.
    pub async fn migrate(&self) -> Result<()> {
        self.with_conn("applying migrations", |conn| {
            Ok(conn
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| e.to_string()))
        })
        .await?
        .map_err(Error::Migration)
    }

    /// Runs `task` with a pooled connection on a blocking thread.
    pub(crate) async fn with_conn<R, F>(&self, context: &'static str, task: F) -> Result<R>
    where
        F: FnOnce(&mut SqliteConnection) -> QueryResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| Error::Pool(e.to_string()))?;
        conn.spawn_blocking(task)
            .await
            .map_err(|source| classify(context, source))
    }

    /// The manifest with this id.
    pub async fn manifest(&self, id: ManifestId) -> Result<ManifestRecord> {
        let key = id.to_string();
        let row = self
            .with_conn("reading a manifest", move |conn| {
                lakery_manifests::table
                    .find(key)
                    .select(ManifestRow::as_select())
                    .first(conn)
                    .optional()
            })
            .await?;
        row.ok_or(Error::ManifestNotFound(id))?.into_record()
    }

    /// The content records of a manifest, by key.
    pub async fn contents(&self, id: ManifestId) -> Result<Vec<ContentRecord>> {
        let key = id.to_string();
        let rows = self
            .with_conn("reading content records", move |conn| {
                lakery_contents::table
                    .filter(lakery_contents::manifest_id.eq(key))
                    .order(lakery_contents::content_key)
                    .select(ContentRow::as_select())
                    .load(conn)
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_record().map(|(record, _)| record))
            .collect()
    }

    /// Inserts manifests and their contents in one transaction.
    pub(crate) async fn insert(
        &self,
        manifests: Vec<NewManifest>,
        contents: Vec<NewContent>,
    ) -> Result<()> {
        self.with_conn("committing manifests", move |conn| {
            conn.immediate_transaction(|conn| {
                insert_rows!(conn, lakery_manifests::table, manifests);
                insert_rows!(conn, lakery_contents::table, contents);
                Ok(())
            })
        })
        .await
    }

    /// Reads manifests and all their contents in one blocking hop.
    pub(crate) async fn fetch(&self, ids: Vec<String>) -> Result<Fetched> {
        self.with_conn("reading manifests", move |conn| {
            let mut manifests = HashMap::with_capacity(ids.len());
            let mut contents: HashMap<String, Vec<StoredContent>> =
                HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(CHUNK) {
                let rows = lakery_manifests::table
                    .filter(lakery_manifests::id.eq_any(chunk))
                    .select(ManifestHead::as_select())
                    .load(conn)?;
                manifests.extend(rows.into_iter().map(|row| (row.id.clone(), row)));
                let rows = lakery_contents::table
                    .filter(lakery_contents::manifest_id.eq_any(chunk))
                    .select(StoredContent::as_select())
                    .load(conn)?;
                for row in rows {
                    contents
                        .entry(row.manifest_id.clone())
                        .or_default()
                        .push(row);
                }
            }
            Ok((manifests, contents))
        })
        .await
    }
}

/// Turns a query error into lakery's, recognising a database that was never migrated.
fn classify(context: &'static str, source: diesel::result::Error) -> Error {
    let message = source.to_string();
    if message.contains("no such table: lakery_") {
        return Error::SchemaMissing(message);
    }
    Error::Database {
        context: context.to_owned(),
        source,
    }
}
