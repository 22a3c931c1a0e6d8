//! Finding stored manifests: [`Query`], answered a [`Page`] at a time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::records::ManifestRow;
use super::types::DbUuid;
use super::{delete_chunks, on_backend, Database, CHUNK};
use crate::error::{Error, Result};
use crate::id::ClassId;
use crate::record::{check_tag, ManifestRecord};

/// Which manifests to find: by storable type or class id, version, tags, and creation
/// time; in creation order, a page at a time.
///
/// Every filter narrows the selection; a query without filters selects every manifest.
/// Tags are matched through an indexed table on every backend, in one predicate however
/// many tags a query names; a query names at most [`Query::MAX_TAGS`].
///
/// ```no_run
/// # async fn run(db: &lakery::Database) -> lakery::Result<()> {
/// # #[derive(lakery::Storable)]
/// # #[storable(class_id = "2b0f7c52-40c8-4f55-9d4e-7d1c6f4f0a01")]
/// # struct Experiment { name: String }
/// use lakery::Query;
///
/// let mut query = Query::of::<Experiment>().tag("project", "apollo").limit(100);
/// loop {
///     let page = db.find(&query).await?;
///     for record in &page.records {
///         println!("{} saved at {}", record.id, record.created_at);
///     }
///     match page.next {
///         Some(cursor) => query = query.after(cursor),
///         None => break,
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a query does nothing until it is given to `Database::find`"]
pub struct Query {
    class_id: Option<ClassId>,
    version: Option<u32>,
    tags: Vec<(String, String)>,
    created_from: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    order: Order,
    limit: Option<usize>,
    after: Option<Cursor>,
    /// Only manifests saved at a version below this one; for rewrites.
    pub(crate) older_than: Option<u32>,
    /// Only manifests that no other manifest replaces.
    unreplaced: bool,
}

/// The order of a query's results, by creation time: by id, whose first 48 bits are the
/// millisecond the manifest was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Order {
    /// Oldest first.
    #[default]
    OldestFirst,
    /// Newest first.
    NewestFirst,
}

/// One page of a query's results.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The manifests, in the query's order. Hand them to a
    /// [`Loader`](crate::Loader) as they are.
    pub records: Vec<ManifestRecord>,
    /// The manifests the query selected whose rows cannot be read, in the query's
    /// order: each is reported rather than failing the page, and
    /// [`Database::delete`] removes it.
    pub unreadable: Vec<UnreadableManifest>,
    /// Where the next page starts, if there are more results: pass it to
    /// [`Query::after`].
    pub next: Option<Cursor>,
}

/// A manifest row that a query selected but that cannot be read: a time, class id,
/// version, id or tags that are not what lakery writes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnreadableManifest {
    /// The id as stored: a UUID, which [`ManifestId`](crate::ManifestId) parses, unless
    /// the id itself is what is wrong.
    pub id: String,
    /// What is wrong with the row.
    pub reason: String,
}

/// Where a page ended: the id of its last manifest.
///
/// Manifest ids are UUIDs of version 7, which begin with their creation time, so id
/// order is creation order and a cursor is an id. Paging by cursor is stable: manifests
/// saved or deleted meanwhile do not shift the pages. It converts to and from a string
/// ([`Display`](fmt::Display) and [`FromStr`]), so it can travel in a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor(Uuid);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.simple(), f)
    }
}

/// The cursor just after (or, newest first, just before) this manifest.
impl From<crate::id::ManifestId> for Cursor {
    fn from(id: crate::id::ManifestId) -> Self {
        Cursor(*id.as_uuid())
    }
}

impl FromStr for Cursor {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Uuid::try_parse(text)
            .map(Cursor)
            .map_err(|_| Error::InvalidQuery(format!("`{text}` is not a cursor lakery made")))
    }
}

/// The smallest version-7 UUID of the first whole millisecond at or after `time`: ids
/// at or above it were created at or after `time`, since a manifest's creation time is
/// the millisecond its id records.
fn first_id_at(time: DateTime<Utc>) -> Uuid {
    let millis = time.timestamp_millis()
        + i64::from(!time.timestamp_subsec_nanos().is_multiple_of(1_000_000));
    let millis = u64::try_from(millis).unwrap_or(0).min((1 << 48) - 1);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70; // version 7
    bytes[8] = 0x80; // RFC 4122 variant
    Uuid::from_bytes(bytes)
}

impl Query {
    /// The most tags one query may require. A manifest carries a tag once per key, so
    /// more than a few are rarely useful, and the cap bounds what a query costs the
    /// database whoever wrote it (the viewer builds queries from a URL).
    pub const MAX_TAGS: usize = 16;

    /// A query that selects every manifest.
    pub fn new() -> Self {
        Query::default()
    }

    /// Only manifests of this class.
    pub fn class_id(mut self, class_id: ClassId) -> Self {
        self.class_id = Some(class_id);
        self
    }

    /// Only manifests saved at this version of their type.
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// Only manifests with this tag; several calls require all of them.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// Only manifests saved at or after `time`.
    pub fn created_since(mut self, time: DateTime<Utc>) -> Self {
        self.created_from = Some(time);
        self
    }

    /// Only manifests saved before `time`.
    pub fn created_before(mut self, time: DateTime<Utc>) -> Self {
        self.created_before = Some(time);
        self
    }

    /// The order of the results: oldest first unless told otherwise.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// At most `limit` manifests per page. Without a limit, one page holds them all.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Only manifests that no other manifest replaces: after a
    /// [`rewrite`](crate::migration::rewrite) that kept the old manifests, the current
    /// form of each value once.
    pub fn unreplaced(mut self) -> Self {
        self.unreplaced = true;
        self
    }

    /// Starts after the page that ended at `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// The limit, if one was set.
    pub(crate) fn limit_value(&self) -> Option<usize> {
        self.limit
    }

    fn check(&self) -> Result<()> {
        if self.tags.len() > Query::MAX_TAGS {
            return Err(Error::InvalidQuery(format!(
                "{} tags asked for; a query may require at most {}",
                self.tags.len(),
                Query::MAX_TAGS
            )));
        }
        for (key, value) in &self.tags {
            check_tag(key, value).map_err(|e| Error::InvalidQuery(e.to_string()))?;
        }
        if let Some(version) = self.version {
            if i32::try_from(version).is_err() {
                return Err(Error::InvalidQuery(format!(
                    "version {version} is above the largest version, {}",
                    i32::MAX
                )));
            }
        }
        if self.limit == Some(0) {
            return Err(Error::InvalidQuery(
                "a limit of 0 selects nothing".to_owned(),
            ));
        }
        Ok(())
    }
}

/// `$schema::lakery_manifests` selecting `$columns`, boxed, with every filter, the
/// cursor and the order of `$query`, but not its limit.
macro_rules! filtered {
    ($schema:ident, $query:expr, $columns:expr) => {{
        use $schema::{lakery_manifests as m, lakery_tags as t};
        let query: &Query = $query;
        let mut select = m::table.select($columns).into_boxed();
        if let Some(class_id) = query.class_id {
            select = select.filter(m::class_id.eq(DbUuid(*class_id.as_uuid())));
        }
        if let Some(version) = query.version {
            select = select.filter(m::class_version.eq(version as i32));
        }
        if let Some(version) = query.older_than {
            select = select.filter(m::class_version.lt(i32::try_from(version).unwrap_or(i32::MAX)));
        }
        if query.unreplaced {
            let replaces = $schema::REPLACERS.field(m::replaces);
            select = select.filter(
                m::id.ne_all(
                    $schema::REPLACERS
                        .select(replaces.assume_not_null())
                        .filter(replaces.is_not_null()),
                ),
            );
        }
        // One predicate however many tags: the manifests with as many of the wanted
        // tags as there are, which is all of them, since a manifest has one value per key.
        let tags: std::collections::BTreeSet<(&str, &str)> = query
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut tags = tags.into_iter();
        if let Some((key, value)) = tags.next() {
            let count = i64::try_from(tags.len() + 1).unwrap_or(i64::MAX);
            let mut wanted = t::table
                .group_by(t::manifest_id)
                .select(t::manifest_id)
                .having(diesel::dsl::count_star().eq(count))
                .filter(t::tag_key.eq(key).and(t::tag_value.eq(value)))
                .into_boxed();
            for (key, value) in tags {
                wanted = wanted.or_filter(t::tag_key.eq(key).and(t::tag_value.eq(value)));
            }
            select = select.filter(m::id.eq_any(wanted));
        }
        // Creation times live in the ids, so time bounds are id bounds, on the primary key.
        if let Some(time) = query.created_from {
            select = select.filter(m::id.ge(DbUuid(first_id_at(time))));
        }
        if let Some(time) = query.created_before {
            select = select.filter(m::id.lt(DbUuid(first_id_at(time))));
        }
        if let Some(Cursor(after)) = query.after {
            select = match query.order {
                Order::OldestFirst => select.filter(m::id.gt(DbUuid(after))),
                Order::NewestFirst => select.filter(m::id.lt(DbUuid(after))),
            };
        }
        match query.order {
            Order::OldestFirst => select.order(m::id.asc()),
            Order::NewestFirst => select.order(m::id.desc()),
        }
    }};
}

pub(super) async fn find(db: &Database, query: &Query) -> Result<Page> {
    query.check()?;
    // One more than the limit tells whether another page follows.
    let fetch = query
        .limit
        .map(|limit| i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1);
    let rows: Vec<ManifestRow> = on_backend!(db, "finding manifests", |conn, schema| {
        let select = filtered!(schema, query, schema::MANIFEST_ROW);
        match fetch {
            Some(fetch) => select.limit(fetch).load(conn).await,
            None => select.load(conn).await,
        }
    })?;
    let mut rows = rows;
    let more = query.limit.is_some_and(|limit| rows.len() > limit);
    rows.truncate(query.limit.unwrap_or(usize::MAX));
    // The page goes on from its last row whose id is a UUID. Only a row whose id is not
    // one can come after it; a page that nothing but such rows fill ends the paging
    // rather than returning them again.
    let next = rows
        .iter()
        .rev()
        .find_map(|row| row.id.0.as_ref().ok().copied())
        .filter(|_| more)
        .map(Cursor);
    let mut records = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for row in rows {
        let id = match &row.id.0 {
            Ok(id) => id.to_string(),
            Err(text) => text.clone(),
        };
        match row.into_record() {
            Ok(record) => records.push(record),
            Err(error) => unreadable.push(UnreadableManifest {
                id,
                reason: match error {
                    Error::CorruptRecord { reason, .. } => reason,
                    other => other.to_string(),
                },
            }),
        }
    }
    Ok(Page {
        records,
        unreadable,
        next,
    })
}

pub(super) async fn delete_where(db: &Database, query: &Query) -> Result<usize> {
    query.check()?;
    let limit = query
        .limit
        .map(|limit| i64::try_from(limit).unwrap_or(i64::MAX));
    let context = "deleting manifests";
    on_backend!(db, context,
        // `BEGIN IMMEDIATE`, as in `Database::delete`: this transaction reads before it
        // writes, which a deferred SQLite transaction cannot do beside other writers.
        sqlite(pool) => {
            let query = query.clone();
            let mut conn = pool.get().await.map_err(|e| Error::Pool(Box::new(e)))?;
            conn.spawn_blocking(move |conn| {
                use super::schema::sqlite as schema;
                conn.immediate_transaction(|conn| {
                    let select = filtered!(schema, &query, schema::lakery_manifests::id);
                    let ids: Vec<DbUuid> = match limit {
                        Some(limit) => diesel::RunQueryDsl::load(select.limit(limit), conn)?,
                        None => diesel::RunQueryDsl::load(select, conn)?,
                    };
                    delete_chunks!(sync conn, schema, ids)
                })
            })
            .await
            .map_err(|e| super::classify(context, e))
        },
        |conn, schema| {
            conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                let select = filtered!(schema, query, schema::lakery_manifests::id);
                let ids: Vec<DbUuid> = match limit {
                    Some(limit) => select.limit(limit).load(&mut *conn).await?,
                    None => select.load(&mut *conn).await?,
                };
                delete_chunks!(async conn, schema, ids)
            })
            .await
        }
    )
}
