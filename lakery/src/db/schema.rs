//! The diesel schema of lakery's tables on each backend, as `migrations/` creates them,
//! and the rows lakery reads and writes.
//!
//! The three schemas have the same tables and columns and differ only in column types
//! (see [`types`](super::types)), so one macro writes each backend's module: its
//! `table!`s and the row structs bound to them. Code that runs on every backend names
//! `schema::lakery_manifests` and `schema::NewManifest` and is given one of the modules.

/// Declares `$name`, the insertable form of `rows::$name` for this backend's
/// `$table`, with the same fields, and the move from one to the other.
macro_rules! insertable {
    ($name:ident, $table:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Insertable)]
        #[diesel(table_name = $table, treat_none_as_default_value = false)]
        pub(crate) struct $name {
            $(pub $field: $ty,)*
        }

        impl From<rows::$name> for $name {
            fn from(row: rows::$name) -> Self {
                $name { $($field: row.$field,)* }
            }
        }
    };
}

/// Constants naming tuples of columns, each typed as the tuple it holds, so a column
/// list is written once.
macro_rules! columns {
    ($($(#[$doc:meta])* $name:ident = ($($column:path),+ $(,)?);)*) => {
        $(
            $(#[$doc])*
            pub(crate) const $name: ($($column,)+) = ($($column,)+);
        )*
    };
}

macro_rules! backend_schema {
    (uuid: $uuid:ident, json: $json:ident, time: $time:ident) => {
        use diesel::prelude::*;

        use crate::db::records as rows;
        use crate::db::types::{BlobBytes, DbTime, DbUuid, JsonText};

        diesel::table! {
            use diesel::sql_types::*;

            /// One row per saved value.
            lakery_manifests (id) {
                id -> $uuid,
                class_id -> $uuid,
                class_version -> Integer,
                tags -> $json,
                created_at -> $time,
                /// The manifest this one replaced when a rewrite migrated it.
                replaces -> Nullable<$uuid>,
            }
        }

        diesel::table! {
            use diesel::sql_types::*;

            /// One row per content of a saved value.
            lakery_contents (manifest_id, content_key) {
                manifest_id -> $uuid,
                content_key -> Text,
                content_type -> Text,
                encoding -> Nullable<Text>,
                hash -> Text,
                hash_algorithm -> Text,
                size -> BigInt,
                serializer_name -> Text,
                serializer_config -> Nullable<$json>,
                storage_name -> Text,
                storage_config -> $json,
                data -> Nullable<Binary>,
                tags -> $json,
                created_at -> $time,
            }
        }

        diesel::table! {
            use diesel::sql_types::*;

            /// One row per manifest tag, indexed by key and value, for queries.
            lakery_tags (manifest_id, tag_key) {
                manifest_id -> $uuid,
                tag_key -> Text,
                tag_value -> Text,
            }
        }

        // `lakery_manifests` a second time in one query: the manifests that replace others.
        diesel::alias! {
            pub(crate) const REPLACERS: Alias<Replacers> = lakery_manifests as replacers;
        }

        diesel::joinable!(lakery_contents -> lakery_manifests (manifest_id));
        diesel::joinable!(lakery_tags -> lakery_manifests (manifest_id));
        diesel::allow_tables_to_appear_in_same_query!(
            lakery_manifests,
            lakery_contents,
            lakery_tags
        );

        insertable!(NewManifest, lakery_manifests {
            id: DbUuid,
            class_id: DbUuid,
            class_version: i32,
            tags: JsonText,
            created_at: DbTime,
            replaces: Option<DbUuid>,
        });

        insertable!(NewContent, lakery_contents {
            manifest_id: DbUuid,
            content_key: String,
            content_type: String,
            encoding: Option<String>,
            hash: String,
            hash_algorithm: String,
            size: i64,
            serializer_name: String,
            serializer_config: Option<JsonText>,
            storage_name: String,
            storage_config: JsonText,
            data: Option<BlobBytes>,
            tags: JsonText,
            created_at: DbTime,
        });

        insertable!(NewTag, lakery_tags {
            manifest_id: DbUuid,
            tag_key: String,
            tag_value: String,
        });

        use lakery_manifests as m;
        use lakery_contents as c;

        columns! {
            /// The columns of [`rows::ManifestRow`], in its order.
            MANIFEST_ROW = (
                m::id, m::class_id, m::class_version, m::tags, m::created_at, m::replaces
            );
            /// The columns of [`rows::ManifestHead`].
            MANIFEST_HEAD = (m::id, m::class_id, m::class_version);
            /// The columns of [`rows::ContentRow`].
            CONTENT_ROW = (
                c::manifest_id, c::content_key, c::content_type, c::encoding, c::hash,
                c::hash_algorithm, c::size, c::serializer_name, c::serializer_config,
                c::storage_name, c::storage_config, c::tags, c::created_at
            );
            /// The columns of [`rows::StoredContentRow`].
            STORED_CONTENT = (
                c::content_key, c::content_type, c::encoding, c::hash, c::hash_algorithm,
                c::size, c::serializer_name, c::serializer_config, c::storage_name,
                c::storage_config, c::data
            );
        }
    };
}

/// SQLite: UUIDs and JSON as text, times as UTC text.
pub(crate) mod sqlite {
    backend_schema!(uuid: Text, json: Text, time: Timestamp);
}

/// PostgreSQL: native `uuid`, `jsonb` and `timestamptz`.
pub(crate) mod pg {
    backend_schema!(uuid: Uuid, json: Jsonb, time: Timestamptz);
}

/// MySQL and MariaDB: UUIDs as `CHAR(36)`, JSON as text, times as `DATETIME(6)` in UTC.
pub(crate) mod mysql {
    backend_schema!(uuid: Text, json: Text, time: Datetime);
}
