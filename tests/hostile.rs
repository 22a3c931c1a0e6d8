//! A corpus of hostile rows and blobs, each run against every library entry point that
//! reads them (`load_one`, a `Loader`, `read_content`, `stream_content`, `verify`,
//! `Database::find`, `manifest`, `contents` and `delete`) on SQLite and PostgreSQL.
//!
//! Stored data is untrusted input: whoever can write one row or one file may have
//! written anything. For each case the test asserts what a user relies on:
//! - no panic and no abort: each case runs in a child process (this binary again, the
//!   case named by an environment variable), so an abort fails that case only;
//! - a clear `lakery::Error` naming the manifest, and the content's key where the damage
//!   is to a content (and its storage where the damage is to its bytes);
//! - the other manifests still listed and loadable, and the damaged one removable;
//! - peak memory under `MEMORY_BOUND` (128 MiB: four times the registry's decode limit
//!   of 16 MiB, plus 64 MiB for the process itself), read by the child from its own
//!   `VmHWM`, reset after the set-up so that only the reads are measured.
//!
//! The corpus is in `common/hostile/corpus.rs`; the bombs, the damage, the checks of
//! each entry point and the child process are beside it.

#![cfg(target_os = "linux")]

mod common;

#[path = "common/hostile/mod.rs"]
mod hostile;

use std::time::Duration;

use lakery::{Error, Query};

use common::{each_backend, TestDb};

/// Runs every case of the corpus on every backend, each in a child process, and fails
/// naming each case that failed and how.
#[test]
fn every_hostile_row_and_blob_is_a_clear_error_in_bounded_memory() {
    hostile::on_every_case("in the library", |_, backend, case| {
        hostile::child::run(case.name, backend)
            .err()
            .into_iter()
            .collect()
    });
}

/// The body of one child: does nothing unless the parent named a case.
#[test]
fn hostile_case_in_a_child() {
    hostile::child::serve();
}

/// Thousands of tags are refused before any SQL is built: a query nested one level per
/// tag overflowed the stack of a worker and aborted the process.
#[tokio::test(flavor = "multi_thread")]
async fn a_query_of_thousands_of_tags_is_refused_at_once() {
    each_backend(a_query_of_thousands_of_tags_is_refused_on).await;
}

async fn a_query_of_thousands_of_tags_is_refused_on(t: TestDb) {
    for count in [Query::MAX_TAGS + 1, 1_000, 100_000] {
        let query = (0..count).fold(Query::new(), |q, i| q.tag(format!("k{i}"), "v"));
        let started = std::time::Instant::now();
        for result in [
            t.db.find(&query).await.map(|_| 0),
            t.db.delete_where(&query).await,
        ] {
            match result {
                Err(Error::InvalidQuery(message)) => assert!(
                    message.contains(&Query::MAX_TAGS.to_string()),
                    "{count} tags: the message states the cap: {message}"
                ),
                other => panic!("{count} tags: {other:?}"),
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{count} tags took {:?}",
            started.elapsed()
        );
    }
}

/// Tags up to the cap may hold anything a string can: empty, huge, control characters,
/// quotes, SQL. A query of them is answered (nothing matches), not an error of the
/// database.
#[tokio::test(flavor = "multi_thread")]
async fn a_query_of_strange_tags_is_answered() {
    each_backend(a_query_of_strange_tags_is_answered_on).await;
}

async fn a_query_of_strange_tags_is_answered_on(t: TestDb) {
    let huge = "x".repeat(1 << 20);
    let strange: [(&str, &str); 7] = [
        ("", ""),
        ("k", &huge),
        ("\u{1b}[2J\r\n", "\u{7}\t"),
        ("'; DROP TABLE lakery_manifests; --", "\"%_\\"),
        ("=", "=="),
        ("\u{feff}", "\u{10ffff}"),
        ("kind", "\u{301}e"),
    ];
    for (key, value) in strange {
        match t.db.find(&Query::new().tag(key, value)).await {
            Ok(page) => assert!(page.records.is_empty() && page.unreadable.is_empty()),
            // A tag the database cannot hold (a NUL on PostgreSQL) may be refused, as
            // a query the user got wrong.
            Err(Error::InvalidQuery(_)) => {}
            Err(other) => panic!("tag {key:?}: {other}"),
        }
    }
    let all = strange.iter().fold(Query::new(), |q, (k, v)| q.tag(*k, *v));
    match t.db.find(&all).await {
        Ok(page) => assert!(page.records.is_empty()),
        Err(Error::InvalidQuery(_)) => {}
        Err(other) => panic!("all strange tags at once: {other}"),
    }
    // A NUL is what PostgreSQL's text cannot hold.
    match t.db.find(&Query::new().tag("a\0b", "\0")).await {
        Ok(page) => assert!(page.records.is_empty()),
        Err(Error::InvalidQuery(_)) => {}
        Err(other) => panic!("a NUL in a tag: {other}"),
    }
}
