//! Rows as diesel reads and writes them, and their conversion to the public records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{lakery_contents, lakery_manifests};
use crate::manifest::{ContentRecord, ManifestId, ManifestRecord, Tags};
use crate::{Error, Result};

#[derive(Insertable)]
#[diesel(table_name = lakery_manifests)]
pub(crate) struct NewManifest {
    pub id: String,
    pub class_id: String,
    pub class_version: i32,
    pub tags: String,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = lakery_contents, treat_none_as_default_value = false)]
pub(crate) struct NewContent {
    pub manifest_id: String,
    pub content_key: String,
    pub content_type: String,
    pub encoding: Option<String>,
    pub hash: String,
    pub hash_algorithm: String,
    pub size: i64,
    pub serializer_name: String,
    pub serializer_config: Option<String>,
    pub storage_name: String,
    pub storage_config: String,
    pub data: Option<BlobBytes>,
    pub tags: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = lakery_manifests)]
pub(crate) struct ManifestRow {
    pub id: String,
    pub class_id: String,
    pub class_version: i32,
    pub tags: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = lakery_contents)]
pub(crate) struct ContentRow {
    pub manifest_id: String,
    pub content_key: String,
    pub content_type: String,
    pub encoding: Option<String>,
    pub hash: String,
    pub hash_algorithm: String,
    pub size: i64,
    pub serializer_name: String,
    pub serializer_config: Option<String>,
    pub storage_name: String,
    pub storage_config: String,
    pub data: Option<Vec<u8>>,
    pub tags: String,
    pub created_at: NaiveDateTime,
}

/// Content bytes bound as a BLOB without copying them out of their [`bytes::Bytes`].
#[derive(Debug, diesel::expression::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Binary)]
pub(crate) struct BlobBytes(pub bytes::Bytes);

impl diesel::serialize::ToSql<diesel::sql_types::Binary, diesel::sqlite::Sqlite> for BlobBytes {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
    ) -> diesel::serialize::Result {
        <[u8] as diesel::serialize::ToSql<diesel::sql_types::Binary, diesel::sqlite::Sqlite>>::to_sql(&self.0, out)
    }
}

/// What loading needs of a manifest.
#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = lakery_manifests)]
pub(crate) struct ManifestHead {
    pub id: String,
    pub class_id: String,
    pub class_version: i32,
}

/// What loading needs of a content: where its bytes are, how to check and read them.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = lakery_contents)]
pub(crate) struct StoredContent {
    pub manifest_id: String,
    pub content_key: String,
    pub content_type: String,
    pub encoding: Option<String>,
    pub hash: String,
    pub hash_algorithm: String,
    pub size: i64,
    pub serializer_name: String,
    pub serializer_config: Option<String>,
    pub storage_name: String,
    pub storage_config: String,
    pub data: Option<Vec<u8>>,
}

fn corrupt(manifest: &str, what: &str, error: impl std::fmt::Display) -> Error {
    Error::CorruptRecord {
        manifest: manifest.to_owned(),
        reason: format!("{what}: {error}"),
    }
}

pub(crate) fn parse_tags(manifest: &str, json: &str) -> Result<Tags> {
    serde_json::from_str(json)
        .map_err(|e| corrupt(manifest, "tags are not a JSON object of strings", e))
}

pub(crate) fn tags_json(tags: &Tags) -> String {
    // A map of strings always serializes.
    serde_json::to_string(tags)
        .unwrap_or_else(|_| unreachable!("a map of strings serializes to JSON"))
}

impl ManifestRow {
    pub fn into_record(self) -> Result<ManifestRecord> {
        let id = self
            .id
            .parse()
            .map_err(|e| corrupt(&self.id, "id is not a UUID", e))?;
        let class_id = crate::ClassId::parse(&self.class_id)
            .map_err(|e| corrupt(&self.id, "class_id is not a UUID", e))?;
        let class_version = u32::try_from(self.class_version)
            .map_err(|e| corrupt(&self.id, "class_version is negative", e))?;
        Ok(ManifestRecord {
            id,
            class_id,
            class_version,
            tags: parse_tags(&self.id, &self.tags)?,
            created_at: self.created_at.and_utc(),
        })
    }
}

impl ManifestHead {
    pub fn class(&self) -> Result<(crate::ClassId, u32)> {
        let class_id = crate::ClassId::parse(&self.class_id)
            .map_err(|e| corrupt(&self.id, "class_id is not a UUID", e))?;
        let version = u32::try_from(self.class_version)
            .map_err(|e| corrupt(&self.id, "class_version is negative", e))?;
        Ok((class_id, version))
    }
}

impl ContentRow {
    /// Splits off the inline bytes and converts the rest to a public record.
    pub fn into_record(self) -> Result<(ContentRecord, Option<Vec<u8>>)> {
        let m = &self.manifest_id;
        let manifest_id: ManifestId = m
            .parse()
            .map_err(|e| corrupt(m, "manifest_id is not a UUID", e))?;
        let serializer_config = self
            .serializer_config
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(m, "serializer_config is not JSON", e))?;
        let storage_config = serde_json::from_str(&self.storage_config)
            .map_err(|e| corrupt(m, "storage_config is not JSON", e))?;
        let size = u64::try_from(self.size).map_err(|e| corrupt(m, "size is negative", e))?;
        let record = ContentRecord {
            manifest_id,
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
            created_at: self.created_at.and_utc(),
        };
        Ok((record, self.data))
    }
}
