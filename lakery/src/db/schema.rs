//! The diesel schema of lakery's tables, as created by `migrations/`.

diesel::table! {
    /// One row per saved value.
    lakery_manifests (id) {
        id -> Text,
        class_id -> Text,
        class_version -> Integer,
        tags -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// One row per content of a saved value.
    lakery_contents (manifest_id, content_key) {
        manifest_id -> Text,
        content_key -> Text,
        content_type -> Text,
        encoding -> Nullable<Text>,
        hash -> Text,
        hash_algorithm -> Text,
        size -> BigInt,
        serializer_name -> Text,
        serializer_config -> Nullable<Text>,
        storage_name -> Text,
        storage_config -> Text,
        data -> Nullable<Binary>,
        tags -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(lakery_contents -> lakery_manifests (manifest_id));
diesel::allow_tables_to_appear_in_same_query!(lakery_manifests, lakery_contents);
