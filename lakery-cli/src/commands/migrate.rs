//! `lakery migrate`: creates or updates lakery's tables.

use std::io::Write;

use lakery::Database;

use crate::failure::Failure;

pub async fn run(db: &Database, out: &mut impl Write) -> Result<(), Failure> {
    db.migrate().await?;
    writeln!(out, "the database is up to date")?;
    Ok(())
}
