//! `lakery rm`: deletes manifests, by id or by filter, once confirmed. Their blobs stay
//! until `lakery gc` removes them.

use std::io::{BufRead, IsTerminal, Write};

use lakery::{Database, ManifestId, ManifestRecord};

use crate::failure::Failure;
use crate::filter::Filter;
use crate::progress::Reporter;

/// How many manifests `rm` deletes in one statement.
const DELETE_CHUNK: usize = 200;

pub async fn run(
    db: &Database,
    ids: Vec<ManifestId>,
    filter: &Filter,
    yes: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let records = select(db, ids, filter).await?;
    if records.is_empty() {
        writeln!(out, "no manifests match: nothing deleted")?;
        return Ok(());
    }
    for record in &records {
        writeln!(
            out,
            "{}  {}  {}",
            record.id,
            record.class_id,
            record.created_at.format("%Y-%m-%d %H:%M:%S")
        )?;
    }
    out.flush()?;
    if !yes {
        confirm(records.len())?;
    }
    delete(db, &records, out).await
}

/// The manifests named by id, or those the filter selects: one or the other.
async fn select(
    db: &Database,
    ids: Vec<ManifestId>,
    filter: &Filter,
) -> Result<Vec<ManifestRecord>, Failure> {
    match (ids.is_empty(), filter.is_empty()) {
        (false, true) if filter.limit.is_some() => {
            Err(Failure::usage("--limit applies to a filter, not to ids"))
        }
        (false, true) => {
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            let mut records = Vec::with_capacity(ids.len());
            for id in ids {
                records.push(db.manifest(id).await?);
            }
            Ok(records)
        }
        (true, false) => {
            let mut records = Vec::new();
            let mut query = filter.query();
            loop {
                let page = db.find(&query).await?;
                let done = page.records.is_empty();
                records.extend(page.records);
                if filter.limit.is_some_and(|limit| records.len() >= limit) {
                    records.truncate(filter.limit.unwrap_or(usize::MAX));
                    break;
                }
                match page.next {
                    Some(cursor) if !done => query = query.after(cursor),
                    _ => break,
                }
            }
            Ok(records)
        }
        (false, false) => Err(Failure::usage("give manifest ids or a filter, not both")),
        (true, true) => Err(Failure::usage(
            "give manifest ids, or a filter (--class, --tag, --since, --until); \
             to delete everything, say --until with a time in the future",
        )),
    }
}

/// Asks at the terminal; without one, nothing is deleted.
fn confirm(count: usize) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(format!(
            "not deleting {count} manifests without confirmation: stdin is not a terminal, \
             so give --yes"
        )));
    }
    eprint!("delete these {count} manifests? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        return Err(Failure::usage("not confirmed: nothing deleted"));
    }
    Ok(())
}

/// Deletes `records` a chunk at a time, saying how far it got if one fails.
async fn delete(
    db: &Database,
    records: &[ManifestRecord],
    out: &mut impl Write,
) -> Result<(), Failure> {
    let count = records.len();
    let mut reporter = Reporter::new("rm", "manifests deleted");
    let mut deleted = 0;
    let ids: Vec<ManifestId> = records.iter().map(|r| r.id).collect();
    for chunk in ids.chunks(DELETE_CHUNK) {
        match db.delete(chunk).await {
            Ok(n) => deleted += n,
            Err(e) => {
                reporter.finish();
                writeln!(
                    out,
                    "deleted {deleted} of {count} manifests before the failure"
                )?;
                return Err(e.into());
            }
        }
        reporter.show(deleted as u64, Some(count as u64), None);
    }
    reporter.finish();
    writeln!(
        out,
        "deleted {deleted} manifests; their blobs stay until `lakery gc` removes them"
    )?;
    Ok(())
}
