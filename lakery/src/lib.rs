//! lakery saves and loads heterogeneous data.
//!
//! Derive [`Storable`] on a struct: the fields without an attribute are serialized
//! together into one content, the *body*; each `#[content]` field becomes a content of
//! its own, with its own [serializer] and [storage]. Saving writes every
//! content to its storage, then commits one *manifest* per value, with one record per
//! content, to a relational [`Database`]. Loading reads the manifest, fetches the
//! contents, checks their hashes and rebuilds the struct.
//!
//! ```
//! use std::collections::BTreeMap;
//! use lakery::serializer::Bincode;
//! use lakery::{Database, FileStorage, Registry, Storable};
//!
//! #[derive(Storable, Debug, PartialEq)]
//! #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 1)]
//! struct Experiment {
//!     description: String,
//!     parameters: BTreeMap<String, f64>,
//!     #[content(serializer = Bincode, storage = "archive", tags(kind = "results"))]
//!     results: Vec<f64>,
//! }
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> lakery::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let archive = dir.path().join("archive");
//! let db = Database::connect("sqlite::memory:").await?;
//! db.migrate().await?;
//! let registry = Registry::builder()
//!     .storage("archive", FileStorage::new(&archive)?)
//!     .storable::<Experiment>()
//!     .build()?;
//!
//! let exp = Experiment {
//!     description: "baseline".into(),
//!     parameters: BTreeMap::from([("lr".into(), 0.01)]),
//!     results: vec![0.5, 0.25],
//! };
//! let record = lakery::save_one(&exp, &registry, &db).tags([("project", "p1")]).await?;
//! let back: Experiment = lakery::load_one(&record, &registry, &db).await?;
//! assert_eq!(back, exp);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

extern crate self as lakery;

// The modules by layer, each importing only from its own layer and those above it in
// this list (tests/layering.rs checks it; ARCHITECTURE.md draws it).

// 1. Model: what is stored and how it is named, hashed and encoded; the errors.
mod content_type;
mod encoding;
mod error;
mod hash;
mod id;
mod record;

// 2. Backends: where bytes go, how values become bytes, the database.
pub mod db;
mod durable;
pub mod serializer;
pub mod storage;

// 3. Codec: values into contents and back, streams, reading a content; and `probe`, the
// derive's checks, mounted under `__private` below.
mod body;
mod each;
mod fetch;
mod pack;
mod registry;
mod repack;
mod storable;
mod stream;

// 4. Flows: what a user calls.
mod inspect;
mod load;
mod maintenance;
pub mod migration;
mod save;

// 5. The crate's face: the re-exports below, the derive's names, the conformance kit.
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use lakery_derive::Storable;

pub use crate::content_type::{ContentType, ContentTypeError, Format};
pub use crate::db::{
    redact_url, Backend, Cursor, Database, Order, Page, Query, UnreadableManifest,
};
pub use crate::encoding::{Encoding, DEFAULT_MAX_DECODED_SIZE};
pub use crate::error::{BatchFailure, Error, Mismatch, Result};
pub use crate::hash::{Digest, Digester, HashAlgorithm};
pub use crate::id::ClassId;
pub use crate::id::ManifestId;
pub use crate::inspect::{read_content, stream_content, Chunks, ContentChunks, StoredBytes};
pub use crate::load::{load_one, LoadHandle, LoadedBatch, Loader};
pub use crate::maintenance::{
    collect_garbage, collect_garbage_with_progress, verify, verify_with_progress, CollectedBlob,
    GcOptions, GcReport, Problem, ProblemKind, Progress, VerifyReport,
};
pub use crate::record::{ContentRecord, ManifestRecord, ManifestRef, Tags};
pub use crate::registry::{Registry, RegistryBuilder, DEFAULT_STORAGE};
pub use crate::save::{save_one, SaveHandle, SaveOne, SavedBatch, Saver};
pub use crate::storable::{ContentSpec, Storable};
#[cfg(feature = "object-store")]
pub use crate::storage::ObjectStorage;
pub use crate::storage::{
    DatabaseStorage, FileStorage, MemoryStorage, Storage, DEFAULT_CONCURRENCY,
};
pub use crate::stream::ContentStream;
