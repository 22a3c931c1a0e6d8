//! `lakery ls`: the manifests, newest first, as a table or one JSON object a line.

use std::io::Write;

use lakery::{Database, ManifestRecord, UnreadableManifest};

use crate::failure::Failure;
use crate::filter::{Filter, Pages};
use crate::shown::{shown, shown_json};

/// Writes the list a page at a time, as it is read. The exit code: 1 if a manifest's
/// row could not be read. Each such row is named on stderr, by id, after the rest of
/// its page; the others are listed all the same.
pub async fn run(
    db: &Database,
    filter: &Filter,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let mut unreadable = 0;
    if !json {
        writeln!(
            out,
            "{:<36}  {:<36}  {:>7}  {:<20}  TAGS",
            "ID", "CLASS", "VERSION", "CREATED"
        )?;
    }
    let mut pages = Pages::new(db, filter);
    while let Some(page) = pages.next().await? {
        for record in &page.records {
            if json {
                let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
                let line = shown_json(line);
                writeln!(out, "{line}")?;
            } else {
                write_row(out, record)?;
            }
        }
        for bad in &page.unreadable {
            report_unreadable(out, bad)?;
        }
        unreadable += page.unreadable.len();
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
fn report_unreadable(out: &mut impl Write, bad: &UnreadableManifest) -> std::io::Result<()> {
    out.flush()?;
    eprintln!(
        "lakery: manifest {} cannot be read: {}",
        shown(&bad.id),
        shown(&bad.reason)
    );
    Ok(())
}
