//! The hostile cases: what is damaged, and how, on each backend.
//!
//! A manifest or content row is damaged with an `UPDATE ... SET <damage>` in the
//! backend's own SQL; each column is made wrong in each way its type allows there
//! (SQLite keeps anything in any column; PostgreSQL's types refuse most of it). A blob
//! is damaged on disk; a bomb replaces a content's bytes with small ones that decode to
//! gigabytes, with a row whose hash and size match them (the attacker wrote the row).

use lakery::Backend;

/// One hostile case.
pub struct Case {
    pub name: &'static str,
    pub damage: Damage,
    /// Which reads must fail.
    pub level: Level,
}

/// The SQL of a damage on SQLite and on PostgreSQL; `None` where the column's type
/// does not allow it.
pub struct Sql {
    pub sqlite: Option<&'static str>,
    pub postgres: Option<&'static str>,
}

pub enum Damage {
    /// `UPDATE lakery_manifests SET ...` of the damaged manifest.
    Manifest(Sql),
    /// `UPDATE lakery_contents SET ...` of one content of the damaged manifest.
    Content { key: &'static str, sql: Sql },
    /// The bytes of a content in the file storage, changed on disk.
    Blob { key: &'static str, how: BlobDamage },
    /// A content's bytes replaced by a bomb, its row made to match.
    Bomb { key: &'static str, bomb: Bomb },
}

/// Which reads must fail; every read may fail, with an error naming the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing need fail: the column is not one reading relies on.
    Harmless,
    /// Loading the value from its manifest's row (a `Loader` by id).
    Row,
    /// Turning the content's bytes into a value (`load_one`, a `Loader`).
    Value,
    /// Decoding the content's bytes too (`StoredBytes::decoded`, a decoding stream).
    Decoded,
    /// Reading the content's stored bytes, and `verify`.
    Stored,
}

#[derive(Debug, Clone, Copy)]
pub enum BlobDamage {
    Deleted,
    Truncated,
    Extended,
    /// A symlink to a file outside the storage's root, in place of the blob.
    SymlinkOutside,
    /// A symlink to another blob of the same storage.
    SymlinkInside,
}

#[derive(Debug, Clone, Copy)]
pub enum Bomb {
    /// 1 GiB of zeros, zstd-compressed, under a content with `encoding = "zstd"`.
    Zstd,
    /// 1 GiB of zeros, gzip-compressed, under a content with `encoding = "gzip"`.
    Gzip,
    /// A Parquet file of 1,024 row groups of 64 Ki zeros each (512 MiB of Int64 once
    /// decoded, twice that once concatenated), each page and group within the caps.
    Parquet,
    /// A PNG of 20,000 x 20,000 grey pixels (400 MB once decoded) in a few hundred KB.
    Png,
    /// An Arrow IPC file whose batch's length prefix claims 2 GiB of metadata.
    ArrowMetadata,
}

impl Case {
    /// Whether the case can be made on `backend`.
    pub fn applies_to(&self, backend: Backend) -> bool {
        match &self.damage {
            Damage::Manifest(sql) | Damage::Content { sql, .. } => sql.on(backend).is_some(),
            Damage::Blob { .. } | Damage::Bomb { .. } => true,
        }
    }

    /// The key of the damaged content, if the damage is to a content.
    pub fn key(&self) -> Option<&'static str> {
        match self.damage {
            Damage::Manifest(_) => None,
            Damage::Content { key, .. } | Damage::Blob { key, .. } | Damage::Bomb { key, .. } => {
                Some(key)
            }
        }
    }

    /// Whether errors must name the content's storage: the damage is to its bytes.
    pub fn names_storage(&self) -> bool {
        matches!(self.damage, Damage::Blob { .. })
    }

    pub fn by_name(name: &str) -> Option<Case> {
        cases().into_iter().find(|case| case.name == name)
    }
}

impl Sql {
    pub fn on(&self, backend: Backend) -> Option<&'static str> {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
            _ => None,
        }
    }
}

type PerBackend = (Option<&'static str>, Option<&'static str>);

/// Damage written the same on both backends.
const fn both(set: &'static str) -> PerBackend {
    (Some(set), Some(set))
}

/// Damage only SQLite's columns take.
const fn sqlite_only(set: &'static str) -> PerBackend {
    (Some(set), None)
}

fn manifest(name: &'static str, (sqlite, postgres): PerBackend, level: Level) -> Case {
    Case {
        name,
        damage: Damage::Manifest(Sql { sqlite, postgres }),
        level,
    }
}

fn content(
    name: &'static str,
    key: &'static str,
    (sqlite, postgres): PerBackend,
    level: Level,
) -> Case {
    Case {
        name,
        damage: Damage::Content {
            key,
            sql: Sql { sqlite, postgres },
        },
        level,
    }
}

fn blob(name: &'static str, how: BlobDamage) -> Case {
    Case {
        name,
        damage: Damage::Blob { key: "data", how },
        level: Level::Stored,
    }
}

fn bomb(name: &'static str, key: &'static str, bomb: Bomb) -> Case {
    let level = match bomb {
        Bomb::Zstd | Bomb::Gzip => Level::Decoded,
        Bomb::Parquet | Bomb::Png | Bomb::ArrowMetadata => Level::Value,
    };
    Case {
        name,
        damage: Damage::Bomb { key, bomb },
        level,
    }
}

/// Every case, in the order they run.
pub fn cases() -> Vec<Case> {
    use Level::*;
    vec![
        // The manifest row. Loading a value by its record reads the class and version
        // from the row (a Loader by id) or trusts the record it was given (load_one);
        // time and tags are not what loading reads, so those may load.
        manifest(
            "created_at_not_a_time",
            sqlite_only("created_at = 'yesterday'"),
            Harmless,
        ),
        manifest(
            "created_at_an_integer",
            sqlite_only("created_at = 12345"),
            Harmless,
        ),
        manifest(
            "created_at_a_blob",
            sqlite_only("created_at = X'00ff'"),
            Harmless,
        ),
        manifest(
            "created_at_out_of_range",
            (
                Some("created_at = '99999-12-31 23:59:59'"),
                Some("created_at = 'infinity'"),
            ),
            Harmless,
        ),
        manifest(
            "class_id_not_a_uuid",
            sqlite_only("class_id = 'not a uuid'"),
            Row,
        ),
        manifest("class_id_a_blob", sqlite_only("class_id = X'00'"), Row),
        manifest(
            "class_id_unknown",
            both("class_id = '00000000-0000-0000-0000-000000000000'"),
            Row,
        ),
        manifest("version_negative", both("class_version = -1"), Row),
        manifest(
            "version_huge",
            (
                Some("class_version = 9223372036854775807"),
                Some("class_version = 2147483647"),
            ),
            Row,
        ),
        manifest("version_text", sqlite_only("class_version = 'one'"), Row),
        // SQLite reads 1.5 from an integer column as 1, a version that exists: nothing
        // is lost by loading it as that version.
        manifest("version_real", sqlite_only("class_version = 1.5"), Harmless),
        manifest("version_zero", both("class_version = 0"), Row),
        manifest("tags_not_json", sqlite_only("tags = '{'"), Harmless),
        manifest("tags_an_array", both("tags = '[1, 2]'"), Harmless),
        manifest("tags_null", both("tags = 'null'"), Harmless),
        manifest("tags_of_numbers", both("tags = '{\"kind\": 1}'"), Harmless),
        manifest(
            "tags_nested",
            both("tags = '{\"kind\": {\"a\": \"b\"}}'"),
            Harmless,
        ),
        manifest(
            "tags_control_characters",
            both("tags = '{\"\\u001b[2J\": \"\\u0007\\r\\n\"}'"),
            Harmless,
        ),
        manifest("tags_an_integer", sqlite_only("tags = 7"), Harmless),
        manifest(
            "replaces_not_a_uuid",
            sqlite_only("replaces = 'nope'"),
            Harmless,
        ),
        manifest(
            "replaces_nothing",
            both("replaces = '00000000-0000-0000-0000-000000000000'"),
            Harmless,
        ),
        // The content rows: sizes lying both ways.
        content("size_zero", "data", both("size = 0"), Stored),
        content("size_smaller", "data", both("size = size - 1"), Stored),
        content("size_larger", "data", both("size = size + 1"), Stored),
        content(
            "size_a_petabyte",
            "data",
            both("size = 1000000000000000"),
            Stored,
        ),
        content(
            "size_a_petabyte_in_the_database",
            "meta",
            both("size = 1000000000000000"),
            Stored,
        ),
        content(
            "size_a_petabyte_compressed",
            "packed",
            both("size = 1000000000000000"),
            Stored,
        ),
        content("size_negative", "data", both("size = -1"), Stored),
        content(
            "size_the_largest",
            "data",
            both("size = 9223372036854775807"),
            Stored,
        ),
        content("size_text", "data", sqlite_only("size = 'big'"), Stored),
        // Hashes.
        content(
            "hash_wrong",
            "data",
            both("hash = '0000000000000000000000000000000000000000000000000000000000000000'"),
            Stored,
        ),
        content(
            "hash_not_hex",
            "data",
            both("hash = 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'"),
            Stored,
        ),
        content("hash_too_short", "data", both("hash = 'abcd'"), Stored),
        content("hash_empty", "data", both("hash = ''"), Stored),
        content(
            "hash_algorithm_unknown",
            "data",
            both("hash_algorithm = 'md5'"),
            Stored,
        ),
        // Encodings, serializers, storages.
        content(
            "encoding_unknown",
            "data",
            both("encoding = 'brotli'"),
            Decoded,
        ),
        content(
            "encoding_not_what_is_stored",
            "data",
            both("encoding = 'zstd'"),
            Decoded,
        ),
        content(
            "encoding_gzip_for_zstd",
            "packed",
            both("encoding = 'gzip'"),
            Decoded,
        ),
        content(
            "serializer_unknown",
            "data",
            both("serializer_name = 'evil@v9'"),
            Value,
        ),
        content(
            "serializer_of_another_format",
            "table",
            both("serializer_name = 'lakery.png@v1'"),
            Value,
        ),
        content(
            "serializer_config_not_json",
            "data",
            sqlite_only("serializer_config = '{'"),
            Harmless,
        ),
        content(
            "serializer_config_junk",
            "data",
            both("serializer_config = '[1, \"x\"]'"),
            Harmless,
        ),
        content(
            "content_type_empty",
            "data",
            both("content_type = ''"),
            Harmless,
        ),
        content(
            "content_tags_an_array",
            "data",
            both("tags = '[1]'"),
            Harmless,
        ),
        content(
            "content_created_at_not_a_time",
            "data",
            sqlite_only("created_at = 'soon'"),
            Harmless,
        ),
        content(
            "storage_unknown",
            "data",
            both("storage_name = 'elsewhere'"),
            Stored,
        ),
        content(
            "storage_config_not_json",
            "data",
            sqlite_only("storage_config = 'nope'"),
            Stored,
        ),
        content(
            "storage_config_a_number",
            "data",
            both("storage_config = '42'"),
            Stored,
        ),
        content(
            "storage_config_without_path",
            "data",
            both("storage_config = '{}'"),
            Stored,
        ),
        content(
            "storage_config_path_a_number",
            "data",
            both("storage_config = '{\"path\": 7}'"),
            Stored,
        ),
        content(
            "storage_config_outside_the_root",
            "data",
            both("storage_config = '{\"path\": \"../../../../../../etc/passwd\"}'"),
            Stored,
        ),
        content(
            "storage_config_absolute",
            "data",
            both("storage_config = '{\"path\": \"/etc/passwd\"}'"),
            Stored,
        ),
        content(
            "storage_config_the_root",
            "data",
            both("storage_config = '{\"path\": \".\"}'"),
            Stored,
        ),
        content("database_data_null", "meta", both("data = NULL"), Stored),
        content(
            "database_data_text",
            "meta",
            sqlite_only("data = 'text, not bytes'"),
            Stored,
        ),
        content(
            "database_storage_for_a_file",
            "data",
            both("storage_name = 'default'"),
            Stored,
        ),
        // The blobs of a file storage.
        blob("blob_deleted", BlobDamage::Deleted),
        blob("blob_truncated", BlobDamage::Truncated),
        blob("blob_extended", BlobDamage::Extended),
        blob("blob_a_symlink_outside", BlobDamage::SymlinkOutside),
        blob("blob_a_symlink_inside", BlobDamage::SymlinkInside),
        // Bombs, with rows that match them.
        bomb("bomb_zstd", "packed", Bomb::Zstd),
        bomb("bomb_gzip", "gz", Bomb::Gzip),
        bomb("bomb_parquet", "table", Bomb::Parquet),
        bomb("bomb_png", "picture", Bomb::Png),
        bomb("bomb_arrow_metadata", "ipc", Bomb::ArrowMetadata),
    ]
}
