use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::{json, Value};

use super::{Storage, StorageError, StorageErrorKind, StoredBlob, WriteRequest};
use crate::record::Tags;

/// Keeps contents in memory, for tests. Clones share the same data, so a test can keep
/// one clone and hand another to the registry.
///
/// Unlike the file storage, it keeps the tags it receives, readable with
/// [`MemoryStorage::tags`].
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    blobs: Arc<Mutex<HashMap<String, Blob>>>,
}

#[derive(Debug)]
struct Blob {
    data: Bytes,
    tags: Tags,
    written_at: SystemTime,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn blobs(&self) -> MutexGuard<'_, HashMap<String, Blob>> {
        // A panic while holding the lock cannot leave the map half-updated: every
        // critical section is a single insert, remove or lookup.
        self.blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many distinct contents it holds.
    pub fn len(&self) -> usize {
        self.blobs().len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tags last written with the content a config names.
    pub fn tags(&self, config: &Value) -> Option<Tags> {
        let key = config.get("key")?.as_str()?;
        self.blobs().get(key).map(|blob| blob.tags.clone())
    }

    /// Replaces the bytes a config names, to simulate corruption in tests.
    pub fn corrupt(&self, config: &Value, data: impl Into<Bytes>) -> bool {
        let Some(key) = config.get("key").and_then(Value::as_str) else {
            return false;
        };
        match self.blobs().get_mut(key) {
            Some(entry) => {
                entry.data = data.into();
                true
            }
            None => false,
        }
    }

    fn key(config: &Value) -> Result<&str, StorageError> {
        config
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| StorageError::invalid_config(config, "expected {\"key\": \"<sha256>\"}"))
    }
}

#[async_trait::async_trait]
impl Storage for MemoryStorage {
    async fn write(&self, request: WriteRequest<'_>) -> Result<Value, StorageError> {
        let key = request.digest().await?.hex();
        let blob = Blob {
            data: request.data().clone(),
            tags: request.tags().clone(),
            written_at: SystemTime::now(),
        };
        self.blobs().insert(key.clone(), blob);
        Ok(json!({ "key": key }))
    }

    async fn read_range(
        &self,
        config: &Value,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StorageError> {
        let data = self.read(config).await?;
        let end = usize::try_from(range.end)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let start = usize::try_from(range.start).unwrap_or(usize::MAX).min(end);
        let kept = data.slice(start..end);
        super::check_range(&range, kept.len())?;
        Ok(kept)
    }

    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        let key = Self::key(config)?;
        self.blobs()
            .get(key)
            .map(|blob| blob.data.clone())
            .ok_or_else(|| {
                StorageError::new(
                    StorageErrorKind::NotFound,
                    format!("no content with key {key} in memory"),
                )
            })
    }

    async fn delete(&self, config: &Value) -> Result<(), StorageError> {
        let key = Self::key(config)?;
        self.blobs().remove(key);
        Ok(())
    }

    async fn exists(&self, config: &Value) -> Result<bool, StorageError> {
        let key = Self::key(config)?;
        Ok(self.blobs().contains_key(key))
    }

    async fn list(&self) -> Result<Vec<StoredBlob>, StorageError> {
        Ok(self
            .blobs()
            .iter()
            .map(|(key, blob)| StoredBlob {
                config: json!({ "key": key }),
                size: blob.data.len() as u64,
                written_at: blob.written_at,
            })
            .collect())
    }

    async fn delete_if_older(
        &self,
        config: &Value,
        cutoff: SystemTime,
    ) -> Result<bool, StorageError> {
        let key = Self::key(config)?;
        let mut blobs = self.blobs();
        if blobs.get(key).is_some_and(|blob| blob.written_at < cutoff) {
            blobs.remove(key);
            return Ok(true);
        }
        Ok(false)
    }
}
