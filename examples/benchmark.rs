//! lakery's throughput benchmark. Run it in release mode:
//!
//! ```text
//! cargo run --release --example benchmark
//! ```
//!
//! Every workload runs on a fresh SQLite database and fresh temporary folders, and each
//! is printed beside the raw reference measured in the same run:
//!
//! - W1: 10,000 values of `{ name, params: 4 entries, results: 100 f64 }`, all in the
//!   body, saved as one batch and loaded as one batch. Reference: the same manifest and
//!   content rows (already serialized) inserted straight into SQLite in one transaction.
//! - W1-single: 1,000 such values saved with `save_one` and loaded with `load_one`,
//!   one call at a time.
//! - W2: one value whose only content is 256 MiB of random bytes (raw bytes
//!   serializer, file storage). References: 256 MiB written and fsynced to a file;
//!   256 MiB read back and hashed with SHA-256.
//!
//! `LAKERY_BENCH_SCALE=0.1` shrinks every workload, for a quick check.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lakery::serializer::RawBytes;
use lakery::{Database, FileStorage, Registry, Storable};
use rand::RngCore;
use sha2::Digest as _;

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
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

async fn fresh(dir: &std::path::Path) -> lakery::Result<(Database, Registry)> {
    let db = Database::connect(&format!("sqlite://{}", dir.join("bench.db").display())).await?;
    db.migrate().await?;
    let registry = Registry::builder()
        .storage("files", FileStorage::new(dir.join("files"))?)
        .storable::<Row>()
        .storable::<Big>()
        .storable::<BigVec>()
        .build()?;
    Ok((db, registry))
}

#[tokio::main]
async fn main() -> lakery::Result<()> {
    let scale: f64 = std::env::var("LAKERY_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n_batch = ((10_000.0 * scale) as usize).max(10);
    let n_single = ((1_000.0 * scale) as usize).max(10);
    let big_bytes = ((256.0 * scale) as usize).max(1) << 20;
    let only = std::env::var("LAKERY_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    let mut figures = Figures { lines: Vec::new() };
    println!(
        "lakery benchmark ({} cores; scale {scale})",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // W1: one batch each way.
    if run("w1") {
        let dir = tempfile::tempdir().map_err(io)?;
        let (db, registry) = fresh(dir.path()).await?;
        let rows: Vec<Row> = (0..n_batch).map(row).collect();
        let started = Instant::now();
        let mut saver = lakery::Saver::new(&registry, &db);
        for r in &rows {
            saver.save_soon(r);
        }
        let records = saver.finish().await?.into_records();
        let save_rate = per_second(n_batch, started.elapsed());

        let started = Instant::now();
        let mut loader = lakery::Loader::new(&registry, &db);
        let handles: Vec<_> = records.iter().map(|r| loader.load_soon::<Row>(r)).collect();
        let mut loaded = loader.finish().await?;
        let back: Vec<Row> = handles.into_iter().filter_map(|h| loaded.take(h)).collect();
        let load_rate = per_second(n_batch, started.elapsed());
        assert!(back == rows, "W1 values must load back identical");

        let reference = raw_sqlite_insert(dir.path(), &rows);
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
        drop((db, registry, dir));
    }

    // W1-single: one call at a time.
    if run("w1-single") {
        let dir = tempfile::tempdir().map_err(io)?;
        let (db, registry) = fresh(dir.path()).await?;
        let rows: Vec<Row> = (0..n_single).map(row).collect();
        let mut records = Vec::with_capacity(n_single);
        let started = Instant::now();
        for r in &rows {
            records.push(lakery::save_one(r, &registry, &db).await?);
        }
        let save_ms = started.elapsed().as_secs_f64() * 1000.0 / n_single as f64;
        let started = Instant::now();
        for (record, original) in records.iter().zip(&rows) {
            let r: Row = lakery::load_one(record, &registry, &db).await?;
            assert!(&r == original);
        }
        let load_ms = started.elapsed().as_secs_f64() * 1000.0 / n_single as f64;
        let commit_ms = durable_commit_ms(dir.path(), n_single);
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
        drop((db, registry, dir));
    }

    // W2: 256 MiB through the file storage.
    if run("w2") {
        let dir = tempfile::tempdir().map_err(io)?;
        let (db, registry) = fresh(dir.path()).await?;
        let mut data = vec![0u8; big_bytes];
        rand::rng().fill_bytes(&mut data);
        let mib = big_bytes as f64 / (1 << 20) as f64;
        let raw_write = raw_write_fsync(dir.path(), &data);
        let raw_read = raw_read_hash(&dir.path().join("raw.bin"));
        let big = Big {
            data: bytes::Bytes::from(data),
        };
        let started = Instant::now();
        let record = lakery::save_one(&big, &registry, &db).await?;
        let save = mib / started.elapsed().as_secs_f64();
        let started = Instant::now();
        let back: Big = lakery::load_one(&record, &registry, &db).await?;
        let load = mib / started.elapsed().as_secs_f64();
        assert!(back.data == big.data, "W2 bytes must load back identical");
        drop(back);

        // The same bytes in a `Vec<u8>` field, with one byte changed so they are stored anew.
        let mut vec = big.data.to_vec();
        drop(big);
        vec[0] ^= 1;
        let big_vec = BigVec { data: vec };
        let started = Instant::now();
        let record = lakery::save_one(&big_vec, &registry, &db).await?;
        let save_vec = mib / started.elapsed().as_secs_f64();
        let started = Instant::now();
        let back: BigVec = lakery::load_one(&record, &registry, &db).await?;
        let load_vec = mib / started.elapsed().as_secs_f64();
        assert!(
            back.data == big_vec.data,
            "W2 (Vec<u8>) bytes must load back identical"
        );

        let raw_write = mib / raw_write.as_secs_f64();
        let raw_read = mib / raw_read.as_secs_f64();
        figures.add(
            "W2 save",
            format!("{save:.0} MiB/s ({:.0}%)", 100.0 * save / raw_write),
            ">= 80% of raw".into(),
            format!("raw write+fsync: {raw_write:.0} MiB/s"),
        );
        figures.add(
            "W2 load",
            format!("{load:.0} MiB/s ({:.0}%)", 100.0 * load / raw_read),
            ">= 80% of raw".into(),
            format!("raw read+SHA-256: {raw_read:.0} MiB/s"),
        );
        figures.add(
            "W2 save, Vec<u8>",
            format!("{save_vec:.0} MiB/s ({:.0}%)", 100.0 * save_vec / raw_write),
            "(for comparison)".into(),
            "the field is copied once".into(),
        );
        figures.add(
            "W2 load, Vec<u8>",
            format!("{load_vec:.0} MiB/s ({:.0}%)", 100.0 * load_vec / raw_read),
            "(for comparison)".into(),
            "-".into(),
        );
    }

    println!("\nsummary:");
    for line in &figures.lines {
        println!("  {line}");
    }
    Ok(())
}

fn io(e: std::io::Error) -> lakery::Error {
    lakery::Error::StorageSetup {
        path: std::env::temp_dir(),
        source: e,
    }
}

/// lakery's SQLite tables, as its migrations create them, for the raw reference.
mod sqlite_schema {
    diesel::table! {
        lakery_manifests (id) {
            id -> Text,
            class_id -> Text,
            class_version -> Integer,
            tags -> Text,
            created_at -> Timestamp,
        }
    }

    diesel::table! {
        lakery_contents (manifest_id, content_key) {
            manifest_id -> Text,
            content_key -> Text,
            content_type -> Text,
            encoding -> Nullable<Text>,
            hash -> Text,
            hash_algorithm -> Text,
            size -> BigInt,
            serializer_name -> Text,
            serializer_config -> Nullable<Text>,
            storage_name -> Text,
            storage_config -> Text,
            data -> Nullable<Binary>,
            tags -> Text,
            created_at -> Timestamp,
        }
    }
}

/// The rows lakery writes for W1, serialized up front and inserted with plain diesel in
/// one transaction into a database of the same schema: the floor under W1 save.
fn raw_sqlite_insert(dir: &std::path::Path, rows: &[Row]) -> Duration {
    use sqlite_schema::{lakery_contents as c, lakery_manifests as m};
    let mut conn = SqliteConnection::establish(&dir.join("raw.db").display().to_string())
        .expect("open raw.db");
    diesel::sql_query("PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .expect("pragma");
    diesel::sql_query("PRAGMA synchronous = FULL")
        .execute(&mut conn)
        .expect("pragma");
    conn.batch_execute(include_str!(
        "../migrations/sqlite/2026-11-28-000000_create_lakery/up.sql"
    ))
    .expect("schema");
    let now = chrono::Utc::now().naive_utc();
    let prepared: Vec<_> = rows
        .iter()
        .map(|r| {
            let body =
                serde_json::json!({"name": r.name, "params": r.params, "results": r.results})
                    .to_string();
            let id = uuid::Uuid::now_v7().to_string();
            let hash = hex::encode(sha2::Sha256::digest(body.as_bytes()));
            (id, body, hash)
        })
        .collect();
    let started = Instant::now();
    conn.immediate_transaction(|conn| {
        for chunk in prepared.chunks(1000) {
            let manifests: Vec<_> = chunk
                .iter()
                .map(|(id, _, _)| {
                    (
                        m::id.eq(id),
                        m::class_id.eq("b3d1c0a2-7e6f-4a5b-9c8d-1e2f3a4b5c6d"),
                        m::class_version.eq(1),
                        m::tags.eq("{}"),
                        m::created_at.eq(now),
                    )
                })
                .collect();
            diesel::insert_into(m::table)
                .values(&manifests)
                .execute(conn)?;
            let contents: Vec<_> = chunk
                .iter()
                .map(|(id, body, hash)| {
                    (
                        (
                            c::manifest_id.eq(id),
                            c::content_key.eq("body"),
                            c::content_type.eq("application/json"),
                            c::encoding.eq(None::<String>),
                        ),
                        (
                            c::hash.eq(hash),
                            c::hash_algorithm.eq("sha256"),
                            c::size.eq(body.len() as i64),
                            c::serializer_name.eq("lakery.json@v1"),
                        ),
                        (
                            c::serializer_config.eq(None::<String>),
                            c::storage_name.eq("database"),
                            c::storage_config.eq("null"),
                        ),
                        (
                            c::data.eq(Some(body.as_bytes())),
                            c::tags.eq("{}"),
                            c::created_at.eq(now),
                        ),
                    )
                })
                .collect();
            diesel::insert_into(c::table)
                .values(&contents)
                .execute(conn)?;
        }
        diesel::QueryResult::Ok(())
    })
    .expect("raw insert");
    started.elapsed()
}

/// The cost of one small durable commit on this machine.
fn durable_commit_ms(dir: &std::path::Path, n: usize) -> f64 {
    let mut conn = SqliteConnection::establish(&dir.join("commit.db").display().to_string())
        .expect("open commit.db");
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (x INTEGER)",
    )
    .expect("setup");
    let started = Instant::now();
    for i in 0..n {
        diesel::sql_query(format!("INSERT INTO t VALUES ({i})"))
            .execute(&mut conn)
            .expect("insert");
    }
    started.elapsed().as_secs_f64() * 1000.0 / n as f64
}

fn raw_write_fsync(dir: &std::path::Path, data: &[u8]) -> Duration {
    let started = Instant::now();
    let mut file = std::fs::File::create(dir.join("raw.bin")).expect("create raw.bin");
    file.write_all(data).expect("write raw.bin");
    file.sync_all().expect("fsync raw.bin");
    started.elapsed()
}

fn raw_read_hash(path: &std::path::Path) -> Duration {
    let started = Instant::now();
    let mut file = std::fs::File::open(path).expect("open raw.bin");
    let mut data = Vec::new();
    file.read_to_end(&mut data).expect("read raw.bin");
    let hash = sha2::Sha256::digest(&data);
    std::hint::black_box(hash);
    started.elapsed()
}
