//! Contents in object stores (Amazon S3 and S3-compatible servers, Google Cloud Storage,
//! Azure Blob Storage, a local folder, memory) through the `object_store` crate.

use std::fmt;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::StreamExt;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayload, TagSet, WriteMultipart,
};
use serde_json::{json, Value};

use super::file::is_blob_path;
use super::{
    ByteStream, Storage, StorageError, StorageErrorKind, StreamWriteRequest, WriteRequest,
};
use crate::hash::{Digest, HashPipe};
use crate::record::Tags;

/// The size of each part of a streamed upload, and the most a stream is buffered before
/// its upload starts: a stream that ends within it is put in one request.
const DEFAULT_PART_SIZE: usize = 8 << 20;

/// How many parts of one streamed upload are in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// The folder, under the prefix, of streamed uploads until their hash is known.
const TEMP_FOLDER: &str = ".lakery-tmp";

/// S3 keeps at most this many tags per object.
const S3_MAX_TAGS: usize = 10;

/// Where the tags a storage receives go on the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagMode {
    /// As object tags: S3 object tags (at most 10 per object, the first 10 by key) and
    /// Azure blob index tags.
    ObjectTags,
    /// As user metadata (`x-goog-meta-*` on GCS, `x-amz-meta-*` on S3).
    Metadata,
    /// Not sent: for stores that keep neither (a local folder).
    None,
}

/// How an [`ObjectStorage`] writes a stream longer than a part.
#[derive(Debug, Clone)]
enum LongStreams {
    /// Spooled to a local file in this folder (the system's temporary folder when
    /// `None`), then uploaded straight to its key.
    Spool(Option<Arc<PathBuf>>),
    /// Uploaded under a temporary key, then copied to its key.
    TempKey,
}

/// Keeps contents in an object store, content-addressed under a prefix: a content is
/// the object `<prefix>/<first two hex digits>/<hash>`, and one already there is not
/// uploaded again.
///
/// A value is put in one request. A stream is buffered up to one part (8 MiB): a
/// shorter stream is put in one request too. A longer one is spooled to an unnamed
/// temporary file (in the system's temporary folder, or the one given to
/// [`with_spool_dir`](Self::with_spool_dir)) while it is hashed, then uploaded in parts,
/// a few at a time so that memory stays bounded, straight to its content-addressed key,
/// or not at all when that object exists. The store makes a multipart upload visible
/// only when it completes, so nothing incomplete is ever at a key a manifest can name.
/// A stream that fails midway uploads nothing. Without local disk for the spool,
/// [`without_spool`](Self::without_spool) uploads under a temporary key instead.
///
/// Each backend is behind a cargo feature: `s3`, `gcs`, `azure`; a local folder
/// (`file://`) and memory (`memory://`) come with `object-store`, which each of them
/// enables.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Credentials, region and endpoint from the usual environment (AWS_ACCESS_KEY_ID,
/// // AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT, ...).
/// let storage = lakery::ObjectStorage::from_url("s3://my-bucket/lakery")?;
/// # Ok(())
/// # }
/// ```
///
/// Tags: S3 and Azure receive the content's merged tags as object tags (S3 keeps 10 per
/// object: the first 10 by key are sent), GCS as metadata, and a local folder none (see
/// [`TagMode`]). An object that was already stored keeps the tags of its first write;
/// the tags of every manifest are in the database either way.
///
/// Configs read back from the database are refused unless they name a content key
/// under the prefix; in a local folder opened from a `file://` URL, also when a symlink
/// planted under the folder leads the key outside it.
///
/// Garbage collection skips this storage: an object store cannot delete an object only
/// if it was not written again since a given time, which collection needs to be safe.
/// A multipart upload a crash interrupted is left to the store's lifecycle rules
/// (S3's `AbortIncompleteMultipartUpload`).
#[derive(Clone)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// How the storage names itself in errors.
    location: Arc<str>,
    part_size: usize,
    tags: TagMode,
    /// How streams longer than a part reach their key.
    long_streams: LongStreams,
    /// The folder of a local store (`file://`), whose objects are files: a symlink
    /// planted under it could lead a valid key outside, so keys are checked against
    /// where they really resolve.
    local_root: Option<Arc<PathBuf>>,
}

impl fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("location", &self.location)
            .field("part_size", &self.part_size)
            .field("tags", &self.tags)
            .field("long_streams", &self.long_streams)
            .finish_non_exhaustive()
    }
}

impl ObjectStorage {
    /// A storage over a store you built, keeping its objects under `prefix` (`""` for
    /// the store's root). Tags are sent as object tags; see [`with_tags`](Self::with_tags).
    pub fn new(store: impl ObjectStore, prefix: &str) -> Result<Self, StorageError> {
        Self::from_store(Arc::new(store), prefix)
    }

    /// As [`new`](Self::new), for a store already shared.
    pub fn from_store(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self, StorageError> {
        let prefix = Path::parse(prefix).map_err(|e| {
            StorageError::new(
                StorageErrorKind::InvalidConfig,
                format!("invalid object store prefix {prefix:?}"),
            )
            .with_source(e)
        })?;
        let location = format!("{store}/{prefix}");
        Ok(ObjectStorage {
            store,
            prefix,
            location: location.into(),
            part_size: DEFAULT_PART_SIZE,
            tags: TagMode::ObjectTags,
            long_streams: LongStreams::Spool(None),
            local_root: None,
        })
    }

    /// A storage for a URL: `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix` (or `abfs://`, `https://account.blob.core.windows.net/…`),
    /// `file:///path`, `memory:///`. Configuration comes from the environment as the
    /// store's own builders read it (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        Self::from_url_opts(url, std::iter::empty::<(String, String)>())
    }

    /// As [`from_url`](Self::from_url), with options that override the environment,
    /// named as `object_store`'s config keys (`aws_endpoint`, `aws_allow_http`,
    /// `aws_access_key_id`, `google_service_account`, `azure_storage_account_name`, …).
    pub fn from_url_opts<I, K, V>(url: &str, options: I) -> Result<Self, StorageError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let invalid = |reason: String| {
            StorageError::new(
                StorageErrorKind::InvalidConfig,
                format!("cannot open object store {url}: {reason}"),
            )
        };
        let unusable = |source: Box<dyn std::error::Error + Send + Sync>| {
            StorageError::new(
                StorageErrorKind::InvalidConfig,
                format!("cannot open object store {url}"),
            )
            .with_source(source)
        };
        let parsed = url::Url::parse(url).map_err(|e| unusable(e.into()))?;
        let (scheme, _) =
            object_store::ObjectStoreScheme::parse(&parsed).map_err(|e| unusable(e.into()))?;
        use object_store::ObjectStoreScheme as S;
        let (feature, tags) = match scheme {
            S::AmazonS3 => ("s3", TagMode::ObjectTags),
            S::GoogleCloudStorage => ("gcs", TagMode::Metadata),
            S::MicrosoftAzure => ("azure", TagMode::ObjectTags),
            S::Local | S::Memory => ("object-store", TagMode::None),
            other => return Err(invalid(format!("lakery does not support {other:?} stores"))),
        };
        // The environment first, the caller's options over it; keys a store does not
        // know are ignored by it.
        let environment = std::env::vars().filter_map(|(key, value)| {
            let key = key.to_ascii_lowercase();
            ["aws_", "google_", "azure_"]
                .iter()
                .any(|p| key.starts_with(p))
                .then_some((key, value))
        });
        let options = environment.chain(
            options
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.into())),
        );
        let (store, prefix) =
            object_store::parse_url_opts(&parsed, options).map_err(|e| match e {
                object_store::Error::Generic { source, .. }
                    if source.to_string().contains("not enabled") =>
                {
                    invalid(format!("lakery was built without its `{feature}` feature"))
                }
                other => unusable(other.into()),
            })?;
        let mut storage = Self::from_store(Arc::from(store), prefix.as_ref())?;
        storage.location = url.trim_end_matches('/').into();
        storage.tags = tags;
        if matches!(scheme, S::Local) {
            storage.local_root = parsed.to_file_path().ok().map(Arc::new);
        }
        Ok(storage)
    }

    /// Where tags go on the objects.
    pub fn with_tags(mut self, tags: TagMode) -> Self {
        self.tags = tags;
        self
    }

    /// The size of each part of a streamed upload, at least 5 MiB (S3's smallest part);
    /// memory held by one streamed write is about 5 parts.
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(5 << 20);
        self
    }

    /// Spools streams longer than a part to unnamed temporary files in `dir` rather
    /// than in the system's temporary folder ([`std::env::temp_dir`]). A spool file
    /// takes local disk the size of its stream, and goes as soon as the upload ends or
    /// fails, or the process dies.
    pub fn with_spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.long_streams = LongStreams::Spool(Some(Arc::new(dir.into())));
        self
    }

    /// Uploads streams longer than a part as they arrive, under a temporary key in
    /// `<prefix>/.lakery-tmp/`, and copies each to its content-addressed key once its
    /// hash is known: for a machine without local disk for the spool. It costs a copy
    /// on the store (on some servers about half as long again as the upload), S3 copies
    /// at most 5 GiB in one request, which then bounds one streamed content, and
    /// Azure's copy drops blob index tags. Expire `<prefix>/.lakery-tmp/` with a
    /// lifecycle rule for uploads a crash left there.
    pub fn without_spool(mut self) -> Self {
        self.long_streams = LongStreams::TempKey;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn path(&self, relative: &str) -> Path {
        relative
            .split('/')
            .fold(self.prefix.clone(), |path, part| path.clone().join(part))
    }

    /// The content-addressed key of a digest, relative to the prefix.
    fn relative(digest: &Digest) -> String {
        let hex = digest.hex();
        format!("{}/{hex}", &hex[..2])
    }

    /// The object a config read from the database names, refusing anything but a
    /// content key of this storage, and in a local folder a key that a symlink leads
    /// outside the folder.
    async fn resolve(&self, config: &Value) -> Result<Path, StorageError> {
        let relative = config.get("key").and_then(Value::as_str).ok_or_else(|| {
            StorageError::invalid_config(config, "expected {\"key\": \"<relative key>\"}")
        })?;
        if !is_blob_path(relative) {
            return Err(StorageError::invalid_config(
                config,
                "the key is not a content key of this storage (`<2 hex>/<64 hex>`); refusing \
                 to leave the storage's prefix",
            ));
        }
        if let Some(root) = &self.local_root {
            let (root, file, config) = (root.clone(), root.join(relative), config.clone());
            // Resolving follows symlinks, which is file system work: on the blocking pool.
            tokio::task::spawn_blocking(move || inside_folder(&root, &file, &config))
                .await
                .map_err(|e| {
                    StorageError::new(StorageErrorKind::Other, format!("task failed: {e}"))
                })??;
        }
        Ok(self.path(relative))
    }

    /// The error of an operation on `path`, with whether a retry may help.
    fn error(&self, operation: &str, path: &Path, error: object_store::Error) -> StorageError {
        use object_store::Error as E;
        let (kind, retryable) = match &error {
            E::NotFound { .. } => (StorageErrorKind::NotFound, false),
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
                (StorageErrorKind::PermissionDenied, false)
            }
            E::NotSupported { .. } | E::NotImplemented { .. } => {
                (StorageErrorKind::Unsupported, false)
            }
            E::InvalidPath { .. } | E::UnknownConfigurationKey { .. } => {
                (StorageErrorKind::InvalidConfig, false)
            }
            _ if is_transient(&error) => (StorageErrorKind::Io, true),
            _ => (StorageErrorKind::Other, false),
        };
        StorageError::new(
            kind,
            format!("{}: cannot {operation} `{path}`", self.location),
        )
        .retryable(retryable)
        .with_source(error)
    }

    /// Starts an upload in parts to `path`, with the tags as the storage sends them.
    async fn start_upload(&self, path: &Path, tags: &Tags) -> Result<WriteMultipart, StorageError> {
        let (tags, attributes) = self.tagging(tags);
        let options = PutMultipartOptions {
            tags,
            attributes,
            ..PutMultipartOptions::default()
        };
        let upload = self
            .store
            .put_multipart_opts(path, options)
            .await
            .map_err(|e| self.error("start an upload to", path, e))?;
        Ok(WriteMultipart::new_with_chunk_size(upload, self.part_size))
    }

    fn put_options(&self, tags: &Tags) -> PutOptions {
        let (tags, attributes) = self.tagging(tags);
        PutOptions {
            tags,
            attributes,
            ..PutOptions::default()
        }
    }

    fn tagging(&self, tags: &Tags) -> (TagSet, Attributes) {
        let mut set = TagSet::default();
        let mut attributes = Attributes::new();
        match self.tags {
            TagMode::ObjectTags => {
                for (key, value) in tags.iter().take(S3_MAX_TAGS) {
                    set.push(key, value);
                }
            }
            TagMode::Metadata => {
                for (key, value) in tags {
                    attributes.insert(
                        Attribute::Metadata(key.clone().into()),
                        value.clone().into(),
                    );
                }
            }
            TagMode::None => {}
        }
        (set, attributes)
    }

    async fn exists_at(&self, path: &Path) -> Result<bool, StorageError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error("look up", path, e)),
        }
    }

    /// Puts `data` at its content-addressed key unless an object is there already.
    async fn put(
        &self,
        data: PutPayload,
        digest: &Digest,
        tags: &Tags,
    ) -> Result<Value, StorageError> {
        let relative = Self::relative(digest);
        let path = self.path(&relative);
        if !self.exists_at(&path).await? {
            self.store
                .put_opts(&path, data, self.put_options(tags))
                .await
                .map_err(|e| self.error("write", &path, e))?;
        }
        Ok(json!({ "key": relative }))
    }

    /// Uploads the rest of a stream in parts under a temporary key, then moves it to its
    /// content-addressed key; `buffered` are the chunks already taken from it.
    async fn upload_in_parts(
        &self,
        buffered: Vec<Bytes>,
        mut chunks: ByteStream,
        mut hasher: HashPipe,
        tags: &Tags,
    ) -> Result<(Value, Digest), StorageError> {
        let temp = self
            .prefix
            .clone()
            .join(TEMP_FOLDER)
            .join(uuid::Uuid::new_v4().to_string());
        let mut writer = self.start_upload(&temp, tags).await?;
        for chunk in buffered {
            writer.put(chunk);
        }
        let failed = loop {
            let chunk = match chunks.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(error)) => break Some(error),
                None => break None,
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                break Some(self.error("upload a part to", &temp, e));
            }
            hasher.update(chunk.clone()).await;
            writer.put(chunk);
        };
        self.complete_upload(writer, &temp, failed).await?;
        let digest = hashed(hasher).await?;
        let relative = Self::relative(&digest);
        let path = self.path(&relative);
        let moved = async {
            if !self.exists_at(&path).await? {
                self.store
                    .copy(&temp, &path)
                    .await
                    .map_err(|e| self.error("copy the upload to", &path, e))?;
            }
            Ok::<_, StorageError>(())
        }
        .await;
        let removed = self
            .store
            .delete(&temp)
            .await
            .map_err(|e| self.error("remove the upload", &temp, e));
        moved?;
        removed?;
        Ok((json!({ "key": relative }), digest))
    }
}

impl ObjectStorage {
    /// Spools a stream to a temporary file in `dir` while hashing it, then uploads the
    /// file in parts to its content-addressed key unless that object exists.
    async fn upload_spooled(
        &self,
        dir: &std::path::Path,
        buffered: Vec<Bytes>,
        mut chunks: ByteStream,
        mut hasher: HashPipe,
        tags: &Tags,
    ) -> Result<(Value, Digest), StorageError> {
        let spool_error = |what: &str, e: std::io::Error| {
            StorageError::io(format!("{what} the spool file in {}", dir.display()), e)
        };
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(16);
        let spool_dir = dir.to_owned();
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            // Unnamed: the file goes when it is closed, or when the process dies.
            let mut file = tempfile::tempfile_in(&spool_dir)?;
            while let Some(chunk) = receiver.blocking_recv() {
                file.write_all(&chunk)?;
            }
            Ok(file)
        });
        let mut failed = None;
        for chunk in buffered {
            if sender.send(chunk).await.is_err() {
                break;
            }
        }
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(chunk) => {
                    hasher.update(chunk.clone()).await;
                    // A writer that stopped has its error, returned below.
                    if sender.send(chunk).await.is_err() {
                        break;
                    }
                }
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
        }
        drop(sender);
        let file = writer.await.map_err(|e| {
            StorageError::new(StorageErrorKind::Other, format!("spool task failed: {e}"))
        })?;
        if let Some(error) = failed {
            return Err(error);
        }
        let mut file = file.map_err(|e| spool_error("cannot write", e))?;
        let digest = hashed(hasher).await?;
        let relative = Self::relative(&digest);
        let path = self.path(&relative);
        let config = json!({ "key": relative });
        if self.exists_at(&path).await? {
            return Ok((config, digest));
        }
        let mut writer = self.start_upload(&path, tags).await?;
        file.rewind().map_err(|e| spool_error("cannot rewind", e))?;
        let part_size = self.part_size;
        let mut file = Some(file);
        let failed = loop {
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                break Some(self.error("upload a part to", &path, e));
            }
            let Some(mut spooled) = file.take() else {
                break None;
            };
            let read = tokio::task::spawn_blocking(move || {
                let mut part = Vec::with_capacity(part_size);
                let read = (&mut spooled).take(part_size as u64).read_to_end(&mut part);
                (spooled, read.map(|_| part))
            })
            .await;
            match read {
                Ok((_, Ok(part))) if part.is_empty() => break None,
                Ok((spooled, Ok(part))) => {
                    writer.put(Bytes::from(part));
                    file = Some(spooled);
                }
                Ok((_, Err(e))) => break Some(spool_error("cannot read", e)),
                Err(e) => {
                    break Some(StorageError::new(
                        StorageErrorKind::Other,
                        format!("spool task failed: {e}"),
                    ))
                }
            }
        };
        self.complete_upload(writer, &path, failed).await?;
        Ok((config, digest))
    }

    /// Completes a multipart upload to `path`, or aborts it if feeding it `failed`.
    async fn complete_upload(
        &self,
        writer: WriteMultipart,
        path: &Path,
        failed: Option<StorageError>,
    ) -> Result<(), StorageError> {
        if let Some(error) = failed {
            // Nothing of an aborted upload is visible; an abort that fails leaves only
            // parts, which the store's lifecycle rules expire.
            let _ = writer.abort().await;
            return Err(error);
        }
        writer
            .finish()
            .await
            .map_err(|e| self.error("complete the upload to", path, e))?;
        Ok(())
    }
}

/// Refuses `file` if it resolves, through symlinks planted under `root`, outside
/// `root`. A file that is not there reaches nothing: the operation finds nothing.
fn inside_folder(
    root: &std::path::Path,
    file: &std::path::Path,
    config: &Value,
) -> Result<(), StorageError> {
    let Ok(real) = file.canonicalize() else {
        return Ok(());
    };
    let root = root
        .canonicalize()
        .map_err(|e| StorageError::io(format!("cannot resolve {}", root.display()), e))?;
    if real.starts_with(&root) {
        return Ok(());
    }
    Err(StorageError::invalid_config(
        config,
        format!(
            "{} resolves outside the storage's folder {}",
            file.display(),
            root.display()
        ),
    ))
}

async fn hashed(hasher: HashPipe) -> Result<Digest, StorageError> {
    hasher
        .finish()
        .await
        .map_err(|e| StorageError::io("cannot hash the stream", e))
}

/// Whether an error is a failed connection, a timeout or an interrupted transfer: what
/// may go away if tried again later (the store's client has already retried a few
/// times, with backoff, before giving up).
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn is_transient(error: &object_store::Error) -> bool {
    use object_store::client::HttpErrorKind as K;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if let Some(http) = error.downcast_ref::<object_store::client::HttpError>() {
            return matches!(http.kind(), K::Connect | K::Timeout | K::Interrupted);
        }
        source = error.source();
    }
    false
}

/// Without a cloud client there is no HTTP to fail: a local folder's or memory's errors
/// are not worth retrying.
#[cfg(not(any(feature = "s3", feature = "gcs", feature = "azure")))]
fn is_transient(_: &object_store::Error) -> bool {
    false
}

#[async_trait::async_trait]
impl Storage for ObjectStorage {
    async fn write(&self, request: WriteRequest<'_>) -> Result<Value, StorageError> {
        let digest = request.digest().await?;
        self.put(request.data().clone().into(), &digest, request.tags())
            .await
    }

    async fn write_stream(
        &self,
        request: StreamWriteRequest<'_>,
    ) -> Result<(Value, Digest), StorageError> {
        let mut hasher = HashPipe::new(request.digester());
        let tags = request.tags().clone();
        let mut chunks = request.into_stream();
        // Up to one part is buffered: a stream that ends within it is one request.
        let mut buffered = Vec::new();
        let mut size = 0;
        while size < self.part_size {
            match chunks.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    hasher.update(chunk.clone()).await;
                    size += chunk.len();
                    buffered.push(chunk);
                }
                None => {
                    let digest = hashed(hasher).await?;
                    let payload: PutPayload = buffered.into_iter().collect();
                    let config = self.put(payload, &digest, &tags).await?;
                    return Ok((config, digest));
                }
            }
        }
        match &self.long_streams {
            LongStreams::Spool(dir) => {
                let dir = dir.as_deref().cloned().unwrap_or_else(std::env::temp_dir);
                self.upload_spooled(&dir, buffered, chunks, hasher, &tags)
                    .await
            }
            LongStreams::TempKey => self.upload_in_parts(buffered, chunks, hasher, &tags).await,
        }
    }

    async fn read(&self, config: &Value) -> Result<Bytes, StorageError> {
        let path = self.resolve(config).await?;
        let read = async { self.store.get(&path).await?.bytes().await };
        read.await.map_err(|e| self.error("read", &path, e))
    }

    async fn read_range(
        &self,
        config: &Value,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StorageError> {
        let path = self.resolve(config).await?;
        let data = self
            .store
            .get_range(&path, range.clone())
            .await
            .map_err(|e| self.error("read a range of", &path, e))?;
        super::check_range(&range, data.len())?;
        Ok(data)
    }

    async fn read_stream(&self, config: &Value) -> Result<ByteStream, StorageError> {
        let path = self.resolve(config).await?;
        let got = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.error("read", &path, e))?;
        let storage = self.clone();
        Ok(got
            .into_stream()
            .map(move |chunk| chunk.map_err(|e| storage.error("read", &path, e)))
            .boxed())
    }

    async fn delete(&self, config: &Value) -> Result<(), StorageError> {
        let path = self.resolve(config).await?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", &path, e)),
        }
    }

    async fn exists(&self, config: &Value) -> Result<bool, StorageError> {
        let path = self.resolve(config).await?;
        self.exists_at(&path).await
    }
}
