/// Keeps a content's bytes in the database, in the contents table, written in the same
/// transaction as its manifest.
///
/// This is the registry's default storage: for small contents (a JSON body of a few
/// kilobytes) one row is far cheaper than one file, and the manifest and its bytes
/// commit or roll back together. Send large contents to a [`FileStorage`] or an object
/// store with `#[content(storage = "...")]`.
///
/// [`FileStorage`]: crate::FileStorage
#[derive(Debug, Clone, Copy, Default)]
pub struct DatabaseStorage;

impl DatabaseStorage {
    /// The name under which every registry holds it.
    pub const NAME: &'static str = "database";
}
