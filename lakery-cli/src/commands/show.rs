//! `lakery show`: a manifest and its contents.

use std::io::Write;

use lakery::{Database, ManifestId};

use crate::failure::Failure;

pub async fn run(
    db: &Database,
    id: ManifestId,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let manifest = db.manifest(id).await?;
    let contents = db.contents(id).await?;
    if json {
        let both = serde_json::json!({ "manifest": manifest, "contents": contents });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&both).map_err(std::io::Error::other)?
        )?;
        return Ok(());
    }
    writeln!(out, "manifest {}", manifest.id)?;
    writeln!(
        out,
        "class    {} version {}",
        manifest.class_id, manifest.class_version
    )?;
    writeln!(out, "created  {}", manifest.created_at.to_rfc3339())?;
    for (key, value) in &manifest.tags {
        writeln!(out, "tag      {key}={value}")?;
    }
    if let Some(replaces) = manifest.replaces {
        writeln!(out, "replaces {replaces}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24}  {:<32}  {:>10}  {:<8}  {:<12}  HASH",
        "KEY", "TYPE", "SIZE", "ENCODING", "STORAGE"
    )?;
    for content in &contents {
        writeln!(
            out,
            "{:<24}  {:<32}  {:>10}  {:<8}  {:<12}  {}:{}",
            content.key,
            content.content_type,
            content.size,
            content.encoding.as_deref().unwrap_or("-"),
            content.storage_name,
            content.hash_algorithm,
            content.hash
        )?;
    }
    Ok(())
}
