//! The names `#[derive(Storable)]`'s generated code uses, re-exported from where they
//! live (as serde's `__private` does). Not public API: nothing here is covered by semver.

pub use serde;

pub use crate::body::{assert_body_field, BodyField, Field};
pub use crate::each::EachContent;
pub use crate::pack::{UnpackedContent, Unpacker};
pub use crate::repack::{migrate_step, run_hook, unsupported_version, MigrateFrom, Repacker};
