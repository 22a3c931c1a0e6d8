//! `lakery gc`: the blobs no manifest refers to, listed, and removed with `--yes`.

use std::io::Write;
use std::time::Duration;

use lakery::{Database, Registry};

use crate::failure::Failure;
use crate::progress::{self, Reporter};

pub async fn run(
    registry: &Registry,
    db: &Database,
    grace: Duration,
    yes: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let options = lakery::GcOptions::new().grace(grace).dry_run(!yes);
    let mut reporter = Reporter::new("gc", "blobs removed");
    let report =
        lakery::collect_garbage_with_progress(registry, db, options, |p| reporter.update(p)).await;
    reporter.finish();
    let report = report?;
    for blob in &report.removed {
        writeln!(
            out,
            "{:<12}  {:>10}  {}",
            blob.storage, blob.size, blob.config
        )?;
    }
    let size = progress::size(report.removed_bytes);
    let count = report.removed.len();
    if yes {
        writeln!(out, "removed {count} unreferenced blobs, {size}")?;
    } else {
        writeln!(
            out,
            "{count} unreferenced blobs, {size}: nothing removed; run again with --yes to remove them"
        )?;
    }
    writeln!(
        out,
        "kept {} referenced blobs and {} unreferenced blobs younger than {}",
        report.referenced,
        report.recent,
        humantime::format_duration(grace)
    )?;
    for name in &report.skipped_storages {
        writeln!(out, "skipped storage `{name}`: it cannot list its blobs")?;
    }
    Ok(())
}
