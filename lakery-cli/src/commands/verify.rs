//! `lakery verify`: every content selected, checked against its hash.

use std::io::Write;

use lakery::{Database, Registry};

use crate::failure::Failure;
use crate::filter::Filter;
use crate::progress::Reporter;

/// The exit code: 1 if any content is missing or corrupt.
pub async fn run(
    registry: &Registry,
    db: &Database,
    filter: &Filter,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let mut reporter = Reporter::new("verify", "contents");
    let report =
        lakery::verify_with_progress(registry, db, &filter.query(), |p| reporter.update(p)).await;
    reporter.finish();
    let report = report?;
    for problem in &report.problems {
        writeln!(
            out,
            "{:?}: manifest {} content `{}` in `{}`: {}",
            problem.kind, problem.manifest, problem.key, problem.storage, problem.error
        )?;
    }
    writeln!(
        out,
        "checked {} manifests, {} contents, {} bytes: {} problems",
        report.manifests,
        report.contents,
        report.bytes,
        report.problems.len()
    )?;
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}
