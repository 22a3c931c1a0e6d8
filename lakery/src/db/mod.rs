//! The database that holds manifests and content records: its schema, its migrations
//! and the [`Database`] handle, on SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! # One handle, three backends
//!
//! diesel-async has no async `MultiConnection`, and diesel code that is generic over
//! the backend needs a trait bound for every query fragment it builds, which buries
//! each query under its bounds. lakery instead keeps one bb8 pool per backend in an
//! enum and writes each operation once, in a macro (`on_backend!`) that expands it for
//! each of the three concrete connection types, with the matching schema module in
//! scope. Every query is then type-checked against each backend's real schema, with
//! no bounds to maintain, and adding an operation is writing it once.
//!
//! SQLite, the embedded default, is reached through diesel-async's
//! `SyncConnectionWrapper` (each statement runs on a blocking thread); PostgreSQL
//! through `AsyncPgConnection` (tokio-postgres) and MySQL/MariaDB through
//! `AsyncMysqlConnection` (mysql_async), both pure Rust, so nothing needs a C client
//! library.

pub(crate) mod records;
mod schema;
pub(crate) mod types;

pub mod query;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures::FutureExt;
use uuid::Uuid;

pub use self::query::{Cursor, Order, Page, Query, UnreadableManifest};
use self::records::{ContentRow, ManifestHead, ManifestRow, NewRows, StoredContentRow};
use self::types::{DbUuid, JsonText};
use crate::error::{Error, Result};
use crate::id::ManifestId;
use crate::record::{CheckedContent, ContentRecord, ManifestRecord, NewValue};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// Pragmas set on every SQLite connection. A page of 8 KiB (taken when the file is
/// created) holds a few JSON bodies of a few kilobytes: 4 KiB pages made batch saves a
/// third slower, 16 KiB pages made every single save write (and fsync) twice the log; WAL lets readers run beside the one writer;
/// `synchronous = FULL` fsyncs the log at every commit, so a save that returned
/// survives a crash of the process and of the machine; the busy timeout makes
/// concurrent writers queue instead of failing.
const SQLITE_PRAGMAS: &str = "PRAGMA page_size = 8192; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 30000; \
     PRAGMA cache_size = -32768; \
     PRAGMA mmap_size = 268435456; \
     PRAGMA analysis_limit = 1000;";

/// Brings SQLite's planner statistics up to date where a table has grown a lot since
/// they were gathered (`0x10000`: every table, not only those this connection used).
/// Without them SQLite may scan every manifest of a class rather than use the tag index.
const SQLITE_OPTIMIZE: &str = "PRAGMA optimize = 0x10002";

/// How many manifests are committed between two [`SQLITE_OPTIMIZE`]s. The pragma only
/// re-analyzes a table that has grown many times over, so this bounds how stale the
/// statistics can get, not how often analysis runs.
const OPTIMIZE_EVERY: usize = 1000;

/// Set on every MySQL connection: times are written and read as UTC, and the session
/// is strict, so a value that does not fit is an error rather than truncated.
const MYSQL_SESSION: &str = "SET time_zone = '+00:00', \
     sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";

/// What a read-only SQLite connection sets: `connect`'s settings but the ones that write
/// (the journal mode is recorded in the file), and a refusal of any write.
const SQLITE_READ_ONLY_PRAGMAS: &str = "PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 30000; \
     PRAGMA cache_size = -32768; \
     PRAGMA mmap_size = 268435456; \
     PRAGMA query_only = ON;";

/// Whether a [`Database`]'s connections may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
}

/// Ids per `IN (...)`, and so manifests per chunk of a batch load: well under the bind
/// parameter limit of every backend (SQLite 32,766; PostgreSQL and MySQL 65,535).
pub(crate) const CHUNK: usize = 1000;

/// Rows per multi-row INSERT: 64 contents of 14 columns bind 896 parameters, far under
/// every backend's limit. A fixed-size array gives the statement a static query id, so
/// it is prepared once per connection and cached; the rest go in one by one, through
/// another cached statement.
const INSERT_ROWS: usize = 64;

/// Connections per pool for a server database, and for a SQLite file.
const POOL_SIZE: u32 = 8;

type SqliteAsync = SyncConnectionWrapper<SqliteConnection>;

/// The pool of one backend.
#[derive(Clone)]
enum Pools {
    Sqlite(Pool<SqliteAsync>),
    Postgres(Pool<AsyncPgConnection>),
    Mysql(Pool<AsyncMysqlConnection>),
}

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite, embedded: `sqlite://path` or `sqlite::memory:`.
    Sqlite,
    /// PostgreSQL: `postgres://...`.
    Postgres,
    /// MySQL or MariaDB: `mysql://...`.
    Mysql,
}

/// Runs `$body` with a pooled connection `$conn` of whichever backend `$db` is, and
/// with that backend's schema module in scope as `$schema`. `$body` evaluates to a
/// `QueryResult`; errors are turned into lakery's with `$context`.
macro_rules! on_backend {
    // The same, but SQLite runs `$sqlite` with its pool instead.
    ($db:expr, $context:expr, sqlite($pool:ident) => $sqlite:expr, |$conn:ident, $schema:ident| $body:expr) => {{
        let context: &'static str = $context;
        match &$db.pools {
            $crate::db::Pools::Sqlite($pool) => $sqlite,
            $crate::db::Pools::Postgres(pool) => $crate::db::pooled!(
                pool,
                pg,
                ::diesel_async::AsyncPgConnection,
                context,
                |$conn, $schema| $body
            ),
            $crate::db::Pools::Mysql(pool) => $crate::db::pooled!(
                pool,
                mysql,
                ::diesel_async::AsyncMysqlConnection,
                context,
                |$conn, $schema| $body
            ),
        }
    }};
    ($db:expr, $context:expr, |$conn:ident, $schema:ident| $body:expr) => {{
        let context: &'static str = $context;
        match &$db.pools {
            $crate::db::Pools::Sqlite(pool) => $crate::db::pooled!(
                pool,
                sqlite,
                $crate::db::SqliteAsync,
                context,
                |$conn, $schema| $body
            ),
            $crate::db::Pools::Postgres(pool) => $crate::db::pooled!(
                pool,
                pg,
                ::diesel_async::AsyncPgConnection,
                context,
                |$conn, $schema| $body
            ),
            $crate::db::Pools::Mysql(pool) => $crate::db::pooled!(
                pool,
                mysql,
                ::diesel_async::AsyncMysqlConnection,
                context,
                |$conn, $schema| $body
            ),
        }
    }};
}

/// One arm of [`on_backend!`]: takes a connection of type `$conn_ty` from `$pool`, brings
/// `schema::$module` into scope as `$schema` and runs `$body`.
macro_rules! pooled {
    ($pool:expr, $module:ident, $conn_ty:ty, $context:expr, |$conn:ident, $schema:ident| $body:expr) => {{
        #[allow(unused_imports)]
        use $crate::db::schema::$module as $schema;
        let mut pooled = $crate::db::Checkout::new(
            $pool
                .get()
                .await
                .map_err(|e| $crate::error::Error::Pool(Box::new(e)))?,
        );
        let $conn: &mut $conn_ty = &mut pooled;
        let result: ::diesel::QueryResult<_> = $body;
        pooled.finish();
        result.map_err(|e| $crate::db::classify($context, e))
    }};
}

/// Checks a MySQL connection taken from the pool with `SELECT 1`, the connection marked
/// broken until the answer is read. If the checkout is cancelled midway, bb8 puts the
/// connection back in the pool, and without the mark its next user would read this
/// answer as the answer to its own query.
async fn verify_mysql(conn: &mut AsyncMysqlConnection) -> diesel::QueryResult<()> {
    use diesel_async::TransactionManager as _;
    type Manager = <AsyncMysqlConnection as AsyncConnection>::TransactionManager;
    Manager::transaction_manager_status_mut(conn).set_in_error();
    conn.batch_execute("SELECT 1").await?;
    *Manager::transaction_manager_status_mut(conn) = Default::default();
    Ok(())
}

/// A connection taken from the pool for one piece of work, which goes back to the pool
/// only if that work ran to its end. If the future doing it is dropped midway (a
/// timeout, a cancelled save), the connection may hold the unread rest of a reply (the
/// MySQL protocol does), which its next user would read as its own: it is marked
/// broken instead, and the pool closes it.
pub(crate) struct Checkout<'a, M>
where
    M: bb8::ManageConnection,
    M::Connection: diesel_async::AsyncConnection,
{
    conn: bb8::PooledConnection<'a, M>,
    finished: bool,
}

impl<'a, M> Checkout<'a, M>
where
    M: bb8::ManageConnection,
    M::Connection: diesel_async::AsyncConnection,
{
    pub(crate) fn new(conn: bb8::PooledConnection<'a, M>) -> Self {
        Checkout {
            conn,
            finished: false,
        }
    }

    /// The work ended: the connection may go back to the pool.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }
}

impl<M> std::ops::Deref for Checkout<'_, M>
where
    M: bb8::ManageConnection,
    M::Connection: diesel_async::AsyncConnection,
{
    type Target = M::Connection;
    fn deref(&self) -> &M::Connection {
        &self.conn
    }
}

impl<M> std::ops::DerefMut for Checkout<'_, M>
where
    M: bb8::ManageConnection,
    M::Connection: diesel_async::AsyncConnection,
{
    fn deref_mut(&mut self) -> &mut M::Connection {
        &mut self.conn
    }
}

impl<M> Drop for Checkout<'_, M>
where
    M: bb8::ManageConnection,
    M::Connection: diesel_async::AsyncConnection,
{
    fn drop(&mut self) {
        if !self.finished {
            use diesel_async::TransactionManager as _;
            <M::Connection as diesel_async::AsyncConnection>::TransactionManager::transaction_manager_status_mut(
                &mut self.conn,
            )
            .set_in_error();
        }
    }
}

pub(crate) use on_backend;
pub(crate) use pooled;

/// Inserts `$rows` (backend-independent rows) into `$table` as `$new` rows, with cached
/// multi-row statements.
macro_rules! insert_rows {
    ($mode:ident $conn:expr, $table:expr, $new:ty, $rows:expr) => {{
        let rows: Vec<$new> = $rows.into_iter().map(<$new>::from).collect();
        let mut chunks = rows.chunks_exact(INSERT_ROWS);
        for chunk in &mut chunks {
            let Ok(chunk) = <&[$new; INSERT_ROWS]>::try_from(chunk) else {
                unreachable!("chunks_exact yields chunks of exactly INSERT_ROWS")
            };
            insert_rows!(@run $mode diesel::insert_into($table).values(chunk), $conn);
        }
        for row in chunks.remainder() {
            insert_rows!(@run $mode diesel::insert_into($table).values(row), $conn);
        }
    }};
    (@run sync $statement:expr, $conn:expr) => {
        diesel::RunQueryDsl::execute($statement, &mut *$conn)?
    };
    (@run async $statement:expr, $conn:expr) => {
        diesel_async::RunQueryDsl::execute($statement, &mut *$conn).await?
    };
}

/// How a server backend's connection inserts a batch's rows, inside the transaction
/// [`Database::insert`] opens. On PostgreSQL every INSERT is sent without waiting for
/// the answer to the one before (diesel-async pipelines statements issued through a
/// shared reference), then all answers are awaited: one round trip for the batch
/// instead of one per statement. The server still runs them in order; the content
/// rows' foreign key is checked at commit, as statements that need preparing first may
/// reach the server after later ones. MySQL runs the statements one after the other.
trait InsertBatch: Sized {
    async fn insert(conn: &mut Self, rows: NewRows) -> QueryResult<()>;
}

/// Queues in `$pending` the INSERTs of `$rows` into `$table`, as [`insert_rows!`]
/// chunks them: full chunks of a fixed size, so their statements are prepared once
/// and cached, and single rows for the remainder.
macro_rules! pipeline_rows {
    ($pending:ident, $conn:ident, $table:expr, $rows:expr) => {{
        let mut chunks = $rows.chunks_exact(INSERT_ROWS);
        for chunk in &mut chunks {
            let Ok(chunk) = <&[_; INSERT_ROWS]>::try_from(chunk) else {
                unreachable!("chunks_exact yields chunks of exactly INSERT_ROWS")
            };
            let insert = diesel::insert_into($table).values(chunk);
            $pending.push(diesel_async::RunQueryDsl::execute(insert, &mut $conn));
        }
        for row in chunks.remainder() {
            let insert = diesel::insert_into($table).values(row);
            $pending.push(diesel_async::RunQueryDsl::execute(insert, &mut $conn));
        }
    }};
}

impl InsertBatch for AsyncPgConnection {
    async fn insert(conn: &mut Self, rows: NewRows) -> QueryResult<()> {
        use self::schema::pg as schema;
        let manifests: Vec<schema::NewManifest> =
            rows.manifests.into_iter().map(From::from).collect();
        let contents: Vec<schema::NewContent> = rows.contents.into_iter().map(From::from).collect();
        let tags: Vec<schema::NewTag> = rows.tags.into_iter().map(From::from).collect();
        let mut shared: &AsyncPgConnection = conn;
        let mut pending = Vec::new();
        pipeline_rows!(pending, shared, schema::lakery_manifests::table, manifests);
        pipeline_rows!(pending, shared, schema::lakery_contents::table, contents);
        pipeline_rows!(pending, shared, schema::lakery_tags::table, tags);
        futures::future::try_join_all(pending).await.map(drop)
    }
}

impl InsertBatch for AsyncMysqlConnection {
    async fn insert(conn: &mut Self, rows: NewRows) -> QueryResult<()> {
        use self::schema::mysql as schema;
        insert_rows!(async conn, schema::lakery_manifests::table, schema::NewManifest, rows.manifests);
        insert_rows!(async conn, schema::lakery_contents::table, schema::NewContent, rows.contents);
        insert_rows!(async conn, schema::lakery_tags::table, schema::NewTag, rows.tags);
        Ok(())
    }
}

/// Deletes the manifests with ids `$keys` and their rows, chunk by chunk, on a `sync`
/// or `async` connection; evaluates to the number of manifests deleted.
macro_rules! delete_chunks {
    ($mode:ident $conn:expr, $schema:ident, $keys:expr) => {{
        use $schema::{lakery_contents as c, lakery_manifests as m, lakery_tags as t};
        let mut deleted = 0;
        for chunk in $keys.chunks(CHUNK) {
            $crate::db::insert_rows!(@run $mode diesel::delete(t::table.filter(t::manifest_id.eq_any(chunk))), $conn);
            $crate::db::insert_rows!(@run $mode diesel::delete(c::table.filter(c::manifest_id.eq_any(chunk))), $conn);
            deleted += $crate::db::insert_rows!(@run $mode diesel::delete(m::table.filter(m::id.eq_any(chunk))), $conn);
        }
        QueryResult::Ok(deleted)
    }};
}
pub(crate) use delete_chunks;
pub(crate) use insert_rows;

/// Applies `$migrations` to a server database. The harness is synchronous: it runs on a
/// blocking thread over a connection of its own, wrapped to look synchronous, between
/// `$lock` and `$unlock`, statements that make concurrent callers take turns.
macro_rules! migrate_server {
    ($db:expr, $conn:ty, $migrations:expr, lock: $lock:expr, unlock: $unlock:expr) => {{
        let conn = <$conn>::establish(&$db.url)
            .await
            .map_err(|e| Error::Connect {
                url: redact_url(&$db.url),
                source: Box::new(e),
            })?;
        blocking(move || {
            let mut conn = AsyncConnectionWrapper::<$conn>::from(conn);
            diesel::RunQueryDsl::execute(diesel::sql_query($lock), &mut conn)?;
            let applied = conn.run_pending_migrations($migrations).map(|_| ());
            diesel::RunQueryDsl::execute(diesel::sql_query($unlock), &mut conn)?;
            Ok(applied)
        })
        .await?
        .map_err(Error::Migration)
    }};
}

/// Manifest rows by id, and their contents by manifest id, each checked on its own so
/// that one bad row fails only its value.
pub(crate) type Fetched = (
    HashMap<Uuid, ManifestHead>,
    HashMap<Uuid, Vec<CheckedContent>>,
);

/// A pooled handle to the database that holds lakery's manifests: SQLite, PostgreSQL or
/// MySQL/MariaDB, chosen by the URL, with the same API on each.
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
    pools: Pools,
    /// Manifests committed through this handle since SQLite's statistics were last
    /// brought up to date.
    unanalyzed: Arc<AtomicUsize>,
    url: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("url", &redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

/// Query parameters of a database URL that carry secrets.
const SECRET_PARAMETERS: &[&str] = &[
    "password",
    "pass",
    "pwd",
    "sslpassword",
    "token",
    "secret",
    "sslkey",
];

/// `url` without its secrets, for messages: the password of its user, and query
/// parameters that hold one. The URL is parsed, so an `@` or `:` inside the password
/// does not fool it; one that does not parse is shown only up to its credentials.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return match (url.split_once("://"), url.rfind('@')) {
            (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &url[at..]),
            _ => url.to_owned(),
        };
    };
    if parsed.password().is_some() {
        // Only URLs with a host carry credentials, and those accept a password.
        let _ = parsed.set_password(Some("***"));
    }
    let secret = |key: &str| {
        SECRET_PARAMETERS
            .iter()
            .any(|s| key.eq_ignore_ascii_case(s))
    };
    if parsed.query_pairs().any(|(key, _)| secret(&key)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if secret(&key) {
                    "***".into()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// The path SQLite opens for a `sqlite:` URL.
fn sqlite_path(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if rest.is_empty() {
        return Err(Error::InvalidDatabaseUrl {
            url: url.to_owned(),
            reason: "the path is empty; try `sqlite://lakery.db`".to_owned(),
        });
    }
    Ok(rest.to_owned())
}

fn connect_error(
    url: &str,
) -> impl Fn(bb8::RunError<diesel_async::pooled_connection::PoolError>) -> Error + '_ {
    move |e| Error::Connect {
        url: redact_url(url),
        source: Box::new(e),
    }
}

impl Database {
    /// Opens the database at `url`:
    ///
    /// - `sqlite://path/to/file.db` (created if missing) or `sqlite::memory:` (private to
    ///   one connection, so the pool holds one);
    /// - `postgres://user@host:5432/dbname` (or `postgresql://`);
    /// - `mysql://user:password@host:3306/dbname`, for MySQL and MariaDB.
    ///
    /// One connection is opened right away, so a wrong URL fails here.
    pub async fn connect(url: &str) -> Result<Self> {
        Database::open(url, Access::ReadWrite).await
    }

    /// Opens the database at `url` for reading only, for tools that look at stored data
    /// without changing it: a SQLite file must exist and is opened read-only (nothing is
    /// created or rewritten, so it works on read-only media), and PostgreSQL and MySQL
    /// sessions are read-only. Saves, deletes and migrations fail.
    pub async fn connect_read_only(url: &str) -> Result<Self> {
        Database::open(url, Access::ReadOnly).await
    }

    async fn open(url: &str, access: Access) -> Result<Self> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        let connect_error = |e: diesel::ConnectionError| Error::Connect {
            url: redact_url(url),
            source: Box::new(e),
        };
        let pools = match scheme {
            "sqlite" => Pools::Sqlite(connect_sqlite(url, access).await?),
            "postgres" | "postgresql" => {
                // One connection first, so a wrong URL fails now with the driver's error
                // rather than after the pool's retries.
                AsyncPgConnection::establish(url)
                    .await
                    .map_err(connect_error)?;
                let mut config = ManagerConfig::<AsyncPgConnection>::default();
                if access == Access::ReadOnly {
                    config.custom_setup = Box::new(|url: &str| {
                        let url = url.to_owned();
                        async move {
                            let mut conn = AsyncPgConnection::establish(&url).await?;
                            conn.batch_execute(
                                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                            )
                            .await
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                            Ok(conn)
                        }
                        .boxed()
                    });
                }
                let manager = AsyncDieselConnectionManager::new_with_config(url, config);
                let pool = Pool::builder()
                    .max_size(POOL_SIZE)
                    .connection_timeout(Duration::from_secs(30))
                    .build(manager)
                    .await
                    .map_err(|e| Error::Connect {
                        url: redact_url(url),
                        source: Box::new(e),
                    })?;
                Pools::Postgres(pool)
            }
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                AsyncMysqlConnection::establish(&url)
                    .await
                    .map_err(connect_error)?;
                let mut config = ManagerConfig::<AsyncMysqlConnection>::default();
                config.custom_setup = Box::new(move |url: &str| {
                    let url = url.to_owned();
                    async move {
                        let mut conn = AsyncMysqlConnection::establish(&url).await?;
                        conn.batch_execute(MYSQL_SESSION)
                            .await
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        if access == Access::ReadOnly {
                            conn.batch_execute("SET SESSION TRANSACTION READ ONLY")
                                .await
                                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        }
                        Ok(conn)
                    }
                    .boxed()
                });
                config.recycling_method =
                    RecyclingMethod::CustomFunction(Box::new(|conn| verify_mysql(conn).boxed()));
                let manager = AsyncDieselConnectionManager::new_with_config(&url, config);
                let pool = Pool::builder()
                    .max_size(POOL_SIZE)
                    .connection_timeout(Duration::from_secs(30))
                    .build(manager)
                    .await
                    .map_err(|e| Error::Connect {
                        url: redact_url(&url),
                        source: Box::new(e),
                    })?;
                Pools::Mysql(pool)
            }
            _ => {
                return Err(Error::InvalidDatabaseUrl {
                    url: redact_url(url),
                    reason: "expected a URL starting with `sqlite://`, `postgres://` or `mysql://`"
                        .to_owned(),
                })
            }
        };
        Ok(Database {
            pools,
            unanalyzed: Arc::new(AtomicUsize::new(0)),
            url: url.to_owned(),
        })
    }

    /// The URL it was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend it talks to.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Mysql(_) => Backend::Mysql,
        }
    }

    /// Applies lakery's schema migrations for this backend, which are embedded in the
    /// crate. Applying them again is a no-op, and two processes applying them at once
    /// take turns (an advisory lock on PostgreSQL, a named lock on MySQL, the write
    /// lock on SQLite).
    pub async fn migrate(&self) -> Result<()> {
        match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.get().await.map_err(|e| Error::Pool(Box::new(e)))?;
                // Holding the write lock from before the harness reads which migrations
                // are pending makes concurrent callers, in other processes too, take
                // turns; each migration then runs in a savepoint of this transaction.
                conn.spawn_blocking(|conn| {
                    Ok(conn
                        .immediate_transaction(|conn| {
                            conn.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ())
                        })
                        .map_err(|e: Box<dyn std::error::Error + Send + Sync>| e))
                })
                .await
                .map_err(|e| classify("applying migrations", e))?
                .map_err(Error::Migration)
            }
            Pools::Postgres(_) => migrate_server!(
                self,
                AsyncPgConnection,
                POSTGRES_MIGRATIONS,
                lock: "SELECT pg_advisory_lock(7262201)",
                unlock: "SELECT pg_advisory_unlock(7262201)"
            ),
            Pools::Mysql(_) => migrate_server!(
                self,
                AsyncMysqlConnection,
                MYSQL_MIGRATIONS,
                lock: "DO GET_LOCK('lakery_migrations', 600)",
                unlock: "DO RELEASE_LOCK('lakery_migrations')"
            ),
        }
    }

    /// The manifest with this id.
    pub async fn manifest(&self, id: ManifestId) -> Result<ManifestRecord> {
        let key = DbUuid(*id.as_uuid());
        let row: Option<ManifestRow> = on_backend!(self, "reading a manifest", |conn, schema| {
            schema::lakery_manifests::table
                .find(key)
                .select(schema::MANIFEST_ROW)
                .first(conn)
                .await
                .optional()
        })?;
        row.ok_or(Error::ManifestNotFound(id))?.into_record()
    }

    /// The content records of a manifest, by key.
    pub async fn contents(&self, id: ManifestId) -> Result<Vec<ContentRecord>> {
        let key = DbUuid(*id.as_uuid());
        let rows: Vec<ContentRow> =
            on_backend!(self, "reading content records", |conn, schema| {
                schema::lakery_contents::table
                    .filter(schema::lakery_contents::manifest_id.eq(key))
                    .order(schema::lakery_contents::content_key)
                    .select(schema::CONTENT_ROW)
                    .load(conn)
                    .await
            })?;
        rows.into_iter().map(ContentRow::into_record).collect()
    }

    /// Inserts manifests, their contents and their tags, and deletes the manifests in
    /// `rows.deleted`, in one transaction.
    pub(crate) async fn insert(&self, values: Vec<NewValue>) -> Result<Vec<ManifestRecord>> {
        let context = "committing manifests";
        let (mut rows, records) = NewRows::of(values);
        crate::durable::committing(|| rows.manifests.iter().map(|m| m.id.0).collect());
        on_backend!(self, context,
            // SQLite commits a whole batch in one hop to a blocking thread, through the
            // synchronous connection, whose multi-row inserts diesel supports directly.
            sqlite(pool) => {
                let committed = rows.manifests.len();
                let optimize = self.unanalyzed.fetch_add(committed, Ordering::Relaxed) + committed
                    >= OPTIMIZE_EVERY;
                if optimize {
                    self.unanalyzed.store(0, Ordering::Relaxed);
                }
                let mut conn = pool.get().await.map_err(|e| Error::Pool(Box::new(e)))?;
                conn.spawn_blocking(move |conn| {
                    use self::schema::sqlite as schema;
                    conn.immediate_transaction(|conn| {
                        insert_rows!(sync conn, schema::lakery_manifests::table, schema::NewManifest, rows.manifests);
                        insert_rows!(sync conn, schema::lakery_contents::table, schema::NewContent, rows.contents);
                        insert_rows!(sync conn, schema::lakery_tags::table, schema::NewTag, rows.tags);
                        delete_chunks!(sync conn, schema, rows.deleted).map(drop)
                    })?;
                    if optimize {
                        diesel::connection::SimpleConnection::batch_execute(conn, SQLITE_OPTIMIZE)?;
                    }
                    Ok(())
                })
                .await
                .map_err(|e| classify(context, e))
            },
            |conn, _schema| {
                conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
                    let deleted = std::mem::take(&mut rows.deleted);
                    InsertBatch::insert(conn, rows).await?;
                    delete_chunks!(async conn, _schema, deleted).map(drop)
                })
                .await
            }
        )?;
        Ok(records)
    }

    /// Reads manifests and all their contents, in one statement per chunk of ids, so a
    /// manifest and its contents come from one consistent snapshot.
    pub(crate) async fn fetch(&self, ids: Vec<Uuid>) -> Result<Fetched> {
        let mut manifests = HashMap::with_capacity(ids.len());
        let mut contents: HashMap<Uuid, Vec<CheckedContent>> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let keys: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
            let rows: Vec<(ManifestHead, Option<StoredContentRow>)> =
                on_backend!(self, "reading manifests", |conn, schema| {
                    use schema::{lakery_contents as c, lakery_manifests as m};
                    m::table
                        .left_join(c::table)
                        .filter(m::id.eq_any(&keys))
                        .select((schema::MANIFEST_HEAD, schema::STORED_CONTENT.nullable()))
                        .load(conn)
                        .await
                })?;
            for (head, content) in rows {
                let id = head.id.0;
                if let Some(content) = content {
                    contents
                        .entry(id)
                        .or_default()
                        .push(content.check(&head.id));
                }
                manifests.entry(id).or_insert(head);
            }
        }
        Ok((manifests, contents))
    }

    /// The storage configs that content records refer to, of any storage, each parsed
    /// and written back as compact JSON, so that equal configs compare equal as strings
    /// whatever the backend did to their text (PostgreSQL's `jsonb` reorders keys).
    pub(crate) async fn referenced_configs(&self) -> Result<HashSet<String>> {
        let configs: Vec<JsonText> = on_backend!(
            self,
            "reading which blobs are referenced",
            |conn, schema| {
                use schema::lakery_contents as c;
                c::table
                    .select(c::storage_config)
                    .distinct()
                    .load(conn)
                    .await
            }
        )?;
        // Parsing every reference is CPU work in proportion to the store: off the
        // async threads.
        let parsed = tokio::task::spawn_blocking(move || {
            let mut parsed = HashSet::with_capacity(configs.len());
            for config in configs {
                match serde_json::from_str::<serde_json::Value>(&config.0) {
                    Ok(value) => parsed.insert(value.to_string()),
                    Err(e) => return Err((config, e)),
                };
            }
            Ok(parsed)
        })
        .await
        .map_err(|e| Error::Task(Box::new(e)))?;
        // Nothing can be collected safely without knowing every reference.
        let (config, e) = match parsed {
            Ok(parsed) => return Ok(parsed),
            Err(bad) => bad,
        };
        let owner: Option<(DbUuid, String, String)> =
            on_backend!(self, "finding a corrupt content record", |conn, schema| {
                use schema::lakery_contents as c;
                c::table
                    .filter(c::storage_config.eq(&config))
                    .select((c::manifest_id, c::content_key, c::storage_name))
                    .first(conn)
                    .await
                    .optional()
            })?;
        let (manifest, key, storage) = owner
            .map(|(id, key, storage)| (id.0.to_string(), key, storage))
            .unwrap_or_else(|| ("(deleted meanwhile)".into(), "?".into(), "?".into()));
        Err(Error::CorruptRecord {
            manifest,
            reason: format!(
                "storage_config of content `{key}` in storage `{storage}` is not JSON ({e}), so no blob can be collected safely"
            ),
        })
    }

    /// The manifests that `query` selects, one page of them.
    pub async fn find(&self, query: &Query) -> Result<Page> {
        query::find(self, query).await
    }

    /// Deletes these manifests, their contents' records and their tags, in one
    /// transaction. Returns how many manifests were deleted; ids that do not exist are
    /// skipped. Blobs in external storages stay until garbage collection removes them;
    /// contents kept in the database go with their rows.
    pub async fn delete(&self, ids: &[ManifestId]) -> Result<usize> {
        let keys: Vec<DbUuid> = ids.iter().map(|id| DbUuid(*id.as_uuid())).collect();
        let context = "deleting manifests";
        on_backend!(self, context,
            // `BEGIN IMMEDIATE`: SQLite's deferred transactions fail at once, busy
            // timeout or not, when another connection commits between their first read
            // and their first write.
            sqlite(pool) => {
                let mut conn = pool.get().await.map_err(|e| Error::Pool(Box::new(e)))?;
                conn.spawn_blocking(move |conn| {
                    use self::schema::sqlite as schema;
                    conn.immediate_transaction(|conn| delete_chunks!(sync conn, schema, keys))
                })
                .await
                .map_err(|e| classify(context, e))
            },
            |conn, schema| {
                let keys = &keys;
                conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                    delete_chunks!(async conn, schema, keys)
                })
                .await
            }
        )
    }

    /// Deletes every manifest that `query` selects (its limit and cursor apply), with
    /// their contents' records and tags, in one transaction. Returns how many were
    /// deleted.
    pub async fn delete_where(&self, query: &Query) -> Result<usize> {
        query::delete_where(self, query).await
    }
}

/// Reads the durability settings of every connection a pool may hold, all checked out at
/// once so that the pool opens each of them (see `testing::connection_settings`).
#[cfg(feature = "testing")]
impl Database {
    pub(crate) async fn connection_settings(
        &self,
    ) -> Result<Vec<std::collections::BTreeMap<String, String>>> {
        use diesel::sql_types::Text;

        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = Text)]
            value: String,
        }

        // Every connection checked out at once, then each asked in turn.
        macro_rules! read_all {
            ($pool:expr, $size:expr, $sql:expr $(,)?) => {{
                let mut held = Vec::new();
                for _ in 0..$size {
                    held.push($pool.get().await.map_err(|e| Error::Pool(Box::new(e)))?);
                }
                let mut settings = Vec::new();
                for conn in &mut held {
                    let rows: Vec<Setting> = diesel::sql_query($sql)
                        .load(&mut **conn)
                        .await
                        .map_err(|e| classify("reading connection settings", e))?;
                    settings.push(rows.into_iter().map(|s| (s.name, s.value)).collect());
                }
                Ok(settings)
            }};
        }

        match &self.pools {
            Pools::Sqlite(pool) => {
                let size = if self.url.contains(":memory:") {
                    1
                } else {
                    POOL_SIZE
                };
                read_all!(
                    pool,
                    size,
                    "SELECT 'journal_mode' AS name, CAST(journal_mode AS TEXT) AS value FROM pragma_journal_mode \
                     UNION ALL SELECT 'synchronous', CAST(synchronous AS TEXT) FROM pragma_synchronous \
                     UNION ALL SELECT 'foreign_keys', CAST(foreign_keys AS TEXT) FROM pragma_foreign_keys \
                     UNION ALL SELECT 'busy_timeout', CAST(timeout AS TEXT) FROM pragma_busy_timeout",
                )
            }
            Pools::Postgres(pool) => {
                read_all!(
                    pool,
                    POOL_SIZE,
                    "SELECT name::text AS name, setting::text AS value FROM pg_settings \
                     WHERE name IN ('synchronous_commit', 'fsync')",
                )
            }
            Pools::Mysql(pool) => {
                read_all!(
                    pool,
                    POOL_SIZE,
                    "SELECT 'innodb_flush_log_at_trx_commit' AS name, \
                     CAST(@@innodb_flush_log_at_trx_commit AS CHAR) AS value",
                )
            }
        }
    }
}

async fn connect_sqlite(url: &str, access: Access) -> Result<Pool<SqliteAsync>> {
    let path = sqlite_path(url)?;
    let in_memory = path == ":memory:";
    let open_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::Connect {
        url: redact_url(url),
        source,
    };
    let (target, pragmas) = match access {
        Access::ReadWrite => (path.clone(), SQLITE_PRAGMAS),
        Access::ReadOnly => (read_only_uri(&path), SQLITE_READ_ONLY_PRAGMAS),
    };
    if !in_memory {
        check_sqlite_path(&path, access).map_err(|e| open_error(Box::new(e)))?;
        // One connection first, so that SQLite's refusal is the error now, rather than
        // a pool timeout after its retries.
        SqliteAsync::establish(&target)
            .await
            .map_err(|e| open_error(Box::new(e)))?;
    }
    let mut config = ManagerConfig::<SqliteAsync>::default();
    // A connection to a local file cannot drop the way a network one can: checking it
    // with `SELECT 1` at every checkout would cost a hop to a blocking thread per call.
    // A connection left broken is still discarded when it returns to the pool.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |path: &str| {
        let path = path.to_owned();
        async move {
            let mut conn = SqliteAsync::establish(&path).await?;
            conn.batch_execute(pragmas)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(target, config);
    let pool = Pool::builder().max_size(if in_memory { 1 } else { POOL_SIZE });
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
        .map_err(|e| open_error(Box::new(e)))?;
    pool.get().await.map_err(connect_error(url))?;
    Ok(pool)
}

/// Checks, before SQLite is asked, what it would otherwise report late or not at all:
/// a read-only database must be an existing file (SQLite would create one), and a new
/// one needs its folder (SQLite's error does not say which is missing).
fn check_sqlite_path(path: &str, access: Access) -> std::io::Result<()> {
    let path = std::path::Path::new(path);
    let missing = |what: &str, path: &std::path::Path| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{what} `{}` does not exist", path.display()),
        )
    };
    match access {
        Access::ReadOnly => match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Ok(()),
            Ok(_) => Err(std::io::Error::other(format!(
                "`{}` is not a file",
                path.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(missing("the file", path)),
            Err(e) => Err(e),
        },
        Access::ReadWrite => match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) if !dir.is_dir() => Err(missing("the folder", dir)),
            _ => Ok(()),
        },
    }
}

/// The URI that opens the SQLite file at `path` read-only; `%`, `?` and `#` would
/// otherwise be read as the URI's own.
fn read_only_uri(path: &str) -> String {
    let mut uri = String::from("file:");
    for c in path.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=ro");
    uri
}

/// Runs synchronous database work on a blocking thread.
async fn blocking<R: Send + 'static>(
    task: impl FnOnce() -> std::result::Result<R, diesel::result::Error> + Send + 'static,
) -> Result<R> {
    tokio::task::spawn_blocking(task)
        .await
        .map_err(|e| Error::Task(Box::new(e)))?
        .map_err(|e| classify("applying migrations", e))
}

/// Turns a query error into lakery's, recognising a database that was never migrated.
pub(crate) fn classify(context: &'static str, source: diesel::result::Error) -> Error {
    let message = source.to_string();
    let missing_table = message.contains("no such table: lakery_")
        || (message.contains("lakery_") && message.contains("does not exist"))
        || (message.contains("lakery_") && message.contains("doesn't exist"));
    if missing_table {
        return Error::SchemaMissing(Box::new(source));
    }
    Error::Database {
        context: context.to_owned(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_secrets_however_they_are_written() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5432/lakery",
                "postgres://app:***@db:5432/lakery",
            ),
            (
                "mysql://root:p%40ss%3Aword@127.0.0.1:3306/test",
                "mysql://root:***@127.0.0.1:3306/test",
            ),
            (
                "postgres://app@db/lakery?password=s3cret&sslmode=require",
                "postgres://app@db/lakery?password=***&sslmode=require",
            ),
            (
                "postgresql://db/lakery?user=app&PASSWORD=x&sslpassword=y",
                "postgresql://db/lakery?user=app&PASSWORD=***&sslpassword=***",
            ),
            ("sqlite://lakery.db", "sqlite://lakery.db"),
            ("postgres://app@db/lakery", "postgres://app@db/lakery"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
        // An `@` in a password that was not percent-encoded: the URL does not parse as
        // meant, and nothing before the last `@` is shown.
        let shown = redact_url("mysql://root:p@ss@127.0.0.1:3306/test");
        assert!(!shown.contains("p@ss") && !shown.contains(":p"), "{shown}");
    }
}
