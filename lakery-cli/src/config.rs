//! The storage configuration file: which storages the manifests' contents are in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lakery::{FileStorage, ObjectStorage, Registry};
use serde::Deserialize;

use crate::failure::Failure;

/// `lakery.toml`: storages by the names the manifests record (a registry's
/// `default_storage` is recorded as `default`).
///
/// ```toml
/// [storages.files]
/// type = "file"
/// path = "lakery-data"         # relative to this file
/// [storages.s3]
/// type = "object"
/// url = "s3://bucket/prefix"   # credentials from the environment
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    storages: BTreeMap<String, StorageConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum StorageConfig {
    /// A `FileStorage` folder.
    File { path: PathBuf },
    /// An `ObjectStorage` URL: `s3://`, `gs://`, `az://`, `file://`, `memory://`.
    Object {
        url: String,
        #[serde(default)]
        options: BTreeMap<String, String>,
    },
}

impl Config {
    /// Reads `path`; a missing file is an empty configuration (every content in the
    /// database) only when no file was asked for by name.
    pub fn read(path: &Path, named: bool) -> Result<Config, Failure> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
                return Ok(Config::default())
            }
            Err(e) => {
                return Err(Failure::usage(format!(
                    "cannot read the storage configuration {}: {e}",
                    path.display()
                )))
            }
        };
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            Failure::usage(format!(
                "the storage configuration {} is not valid: {e}",
                path.display()
            ))
        })?;
        // Folders are relative to the file that names them.
        let base = path.parent().unwrap_or(Path::new("."));
        for storage in config.storages.values_mut() {
            if let StorageConfig::File { path } = storage {
                if path.is_relative() {
                    *path = base.join(&*path);
                }
            }
        }
        Ok(config)
    }

    /// A registry with these storages and no types: enough to read, check and delete
    /// what is stored. Unless `writable`, file storages are opened read-only: a folder
    /// that is not there is an error naming it, and nothing is created or cleaned up.
    pub fn registry(&self, writable: bool) -> Result<Registry, Failure> {
        let mut builder = Registry::builder();
        for (name, storage) in &self.storages {
            let failed = |e: &dyn std::fmt::Display| {
                Failure::usage(format!("storage `{name}` cannot be opened: {e}"))
            };
            builder = match storage {
                StorageConfig::File { path } => {
                    let storage = if writable {
                        FileStorage::new(path)
                    } else {
                        FileStorage::read_only(path)
                    };
                    builder.storage(name.clone(), storage.map_err(|e| failed(&e))?)
                }
                StorageConfig::Object { url, options } => {
                    let storage = ObjectStorage::from_url_opts(url, options.clone())
                        .map_err(|e| failed(&e))?;
                    builder.storage(name.clone(), storage)
                }
            };
        }
        builder
            .build()
            .map_err(|e| Failure::usage(format!("the storage configuration is not valid: {e}")))
    }
}
