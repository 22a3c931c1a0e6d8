//! W3 and W3-large: stream contents through the file storage, with peak resident
//! memory read from `/proc/self/status`.

use std::io::{Read, Write};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use lakery::serializer::{JsonLines, RawChunks};
use lakery::{ContentStream, HashAlgorithm, Storable};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::{median, share, BenchResult, Fresh};

/// W3's record.
#[derive(Serialize, Deserialize)]
pub struct Record {
    id: u64,
    value: String,
}

/// W3's value: one stream of records, as JSON Lines in the file storage.
#[derive(Storable)]
#[storable(class_id = "e6a4f3d5-0b9c-4d8e-9fa0-4b5c6d7e8f90")]
pub struct Records {
    #[content(serializer = JsonLines, storage = "files")]
    records: ContentStream<Record>,
}

/// W3-large's value: raw chunks in the file storage.
#[derive(Storable)]
#[storable(class_id = "f7b5a4e6-1cad-4e9f-a0b1-5c6d7e8f9a01")]
pub struct Chunks {
    #[content(serializer = RawChunks, storage = "files")]
    chunks: ContentStream<Bytes>,
}

/// One of the process's memory figures from `/proc/self/status`, in MiB (Linux).
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A run's resident memory: what the process held when it began, and its peak during
/// the run.
pub struct Memory {
    before: Option<f64>,
    peak: Option<f64>,
}

impl Memory {
    /// Resets the process's peak resident memory to its current size, so that the peak
    /// read by [`Memory::end`] covers only what runs in between.
    pub fn start() -> Memory {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        Memory {
            before: status_mib("VmRSS:"),
            peak: None,
        }
    }

    fn end(mut self) -> Memory {
        self.peak = status_mib("VmHWM:");
        self
    }

    /// What the run added at its peak over what the process held before it.
    pub fn measured(&self) -> String {
        match (self.before, self.peak) {
            (Some(before), Some(peak)) => format!("{:.0} MiB over start", peak - before),
            _ => "unknown".into(),
        }
    }

    pub fn describe(&self) -> String {
        match (self.before, self.peak) {
            (Some(before), Some(peak)) => {
                format!("peak RSS {peak:.0} MiB; {before:.0} MiB held before the run")
            }
            _ => "peak memory unknown (needs Linux's /proc)".into(),
        }
    }
}

pub struct W3Figures {
    pub save: f64,
    pub load: f64,
    pub memory: Memory,
}

/// W3: `n` records saved as a stream, then loaded and iterated to the end.
pub async fn w3(fresh: &Fresh, n: u64) -> BenchResult<W3Figures> {
    let (db, registry) = (&fresh.db, &fresh.registry);
    let memory = Memory::start();
    let value = Records {
        records: ContentStream::from_iter((0..n).map(|id| Record {
            id,
            value: format!("item_{id}"),
        })),
    };
    let started = Instant::now();
    let record = lakery::save_one(&value, registry, db).await?;
    let save = n as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let loaded: Records = lakery::load_one(&record, registry, db).await?;
    let mut records = loaded.records;
    let mut count = 0u64;
    while let Some(item) = records.next().await {
        let item = item?;
        assert!(item.id == count, "W3 records come back in order");
        count += 1;
    }
    let load = n as f64 / started.elapsed().as_secs_f64();
    assert!(count == n, "W3 loads every record: {count} of {n}");
    Ok(W3Figures {
        save,
        load,
        memory: memory.end(),
    })
}

/// W3-large's chunks: 1 MiB each, from one random block with the chunk's number in its
/// first bytes, made as they are needed.
fn chunk(block: &[u8], number: u64) -> Bytes {
    let mut chunk = block.to_vec();
    chunk[..8].copy_from_slice(&number.to_le_bytes());
    Bytes::from(chunk)
}

pub struct W3LargeFigures {
    pub save: f64,
    pub load: f64,
    pub raw_write: f64,
    pub raw_read: f64,
    /// Medians over the rounds of lakery's rate over the reference's in the same round.
    pub save_share: f64,
    pub load_share: f64,
    pub memory: Memory,
}

/// W3-large's rounds, each measuring the reference and lakery back to back, in turn
/// first, as for W2: the disk's rate swings from one second to the next. An even number,
/// so that each goes first as often as the other.
const ROUNDS: usize = 6;

/// Lets the disk finish what the last measurement left it (the kernel's and the virtual
/// disk's write-behind) before the next starts, so that neither pays for the other.
fn settle() -> BenchResult<()> {
    std::process::Command::new("sync").status()?;
    std::thread::sleep(std::time::Duration::from_secs(1));
    Ok(())
}

/// The hash of the read reference, by the algorithm's own crate.
enum RawHasher {
    Sha256(sha2::Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl RawHasher {
    fn new(algorithm: HashAlgorithm) -> RawHasher {
        match algorithm {
            HashAlgorithm::Blake3 => RawHasher::Blake3(Box::default()),
            _ => RawHasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            RawHasher::Sha256(hasher) => hasher.update(bytes),
            RawHasher::Blake3(hasher) => {
                hasher.update(bytes);
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            RawHasher::Sha256(hasher) => hasher.finalize().to_vec(),
            RawHasher::Blake3(hasher) => hasher.finalize().as_bytes().to_vec(),
        }
    }
}

/// The reference: the same chunks written to a file and fsynced, then read back in
/// 1 MiB pieces and hashed with `algorithm`; MiB/s each way.
fn raw_rates(
    dir: &std::path::Path,
    block: &[u8],
    chunks: u64,
    algorithm: HashAlgorithm,
) -> BenchResult<(f64, f64)> {
    let mib = chunks as f64;
    let path = dir.join("raw-large.bin");
    let started = Instant::now();
    let mut file = std::fs::File::create(&path)?;
    for number in 0..chunks {
        file.write_all(&chunk(block, number))?;
    }
    file.sync_all()?;
    drop(file);
    let write = mib / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut file = std::fs::File::open(&path)?;
    let mut hasher = RawHasher::new(algorithm);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    std::hint::black_box(hasher.finish());
    let read = mib / started.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok((write, read))
}

/// lakery: the chunks saved as a stream and loaded back to the end; MiB/s each way.
async fn lakery_rates(
    fresh: &Fresh,
    registry: &lakery::Registry,
    block: &[u8],
    chunks: u64,
) -> BenchResult<(f64, f64)> {
    let db = &fresh.db;
    let mib = chunks as f64;
    let value = Chunks {
        chunks: ContentStream::from_iter((0..chunks).map({
            let block = block.to_vec();
            move |number| chunk(&block, number)
        })),
    };
    let started = Instant::now();
    let record = lakery::save_one(&value, registry, db).await?;
    let save = mib / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let loaded: Chunks = lakery::load_one(&record, registry, db).await?;
    let mut stream = loaded.chunks;
    let mut bytes = 0u64;
    while let Some(piece) = stream.next().await {
        bytes += piece?.len() as u64;
    }
    let load = mib / started.elapsed().as_secs_f64();
    assert!(bytes == chunks << 20, "W3-large loads every byte");
    Ok((save, load))
}

/// W3-large: `chunks` MiB of raw chunks saved as a stream and loaded back, beside the
/// same chunks written with fsync and read back and hashed directly; both hash with
/// `algorithm`.
pub async fn w3_large(
    fresh: &Fresh,
    chunks: u64,
    algorithm: HashAlgorithm,
) -> BenchResult<W3LargeFigures> {
    let dir = fresh.dir.path();
    let registry = crate::registry_with(dir, algorithm)?;
    let memory = Memory::start();
    let (mut raw_write, mut raw_read, mut save, mut load) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        // New bytes each round, so that each round's blob is written anew.
        let mut block = vec![0u8; 1 << 20];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut block);
        let (ours, reference) = if round % 2 == 0 {
            settle()?;
            let reference = raw_rates(dir, &block, chunks, algorithm)?;
            settle()?;
            (
                lakery_rates(fresh, &registry, &block, chunks).await?,
                reference,
            )
        } else {
            settle()?;
            let ours = lakery_rates(fresh, &registry, &block, chunks).await?;
            settle()?;
            (ours, raw_rates(dir, &block, chunks, algorithm)?)
        };
        println!(
            "W3-large ({algorithm}) round {round}: raw write {:.0} read {:.0}, lakery save {:.0} \
             load {:.0} MiB/s",
            reference.0, reference.1, ours.0, ours.1
        );
        raw_write.push(reference.0);
        raw_read.push(reference.1);
        save.push(ours.0);
        load.push(ours.1);
    }
    Ok(W3LargeFigures {
        save_share: share(&save, &raw_write),
        load_share: share(&load, &raw_read),
        save: median(&mut save),
        load: median(&mut load),
        raw_write: median(&mut raw_write),
        raw_read: median(&mut raw_read),
        memory: memory.end(),
    })
}
