//! `#[derive(Storable)]` on the shapes that must compile, and what the derived code then
//! does: each case is a module of this test, with a `compiles_and_runs` test of its own.
//! The shapes that must not compile, and their errors, are in `tests/ui.rs`.

#[path = "derive/body_only.rs"]
mod body_only;
#[path = "derive/const_serializer.rs"]
mod const_serializer;
#[path = "derive/contents_only.rs"]
mod contents_only;
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
#[path = "derive/skip_default.rs"]
mod skip_default;
#[path = "derive/streams.rs"]
mod streams;
