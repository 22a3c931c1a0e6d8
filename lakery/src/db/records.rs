//! Rows as lakery writes and reads them, the same on every backend, and their
//! conversion to the public records. Each backend's module in
//! [`schema`](super::schema) binds them to its tables.

use diesel::prelude::*;

use super::types::{BlobBytes, DbTime, DbUuid, JsonText, Lenient, StoredId};
use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;
use crate::id::ClassId;
use crate::id::ManifestId;
use crate::record::{
    CheckedContent, ContentRecord, CorruptContent, ManifestRecord, NewValue, StoredContent, Tags,
};

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

/// A whole manifest row, each column that a backend could fail to decode read
/// leniently, so that one bad row is reported by its id and the others still read.
#[derive(Queryable, Debug)]
pub(crate) struct ManifestRow {
    pub id: StoredId,
    pub class_id: Lenient<DbUuid>,
    pub class_version: i32,
    pub tags: JsonText,
    pub created_at: Lenient<DbTime>,
    pub replaces: Option<Lenient<DbUuid>>,
}

/// What loading needs of a manifest; selected by id, so the id decodes.
#[derive(Queryable, Debug)]
pub(crate) struct ManifestHead {
    pub id: DbUuid,
    pub class_id: Lenient<DbUuid>,
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
    pub created_at: Lenient<DbTime>,
}

/// What loading needs of a content: where its bytes are, how to check and read them.
#[derive(Queryable, Debug, Clone)]
pub(crate) struct StoredContentRow {
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

/// The tags of a manifest (`content` empty) or of one of its contents.
pub(crate) fn parse_tags(
    manifest: impl std::fmt::Display,
    json: &JsonText,
    content: &str,
) -> Result<Tags> {
    serde_json::from_str(&json.0).map_err(|e| {
        let what = match content {
            "" => "tags are not a JSON object of strings".to_owned(),
            key => format!("tags of content `{key}` are not a JSON object of strings"),
        };
        corrupt(manifest, &what, e)
    })
}

/// A leniently read column's value, or the error naming the column and its manifest.
fn column<T>(manifest: impl std::fmt::Display, name: &str, value: Lenient<T>) -> Result<T> {
    value
        .0
        .map_err(|e| corrupt(manifest, &format!("{name} cannot be read"), e))
}

pub(crate) fn tags_json(tags: &Tags) -> JsonText {
    // A map of strings always serializes.
    JsonText(
        serde_json::to_string(tags)
            .unwrap_or_else(|_| unreachable!("a map of strings serializes to JSON")),
    )
}

fn class(
    manifest: impl std::fmt::Display + Copy,
    class_id: &Lenient<DbUuid>,
    class_version: i32,
) -> Result<(ClassId, u32)> {
    let class_id = column(manifest, "class_id", class_id.clone())?;
    let version = u32::try_from(class_version)
        .map_err(|e| corrupt(manifest, "class_version is negative", e))?;
    Ok((ClassId::from_u128(class_id.0.as_u128()), version))
}

impl ManifestRow {
    /// The record, or the error naming this row's manifest and what is wrong with it.
    pub fn into_record(self) -> Result<ManifestRecord> {
        let id = &self.id;
        let manifest = match &id.0 {
            Ok(uuid) => ManifestId::from(*uuid),
            Err(_) => return Err(corrupt(id, "id", "is not a UUID")),
        };
        let (class_id, class_version) = class(id, &self.class_id, self.class_version)?;
        Ok(ManifestRecord {
            id: manifest,
            class_id,
            class_version,
            tags: parse_tags(id, &self.tags, "")?,
            created_at: column(id, "created_at", self.created_at)?.0,
            replaces: self
                .replaces
                .map(|replaces| column(id, "replaces", replaces).map(|r| ManifestId::from(r.0)))
                .transpose()?,
        })
    }
}

impl ManifestHead {
    pub fn class(&self) -> Result<(ClassId, u32)> {
        class(self.id.0, &self.class_id, self.class_version)
    }
}

fn json(manifest: &DbUuid, what: &str, text: &JsonText) -> Result<serde_json::Value> {
    serde_json::from_str(&text.0).map_err(|e| corrupt(manifest.0, what, e))
}

/// The fields a content row stores as text or signed integers, checked: what both the
/// public record and the loading path read.
fn content_fields(
    manifest: &DbUuid,
    key: &str,
    serializer_config: Option<&JsonText>,
    storage_config: &JsonText,
    size: i64,
) -> Result<(Option<serde_json::Value>, serde_json::Value, u64)> {
    let field = |name: &str, problem: &str| format!("{name} of content `{key}` {problem}");
    let serializer_config = serializer_config
        .map(|text| json(manifest, &field("serializer_config", "is not JSON"), text))
        .transpose()?;
    let storage_config = json(
        manifest,
        &field("storage_config", "is not JSON"),
        storage_config,
    )?;
    let size =
        u64::try_from(size).map_err(|e| corrupt(manifest.0, &field("size", "is negative"), e))?;
    Ok((serializer_config, storage_config, size))
}

impl ContentRow {
    pub fn into_record(self) -> Result<ContentRecord> {
        let m = &self.manifest_id;
        let (serializer_config, storage_config, size) = content_fields(
            m,
            &self.content_key,
            self.serializer_config.as_ref(),
            &self.storage_config,
            self.size,
        )?;
        Ok(ContentRecord {
            manifest_id: ManifestId::from(m.0),
            tags: parse_tags(m.0, &self.tags, &self.content_key)?,
            created_at: column(
                m.0,
                &format!("created_at of content `{}`", self.content_key),
                self.created_at,
            )?
            .0,
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
        })
    }
}

impl StoredContentRow {
    /// Checks the row of a content of `manifest` into what loading reads: an encoding
    /// and a hash algorithm this build knows, a size, and configs that are JSON.
    pub fn check(self, manifest: &DbUuid) -> CheckedContent {
        match self.fields(manifest) {
            Ok(fields) => Ok(self.into_content(manifest, fields)),
            Err(error) => Err(Box::new(CorruptContent {
                key: self.content_key,
                storage_name: self.storage_name,
                error,
            })),
        }
    }

    /// The typed fields of the row, or why it cannot be read.
    fn fields(&self, manifest: &DbUuid) -> Result<CheckedFields> {
        let key = &self.content_key;
        let corrupt = |reason: String| Error::CorruptRecord {
            manifest: manifest.0.to_string(),
            reason,
        };
        let encoding =
            match &self.encoding {
                None => None,
                Some(name) => {
                    Some(Encoding::from_name(name).ok_or_else(|| {
                        corrupt(format!(
                    "content `{key}` has encoding `{name}`, which this build of lakery cannot \
                     decode (it knows {}; `zstd` and `gzip` are cargo features)",
                    match Encoding::ALL {
                        [] => "none".to_owned(),
                        all => all.iter().map(|e| e.name()).collect::<Vec<_>>().join(" and "),
                    }
                ))
                    })?)
                }
            };
        let algorithm = HashAlgorithm::from_name(&self.hash_algorithm).ok_or_else(|| {
            corrupt(format!(
                "content `{key}` uses hash algorithm `{}`, which this version of lakery does \
                 not know (it knows {})",
                self.hash_algorithm,
                HashAlgorithm::ALL.map(HashAlgorithm::name).join(" and ")
            ))
        })?;
        let (serializer_config, storage_config, size) = content_fields(
            manifest,
            key,
            self.serializer_config.as_ref(),
            &self.storage_config,
            self.size,
        )?;
        Ok(CheckedFields {
            encoding,
            algorithm,
            size,
            serializer_config,
            storage_config,
        })
    }

    fn into_content(self, manifest: &DbUuid, fields: CheckedFields) -> StoredContent {
        let CheckedFields {
            encoding,
            algorithm,
            size,
            serializer_config,
            storage_config,
        } = fields;
        StoredContent {
            manifest: ManifestId::from(manifest.0),
            key: self.content_key,
            content_type: self.content_type,
            encoding,
            algorithm,
            hash: self.hash,
            size,
            serializer_name: self.serializer_name,
            serializer_config,
            storage_name: self.storage_name,
            storage_config,
            data: self.data.map(bytes::Bytes::from),
        }
    }
}

/// What [`StoredContentRow::fields`] reads of a row.
struct CheckedFields {
    encoding: Option<Encoding>,
    algorithm: crate::hash::HashAlgorithm,
    size: u64,
    serializer_config: Option<serde_json::Value>,
    storage_config: serde_json::Value,
}

impl NewRows {
    /// The rows of the values a save commits, in one place for every backend, and
    /// their manifests' records.
    pub fn of(values: Vec<NewValue>) -> (NewRows, Vec<ManifestRecord>) {
        let mut records = Vec::with_capacity(values.len());
        let mut rows = NewRows {
            manifests: Vec::with_capacity(values.len()),
            contents: Vec::with_capacity(values.len()),
            tags: Vec::new(),
            deleted: Vec::new(),
        };
        for value in values {
            let record = value.record;
            let manifest_id = DbUuid(*record.id.as_uuid());
            let created_at = DbTime(record.created_at);
            rows.contents
                .extend(value.contents.into_iter().map(|content| NewContent {
                    manifest_id,
                    content_key: content.key,
                    content_type: content.content_type,
                    encoding: content.encoding.map(|e| e.name().to_owned()),
                    hash: content.digest.hex(),
                    hash_algorithm: content.digest.algorithm.name().to_owned(),
                    // A content's size is its length in memory, far below `i64::MAX`.
                    size: i64::try_from(content.digest.size).unwrap_or(i64::MAX),
                    serializer_name: content.serializer_name,
                    serializer_config: content.serializer_config.map(|c| JsonText(c.to_string())),
                    storage_name: content.storage_name,
                    storage_config: JsonText(content.storage_config.to_string()),
                    data: content.data.map(BlobBytes),
                    tags: tags_json(&content.tags),
                    created_at,
                }));
            rows.tags
                .extend(record.tags.iter().map(|(key, value)| NewTag {
                    manifest_id,
                    tag_key: key.clone(),
                    tag_value: value.clone(),
                }));
            rows.manifests.push(NewManifest {
                id: manifest_id,
                class_id: DbUuid(*record.class_id.as_uuid()),
                // The registry refuses versions above `i32::MAX`.
                class_version: i32::try_from(record.class_version).unwrap_or(i32::MAX),
                tags: tags_json(&record.tags),
                created_at,
                replaces: record.replaces.map(|id| DbUuid(*id.as_uuid())),
            });
            if let (true, Some(replaced)) = (value.delete_replaced, record.replaces) {
                rows.deleted.push(DbUuid(*replaced.as_uuid()));
            }
            records.push(record);
        }
        (rows, records)
    }
}
