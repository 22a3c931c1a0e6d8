//! `lakery cat`: a content's bytes, checked against their hash, to stdout or a file.
//!
//! The bytes are streamed: read, checked and decoded a bounded piece at a time, so a
//! content of any size, or one that decompresses to far more than it stores, takes
//! little memory. To stdout they are written as they come, and a hash mismatch found at
//! the end is an error after them; to a file they go to a temporary file beside it that
//! replaces the file only once the whole stream checked.

use std::fs::Permissions;
use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use lakery::{Database, ManifestId, Registry};

use crate::failure::Failure;

pub async fn run(
    registry: &Registry,
    db: &Database,
    id: ManifestId,
    key: &str,
    output: Option<PathBuf>,
    raw: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    // The target is checked before anything is read, so a wrong `-o` costs nothing.
    let target =
        tokio::task::block_in_place(|| output.as_deref().map(Target::resolve)).transpose()?;
    let content = lakery::stream_content(registry, db, id, key).await?;
    let chunks = content.into_stream(!raw);
    match target {
        None => copy(chunks, out).await,
        Some(target) => target.write(chunks).await,
    }
}

/// Writes every chunk to `out` as it comes; the stream's error, if it ends in one.
async fn copy(mut chunks: lakery::Chunks, out: &mut impl Write) -> Result<(), Failure> {
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        // Writing may block (a full pipe, a slow disk): not on a worker thread's time.
        tokio::task::block_in_place(|| out.write_all(&chunk))?;
    }
    tokio::task::block_in_place(|| out.flush())?;
    Ok(())
}

/// Where `cat -o PATH` writes: the regular file PATH names, through a symlink if PATH
/// is one, and what of the file there is kept.
#[derive(Debug)]
struct Target {
    /// PATH with a symlink resolved: the file that is replaced.
    path: PathBuf,
    /// The existing file, whose mode and owner the new one takes; `None` for a new file.
    existing: Option<std::fs::Metadata>,
}

impl Target {
    /// Checks PATH: a symlink is resolved, once, to the file it points at (which
    /// must exist: a dangling link is refused, as `cp` refuses it); anything there but
    /// a regular file (a folder, a FIFO, a device such as `/dev/null`, a socket) is
    /// refused, since replacing it is never what was meant.
    fn resolve(path: &Path) -> Result<Target, Failure> {
        let refuse =
            |why: String| Failure::usage(format!("cannot write to {}: {why}", path.display()));
        let path = match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Target {
                    path: path.to_owned(),
                    existing: None,
                })
            }
            Err(e) => return Err(refuse(e.to_string())),
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::canonicalize(path).map_err(|e| {
                    refuse(format!(
                        "it is a symlink to a file that cannot be reached: {e}"
                    ))
                })?
            }
            Ok(_) => path.to_owned(),
        };
        let meta = std::fs::symlink_metadata(&path).map_err(|e| refuse(e.to_string()))?;
        if !meta.is_file() {
            return Err(refuse(format!(
                "{} is {}, not a regular file",
                path.display(),
                kind(&meta.file_type())
            )));
        }
        Ok(Target {
            path,
            existing: Some(meta),
        })
    }

    /// Streams `chunks` into a temporary file beside the target, then puts it in the
    /// target's place; on any error the temporary file is removed and the target left
    /// as it was.
    async fn write(self, mut chunks: lakery::Chunks) -> Result<(), Failure> {
        let mut file = tokio::task::block_in_place(|| self.temporary())?;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            tokio::task::block_in_place(|| file.write_all(&chunk))?;
        }
        tokio::task::block_in_place(|| self.commit(file))
    }

    fn temporary(&self) -> std::io::Result<tempfile::NamedTempFile> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut builder = tempfile::Builder::new();
        builder.prefix(".lakery-cat-");
        // A new file gets the mode any new file would (0666 less the umask), not the
        // owner-only mode of a temporary file.
        #[cfg(unix)]
        builder.permissions(<Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o666));
        builder.tempfile_in(dir)
    }

    fn commit(&self, file: tempfile::NamedTempFile) -> Result<(), Failure> {
        if let Some(existing) = &self.existing {
            keep(file.as_file(), existing)?;
        }
        file.as_file().sync_all()?;
        // Whatever took the target's place since it was checked is not replaced either.
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if !meta.is_file() {
                return Err(Failure::usage(format!(
                    "cannot write to {}: it became {} while the content was read",
                    self.path.display(),
                    kind(&meta.file_type())
                )));
            }
        }
        file.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Gives `file` the mode of the file it replaces, as writing over that file would
/// leave it: its permissions and, where this process may set it (as root), its owner
/// and group. Set-user-id and set-group-id bits are not carried over to new bytes, as
/// the kernel clears them when a file is written to.
fn keep(file: &std::fs::File, existing: &std::fs::Metadata) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // Not permitted unless root (or the group is one of ours): the file is then
        // the caller's, as any file it creates.
        let _ = std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()));
        file.set_permissions(Permissions::from_mode(existing.mode() & 0o1777))
    }
    #[cfg(not(unix))]
    file.set_permissions(existing.permissions())
}

/// What a file that is not a regular one is, for messages.
fn kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a symlink"
    } else {
        "something else"
    }
}
