//! Finding and deleting manifests: every filter, order, limit and cursor of `Query`,
//! records found handed straight to a `Loader`, and deletion by id or by query, on
//! every backend.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::TestDb;
use lakery::{
    ClassId, Cursor, Database, Error, FileStorage, ManifestId, ManifestRecord, MemoryStorage,
    Order, Query, Registry, Storable, Tags,
};

/// Version 1 of a type with a content of its own, in the `blobs` storage.
#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "9a4c1e52-7b3d-4f60-8e21-5c9d0b7a3f11", version = 1)]
struct Alpha {
    name: String,
    #[content(storage = "blobs", tags(kind = "values"))]
    values: Vec<u32>,
}

/// Version 2 of the same class.
#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "9a4c1e52-7b3d-4f60-8e21-5c9d0b7a3f11", version = 2)]
struct AlphaV2 {
    name: String,
    extra: u8,
}

/// Another class, body only.
#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "1f2e3d4c-5b6a-4798-a6b5-c4d3e2f1a0b9")]
struct Beta {
    label: String,
}

fn alpha(n: u32) -> Alpha {
    Alpha {
        name: format!("alpha {n}"),
        values: (n..n + 5).collect(),
    }
}

fn alpha_v2(n: u32) -> AlphaV2 {
    AlphaV2 {
        name: format!("alpha v2 {n}"),
        extra: n as u8,
    }
}

fn beta(n: u32) -> Beta {
    Beta {
        label: format!("beta {n}"),
    }
}

/// A registry of the three types, with `blobs` in memory.
fn registry() -> Registry {
    registry_with(MemoryStorage::new())
}

fn registry_with(blobs: impl lakery::Storage) -> Registry {
    Registry::builder()
        .storage("blobs", blobs)
        .storable::<Alpha>()
        .storable::<AlphaV2>()
        .storable::<Beta>()
        .build()
        .unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Saves `alpha(first..first + n)` in one batch, each with `tags`; returns the records
/// in order of saving.
async fn save_alphas(
    registry: &Registry,
    db: &Database,
    first: u32,
    n: u32,
    with: &[(&str, &str)],
) -> Vec<ManifestRecord> {
    let mut saver = lakery::Saver::new(registry, db);
    for i in first..first + n {
        saver.save_soon_with_tags(&alpha(i), tags(with));
    }
    saver.finish().await.unwrap().into_records()
}

fn ids(records: &[ManifestRecord]) -> Vec<ManifestId> {
    records.iter().map(|r| r.id).collect()
}

async fn find_ids(db: &Database, query: &Query) -> Vec<ManifestId> {
    let page = db.find(query).await.unwrap();
    ids(&page.records)
}

/// Every page of `query`, following the cursors, with the size of each page.
async fn all_pages(db: &Database, mut query: Query) -> (Vec<ManifestId>, Vec<usize>) {
    let mut found = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = db.find(&query).await.unwrap();
        sizes.push(page.records.len());
        found.extend(ids(&page.records));
        match page.next {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
        assert!(sizes.len() < 100, "paging does not end: {sizes:?}");
    }
    (found, sizes)
}

/// Checks that `result` is an invalid query whose message names `what` is wrong: the
/// variant alone would pass for a refusal of anything else in the query.
fn assert_invalid_query<T: std::fmt::Debug>(result: lakery::Result<T>, what: &str) {
    match result {
        Err(error @ Error::InvalidQuery(_)) => {
            let message = error.to_string();
            assert!(
                message.starts_with("invalid query: ") && message.contains(what),
                "the message names {what}: {message}"
            )
        }
        other => panic!("{what}: expected Error::InvalidQuery, got {other:?}"),
    }
}

async fn count(t: &TestDb, table: &str) -> i64 {
    t.count(&format!("SELECT COUNT(*) AS n FROM {table}")).await
}

/// Rows of `table` whose manifest id (column `column`) is one of `ids`.
async fn count_for(t: &TestDb, table: &str, column: &str, ids: &[ManifestId]) -> i64 {
    let list: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
    t.count(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE {column} IN ({})",
        list.join(", ")
    ))
    .await
}

// ---------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn finds_by_type_class_id_and_version() {
    common::each_backend(finds_by_type_class_id_and_version_on).await;
}

async fn finds_by_type_class_id_and_version_on(t: TestDb) {
    let registry = registry();
    // Interleaved, so a filter that ignored the type would show it in the order.
    let mut saver = lakery::Saver::new(&registry, &t.db);
    let a0 = saver.save_soon(&alpha(0));
    let b0 = saver.save_soon(&beta(0));
    let v0 = saver.save_soon(&alpha_v2(0));
    let a1 = saver.save_soon(&alpha(1));
    let b1 = saver.save_soon(&beta(1));
    let v1 = saver.save_soon(&alpha_v2(1));
    let a2 = saver.save_soon(&alpha(2));
    let batch = saver.finish().await.unwrap();
    let id = |h: lakery::SaveHandle| batch[h].id;
    let all = ids(batch.records());

    // No filter: every manifest, oldest first.
    assert_eq!(find_ids(&t.db, &Query::new()).await, all);
    assert_eq!(Query::new(), Query::default());

    // By type: every version of its class.
    let alphas = vec![id(a0), id(v0), id(a1), id(v1), id(a2)];
    assert_eq!(find_ids(&t.db, &Query::of::<Alpha>()).await, alphas);
    assert_eq!(find_ids(&t.db, &Query::of::<AlphaV2>()).await, alphas);
    assert_eq!(
        find_ids(&t.db, &Query::of::<Beta>()).await,
        [id(b0), id(b1)]
    );

    // By class id: the same as by type.
    assert_eq!(
        find_ids(&t.db, &Query::new().class_id(Beta::CLASS_ID)).await,
        [id(b0), id(b1)]
    );
    let parsed = ClassId::parse("9a4c1e52-7b3d-4f60-8e21-5c9d0b7a3f11").unwrap();
    assert_eq!(
        find_ids(&t.db, &Query::new().class_id(parsed)).await,
        alphas
    );
    let nobody = ClassId::parse("00000000-0000-4000-8000-000000000000").unwrap();
    assert_eq!(
        find_ids(&t.db, &Query::new().class_id(nobody)).await,
        [] as [ManifestId; 0]
    );

    // By version, within a class and across classes.
    assert_eq!(
        find_ids(&t.db, &Query::of::<Alpha>().version(1)).await,
        [id(a0), id(a1), id(a2)]
    );
    assert_eq!(
        find_ids(&t.db, &Query::of::<Alpha>().version(2)).await,
        [id(v0), id(v1)]
    );
    assert_eq!(
        find_ids(&t.db, &Query::new().version(1)).await,
        [id(a0), id(b0), id(a1), id(b1), id(a2)]
    );
    assert_eq!(
        find_ids(&t.db, &Query::of::<Beta>().version(2)).await,
        [] as [ManifestId; 0]
    );
    // The largest version a database can hold is a valid filter; one above it is not.
    assert_eq!(
        find_ids(&t.db, &Query::new().version(i32::MAX as u32)).await,
        [] as [ManifestId; 0]
    );
    assert_invalid_query(
        t.db.find(&Query::new().version(i32::MAX as u32 + 1)).await,
        "version 2147483648 is above the largest version, 2147483647",
    );

    // The records found are the records the saves returned, field for field.
    let page = t.db.find(&Query::of::<Alpha>().version(2)).await.unwrap();
    assert_eq!(page.records, [batch[v0].clone(), batch[v1].clone()]);
    assert_eq!(page.next, None, "no limit: one page holds them all");
    for record in &page.records {
        assert_eq!(record.class_id, AlphaV2::CLASS_ID);
        assert_eq!(record.class_version, 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn finds_by_tags_all_of_which_must_match() {
    common::each_backend(finds_by_tags_all_of_which_must_match_on).await;
}

async fn finds_by_tags_all_of_which_must_match_on(t: TestDb) {
    let registry = registry();
    let mut saver = lakery::Saver::new(&registry, &t.db);
    let m0 = saver.save_soon_with_tags(
        &alpha(0),
        tags(&[("project", "apollo"), ("stage", "train")]),
    );
    let m1 = saver.save_soon_with_tags(&beta(1), tags(&[("project", "apollo"), ("stage", "eval")]));
    let m2 = saver.save_soon_with_tags(
        &alpha(2),
        tags(&[("project", "Apollo"), ("stage", "train")]),
    );
    let m3 = saver.save_soon_with_tags(&alpha(3), tags(&[("project", "gemini")]));
    let m4 = saver.save_soon_with_tags(&beta(4), tags(&[("stage", "train")]));
    let m5 = saver.save_soon(&alpha(5));
    let batch = saver.finish().await.unwrap();
    let id = |h: lakery::SaveHandle| batch[h].id;
    let none: [ManifestId; 0] = [];

    let find = |query: Query| {
        let db = t.db.clone();
        async move { find_ids(&db, &query).await }
    };
    assert_eq!(
        find(Query::new().tag("project", "apollo")).await,
        [id(m0), id(m1)]
    );
    assert_eq!(find(Query::new().tag("project", "Apollo")).await, [id(m2)]);
    assert_eq!(find(Query::new().tag("project", "gemini")).await, [id(m3)]);
    assert_eq!(find(Query::new().tag("Project", "apollo")).await, none);
    assert_eq!(find(Query::new().tag("project", "apoll")).await, none);
    assert_eq!(
        find(Query::new().tag("stage", "train")).await,
        [id(m0), id(m2), id(m4)]
    );
    // Several tags: all must match.
    assert_eq!(
        find(Query::new().tag("project", "apollo").tag("stage", "train")).await,
        [id(m0)]
    );
    assert_eq!(
        find(Query::new().tag("stage", "train").tag("project", "apollo")).await,
        [id(m0)],
        "the order of the tags does not matter"
    );
    assert_eq!(
        find(Query::new().tag("stage", "eval").tag("project", "gemini")).await,
        none
    );
    // One key with two values: no manifest has both.
    assert_eq!(
        find(
            Query::new()
                .tag("project", "apollo")
                .tag("project", "gemini")
        )
        .await,
        none
    );
    // The same tag twice is the same as once.
    assert_eq!(
        find(
            Query::new()
                .tag("project", "apollo")
                .tag("project", "apollo")
        )
        .await,
        [id(m0), id(m1)]
    );
    // Tags and type together.
    assert_eq!(
        find(Query::of::<Beta>().tag("project", "apollo")).await,
        [id(m1)]
    );
    assert_eq!(
        find(Query::of::<Alpha>().tag("stage", "train")).await,
        [id(m0), id(m2)]
    );
    // A content's own tags (`tags(kind = "values")` on Alpha's field) are not manifest
    // tags.
    assert_eq!(find(Query::new().tag("kind", "values")).await, none);
    // Without a tag filter, untagged manifests are found too.
    assert_eq!(find(Query::new()).await.len(), 6);
    assert!(find(Query::new()).await.contains(&id(m5)));

    // Records carry their tags.
    let page = t.db.find(&Query::new().tag("stage", "eval")).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(
        page.records[0].tags,
        tags(&[("project", "apollo"), ("stage", "eval")])
    );

    // Tags a save would refuse are refused by a query, as an invalid query.
    for (key, value, reason) in [
        ("", "x", "must not be empty"),
        ("k", "line\nbreak", "must not contain control characters"),
        ("tab\tkey", "x", "must not contain control characters"),
        ("k", &*"v".repeat(1025), "at most 1024 bytes"),
    ] {
        assert_invalid_query(
            t.db.find(&Query::new().tag(key, value)).await,
            &format!("invalid tag {key:?}: tag keys"),
        );
        assert_invalid_query(t.db.find(&Query::new().tag(key, value)).await, reason);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_match_exactly_whatever_their_case_unicode_or_quotes() {
    common::each_backend(tags_match_exactly_whatever_their_case_unicode_or_quotes_on).await;
}

async fn tags_match_exactly_whatever_their_case_unicode_or_quotes_on(t: TestDb) {
    let registry = registry();
    let long = "ß".repeat(512); // 1024 bytes, the longest tag value accepted
    let values: Vec<&str> = vec![
        "café",        // é precomposed (NFC)
        "cafe\u{301}", // e and a combining accent (NFD): looks the same, is not
        "CAFÉ",
        "Café",
        "cafe",
        "O'Brien",
        "O''Brien",
        "\"double\"",
        "back\\slash",
        "50%",
        "50%_off",
        "5_",
        "🦀 crab",
        "日本語のタグ",
        "trailing ",
        "trailing",
        " ",
        "'); DELETE FROM lakery_tags; --",
        &long,
    ];
    let mut saver = lakery::Saver::new(&registry, &t.db);
    let handles: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, value)| saver.save_soon_with_tags(&beta(i as u32), [("v", *value)]))
        .collect();
    // Keys that differ only in case, or are not ASCII, on one manifest.
    let keys = tags(&[
        ("k", "lower"),
        ("K", "upper"),
        ("ключ", "значение"),
        ("emoji 🔑", "🦀"),
    ]);
    let keyed = saver.save_soon_with_tags(&beta(99), keys.clone());
    let batch = saver.finish().await.unwrap();

    for (value, handle) in values.iter().zip(&handles) {
        let page = t.db.find(&Query::new().tag("v", *value)).await.unwrap();
        assert_eq!(
            ids(&page.records),
            [batch[*handle].id],
            "tag v={value:?} matches its manifest only"
        );
        assert_eq!(
            page.records[0].tags,
            tags(&[("v", value)]),
            "the tag comes back as it was saved"
        );
    }
    // Nothing matches by prefix, pattern or case folding.
    for value in ["caf", "CAFE", "o'brien", "50", "%", "_", "trailing  ", "🦀"] {
        assert_eq!(
            find_ids(&t.db, &Query::new().tag("v", value)).await,
            [] as [ManifestId; 0],
            "v={value:?} matches nothing"
        );
    }

    for (key, value) in &keys {
        assert_eq!(
            find_ids(&t.db, &Query::new().tag(key, value)).await,
            [batch[keyed].id],
            "{key:?}={value:?}"
        );
    }
    assert_eq!(
        find_ids(&t.db, &Query::new().tag("k", "upper")).await,
        [] as [ManifestId; 0]
    );
    assert_eq!(
        find_ids(&t.db, &Query::new().tag("k", "lower").tag("K", "upper")).await,
        [batch[keyed].id]
    );
    assert_eq!(t.db.manifest(batch[keyed].id).await.unwrap().tags, keys);
}

#[tokio::test(flavor = "multi_thread")]
async fn finds_by_creation_time_inclusive_since_exclusive_before() {
    common::each_backend(finds_by_creation_time_inclusive_since_exclusive_before_on).await;
}

async fn finds_by_creation_time_inclusive_since_exclusive_before_on(t: TestDb) {
    let registry = registry();
    // One at a time, a few milliseconds apart, so each has a millisecond of its own.
    let mut records = Vec::new();
    for i in 0..5 {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        records.push(lakery::save_one(&alpha(i), &registry, &t.db).await.unwrap());
    }
    let times: Vec<DateTime<Utc>> = records.iter().map(|r| r.id.created_at()).collect();
    for (record, time) in records.iter().zip(&times) {
        assert_eq!(record.created_at, *time, "created_at is the id's time");
        assert_eq!(
            time.timestamp_subsec_nanos() % 1_000_000,
            0,
            "whole milliseconds"
        );
    }
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let r = ids(&records);
    let none: [ManifestId; 0] = [];
    let micro = TimeDelta::microseconds(1);
    let find = |query: Query| {
        let db = t.db.clone();
        async move { find_ids(&db, &query).await }
    };

    // `created_since` is inclusive, `created_before` exclusive.
    assert_eq!(find(Query::new().created_since(times[2])).await, r[2..]);
    assert_eq!(find(Query::new().created_before(times[2])).await, r[..2]);
    assert_eq!(
        find(
            Query::new()
                .created_since(times[1])
                .created_before(times[3])
        )
        .await,
        r[1..3]
    );
    assert_eq!(
        find(
            Query::new()
                .created_since(times[2])
                .created_before(times[2])
        )
        .await,
        none
    );
    // Creation times are whole milliseconds: a bound inside a manifest's millisecond
    // is after its creation time.
    assert_eq!(
        find(Query::new().created_since(times[2] + micro)).await,
        r[3..]
    );
    assert_eq!(
        find(Query::new().created_before(times[2] + micro)).await,
        r[..3]
    );
    assert_eq!(
        find(Query::new().created_since(times[2] - TimeDelta::nanoseconds(1))).await,
        r[2..]
    );
    assert_eq!(
        find(
            Query::new()
                .created_since(times[1] + micro)
                .created_before(times[3] + micro)
        )
        .await,
        r[2..4]
    );
    // Bounds beyond every manifest, and at the ends of time.
    assert_eq!(find(Query::new().created_before(times[0])).await, none);
    assert_eq!(
        find(Query::new().created_since(times[4] + TimeDelta::milliseconds(1))).await,
        none
    );
    assert_eq!(
        find(Query::new().created_since(DateTime::<Utc>::MIN_UTC)).await,
        r
    );
    assert_eq!(
        find(Query::new().created_before(DateTime::<Utc>::MAX_UTC)).await,
        r
    );
    assert_eq!(
        find(Query::new().created_before(DateTime::<Utc>::MIN_UTC)).await,
        none
    );
    assert_eq!(
        find(Query::new().created_since(DateTime::<Utc>::MAX_UTC)).await,
        none
    );
    let before_1970 = DateTime::from_timestamp(-86_400, 0).unwrap();
    assert_eq!(find(Query::new().created_since(before_1970)).await, r);
    assert_eq!(find(Query::new().created_before(before_1970)).await, none);

    // With order, type and limit.
    let page =
        t.db.find(
            &Query::of::<Alpha>()
                .created_since(times[1])
                .created_before(times[4])
                .order(Order::NewestFirst)
                .limit(2),
        )
        .await
        .unwrap();
    assert_eq!(ids(&page.records), [r[3], r[2]]);
    let rest =
        t.db.find(
            &Query::of::<Alpha>()
                .created_since(times[1])
                .created_before(times[4])
                .order(Order::NewestFirst)
                .limit(2)
                .after(page.next.expect("a third manifest in the range")),
        )
        .await
        .unwrap();
    assert_eq!(ids(&rest.records), [r[1]]);
    assert_eq!(rest.next, None);
}

// ---------------------------------------------------------------------------------
// Order, limit, paging
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn orders_and_limits() {
    common::each_backend(orders_and_limits_on).await;
}

async fn orders_and_limits_on(t: TestDb) {
    let registry = registry();
    let saved = ids(&save_alphas(&registry, &t.db, 0, 12, &[]).await);
    let newest_first: Vec<_> = saved.iter().rev().copied().collect();

    assert_eq!(Order::default(), Order::OldestFirst);
    assert_eq!(find_ids(&t.db, &Query::new()).await, saved);
    assert_eq!(
        find_ids(&t.db, &Query::new().order(Order::OldestFirst)).await,
        saved
    );
    assert_eq!(
        find_ids(&t.db, &Query::new().order(Order::NewestFirst)).await,
        newest_first
    );

    let page = t.db.find(&Query::new().limit(5)).await.unwrap();
    assert_eq!(ids(&page.records), saved[..5]);
    assert!(page.next.is_some());
    let page =
        t.db.find(&Query::new().order(Order::NewestFirst).limit(5))
            .await
            .unwrap();
    assert_eq!(ids(&page.records), newest_first[..5]);
    assert!(page.next.is_some());
    let page = t.db.find(&Query::new().limit(1)).await.unwrap();
    assert_eq!(ids(&page.records), saved[..1]);

    // A limit of exactly what there is, or more: one page, and no next.
    for limit in [12, 13, 1000, usize::MAX] {
        let page = t.db.find(&Query::new().limit(limit)).await.unwrap();
        assert_eq!(ids(&page.records), saved, "limit {limit}");
        assert_eq!(page.next, None, "limit {limit}");
    }
    let page = t.db.find(&Query::new()).await.unwrap();
    assert_eq!(page.next, None, "without a limit one page holds them all");

    assert_invalid_query(
        t.db.find(&Query::new().limit(0)).await,
        "a limit of 0 selects nothing",
    );

    // Nothing to find: an empty page without next.
    let page = t.db.find(&Query::of::<Beta>().limit(3)).await.unwrap();
    assert!(page.records.is_empty() && page.unreadable.is_empty());
    assert_eq!(page.next, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_the_cursor_without_gaps_or_duplicates() {
    common::each_backend(pages_follow_the_cursor_without_gaps_or_duplicates_on).await;
}

async fn pages_follow_the_cursor_without_gaps_or_duplicates_on(t: TestDb) {
    let registry = registry();
    let mut saver = lakery::Saver::new(&registry, &t.db);
    // 25 tagged `set=a` and 20 tagged `set=b`, interleaved, plus Betas in between.
    for i in 0..25 {
        saver.save_soon_with_tags(&alpha(i), [("set", "a")]);
        if i < 20 {
            saver.save_soon_with_tags(&alpha(100 + i), [("set", "b")]);
        }
        if i % 5 == 0 {
            saver.save_soon_with_tags(&beta(i), [("set", "a")]);
        }
    }
    let records = saver.finish().await.unwrap().into_records();
    let set = |s: &str| -> Vec<ManifestId> {
        records
            .iter()
            .filter(|r| r.tags["set"] == s && r.class_id == Alpha::CLASS_ID)
            .map(|r| r.id)
            .collect()
    };
    let a = set("a");
    let b = set("b");
    assert_eq!((a.len(), b.len()), (25, 20));

    // 25 with pages of 10: 10, 10, 5, and the last page says there is no more.
    let query = Query::of::<Alpha>().tag("set", "a").limit(10);
    let (found, sizes) = all_pages(&t.db, query.clone()).await;
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(found, a, "every manifest once, in order");
    assert_eq!(found.iter().collect::<HashSet<_>>().len(), 25);

    // Newest first, the same pages backwards.
    let (found, sizes) = all_pages(&t.db, query.clone().order(Order::NewestFirst)).await;
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(found, a.iter().rev().copied().collect::<Vec<_>>());

    // 20 with pages of 10: the second page is full and still the last.
    let (found, sizes) = all_pages(&t.db, Query::of::<Alpha>().tag("set", "b").limit(10)).await;
    assert_eq!(sizes, [10, 10]);
    assert_eq!(found, b);

    // Pages of 1 and of 7.
    let (found, sizes) = all_pages(&t.db, query.clone().limit(1)).await;
    assert_eq!(sizes, vec![1; 25]);
    assert_eq!(found, a);
    let (found, sizes) = all_pages(&t.db, query.clone().limit(7)).await;
    assert_eq!(sizes, [7, 7, 7, 4]);
    assert_eq!(found, a);

    // The cursor is where the page ended: the id of its last manifest.
    let page = t.db.find(&query).await.unwrap();
    let cursor = page.next.unwrap();
    let last = page.records.last().unwrap().id;
    assert_eq!(cursor, last.to_string().parse::<Cursor>().unwrap());
    assert_eq!(
        Cursor::from_str(&last.as_uuid().simple().to_string()).unwrap(),
        cursor
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_is_stable_while_manifests_are_saved_and_deleted() {
    common::each_backend(paging_is_stable_while_manifests_are_saved_and_deleted_on).await;
}

async fn paging_is_stable_while_manifests_are_saved_and_deleted_on(t: TestDb) {
    let registry = registry();
    let r = ids(&save_alphas(&registry, &t.db, 0, 25, &[("p", "1")]).await);
    let query = Query::of::<Alpha>().tag("p", "1").limit(10);

    // Oldest first: a manifest saved meanwhile comes at the end; one deleted from a page
    // already read shifts nothing.
    let page1 = t.db.find(&query).await.unwrap();
    assert_eq!(ids(&page1.records), r[..10]);
    let new = lakery::save_one(&alpha(50), &registry, &t.db)
        .tags([("p", "1")])
        .await
        .unwrap();
    assert_eq!(t.db.delete(&[r[3], r[7]]).await.unwrap(), 2);
    let page2 =
        t.db.find(&query.clone().after(page1.next.unwrap()))
            .await
            .unwrap();
    assert_eq!(ids(&page2.records), r[10..20], "no gap after deletions");
    // A manifest deleted from a page not yet read is simply not on it.
    assert_eq!(t.db.delete(&[r[22]]).await.unwrap(), 1);
    let page3 =
        t.db.find(&query.clone().after(page2.next.unwrap()))
            .await
            .unwrap();
    let mut expected = vec![r[20], r[21], r[23], r[24], new.id];
    assert_eq!(ids(&page3.records), expected);
    assert_eq!(page3.next, None);

    // Newest first: a manifest saved meanwhile is newer than the cursor and not on
    // later pages; the pages do not shift.
    let alive: Vec<ManifestId> = {
        let mut alive: Vec<ManifestId> = r
            .iter()
            .copied()
            .filter(|id| ![r[3], r[7], r[22]].contains(id))
            .collect();
        alive.push(new.id);
        alive.reverse();
        alive
    };
    let query = query.order(Order::NewestFirst);
    let page1 = t.db.find(&query).await.unwrap();
    assert_eq!(ids(&page1.records), alive[..10]);
    let newer = lakery::save_one(&alpha(51), &registry, &t.db)
        .tags([("p", "1")])
        .await
        .unwrap();
    let page2 =
        t.db.find(&query.clone().after(page1.next.unwrap()))
            .await
            .unwrap();
    assert_eq!(ids(&page2.records), alive[10..20]);
    let page3 =
        t.db.find(&query.clone().after(page2.next.unwrap()))
            .await
            .unwrap();
    assert_eq!(ids(&page3.records), alive[20..]);
    assert_eq!(page3.next, None);
    // A new query from the start sees it first.
    expected = vec![newer.id];
    assert_eq!(
        ids(&t.db.find(&query.limit(1)).await.unwrap().records),
        expected
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cursors_round_trip_through_strings_and_bad_ones_are_refused() {
    common::each_backend(cursors_round_trip_through_strings_and_bad_ones_are_refused_on).await;
}

async fn cursors_round_trip_through_strings_and_bad_ones_are_refused_on(t: TestDb) {
    let registry = registry();
    let r = ids(&save_alphas(&registry, &t.db, 0, 9, &[]).await);
    let query = Query::new().limit(4);
    let page = t.db.find(&query).await.unwrap();
    let cursor = page.next.unwrap();

    let text = cursor.to_string();
    assert!(
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "`{text}` travels in a URL as it is"
    );
    let parsed: Cursor = text.parse().unwrap();
    assert_eq!(parsed, cursor);
    assert_eq!(parsed.to_string(), text);

    // A cursor read back from its string continues where the page ended.
    let next = t.db.find(&query.clone().after(parsed)).await.unwrap();
    assert_eq!(ids(&next.records), r[4..8]);
    let last =
        t.db.find(
            &query
                .clone()
                .after(next.next.unwrap().to_string().parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(ids(&last.records), r[8..]);
    assert_eq!(last.next, None);

    for bad in [
        "",
        "not a cursor",
        "0123",
        &text[..text.len() - 1],
        &format!("{text}0"),
        &format!("g{}", &text[1..]),
        &format!(" {text}"),
        "../../etc/passwd",
    ] {
        match bad.parse::<Cursor>() {
            Err(Error::InvalidQuery(message)) => {
                assert!(
                    message.contains(bad),
                    "the message names `{bad}`: {message}"
                )
            }
            other => panic!("`{bad}` is not a cursor, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------
// Found records load as they are
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn found_records_carry_tags_and_contents_and_load_as_they_are() {
    common::each_backend(found_records_carry_tags_and_contents_and_load_as_they_are_on).await;
}

async fn found_records_carry_tags_and_contents_and_load_as_they_are_on(t: TestDb) {
    let blobs = MemoryStorage::new();
    let registry = registry_with(blobs.clone());
    let mut saver = lakery::Saver::new(&registry, &t.db);
    let mut expected = BTreeMap::new();
    for i in 0..6 {
        let value = alpha(i * 10);
        let handle = saver.save_soon_with_tags(
            &value,
            [("project", "apollo".to_owned()), ("n", i.to_string())],
        );
        expected.insert(handle.index(), value);
        saver.save_soon_with_tags(&beta(i), [("project", "apollo")]);
    }
    let batch = saver.finish().await.unwrap();
    let saved: BTreeMap<ManifestId, Alpha> = expected
        .into_iter()
        .map(|(index, value)| (batch.records()[index].id, value))
        .collect();

    let page =
        t.db.find(
            &Query::of::<Alpha>()
                .tag("project", "apollo")
                .order(Order::NewestFirst)
                .limit(100),
        )
        .await
        .unwrap();
    assert_eq!(page.records.len(), 6);
    assert_eq!(page.next, None);

    // Tags, and the record as the database has it.
    for record in &page.records {
        assert_eq!(record.tags["project"], "apollo");
        assert_eq!(record.tags.len(), 2);
        assert_eq!(record.class_id, Alpha::CLASS_ID);
        assert_eq!(&t.db.manifest(record.id).await.unwrap(), record);
        let saved_record = batch.records().iter().find(|r| r.id == record.id).unwrap();
        assert_eq!(record, saved_record);
        // Its contents: the body in the database, the values in `blobs` with the
        // field's tags.
        let contents = t.db.contents(record.id).await.unwrap();
        let keys: Vec<_> = contents.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["body", "values"]);
        assert!(contents.iter().all(|c| c.manifest_id == record.id));
        assert_eq!(contents[0].storage_name, "database");
        assert_eq!(contents[1].storage_name, "blobs");
        assert_eq!(contents[1].tags, tags(&[("kind", "values")]));
        assert!(blobs.tags(&contents[1].storage_config).is_some());
    }

    // Handed to a Loader as they are: by reference and by value.
    let mut loader = lakery::Loader::new(&registry, &t.db);
    let by_ref: Vec<_> = page
        .records
        .iter()
        .map(|r| (r.id, loader.load_soon::<Alpha>(r)))
        .collect();
    let by_value: Vec<_> = page
        .records
        .clone()
        .into_iter()
        .map(|r| (r.id, loader.load_soon::<Alpha>(r)))
        .collect();
    let mut loaded = loader.finish().await.unwrap();
    for (id, handle) in by_ref.into_iter().chain(by_value) {
        assert_eq!(loaded.take(handle).as_ref(), Some(&saved[&id]), "{id}");
    }
    // And one at a time.
    for record in &page.records {
        let value: Alpha = lakery::load_one(record, &registry, &t.db).await.unwrap();
        assert_eq!(value, saved[&record.id]);
    }
}

// ---------------------------------------------------------------------------------
// Deleting
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn delete_by_ids_removes_manifests_contents_and_tags() {
    common::each_backend(delete_by_ids_removes_manifests_contents_and_tags_on).await;
}

async fn delete_by_ids_removes_manifests_contents_and_tags_on(t: TestDb) {
    let files = FileStorage::new(t.path("files")).unwrap();
    let registry = registry_with(files.clone());
    // Alphas: 2 contents (body in the database, values in files) and 2 tags each;
    // Betas: 1 content and 1 tag.
    let alphas = save_alphas(&registry, &t.db, 0, 5, &[("project", "p"), ("owner", "o")]).await;
    let mut betas = Vec::new();
    for i in 0..2 {
        betas.push(
            lakery::save_one(&beta(i), &registry, &t.db)
                .tags([("project", "p")])
                .await
                .unwrap(),
        );
    }
    assert_eq!(count(&t, "lakery_manifests").await, 7);
    assert_eq!(count(&t, "lakery_contents").await, 12);
    assert_eq!(count(&t, "lakery_tags").await, 12);
    let files_before = walk(files.root());
    assert_eq!(files_before.len(), 5);

    let gone = [alphas[1].id, alphas[3].id, betas[0].id];
    let unknown = ManifestId::from(uuid::Uuid::now_v7());
    let deleted =
        t.db.delete(&[gone[0], unknown, gone[1], gone[2]])
            .await
            .unwrap();
    assert_eq!(deleted, 3, "unknown ids are skipped and not counted");

    assert_eq!(count(&t, "lakery_manifests").await, 4);
    assert_eq!(count(&t, "lakery_contents").await, 12 - 5);
    assert_eq!(count(&t, "lakery_tags").await, 12 - 5);
    assert_eq!(count_for(&t, "lakery_manifests", "id", &gone).await, 0);
    assert_eq!(
        count_for(&t, "lakery_contents", "manifest_id", &gone).await,
        0
    );
    assert_eq!(count_for(&t, "lakery_tags", "manifest_id", &gone).await, 0);

    // The others are untouched and load.
    let kept = [alphas[0].id, alphas[2].id, alphas[4].id];
    assert_eq!(
        count_for(&t, "lakery_contents", "manifest_id", &kept).await,
        6
    );
    assert_eq!(count_for(&t, "lakery_tags", "manifest_id", &kept).await, 6);
    for (i, record) in alphas.iter().enumerate() {
        if kept.contains(&record.id) {
            let value: Alpha = lakery::load_one(record, &registry, &t.db).await.unwrap();
            assert_eq!(value, alpha(i as u32));
        }
    }
    let found = find_ids(&t.db, &Query::new().tag("project", "p")).await;
    assert_eq!(
        found,
        [alphas[0].id, alphas[2].id, alphas[4].id, betas[1].id]
    );

    // Blobs in external storages stay until garbage collection removes them.
    assert_eq!(walk(files.root()), files_before);

    // A deleted manifest: a clear not-found error, from every way of reading it.
    let error = lakery::load_one::<Alpha>(&alphas[1], &registry, &t.db)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ManifestNotFound(id) if id == alphas[1].id),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&alphas[1].id.to_string()) && message.contains("does not exist"),
        "{message}"
    );
    let error = t.db.manifest(betas[0].id).await.unwrap_err();
    assert!(
        matches!(error, Error::ManifestNotFound(id) if id == betas[0].id),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("manifest {} does not exist", betas[0].id)
    );
    assert_eq!(t.db.contents(alphas[3].id).await.unwrap(), vec![]);
    // In a batch, only the deleted value fails, by its index.
    let mut loader = lakery::Loader::new(&registry, &t.db);
    loader.load_soon::<Alpha>(&alphas[0]);
    loader.load_soon::<Alpha>(&alphas[3]);
    loader.load_soon::<Alpha>(&alphas[4]);
    let error = match loader.finish().await {
        Err(error) => error,
        Ok(_) => panic!("expected the batch to fail for the deleted manifest"),
    };
    let Error::Batch {
        action: "loaded",
        failures,
        total: 3,
    } = &error
    else {
        panic!("expected a batch load error of 3 values: {error:?}")
    };
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].index, 1);
    assert!(
        matches!(failures[0].error, Error::ManifestNotFound(id) if id == alphas[3].id),
        "{:?}",
        failures[0].error
    );
    // The message names the value by its index and the manifest by its id.
    let message = error.to_string();
    assert!(
        message.starts_with("1 of 3 values in the batch failed and nothing was loaded")
            && message.contains(&format!(
                "value #1: manifest {} does not exist",
                alphas[3].id
            )),
        "{message}"
    );

    // Deleting again, nothing, or one id twice.
    assert_eq!(t.db.delete(&gone).await.unwrap(), 0);
    assert_eq!(t.db.delete(&[]).await.unwrap(), 0);
    assert_eq!(t.db.delete(&[alphas[0].id, alphas[0].id]).await.unwrap(), 1);
    assert_eq!(count(&t, "lakery_manifests").await, 3);
    assert_eq!(count(&t, "lakery_contents").await, 5);
    assert_eq!(count(&t, "lakery_tags").await, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_where_deletes_only_what_the_query_selects() {
    common::each_backend(delete_where_deletes_only_what_the_query_selects_on).await;
}

async fn delete_where_deletes_only_what_the_query_selects_on(t: TestDb) {
    let registry = registry();
    let a = ids(&save_alphas(&registry, &t.db, 0, 4, &[("project", "a")]).await);
    let b = ids(&save_alphas(&registry, &t.db, 10, 5, &[("project", "b")]).await);
    let mut saver = lakery::Saver::new(&registry, &t.db);
    for i in 0..4 {
        saver.save_soon_with_tags(&beta(i), [("project", "a")]);
    }
    let betas = ids(saver.finish().await.unwrap().records());
    assert_eq!(count(&t, "lakery_manifests").await, 13);

    // By type and tag: the Betas tagged `a` stay.
    let deleted =
        t.db.delete_where(&Query::of::<Alpha>().tag("project", "a"))
            .await
            .unwrap();
    assert_eq!(deleted, 4);
    assert_eq!(count_for(&t, "lakery_manifests", "id", &a).await, 0);
    assert_eq!(count_for(&t, "lakery_contents", "manifest_id", &a).await, 0);
    assert_eq!(count_for(&t, "lakery_tags", "manifest_id", &a).await, 0);
    let mut rest = b.clone();
    rest.extend(&betas);
    assert_eq!(find_ids(&t.db, &Query::new()).await, rest);
    assert_eq!(count(&t, "lakery_contents").await, 5 * 2 + 4);
    assert_eq!(count(&t, "lakery_tags").await, 5 + 4);

    // Nothing selected, nothing deleted.
    assert_eq!(
        t.db.delete_where(&Query::new().tag("project", "nope"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        t.db.delete_where(&Query::of::<Alpha>().version(2))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        t.db.delete_where(&Query::of::<Alpha>().version(2).limit(usize::MAX))
            .await
            .unwrap(),
        0
    );
    // An invalid query deletes nothing.
    assert_invalid_query(
        t.db.delete_where(&Query::new().limit(0)).await,
        "a limit of 0 selects nothing",
    );
    assert_invalid_query(
        t.db.delete_where(&Query::new().tag("", "x")).await,
        "invalid tag \"\": ",
    );
    assert_eq!(count(&t, "lakery_manifests").await, 9);

    // The limit applies, in the query's order.
    assert_eq!(
        t.db.delete_where(&Query::of::<Alpha>().limit(2))
            .await
            .unwrap(),
        2
    );
    assert_eq!(find_ids(&t.db, &Query::of::<Alpha>()).await, b[2..]);
    assert_eq!(
        t.db.delete_where(&Query::of::<Alpha>().order(Order::NewestFirst).limit(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(find_ids(&t.db, &Query::of::<Alpha>()).await, b[2..4]);

    // So does the cursor: only what comes after it.
    let page = t.db.find(&Query::of::<Beta>().limit(1)).await.unwrap();
    assert_eq!(ids(&page.records), betas[..1]);
    assert_eq!(
        t.db.delete_where(&Query::of::<Beta>().after(page.next.unwrap()))
            .await
            .unwrap(),
        3
    );
    assert_eq!(find_ids(&t.db, &Query::of::<Beta>()).await, betas[..1]);

    // A query without filters deletes everything.
    assert_eq!(t.db.delete_where(&Query::new()).await.unwrap(), 3);
    for table in ["lakery_manifests", "lakery_contents", "lakery_tags"] {
        assert_eq!(count(&t, table).await, 0, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_where_selects_by_creation_time() {
    common::each_backend(delete_where_selects_by_creation_time_on).await;
}

async fn delete_where_selects_by_creation_time_on(t: TestDb) {
    let registry = registry();
    let mut records = Vec::new();
    for i in 0..4 {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        records.push(lakery::save_one(&alpha(i), &registry, &t.db).await.unwrap());
    }
    let r = ids(&records);
    let deleted =
        t.db.delete_where(&Query::new().created_before(records[2].created_at))
            .await
            .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(find_ids(&t.db, &Query::new()).await, r[2..]);
    let deleted =
        t.db.delete_where(&Query::new().created_since(records[3].created_at))
            .await
            .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(find_ids(&t.db, &Query::new()).await, r[2..3]);
}

/// SQL that makes the database refuse to delete the manifest `id`, failing the
/// statement that tries.
fn refuse_deleting(t: &TestDb, id: ManifestId) -> String {
    match t.backend() {
        lakery::Backend::Sqlite => format!(
            "CREATE TRIGGER lakery_test_refuse BEFORE DELETE ON lakery_manifests \
             WHEN OLD.id = '{id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        ),
        lakery::Backend::Postgres => format!(
            "CREATE FUNCTION lakery_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF OLD.id = '{id}'::uuid THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN OLD; END $$; \
             CREATE TRIGGER lakery_test_refuse BEFORE DELETE ON lakery_manifests \
             FOR EACH ROW EXECUTE FUNCTION lakery_test_refuse();"
        ),
        _ => format!(
            "CREATE TRIGGER lakery_test_refuse BEFORE DELETE ON lakery_manifests \
             FOR EACH ROW BEGIN IF OLD.id = '{id}' THEN \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_that_fails_part_way_deletes_nothing() {
    common::each_backend(a_delete_that_fails_part_way_deletes_nothing_on).await;
}

async fn a_delete_that_fails_part_way_deletes_nothing_on(t: TestDb) {
    let registry = registry();
    let records = save_alphas(&registry, &t.db, 0, 4, &[("project", "p")]).await;
    let r = ids(&records);
    let counts = async || {
        (
            count(&t, "lakery_manifests").await,
            count(&t, "lakery_contents").await,
            count(&t, "lakery_tags").await,
        )
    };
    assert_eq!(counts().await, (4, 8, 4));

    // The database refuses to delete the last manifest. Each manifest's tags and
    // contents are deleted before the manifest itself, and the refused manifest comes
    // after more than a thousand ids (the first three real), so when the refusal comes,
    // rows of every manifest have been deleted by earlier statements: only the one
    // transaction lakery promises can bring them back.
    t.execute(&refuse_deleting(&t, r[3])).await;
    let mut doomed: Vec<ManifestId> = r[..3].to_vec();
    doomed.extend((0..1200).map(|_| ManifestId::from(uuid::Uuid::now_v7())));
    doomed.push(r[3]);

    let error = t.db.delete(&doomed).await.unwrap_err();
    assert!(
        matches!(&error, Error::Database { context, .. } if context == "deleting manifests"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("database error while deleting manifests: ")
            && error.to_string().contains("refused by the test"),
        "{error}"
    );
    assert_eq!(
        counts().await,
        (4, 8, 4),
        "nothing of the failed delete stays"
    );

    let error = t.db.delete_where(&Query::of::<Alpha>()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Database { context, .. } if context == "deleting manifests")
            && error.to_string().contains("refused by the test"),
        "{error:?}"
    );
    assert_eq!(
        counts().await,
        (4, 8, 4),
        "nothing of the failed delete stays"
    );

    // Every value still loads, and is still found by its tag.
    let mut loader = lakery::Loader::new(&registry, &t.db);
    let handles: Vec<_> = records
        .iter()
        .map(|r| loader.load_soon::<Alpha>(r))
        .collect();
    let mut loaded = loader.finish().await.unwrap();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(loaded.take(handle), Some(alpha(i as u32)));
    }
    assert_eq!(find_ids(&t.db, &Query::new().tag("project", "p")).await, r);

    // Without the refusal, the same delete goes through on the same pool.
    t.execute(match t.backend() {
        lakery::Backend::Postgres => "DROP TRIGGER lakery_test_refuse ON lakery_manifests",
        _ => "DROP TRIGGER lakery_test_refuse",
    })
    .await;
    assert_eq!(t.db.delete(&doomed).await.unwrap(), 4);
    assert_eq!(counts().await, (0, 0, 0));
}

/// The content files under a `FileStorage` root, without its lock file.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// SQLite plans a query by tag and class well only with statistics on the tables (else
/// it scans every manifest of the class); lakery gathers them as manifests accumulate.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_gathers_planner_statistics_as_manifests_accumulate() {
    let t = TestDb::sqlite().await;
    let registry = registry();
    assert_eq!(
        t.count("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sqlite_stat1'")
            .await,
        0,
        "a fresh database has no statistics"
    );
    let values: Vec<Beta> = (0..1000).map(beta).collect();
    let mut saver = lakery::Saver::new(&registry, &t.db);
    for value in &values {
        saver.save_soon_with_tags(value, [("n", "x")]);
    }
    saver.finish().await.unwrap();
    let analyzed = t
        .count("SELECT count(*) AS n FROM sqlite_stat1 WHERE tbl IN ('lakery_manifests', 'lakery_tags')")
        .await;
    assert!(analyzed >= 2, "statistics rows: {analyzed}");
}
