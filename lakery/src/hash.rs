//! Hashing: the algorithms a content can be hashed with, their digests, and the pipe
//! that hashes a stream of chunks beside the write or read that produces them.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// The hash that names and checks a content's bytes, recorded with each content so that
/// contents hashed either way load side by side.
///
/// [`Registry`](crate::Registry) saves with SHA-256 unless told otherwise
/// ([`RegistryBuilder::hash_algorithm`](crate::registry::RegistryBuilder::hash_algorithm)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256, recorded as `sha256`: what most other tools compute (`sha256sum`,
    /// Python's `hashlib`), about 1.5 to 2 GB/s on one core with SHA extensions.
    #[default]
    Sha256,
    /// BLAKE3 with its 256-bit output, recorded as `blake3`: several times faster than
    /// SHA-256 on one core, for contents so large that hashing bounds a save.
    Blake3,
}

impl HashAlgorithm {
    /// Every algorithm, in the order they were added.
    pub const ALL: [HashAlgorithm; 2] = [HashAlgorithm::Sha256, HashAlgorithm::Blake3];

    /// The name recorded in the content's row.
    pub const fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Blake3 => "blake3",
        }
    }

    /// The algorithm a recorded name names, if lakery knows it.
    pub fn from_name(name: &str) -> Option<HashAlgorithm> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The hash and size of a content's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    /// The algorithm of [`hash`](Digest::hash).
    pub algorithm: HashAlgorithm,
    /// The hash of the bytes.
    pub hash: [u8; 32],
    /// Their length.
    pub size: u64,
}

impl Digest {
    /// Hashes `data` with SHA-256 on the current thread.
    pub fn of(data: &[u8]) -> Digest {
        Digest::with(HashAlgorithm::Sha256, data)
    }

    /// Hashes `data` with `algorithm` on the current thread.
    pub fn with(algorithm: HashAlgorithm, data: &[u8]) -> Digest {
        let mut digester = Digester::with(algorithm);
        digester.update(data);
        digester.finish()
    }

    /// The hash in lowercase hex.
    pub fn hex(&self) -> String {
        hex::encode(self.hash)
    }
}

/// Computes a [`Digest`] of bytes that arrive in pieces, as a streaming
/// [`Storage::write_stream`](crate::Storage::write_stream) must.
#[derive(Debug, Clone)]
pub struct Digester {
    hasher: Hasher,
    size: u64,
}

#[derive(Debug, Clone)]
enum Hasher {
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl Default for Digester {
    fn default() -> Self {
        Digester::new()
    }
}

impl Digester {
    /// Nothing hashed yet, with SHA-256.
    pub fn new() -> Self {
        Digester::with(HashAlgorithm::Sha256)
    }

    /// Nothing hashed yet, with `algorithm`.
    pub fn with(algorithm: HashAlgorithm) -> Self {
        let hasher = match algorithm {
            HashAlgorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            HashAlgorithm::Blake3 => Hasher::Blake3(Box::default()),
        };
        Digester { hasher, size: 0 }
    }

    /// The algorithm it hashes with.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self.hasher {
            Hasher::Sha256(_) => HashAlgorithm::Sha256,
            Hasher::Blake3(_) => HashAlgorithm::Blake3,
        }
    }

    /// Hashes the next piece.
    pub fn update(&mut self, piece: &[u8]) {
        match &mut self.hasher {
            Hasher::Sha256(hasher) => hasher.update(piece),
            Hasher::Blake3(hasher) => {
                hasher.update(piece);
            }
        }
        self.size += piece.len() as u64;
    }

    /// The digest of every piece so far, in order.
    pub fn finish(self) -> Digest {
        let (algorithm, hash) = match self.hasher {
            Hasher::Sha256(hasher) => (HashAlgorithm::Sha256, hasher.finalize().into()),
            Hasher::Blake3(hasher) => (HashAlgorithm::Blake3, *hasher.finalize().as_bytes()),
        };
        Digest {
            algorithm,
            hash,
            size: self.size,
        }
    }
}

/// Hashes a stream's chunks as they pass: inline while the stream is short, then on a
/// thread of its own fed through a short queue, so that hashing a long stream overlaps
/// with reading or writing it rather than adding to it, and never holds an async worker.
///
/// Chunks reach the thread in batches of at least [`PIPE_BATCH`] bytes: a body read over
/// HTTP arrives in pieces of a few KiB, and waking the thread for each cost more than
/// hashing them.
pub(crate) struct HashPipe {
    state: PipeState,
}

enum PipeState {
    Inline(Digester),
    /// Hashing inline for good: no thread could be started.
    NoThread(Digester),
    Threaded {
        queue: tokio::sync::mpsc::Sender<Vec<bytes::Bytes>>,
        /// Chunks not yet sent to the thread, and their length.
        batch: Vec<bytes::Bytes>,
        batched: usize,
        done: tokio::sync::oneshot::Receiver<Digest>,
    },
}

/// Batches queued for a pipe's thread at most: a slow hash holds back the stream, not
/// memory.
const PIPE_QUEUE: usize = 8;

/// The bytes a pipe gathers before it hands them to its thread.
const PIPE_BATCH: usize = 512 * 1024;

impl HashPipe {
    pub(crate) fn new(digester: Digester) -> Self {
        HashPipe {
            state: PipeState::Inline(digester),
        }
    }

    /// Hashes the next chunk, or queues it for the pipe's thread once the stream is past
    /// [`INLINE_HASH_LIMIT`].
    pub(crate) async fn update(&mut self, chunk: bytes::Bytes) {
        if let PipeState::Inline(digester) = &mut self.state {
            if digester.size + chunk.len() as u64 > INLINE_HASH_LIMIT as u64 {
                self.state = PipeState::threaded(std::mem::take(digester));
            }
        }
        match &mut self.state {
            PipeState::Inline(digester) | PipeState::NoThread(digester) => digester.update(&chunk),
            PipeState::Threaded {
                queue,
                batch,
                batched,
                ..
            } => {
                *batched += chunk.len();
                batch.push(chunk);
                if *batched >= PIPE_BATCH {
                    *batched = 0;
                    // A thread that stopped is reported by `finish`.
                    let _ = queue.send(std::mem::take(batch)).await;
                }
            }
        }
    }

    /// The digest of every chunk, once the pipe's thread has hashed them all.
    pub(crate) async fn finish(self) -> std::io::Result<Digest> {
        match self.state {
            PipeState::Inline(digester) | PipeState::NoThread(digester) => Ok(digester.finish()),
            PipeState::Threaded {
                queue, batch, done, ..
            } => {
                if !batch.is_empty() {
                    let _ = queue.send(batch).await;
                }
                drop(queue);
                done.await.map_err(|_| {
                    std::io::Error::other("the hash thread stopped before the stream's end")
                })
            }
        }
    }
}

impl PipeState {
    /// A thread that goes on from `digester`, or, when no thread can be started,
    /// `digester` hashing inline for good.
    fn threaded(digester: Digester) -> PipeState {
        let (queue, mut batches) = tokio::sync::mpsc::channel::<Vec<bytes::Bytes>>(PIPE_QUEUE);
        let (finished, done) = tokio::sync::oneshot::channel();
        let mut hashing = digester.clone();
        let spawned = std::thread::Builder::new()
            .name("lakery-hash".to_owned())
            .spawn(move || {
                while let Some(batch) = batches.blocking_recv() {
                    for chunk in batch {
                        hashing.update(&chunk);
                    }
                }
                let _ = finished.send(hashing.finish());
            });
        match spawned {
            Ok(_) => PipeState::Threaded {
                queue,
                batch: Vec::new(),
                batched: 0,
                done,
            },
            Err(_) => PipeState::NoThread(digester),
        }
    }
}

/// Above this size, hashing moves off the async worker thread.
pub(crate) const INLINE_HASH_LIMIT: usize = 256 * 1024;

/// Hashes `data` with `algorithm`, on a blocking thread when it is large.
pub(crate) async fn digest(algorithm: HashAlgorithm, data: &bytes::Bytes) -> Result<Digest> {
    if data.len() <= INLINE_HASH_LIMIT {
        return Ok(Digest::with(algorithm, data));
    }
    let data = data.clone();
    tokio::task::spawn_blocking(move || Digest::with(algorithm, &data))
        .await
        .map_err(|e| Error::Task(Box::new(e)))
}

/// Yields to the async runtime every 64 values of a loop that hashes, serializes or
/// deserializes, so a large batch does not hold a worker thread for long stretches.
pub(crate) async fn cooperate(iteration: usize) {
    if iteration % 64 == 63 {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe gives the digest of the whole, whether it hashed inline, on its thread, or
    /// both, for chunk sizes on each side of the limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_hash_pipe_digests_what_passed_inline_and_threaded() {
        let data: Vec<u8> = (0..3 * INLINE_HASH_LIMIT + 17)
            .map(|i| (i % 251) as u8)
            .collect();
        for algorithm in HashAlgorithm::ALL {
            for chunk in [
                1000,
                INLINE_HASH_LIMIT - 1,
                INLINE_HASH_LIMIT + 1,
                data.len(),
            ] {
                for end in [100, INLINE_HASH_LIMIT, data.len()] {
                    let whole = &data[..end];
                    let mut pipe = HashPipe::new(Digester::with(algorithm));
                    for piece in whole.chunks(chunk) {
                        pipe.update(bytes::Bytes::copy_from_slice(piece)).await;
                    }
                    let threaded = matches!(pipe.state, PipeState::Threaded { .. });
                    assert_eq!(
                        threaded,
                        end > INLINE_HASH_LIMIT,
                        "{algorithm:?} {chunk} {end}"
                    );
                    assert_eq!(pipe.finish().await.unwrap(), Digest::with(algorithm, whole));
                }
            }
        }
    }
}
