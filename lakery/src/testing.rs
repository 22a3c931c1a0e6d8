//! A conformance kit: checks that a [`Storage`], a [`Serializer`] or a
//! [`StreamSerializer`] behaves as lakery relies on, with one call each.
//!
//! Enable the `testing` feature in your dev-dependencies and call it from a test:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() {
//! let dir = tempfile::tempdir().unwrap();
//! let storage = lakery::FileStorage::new(dir.path()).unwrap();
//! lakery::testing::check_storage(&storage).await.unwrap();
//! # }
//! ```
//!
//! Each function runs every check and returns them all: [`Conformance`] lists the ones
//! that failed, each with what was expected.

mod durability;
mod faults;

pub use durability::{connection_settings, DurabilityLog, DurabilityStep};
pub use faults::{FaultCounter, FaultCounts, Faults, FaultyStorage};

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Bytes, BytesMut};
use futures::stream::{self, StreamExt};

use crate::hash::{Digest, HashAlgorithm};
use crate::record::Tags;
use crate::serializer::{Serializer, Stored, StreamSerializer};
use crate::storage::{Storage, StorageErrorKind, StreamWriteRequest, WriteRequest};

/// The checks that failed, by name, with what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conformance {
    /// What was checked: the storage or serializer.
    pub subject: String,
    /// One line per failed check.
    pub failures: Vec<String>,
}

impl fmt::Display for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed {} check(s):",
            self.subject,
            self.failures.len()
        )?;
        for failure in &self.failures {
            write!(f, "\n  - {failure}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Conformance {}

struct Checks {
    subject: String,
    failures: Vec<String>,
}

impl Checks {
    fn new(subject: impl Into<String>) -> Self {
        Checks {
            subject: subject.into(),
            failures: Vec::new(),
        }
    }

    fn check(&mut self, name: &str, passed: Result<(), String>) {
        if let Err(why) = passed {
            self.failures.push(format!("{name}: {why}"));
        }
    }

    fn finish(self) -> Result<(), Conformance> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(Conformance {
                subject: self.subject,
                failures: self.failures,
            })
        }
    }
}

/// Deterministic bytes, different for each `seed`.
fn data(seed: u64, len: usize) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64: enough to make the bytes of one test differ from another's.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// `bytes` as a stream of pieces of the given sizes.
fn pieces(bytes: &Bytes, size: usize) -> crate::storage::ByteStream {
    let chunks: Vec<Bytes> = (0..bytes.len())
        .step_by(size.max(1))
        .map(|start| bytes.slice(start..(start + size).min(bytes.len())))
        .collect();
    stream::iter(chunks.into_iter().map(Ok)).boxed()
}

async fn read_all<S: Storage + ?Sized>(
    storage: &S,
    config: &serde_json::Value,
) -> Result<Bytes, String> {
    let mut chunks = storage
        .read_stream(config)
        .await
        .map_err(|e| format!("read_stream failed: {e}"))?;
    let mut all = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        all.extend_from_slice(&chunk.map_err(|e| format!("a chunk of read_stream failed: {e}"))?);
    }
    Ok(all.freeze())
}

/// Reads `bytes` back both ways through `config`, after a trip of the config through
/// JSON text, as it makes through the database.
async fn reads_back<S: Storage + ?Sized>(
    storage: &S,
    config: &serde_json::Value,
    bytes: &Bytes,
) -> Result<serde_json::Value, String> {
    let text = config.to_string();
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("the config {text} is not JSON: {e}"))?;
    let read = storage
        .read(&config)
        .await
        .map_err(|e| format!("read failed: {e}"))?;
    if read != *bytes {
        return Err(format!(
            "read {} bytes back, wrote {}",
            read.len(),
            bytes.len()
        ));
    }
    let streamed = read_all(storage, &config).await?;
    if streamed != *bytes {
        return Err(format!(
            "read_stream gave {} bytes back, wrote {}",
            streamed.len(),
            bytes.len()
        ));
    }
    Ok(config)
}

/// Writes `bytes` as a value and reads them back.
async fn value_round_trip<S: Storage + ?Sized>(
    storage: &S,
    bytes: &Bytes,
    tags: &Tags,
) -> Result<serde_json::Value, String> {
    let config = storage
        .write(WriteRequest::new(bytes.clone(), Digest::of(bytes), tags))
        .await
        .map_err(|e| format!("write failed: {e}"))?;
    reads_back(storage, &config, bytes).await
}

/// Writes `bytes` as a stream of `size`-byte pieces and reads them back.
async fn stream_round_trip<S: Storage + ?Sized>(
    storage: &S,
    bytes: &Bytes,
    size: usize,
    tags: &Tags,
) -> Result<(), String> {
    stream_round_trip_with(storage, bytes, size, tags, HashAlgorithm::Sha256).await
}

/// Writes `bytes` as a stream of `size`-byte pieces, asking for a digest in
/// `algorithm`, and reads them back.
async fn stream_round_trip_with<S: Storage + ?Sized>(
    storage: &S,
    bytes: &Bytes,
    size: usize,
    tags: &Tags,
    algorithm: HashAlgorithm,
) -> Result<(), String> {
    let request = StreamWriteRequest::new(pieces(bytes, size), tags).hash_algorithm(algorithm);
    let (config, digest) = storage
        .write_stream(request)
        .await
        .map_err(|e| format!("write_stream failed: {e}"))?;
    let expected = Digest::with(algorithm, bytes);
    if digest != expected {
        return Err(format!(
            "write_stream reported size {} and {} hash {}, the bytes have size {} and {} hash {}",
            digest.size,
            digest.algorithm,
            digest.hex(),
            expected.size,
            expected.algorithm,
            expected.hex()
        ));
    }
    reads_back(storage, &config, bytes).await.map(drop)
}

/// Checks a storage: round trips of empty, small, large and multi-chunk data, as values
/// and as streams, read both ways; configs that survive JSON; identical content written
/// twice; a stream that fails midway; a deleted blob reported missing; tags given with
/// every write; and concurrent writers.
pub async fn check_storage<S: Storage>(storage: &S) -> Result<(), Conformance> {
    let mut checks = Checks::new(std::any::type_name::<S>());
    let tags = Tags::from([("kit".to_owned(), "conformance".to_owned())]);
    for (name, len) in [("empty", 0), ("small", 13), ("large", 3 << 20)] {
        let bytes = data(len as u64 + 1, len);
        let result = value_round_trip(storage, &bytes, &tags).await.map(drop);
        checks.check(&format!("{name} value round trip"), result);
        let result = stream_round_trip(storage, &bytes, 64 << 10, &tags).await;
        checks.check(&format!("{name} stream round trip"), result);
    }
    let bytes = data(7, 100_003);
    checks.check(
        "a stream of one-byte pieces",
        stream_round_trip(storage, &data(8, 3000), 1, &tags).await,
    );
    checks.check(
        "a stream in uneven pieces",
        stream_round_trip(storage, &bytes, 7_777, &tags).await,
    );
    for algorithm in HashAlgorithm::ALL {
        checks.check(
            &format!("a stream hashed with {algorithm}"),
            stream_round_trip_with(storage, &bytes, 65_536, &tags, algorithm).await,
        );
        let value = data(12, 40_000);
        let written = storage
            .write(WriteRequest::new(
                value.clone(),
                Digest::with(algorithm, &value),
                &tags,
            ))
            .await;
        checks.check(
            &format!("a value hashed with {algorithm}"),
            match written {
                Ok(config) => reads_back(storage, &config, &value).await.map(drop),
                Err(e) => Err(format!("write failed: {e}")),
            },
        );
    }

    // The same content twice: both writes succeed and both configs read it.
    let twice = data(9, 50_000);
    let first = value_round_trip(storage, &twice, &tags).await;
    let second = value_round_trip(storage, &twice, &tags).await;
    checks.check(
        "identical content written twice",
        match (first, second) {
            (Ok(_), Ok(_)) => Ok(()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
    );

    // A stream that fails midway is an error, not a short blob.
    let failing = stream::iter(vec![
        Ok(data(10, 1000)),
        Err(crate::storage::StorageError::new(
            StorageErrorKind::Other,
            "the producer failed",
        )),
    ])
    .boxed();
    let result = storage
        .write_stream(StreamWriteRequest::new(failing, &tags))
        .await;
    checks.check(
        "a stream that fails midway",
        match result {
            Err(_) => Ok(()),
            Ok((config, _)) => Err(format!(
                "write_stream succeeded with config {config} although its stream failed"
            )),
        },
    );

    // Deleted: missing, reported as such, and deleting again is no error.
    let gone = data(11, 2000);
    match value_round_trip(storage, &gone, &tags).await {
        Err(e) => checks.check("delete", Err(format!("could not write: {e}"))),
        Ok(config) => {
            let deleted = storage.delete(&config).await;
            checks.check("delete", deleted.map_err(|e| format!("delete failed: {e}")));
            let exists = storage.exists(&config).await;
            checks.check(
                "a deleted blob does not exist",
                match exists {
                    Ok(false) => Ok(()),
                    Ok(true) => Err("exists returned true after delete".into()),
                    Err(e) => Err(format!("exists failed: {e}")),
                },
            );
            let read = storage.read(&config).await;
            checks.check(
                "reading a deleted blob is a NotFound error",
                match read {
                    Err(e) if e.kind() == StorageErrorKind::NotFound => Ok(()),
                    Err(e) => Err(format!(
                        "the error's kind is {:?}, not NotFound: {e}",
                        e.kind()
                    )),
                    Ok(bytes) => Err(format!("read returned {} bytes", bytes.len())),
                },
            );
            let again = storage.delete(&config).await;
            checks.check(
                "deleting a missing blob is no error",
                again.map_err(|e| format!("delete failed: {e}")),
            );
        }
    }

    // Concurrent writers, of distinct and of identical contents.
    let writes = (0..16u64).map(|i| {
        let bytes = data(100 + i % 4, 20_000 + (i % 4) as usize);
        let tags = &tags;
        async move { value_round_trip(storage, &bytes, tags).await.map(drop) }
    });
    let results = futures::future::join_all(writes).await;
    checks.check(
        "concurrent writers",
        results
            .into_iter()
            .collect::<Result<Vec<()>, String>>()
            .map(drop),
    );
    checks.finish()
}

/// Checks a serializer on `samples`: each round-trips, its config survives JSON, and
/// junk bytes make `deserialize` return an error rather than panic.
pub fn check_serializer<S, T>(serializer: &S, samples: &[T]) -> Result<(), Conformance>
where
    S: Serializer<T>,
    T: PartialEq + fmt::Debug,
{
    let mut checks = Checks::new(format!("serializer `{}`", serializer.name()));
    let config = serializer.config();
    checks.check("config survives JSON", json_round_trip(&config));
    checks.check(
        "reads its own name",
        if serializer.can_read(serializer.name()) {
            Ok(())
        } else {
            Err(format!("can_read(\"{}\") is false", serializer.name()))
        },
    );
    let stored = Stored {
        serializer_name: serializer.name(),
        serializer_config: config.as_ref(),
        content_type: serializer.content_type(),
        max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
    };
    for (i, sample) in samples.iter().enumerate() {
        let result = serializer
            .serialize(sample)
            .map_err(|e| format!("serialize failed: {e}"))
            .and_then(|bytes| {
                serializer
                    .deserialize(bytes, &stored)
                    .map_err(|e| format!("deserialize failed: {e}"))
            })
            .and_then(|back| {
                if back == *sample {
                    Ok(())
                } else {
                    Err(format!("{back:?} came back for {sample:?}"))
                }
            });
        checks.check(&format!("sample {i} round trip"), result);
    }
    for seed in 0..64u64 {
        let junk = data(1000 + seed, (seed as usize * 7) % 300);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let _ = serializer.deserialize(junk.clone(), &stored);
        }));
        if outcome.is_err() {
            checks.check(
                "junk bytes",
                Err(format!("deserialize panicked on {} junk bytes", junk.len())),
            );
            break;
        }
    }
    checks.finish()
}

/// Checks a stream serializer on `items`: they round-trip (come back equal, or, for
/// items that may split differently such as raw chunks, encode to the same bytes)
/// whether the bytes arrive whole, byte by byte or in uneven pieces; the empty stream too; its config survives JSON;
/// and junk bytes make the decoder return an error rather than panic.
pub fn check_stream_serializer<S, T>(serializer: &S, items: &[T]) -> Result<(), Conformance>
where
    S: StreamSerializer<T>,
    T: PartialEq + fmt::Debug,
{
    let mut checks = Checks::new(format!("stream serializer `{}`", serializer.name()));
    let config = serializer.config();
    checks.check("config survives JSON", json_round_trip(&config));
    let stored = Stored {
        serializer_name: serializer.name(),
        serializer_config: config.as_ref(),
        content_type: serializer.content_type(),
        max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
    };
    let encode = |items: &[T]| -> Result<Bytes, String> {
        let mut encoder = serializer.encoder();
        let mut out = Vec::new();
        for item in items {
            match encoder.pass_through(item) {
                Some(bytes) => out.extend_from_slice(&bytes),
                None => encoder
                    .encode(item, &mut out)
                    .map_err(|e| format!("encode failed: {e}"))?,
            }
        }
        encoder
            .finish(&mut out)
            .map_err(|e| format!("finish failed: {e}"))?;
        Ok(out.into())
    };
    let decode = |bytes: &Bytes, size: usize| -> Result<Vec<T>, String> {
        let mut decoder = serializer
            .decoder(&stored)
            .map_err(|e| format!("decoder failed: {e}"))?;
        let mut input = BytesMut::new();
        let mut out = Vec::new();
        for start in (0..bytes.len()).step_by(size.max(1)) {
            input.extend_from_slice(&bytes[start..(start + size).min(bytes.len())]);
            decoder
                .decode(&mut input, false, &mut out)
                .map_err(|e| format!("decode failed: {e}"))?;
        }
        decoder
            .decode(&mut input, true, &mut out)
            .map_err(|e| format!("decode at the end failed: {e}"))?;
        Ok(out)
    };
    match encode(items) {
        Err(e) => checks.check("encode", Err(e)),
        Ok(bytes) => {
            for (name, size) in [
                ("whole", usize::MAX),
                ("byte by byte", 1),
                ("in pieces of 7", 7),
                ("in pieces of 4096", 4096),
            ] {
                // Items that split differently (raw chunks cut where the pieces fall)
                // still round-trip when they encode to the same bytes.
                let result = decode(&bytes, size.min(bytes.len().max(1))).and_then(|back| {
                    if back == items || encode(&back).is_ok_and(|again| again == bytes) {
                        Ok(())
                    } else {
                        Err(format!(
                            "{} items came back for {}",
                            back.len(),
                            items.len()
                        ))
                    }
                });
                checks.check(&format!("round trip, {name}"), result);
            }
        }
    }
    let empty = encode(&[]).and_then(|bytes| decode(&bytes, 3));
    checks.check(
        "the empty stream",
        match empty {
            Ok(back) if back.is_empty() => Ok(()),
            Ok(back) => Err(format!("{} items came back", back.len())),
            Err(e) => Err(e),
        },
    );
    for seed in 0..64u64 {
        let junk = data(2000 + seed, (seed as usize * 7) % 300);
        if catch_unwind(AssertUnwindSafe(|| {
            let _ = decode(&junk, 5);
        }))
        .is_err()
        {
            checks.check(
                "junk bytes",
                Err(format!("decoding panicked on {} junk bytes", junk.len())),
            );
            break;
        }
    }
    checks.finish()
}

fn json_round_trip(config: &Option<serde_json::Value>) -> Result<(), String> {
    let Some(config) = config else {
        return Ok(());
    };
    let text = config.to_string();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(back) if back == *config => Ok(()),
        Ok(back) => Err(format!("{config} came back as {back}")),
        Err(e) => Err(format!("{text} does not parse: {e}")),
    }
}

/// One content as stored, for [`repack`]: what a row and its bytes give.
#[derive(Debug, Clone, PartialEq)]
pub struct RawContent {
    /// The content's key: `body`, a field's name, `<field>.<entry>`.
    pub key: String,
    /// The content type recorded.
    pub content_type: String,
    /// The serializer name recorded, such as `lakery.json@v1`.
    pub serializer_name: String,
    /// The serializer config recorded.
    pub serializer_config: Option<serde_json::Value>,
    /// The encoding recorded (`zstd`, `gzip`), if any.
    pub encoding: Option<String>,
    /// The stored bytes.
    pub data: Bytes,
}

/// Rebuilds a `T` saved at `version` from contents as they would come from storage,
/// without a database: for fuzzing and property tests of what a type does with stored
/// data it did not write. Any input must give a value or an error, never a panic.
///
/// Hashes are not checked here (there are none to check against): the bytes are taken
/// as read and checked.
pub fn repack<T: crate::storable::Storable>(
    version: u32,
    contents: &[RawContent],
) -> crate::error::Result<T> {
    let manifest = crate::id::ManifestId::from(uuid::Uuid::nil());
    let mut loaded = Vec::with_capacity(contents.len());
    for content in contents {
        let encoding = match &content.encoding {
            None => None,
            Some(name) => Some(crate::encoding::Encoding::from_name(name).ok_or_else(|| {
                crate::error::Error::CorruptRecord {
                    manifest: manifest.to_string(),
                    reason: format!("content `{}` has unknown encoding `{name}`", content.key),
                }
            })?),
        };
        loaded.push(crate::repack::LoadedContent {
            key: content.key.clone(),
            data: content.data.clone(),
            lazy: None,
            content_type: content.content_type.clone(),
            serializer_name: content.serializer_name.clone(),
            serializer_config: content.serializer_config.clone(),
            encoding,
            storage_name: String::new(),
            decoded_limit: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
        });
    }
    T::repack_version(
        version,
        &mut crate::repack::Repacker::new(manifest, version, loaded),
    )
}
