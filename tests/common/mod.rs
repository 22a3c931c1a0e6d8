//! Shared set-up for the integration tests: a fresh database and folders per test.

#![allow(dead_code)]

use lakery::Database;
use tempfile::TempDir;

/// A fresh SQLite database file in its own temporary folder, migrated.
pub struct TestDb {
    pub db: Database,
    pub dir: TempDir,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("lakery.db").display());
        let db = Database::connect(&url)
            .await
            .expect("open the SQLite database");
        db.migrate().await.expect("apply migrations");
        TestDb { db, dir }
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// A plain diesel connection to the same file, to look at or tamper with rows as
    /// an operator could.
    pub fn raw(&self) -> diesel::SqliteConnection {
        use diesel::Connection;
        diesel::SqliteConnection::establish(&self.path("lakery.db").display().to_string())
            .expect("open the database file directly")
    }
}
