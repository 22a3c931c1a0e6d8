use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde_json::{json, Value};

use super::{Storage, StorageError, StorageErrorKind, WriteRequest};
use crate::manifest::Tags;

/// Keeps contents in memory, for tests. Clones share the same data, so a test can keep
/// one clone and hand another to the registry.
///
/// Unlike the file storage, it keeps the tags it receives, readable with
/// [`MemoryStorage::tags`].
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    blobs: Arc<Mutex<HashMap<String, (Bytes, Tags)>>>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn blobs(&self) -> MutexGuard<'_, HashMap<String, (Bytes, Tags)>> {
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
        self.blobs().get(key).map(|(_, tags)| tags.clone())
    }

    /// Replaces the bytes a config names, to simulate corruption in tests.
    pub fn corrupt(&self, config: &Value, data: impl Into<Bytes>) -> bool {
        let Some(key) = config.get("key").and_then(Value::as_str) else {
            return false;
        };
        match self.blobs().get_mut(key) {
            Some(entry) => {
                entry.0 = data.into();
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
        self.blobs().insert(
            key.clone(),
            (request.data().clone(), request.tags().clone()),
        );
        Ok(json!({ "key": key }))
    }

    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        let key = Self::key(config)?;
        self.blobs()
            .get(key)
            .map(|(data, _)| data.clone())
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
}
