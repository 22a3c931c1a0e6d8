//! The names `#[derive(Storable)]`'s generated code uses, re-exported from where they
//! live (as serde's `__private` does). Not public API: nothing here is covered by semver.

pub use serde;

pub use crate::body::Field;
pub use crate::each::EachContent;
pub use crate::pack::{UnpackedContent, Unpacker};
pub use crate::repack::{migrate_step, run_hook, unsupported_version, MigrateFrom, Repacker};

// The derive names std, core and serde items only through `prelude`, so a user's crate
// that defines its own `Result`, `Option` or `String` still compiles; and it checks each
// field once, at the user's token, through `probe`.

/// The std, core and serde names generated code uses, in a module of their own, apart
/// from lakery's names above.
pub mod prelude {
    pub use ::core::default::Default;
    pub use ::core::marker::{PhantomData, Send};
    pub use ::core::option::Option::{self, None, Some};
    pub use ::core::result::Result::{self, Err, Ok};
    pub use ::serde::de::DeserializeOwned;
    pub use ::serde::{Deserialize, Serialize};
    pub use ::std::boxed::Box;
    pub use ::std::string::String;
    pub use ::std::vec::Vec;
}

/// The derive's checks, one per field (`src/probe.rs`, a module of the codec layer).
pub mod probe;
