//! `lakery cat`: a content's bytes, checked against their hash, to stdout or a file.

use std::io::Write;
use std::path::PathBuf;

use lakery::{Database, ManifestId, Registry};

use crate::failure::Failure;

pub async fn run(
    registry: &Registry,
    db: &Database,
    id: ManifestId,
    key: &str,
    output: Option<PathBuf>,
    raw: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let stored = lakery::read_content(registry, db, id, key).await?;
    let bytes = if raw { stored.data } else { stored.decoded()? };
    match output {
        None => out.write_all(&bytes)?,
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut file = tempfile::NamedTempFile::new_in(dir)?;
            file.write_all(&bytes)?;
            file.as_file().sync_all()?;
            file.persist(&path).map_err(|e| e.error)?;
        }
    }
    Ok(())
}
