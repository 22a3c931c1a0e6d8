//! The names of the derive's attributes and their keys, in one place.

use std::fmt::{self, Display};

use syn::{Ident, Path};

#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Symbol(pub &'static str);

/// `#[storable(...)]`, on the struct and on fields.
pub const STORABLE: Symbol = Symbol("storable");
/// `#[content(...)]`, on fields.
pub const CONTENT: Symbol = Symbol("content");

pub const CLASS_ID: Symbol = Symbol("class_id");
pub const VERSION: Symbol = Symbol("version");
pub const SERIALIZER: Symbol = Symbol("serializer");
pub const MIGRATE_FROM: Symbol = Symbol("migrate_from");
pub const MIGRATE: Symbol = Symbol("migrate");
pub const SKIP: Symbol = Symbol("skip");
pub const STORAGE: Symbol = Symbol("storage");
pub const TAGS: Symbol = Symbol("tags");
pub const ENCODING: Symbol = Symbol("encoding");
pub const EACH: Symbol = Symbol("each");
pub const NESTED: Symbol = Symbol("nested");
/// `crate = "path"`: where a crate that re-exports lakery has it.
pub const CRATE: Symbol = Symbol("crate");

/// The key of the content that holds every field without `#[content]`.
pub const BODY_KEY: &str = "body";

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(self.0)
    }
}
