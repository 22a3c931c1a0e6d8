//! `lakery verify`: every content selected, checked against its hash.

use std::io::Write;

use lakery::{Database, Registry};

use crate::failure::Failure;
use crate::filter::Filter;
use crate::progress::Reporter;
use crate::shown::shown;

/// The exit code: 1 if any content is missing or corrupt, or a manifest's row cannot be
/// read (each is named, and the rest still checked).
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
    for bad in &report.unreadable {
        writeln!(
            out,
            "Unreadable: manifest {}: {}",
            shown(&bad.id),
            shown(&bad.reason)
        )?;
    }
    for problem in &report.problems {
        writeln!(
            out,
            "{:?}: manifest {} content `{}` in `{}`: {}",
            problem.kind,
            problem.manifest,
            shown(&problem.key),
            shown(&problem.storage),
            shown(&problem.error.to_string())
        )?;
    }
    writeln!(
        out,
        "checked {} manifests, {} contents, {} bytes: {} problems",
        report.manifests,
        report.contents,
        report.bytes,
        report.problems.len() + report.unreadable.len()
    )?;
    Ok(if report.is_ok() { 0 } else { 1 })
}
