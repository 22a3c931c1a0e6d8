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

/// Runs `test` on a fresh database of every backend, one after the other. A failure on
/// one backend does not stop the others: every backend runs, and the test then fails
/// naming each backend that failed and why.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    use futures::FutureExt;

    let mut failed = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        if let Some(t) = TestDb::new(backend).await {
            eprintln!("-- on {backend:?}");
            // The panic has been printed by the hook already; keep its message for the
            // summary.
            if let Err(panic) = std::panic::AssertUnwindSafe(test(t)).catch_unwind().await {
                failed.push(format!("{backend:?}: {}", panic_message(&*panic)));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "failed on {} backend(s):\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
}

/// The text a panic carried, if it was a string.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
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

/// `host:port` of a server URL (`scheme://[user[:password]@]host:port/database`).
pub fn server_address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    host_port.to_owned()
}

/// Whether anything accepts a TCP connection at the server's address: tells a server
/// that is down from one that answers and refuses what it is asked.
fn server_answers(url: &str) -> bool {
    use std::net::ToSocketAddrs;
    let Ok(addresses) = server_address(url).to_socket_addrs() else {
        return false;
    };
    addresses.into_iter().any(|address| {
        std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(2)).is_ok()
    })
}

/// Says, outside the test harness's capture so it is seen, that a backend is skipped,
/// and why: nothing answers at its address, or the server answered and refused.
fn skip_notice(backend: Backend, url: &str, answered: bool, error: &dyn std::fmt::Display) {
    let why = if answered {
        format!("the server at {url} answered but refused to create a test database: {error}")
    } else {
        format!("cannot reach {url}: {error}")
    };
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {backend:?} tests: {why} (CI=true makes this a failure)"
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
                    let answered = server_answers(&admin_url);
                    if in_ci() {
                        let what = if answered {
                            "refused CREATE DATABASE"
                        } else {
                            "is unreachable"
                        };
                        panic!("CI=true but {backend:?} at {admin_url} {what}: {error}");
                    }
                    skip_notice(backend, &admin_url, answered, &error);
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
        // database from a thread with a runtime of its own, and wait a bounded time for
        // it (`.ci/run` sweeps any test database a run left behind).
        let (done, outcome) = std::sync::mpsc::channel();
        let database = name.clone();
        std::thread::spawn(move || {
            let dropped = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(drop_database(backend, &admin_url, &database));
            let _ = done.send(dropped);
        });
        let failure = match outcome.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error,
            Err(_) => "no answer within 60 s".to_owned(),
        };
        let _ = writeln!(
            std::io::stderr(),
            "could not drop test database {name}: {failure}"
        );
    }
}

/// Drops a test database on its server, however the test left it. PostgreSQL's `FORCE`
/// ends the sessions still using it. MariaDB has no such option, and its `DROP DATABASE`
/// waits for the metadata locks of any transaction left open there (a cancelled save,
/// a killed proxy) for a year by default: end those sessions first, and wait for locks
/// 10 s at most.
async fn drop_database(backend: Backend, admin_url: &str, name: &str) -> Result<(), String> {
    match backend {
        Backend::Postgres => {
            admin(
                backend,
                admin_url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await
        }
        Backend::Mysql => {
            use diesel::sql_types::BigInt;
            use diesel_async::RunQueryDsl;

            #[derive(diesel::QueryableByName)]
            struct Session {
                #[diesel(sql_type = BigInt)]
                id: i64,
            }
            let mut conn = AsyncMysqlConnection::establish(admin_url)
                .await
                .map_err(|e| e.to_string())?;
            conn.batch_execute("SET SESSION lock_wait_timeout = 10")
                .await
                .map_err(|e| e.to_string())?;
            let sessions: Vec<Session> = diesel::sql_query(format!(
                "SELECT CAST(id AS SIGNED) AS id FROM information_schema.processlist \
                 WHERE db = '{name}' AND id <> CONNECTION_ID()"
            ))
            .load(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
            for session in sessions {
                // A session may have ended on its own meanwhile.
                let _ = conn
                    .batch_execute(&format!("KILL CONNECTION {}", session.id))
                    .await;
            }
            conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .map_err(|e| e.to_string())
        }
        _ => unreachable!("only server databases are dropped"),
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
