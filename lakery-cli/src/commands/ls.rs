//! `lakery ls`: the manifests, newest first, as a table or one JSON object a line.

use std::io::Write;

use lakery::Database;

use crate::failure::Failure;
use crate::filter::Filter;

pub async fn run(
    db: &Database,
    filter: &Filter,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut query = filter.query();
    let mut remaining = filter.limit;
    if !json {
        writeln!(
            out,
            "{:<36}  {:<36}  {:>7}  {:<20}  TAGS",
            "ID", "CLASS", "VERSION", "CREATED"
        )?;
    }
    loop {
        let page = db.find(&query).await?;
        for record in &page.records {
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(record).map_err(std::io::Error::other)?
                )?;
            } else {
                let tags: Vec<String> = record
                    .tags
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                writeln!(
                    out,
                    "{:<36}  {:<36}  {:>7}  {:<20}  {}",
                    record.id,
                    record.class_id,
                    record.class_version,
                    record.created_at.format("%Y-%m-%d %H:%M:%S"),
                    tags.join(" ")
                )?;
            }
        }
        if let Some(remaining) = remaining.as_mut() {
            *remaining = remaining.saturating_sub(page.records.len());
            if *remaining == 0 {
                break;
            }
        }
        match page.next {
            Some(cursor) if !page.records.is_empty() => query = query.after(cursor),
            _ => break,
        }
    }
    Ok(())
}
