//! Manifests and content records: what the database keeps about every saved value.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::hash::{Digest, HashAlgorithm};
use crate::id::{ClassId, ManifestId};

/// String key/value pairs attached to a manifest (at save time) or a content (in its
/// `#[content(tags(...))]` attribute).
pub type Tags = BTreeMap<String, String>;

/// Longest tag key or value accepted, in bytes.
pub const MAX_TAG_LEN: usize = 1024;

pub(crate) fn check_tag(key: &str, value: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidTag {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("tag keys must not be empty");
    }
    if key.len() > MAX_TAG_LEN || value.len() > MAX_TAG_LEN {
        return bad("tag keys and values are at most 1024 bytes");
    }
    if key.chars().chain(value.chars()).any(char::is_control) {
        return bad("tag keys and values must not contain control characters");
    }
    Ok(())
}

/// One saved value: which type wrote it, at which version, with which tags, and when.
///
/// Returned by a save; hand it (or its [`id`](ManifestRecord::id)) to a load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRecord {
    /// The manifest's id.
    pub id: ManifestId,
    /// The class id of the type that saved it.
    pub class_id: ClassId,
    /// The version of that type.
    pub class_version: u32,
    /// The tags given at save time.
    pub tags: Tags,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
    /// The manifest this one replaced, when [`rewrite`](crate::migration::rewrite)
    /// saved it as the migrated form of an older version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ManifestId>,
}

/// Anything that names a manifest: a [`ManifestRecord`], a [`ManifestId`], or a
/// reference to either.
pub trait ManifestRef {
    /// The manifest's id.
    fn manifest_id(&self) -> ManifestId;
}

impl ManifestRef for ManifestId {
    fn manifest_id(&self) -> ManifestId {
        *self
    }
}

impl ManifestRef for ManifestRecord {
    fn manifest_id(&self) -> ManifestId {
        self.id
    }
}

impl<T: ManifestRef + ?Sized> ManifestRef for &T {
    fn manifest_id(&self) -> ManifestId {
        (**self).manifest_id()
    }
}

/// One content of a saved value, as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentRecord {
    /// The manifest it belongs to.
    pub manifest_id: ManifestId,
    /// `body`, or the field's name.
    pub key: String,
    /// The MIME type of the bytes.
    pub content_type: String,
    /// A transfer encoding applied to the bytes (such as compression), if any.
    pub encoding: Option<String>,
    /// The hash of the stored bytes, in lowercase hex.
    pub hash: String,
    /// The hash algorithm's name: `sha256` or `blake3` (see [`HashAlgorithm`](crate::HashAlgorithm)).
    pub hash_algorithm: String,
    /// The size of the stored bytes.
    pub size: u64,
    /// The versioned name of the serializer that wrote it.
    pub serializer_name: String,
    /// The serializer's recorded configuration.
    pub serializer_config: Option<serde_json::Value>,
    /// The registered name of the storage that holds it.
    pub storage_name: String,
    /// What that storage needs to find the bytes again.
    pub storage_config: serde_json::Value,
    /// The content's own tags.
    pub tags: Tags,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
}

impl ContentRecord {
    /// The content type, parsed: its format whatever its parameters (see
    /// [`ContentType::format`](crate::ContentType::format)).
    pub fn parsed_content_type(
        &self,
    ) -> std::result::Result<crate::content_type::ContentType, crate::content_type::ContentTypeError>
    {
        self.content_type.parse()
    }
}

/// A value as a save hands it to the database: its manifest, its contents, and whether
/// the manifest it replaces is deleted in the same transaction. `db` turns it into
/// rows; nothing else builds a row.
#[derive(Debug)]
pub(crate) struct NewValue {
    pub record: ManifestRecord,
    pub contents: Vec<NewContent>,
    pub delete_replaced: bool,
}

/// One content of a [`NewValue`]: where it was written and what checks it.
#[derive(Debug)]
pub(crate) struct NewContent {
    pub key: String,
    pub content_type: String,
    pub encoding: Option<Encoding>,
    pub digest: Digest,
    pub serializer_name: String,
    pub serializer_config: Option<serde_json::Value>,
    pub storage_name: String,
    /// What the storage returned; `null` for the database storage.
    pub storage_config: serde_json::Value,
    /// The bytes, for the database storage, which keeps them in the row.
    pub data: Option<Bytes>,
    pub tags: Tags,
}

/// A content as a load reads it back: its row, checked into typed fields (`db` does
/// this, in one place), and its bytes when the database storage keeps them. The hash
/// stays as recorded, so that a mismatch reports what was recorded.
#[derive(Debug, Clone)]
pub(crate) struct StoredContent {
    pub manifest: ManifestId,
    pub key: String,
    pub content_type: String,
    pub encoding: Option<Encoding>,
    pub algorithm: HashAlgorithm,
    /// The recorded hash, as text.
    pub hash: String,
    pub size: u64,
    pub serializer_name: String,
    pub serializer_config: Option<serde_json::Value>,
    pub storage_name: String,
    pub storage_config: serde_json::Value,
    pub data: Option<Bytes>,
}

/// A content whose row could not be checked into a [`StoredContent`]: its key and
/// storage, which the row names even when the rest is unreadable, and why.
#[derive(Debug)]
pub(crate) struct CorruptContent {
    pub key: String,
    pub storage_name: String,
    pub error: Error,
}

/// A content as the database gives it back: checked, or what made it unreadable.
pub(crate) type CheckedContent = std::result::Result<StoredContent, Box<CorruptContent>>;
