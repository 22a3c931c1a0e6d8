use std::fs::{self, File};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use super::{Storage, StorageError, StorageErrorKind, WriteRequest};
use crate::{Error, Result};

/// Keeps contents as files under a root folder, content-addressed by SHA-256: identical
/// contents are stored once, at `<root>/<first two hex digits>/<hash>`.
///
/// A write goes to a temporary file in the root, is fsynced, and is renamed into place
/// (then the folder is fsynced), so a file at its final name is always complete and a
/// crash leaves at most a stray temporary file. The recorded config is the path relative
/// to the root (`{"path": "ab/ab12..."}`), so the folder can be moved; configs read back
/// are checked against that layout and refused if they would reach outside the root.
///
/// Tags are not kept: a file system has nowhere to put them.
///
/// ```
/// # fn main() -> lakery::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let storage = lakery::FileStorage::new(dir.path().join("data"))?;
/// assert!(storage.root().ends_with("data"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileStorage {
    root: Arc<PathBuf>,
}

const TEMP_PREFIX: &str = ".lakery-tmp-";

impl FileStorage {
    /// A storage rooted at `root`, created if missing.
    pub fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        let setup = |source| Error::StorageSetup {
            path: root.to_owned(),
            source,
        };
        fs::create_dir_all(root).map_err(setup)?;
        let root = root.canonicalize().map_err(setup)?;
        Ok(FileStorage {
            root: Arc::new(root),
        })
    }

    /// The root folder, canonicalized.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a config read from the database to a path inside the root.
    fn resolve(&self, config: &Value) -> Result<PathBuf, StorageError> {
        let relative = config.get("path").and_then(Value::as_str).ok_or_else(|| {
            StorageError::invalid_config(config, "expected {\"path\": \"<relative path>\"}")
        })?;
        if !is_blob_path(relative) {
            return Err(StorageError::invalid_config(
                config,
                "the path is not a content path of this storage (`<2 hex>/<64 hex>`); refusing to leave the storage root",
            ));
        }
        let path = self.root.join(relative);
        // The layout check rules out `..` and absolute paths; a symlink planted under the
        // root could still point elsewhere, so resolve it and check again.
        match path.canonicalize() {
            Ok(real) if !real.starts_with(&*self.root) => Err(StorageError::invalid_config(
                config,
                format!(
                    "{} resolves outside the storage root {}",
                    path.display(),
                    self.root.display()
                ),
            )),
            _ => Ok(path),
        }
    }
}

/// `ab/ab…` with 64 lowercase hex digits whose first two name the folder.
fn is_blob_path(relative: &str) -> bool {
    let path = Path::new(relative);
    let parts: Vec<_> = path.components().collect();
    let [Component::Normal(dir), Component::Normal(name)] = parts.as_slice() else {
        return false;
    };
    let (Some(dir), Some(name)) = (dir.to_str(), name.to_str()) else {
        return false;
    };
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    relative.len() == 67 && name.len() == 64 && hex(name) && name.starts_with(dir) && dir.len() == 2
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

#[async_trait::async_trait]
impl Storage for FileStorage {
    async fn write(&self, request: WriteRequest<'_>) -> Result<Value, StorageError> {
        let root = self.root.clone();
        let data = request.data().clone();
        // Write and fsync the temporary file while the digest is computed elsewhere.
        let temp =
            tokio::task::spawn_blocking(move || -> Result<tempfile::TempPath, StorageError> {
                let mut file = tempfile::Builder::new()
                    .prefix(TEMP_PREFIX)
                    .tempfile_in(&*root)
                    .map_err(|e| {
                        StorageError::io(
                            format!("cannot create a temporary file in {}", root.display()),
                            e,
                        )
                    })?;
                let path = file.path().display().to_string();
                file.write_all(&data)
                    .map_err(|e| StorageError::io(format!("cannot write {path}"), e))?;
                file.as_file()
                    .sync_all()
                    .map_err(|e| StorageError::io(format!("cannot fsync {path}"), e))?;
                Ok(file.into_temp_path())
            })
            .await
            .map_err(|e| {
                StorageError::new(StorageErrorKind::Other, format!("write task failed: {e}"))
            })??;

        let hex = request.digest().await?.hex();
        let relative = format!("{}/{}", &hex[..2], hex);
        let root = self.root.clone();
        let relative_for_task = relative.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StorageError> {
            let dir = root.join(&relative_for_task[..2]);
            let target = root.join(&relative_for_task);
            if target.exists() {
                // Same hash, same bytes: already stored and durable. `temp` is removed on drop.
                return Ok(());
            }
            if !dir.exists() {
                fs::create_dir_all(&dir)
                    .map_err(|e| StorageError::io(format!("cannot create {}", dir.display()), e))?;
                sync_dir(&root)
                    .map_err(|e| StorageError::io(format!("cannot fsync {}", root.display()), e))?;
            }
            temp.persist(&target).map_err(|e| {
                StorageError::io(
                    format!("cannot move the content to {}", target.display()),
                    e.error,
                )
            })?;
            sync_dir(&dir)
                .map_err(|e| StorageError::io(format!("cannot fsync {}", dir.display()), e))
        })
        .await
        .map_err(|e| {
            StorageError::new(StorageErrorKind::Other, format!("write task failed: {e}"))
        })??;
        Ok(json!({ "path": relative }))
    }

    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        let path = self.resolve(config)?;
        let data = tokio::fs::read(&path)
            .await
            .map_err(|e| StorageError::io(format!("cannot read {}", path.display()), e))?;
        Ok(Bytes::from(data))
    }

    async fn delete(&self, config: &Value) -> Result<(), StorageError> {
        let path = self.resolve(config)?;
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StorageError::io(
                format!("cannot delete {}", path.display()),
                e,
            )),
            _ => Ok(()),
        }
    }

    async fn exists(&self, config: &Value) -> Result<bool, StorageError> {
        let path = self.resolve(config)?;
        tokio::fs::try_exists(&path)
            .await
            .map_err(|e| StorageError::io(format!("cannot check {}", path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::is_blob_path;

    #[test]
    fn only_the_storage_layout_is_accepted() {
        let hex = "ab".to_owned() + &"0".repeat(62);
        assert!(is_blob_path(&format!("ab/{hex}")));
        for bad in [
            format!("../{hex}"),
            format!("/ab/{hex}"),
            format!("ab/../{hex}"),
            format!("cd/{hex}"),
            format!("ab%2F{hex}"),
            format!("ab\\{hex}"),
            format!("ab/{}", hex.to_uppercase()),
            "ab/ab".to_owned(),
            String::new(),
        ] {
            assert!(!is_blob_path(&bad), "{bad} should be refused");
        }
    }
}
