//! A storage that fails on purpose, for testing what lakery and your code do when a
//! storage misbehaves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::StreamExt;

use crate::hash::Digest;
use crate::storage::{
    ByteStream, Storage, StorageError, StorageErrorKind, StoredBlob, StreamWriteRequest,
    WriteRequest,
};

/// Which faults a [`FaultyStorage`] injects. Counts are per kind of operation and start
/// at 1: `fail_writes_every(3)` fails the 3rd, 6th, 9th… write (values and streams
/// alike).
///
/// ```
/// use std::time::Duration;
/// use lakery::testing::Faults;
/// let faults = Faults::new().fail_writes_every(3).corrupt_reads_every(2).delay(Duration::from_millis(5));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    fail_writes: Option<u64>,
    fail_reads: Option<u64>,
    short_writes: Option<u64>,
    corrupt_reads: Option<u64>,
    delay: Duration,
}

impl Faults {
    /// No faults: every operation goes through.
    pub fn new() -> Self {
        Faults::default()
    }

    /// Every `n`th write fails with a retryable error, writing nothing.
    pub fn fail_writes_every(mut self, n: u64) -> Self {
        self.fail_writes = Some(n.max(1));
        self
    }

    /// Every `n`th read (whole, stream or range) fails with a retryable error.
    pub fn fail_reads_every(mut self, n: u64) -> Self {
        self.fail_reads = Some(n.max(1));
        self
    }

    /// Every `n`th write stores only the first half of its bytes and reports success,
    /// as a storage that loses data would.
    pub fn short_writes_every(mut self, n: u64) -> Self {
        self.short_writes = Some(n.max(1));
        self
    }

    /// Every `n`th read returns its bytes with one of them changed.
    pub fn corrupt_reads_every(mut self, n: u64) -> Self {
        self.corrupt_reads = Some(n.max(1));
        self
    }

    /// Waits this long before every operation.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// How many operations a [`FaultyStorage`] saw and how many faults it injected; shared
/// with the storage, so it can be read after the storage went into a registry.
#[derive(Debug, Clone, Default)]
pub struct FaultCounter(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    writes: AtomicU64,
    reads: AtomicU64,
    failed_writes: AtomicU64,
    failed_reads: AtomicU64,
    short_writes: AtomicU64,
    corrupt_reads: AtomicU64,
}

/// A snapshot of a [`FaultCounter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultCounts {
    /// Writes asked for, values and streams.
    pub writes: u64,
    /// Reads asked for, whole, streamed or ranged.
    pub reads: u64,
    /// Writes failed on purpose.
    pub failed_writes: u64,
    /// Reads failed on purpose.
    pub failed_reads: u64,
    /// Writes that stored only part of their bytes and reported success.
    pub short_writes: u64,
    /// Reads whose bytes were changed.
    pub corrupt_reads: u64,
}

impl FaultCounts {
    /// Every fault injected.
    pub fn faults(&self) -> u64 {
        self.failed_writes + self.failed_reads + self.short_writes + self.corrupt_reads
    }
}

impl FaultCounter {
    /// The counts so far.
    pub fn get(&self) -> FaultCounts {
        let c = &self.0;
        let load = |a: &AtomicU64| a.load(Ordering::SeqCst);
        FaultCounts {
            writes: load(&c.writes),
            reads: load(&c.reads),
            failed_writes: load(&c.failed_writes),
            failed_reads: load(&c.failed_reads),
            short_writes: load(&c.short_writes),
            corrupt_reads: load(&c.corrupt_reads),
        }
    }
}

/// Wraps a storage and injects [`Faults`] into its reads and writes; everything else
/// (delete, list, exists) passes through. Behind the `testing` feature.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread")]
/// # async fn main() {
/// use lakery::testing::{FaultyStorage, Faults};
/// let storage = FaultyStorage::new(lakery::MemoryStorage::new(), Faults::new().fail_writes_every(2));
/// let counter = storage.counter();
/// let registry = lakery::Registry::builder().storage("flaky", storage).build().unwrap();
/// # let _ = registry;
/// assert_eq!(counter.get().failed_writes, 0);
/// # }
/// ```
pub struct FaultyStorage<S> {
    inner: S,
    faults: Faults,
    counter: FaultCounter,
}

impl<S: Storage> FaultyStorage<S> {
    /// `inner`, with `faults`.
    pub fn new(inner: S, faults: Faults) -> Self {
        FaultyStorage {
            inner,
            faults,
            counter: FaultCounter::default(),
        }
    }

    /// The counts of operations and faults, to read after the storage was moved.
    pub fn counter(&self) -> FaultCounter {
        self.counter.clone()
    }

    async fn pause(&self) {
        if !self.faults.delay.is_zero() {
            tokio::time::sleep(self.faults.delay).await;
        }
    }

    /// Counts a write; what fault, if any, it gets.
    fn next_write(&self) -> Option<WriteFault> {
        let c = &self.counter.0;
        let n = c.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self
            .faults
            .fail_writes
            .is_some_and(|every| n.is_multiple_of(every))
        {
            c.failed_writes.fetch_add(1, Ordering::SeqCst);
            return Some(WriteFault::Fail(n));
        }
        if self
            .faults
            .short_writes
            .is_some_and(|every| n.is_multiple_of(every))
        {
            c.short_writes.fetch_add(1, Ordering::SeqCst);
            return Some(WriteFault::Short);
        }
        None
    }

    /// Counts a read; an injected failure, or whether to corrupt it.
    fn next_read(&self) -> Result<bool, StorageError> {
        let c = &self.counter.0;
        let n = c.reads.fetch_add(1, Ordering::SeqCst) + 1;
        if self
            .faults
            .fail_reads
            .is_some_and(|every| n.is_multiple_of(every))
        {
            c.failed_reads.fetch_add(1, Ordering::SeqCst);
            return Err(injected("read", n));
        }
        let corrupt = self
            .faults
            .corrupt_reads
            .is_some_and(|every| n.is_multiple_of(every));
        if corrupt {
            c.corrupt_reads.fetch_add(1, Ordering::SeqCst);
        }
        Ok(corrupt)
    }
}

enum WriteFault {
    Fail(u64),
    Short,
}

fn injected(operation: &str, n: u64) -> StorageError {
    StorageError::new(
        StorageErrorKind::Other,
        format!("injected fault: {operation} number {n} fails"),
    )
    .retryable(true)
}

/// `data` with its middle byte changed (an empty one gains a byte).
fn corrupted(data: Bytes) -> Bytes {
    let mut changed = data.to_vec();
    match changed.len() {
        0 => changed.push(0),
        len => changed[len / 2] ^= 0x5a,
    }
    Bytes::from(changed)
}

#[async_trait::async_trait]
impl<S: Storage> Storage for FaultyStorage<S> {
    async fn write(&self, request: WriteRequest<'_>) -> Result<serde_json::Value, StorageError> {
        self.pause().await;
        match self.next_write() {
            Some(WriteFault::Fail(n)) => Err(injected("write", n)),
            Some(WriteFault::Short) => {
                let digest = request.digest().await?;
                let half = request.data().slice(..request.data().len() / 2);
                self.inner
                    .write(WriteRequest::new(half, digest, request.tags()))
                    .await
            }
            None => self.inner.write(request).await,
        }
    }

    async fn write_stream(
        &self,
        request: StreamWriteRequest<'_>,
    ) -> Result<(serde_json::Value, Digest), StorageError> {
        self.pause().await;
        match self.next_write() {
            Some(WriteFault::Fail(n)) => Err(injected("write", n)),
            Some(WriteFault::Short) => {
                // The first chunk only, the rest of the stream consumed and dropped.
                let algorithm = request.digester().algorithm();
                let tags = request.tags();
                let mut stream = request.into_stream();
                let mut first = None;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    first.get_or_insert(chunk);
                }
                let kept: ByteStream = futures::stream::iter(first.map(Ok)).boxed();
                self.inner
                    .write_stream(StreamWriteRequest::new(kept, tags).hash_algorithm(algorithm))
                    .await
            }
            None => self.inner.write_stream(request).await,
        }
    }

    async fn read(&self, config: &serde_json::Value) -> Result<Bytes, StorageError> {
        self.pause().await;
        let corrupt = self.next_read()?;
        let data = self.inner.read(config).await?;
        Ok(if corrupt { corrupted(data) } else { data })
    }

    async fn read_stream(&self, config: &serde_json::Value) -> Result<ByteStream, StorageError> {
        self.pause().await;
        let corrupt = self.next_read()?;
        let stream = self.inner.read_stream(config).await?;
        if !corrupt {
            return Ok(stream);
        }
        let mut first = true;
        Ok(stream
            .map(move |chunk| {
                let chunk = chunk?;
                if std::mem::take(&mut first) {
                    return Ok(corrupted(chunk));
                }
                Ok(chunk)
            })
            .boxed())
    }

    async fn read_range(
        &self,
        config: &serde_json::Value,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StorageError> {
        self.pause().await;
        let corrupt = self.next_read()?;
        let data = self.inner.read_range(config, range).await?;
        Ok(if corrupt { corrupted(data) } else { data })
    }

    async fn delete(&self, config: &serde_json::Value) -> Result<(), StorageError> {
        self.inner.delete(config).await
    }

    async fn exists(&self, config: &serde_json::Value) -> Result<bool, StorageError> {
        self.inner.exists(config).await
    }

    async fn list(&self) -> Result<Vec<StoredBlob>, StorageError> {
        self.inner.list().await
    }

    async fn delete_if_older(
        &self,
        config: &serde_json::Value,
        cutoff: std::time::SystemTime,
    ) -> Result<bool, StorageError> {
        self.inner.delete_if_older(config, cutoff).await
    }
}
