//! Shared set-up for the integration tests: a fresh database (and folder) per test, on
//! each of SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! The servers are found at `LAKERY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `LAKERY_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/mysql`); each test creates a database of its own there
//! and drops it afterwards. With `CI=true` an unreachable server fails the test;
//! otherwise its backend is skipped with a notice on stderr.

#![allow(dead_code)]

use std::future::Future;
use std::io::Write;

use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};
use lakery::{Backend, Database};
use tempfile::TempDir;

/// Runs `$body` with `$conn` bound to a new connection (not from the pool) to the test's
/// database, whichever backend it is on.
macro_rules! with_connection {
    ($test:expr, |$conn:ident| $body:expr) => {{
        let url = $test.db.url();
        match $test.backend() {
            Backend::Sqlite => {
                let $conn = &mut diesel_async::sync_connection_wrapper::SyncConnectionWrapper::<
                    diesel::SqliteConnection,
                >::establish(url.trim_start_matches("sqlite://"))
                .await
                .expect("open the SQLite file");
                $body
            }
            Backend::Postgres => {
                let $conn = &mut AsyncPgConnection::establish(url).await.expect("connect");
                $body
            }
            Backend::Mysql => {
                let $conn = &mut AsyncMysqlConnection::establish(url).await.expect("connect");
                $body
            }
            _ => unreachable!(),
        }
    }};
}

/// A fresh, migrated database and a temporary folder for one test.
pub struct TestDb {
    pub db: Database,
    pub dir: TempDir,
    /// The server database to drop afterwards: the server's admin URL and its name.
    server: Option<(String, String)>,
}

/// Runs `test` on a fresh database of every backend, one after the other; a failure
/// names the backend.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        if let Some(t) = TestDb::new(backend).await {
            eprintln!("-- on {backend:?}");
            test(t).await;
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn server_url(backend: Backend) -> String {
    match backend {
        Backend::Postgres => std::env::var("LAKERY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
        Backend::Mysql => std::env::var("LAKERY_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".to_owned()),
        _ => unreachable!("only servers have URLs"),
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .expect("a server URL ends in /<database>");
    format!("{base}/{name}")
}

/// Says, outside the test harness's capture so it is seen, that a backend is skipped.
fn skip_notice(backend: Backend, url: &str, error: &dyn std::fmt::Display) {
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {backend:?} tests: cannot reach {url}: {error} (CI=true makes this a failure)"
    );
}

async fn admin(backend: Backend, url: &str, sql: &str) -> Result<(), String> {
    match backend {
        Backend::Postgres => {
            let mut conn = AsyncPgConnection::establish(url)
                .await
                .map_err(|e| e.to_string())?;
            conn.batch_execute(sql).await.map_err(|e| e.to_string())
        }
        Backend::Mysql => {
            let mut conn = AsyncMysqlConnection::establish(url)
                .await
                .map_err(|e| e.to_string())?;
            conn.batch_execute(sql).await.map_err(|e| e.to_string())
        }
        _ => unreachable!("only servers are administered"),
    }
}

impl TestDb {
    /// A fresh SQLite database file in its own temporary folder, migrated.
    pub async fn sqlite() -> TestDb {
        TestDb::new(Backend::Sqlite)
            .await
            .expect("SQLite is always available")
    }

    /// A fresh database of `backend`, migrated; `None` when its server is unreachable
    /// outside CI.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let t = TestDb::unmigrated(backend).await?;
        t.db.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate {}: {e}", t.db.url()));
        Some(t)
    }

    /// A fresh, empty database of `backend`, without lakery's schema.
    pub async fn unmigrated(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        let (url, server) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("lakery.db").display()),
                None,
            ),
            _ => {
                let admin_url = server_url(backend);
                let name = format!("lakery_test_{}", uuid::Uuid::new_v4().simple());
                if let Err(error) =
                    admin(backend, &admin_url, &format!("CREATE DATABASE {name}")).await
                {
                    if in_ci() {
                        panic!("CI=true but {backend:?} at {admin_url} is unreachable: {error}");
                    }
                    skip_notice(backend, &admin_url, &error);
                    return None;
                }
                (with_database(&admin_url, &name), Some((admin_url, name)))
            }
        };
        let db = Database::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        Some(TestDb { db, dir, server })
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Runs SQL statements on a connection of its own, as an operator could, to look
    /// at or tamper with rows.
    pub async fn execute(&self, sql: &str) {
        with_connection!(self, |conn| conn.batch_execute(sql).await)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The single integer that `sql` selects (as a column named `n`).
    pub async fn count(&self, sql: &str) -> i64 {
        use diesel::sql_types::BigInt;
        use diesel_async::RunQueryDsl;

        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let query = diesel::sql_query(sql);
        let row: Count = with_connection!(self, |conn| query.get_result(conn).await)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.n
    }

    /// `bytes` as a blob literal in this backend's SQL.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self.backend() {
            Backend::Postgres => format!("'\\x{hex}'::bytea"),
            _ => format!("X'{hex}'"),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.server.take() else {
            return;
        };
        let backend = self.db.backend();
        // Drop runs inside the test's runtime, which cannot block on a future: drop the
        // database from a thread with a runtime of its own.
        let sql = match backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS {name}"),
        };
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(admin(backend, &admin_url, &sql))
        })
        .join();
        if let Ok(Err(error)) = dropped {
            let _ = writeln!(
                std::io::stderr(),
                "could not drop test database {name}: {error}"
            );
        }
    }
}

/// The file a `FileStorage` under `root` keeps for the content of hash `hash`.
pub fn stored_file(root: &std::path::Path, hash: &str) -> std::path::PathBuf {
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().unwrap().to_string_lossy() == hash {
                return path;
            }
        }
    }
    panic!("no stored file {hash} under {}", root.display());
}

/// The Python with NumPy and PyArrow that `.ci/python` installs, from
/// `LAKERY_TEST_PYTHON`; `None` (with a notice) outside CI when it is not set.
pub fn python() -> Option<String> {
    if let Ok(python) = std::env::var("LAKERY_TEST_PYTHON") {
        return Some(python);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true but LAKERY_TEST_PYTHON is not set: run `eval \"$(.ci/python)\"`");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED Python test: LAKERY_TEST_PYTHON is not set; run `eval \"$(.ci/python)\"` \
         first (CI=true makes this a failure)"
    );
    None
}

/// Runs `script` with `python` and `args`, and returns what it printed.
pub fn run_python(python: &str, script: &str, args: &[&std::path::Path]) -> String {
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("the Python interpreter runs");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
