//! `#[derive(Storable)]` on the shapes that must compile, and what the derived code then
//! does: each case is a module of this test, with a `compiles_and_runs` test of its own
//! that saves a value of the shape and loads it back, so an expansion that compiles but
//! stores or rebuilds a field wrongly fails here at run time.
//! The shapes that must not compile, and their errors, are in `tests/ui.rs`.

#[path = "derive/body_only.rs"]
mod body_only;
#[path = "derive/const_serializer.rs"]
mod const_serializer;
#[path = "derive/contents_only.rs"]
mod contents_only;
#[path = "derive/crate_path.rs"]
mod crate_path;
#[path = "derive/custom_serializer.rs"]
mod custom_serializer;
#[path = "derive/generic_bounds.rs"]
mod generic_bounds;
#[path = "derive/migration.rs"]
mod migration;
#[path = "derive/mixed_tags_storage.rs"]
mod mixed_tags_storage;
#[path = "derive/raw_identifier.rs"]
mod raw_identifier;
#[path = "derive/self_in_fields.rs"]
mod self_in_fields;
#[path = "derive/shadowed_std_names.rs"]
mod shadowed_std_names;
#[path = "derive/skip_default.rs"]
mod skip_default;
#[path = "derive/streams.rs"]
mod streams;

use lakery::{Database, ManifestRecord, Registry, Storable};

/// A fresh in-memory SQLite database with lakery's schema. One backend suffices here:
/// what is under test is the derived packing and repacking, which is the same on every
/// database (the backends are compared by the `lakery` package's own tests).
async fn database() -> Database {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// Saves `value` through the derived `unpack` and loads it back through the derived
/// `repack`, as a user would; returns what came back and the record saved.
async fn round_trip<T: Storable>(
    registry: &Registry,
    db: &Database,
    value: &T,
) -> (T, ManifestRecord) {
    let record = lakery::save_one(value, registry, db).await.unwrap();
    let back = lakery::load_one::<T>(&record, registry, db).await.unwrap();
    (back, record)
}
