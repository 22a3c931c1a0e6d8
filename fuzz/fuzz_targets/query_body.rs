//! The body of the `query` fuzz target, shared with the property tests
//! (`tests/properties.rs`), which run it over the seeds (`fuzz/seeds/query/`) in every
//! `cargo test`: a `Query` built from arbitrary filters, run by `Database::find` on an
//! in-memory SQLite database, is a page or `Error::InvalidQuery`, never a panic, an
//! abort, a stack overflow or an error of the database.

use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use lakery::{ClassId, Cursor, Database, Error, ManifestId, Order, Query, Registry};

#[derive(lakery::Storable, serde::Serialize, serde::Deserialize)]
#[storable(class_id = "0c6a4e2d-8b1f-4d37-9e05-7f3a2c9d1b48")]
struct Tagged {
    n: u32,
}

const CLASS: ClassId = ClassId::from_u128(0x0c6a4e2d_8b1f_4d37_9e05_7f3a2c9d1b48);

/// An in-memory database holding a few tagged manifests, made once per process, and
/// the runtime that drives it.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    db: Database,
    ids: Vec<ManifestId>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (db, ids) = runtime.block_on(async {
            let db = Database::connect("sqlite::memory:").await.expect("connect");
            db.migrate().await.expect("migrate");
            let registry = Registry::builder()
                .storable::<Tagged>()
                .build()
                .expect("registry");
            let mut ids = Vec::new();
            for n in 0..3u32 {
                let record = lakery::save_one(&Tagged { n }, &registry, &db)
                    .tags([("kind", "tagged"), ("n", &n.to_string()[..])])
                    .await
                    .expect("save");
                ids.push(record.id);
            }
            (db, ids)
        });
        Fixture { runtime, db, ids }
    })
}

/// The input as a little program: each operation is a byte, then its operands.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    /// A length byte, then that many bytes, as a string (invalid UTF-8 replaced).
    fn text(&mut self) -> Option<String> {
        let len = usize::from(self.byte()?).min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(String::from_utf8_lossy(text).into_owned())
    }

    fn time(&mut self) -> Option<DateTime<Utc>> {
        let seconds = i64::from_le_bytes(self.bytes()?);
        let nanos = u32::from_le_bytes(self.bytes()?);
        // Out of chrono's range: the ends of it, which a caller can also pass.
        Some(
            DateTime::from_timestamp(seconds, nanos % 2_000_000_000).unwrap_or(if seconds < 0 {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            }),
        )
    }
}

/// Builds a query from `input`:
/// `0` class (a byte: even the saved class, odd the 16 bytes that follow),
/// `1` version (u32), `2` tag (key and value, each a length byte and bytes),
/// `3` a tag of n x 4 KiB (a byte n), `4` many tags (a u16 count), `5` created since and
/// `6` created before (i64 seconds, u32 nanoseconds), `7` order (a byte),
/// `8` limit (u32), `9` a cursor (a byte: even a saved id, odd text to parse),
/// `10` unreplaced; every integer little-endian.
/// Returns the query and its limit.
fn build(input: &[u8]) -> (Query, Option<usize>) {
    let fixture = fixture();
    let mut input = Input(input);
    let mut query = Query::new();
    let mut limit = None;
    while let Some(op) = input.byte() {
        let next = match op % 11 {
            0 => match input.byte() {
                Some(b) if b % 2 == 0 => Some(query.clone().class_id(CLASS)),
                Some(_) => input.bytes::<16>().map(|bits| {
                    query
                        .clone()
                        .class_id(ClassId::from_u128(u128::from_le_bytes(bits)))
                }),
                None => None,
            },
            1 => input
                .bytes()
                .map(|v| query.clone().version(u32::from_le_bytes(v))),
            2 => match (input.text(), input.text()) {
                (Some(key), Some(value)) => Some(query.clone().tag(key, value)),
                _ => None,
            },
            3 => input
                .byte()
                .map(|n| query.clone().tag("huge", "x".repeat(usize::from(n) << 12))),
            4 => input.bytes().map(|count| {
                (0..u16::from_le_bytes(count))
                    .fold(query.clone(), |q, i| q.tag(format!("k{i}"), "v"))
            }),
            5 => input.time().map(|t| query.clone().created_since(t)),
            6 => input.time().map(|t| query.clone().created_before(t)),
            7 => input.byte().map(|b| {
                query.clone().order(if b % 2 == 0 {
                    Order::OldestFirst
                } else {
                    Order::NewestFirst
                })
            }),
            8 => input.bytes().map(|l| {
                let l = u32::from_le_bytes(l) as usize;
                limit = Some(l);
                query.clone().limit(l)
            }),
            9 => match input.byte() {
                Some(b) if b % 2 == 0 => {
                    let id = fixture.ids[usize::from(b / 2) % fixture.ids.len()];
                    Some(query.clone().after(Cursor::from(id)))
                }
                Some(_) => input.text().map(|text| match Cursor::from_str(&text) {
                    Ok(cursor) => query.clone().after(cursor),
                    Err(_) => query.clone(),
                }),
                None => None,
            },
            _ => Some(query.clone().unreplaced()),
        };
        match next {
            Some(next) => query = next,
            None => break,
        }
    }
    (query, limit)
}

/// `Database::find` of the query `input` builds, and of its next page if there is one.
pub fn query(input: &[u8]) {
    let (query, limit) = build(input);
    let fixture = fixture();
    fixture.runtime.block_on(async {
        let mut query = query;
        for _ in 0..2 {
            match fixture.db.find(&query).await {
                Ok(page) => {
                    if let Some(limit) = limit {
                        assert!(page.records.len() <= limit, "a page past its limit");
                    }
                    assert!(page.unreadable.is_empty(), "the fixture's rows are sound");
                    match page.next {
                        Some(cursor) => query = query.after(cursor),
                        None => break,
                    }
                }
                Err(Error::InvalidQuery(_)) => break,
                Err(other) => panic!("find {query:?}: not a page nor an invalid query: {other}"),
            }
        }
    });
}
