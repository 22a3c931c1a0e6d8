use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::stream::StreamExt;
use serde_json::{json, Value};

use super::{
    ByteStream, Storage, StorageError, StorageErrorKind, StoredBlob, StreamWriteRequest,
    WriteRequest,
};
use crate::durable;
use crate::error::Result;
use crate::hash::{Digest, HashPipe};

/// How many bytes a streamed read hands out at a time.
const READ_CHUNK: usize = 1 << 20;
/// How many chunks of a streamed write wait for the writing thread, at most.
const WRITE_AHEAD: usize = 16;
/// How many bytes a streamed write writes before it asks the kernel to start writing
/// them to disk, so that the fsync at the end finds little left to do.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// Starts writing `len` bytes of `file` from `offset` to disk without waiting: a hint,
/// whose failure only leaves more to the final fsync.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the call's duration (borrowed from `file`),
    // and sync_file_range reads no memory of ours.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

/// Keeps contents as files under a root folder, content-addressed by their hash (SHA-256,
/// or BLAKE3 when the registry saves with it): identical contents are stored once, at
/// `<root>/<first two hex digits>/<hash>`.
///
/// A write goes to a temporary file in the root, is fsynced, and is renamed into place
/// (then the folder is fsynced), so a file at its final name is always complete and a
/// crash leaves at most a stray temporary file, removed by [`FileStorage::new`] once it
/// is a day old. The recorded config is the path relative
/// to the root (`{"path": "ab/ab12..."}`), so the folder can be moved; configs read back
/// are checked against that layout and refused if they would reach outside the root.
///
/// Tags are not kept: a file system has nowhere to put them.
///
/// ```
/// # fn main() -> lakery::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let storage = lakery::FileStorage::new(dir.path().join("data"))?;
/// assert!(storage.root().ends_with("data"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileStorage {
    root: Arc<PathBuf>,
    /// False when opened with [`FileStorage::read_only`]: writes and deletes are refused.
    writable: bool,
}

const TEMP_PREFIX: &str = ".lakery-tmp-";

/// A lock file in the root: writers hold it shared while they move a content into
/// place, garbage collection exclusively while it checks a file's age and deletes it,
/// so a content written again meanwhile is never deleted. It is never removed: a new
/// file would be a different lock.
const LOCK_FILE: &str = ".lakery-lock";

/// A temporary file older than this belongs to a write that died with its process.
const STALE_TEMP_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Removes temporary files left by writes that crashed, if they are older than `age`;
/// younger ones may belong to a write still running in another process. Best effort: a
/// file that cannot be removed now is tried again next time.
fn remove_stale_temp_files(root: &Path, age: Duration) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let is_temp = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(TEMP_PREFIX));
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > age);
        if is_temp && stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

impl FileStorage {
    /// A storage rooted at `root`, created if missing.
    pub fn new(root: impl AsRef<Path>) -> Result<Self, StorageError> {
        let root = root.as_ref();
        let setup = |source| {
            StorageError::io(
                format!("cannot open storage at `{}`", root.display()),
                source,
            )
        };
        fs::create_dir_all(root).map_err(setup)?;
        let root = root.canonicalize().map_err(setup)?;
        remove_stale_temp_files(&root, STALE_TEMP_AGE);
        open_lock(&root).map_err(setup)?;
        Ok(FileStorage {
            root: Arc::new(root),
            writable: true,
        })
    }

    /// A storage rooted at `root` that only reads: the folder must exist, and nothing in
    /// it is created, changed or removed (no lock file, no clean-up of old temporary
    /// files), so it works on read-only media and a mistyped path is an error at once
    /// rather than a new empty storage. Writes and deletes fail.
    pub fn read_only(root: impl AsRef<Path>) -> Result<Self, StorageError> {
        let root = root.as_ref();
        let setup = |source| {
            StorageError::io(
                format!("cannot open storage at `{}`", root.display()),
                source,
            )
        };
        let root = root.canonicalize().map_err(setup)?;
        if !root.is_dir() {
            return Err(StorageError::new(
                StorageErrorKind::InvalidConfig,
                format!("cannot open storage at `{}`: not a folder", root.display()),
            ));
        }
        Ok(FileStorage {
            root: Arc::new(root),
            writable: false,
        })
    }

    /// The error for a write or delete on a storage opened read-only.
    fn check_writable(&self, operation: &str) -> Result<(), StorageError> {
        if self.writable {
            return Ok(());
        }
        Err(StorageError::new(
            StorageErrorKind::PermissionDenied,
            format!(
                "cannot {operation}: the storage at `{}` was opened read-only",
                self.root.display()
            ),
        ))
    }

    /// Checks `config` and opens the content file it names, on the blocking pool, then
    /// runs `op` on the file, its length and its relative path.
    async fn open_blocking<T: Send + 'static>(
        &self,
        config: &Value,
        op: impl FnOnce(File, u64, &str) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let relative = self.relative(config)?.to_owned();
        let root = self.root.clone();
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let (file, len) = open_blob(&root, &relative, &config)?;
            op(file, len, &relative)
        })
        .await
        .map_err(|e| StorageError::new(StorageErrorKind::Other, format!("task failed: {e}")))?
    }

    /// The root folder, canonicalized.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `config` and runs `op` on its path, both on the blocking pool: resolving
    /// follows symlinks, which is file system work too.
    async fn blocking<T: Send + 'static>(
        &self,
        config: &Value,
        op: impl FnOnce(&Path) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let storage = self.clone();
        let config = config.clone();
        tokio::task::spawn_blocking(move || op(&storage.resolve(&config)?))
            .await
            .map_err(|e| StorageError::new(StorageErrorKind::Other, format!("task failed: {e}")))?
    }

    /// Moves a written and fsynced temporary file to the place its digest names, and
    /// returns its config.
    async fn persist(
        &self,
        temp: tempfile::TempPath,
        digest: &Digest,
    ) -> Result<Value, StorageError> {
        let expected_size = digest.size;
        let hex = digest.hex();
        let relative = format!("{}/{}", &hex[..2], hex);
        let root = self.root.clone();
        let relative_for_task = relative.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StorageError> {
            let dir = root.join(&relative_for_task[..2]);
            let target = root.join(&relative_for_task);
            let io = |what: &str, path: &Path, e| {
                StorageError::io(format!("cannot {what} {}", path.display()), e)
            };
            fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
            let lock_path = root.join(LOCK_FILE);
            let lock = open_lock(&root).map_err(|e| io("open", &lock_path, e))?;
            lock.lock_shared().map_err(|e| io("lock", &lock_path, e))?;
            // The new bytes are written and fsynced already, so they replace whatever is
            // at the target: identical bytes if the content was stored before, or a file
            // damaged since, which must not be trusted for the new manifest.
            let temp_path = temp.to_path_buf();
            if let Err(e) = temp.persist(&target) {
                // Some platforms refuse to replace a file that is open; an existing file of
                // the right size is then the same content.
                let size = fs::metadata(&target).map(|m| m.len()).ok();
                if size != Some(expected_size) {
                    return Err(io("move the content to", &target, e.error));
                }
                // It is written again as far as garbage collection is concerned.
                File::options()
                    .write(true)
                    .open(&target)
                    .and_then(|file| file.set_modified(SystemTime::now()))
                    .map_err(|e| io("touch", &target, e))?;
            } else {
                durable::renamed(&temp_path, &target);
            }
            drop(lock);
            // Every writer syncs both folders, also when another writer created them or
            // the file: a save returns only once its file's name is durable.
            durable::sync_dir(&dir).map_err(|e| io("fsync", &dir, e))?;
            durable::sync_dir(&root).map_err(|e| io("fsync", &root, e))
        })
        .await
        .map_err(|e| {
            StorageError::new(StorageErrorKind::Other, format!("write task failed: {e}"))
        })??;
        Ok(json!({ "path": relative }))
    }

    /// The relative path a config read from the database names, if it has this
    /// storage's layout.
    fn relative<'c>(&self, config: &'c Value) -> Result<&'c str, StorageError> {
        let relative = config.get("path").and_then(Value::as_str).ok_or_else(|| {
            StorageError::invalid_config(config, "expected {\"path\": \"<relative path>\"}")
        })?;
        if !is_blob_path(relative) {
            return Err(StorageError::invalid_config(
                config,
                "the path is not a content path of this storage (`<2 hex>/<64 hex>`); refusing to leave the storage root",
            ));
        }
        Ok(relative)
    }

    /// Resolves a config read from the database to a path inside the root.
    fn resolve(&self, config: &Value) -> Result<PathBuf, StorageError> {
        let path = self.root.join(self.relative(config)?);
        // The layout check rules out `..` and absolute paths; a symlink planted under the
        // root could still point elsewhere, so resolve it and check again.
        match path.canonicalize() {
            Ok(real) if !real.starts_with(&*self.root) => Err(StorageError::invalid_config(
                config,
                format!(
                    "{} resolves outside the storage root {}",
                    path.display(),
                    self.root.display()
                ),
            )),
            _ => Ok(path),
        }
    }
}

/// Opens the content file at `relative` (checked to be `<2 hex>/<64 hex>`) under
/// `root` for reading, with its length. Each step is opened from the folder before it
/// without following a symlink, so a link planted or swapped in under the root is
/// refused rather than followed, whenever it appears; anything but a regular file is
/// refused too (a FIFO would block a read forever, a device never end).
fn open_blob(root: &Path, relative: &str, config: &Value) -> Result<(File, u64), StorageError> {
    let what = |e: std::io::Error| {
        if is_refused_link(&e) {
            return StorageError::invalid_config(
                config,
                "a symlink, or a file where a folder should be, under the storage root; \
                 refusing to follow it",
            );
        }
        StorageError::io(format!("cannot open `{relative}`"), e)
    };
    let file = open_no_follow(root, relative).map_err(what)?;
    let metadata = file.metadata().map_err(what)?;
    if !metadata.is_file() {
        return Err(StorageError::invalid_config(config, "not a regular file"));
    }
    Ok((file, metadata.len()))
}

/// Whether opening failed because a step is a symlink: `O_NOFOLLOW` gives ELOOP, and
/// ENOTDIR with `O_DIRECTORY` (as it does for a file in a folder's place).
#[cfg(unix)]
fn is_refused_link(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    let code = e.raw_os_error();
    code == Some(Errno::LOOP.raw_os_error()) || code == Some(Errno::NOTDIR.raw_os_error())
}

#[cfg(not(unix))]
fn is_refused_link(_: &std::io::Error) -> bool {
    false
}

#[cfg(unix)]
fn open_no_follow(root: &Path, relative: &str) -> std::io::Result<File> {
    use rustix::fs::{openat, Mode, OFlags, CWD};
    let (dir, name) = relative.split_at(2);
    let name = &name[1..];
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = openat(CWD, root, flags | OFlags::DIRECTORY, Mode::empty())?;
    let dir = openat(&root, dir, flags | OFlags::DIRECTORY, Mode::empty())?;
    // Non-blocking, so that opening a FIFO returns at once, to be refused as not a file.
    let file = openat(&dir, name, flags | OFlags::NONBLOCK, Mode::empty())?;
    Ok(File::from(file))
}

/// Elsewhere the path is resolved and checked first, which a swap in between can beat.
#[cfg(not(unix))]
fn open_no_follow(root: &Path, relative: &str) -> std::io::Result<File> {
    let path = root.join(relative);
    let real = path.canonicalize()?;
    if !real.starts_with(root) {
        return Err(std::io::Error::other(
            "the path resolves outside the storage root",
        ));
    }
    File::open(real)
}

/// `ab/ab…` with 64 lowercase hex digits whose first two name the folder.
pub(super) fn is_blob_path(relative: &str) -> bool {
    let path = Path::new(relative);
    let parts: Vec<_> = path.components().collect();
    let [Component::Normal(dir), Component::Normal(name)] = parts.as_slice() else {
        return false;
    };
    let (Some(dir), Some(name)) = (dir.to_str(), name.to_str()) else {
        return false;
    };
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    relative.len() == 67 && name.len() == 64 && hex(name) && name.starts_with(dir) && dir.len() == 2
}

/// Opens (creating if need be) the storage's lock file; the lock is taken on the
/// returned handle and released when it is dropped.
fn open_lock(root: &Path) -> std::io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(root.join(LOCK_FILE))
}

/// Runs `work` on a new thread named `name`, for work that waits on other work and must
/// not hold one of the blocking pool's threads while it does.
fn on_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<tokio::sync::oneshot::Receiver<T>, StorageError> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|e| StorageError::io(format!("cannot start a thread for {name}"), e))?;
    Ok(result)
}

/// A new temporary file in the storage's root, named so that a restart can tell it from
/// the contents and clean it up.
fn temp_file(root: &Path) -> Result<tempfile::NamedTempFile, StorageError> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(root)
        .map_err(|e| {
            StorageError::io(
                format!("cannot create a temporary file in {}", root.display()),
                e,
            )
        })
}

#[async_trait::async_trait]
impl Storage for FileStorage {
    async fn write(&self, request: WriteRequest<'_>) -> Result<Value, StorageError> {
        self.check_writable("write")?;
        let root = self.root.clone();
        let data = request.data().clone();
        // Write and fsync the temporary file while the digest is computed elsewhere.
        let temp =
            tokio::task::spawn_blocking(move || -> Result<tempfile::TempPath, StorageError> {
                let mut file = temp_file(&root)?;
                let path = file.path().display().to_string();
                file.write_all(&data)
                    .map_err(|e| StorageError::io(format!("cannot write {path}"), e))?;
                durable::sync_file(file.as_file(), file.path())
                    .map_err(|e| StorageError::io(format!("cannot fsync {path}"), e))?;
                Ok(file.into_temp_path())
            })
            .await
            .map_err(|e| {
                StorageError::new(StorageErrorKind::Other, format!("write task failed: {e}"))
            })??;

        let digest = request.digest().await?;
        self.persist(temp, &digest).await
    }

    async fn write_stream(
        &self,
        request: StreamWriteRequest<'_>,
    ) -> Result<(Value, Digest), StorageError> {
        self.check_writable("write")?;
        let root = self.root.clone();
        let digester = request.digester();
        let mut chunks = request.into_stream();
        // The chunks are written and fsynced on a thread of their own while another
        // hashes them; a few in flight at most, so memory stays bounded however long the
        // stream. Threads of their own rather than the blocking pool: each waits on the
        // other's progress, and a pool with one free thread would run one and starve the
        // other.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Option<Bytes>>(WRITE_AHEAD);
        let writer = on_thread("lakery-file-write", move || {
            let mut file = temp_file(&root)?;
            let path = file.path().display().to_string();
            let mut written = 0u64;
            let mut flushed = 0u64;
            loop {
                match receiver.blocking_recv() {
                    Some(Some(chunk)) => {
                        file.write_all(&chunk)
                            .map_err(|e| StorageError::io(format!("cannot write {path}"), e))?;
                        written += chunk.len() as u64;
                        if written - flushed >= WRITEBACK_EVERY {
                            start_writeback(file.as_file(), flushed, written - flushed);
                            flushed = written;
                        }
                    }
                    // The stream ended: make the file durable.
                    Some(None) => break,
                    // The stream failed: the temporary file goes.
                    None => return Ok(None),
                }
            }
            durable::sync_file(file.as_file(), file.path())
                .map_err(|e| StorageError::io(format!("cannot fsync {path}"), e))?;
            Ok(Some(file.into_temp_path()))
        })?;
        let mut hasher = HashPipe::new(digester);
        let mut failed = None;
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(chunk) => {
                    hasher.update(chunk.clone()).await;
                    // A writer that stopped has an error of its own, returned below.
                    if sender.send(Some(chunk)).await.is_err() {
                        break;
                    }
                }
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
        }
        if failed.is_none() {
            // Tells the writer the stream is complete; a writer already stopped on an
            // error reports it below.
            let _ = sender.send(None).await;
        }
        drop(sender);
        let written = writer.await.map_err(|_| {
            StorageError::new(
                StorageErrorKind::Other,
                "the write thread stopped unexpectedly",
            )
        })?;
        let digest = hasher
            .finish()
            .await
            .map_err(|e| StorageError::io("cannot hash the stream", e))?;
        if let Some(error) = failed {
            return Err(error);
        }
        let temp = written?.ok_or_else(|| {
            StorageError::new(
                StorageErrorKind::Other,
                "the write stopped before the stream's end",
            )
        })?;
        let config = self.persist(temp, &digest).await?;
        Ok((config, digest))
    }

    async fn read_range(
        &self,
        config: &Value,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StorageError> {
        let wanted = range.clone();
        let data = self
            .open_blocking(config, move |mut file, _, relative| {
                let mut data = Vec::new();
                std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(wanted.start))
                    .and_then(|_| {
                        (&mut file)
                            .take(wanted.end.saturating_sub(wanted.start))
                            .read_to_end(&mut data)
                    })
                    .map_err(|e| StorageError::io(format!("cannot read `{relative}`"), e))?;
                Ok(data)
            })
            .await?;
        super::check_range(&range, data.len())?;
        Ok(data.into())
    }

    async fn read_stream(&self, config: &Value) -> Result<ByteStream, StorageError> {
        let file = self
            .open_blocking(config, |file, _, relative| {
                Ok((file, format!("`{relative}`")))
            })
            .await?;
        // Each chunk is read by a short task on the blocking pool, the next one started
        // as soon as the last is handed out: one chunk of read-ahead, and no thread held
        // while the reader is idle. Dropping the stream drops the file once the read in
        // flight, if any, ends.
        let (file, path) = file;
        let path: Arc<str> = path.into();
        let read = |mut file: File, path: Arc<str>| {
            tokio::task::spawn_blocking(move || {
                let mut chunk = Vec::with_capacity(READ_CHUNK);
                let read = (&mut file)
                    .take(READ_CHUNK as u64)
                    .read_to_end(&mut chunk)
                    .map_err(|e| StorageError::io(format!("cannot read {path}"), e));
                (file, path, read.map(|_| Bytes::from(chunk)))
            })
        };
        let first = read(file, path);
        Ok(
            futures::stream::unfold(Some(first), move |reading| async move {
                let (file, path, chunk) = match reading?.await {
                    Ok(done) => done,
                    Err(e) => {
                        let error = StorageError::new(
                            StorageErrorKind::Other,
                            format!("read task failed: {e}"),
                        );
                        return Some((Err(error), None));
                    }
                };
                match chunk {
                    Ok(chunk) if chunk.is_empty() => None,
                    Ok(chunk) => Some((Ok(chunk), Some(read(file, path)))),
                    Err(error) => Some((Err(error), None)),
                }
            })
            .boxed(),
        )
    }

    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        self.read_up_to(config, u64::MAX).await
    }

    async fn read_up_to(&self, config: &Value, limit: u64) -> Result<Bytes, StorageError> {
        self.open_blocking(config, move |file, len, relative| {
            // The file's length, not the record's, sizes the buffer, and the limit caps it.
            let mut data = Vec::with_capacity(usize::try_from(len.min(limit)).unwrap_or(0));
            file.take(limit)
                .read_to_end(&mut data)
                .map_err(|e| StorageError::io(format!("cannot read `{relative}`"), e))?;
            Ok(Bytes::from(data))
        })
        .await
    }

    async fn delete(&self, config: &Value) -> Result<(), StorageError> {
        self.check_writable("delete")?;
        self.blocking(config, |path| match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StorageError::io(
                format!("cannot delete {}", path.display()),
                e,
            )),
            _ => Ok(()),
        })
        .await
    }

    async fn exists(&self, config: &Value) -> Result<bool, StorageError> {
        self.blocking(config, |path| {
            path.try_exists()
                .map_err(|e| StorageError::io(format!("cannot check {}", path.display()), e))
        })
        .await
    }

    async fn list(&self) -> Result<Vec<StoredBlob>, StorageError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || list_blobs(&root))
            .await
            .map_err(|e| StorageError::new(StorageErrorKind::Other, format!("task failed: {e}")))?
    }

    async fn delete_if_older(
        &self,
        config: &Value,
        cutoff: SystemTime,
    ) -> Result<bool, StorageError> {
        self.check_writable("delete")?;
        let root = self.root.clone();
        self.blocking(config, move |path| {
            let lock_path = root.join(LOCK_FILE);
            let io = |what: &str, path: &Path, e| {
                StorageError::io(format!("cannot {what} {}", path.display()), e)
            };
            let lock = open_lock(&root).map_err(|e| io("open", &lock_path, e))?;
            lock.lock().map_err(|e| io("lock", &lock_path, e))?;
            let modified = match fs::symlink_metadata(path).and_then(|m| m.modified()) {
                Ok(modified) => modified,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(io("check", path, e)),
            };
            if modified >= cutoff {
                return Ok(false);
            }
            match fs::remove_file(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(io("delete", path, e)),
            }
        })
        .await
    }
}

/// Every content file under `root`: regular files at `<2 hex>/<64 hex>`. Temporary
/// files, the lock and anything else a person put there are not listed.
fn list_blobs(root: &Path) -> Result<Vec<StoredBlob>, StorageError> {
    let io = |path: &Path, e| StorageError::io(format!("cannot list {}", path.display()), e);
    let mut blobs = Vec::new();
    for dir in fs::read_dir(root).map_err(|e| io(root, e))? {
        let dir = dir.map_err(|e| io(root, e))?;
        let Some(prefix) = dir.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if prefix.len() != 2 || !dir.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir_path = dir.path();
        for file in fs::read_dir(&dir_path).map_err(|e| io(&dir_path, e))? {
            let file = file.map_err(|e| io(&dir_path, e))?;
            let Some(name) = file.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let relative = format!("{prefix}/{name}");
            if !is_blob_path(&relative) {
                continue;
            }
            let metadata = match file.metadata() {
                Ok(m) => m,
                // Deleted since the folder was read.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&file.path(), e)),
            };
            if !metadata.is_file() {
                continue;
            }
            blobs.push(StoredBlob {
                config: json!({ "path": relative }),
                size: metadata.len(),
                written_at: metadata.modified().map_err(|e| io(&file.path(), e))?,
            });
        }
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;
    use crate::record::Tags;

    async fn write(storage: &FileStorage, data: &'static [u8]) -> Value {
        let data = Bytes::from_static(data);
        let tags = Tags::new();
        let request = WriteRequest::new(data.clone(), Digest::of(&data), &tags);
        storage.write(request).await.unwrap()
    }

    #[tokio::test]
    async fn a_second_write_replaces_a_damaged_file_with_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FileStorage::new(dir.path()).unwrap();
        let config = write(&storage, b"the results").await;
        let path = storage.resolve(&config).unwrap();
        fs::write(&path, b"the resu").unwrap(); // truncated by some accident
        assert_eq!(write(&storage, b"the results").await, config);
        assert_eq!(storage.read(&config).await.unwrap(), &b"the results"[..]);
        let temps = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .count();
        assert_eq!(temps, 0, "no temporary file is left behind");
    }

    #[test]
    fn stale_temporary_files_are_removed_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(format!("{TEMP_PREFIX}stale"));
        let fresh = dir.path().join(format!("{TEMP_PREFIX}fresh"));
        let other = dir.path().join("notes.txt");
        for path in [&stale, &fresh, &other] {
            fs::write(path, b"x").unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(old)
            .unwrap();
        remove_stale_temp_files(dir.path(), Duration::from_secs(60));
        assert!(!stale.exists());
        assert!(fresh.exists(), "a write in progress keeps its file");
        assert!(other.exists(), "only lakery's temporary files are touched");
    }

    #[test]
    fn only_the_storage_layout_is_accepted() {
        let hex = "ab".to_owned() + &"0".repeat(62);
        assert!(is_blob_path(&format!("ab/{hex}")));
        for bad in [
            format!("../{hex}"),
            format!("/ab/{hex}"),
            format!("ab/../{hex}"),
            format!("cd/{hex}"),
            format!("ab%2F{hex}"),
            format!("ab\\{hex}"),
            format!("ab/{}", hex.to_uppercase()),
            "ab/ab".to_owned(),
            String::new(),
        ] {
            assert!(!is_blob_path(&bad), "{bad} should be refused");
        }
    }
}
