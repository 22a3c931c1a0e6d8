//! `lakery ls`: the manifests, newest first, as a table or one JSON object a line.

use std::io::Write;

use lakery::{Database, ManifestRecord, UnreadableManifest};

use crate::failure::Failure;
use crate::filter::Filter;
use crate::shown::shown;

/// Manifests asked of the database at a time: the list is written a page at a time, so
/// memory does not grow with the number of manifests.
const PAGE: usize = 500;

/// The exit code: 1 if a manifest's row could not be read. Each such row is named on
/// stderr, by id, where it comes in the list; the others are listed all the same.
pub async fn run(
    db: &Database,
    filter: &Filter,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let query = filter.query();
    let mut remaining = filter.limit;
    let mut unreadable = 0;
    if !json {
        writeln!(
            out,
            "{:<36}  {:<36}  {:>7}  {:<20}  TAGS",
            "ID", "CLASS", "VERSION", "CREATED"
        )?;
    }
    let mut page_query = query.clone().limit(remaining.unwrap_or(PAGE).min(PAGE));
    loop {
        let page = db.find(&page_query).await?;
        for record in &page.records {
            if json {
                let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
                writeln!(out, "{line}")?;
            } else {
                write_row(out, record)?;
            }
        }
        for bad in &page.unreadable {
            report_unreadable(out, bad)?;
        }
        unreadable += page.unreadable.len();
        let listed = page.records.len() + page.unreadable.len();
        if let Some(remaining) = remaining.as_mut() {
            *remaining = remaining.saturating_sub(listed);
        }
        match (page.next, remaining) {
            (_, Some(0)) => break,
            (Some(cursor), _) if listed > 0 => {
                page_query = query
                    .clone()
                    .after(cursor)
                    .limit(remaining.unwrap_or(PAGE).min(PAGE));
            }
            _ => break,
        }
    }
    Ok(if unreadable == 0 { 0 } else { 1 })
}

fn write_row(out: &mut impl Write, record: &ManifestRecord) -> std::io::Result<()> {
    let tags: Vec<String> = record
        .tags
        .iter()
        .map(|(k, v)| format!("{}={}", shown(k), shown(v)))
        .collect();
    writeln!(
        out,
        "{:<36}  {:<36}  {:>7}  {:<20}  {}",
        record.id,
        record.class_id,
        record.class_version,
        record.created_at.format("%Y-%m-%d %H:%M:%S"),
        tags.join(" ")
    )
}

/// Names a row that cannot be read on stderr, after what was listed before it.
pub fn report_unreadable(out: &mut impl Write, bad: &UnreadableManifest) -> std::io::Result<()> {
    out.flush()?;
    eprintln!(
        "lakery: manifest {} cannot be read: {}",
        shown(&bad.id),
        shown(&bad.reason)
    );
    Ok(())
}
