//! Not an API: the parts of the `lakery` command line that its fuzz targets run, so
//! that they run what the binary runs (the binary compiles the same files as modules of
//! its own). Nothing here is stable.
#![doc(hidden)]

#[path = "filter.rs"]
pub mod filter;
#[path = "commands/serve/params.rs"]
pub mod viewer_params;

/// The body of the fuzz target `viewer_query`: any query string the viewer's list may
/// be asked for is parameters within the caps or an error, never a panic; and the link
/// to a next page gives the same filters back (unless it is too long to be read).
pub fn fuzz_viewer_query(input: &[u8]) {
    use viewer_params::ListParams;

    let query = String::from_utf8_lossy(input);
    let Ok(params) = ListParams::parse(Some(&query)) else {
        return;
    };
    assert!(params.filter.tags.len() <= lakery::Query::MAX_TAGS);
    let _ = params.query();
    let cursor = lakery::Cursor::from(lakery::ManifestId::from(uuid::Uuid::nil()));
    let link = params.next_link(cursor);
    // Escaping may lengthen it past the cap (`~` becomes `%7E`): then it is refused
    // like any other long query.
    if link.len() > viewer_params::MAX_QUERY_LEN {
        return;
    }
    let again = ListParams::parse(link.strip_prefix("/?"))
        .unwrap_or_else(|e| panic!("the next page's link {link:?} is refused: {e}"));
    assert_eq!(again.filter.tags, params.filter.tags, "{link}");
    assert_eq!(again.filter.class, params.filter.class, "{link}");
    assert_eq!(again.filter.since, params.filter.since, "{link}");
    assert_eq!(again.filter.until, params.filter.until, "{link}");
    assert_eq!(again.filter.limit, params.filter.limit, "{link}");
}
