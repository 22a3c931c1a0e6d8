//! `lakery rm`: deletes manifests, by id or by filter, once confirmed. Their blobs stay
//! until `lakery gc` removes them.

use std::io::{BufRead, IsTerminal, Write};

use lakery::{Database, ManifestId, ManifestRecord};

use crate::failure::Failure;
use crate::filter::{Filter, Pages};
use crate::progress::Reporter;
use crate::shown::shown;

/// The exit code: 1 if a selected row could not be removed because its id is not one
/// (it is named on stderr); the others are deleted all the same.
pub async fn run(
    db: &Database,
    ids: Vec<ManifestId>,
    filter: &Filter,
    yes: bool,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let selection = select(db, ids, filter, out).await?;
    let code = if selection.unremovable == 0 { 0 } else { 1 };
    if selection.ids.is_empty() {
        writeln!(out, "no manifests match: nothing deleted")?;
        return Ok(code);
    }
    out.flush()?;
    if !yes {
        confirm(selection.ids.len())?;
    }
    delete(db, &selection.ids, out).await?;
    Ok(code)
}

/// The manifests to delete, each listed as it is found, including those whose rows
/// cannot be read otherwise.
#[derive(Default)]
struct Selection {
    ids: Vec<ManifestId>,
    /// Rows selected that cannot be deleted: their id is not a UUID.
    unremovable: usize,
}

/// The manifests named by id, or those the filter selects: one or the other.
async fn select(
    db: &Database,
    ids: Vec<ManifestId>,
    filter: &Filter,
    out: &mut impl Write,
) -> Result<Selection, Failure> {
    match (ids.is_empty(), filter.is_empty()) {
        (false, true) if filter.limit.is_some() => {
            Err(Failure::usage("--limit applies to a filter, not to ids"))
        }
        (false, true) => select_ids(db, ids, out).await,
        (true, false) => select_filtered(db, filter, out).await,
        (false, false) => Err(Failure::usage("give manifest ids or a filter, not both")),
        (true, true) => Err(Failure::usage(
            "give manifest ids, or a filter (--class, --tag, --since, --until); \
             to delete everything, say --until with a time in the future",
        )),
    }
}

async fn select_ids(
    db: &Database,
    mut ids: Vec<ManifestId>,
    out: &mut impl Write,
) -> Result<Selection, Failure> {
    ids.sort_unstable();
    ids.dedup();
    for &id in &ids {
        match db.manifest(id).await {
            Ok(record) => list(out, &record)?,
            Err(lakery::Error::CorruptRecord { reason, .. }) => {
                list_unreadable(out, &id.to_string(), &reason)?
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(Selection {
        ids,
        unremovable: 0,
    })
}

async fn select_filtered(
    db: &Database,
    filter: &Filter,
    out: &mut impl Write,
) -> Result<Selection, Failure> {
    let mut selection = Selection::default();
    let mut pages = Pages::new(db, filter);
    while let Some(page) = pages.next().await? {
        for record in &page.records {
            list(out, record)?;
            selection.ids.push(record.id);
        }
        for bad in &page.unreadable {
            match bad.id.parse::<ManifestId>() {
                Ok(id) => {
                    list_unreadable(out, &bad.id, &bad.reason)?;
                    selection.ids.push(id);
                }
                Err(_) => {
                    out.flush()?;
                    eprintln!(
                        "lakery: a manifest row with id {:?} cannot be read ({}) and, \
                         its id not being one, cannot be deleted by lakery",
                        shown(&bad.id),
                        shown(&bad.reason)
                    );
                    selection.unremovable += 1;
                }
            }
        }
    }
    Ok(selection)
}

fn list(out: &mut impl Write, record: &ManifestRecord) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {}  {}",
        record.id,
        record.class_id,
        record.created_at.format("%Y-%m-%d %H:%M:%S")
    )
}

fn list_unreadable(out: &mut impl Write, id: &str, reason: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  (its row cannot be read: {})",
        shown(id),
        shown(reason)
    )
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

/// Deletes `ids` in one transaction: all of them, or, if it fails, none.
async fn delete(db: &Database, ids: &[ManifestId], out: &mut impl Write) -> Result<(), Failure> {
    let count = ids.len() as u64;
    let mut reporter = Reporter::new("rm", "manifests deleted");
    reporter.show(0, Some(count), None);
    let deleted = db.delete(ids).await;
    if let Ok(deleted) = &deleted {
        reporter.show(*deleted as u64, Some(count), None);
    }
    reporter.finish();
    let deleted = deleted.map_err(|e| {
        let _ = writeln!(out, "nothing deleted: the deletion failed");
        Failure::from(e)
    })?;
    writeln!(
        out,
        "deleted {deleted} manifests; their blobs stay until `lakery gc` removes them"
    )?;
    Ok(())
}
