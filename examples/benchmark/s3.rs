//! W2 and W3-large against a local S3 server (moto, from `.ci/s3 start`), beside the
//! same bytes put and got by `object_store` directly in the same run.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use lakery::serializer::{RawBytes, RawChunks};
use lakery::storage::object_store::{
    self, path::Path, ObjectStore, ObjectStoreExt, WriteMultipart,
};
use lakery::{ContentStream, ObjectStorage, Registry, Storable};

use crate::{median, share, BenchResult, Fresh};

/// W2 on S3: one large value.
#[derive(Storable)]
#[storable(class_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")]
pub struct BigS3 {
    #[content(serializer = RawBytes, storage = "s3")]
    data: Bytes,
}

/// W3-large on S3: raw chunks as a stream.
#[derive(Storable)]
#[storable(class_id = "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e")]
pub struct ChunksS3 {
    #[content(serializer = RawChunks, storage = "s3")]
    chunks: ContentStream<Bytes>,
}

/// The server, from `LAKERY_BENCH_S3_*` or, failing that, the tests' `LAKERY_TEST_S3_*`.
pub struct Server {
    endpoint: String,
    bucket: String,
    key_id: String,
    secret: String,
    /// The server's process id, when known (`.ci/s3 start` gives it): its CPU time is
    /// read from /proc beside this process's.
    pid: Option<u32>,
}

impl Server {
    pub fn from_env() -> Option<Server> {
        let var = |name: &str| {
            std::env::var(format!("LAKERY_BENCH_S3_{name}"))
                .or_else(|_| std::env::var(format!("LAKERY_TEST_S3_{name}")))
                .ok()
        };
        Some(Server {
            endpoint: var("ENDPOINT")?,
            bucket: var("BUCKET")?,
            key_id: var("ACCESS_KEY_ID")?,
            secret: var("SECRET_ACCESS_KEY")?,
            pid: var("PID").and_then(|pid| pid.parse().ok()),
        })
    }

    fn store(&self) -> BenchResult<Arc<dyn ObjectStore>> {
        Ok(Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(&self.endpoint)
                .with_allow_http(true)
                .with_bucket_name(&self.bucket)
                .with_region("us-east-1")
                .with_access_key_id(&self.key_id)
                .with_secret_access_key(&self.secret)
                .build()?,
        ))
    }
}

pub struct Figures {
    pub save: f64,
    pub load: f64,
    pub raw_put: f64,
    pub raw_get: f64,
    /// `object_store`'s get with the bytes hashed on a thread as they arrive: the least
    /// that any reader which checks a content's hash does.
    pub hashed_get: f64,
    pub save_share: f64,
    pub load_share: f64,
    /// The load's share of `hashed_get`.
    pub load_share_of_hashed: f64,
}

/// The rates of each round, MiB/s.
#[derive(Default)]
struct Rounds {
    save: Vec<f64>,
    load: Vec<f64>,
    put: Vec<f64>,
    get: Vec<f64>,
    hashed_get: Vec<f64>,
}

/// One round's references: put, get, and get with the bytes hashed, MiB/s.
type References = (f64, f64, f64);

impl Rounds {
    /// Runs one round, the reference first in even rounds and lakery in odd ones, and
    /// removes what it stored.
    async fn run(
        &mut self,
        bench: &Bench,
        label: &str,
        round: usize,
        raw: impl Future<Output = BenchResult<References>>,
        ours: impl Future<Output = BenchResult<(f64, f64)>>,
    ) -> BenchResult<()> {
        let (reference, lakery) = if round.is_multiple_of(2) {
            let reference = raw.await?;
            (reference, ours.await?)
        } else {
            let lakery = ours.await?;
            (raw.await?, lakery)
        };
        println!(
            "{label} round {round}: raw put {:.0} get {:.0} get+hash {:.0}, lakery save {:.0} load {:.0} MiB/s",
            reference.0, reference.1, reference.2, lakery.0, lakery.1
        );
        self.put.push(reference.0);
        self.get.push(reference.1);
        self.hashed_get.push(reference.2);
        self.save.push(lakery.0);
        self.load.push(lakery.1);
        bench.clear().await
    }

    fn figures(mut self) -> Figures {
        Figures {
            save_share: share(&self.save, &self.put),
            load_share: share(&self.load, &self.get),
            load_share_of_hashed: share(&self.load, &self.hashed_get),
            hashed_get: median(&mut self.hashed_get),
            save: median(&mut self.save),
            load: median(&mut self.load),
            raw_put: median(&mut self.put),
            raw_get: median(&mut self.get),
        }
    }
}

/// Rounds of each workload, each side going first in turn.
const ROUNDS: usize = 4;

/// The same part size and parts in flight as `ObjectStorage`'s defaults.
const PART_SIZE: usize = 8 << 20;
const PARTS_IN_FLIGHT: usize = 4;

struct Bench {
    store: Arc<dyn ObjectStore>,
    server_pid: Option<u32>,
    algorithm: lakery::HashAlgorithm,
    prefix: String,
    registry: Registry,
}

impl Bench {
    /// A run under a prefix of its own; `temp_key` uploads long streams under a
    /// temporary key rather than spooling them (the default).
    fn new(server: &Server, temp_key: bool) -> BenchResult<Bench> {
        let store = server.store()?;
        let prefix = format!("bench-{}", uuid::Uuid::new_v4());
        // `LAKERY_BENCH_S3_HASH=blake3` saves with BLAKE3 rather than SHA-256.
        let algorithm = match std::env::var("LAKERY_BENCH_S3_HASH").as_deref() {
            Ok("blake3") => lakery::HashAlgorithm::Blake3,
            _ => lakery::HashAlgorithm::Sha256,
        };
        let mut storage = ObjectStorage::from_store(store.clone(), &prefix)?;
        if temp_key {
            storage = storage.without_spool();
        }
        let registry = Registry::builder()
            .hash_algorithm(algorithm)
            .storage("s3", storage)
            .storable::<BigS3>()
            .storable::<ChunksS3>()
            .build()?;
        Ok(Bench {
            store,
            server_pid: server.pid,
            algorithm,
            prefix,
            registry,
        })
    }

    /// Removes every object of the run, so that the server does not hold them.
    async fn clear(&self) -> BenchResult<()> {
        let prefix = Path::from(self.prefix.as_str());
        let listed: Vec<_> = self.store.list(Some(&prefix)).collect().await;
        for meta in listed {
            self.store.delete(&meta?.location).await?;
        }
        Ok(())
    }
}

/// CPU seconds a process has used, user and system, from /proc (Linux counts them in
/// USER_HZ, 100 a second); `None` elsewhere.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command's closing parenthesis start with the state (field 3);
    // utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One measured stretch of a round: its wall time, and the CPU that this process and the
/// server used meanwhile, which shows how much of the machine's two cores each took.
struct Phase {
    started: Instant,
    client: Option<f64>,
    server: Option<f64>,
    server_pid: Option<u32>,
}

impl Phase {
    fn start(bench: &Bench) -> Phase {
        Phase {
            client: cpu_seconds("self"),
            server: bench
                .server_pid
                .and_then(|pid| cpu_seconds(&pid.to_string())),
            server_pid: bench.server_pid,
            started: Instant::now(),
        }
    }

    /// The rate of `mib` over the phase, MiB/s, printed with the cores each side used.
    fn end(self, label: &str, mib: f64) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64();
        let cores = |before: Option<f64>, now: Option<f64>| match (before, now) {
            (Some(before), Some(now)) => format!("{:.2}", (now - before) / seconds),
            _ => "?".to_owned(),
        };
        let client = cores(self.client, cpu_seconds("self"));
        let server = cores(
            self.server,
            self.server_pid
                .and_then(|pid| cpu_seconds(&pid.to_string())),
        );
        let rate = mib / seconds;
        println!(
            "    {label}: {rate:.0} MiB/s; cores used: this process {client}, server {server}"
        );
        rate
    }
}

/// Gets `path` as a stream and hashes its bytes on a thread of their own, fed in batches
/// while the next chunks arrive, as lakery's load does; keeps the bytes when `keep` is
/// set (a value is wanted whole). Returns the digest and the bytes kept.
async fn get_hashed(
    bench: &Bench,
    path: &Path,
    keep: bool,
) -> BenchResult<(lakery::Digest, Vec<u8>)> {
    let (batches, mut received) = tokio::sync::mpsc::channel::<Vec<Bytes>>(8);
    let mut digester = lakery::Digester::with(bench.algorithm);
    let hashing = std::thread::spawn(move || {
        while let Some(batch) = received.blocking_recv() {
            for chunk in batch {
                digester.update(&chunk);
            }
        }
        digester.finish()
    });
    let mut stream = bench.store.get(path).await?.into_stream();
    let (mut kept, mut batch, mut batched) = (Vec::new(), Vec::new(), 0);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if keep {
            kept.extend_from_slice(&chunk);
        }
        batched += chunk.len();
        batch.push(chunk);
        if batched >= 512 * 1024 {
            batched = 0;
            batches.send(std::mem::take(&mut batch)).await?;
        }
    }
    batches.send(batch).await?;
    drop(batches);
    let digest = hashing.join().map_err(|_| "the hash thread panicked")?;
    Ok((digest, kept))
}

/// W2 on S3: `size` random bytes as one value, and the same bytes put and got whole.
pub async fn w2(fresh: &Fresh, server: &Server, size: usize) -> BenchResult<Figures> {
    let bench = Bench::new(server, false)?;
    let mib = size as f64 / f64::from(1 << 20);
    let mut rounds = Rounds::default();
    for round in 0..ROUNDS {
        let mut data = vec![0u8; size];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut data);
        let data = Bytes::from(data);
        let raw = async {
            let path = Path::from(format!("{}/raw-w2", bench.prefix));
            let phase = Phase::start(&bench);
            bench.store.put(&path, data.clone().into()).await?;
            let put = phase.end("object_store put", mib);
            let phase = Phase::start(&bench);
            let back = bench.store.get(&path).await?.bytes().await?;
            let get = phase.end("object_store get", mib);
            assert!(back.len() == size, "the raw get returns every byte");
            let phase = Phase::start(&bench);
            let (digest, back) = get_hashed(&bench, &path, true).await?;
            let hashed = phase.end("object_store get + hash", mib);
            assert!(back.len() == size && digest.size == size as u64);
            BenchResult::Ok((put, get, hashed))
        };
        let ours = async {
            let big = BigS3 { data: data.clone() };
            let phase = Phase::start(&bench);
            let record = lakery::save_one(&big, &bench.registry, &fresh.db).await?;
            let save = phase.end("lakery save", mib);
            let phase = Phase::start(&bench);
            let back: BigS3 = lakery::load_one(&record, &bench.registry, &fresh.db).await?;
            let load = phase.end("lakery load", mib);
            assert!(back.data == data, "W2 on S3 loads back identical");
            BenchResult::Ok((save, load))
        };
        rounds.run(&bench, "W2-S3", round, raw, ours).await?;
    }
    Ok(rounds.figures())
}

/// 1 MiB chunks from one random block, numbered in their first bytes.
fn chunk(block: &[u8], number: u64) -> Bytes {
    let mut chunk = block.to_vec();
    chunk[..8].copy_from_slice(&number.to_le_bytes());
    Bytes::from(chunk)
}

/// W3-large on S3: `chunks` MiB as a stream, and the same chunks uploaded in parts of the
/// same size, as many in flight, and read back as a stream; `temp_key` uploads the
/// stream under a temporary key and copies it, rather than spooling it.
pub async fn w3_large(
    fresh: &Fresh,
    server: &Server,
    chunks: u64,
    temp_key: bool,
) -> BenchResult<Figures> {
    let bench = Bench::new(server, temp_key)?;
    let mib = chunks as f64;
    let mut rounds = Rounds::default();
    for round in 0..ROUNDS {
        let mut block = vec![0u8; 1 << 20];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut block);
        let raw = async {
            let path = Path::from(format!("{}/raw-w3", bench.prefix));
            let phase = Phase::start(&bench);
            let upload = bench.store.put_multipart(&path).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            for number in 0..chunks {
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                writer.put(chunk(&block, number));
            }
            writer.finish().await?;
            let put = phase.end("object_store multipart put", mib);
            let phase = Phase::start(&bench);
            let mut stream = bench.store.get(&path).await?.into_stream();
            let mut bytes = 0;
            while let Some(piece) = stream.next().await {
                bytes += piece?.len() as u64;
            }
            let get = phase.end("object_store get", mib);
            assert!(bytes == chunks << 20, "the raw get returns every byte");
            let phase = Phase::start(&bench);
            let (digest, _) = get_hashed(&bench, &path, false).await?;
            let hashed = phase.end("object_store get + hash", mib);
            assert!(
                digest.size == chunks << 20,
                "the hashed get reads every byte"
            );
            BenchResult::Ok((put, get, hashed))
        };
        let ours = async {
            let value = ChunksS3 {
                chunks: ContentStream::from_iter((0..chunks).map({
                    let block = block.clone();
                    move |number| chunk(&block, number)
                })),
            };
            let phase = Phase::start(&bench);
            let record = lakery::save_one(&value, &bench.registry, &fresh.db).await?;
            let save = phase.end("lakery save", mib);
            let phase = Phase::start(&bench);
            let loaded: ChunksS3 = lakery::load_one(&record, &bench.registry, &fresh.db).await?;
            let mut stream = loaded.chunks;
            let mut bytes = 0;
            while let Some(piece) = stream.next().await {
                bytes += piece?.len() as u64;
            }
            let load = phase.end("lakery load", mib);
            assert!(bytes == chunks << 20, "W3-large on S3 loads every byte");
            BenchResult::Ok((save, load))
        };
        let label = if temp_key {
            "W3-large-S3-temp-key"
        } else {
            "W3-large-S3"
        };
        rounds.run(&bench, label, round, raw, ours).await?;
    }
    Ok(rounds.figures())
}
