//! The one error type of lakery.

use std::fmt;

use crate::error::storage::StorageError;
use crate::id::ClassId;
use crate::id::ManifestId;

pub(crate) mod storage;

/// `Result<T, lakery::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in lakery. Each message names what failed and where:
/// the manifest, the content key and the storage involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database URL lakery cannot use.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidDatabaseUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The database could not be opened.
    #[error("cannot connect to database `{url}`: {source}")]
    Connect {
        /// The URL as given.
        url: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A query failed.
    #[error("database error while {context}: {source}")]
    Database {
        /// What lakery was doing.
        context: String,
        /// The driver's error (diesel's, for lakery's own backends), reachable through
        /// [`std::error::Error::source`] without making diesel part of lakery's API.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// No connection could be taken from the pool.
    #[error("cannot get a database connection: {0}")]
    Pool(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// Applying the schema migrations failed.
    #[error("applying lakery's schema migrations failed: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// The database has no lakery schema, or an older one.
    #[error("the database is missing lakery's schema ({0}); call `Database::migrate` first")]
    SchemaMissing(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A storage could not be set up: its folder, URL or client. Storage constructors
    /// return the [`StorageError`]; `?` turns it into this.
    #[error("cannot set up a storage: {0}")]
    StorageSetup(#[source] Box<StorageError>),

    /// A storage failed to write, read or delete a content.
    #[error("storage `{storage}` failed to {operation} content `{key}` of manifest {manifest}: {source}")]
    Storage {
        /// `write`, `read`, `delete` or `check`.
        operation: &'static str,
        /// The storage's registered name.
        storage: String,
        /// The manifest the content belongs to.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The storage's error.
        #[source]
        source: Box<StorageError>,
    },

    /// A content's record is there but its storage no longer has the bytes: deleted by
    /// hand, or lost.
    #[error("content `{key}` of manifest {manifest} is missing from storage `{storage}`: its record is there but the storage has no bytes for it")]
    BlobMissing {
        /// The manifest the content belongs to.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The storage's registered name.
        storage: String,
    },

    /// Undoing a content's compression, or reading a format's pages, would pass the
    /// registry's limit ([`RegistryBuilder::max_decoded_size`](crate::RegistryBuilder::max_decoded_size)):
    /// the stored row, which says how large it is, is not trusted to.
    #[error("content `{key}` of manifest {manifest} in storage `{storage}` decodes to more than {limit} bytes, the registry's limit (`RegistryBuilder::max_decoded_size`)")]
    TooLarge {
        /// The manifest the content belongs to.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The storage it was read from.
        storage: String,
        /// The limit, in bytes.
        limit: u64,
    },

    /// A storage failed at housekeeping: listing or collecting its blobs.
    #[error("storage `{storage}` failed to {operation}: {source}")]
    Maintenance {
        /// The storage's registered name.
        storage: String,
        /// What it was doing.
        operation: &'static str,
        /// The storage's error.
        #[source]
        source: Box<StorageError>,
    },

    /// The bytes read back do not match the hash recorded when they were saved.
    #[error(
        "content `{key}` of manifest {manifest} in storage `{storage}` is corrupt: {mismatch}"
    )]
    HashMismatch {
        /// The manifest the content belongs to.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The storage it was read from.
        storage: String,
        /// The recorded and the actual hash and size.
        mismatch: Box<Mismatch>,
    },

    /// A field could not be serialized.
    #[error(
        "cannot serialize content `{key}` of manifest {manifest} with `{serializer}`: {source}"
    )]
    Serialize {
        /// The manifest being saved.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The serializer's name.
        serializer: String,
        /// The serializer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The stream a `ContentStream` was filled from yielded an error.
    #[error("the stream of {} failed: {source}", stream_place(.manifest, .key))]
    StreamSource {
        /// The manifest being saved, when the stream was being saved.
        manifest: Option<ManifestId>,
        /// The content's key, when the stream was being saved.
        key: Option<String>,
        /// The stream's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A `ContentStream` was saved a second time, or after it was closed or read to its
    /// end: saving consumes its items.
    #[error(
        "content `{key}` of manifest {manifest} is a stream that was already saved, closed \
         or read to its end; a `ContentStream` saves once, as saving consumes its items"
    )]
    StreamConsumed {
        /// The manifest being saved.
        manifest: ManifestId,
        /// The content's key.
        key: String,
    },

    /// A content is a stream where a value was expected, or the reverse.
    #[error("content `{key}` of manifest {manifest} {reason}")]
    StreamMismatch {
        /// The manifest being loaded.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// What does not fit.
        reason: &'static str,
    },

    /// A content could not be deserialized.
    #[error(
        "cannot deserialize content `{key}` of manifest {manifest} with `{serializer}`: {source}"
    )]
    Deserialize {
        /// The manifest being loaded.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The serializer's name.
        serializer: String,
        /// The serializer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A content's bytes could not be compressed, or what was stored could not be
    /// decompressed.
    #[error("cannot {action} content `{key}` of manifest {manifest} with {encoding}: {source}")]
    Encoding {
        /// `"compress"` or `"decompress"`.
        action: &'static str,
        /// The manifest being saved or loaded.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The encoding's name, such as `zstd`.
        encoding: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },

    /// A content was written by a serializer the field's serializer cannot read.
    #[error(
        "content `{key}` of manifest {manifest} was written by serializer `{stored}`, \
         which the field's serializer `{expected}` cannot read"
    )]
    SerializerMismatch {
        /// The manifest being loaded.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The serializer name recorded with the content.
        stored: String,
        /// The name of the serializer the field declares.
        expected: String,
    },

    /// A [`Query`](crate::Query) or a cursor is malformed.
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// No manifest has this id.
    #[error("manifest {0} does not exist")]
    ManifestNotFound(ManifestId),

    /// A content's key is not one lakery can store: an entry of a `#[content(each)]`
    /// field whose map key is empty, too long or holds control characters, or stored
    /// entries that do not rebuild the field.
    #[error("content `{key}` of manifest {manifest}: {reason}")]
    InvalidContentKey {
        /// The manifest being saved or loaded.
        manifest: ManifestId,
        /// The content's key, as far as it is known.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A manifest lacks a content its type needs.
    #[error("manifest {manifest} has no content `{key}`")]
    MissingContent {
        /// The manifest being loaded.
        manifest: ManifestId,
        /// The missing key.
        key: String,
    },

    /// A manifest was loaded as a type with another class id.
    #[error(
        "manifest {manifest} holds a value of class {found}, not `{expected_type}` (class {expected})"
    )]
    WrongClass {
        /// The manifest being loaded.
        manifest: ManifestId,
        /// The requested type's name.
        expected_type: &'static str,
        /// The requested type's class id.
        expected: ClassId,
        /// The class id recorded in the manifest.
        found: ClassId,
    },

    /// A manifest was saved by a version of the type this program cannot load.
    #[error(
        "manifest {manifest} was saved by version {stored} of `{type_name}` (class {class_id}), \
         but this program loads only {}{}", versions(.known), newer_hint(*.stored, .known)
    )]
    UnsupportedVersion {
        /// The manifest being loaded.
        manifest: ManifestId,
        /// The requested type's name.
        type_name: &'static str,
        /// The class id.
        class_id: ClassId,
        /// The version recorded in the manifest.
        stored: u32,
        /// The versions the type loads, oldest first; the last is its current version.
        known: Vec<u32>,
    },

    /// Migrating a stored value to the next version failed: the `TryFrom` conversion or
    /// the `migrate` hook returned an error.
    #[error(
        "manifest {manifest}: migrating `{type_name}` (class {class_id}) from version {from} to \
         version {to} failed: {source}"
    )]
    VersionMigration {
        /// The manifest being loaded.
        manifest: ManifestId,
        /// The type being migrated to.
        type_name: &'static str,
        /// The class id.
        class_id: ClassId,
        /// The version migrated from.
        from: u32,
        /// The version migrated to.
        to: u32,
        /// The conversion's or the hook's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A type was saved or loaded without being registered.
    #[error("`{type_name}` (class {class_id}) is not registered; add `.storable::<{type_name}>()` to the registry builder")]
    NotRegistered {
        /// The type's name.
        type_name: &'static str,
        /// Its class id.
        class_id: ClassId,
    },

    /// A content record names a storage this program has not configured.
    #[error("content `{key}` of manifest {manifest} is in storage `{storage}`, which this registry does not have; configure a storage of that name")]
    UnknownStorage {
        /// The manifest.
        manifest: ManifestId,
        /// The content's key.
        key: String,
        /// The storage name recorded.
        storage: String,
    },

    /// The registry builder found problems; every one is listed.
    #[error("the registry is not valid:{}", list(.0))]
    Registry(Vec<String>),

    /// A tag key or value is not acceptable.
    #[error("invalid tag {key:?}: {reason}")]
    InvalidTag {
        /// The tag key.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// A row in the database holds something lakery cannot read.
    #[error("manifest {manifest} has a corrupt record: {reason}")]
    CorruptRecord {
        /// The manifest.
        manifest: String,
        /// What could not be read.
        reason: String,
    },

    /// Some values of a batch failed; nothing of the batch was committed.
    #[error("{} of {} values in the batch failed and nothing was {}:{}", failed_values(.failures), .total, .action, list_failures(.failures))]
    Batch {
        /// `saved` or `loaded`.
        action: &'static str,
        /// How many values the batch held.
        total: usize,
        /// Every failure, by the index of the value in the batch.
        failures: Vec<BatchFailure>,
    },

    /// A blocking task panicked or was cancelled.
    #[error("a background task failed: {0}")]
    Task(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StorageError> for Error {
    fn from(error: StorageError) -> Self {
        Error::StorageSetup(Box::new(error))
    }
}

/// What a hash check found: the recorded digest and the one of the bytes read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The hash algorithm, `sha256` or `blake3`.
    pub algorithm: String,
    /// The recorded hash, in hex.
    pub expected: String,
    /// The hash of the bytes read, in hex.
    pub actual: String,
    /// The recorded size.
    pub expected_size: u64,
    /// The size of the bytes read.
    pub actual_size: u64,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "its {} hash is {} ({} bytes), but {} ({} bytes) was recorded when it was saved",
            self.algorithm, self.actual, self.actual_size, self.expected, self.expected_size
        )
    }
}

/// One failed value of a batch.
#[derive(Debug)]
pub struct BatchFailure {
    /// The position of the value in the batch, in the order it was added.
    pub index: usize,
    /// What went wrong.
    pub error: Error,
}

impl fmt::Display for BatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value #{}: {}", self.index, self.error)
    }
}

fn list(problems: &[String]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

/// How many values failed: a value can fail in more than one content.
fn failed_values(failures: &[BatchFailure]) -> usize {
    let mut indices: Vec<usize> = failures.iter().map(|f| f.index).collect();
    indices.sort_unstable();
    indices.dedup();
    indices.len()
}

fn list_failures(failures: &[BatchFailure]) -> String {
    failures.iter().map(|f| format!("\n  - {f}")).collect()
}

fn stream_place(manifest: &Option<ManifestId>, key: &Option<String>) -> String {
    match (manifest, key) {
        (Some(manifest), Some(key)) => format!("content `{key}` of manifest {manifest}"),
        _ => "a content stream".to_owned(),
    }
}

/// `version 3` or `versions 1, 2 and 3`.
fn versions(known: &[u32]) -> String {
    match known {
        [] => "no version".to_owned(),
        [one] => format!("version {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u32::to_string).collect();
            format!("versions {} and {last}", init.join(", "))
        }
    }
}

fn newer_hint(stored: u32, known: &[u32]) -> &'static str {
    match known.last() {
        Some(&current) if stored > current => {
            "; it was written by a newer program: load it with that program's type, or upgrade this one"
        }
        _ => "; add a `migrate_from` chain or a `migrate` hook that reaches it",
    }
}

impl Error {
    /// The error for a content whose bytes a storage failed to read: missing, when the
    /// storage says it has nothing under the content's config.
    pub(crate) fn reading(
        manifest: ManifestId,
        key: &str,
        storage: &str,
        source: StorageError,
    ) -> Error {
        if source.kind() == crate::error::storage::StorageErrorKind::NotFound {
            return Error::BlobMissing {
                manifest,
                key: key.to_owned(),
                storage: storage.to_owned(),
            };
        }
        Error::Storage {
            operation: "read",
            storage: storage.to_owned(),
            manifest,
            key: key.to_owned(),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_stay_small_enough_to_return_by_value() {
        assert!(
            std::mem::size_of::<super::Error>() <= 96,
            "{}",
            std::mem::size_of::<super::Error>()
        );
    }

    #[test]
    fn versions_read_as_a_list() {
        assert_eq!(super::versions(&[3]), "version 3");
        assert_eq!(super::versions(&[2, 3]), "versions 2 and 3");
        assert_eq!(super::versions(&[1, 2, 3]), "versions 1, 2 and 3");
    }
}
