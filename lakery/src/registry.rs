//! The [`Registry`]: the storages and storable types a program knows, checked once.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::encoding::DEFAULT_MAX_DECODED_SIZE;
use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;
use crate::id::ClassId;
use crate::storable::{ContentSpec, Storable};
use crate::storage::{DatabaseStorage, IntoStorage, StorageEntry};

/// The name under which [`RegistryBuilder::default_storage`] registers its storage.
pub const DEFAULT_STORAGE: &str = "default";

/// What the registry knows of one storable type.
#[derive(Debug)]
pub(crate) struct StorableInfo {
    pub type_name: &'static str,
    pub class_id: ClassId,
    pub version: u32,
}

/// The storages and storable types a program knows, by name.
///
/// Built once with [`Registry::builder`], which checks that every storage a registered
/// type names exists, so a missing one is reported at start-up rather than mid-save.
///
/// ```
/// use lakery::{MemoryStorage, Registry, Storable};
///
/// #[derive(Storable)]
/// #[storable(class_id = "2b0f7c52-40c8-4f55-9d4e-7d1c6f4f0a01")]
/// struct Note {
///     text: String,
///     #[content(storage = "blobs")]
///     attachment: Vec<u8>,
/// }
///
/// let registry = Registry::builder()
///     .storage("blobs", MemoryStorage::new())
///     .storable::<Note>()
///     .build()
///     .unwrap();
/// assert!(registry.storage_names().any(|name| name == "blobs"));
///
/// // Without the storage it names, `Note` is refused at build time:
/// let error = Registry::builder().storable::<Note>().build().unwrap_err();
/// assert!(error.to_string().contains("storage `blobs`"));
/// ```
pub struct Registry {
    storages: HashMap<String, StorageEntry>,
    default_storage: &'static str,
    storables: HashMap<TypeId, Arc<StorableInfo>>,
    hash_algorithm: HashAlgorithm,
    max_decoded_size: u64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("storages", &self.storages.keys().collect::<Vec<_>>())
            .field("default_storage", &self.default_storage)
            .field(
                "storables",
                &self
                    .storables
                    .values()
                    .map(|s| s.type_name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    /// Starts a registry. It always holds [`DatabaseStorage`] under the name
    /// `database`, which is also the default storage until
    /// [`default_storage`](RegistryBuilder::default_storage) names another.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The names of its storages.
    pub fn storage_names(&self) -> impl Iterator<Item = &str> {
        self.storages.keys().map(String::as_str)
    }

    /// The storage a content of `spec` goes to.
    pub(crate) fn storage_of(&self, spec: &ContentSpec) -> &'static str {
        spec.storage.unwrap_or(self.default_storage)
    }

    /// The name of the storage that contents without `storage = "..."` go to.
    pub fn default_storage_name(&self) -> &str {
        self.default_storage
    }

    /// The hash algorithm of the contents it saves.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash_algorithm
    }

    /// How large a content may be once its compression is undone.
    pub fn max_decoded_size(&self) -> u64 {
        self.max_decoded_size
    }

    pub(crate) fn storage(&self, name: &str) -> Option<&StorageEntry> {
        self.storages.get(name)
    }

    pub(crate) fn storable<T: Storable>(&self) -> Result<&Arc<StorableInfo>> {
        self.storables
            .get(&TypeId::of::<T>())
            .ok_or(Error::NotRegistered {
                type_name: T::type_name(),
                class_id: T::CLASS_ID,
            })
    }
}

type StorableCheck =
    fn(&mut Vec<String>, &HashMap<String, StorageEntry>, &'static str) -> Option<StorableInfo>;

/// Builds a [`Registry`]; see there.
#[derive(Default)]
#[must_use = "call `.build()` to get the registry"]
pub struct RegistryBuilder {
    storages: Vec<(String, StorageEntry)>,
    default_storage: Option<StorageEntry>,
    storables: Vec<(TypeId, StorableCheck)>,
    hash_algorithm: HashAlgorithm,
    max_decoded_size: Option<u64>,
}

impl RegistryBuilder {
    /// Sets the storage for contents that name none, registered as `default`.
    pub fn default_storage(mut self, storage: impl IntoStorage) -> Self {
        self.default_storage = Some(storage.into_entry().0);
        self
    }

    /// Adds a storage under `name`, for `#[content(storage = "name")]`.
    pub fn storage(mut self, name: impl Into<String>, storage: impl IntoStorage) -> Self {
        self.storages.push((name.into(), storage.into_entry().0));
        self
    }

    /// Sets the hash algorithm of the contents saved from now on: SHA-256 unless set.
    /// Each content records its algorithm, so contents hashed either way load alike.
    ///
    /// BLAKE3 pays off for contents of hundreds of megabytes, where SHA-256 (about 1.5
    /// to 2 GB/s on one core) can be slower than the disk.
    ///
    /// ```
    /// use lakery::{HashAlgorithm, Registry};
    ///
    /// let registry = Registry::builder()
    ///     .hash_algorithm(HashAlgorithm::Blake3)
    ///     .build()?;
    /// assert_eq!(registry.hash_algorithm(), HashAlgorithm::Blake3);
    /// # Ok::<(), lakery::Error>(())
    /// ```
    pub fn hash_algorithm(mut self, algorithm: HashAlgorithm) -> Self {
        self.hash_algorithm = algorithm;
        self
    }

    /// Sets how large a compressed content may become when a load undoes its
    /// compression: [`DEFAULT_MAX_DECODED_SIZE`](crate::DEFAULT_MAX_DECODED_SIZE), 1 GiB, unless set. Past it the load
    /// fails with [`Error::TooLarge`](crate::Error::TooLarge).
    ///
    /// A content's row records its compressed size only, and rows are untrusted: a few
    /// kilobytes of zstd can claim gigabytes. The limit bounds what one content can make
    /// a load allocate. Streams are undone a bounded piece at a time and need no limit.
    pub fn max_decoded_size(mut self, bytes: u64) -> Self {
        self.max_decoded_size = Some(bytes);
        self
    }

    /// Adds a storable type. Saving or loading a type not added is an error.
    pub fn storable<T: Storable>(mut self) -> Self {
        self.storables
            .push((TypeId::of::<T>(), check_storable::<T>));
        self
    }

    /// Checks everything and builds the registry, reporting every problem at once:
    /// storages named by a storable but not configured, storage names given twice or
    /// reserved, two types with the same class id and version.
    pub fn build(self) -> Result<Registry> {
        let mut problems = Vec::new();
        let mut storages = HashMap::new();
        storages.insert(DatabaseStorage::NAME.to_owned(), StorageEntry::Database);
        let default_storage = match self.default_storage {
            Some(entry) => {
                storages.insert(DEFAULT_STORAGE.to_owned(), entry);
                DEFAULT_STORAGE
            }
            None => DatabaseStorage::NAME,
        };
        for (name, entry) in self.storages {
            if name.is_empty() || name.chars().any(char::is_control) {
                problems.push(format!(
                    "storage name {name:?} must be non-empty and free of control characters"
                ));
            } else if name == DatabaseStorage::NAME
                || (name == DEFAULT_STORAGE && default_storage == DEFAULT_STORAGE)
            {
                problems.push(format!(
                    "storage name `{name}` is reserved{}",
                    if name == DEFAULT_STORAGE {
                        " for `.default_storage(...)`"
                    } else {
                        " for the database storage"
                    }
                ));
            } else if storages.insert(name.clone(), entry).is_some() {
                problems.push(format!("storage `{name}` is added twice"));
            }
        }

        let mut storables = HashMap::new();
        let mut classes: BTreeMap<(ClassId, u32), &'static str> = BTreeMap::new();
        for (type_id, check) in self.storables {
            if storables.contains_key(&type_id) {
                continue;
            }
            let Some(info) = check(&mut problems, &storages, default_storage) else {
                continue;
            };
            if let Some(other) = classes.insert((info.class_id, info.version), info.type_name) {
                problems.push(format!(
                    "`{}` and `{other}` both claim class {} version {}; give each type its own class id",
                    info.type_name, info.class_id, info.version
                ));
            }
            storables.insert(type_id, Arc::new(info));
        }

        if problems.is_empty() {
            Ok(Registry {
                storages,
                default_storage,
                storables,
                hash_algorithm: self.hash_algorithm,
                max_decoded_size: self.max_decoded_size.unwrap_or(DEFAULT_MAX_DECODED_SIZE),
            })
        } else {
            Err(Error::Registry(problems))
        }
    }
}

/// Reports every content of `specs`, nested ones included, whose storage is not
/// configured.
fn check_storages(
    problems: &mut Vec<String>,
    storages: &HashMap<String, StorageEntry>,
    default_storage: &'static str,
    specs: &[ContentSpec],
    prefix: &str,
    type_name: &str,
) {
    for spec in specs {
        if let Some(nested) = spec.nested {
            let prefix = format!("{prefix}{}.", spec.key);
            check_storages(
                problems,
                storages,
                default_storage,
                nested,
                &prefix,
                type_name,
            );
        }
        let name = spec.storage.unwrap_or(default_storage);
        if !storages.contains_key(name) {
            let mut known: Vec<_> = storages.keys().map(|k| format!("`{k}`")).collect();
            known.sort();
            problems.push(format!(
                "content `{prefix}{}` of `{type_name}` names storage `{name}`, which is not configured (configured: {}); add `.storage(\"{name}\", ...)`",
                spec.key,
                known.join(", ")
            ));
        }
    }
}

fn check_storable<T: Storable>(
    problems: &mut Vec<String>,
    storages: &HashMap<String, StorageEntry>,
    default_storage: &'static str,
) -> Option<StorableInfo> {
    let before = problems.len();
    if T::VERSION == 0 || i32::try_from(T::VERSION).is_err() {
        problems.push(format!(
            "`{}` has version {}; versions go from 1 to {}",
            T::type_name(),
            T::VERSION,
            i32::MAX
        ));
    }
    check_storages(
        problems,
        storages,
        default_storage,
        T::CONTENTS,
        "",
        T::type_name(),
    );
    (problems.len() == before).then(|| StorableInfo {
        type_name: T::type_name(),
        class_id: T::CLASS_ID,
        version: T::VERSION,
    })
}
