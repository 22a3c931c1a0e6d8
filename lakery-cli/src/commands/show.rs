//! `lakery show`: a manifest and its contents.

use std::io::Write;

use lakery::{ContentRecord, Database, ManifestId, ManifestRecord};

use crate::failure::Failure;
use crate::shown::{shown, shown_json};

/// The exit code: 1 if the manifest's own row cannot be read. It is named on stderr
/// with what is wrong, and its contents are shown all the same, so that they can still
/// be read (`lakery cat`) or the row removed (`lakery rm`).
pub async fn run(
    db: &Database,
    id: ManifestId,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let manifest = match db.manifest(id).await {
        Ok(manifest) => Some(manifest),
        Err(error @ lakery::Error::CorruptRecord { .. }) => {
            eprintln!("lakery: {}", shown(&error.to_string()));
            None
        }
        Err(error) => return Err(error.into()),
    };
    let contents = db.contents(id).await?;
    if json {
        let both = serde_json::json!({ "manifest": manifest, "contents": contents });
        writeln!(
            out,
            "{}",
            shown_json(serde_json::to_string_pretty(&both).map_err(std::io::Error::other)?)
        )?;
    } else {
        match &manifest {
            Some(manifest) => write_manifest(out, manifest)?,
            None => writeln!(out, "manifest {id} (its row cannot be read)")?,
        }
        writeln!(out)?;
        write_contents(out, &contents)?;
    }
    Ok(if manifest.is_some() { 0 } else { 1 })
}

fn write_manifest(out: &mut impl Write, manifest: &ManifestRecord) -> std::io::Result<()> {
    writeln!(out, "manifest {}", manifest.id)?;
    writeln!(
        out,
        "class    {} version {}",
        manifest.class_id, manifest.class_version
    )?;
    writeln!(out, "created  {}", manifest.created_at.to_rfc3339())?;
    for (key, value) in &manifest.tags {
        writeln!(out, "tag      {}={}", shown(key), shown(value))?;
    }
    if let Some(replaces) = manifest.replaces {
        writeln!(out, "replaces {replaces}")?;
    }
    Ok(())
}

fn write_contents(out: &mut impl Write, contents: &[ContentRecord]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24}  {:<32}  {:>10}  {:<8}  {:<12}  {:<12}  HASH",
        "KEY", "TYPE", "SIZE", "ENCODING", "STORAGE", "SERIALIZER"
    )?;
    for content in contents {
        writeln!(
            out,
            "{:<24}  {:<32}  {:>10}  {:<8}  {:<12}  {:<12}  {}:{}",
            shown(&content.key),
            shown(&content.content_type),
            content.size,
            shown(content.encoding.as_deref().unwrap_or("-")),
            shown(&content.storage_name),
            shown(&content.serializer_name),
            shown(&content.hash_algorithm),
            shown(&content.hash)
        )?;
    }
    Ok(())
}
