//! The raw references: what lakery writes and reads, done straight through one
//! connection with plain diesel (or plain files), measured in the same run.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, AsyncPgConnection};
use lakery::Storable;
use sha2::Digest as _;
use uuid::Uuid;

use super::Row;

pub type RawResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// lakery's SQLite tables, as its migrations create them.
pub mod sqlite_schema {
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

    diesel::table! {
        lakery_tags (manifest_id, tag_key) {
            manifest_id -> Text,
            tag_key -> Text,
            tag_value -> Text,
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(lakery_manifests, lakery_contents, lakery_tags);
}

/// lakery's PostgreSQL tables, as `migrations/postgres` creates them.
pub mod pg_schema {
    diesel::table! {
        lakery_manifests (id) {
            id -> Uuid,
            class_id -> Uuid,
            class_version -> Integer,
            tags -> Jsonb,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        lakery_contents (manifest_id, content_key) {
            manifest_id -> Uuid,
            content_key -> Text,
            content_type -> Text,
            encoding -> Nullable<Text>,
            hash -> Text,
            hash_algorithm -> Text,
            size -> BigInt,
            serializer_name -> Text,
            serializer_config -> Nullable<Jsonb>,
            storage_name -> Text,
            storage_config -> Jsonb,
            data -> Nullable<Binary>,
            tags -> Jsonb,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        lakery_tags (manifest_id, tag_key) {
            manifest_id -> Uuid,
            tag_key -> Text,
            tag_value -> Text,
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(lakery_manifests, lakery_contents, lakery_tags);
}

/// lakery's MySQL/MariaDB tables that the tag query reads, as `migrations/mysql`
/// creates them.
pub mod mysql_schema {
    diesel::table! {
        lakery_manifests (id) {
            id -> Text,
            class_id -> Text,
            class_version -> Integer,
            tags -> Text,
            created_at -> Datetime,
        }
    }

    diesel::table! {
        lakery_tags (manifest_id, tag_key) {
            manifest_id -> Text,
            tag_key -> Text,
            tag_value -> Text,
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(lakery_manifests, lakery_tags);
}

/// One W1 value as lakery stores it: an id, its JSON body and the body's SHA-256.
pub struct Prepared {
    pub id: Uuid,
    pub body: String,
    pub hash: String,
}

/// The values of W1's one content row (the JSON body, in the database storage), as
/// lakery writes it; `$c` is the backend's `lakery_contents` module.
macro_rules! content_values {
    ($c:ident, id: $id:expr, body: $body:expr, hash: $hash:expr, no_config: $none:expr,
     null: $null:expr, empty: $empty:expr, now: $now:expr) => {
        (
            (
                $c::manifest_id.eq($id),
                $c::content_key.eq("body"),
                $c::content_type.eq("application/json"),
                $c::encoding.eq(None::<String>),
            ),
            (
                $c::hash.eq($hash),
                $c::hash_algorithm.eq("sha256"),
                $c::size.eq($body.len() as i64),
                $c::serializer_name.eq("lakery.json@v1"),
            ),
            (
                $c::serializer_config.eq($none),
                $c::storage_name.eq("database"),
                $c::storage_config.eq($null),
            ),
            (
                $c::data.eq(Some($body.as_bytes())),
                $c::tags.eq($empty),
                $c::created_at.eq($now),
            ),
        )
    };
}

/// W1's values serialized up front, as lakery's JSON serializer writes them.
pub fn prepare(rows: &[Row]) -> Vec<Prepared> {
    rows.iter()
        .map(|r| {
            let body =
                serde_json::json!({"name": r.name, "params": r.params, "results": r.results})
                    .to_string();
            Prepared {
                id: Uuid::now_v7(),
                hash: hex::encode(sha2::Sha256::digest(body.as_bytes())),
                body,
            }
        })
        .collect()
}

/// The rows lakery writes for W1, serialized up front and inserted with plain diesel in
/// one transaction into a SQLite database of the same schema: the floor under W1 save.
pub fn sqlite_insert(dir: &Path, rows: &[Row]) -> Duration {
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
        "../../migrations/sqlite/2026-11-28-000000_create_lakery/up.sql"
    ))
    .expect("schema");
    let now = chrono::Utc::now().naive_utc();
    let class = Row::CLASS_ID.to_string();
    let prepared: Vec<_> = prepare(rows)
        .into_iter()
        .map(|p| (p.id.to_string(), p.body, p.hash))
        .collect();
    let started = Instant::now();
    conn.immediate_transaction(|conn| {
        for chunk in prepared.chunks(1000) {
            let manifests: Vec<_> = chunk
                .iter()
                .map(|(id, _, _)| {
                    (
                        m::id.eq(id),
                        m::class_id.eq(&class),
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
                    content_values!(
                        c,
                        id: id,
                        body: body,
                        hash: hash,
                        no_config: None::<String>,
                        null: "null",
                        empty: "{}",
                        now: now
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

/// The cost of one small durable commit to SQLite on this machine.
pub fn sqlite_commit_ms(dir: &Path, n: usize) -> f64 {
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

/// Rows per multi-row INSERT in the PostgreSQL reference: 1,000 contents of 14 columns
/// bind 14,000 parameters, under PostgreSQL's limit of 65,535.
/// `LAKERY_BENCH_RAW_ROWS` changes it, to see what the statement size costs.
pub fn rows_per_insert() -> usize {
    std::env::var("LAKERY_BENCH_RAW_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| (1..=4000).contains(&n))
        .unwrap_or(1000)
}

/// What a PostgreSQL reference measured.
pub struct PgBatch {
    pub insert: Duration,
    pub select: Duration,
}

/// W1 on PostgreSQL, raw: the rows lakery writes, serialized up front and inserted
/// through one connection in one transaction with multi-row inserts of `per_insert`
/// rows; then the same rows read back by id, 1,000 ids per query, as lakery's batch
/// load asks for them (manifest joined with its contents).
pub async fn pg_batch(url: &str, rows: &[Row], per_insert: usize) -> RawResult<PgBatch> {
    use pg_schema::{lakery_contents as c, lakery_manifests as m};
    let mut conn = AsyncPgConnection::establish(url).await?;
    let prepared = prepare(rows);
    let class = *Row::CLASS_ID.as_uuid();
    let now = chrono::Utc::now();
    let (empty, null) = (serde_json::json!({}), serde_json::Value::Null);
    let (prepared, empty, null) = (&prepared, &empty, &null);

    let started = Instant::now();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        for chunk in prepared.chunks(per_insert) {
            let manifests: Vec<_> = chunk
                .iter()
                .map(|p| {
                    (
                        m::id.eq(p.id),
                        m::class_id.eq(class),
                        m::class_version.eq(1),
                        m::tags.eq(empty),
                        m::created_at.eq(now),
                    )
                })
                .collect();
            diesel_async::RunQueryDsl::execute(
                diesel::insert_into(m::table).values(&manifests),
                conn,
            )
            .await?;
            let contents: Vec<_> = chunk
                .iter()
                .map(|p| {
                    content_values!(
                        c,
                        id: p.id,
                        body: p.body,
                        hash: &p.hash,
                        no_config: None::<serde_json::Value>,
                        null: null,
                        empty: empty,
                        now: now
                    )
                })
                .collect();
            diesel_async::RunQueryDsl::execute(
                diesel::insert_into(c::table).values(&contents),
                conn,
            )
            .await?;
        }
        Ok(())
    })
    .await?;
    let insert = started.elapsed();

    let ids: Vec<Uuid> = prepared.iter().map(|p| p.id).collect();
    let started = Instant::now();
    let mut read = 0;
    for chunk in ids.chunks(1000) {
        let rows: Vec<PgContentRow> = pg_select(&mut conn, chunk).await?;
        read += rows.len();
    }
    let select = started.elapsed();
    assert_eq!(read, rows.len(), "the raw select reads every row back");
    Ok(PgBatch { insert, select })
}

/// A manifest's head and one of its contents, as lakery's load reads them.
type PgContentRow = (
    Uuid,
    Uuid,
    i32,
    (
        String,
        String,
        Option<String>,
        String,
        String,
        i64,
        String,
        Option<serde_json::Value>,
        String,
        serde_json::Value,
        Option<Vec<u8>>,
    ),
);

async fn pg_select(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> diesel::QueryResult<Vec<PgContentRow>> {
    use pg_schema::{lakery_contents as c, lakery_manifests as m};
    diesel_async::RunQueryDsl::load(
        m::table
            .inner_join(c::table.on(c::manifest_id.eq(m::id)))
            .filter(m::id.eq_any(ids))
            .select((
                m::id,
                m::class_id,
                m::class_version,
                (
                    c::content_key,
                    c::content_type,
                    c::encoding,
                    c::hash,
                    c::hash_algorithm,
                    c::size,
                    c::serializer_name,
                    c::serializer_config,
                    c::storage_name,
                    c::storage_config,
                    c::data,
                ),
            )),
        conn,
    )
    .await
}

/// W1-single on PostgreSQL, raw, in ms per value: each value's rows inserted in a
/// transaction of their own (BEGIN, two INSERTs, COMMIT) through one connection; then
/// each read back by its id.
pub async fn pg_single(url: &str, rows: &[Row]) -> RawResult<(f64, f64)> {
    use pg_schema::{lakery_contents as c, lakery_manifests as m};
    let mut conn = AsyncPgConnection::establish(url).await?;
    let prepared = prepare(rows);
    let class = *Row::CLASS_ID.as_uuid();
    let (empty, null) = (serde_json::json!({}), serde_json::Value::Null);
    let (empty, null) = (&empty, &null);

    let started = Instant::now();
    for p in &prepared {
        let now = chrono::Utc::now();
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            diesel_async::RunQueryDsl::execute(
                diesel::insert_into(m::table).values((
                    m::id.eq(p.id),
                    m::class_id.eq(class),
                    m::class_version.eq(1),
                    m::tags.eq(empty),
                    m::created_at.eq(now),
                )),
                conn,
            )
            .await?;
            diesel_async::RunQueryDsl::execute(
                diesel::insert_into(c::table).values(content_values!(
                    c,
                    id: p.id,
                    body: p.body,
                    hash: &p.hash,
                    no_config: None::<serde_json::Value>,
                    null: null,
                    empty: empty,
                    now: now
                )),
                conn,
            )
            .await?;
            Ok(())
        })
        .await?;
    }
    let save_ms = started.elapsed().as_secs_f64() * 1000.0 / rows.len() as f64;

    let started = Instant::now();
    for p in &prepared {
        let rows = pg_select(&mut conn, std::slice::from_ref(&p.id)).await?;
        assert_eq!(rows.len(), 1, "the raw select reads the row back");
    }
    let load_ms = started.elapsed().as_secs_f64() * 1000.0 / rows.len() as f64;
    Ok((save_ms, load_ms))
}

/// The database a raw tag query reads.
pub enum TagQueryOn<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
    Mysql(&'a str),
}

macro_rules! tag_join {
    ($schema:ident, $key:expr, $value:expr) => {{
        use $schema::{lakery_manifests as m, lakery_tags as t};
        m::table
            .inner_join(t::table.on(t::manifest_id.eq(m::id)))
            .filter(t::tag_key.eq($key))
            .filter(t::tag_value.eq($value))
            .select((m::id, m::class_id, m::class_version, m::tags, m::created_at))
            .order(m::id.asc())
    }};
}

type TextManifest = (String, String, i32, String, chrono::NaiveDateTime);
type PgManifest = (
    Uuid,
    Uuid,
    i32,
    serde_json::Value,
    chrono::DateTime<chrono::Utc>,
);

/// The tag query, raw: the manifests with tag `key = value`, joined with the tags
/// table, in id order, through one connection; `runs` timed runs after one warm-up.
/// Each run must find `expect` manifests.
pub async fn tag_query(
    on: TagQueryOn<'_>,
    key: &str,
    value: &str,
    runs: usize,
    expect: usize,
) -> RawResult<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    match on {
        TagQueryOn::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path.display().to_string())?;
            for run in 0..=runs {
                let started = Instant::now();
                let found: Vec<TextManifest> =
                    diesel::RunQueryDsl::load(tag_join!(sqlite_schema, key, value), &mut conn)?;
                check(run, started, found.len(), expect, &mut times);
            }
        }
        TagQueryOn::Postgres(url) => {
            let mut conn = AsyncPgConnection::establish(url).await?;
            for run in 0..=runs {
                let started = Instant::now();
                let found: Vec<PgManifest> =
                    diesel_async::RunQueryDsl::load(tag_join!(pg_schema, key, value), &mut conn)
                        .await?;
                check(run, started, found.len(), expect, &mut times);
            }
        }
        TagQueryOn::Mysql(url) => {
            let mut conn = AsyncMysqlConnection::establish(url).await?;
            for run in 0..=runs {
                let started = Instant::now();
                let found: Vec<TextManifest> =
                    diesel_async::RunQueryDsl::load(tag_join!(mysql_schema, key, value), &mut conn)
                        .await?;
                check(run, started, found.len(), expect, &mut times);
            }
        }
    }
    Ok(times)
}

/// Records a run's time, but not the warm-up's (run 0).
fn check(run: usize, started: Instant, found: usize, expect: usize, times: &mut Vec<Duration>) {
    let elapsed = started.elapsed();
    assert_eq!(
        found, expect,
        "the raw tag query finds every tagged manifest"
    );
    if run > 0 {
        times.push(elapsed);
    }
}

pub fn write_fsync(dir: &Path, data: &[u8]) -> Duration {
    let started = Instant::now();
    let mut file = std::fs::File::create(dir.join("raw.bin")).expect("create raw.bin");
    file.write_all(data).expect("write raw.bin");
    file.sync_all().expect("fsync raw.bin");
    started.elapsed()
}

pub fn read_hash(path: &Path) -> Duration {
    let started = Instant::now();
    let mut file = std::fs::File::open(path).expect("open raw.bin");
    let mut data = Vec::new();
    file.read_to_end(&mut data).expect("read raw.bin");
    let hash = sha2::Sha256::digest(&data);
    std::hint::black_box(hash);
    started.elapsed()
}
