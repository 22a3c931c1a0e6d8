//! [`ContentStream`]: a field whose content is a sequence of items, saved and loaded a
//! chunk at a time, so a content larger than memory never has to fit in it.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, Stream, StreamExt};

use crate::encoding::Decompressor;
use crate::error::Error;
use crate::hash::{Digester, HashPipe};
use crate::id::ManifestId;
use crate::serializer::{StreamDecoder, StreamEncoder};
use crate::storage::{ByteStream, StorageError, StorageErrorKind};

/// The error a producer stream may yield.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many encoded bytes a saved stream hands to its storage at a time.
pub(crate) const CHUNK: usize = 256 * 1024;

/// A content that is a stream of items: filled from any [`Stream`] when saving, and
/// read lazily, as a [`Stream`] of `Result<T, lakery::Error>`, when loaded.
///
/// ```
/// use lakery::serializer::JsonLines;
/// use lakery::{ContentStream, Storable};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Row {
///     id: u64,
///     value: String,
/// }
///
/// #[derive(Storable)]
/// #[storable(class_id = "2b7e151c-8d3a-4f6e-9b0c-5a4d3e2f1a0b")]
/// struct Dataset {
///     name: String,
///     #[content(serializer = JsonLines, storage = "files")]
///     rows: ContentStream<Row>,
/// }
///
/// let rows = (0..1_000_000u64).map(|id| Row { id, value: format!("item_{id}") });
/// let dataset = Dataset {
///     name: "a million rows".into(),
///     rows: ContentStream::from_iter(rows),
/// };
/// ```
///
/// Saving consumes the items: a stream saves once. A loaded stream holds what it reads
/// from (a file, a connection) until it ends or is dropped; [`close`](Self::close)
/// releases it explicitly. Its bytes are hashed as they pass, and a mismatch with the
/// hash recorded at save time is the stream's last item, an error naming the manifest
/// and the content, before the stream reports its end.
pub struct ContentStream<T> {
    state: Mutex<State<T>>,
}

enum State<T> {
    /// Items to save, from the caller.
    Items(BoxStream<'static, Result<T, BoxError>>),
    /// Items of a loaded content, read as they are polled.
    Loaded(BoxStream<'static, Result<T, Error>>),
    /// Saved, or closed.
    Taken,
}

impl<T: Send + 'static> ContentStream<T> {
    /// A stream to save, from a stream of results; an error it yields fails the save.
    pub fn new<S, E>(items: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        ContentStream::with(State::Items(items.map(|r| r.map_err(Into::into)).boxed()))
    }

    /// A stream to save, from a stream of items.
    pub fn from_items<S>(items: S) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
    {
        ContentStream::with(State::Items(items.map(Ok).boxed()))
    }

    /// A stream to save, from an iterator, which is advanced only as the items are
    /// written.
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        ContentStream::from_items(stream::iter(items))
    }

    /// A stream with no items.
    pub fn empty() -> Self {
        ContentStream::from_items(stream::empty())
    }

    pub(crate) fn loaded(items: BoxStream<'static, Result<T, Error>>) -> Self {
        ContentStream::with(State::Loaded(items))
    }

    fn with(state: State<T>) -> Self {
        ContentStream {
            state: Mutex::new(state),
        }
    }

    /// Releases what the stream holds (for a loaded stream, the file or connection it
    /// reads from) without reading the rest. Dropping it does the same.
    pub fn close(self) {
        drop(self);
    }

    /// The items, for saving; a loaded stream can be saved too, which copies it.
    pub(crate) fn take_for_save(&self) -> Option<BoxStream<'static, Result<T, BoxError>>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match std::mem::replace(&mut *state, State::Taken) {
            State::Items(items) => Some(items),
            State::Loaded(items) => Some(items.map(|r| r.map_err(BoxError::from)).boxed()),
            State::Taken => None,
        }
    }
}

impl<T> Stream for ContentStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let state = self
            .get_mut()
            .state
            .get_mut()
            .unwrap_or_else(|p| p.into_inner());
        let next = match state {
            State::Items(items) => items.poll_next_unpin(cx).map(|item| {
                item.map(|r| {
                    r.map_err(|source| Error::StreamSource {
                        manifest: None,
                        key: None,
                        source,
                    })
                })
            }),
            State::Loaded(items) => items.poll_next_unpin(cx),
            State::Taken => Poll::Ready(None),
        };
        // A stream that ended lets go of what it held, and keeps answering that it ended
        // however often it is polled again.
        if let Poll::Ready(None) = next {
            *state = State::Taken;
        }
        next
    }
}

impl<T> fmt::Debug for ContentStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            State::Items(_) => "items to save",
            State::Loaded(_) => "loaded",
            State::Taken => "saved, closed or read to its end",
        };
        write!(f, "ContentStream({state})")
    }
}

/// Where a saved stream's first failure is kept, so the save reports it with its
/// manifest and key rather than as the storage's error.
pub(crate) type FailureSlot = Arc<Mutex<Option<Error>>>;

/// `bytes` compressed with `encoding` as the storage pulls them; a failure is kept in
/// `failure`, as the items' are.
pub(crate) fn compress(
    bytes: ByteStream,
    encoding: crate::encoding::Encoding,
    what: Described,
    failure: FailureSlot,
) -> ByteStream {
    let coder = encoding.encoder();
    let fail = move |source: std::io::Error| {
        let error = Error::Encoding {
            action: "compress",
            manifest: what.manifest,
            key: what.key.clone(),
            encoding: encoding.name().to_owned(),
            source,
        };
        let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(error);
        StorageError::new(
            StorageErrorKind::Other,
            "the content's stream failed before its end",
        )
    };
    stream::unfold((bytes, Some(coder)), move |(mut bytes, mut coder)| {
        let fail = fail.clone();
        async move {
            loop {
                let current = match coder.take()? {
                    Ok(current) => current,
                    Err(e) => return Some((Err(fail(e)), (bytes, None))),
                };
                let mut current = current;
                match bytes.next().await {
                    Some(Ok(chunk)) => match current.push(&chunk) {
                        Ok(out) if out.is_empty() => coder = Some(Ok(current)),
                        Ok(out) => return Some((Ok(out), (bytes, Some(Ok(current))))),
                        Err(e) => return Some((Err(fail(e)), (bytes, None))),
                    },
                    // The items' own failure is already in the slot.
                    Some(Err(e)) => return Some((Err(e), (bytes, None))),
                    None => {
                        let last = current.finish().map_err(fail);
                        return Some((last, (bytes, None)));
                    }
                }
            }
        }
    })
    .boxed()
}

/// The encoded bytes of `items`, in chunks of about [`CHUNK`] bytes, encoded as the
/// storage pulls them.
pub(crate) fn encode<T: Send + 'static>(
    items: BoxStream<'static, Result<T, BoxError>>,
    encoder: Box<dyn StreamEncoder<T>>,
    what: Described,
    failure: FailureSlot,
) -> ByteStream {
    struct Encoding<T> {
        items: BoxStream<'static, Result<T, BoxError>>,
        encoder: Box<dyn StreamEncoder<T>>,
        buffer: Vec<u8>,
        /// Bytes passed through, due after the buffer that was handed out before them.
        pending: Option<Bytes>,
        done: bool,
    }
    let fail = move |error: Error| {
        *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
        StorageError::new(
            StorageErrorKind::Other,
            "the content's stream failed before its end",
        )
    };
    let start = Encoding {
        items,
        encoder,
        buffer: Vec::with_capacity(CHUNK + CHUNK / 4),
        pending: None,
        done: false,
    };
    stream::unfold(start, move |mut s| {
        let what = what.clone();
        let fail = fail.clone();
        async move {
            if let Some(bytes) = s.pending.take() {
                return Some((Ok(bytes), s));
            }
            if s.done {
                return None;
            }
            loop {
                match s.items.next().await {
                    Some(Ok(item)) => {
                        if let Some(bytes) = s.encoder.pass_through(&item) {
                            // What was encoded before goes first, then these bytes as
                            // they are.
                            if s.buffer.is_empty() {
                                if bytes.is_empty() {
                                    continue;
                                }
                                return Some((Ok(bytes), s));
                            }
                            s.pending = Some(bytes);
                            let chunk = std::mem::replace(
                                &mut s.buffer,
                                Vec::with_capacity(CHUNK + CHUNK / 4),
                            );
                            return Some((Ok(Bytes::from(chunk)), s));
                        }
                        if let Err(source) = s.encoder.encode(&item, &mut s.buffer) {
                            s.done = true;
                            return Some((Err(fail(what.serialize_error(source))), s));
                        }
                        if s.buffer.len() >= CHUNK {
                            let chunk = std::mem::replace(
                                &mut s.buffer,
                                Vec::with_capacity(CHUNK + CHUNK / 4),
                            );
                            return Some((Ok(Bytes::from(chunk)), s));
                        }
                    }
                    Some(Err(source)) => {
                        s.done = true;
                        return Some((Err(fail(what.source_error(source))), s));
                    }
                    None => {
                        s.done = true;
                        if let Err(source) = s.encoder.finish(&mut s.buffer) {
                            return Some((Err(fail(what.serialize_error(source))), s));
                        }
                        if s.buffer.is_empty() {
                            return None;
                        }
                        let chunk = std::mem::take(&mut s.buffer);
                        return Some((Ok(Bytes::from(chunk)), s));
                    }
                }
            }
        }
    })
    .boxed()
}

/// The manifest, key and serializer of a streamed content, for its errors.
#[derive(Debug, Clone)]
pub(crate) struct Described {
    pub manifest: ManifestId,
    pub key: String,
    pub serializer: String,
}

impl Described {
    fn serialize_error(&self, source: BoxError) -> Error {
        Error::Serialize {
            manifest: self.manifest,
            key: self.key.clone(),
            serializer: self.serializer.clone(),
            source,
        }
    }

    fn source_error(&self, source: BoxError) -> Error {
        Error::StreamSource {
            manifest: Some(self.manifest),
            key: Some(self.key.clone()),
            source,
        }
    }

    fn read_error(&self, expected: &Option<Expected>, source: StorageError) -> Error {
        let storage = expected.as_ref().map_or("", |e| e.storage.as_str());
        Error::reading(self.manifest, &self.key, storage, source)
    }

    fn deserialize_error(&self, source: BoxError) -> Error {
        Error::Deserialize {
            manifest: self.manifest,
            key: self.key.clone(),
            serializer: self.serializer.clone(),
            source,
        }
    }
}

/// What a loaded stream checks its bytes against at their end.
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    pub algorithm: crate::hash::HashAlgorithm,
    pub hash: String,
    pub size: u64,
    pub storage: String,
}

/// The items decoded from `bytes`, checking the bytes against `expected` (when given)
/// as they pass; a mismatch is the last item.
pub(crate) fn decode<T: Send + 'static>(
    bytes: ByteStream,
    decoder: Box<dyn StreamDecoder<T>>,
    what: Described,
    expected: Option<Expected>,
    encoding: Option<crate::encoding::Encoding>,
) -> BoxStream<'static, Result<T, Error>> {
    struct Decoding<T> {
        bytes: ByteStream,
        decoder: Box<dyn StreamDecoder<T>>,
        /// Undoes the content's encoding, when it has one, a bounded piece at a time.
        decompressor: Option<Decompressor>,
        input: BytesMut,
        items: std::vec::IntoIter<T>,
        hasher: Option<HashPipe>,
        done: bool,
    }
    /// Why bytes did not become items.
    enum Failure {
        Decompress(std::io::Error),
        Decode(BoxError),
    }
    impl<T> Decoding<T> {
        /// Decodes `chunk` of plain bytes into `out`.
        fn take(&mut self, chunk: Bytes, out: &mut Vec<T>, last: bool) -> Result<(), Failure> {
            if self.input.is_empty() && !last {
                if let Some(item) = self.decoder.pass_through(&chunk) {
                    out.push(item);
                    return Ok(());
                }
            }
            self.input.extend_from_slice(&chunk);
            self.decoder
                .decode(&mut self.input, last, out)
                .map_err(Failure::Decode)
        }
    }
    let encoding_error = move |what: &Described, source: std::io::Error| Error::Encoding {
        action: "decompress",
        manifest: what.manifest,
        key: what.key.clone(),
        encoding: encoding.map(|e| e.name()).unwrap_or_default().to_owned(),
        source,
    };
    let decompressor = match encoding.map(Decompressor::new).transpose() {
        Ok(decompressor) => decompressor,
        Err(source) => {
            let error = encoding_error(&what, source);
            return stream::once(async move { Err(error) }).boxed();
        }
    };
    let start = Decoding {
        bytes,
        decoder,
        decompressor,
        input: BytesMut::new(),
        items: Vec::new().into_iter(),
        hasher: expected
            .as_ref()
            .map(|e| HashPipe::new(Digester::with(e.algorithm))),
        done: false,
    };
    stream::unfold(start, move |mut s| {
        let what = what.clone();
        let expected = expected.clone();
        async move {
            loop {
                if let Some(item) = s.items.next() {
                    return Some((Ok(item), s));
                }
                if s.done {
                    return None;
                }
                let mut out = Vec::new();
                // A compressed chunk is undone a piece at a time, each decoded and handed
                // out before the next, so that memory stays bounded whatever it expands to.
                let piece = match &mut s.decompressor {
                    Some(decompressor) => decompressor.piece().map_err(Failure::Decompress),
                    None => Ok(None),
                };
                let decoded = match piece {
                    Ok(Some(piece)) => s.take(piece, &mut out, false),
                    Err(failure) => Err(failure),
                    Ok(None) => match s.bytes.next().await {
                        Some(Ok(chunk)) => {
                            if let Some(hasher) = &mut s.hasher {
                                hasher.update(chunk.clone()).await;
                            }
                            match &mut s.decompressor {
                                Some(decompressor) => {
                                    decompressor.feed(chunk);
                                    Ok(())
                                }
                                None => s.take(chunk, &mut out, false),
                            }
                        }
                        Some(Err(source)) => {
                            s.done = true;
                            return Some((Err(what.read_error(&expected, source)), s));
                        }
                        None => {
                            s.done = true;
                            // The hash is checked before the last items are handed out,
                            // so that a stream ends in its error rather than in success.
                            if let Some(error) = mismatch(s.hasher.take(), &expected, &what).await {
                                return Some((Err(error), s));
                            }
                            let rest = match s.decompressor.take() {
                                Some(decompressor) => {
                                    decompressor.finish().map_err(Failure::Decompress)
                                }
                                None => Ok(Bytes::new()),
                            };
                            rest.and_then(|rest| s.take(rest, &mut out, true))
                        }
                    },
                };
                if let Err(failure) = decoded {
                    s.done = true;
                    // Bytes that do not decode are most likely corrupt: read the rest
                    // and say so if the hash disagrees, else report the failure.
                    if let Some(mut hasher) = s.hasher.take() {
                        while let Some(chunk) = s.bytes.next().await {
                            match chunk {
                                Ok(chunk) => hasher.update(chunk).await,
                                Err(e) => return Some((Err(what.read_error(&expected, e)), s)),
                            }
                        }
                        if let Some(error) = mismatch(Some(hasher), &expected, &what).await {
                            return Some((Err(error), s));
                        }
                    }
                    let error = match failure {
                        Failure::Decode(source) => what.deserialize_error(source),
                        Failure::Decompress(source) => encoding_error(&what, source),
                    };
                    return Some((Err(error), s));
                }
                s.items = out.into_iter();
            }
        }
    })
    .boxed()
}

/// The hash error, when the bytes hashed by `hasher` are not what was recorded.
async fn mismatch(
    hasher: Option<HashPipe>,
    expected: &Option<Expected>,
    what: &Described,
) -> Option<Error> {
    let (hasher, expected) = (hasher?, expected.as_ref()?);
    let actual = match hasher.finish().await {
        Ok(actual) => actual,
        Err(e) => return Some(Error::Task(Box::new(e))),
    };
    digest_mismatch(actual, expected, what)
}

/// The hash error, when `actual` is not what was recorded.
fn digest_mismatch(
    actual: crate::hash::Digest,
    expected: &Expected,
    what: &Described,
) -> Option<Error> {
    if actual.hex().eq_ignore_ascii_case(&expected.hash) && actual.size == expected.size {
        return None;
    }
    Some(Error::HashMismatch {
        manifest: what.manifest,
        key: what.key.clone(),
        storage: expected.storage.clone(),
        mismatch: Box::new(crate::error::Mismatch {
            algorithm: expected.algorithm.name().to_owned(),
            expected: expected.hash.clone(),
            actual: actual.hex(),
            expected_size: expected.size,
            actual_size: actual.size,
        }),
    })
}

/// The items a serializer read through byte ranges
/// ([`StreamSerializer::read_ranged`](crate::serializer::StreamSerializer::read_ranged)),
/// with the whole content hashed alongside, read in order once the first item is asked
/// for: a mismatch (or a missing blob) is the stream's last item.
pub(crate) fn ranged<T: Send + 'static>(
    items: BoxStream<'static, Result<T, BoxError>>,
    bytes: ByteStream,
    what: Described,
    expected: Expected,
) -> BoxStream<'static, Result<T, Error>> {
    /// The hashing task, stopped when the stream is dropped before its end.
    struct Check(tokio::task::JoinHandle<Result<crate::hash::Digest, StorageError>>);
    impl Drop for Check {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    struct Ranged<T> {
        items: BoxStream<'static, Result<T, BoxError>>,
        bytes: Option<ByteStream>,
        check: Option<Check>,
        done: bool,
    }
    let algorithm = expected.algorithm;
    let start = Ranged {
        items,
        bytes: Some(bytes),
        check: None,
        done: false,
    };
    stream::unfold(start, move |mut s| {
        let what = what.clone();
        let expected = expected.clone();
        async move {
            if s.done {
                return None;
            }
            if let Some(mut bytes) = s.bytes.take() {
                s.check = Some(Check(tokio::spawn(async move {
                    let mut hasher = HashPipe::new(Digester::with(algorithm));
                    while let Some(chunk) = bytes.next().await {
                        hasher.update(chunk?).await;
                    }
                    hasher
                        .finish()
                        .await
                        .map_err(|e| StorageError::io("cannot hash the content", e))
                })));
            }
            let next = s.items.next().await;
            if let Some(Ok(item)) = next {
                return Some((Ok(item), s));
            }
            // The end, or a failure: the whole content's hash decides what to report.
            s.done = true;
            let checked = match s.check.as_mut() {
                Some(check) => match (&mut check.0).await {
                    Ok(Ok(actual)) => digest_mismatch(actual, &expected, &what),
                    Ok(Err(source)) => Some(what.read_error(&Some(expected.clone()), source)),
                    Err(e) => Some(Error::Task(Box::new(e))),
                },
                None => None,
            };
            match (checked, next) {
                (Some(error), _) => Some((Err(error), s)),
                (None, Some(Err(source))) => Some((Err(what.deserialize_error(source)), s)),
                (None, _) => None,
            }
        }
    })
    .boxed()
}
