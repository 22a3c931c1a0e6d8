//! Fresh databases on the PostgreSQL and MariaDB servers: one per workload run, created
//! through the server's admin URL and dropped afterwards, also when the workload fails
//! or panics.

use std::time::Duration;

use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};
use lakery::Backend;

/// How long to wait for a server before calling it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A database server and its admin URL, with rights to create and drop databases.
#[derive(Debug, Clone)]
pub struct Server {
    pub backend: Backend,
    pub admin_url: String,
}

impl Server {
    /// PostgreSQL at `LAKERY_BENCH_POSTGRES_URL`, by default `postgres://postgres@127.0.0.1:5432`.
    pub fn postgres() -> Server {
        Server {
            backend: Backend::Postgres,
            admin_url: std::env::var("LAKERY_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned()),
        }
    }

    /// MySQL or MariaDB at `LAKERY_BENCH_MYSQL_URL`, by default `mysql://root@127.0.0.1:3306`.
    pub fn mysql() -> Server {
        Server {
            backend: Backend::Mysql,
            admin_url: std::env::var("LAKERY_BENCH_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned()),
        }
    }

    /// The server's name in messages.
    pub fn label(&self) -> &'static str {
        label(self.backend)
    }

    /// Creates a fresh, empty database `lakery_bench_<random>`. The error says why the
    /// server could not be used.
    pub async fn create(&self) -> Result<ServerDb, String> {
        let name = format!("lakery_bench_{}", uuid::Uuid::new_v4().simple());
        admin(
            self.backend,
            &self.admin_url,
            &format!("CREATE DATABASE {name}"),
        )
        .await
        .map_err(|e| {
            let url = redact(&self.admin_url);
            format!("cannot reach {} at {url}: {e}", self.label())
        })?;
        Ok(ServerDb {
            backend: self.backend,
            admin_url: self.admin_url.clone(),
            url: with_database(&self.admin_url, &name),
            name,
            dropped: false,
        })
    }
}

pub fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
        Backend::Mysql => "MariaDB",
        _ => "an unknown backend",
    }
}

/// A database created for one workload run; dropped by [`ServerDb::drop_now`], or at
/// the latest when this is dropped.
#[derive(Debug)]
pub struct ServerDb {
    backend: Backend,
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
    dropped: bool,
}

impl ServerDb {
    fn drop_sql(&self) -> String {
        match self.backend {
            // Connections still open to it (a pool that lingers) are ended.
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        }
    }

    /// Drops the database; a failure is reported on stderr, not returned: the figures
    /// were measured already.
    pub async fn drop_now(mut self) {
        self.dropped = true;
        if let Err(e) = admin(self.backend, &self.admin_url, &self.drop_sql()).await {
            eprintln!("warning: could not drop database {}: {e}", self.name);
        }
    }
}

impl Drop for ServerDb {
    /// The workload failed or panicked before `drop_now`: drop the database from a thread
    /// with a runtime of its own, since this may run inside the benchmark's runtime.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (backend, admin_url, sql, name) = (
            self.backend,
            self.admin_url.clone(),
            self.drop_sql(),
            self.name.clone(),
        );
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(admin(backend, &admin_url, &sql))
        })
        .join();
        match done {
            Ok(Ok(())) => eprintln!("dropped database {name} after a failure"),
            Ok(Err(e)) => eprintln!("warning: could not drop database {name}: {e}"),
            Err(_) => eprintln!("warning: could not drop database {name}"),
        }
    }
}

/// Runs `sql` on a connection of its own to the server's admin URL.
async fn admin(backend: Backend, url: &str, sql: &str) -> Result<(), String> {
    let run = async {
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
            _ => Err("not a server backend".to_owned()),
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| Err(format!("no answer in {CONNECT_TIMEOUT:?}")))
}

/// `url` with its database (the path, if any) replaced by `name`; a query string stays.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((credentials, host)) if credentials.contains(':') => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}
