//! Rows as lakery writes and reads them, the same on every backend, and their
//! conversion to the public records. Each backend's module in
//! [`schema`](super::schema) binds them to its tables.

use diesel::prelude::*;

use super::types::{BlobBytes, DbTime, DbUuid, JsonText};
use crate::error::{Error, Result};
use crate::id::ClassId;
use crate::id::ManifestId;
use crate::record::{ContentRecord, ManifestRecord, Tags};

/// A manifest to insert.
pub(crate) struct NewManifest {
    pub id: DbUuid,
    pub class_id: DbUuid,
    pub class_version: i32,
    pub tags: JsonText,
    pub created_at: DbTime,
    pub replaces: Option<DbUuid>,
}

/// A content to insert.
pub(crate) struct NewContent {
    pub manifest_id: DbUuid,
    pub content_key: String,
    pub content_type: String,
    pub encoding: Option<String>,
    pub hash: String,
    pub hash_algorithm: String,
    pub size: i64,
    pub serializer_name: String,
    pub serializer_config: Option<JsonText>,
    pub storage_name: String,
    pub storage_config: JsonText,
    pub data: Option<BlobBytes>,
    pub tags: JsonText,
    pub created_at: DbTime,
}

/// A manifest tag to insert.
pub(crate) struct NewTag {
    pub manifest_id: DbUuid,
    pub tag_key: String,
    pub tag_value: String,
}

/// Everything a batch inserts, in one transaction.
#[derive(Default)]
pub(crate) struct NewRows {
    pub manifests: Vec<NewManifest>,
    pub contents: Vec<NewContent>,
    pub tags: Vec<NewTag>,
    /// Manifests to delete in the same transaction: those the new ones replace.
    pub deleted: Vec<DbUuid>,
}

/// A whole manifest row.
#[derive(Queryable, Debug)]
pub(crate) struct ManifestRow {
    pub id: DbUuid,
    pub class_id: DbUuid,
    pub class_version: i32,
    pub tags: JsonText,
    pub created_at: DbTime,
    pub replaces: Option<DbUuid>,
}

/// What loading needs of a manifest.
#[derive(Queryable, Debug)]
pub(crate) struct ManifestHead {
    pub id: DbUuid,
    pub class_id: DbUuid,
    pub class_version: i32,
}

/// A whole content row but its bytes.
#[derive(Queryable, Debug)]
pub(crate) struct ContentRow {
    pub manifest_id: DbUuid,
    pub content_key: String,
    pub content_type: String,
    pub encoding: Option<String>,
    pub hash: String,
    pub hash_algorithm: String,
    pub size: i64,
    pub serializer_name: String,
    pub serializer_config: Option<JsonText>,
    pub storage_name: String,
    pub storage_config: JsonText,
    pub tags: JsonText,
    pub created_at: DbTime,
}

/// What loading needs of a content: where its bytes are, how to check and read them.
#[derive(Queryable, Debug, Clone)]
pub(crate) struct StoredContent {
    pub content_key: String,
    pub content_type: String,
    pub encoding: Option<String>,
    pub hash: String,
    pub hash_algorithm: String,
    pub size: i64,
    pub serializer_name: String,
    pub serializer_config: Option<JsonText>,
    pub storage_name: String,
    pub storage_config: JsonText,
    pub data: Option<Vec<u8>>,
}

pub(crate) fn corrupt(
    manifest: impl std::fmt::Display,
    what: &str,
    error: impl std::fmt::Display,
) -> Error {
    Error::CorruptRecord {
        manifest: manifest.to_string(),
        reason: format!("{what}: {error}"),
    }
}

pub(crate) fn parse_tags(manifest: &DbUuid, json: &JsonText) -> Result<Tags> {
    serde_json::from_str(&json.0)
        .map_err(|e| corrupt(manifest.0, "tags are not a JSON object of strings", e))
}

pub(crate) fn tags_json(tags: &Tags) -> JsonText {
    // A map of strings always serializes.
    JsonText(
        serde_json::to_string(tags)
            .unwrap_or_else(|_| unreachable!("a map of strings serializes to JSON")),
    )
}

fn class(id: &DbUuid, class_version: i32) -> Result<u32> {
    u32::try_from(class_version).map_err(|e| corrupt(id.0, "class_version is negative", e))
}

impl ManifestRow {
    pub fn into_record(self) -> Result<ManifestRecord> {
        Ok(ManifestRecord {
            id: ManifestId::from(self.id.0),
            class_id: ClassId::from_u128(self.class_id.0.as_u128()),
            class_version: class(&self.id, self.class_version)?,
            tags: parse_tags(&self.id, &self.tags)?,
            created_at: self.created_at.0,
            replaces: self.replaces.map(|id| ManifestId::from(id.0)),
        })
    }
}

impl ManifestHead {
    pub fn class(&self) -> Result<(ClassId, u32)> {
        Ok((
            ClassId::from_u128(self.class_id.0.as_u128()),
            class(&self.id, self.class_version)?,
        ))
    }
}

fn json(manifest: &DbUuid, what: &str, text: &JsonText) -> Result<serde_json::Value> {
    serde_json::from_str(&text.0).map_err(|e| corrupt(manifest.0, what, e))
}

impl ContentRow {
    pub fn into_record(self) -> Result<ContentRecord> {
        let m = &self.manifest_id;
        let serializer_config = self
            .serializer_config
            .as_ref()
            .map(|text| json(m, "serializer_config is not JSON", text))
            .transpose()?;
        let storage_config = json(m, "storage_config is not JSON", &self.storage_config)?;
        let size = u64::try_from(self.size).map_err(|e| corrupt(m.0, "size is negative", e))?;
        Ok(ContentRecord {
            manifest_id: ManifestId::from(m.0),
            tags: parse_tags(m, &self.tags)?,
            key: self.content_key,
            content_type: self.content_type,
            encoding: self.encoding,
            hash: self.hash,
            hash_algorithm: self.hash_algorithm,
            size,
            serializer_name: self.serializer_name,
            serializer_config,
            storage_name: self.storage_name,
            storage_config,
            created_at: self.created_at.0,
        })
    }
}
