//! lakery's throughput benchmark. Run it in release mode:
//!
//! ```text
//! cargo run --release --example benchmark
//! ```
//!
//! Every workload runs on a fresh database and fresh temporary folders, and each is
//! printed beside its target and the raw reference measured in the same run. A fresh
//! database is a new SQLite file, or on a server a new database `lakery_bench_<random>`,
//! created for the run and dropped after it (also when it fails).
//!
//! - W1 (SQLite): 10,000 values of `{ name, params: 4 entries, results: 100 f64 }`, all
//!   in the body, saved as one batch and loaded as one batch. Reference: the same
//!   manifest and content rows (already serialized) inserted straight into SQLite in one
//!   transaction.
//! - W1-single (SQLite): 1,000 such values saved with `save_one` and loaded with
//!   `load_one`, one call at a time. Reference: one small durable SQLite commit.
//! - W1-pg, W1-single-pg: the same two on PostgreSQL. References, each in a fresh
//!   database of its own: W1's rows inserted through one `AsyncPgConnection` in one
//!   transaction with multi-row inserts of 1,000 rows (`LAKERY_BENCH_RAW_ROWS` changes
//!   that), then read back by id, 1,000 ids per query; and, for W1-single, each value's
//!   rows inserted in a transaction of its own, then each read back by id.
//! - Tag query, on SQLite, PostgreSQL and MariaDB: 100,000 manifests saved in batches
//!   of 10,000, each tagged `sample = hay-<n>` (1,000 values) and `group = g<n>`, but
//!   for 100 tagged `sample = needle`; then `Query::new().tag("sample", "needle")` and
//!   `Query::of::<T>().tag(..)`, each run 20 times after a warm-up and required to find
//!   exactly the 100. Reference: a join of manifests and tags, through one connection.
//! - W2 (SQLite): one value whose only content is 256 MiB of random bytes (raw bytes
//!   serializer, file storage). References: 256 MiB written and fsynced to a file;
//!   256 MiB read back and hashed with SHA-256. Five rounds, each measuring the
//!   references and lakery back to back (in turn first); the rates are the medians, the
//!   share of the reference the median of each round's share.
//!
//! - W3 (SQLite): one value whose only content is a stream of 1,000,000 records
//!   `{id, value: "item_<id>"}` through JSON Lines into the file storage, then loaded and
//!   iterated to the end; records per second each way, and the peak resident memory.
//! - W3-large: 1 GiB of raw 1 MiB chunks through the file storage, save and load, beside
//!   the same chunks written and fsynced, and read back and hashed, directly, in three
//!   rounds as for W2; and the peak resident memory of the run (`VmHWM`, reset before
//!   it starts), over what the process held when it started. W3 and W3-large run last:
//!   the gigabytes they write keep the disk busy for a while after.
//!
//! `LAKERY_BENCH_ONLY=w1,w1-single,w1-pg,w1-single-pg,tag-query,w2,w3,w3-large,w3-large-blake3,
//! w2-s3,w3-large-s3,w3-large-s3-temp-key` runs only the
//! workloads named (`tag-query-sqlite`, `tag-query-pg` and `tag-query-mysql` name one
//! backend's tag query). `LAKERY_BENCH_SCALE=0.1` shrinks every workload, for a quick
//! check. The servers are found at `LAKERY_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`) and `LAKERY_BENCH_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`), as users that may create and drop databases; a
//! workload whose server cannot be reached is reported as skipped.

// The example is a crate root, so its modules are found by path.
#[path = "benchmark/raw.rs"]
mod raw;
#[path = "benchmark/s3.rs"]
mod s3;
#[path = "benchmark/server.rs"]
mod server;
#[path = "benchmark/streams.rs"]
mod streams;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lakery::serializer::RawBytes;
use lakery::{Backend, Database, FileStorage, Query, Registry, Storable};
use rand::RngCore;

use crate::server::{label, Server, ServerDb};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "b3d1c0a2-7e6f-4a5b-9c8d-1e2f3a4b5c6d")]
struct Row {
    name: String,
    params: BTreeMap<String, f64>,
    results: Vec<f64>,
}

/// W2's value. Large binary data is best held in `bytes::Bytes`, which the raw bytes
/// serializer hands to the storage without a copy.
#[derive(Storable)]
#[storable(class_id = "c4e2d1b3-8f7a-4b6c-8d9e-2f3a4b5c6d7e")]
struct Big {
    #[content(serializer = RawBytes, storage = "files")]
    data: bytes::Bytes,
}

/// The same as a `Vec<u8>`, which is copied once when saved: printed for comparison.
#[derive(Storable)]
#[storable(class_id = "d5f3e2c4-9a8b-4c7d-8eaf-3a4b5c6d7e8f")]
struct BigVec {
    #[content(serializer = RawBytes, storage = "files")]
    data: Vec<u8>,
}

/// The tag query's values: small, and told apart by their tags.
#[derive(Storable)]
#[storable(class_id = "f7234b39-dc41-4ddc-aecb-2158e524bfd0")]
struct Sample {
    index: u64,
}

fn row(i: usize) -> Row {
    Row {
        name: format!("run-{i:06}"),
        params: (0..4)
            .map(|p| (format!("param_{p}"), (i * 4 + p) as f64 * 0.001))
            .collect(),
        results: (0..100).map(|r| ((i * 100 + r) as f64).sqrt()).collect(),
    }
}

struct Figures {
    lines: Vec<String>,
}

impl Figures {
    fn add(&mut self, workload: &str, measured: String, target: String, reference: String) {
        let line =
            format!("{workload:<18} {measured:>22}   target {target:<18} reference {reference}");
        println!("{line}");
        self.lines.push(line);
    }

    fn skipped(&mut self, workload: &str, target: &str, reason: &str) {
        self.add(
            workload,
            "skipped".into(),
            target.into(),
            format!("- ({reason})"),
        );
    }
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median and maximum of some timings, in ms.
fn median_max(times: &[Duration]) -> (f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let median = match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    };
    (ms(median), sorted.last().copied().map_or(0.0, ms))
}

/// The median of some rates (rounds are few and odd in number).
fn median(rates: &mut [f64]) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied().unwrap_or(0.0)
}

/// The median over rounds of `ours` over `reference` in the same round.
fn share(ours: &[f64], reference: &[f64]) -> f64 {
    let mut shares: Vec<f64> = ours.iter().zip(reference).map(|(o, r)| o / r).collect();
    median(&mut shares)
}

/// A fresh database with lakery's schema, the registry of every workload type, and a
/// temporary folder for the file storage (and the SQLite file).
struct Fresh {
    db: Database,
    registry: Registry,
    dir: tempfile::TempDir,
    /// The server database to drop afterwards, for PostgreSQL and MariaDB.
    server: Option<ServerDb>,
}

impl Fresh {
    /// A new SQLite file.
    async fn sqlite() -> BenchResult<Fresh> {
        let dir = tempfile::tempdir()?;
        let db = Database::connect(&format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))
        .await?;
        db.migrate().await?;
        Ok(Fresh {
            registry: registry(dir.path())?,
            db,
            dir,
            server: None,
        })
    }

    /// A new database on `server`, or `Ok(Err(why))` if the server cannot be reached.
    async fn on(server: &Server) -> BenchResult<Result<Fresh, String>> {
        let created = match migrated(server).await? {
            Ok(created) => created,
            Err(why) => return Ok(Err(why)),
        };
        let db = Database::connect(&created.url).await?;
        let dir = tempfile::tempdir()?;
        Ok(Ok(Fresh {
            registry: registry(dir.path())?,
            db,
            dir,
            server: Some(created),
        }))
    }

    /// Opens a fresh database of `backend`, or says why it is skipped.
    async fn of(backend: Backend) -> BenchResult<Result<Fresh, String>> {
        match backend {
            Backend::Postgres => Fresh::on(&Server::postgres()).await,
            Backend::Mysql => Fresh::on(&Server::mysql()).await,
            _ => Fresh::sqlite().await.map(Ok),
        }
    }

    fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Closes the pool and removes the database and the folder.
    async fn close(self) {
        let Fresh {
            db,
            registry,
            dir,
            server,
        } = self;
        drop((db, registry, dir));
        if let Some(server) = server {
            server.drop_now().await;
        }
    }
}

/// A new database on `server` with lakery's schema (applied by lakery's own migrations,
/// so a reference writes into exactly lakery's tables), or `Ok(Err(why))` if the server
/// cannot be reached.
async fn migrated(server: &Server) -> BenchResult<Result<ServerDb, String>> {
    let created = match server.create().await {
        Ok(created) => created,
        Err(why) => return Ok(Err(why)),
    };
    let db = Database::connect(&created.url).await?;
    db.migrate().await?;
    drop(db);
    Ok(Ok(created))
}

fn registry(dir: &std::path::Path) -> lakery::Result<Registry> {
    registry_with(dir, lakery::HashAlgorithm::Sha256)
}

/// The workloads' registry, saving with `algorithm`.
fn registry_with(
    dir: &std::path::Path,
    algorithm: lakery::HashAlgorithm,
) -> lakery::Result<Registry> {
    Registry::builder()
        .hash_algorithm(algorithm)
        .storage("files", FileStorage::new(dir.join("files"))?)
        .storable::<Row>()
        .storable::<Big>()
        .storable::<BigVec>()
        .storable::<Sample>()
        .storable::<streams::Records>()
        .storable::<streams::Chunks>()
        .build()
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let scale: f64 = std::env::var("LAKERY_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n_batch = ((10_000.0 * scale) as usize).max(10);
    let n_single = ((1_000.0 * scale) as usize).max(10);
    let n_tagged = ((100_000.0 * scale) as usize).max(NEEDLES);
    let big_bytes = ((256.0 * scale) as usize).max(1) << 20;
    let only = std::env::var("LAKERY_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o.trim() == name);
    let mut figures = Figures { lines: Vec::new() };
    println!(
        "lakery benchmark ({} cores; scale {scale})",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // W1: one batch each way.
    if run("w1") {
        let fresh = Fresh::sqlite().await?;
        let rows: Vec<Row> = (0..n_batch).map(row).collect();
        let measured = w1(&fresh, &rows).await;
        let reference = raw::sqlite_insert(fresh.dir.path(), &rows);
        fresh.close().await;
        let (save_rate, load_rate) = measured?;
        figures.add(
            "W1 save (batch)",
            format!("{save_rate:.0} values/s"),
            ">= 30000 values/s".into(),
            format!(
                "raw SQLite insert of the same rows: {:.0} rows/s",
                per_second(n_batch, reference)
            ),
        );
        figures.add(
            "W1 load (batch)",
            format!("{load_rate:.0} values/s"),
            ">= 40000 values/s".into(),
            "-".into(),
        );
    }

    // W1-single: one call at a time.
    if run("w1-single") {
        let fresh = Fresh::sqlite().await?;
        let rows: Vec<Row> = (0..n_single).map(row).collect();
        let measured = w1_single(&fresh, &rows).await;
        let commit_ms = raw::sqlite_commit_ms(fresh.dir.path(), n_single);
        fresh.close().await;
        let (save_ms, load_ms) = measured?;
        figures.add(
            "W1-single save",
            format!("{save_ms:.3} ms/call"),
            "<= 0.6 ms/call".into(),
            format!("one durable SQLite commit: {commit_ms:.3} ms"),
        );
        figures.add(
            "W1-single load",
            format!("{load_ms:.3} ms/call"),
            "<= 0.2 ms/call".into(),
            "-".into(),
        );
    }

    // W1 on PostgreSQL, beside the same rows inserted through one connection.
    if run("w1-pg") {
        let (save_target, load_target) = (">= 15000 values/s", ">= 30000 values/s");
        match Fresh::on(&Server::postgres()).await? {
            Err(why) => {
                figures.skipped("W1-pg save (batch)", save_target, &why);
                figures.skipped("W1-pg load (batch)", load_target, &why);
            }
            Ok(fresh) => {
                let rows: Vec<Row> = (0..n_batch).map(row).collect();
                let measured = w1(&fresh, &rows).await;
                fresh.close().await;
                let (save_rate, load_rate) = measured?;
                let per_insert = raw::rows_per_insert();
                let reference = match migrated(&Server::postgres()).await? {
                    Ok(raw_db) => {
                        let measured = raw::pg_batch(&raw_db.url, &rows, per_insert).await;
                        raw_db.drop_now().await;
                        Ok(measured?)
                    }
                    Err(why) => Err(why),
                };
                let (insert_ref, select_ref) = match reference {
                    Ok(r) => (
                        format!(
                            "raw insert, 1 conn, 1 txn, {per_insert} rows/INSERT: {:.0} rows/s",
                            per_second(n_batch, r.insert)
                        ),
                        format!(
                            "raw select by id, 1000/query: {:.0} rows/s",
                            per_second(n_batch, r.select)
                        ),
                    ),
                    Err(why) => (why.clone(), why),
                };
                figures.add(
                    "W1-pg save (batch)",
                    format!("{save_rate:.0} values/s"),
                    save_target.into(),
                    insert_ref,
                );
                figures.add(
                    "W1-pg load (batch)",
                    format!("{load_rate:.0} values/s"),
                    load_target.into(),
                    select_ref,
                );
            }
        }
    }

    // W1-single on PostgreSQL.
    if run("w1-single-pg") {
        let (save_target, load_target) = ("<= 1 ms/call", "-");
        match Fresh::on(&Server::postgres()).await? {
            Err(why) => {
                figures.skipped("W1-single-pg save", save_target, &why);
                figures.skipped("W1-single-pg load", load_target, &why);
            }
            Ok(fresh) => {
                let rows: Vec<Row> = (0..n_single).map(row).collect();
                let measured = w1_single(&fresh, &rows).await;
                fresh.close().await;
                let (save_ms, load_ms) = measured?;
                let reference = match migrated(&Server::postgres()).await? {
                    Ok(raw_db) => {
                        let measured = raw::pg_single(&raw_db.url, &rows).await;
                        raw_db.drop_now().await;
                        Ok(measured?)
                    }
                    Err(why) => Err(why),
                };
                let (insert_ref, select_ref) = match reference {
                    Ok((insert_ms, select_ms)) => (
                        format!("raw txn of the same rows, 1 conn: {insert_ms:.3} ms"),
                        format!("raw select by id, 1 conn: {select_ms:.3} ms"),
                    ),
                    Err(why) => (why.clone(), why),
                };
                figures.add(
                    "W1-single-pg save",
                    format!("{save_ms:.3} ms/call"),
                    save_target.into(),
                    insert_ref,
                );
                figures.add(
                    "W1-single-pg load",
                    format!("{load_ms:.3} ms/call"),
                    load_target.into(),
                    select_ref,
                );
            }
        }
    }

    // A tag query that selects 100 of 100,000 manifests, on every backend.
    for (backend, name, short) in [
        (Backend::Sqlite, "tag-query-sqlite", "SQLite"),
        (Backend::Postgres, "tag-query-pg", "PG"),
        (Backend::Mysql, "tag-query-mysql", "MariaDB"),
    ] {
        if !(run("tag-query") || run(name)) {
            continue;
        }
        let (by_tag, by_class) = (format!("tag query {short}"), format!("tag+class {short}"));
        let target = "< 20 ms";
        let fresh = match Fresh::of(backend).await? {
            Ok(fresh) => fresh,
            Err(why) => {
                figures.skipped(&by_tag, target, &why);
                figures.skipped(&by_class, target, &why);
                continue;
            }
        };
        let measured = tag_query(&fresh, n_tagged).await;
        let sqlite_file = fresh.dir.path().join("bench.db");
        let reference = match &measured {
            Ok(_) => Some(
                raw::tag_query(
                    match (backend, &fresh.server) {
                        (Backend::Postgres, Some(s)) => raw::TagQueryOn::Postgres(&s.url),
                        (Backend::Mysql, Some(s)) => raw::TagQueryOn::Mysql(&s.url),
                        _ => raw::TagQueryOn::Sqlite(&sqlite_file),
                    },
                    "sample",
                    "needle",
                    QUERY_RUNS,
                    NEEDLES,
                )
                .await,
            ),
            Err(_) => None,
        };
        fresh.close().await;
        let measured = measured?;
        let reference = match reference {
            Some(Ok(times)) => {
                let (median, max) = median_max(&times);
                format!("raw join, 1 conn: {median:.2} ms (max {max:.2})")
            }
            Some(Err(e)) => return Err(e),
            None => unreachable!("the reference runs after a query that succeeded"),
        };
        println!(
            "  ({}: {} manifests saved in batches of {TAG_BATCH} at {:.0} values/s)",
            label(backend),
            n_tagged,
            per_second(n_tagged, measured.save)
        );
        for (workload, times) in [(by_tag, &measured.by_tag), (by_class, &measured.by_class)] {
            let (median, max) = median_max(times);
            figures.add(
                &workload,
                format!("{median:.2} ms (max {max:.2})"),
                target.into(),
                reference.clone(),
            );
        }
    }

    // W2: 256 MiB through the file storage.
    if run("w2") {
        let fresh = Fresh::sqlite().await?;
        let measured = w2(&fresh, big_bytes).await;
        fresh.close().await;
        let w2 = measured?;
        let (raw_write, raw_read) = (w2.raw_write, w2.raw_read);
        figures.add(
            "W2 save",
            format!("{:.0} MiB/s ({:.0}%)", w2.save, 100.0 * w2.save_share),
            ">= 80% of raw".into(),
            format!("raw write+fsync: {raw_write:.0} MiB/s"),
        );
        figures.add(
            "W2 load",
            format!("{:.0} MiB/s ({:.0}%)", w2.load, 100.0 * w2.load_share),
            ">= 80% of raw".into(),
            format!("raw read+SHA-256: {raw_read:.0} MiB/s"),
        );
        figures.add(
            "W2 save, Vec<u8>",
            format!(
                "{:.0} MiB/s ({:.0}%)",
                w2.save_vec,
                100.0 * w2.save_vec / raw_write
            ),
            "(for comparison)".into(),
            "the field is copied once".into(),
        );
        figures.add(
            "W2 load, Vec<u8>",
            format!(
                "{:.0} MiB/s ({:.0}%)",
                w2.load_vec,
                100.0 * w2.load_vec / raw_read
            ),
            "(for comparison)".into(),
            "-".into(),
        );
    }

    // W3: a million records through JSON Lines; W3-large: 1 GiB of raw chunks. Last: the
    // gigabytes they write keep the disk busy for a while after.
    if run("w3") {
        let fresh = Fresh::sqlite().await?;
        let n = ((1_000_000.0 * scale) as u64).max(1000);
        let measured = streams::w3(&fresh, n).await;
        fresh.close().await;
        let w3 = measured?;
        let peak = w3.memory.describe();
        figures.add(
            "W3 save",
            format!("{:.0} records/s", w3.save),
            ">= 2500000/s".into(),
            peak.clone(),
        );
        figures.add(
            "W3 load",
            format!("{:.0} records/s", w3.load),
            ">= 1800000/s".into(),
            peak,
        );
    }
    // W2 and W3-large against a local S3 server, when one is configured (`eval "$(.ci/s3
    // start)"`), beside object_store's own put and get of the same bytes.
    let s3_server = s3::Server::from_env();
    for (name, target) in [
        ("w2-s3", "W2 on S3"),
        ("w3-large-s3", "W3-large on S3"),
        (
            "w3-large-s3-temp-key",
            "W3-large on S3, temporary key and copy",
        ),
    ] {
        if !run(name) {
            continue;
        }
        let Some(server) = &s3_server else {
            figures.skipped(
                target,
                ">= 90% of raw",
                "no S3 server: run `eval \"$(.ci/s3 start)\"` first",
            );
            continue;
        };
        let fresh = Fresh::sqlite().await?;
        let chunks = ((1024.0 * scale) as u64).max(16);
        let measured = match name {
            "w2-s3" => s3::w2(&fresh, server, big_bytes).await,
            _ => s3::w3_large(&fresh, server, chunks, name.ends_with("temp-key")).await,
        };
        fresh.close().await;
        let s3 = measured?;
        figures.add(
            &format!("{target} save"),
            format!("{:.0} MiB/s ({:.0}%)", s3.save, 100.0 * s3.save_share),
            ">= 90% of raw".into(),
            format!("object_store put: {:.0} MiB/s", s3.raw_put),
        );
        figures.add(
            &format!("{target} load"),
            format!("{:.0} MiB/s ({:.0}%)", s3.load, 100.0 * s3.load_share),
            ">= 90% of raw".into(),
            format!(
                "object_store get: {:.0} MiB/s; get + hash: {:.0} MiB/s (lakery {:.0}% of it)",
                s3.raw_get,
                s3.hashed_get,
                100.0 * s3.load_share_of_hashed
            ),
        );
    }

    // W3-large with each hash algorithm: the default SHA-256, and BLAKE3 for contents
    // so large that SHA-256 is slower than the disk. The read reference hashes with the
    // same algorithm as lakery.
    for (only, algorithm) in [
        ("w3-large", lakery::HashAlgorithm::Sha256),
        ("w3-large-blake3", lakery::HashAlgorithm::Blake3),
    ] {
        if !run(only) {
            continue;
        }
        let fresh = Fresh::sqlite().await?;
        let chunks = ((1024.0 * scale) as u64).max(4);
        let measured = streams::w3_large(&fresh, chunks, algorithm).await;
        fresh.close().await;
        let w3 = measured?;
        figures.add(
            &format!("W3-large save ({algorithm})"),
            format!("{:.0} MiB/s ({:.0}%)", w3.save, 100.0 * w3.save_share),
            ">= 80% of raw".into(),
            format!("raw write+fsync: {:.0} MiB/s", w3.raw_write),
        );
        figures.add(
            &format!("W3-large load ({algorithm})"),
            format!("{:.0} MiB/s ({:.0}%)", w3.load, 100.0 * w3.load_share),
            ">= 80% of raw".into(),
            format!("raw read+{algorithm}: {:.0} MiB/s", w3.raw_read),
        );
        figures.add(
            &format!("W3-large memory ({algorithm})"),
            w3.memory.measured(),
            "< 64 MiB".into(),
            w3.memory.describe(),
        );
    }

    println!("\nsummary:");
    for line in &figures.lines {
        println!("  {line}");
    }
    Ok(())
}

/// W1: `rows` saved as one batch, then loaded as one batch; values per second each way.
async fn w1(fresh: &Fresh, rows: &[Row]) -> BenchResult<(f64, f64)> {
    let (db, registry) = (&fresh.db, &fresh.registry);
    let started = Instant::now();
    let mut saver = lakery::Saver::new(registry, db);
    for r in rows {
        saver.save_soon(r);
    }
    let records = saver.finish().await?.into_records();
    let save_rate = per_second(rows.len(), started.elapsed());

    let started = Instant::now();
    let mut loader = lakery::Loader::new(registry, db);
    let handles: Vec<_> = records.iter().map(|r| loader.load_soon::<Row>(r)).collect();
    let mut loaded = loader.finish().await?;
    let back: Vec<Row> = handles.into_iter().filter_map(|h| loaded.take(h)).collect();
    let load_rate = per_second(rows.len(), started.elapsed());
    assert!(back == rows, "W1 values must load back identical");
    Ok((save_rate, load_rate))
}

/// W1-single: `rows` saved one `save_one` at a time, then loaded one `load_one` at a
/// time; ms per call each way.
async fn w1_single(fresh: &Fresh, rows: &[Row]) -> BenchResult<(f64, f64)> {
    let (db, registry) = (&fresh.db, &fresh.registry);
    let mut records = Vec::with_capacity(rows.len());
    let started = Instant::now();
    for r in rows {
        records.push(lakery::save_one(r, registry, db).await?);
    }
    let save_ms = ms(started.elapsed()) / rows.len() as f64;
    let started = Instant::now();
    for (record, original) in records.iter().zip(rows) {
        let r: Row = lakery::load_one(record, registry, db).await?;
        assert!(&r == original, "W1-single values must load back identical");
    }
    let load_ms = ms(started.elapsed()) / rows.len() as f64;
    Ok((save_ms, load_ms))
}

/// Manifests the tag query must find.
const NEEDLES: usize = 100;
/// Manifests per batch when saving the tag query's manifests.
const TAG_BATCH: usize = 10_000;
/// Timed runs of each query, after one warm-up.
const QUERY_RUNS: usize = 20;

struct TagFigures {
    save: Duration,
    by_tag: Vec<Duration>,
    by_class: Vec<Duration>,
}

/// The tag query: `n` manifests, of which exactly [`NEEDLES`] are tagged
/// `sample = needle`, spread evenly; the others `sample = hay-<0..1000>`. Every one
/// also carries `group = g<0..10>`.
async fn tag_query(fresh: &Fresh, n: usize) -> BenchResult<TagFigures> {
    let (db, registry) = (&fresh.db, &fresh.registry);
    let every = n / NEEDLES;
    let started = Instant::now();
    for start in (0..n).step_by(TAG_BATCH) {
        let mut saver = lakery::Saver::new(registry, db);
        for i in start..(start + TAG_BATCH).min(n) {
            let sample = if i % every == 0 && i / every < NEEDLES {
                "needle".to_owned()
            } else {
                format!("hay-{:03}", i % 1000)
            };
            saver.save_soon_with_tags(
                &Sample { index: i as u64 },
                [("sample", sample), ("group", format!("g{}", i % 10))],
            );
        }
        saver.finish().await?;
    }
    let save = started.elapsed();

    let mut timed = Vec::new();
    for query in [
        Query::new().tag("sample", "needle"),
        Query::of::<Sample>().tag("sample", "needle"),
    ] {
        let mut times = Vec::with_capacity(QUERY_RUNS);
        for run in 0..=QUERY_RUNS {
            let started = Instant::now();
            let page = db.find(&query).await?;
            let elapsed = started.elapsed();
            assert_eq!(
                page.records.len(),
                NEEDLES,
                "the tag query on {} finds every needle and nothing else",
                label(fresh.backend())
            );
            assert!(
                page.records.iter().all(|r| r.tags["sample"] == "needle"),
                "the tag query returns only needles"
            );
            if run > 0 {
                times.push(elapsed);
            }
        }
        timed.push(times);
    }
    let by_class = timed.pop().unwrap_or_default();
    let by_tag = timed.pop().unwrap_or_default();
    Ok(TagFigures {
        save,
        by_tag,
        by_class,
    })
}

/// W2's rates in MiB/s, and its references'.
struct W2Figures {
    save: f64,
    load: f64,
    /// The median over rounds of lakery's rate over the reference's in the same round.
    save_share: f64,
    load_share: f64,
    save_vec: f64,
    load_vec: f64,
    raw_write: f64,
    raw_read: f64,
}

/// W2's rounds: a disk's write and fsync rates drift by a factor of five from one second
/// to the next, so each round measures the raw reference and lakery back to back; the
/// rates are medians over the rounds, and the share of the reference is the median of
/// each round's share.
const W2_ROUNDS: usize = 5;

/// W2: `size` random bytes through the file storage, as `Bytes` and as `Vec<u8>`.
async fn w2(fresh: &Fresh, size: usize) -> BenchResult<W2Figures> {
    let (db, registry, dir) = (&fresh.db, &fresh.registry, fresh.dir.path());
    let mib = size as f64 / (1 << 20) as f64;
    let rate = |elapsed: std::time::Duration| mib / elapsed.as_secs_f64();
    let random = || {
        let mut data = vec![0u8; size];
        rand::rng().fill_bytes(&mut data);
        data
    };
    let raw_rates =
        |dir: &std::path::Path, data: &[u8], write: &mut Vec<f64>, read: &mut Vec<f64>| {
            write.push(rate(raw::write_fsync(dir, data)));
            read.push(rate(raw::read_hash(&dir.join("raw.bin"))));
            std::fs::remove_file(dir.join("raw.bin"))
        };
    let (mut raw_write, mut raw_read, mut save, mut load) = (vec![], vec![], vec![], vec![]);
    for round in 0..W2_ROUNDS {
        // New bytes each round, so that each round's are stored anew.
        let data = bytes::Bytes::from(random());
        // The references go first in even rounds and last in odd ones, so that neither
        // side always meets the disk just after the other's fsync.
        let raw_first = round % 2 == 0;
        if raw_first {
            raw_rates(dir, &data, &mut raw_write, &mut raw_read)?;
        }
        let big = Big { data };
        let started = Instant::now();
        let record = lakery::save_one(&big, registry, db).await?;
        save.push(rate(started.elapsed()));
        let started = Instant::now();
        let back: Big = lakery::load_one(&record, registry, db).await?;
        load.push(rate(started.elapsed()));
        if !raw_first {
            raw_rates(dir, &big.data, &mut raw_write, &mut raw_read)?;
        }
        assert!(back.data == big.data, "W2 bytes must load back identical");
        println!(
            "W2 round {round}: raw write {:.0} read {:.0}, lakery save {:.0} load {:.0} MiB/s",
            raw_write[round], raw_read[round], save[round], load[round]
        );
    }

    // The same size in a `Vec<u8>` field.
    let big_vec = BigVec { data: random() };
    let started = Instant::now();
    let record = lakery::save_one(&big_vec, registry, db).await?;
    let save_vec = mib / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let back: BigVec = lakery::load_one(&record, registry, db).await?;
    let load_vec = mib / started.elapsed().as_secs_f64();
    assert!(
        back.data == big_vec.data,
        "W2 (Vec<u8>) bytes must load back identical"
    );
    Ok(W2Figures {
        save_share: share(&save, &raw_write),
        load_share: share(&load, &raw_read),
        save: median(&mut save),
        load: median(&mut load),
        save_vec,
        load_vec,
        raw_write: median(&mut raw_write),
        raw_read: median(&mut raw_read),
    })
}
