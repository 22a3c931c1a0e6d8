//! The ids of what lakery stores: manifests and the classes (storable types) that
//! wrote them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of a manifest: a UUID of version 7, which begins with its creation time, so
/// ids sort in creation order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ManifestId(Uuid);

impl ManifestId {
    pub(crate) fn new() -> Self {
        ManifestId(Uuid::now_v7())
    }

    /// When the id was made, to the millisecond: the first 48 bits of a version-7 UUID.
    /// A manifest's `created_at` is this time, so id order is creation order.
    pub fn created_at(&self) -> DateTime<Utc> {
        let millis = self
            .0
            .get_timestamp()
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                secs as i64 * 1000 + i64::from(nanos / 1_000_000)
            })
            .unwrap_or(0);
        DateTime::from_timestamp_millis(millis).unwrap_or_default()
    }

    /// The id as a [`Uuid`].
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl From<Uuid> for ManifestId {
    fn from(uuid: Uuid) -> Self {
        ManifestId(uuid)
    }
}

impl FromStr for ManifestId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Uuid::parse_str(s).map(ManifestId)
    }
}

impl fmt::Display for ManifestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for ManifestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManifestId({})", self.0.hyphenated())
    }
}

/// The identity of a storable type: a UUID chosen once and kept forever.
///
/// The class id is what a manifest records, so renaming or moving the Rust type does not
/// orphan stored data. Generate one with `uuidgen` when you first derive [`Storable`](crate::Storable).
///
/// ```
/// let id = lakery::ClassId::parse("6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11").unwrap();
/// assert_eq!(id.to_string(), "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClassId(Uuid);

impl ClassId {
    /// Builds a class id from the 128 bits of its UUID; used by the derive, which
    /// checks the UUID at compile time.
    pub const fn from_u128(bits: u128) -> Self {
        ClassId(Uuid::from_u128(bits))
    }

    /// Parses a class id from its hyphenated UUID form.
    pub fn parse(text: &str) -> std::result::Result<Self, uuid::Error> {
        Uuid::parse_str(text).map(ClassId)
    }

    /// The class id's 128 bits; `const`, so the derive can compare class ids at compile
    /// time.
    pub const fn as_u128(&self) -> u128 {
        self.0.as_u128()
    }

    /// The class id as a [`Uuid`].
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for ClassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for ClassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClassId({})", self.0.hyphenated())
    }
}

impl From<Uuid> for ClassId {
    fn from(uuid: Uuid) -> Self {
        ClassId(uuid)
    }
}
