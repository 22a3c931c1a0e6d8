//! The list's parameters, shared by the page and the JSON API. Also compiled into the
//! crate's hidden library, for the fuzz target `viewer_query`: it knows nothing of the
//! server.

use crate::filter::{parse_tag, parse_time, Filter};

/// Manifests per page unless `limit` says otherwise, and the most it may say.
const PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// The longest query string read, in bytes: a form with every tag the library allows
/// fits in a few kilobytes.
pub const MAX_QUERY_LEN: usize = 8 << 10;
/// The most parameters one request may give: every tag a query may name, each other
/// parameter once, and room for the empty fields a form sends.
pub const MAX_PARAMS: usize = lakery::Query::MAX_TAGS + 16;

/// The list's parameters, from a query string where `tag` repeats.
#[derive(Default)]
pub struct ListParams {
    pub filter: Filter,
    pub after: Option<lakery::Cursor>,
    /// The tags as given, for the form.
    pub tag_texts: Vec<String>,
    pub since_text: String,
    pub until_text: String,
}

impl ListParams {
    /// The parameters of `query`; an error, for a 400, for anything unknown, malformed,
    /// repeated (but `tag`) or beyond the caps, so that no request costs the database
    /// more than a query of [`lakery::Query::MAX_TAGS`] tags.
    pub fn parse(query: Option<&str>) -> Result<ListParams, String> {
        let mut params = ListParams::default();
        let query = query.unwrap_or("");
        if query.len() > MAX_QUERY_LEN {
            return Err(format!(
                "the query string is {} bytes long; the viewer reads at most {MAX_QUERY_LEN}",
                query.len()
            ));
        }
        let mut seen: Vec<String> = Vec::new();
        for (n, (key, value)) in url::form_urlencoded::parse(query.as_bytes()).enumerate() {
            if n == MAX_PARAMS {
                return Err(format!(
                    "more than {MAX_PARAMS} parameters; the viewer reads at most that many"
                ));
            }
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if key != "tag" {
                if seen.iter().any(|k| *k == key) {
                    return Err(format!("parameter `{key}` is given more than once"));
                }
                seen.push(key.clone().into_owned());
            } else if params.filter.tags.len() == lakery::Query::MAX_TAGS {
                return Err(format!(
                    "more than {} tags; a query may name at most that many",
                    lakery::Query::MAX_TAGS
                ));
            }
            match &*key {
                "class" => {
                    params.filter.class = Some(
                        value
                            .parse()
                            .map_err(|_| format!("class `{value}` is not a UUID"))?,
                    )
                }
                "tag" => {
                    params.filter.tags.push(parse_tag(value)?);
                    params.tag_texts.push(value.to_owned());
                }
                "since" => {
                    params.filter.since = Some(parse_time(value)?);
                    params.since_text = value.to_owned();
                }
                "until" => {
                    params.filter.until = Some(parse_time(value)?);
                    params.until_text = value.to_owned();
                }
                "limit" => {
                    let limit: usize = value
                        .parse()
                        .map_err(|_| format!("limit `{value}` is not a number"))?;
                    params.filter.limit = Some(limit.clamp(1, MAX_PAGE));
                }
                "after" => {
                    params.after = Some(value.parse().map_err(|e: lakery::Error| e.to_string())?)
                }
                "token" => {}
                other => return Err(format!("unknown parameter `{other}`")),
            }
        }
        params.filter.limit.get_or_insert(PAGE);
        Ok(params)
    }

    pub fn query(&self) -> lakery::Query {
        let query = self.filter.query();
        match self.after {
            Some(cursor) => query.after(cursor),
            None => query,
        }
    }

    /// This list's query string with `after` set to `cursor`.
    pub fn next_link(&self, cursor: lakery::Cursor) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(class) = self.filter.class {
            out.append_pair("class", &class.to_string());
        }
        for tag in &self.tag_texts {
            out.append_pair("tag", tag);
        }
        if !self.since_text.is_empty() {
            out.append_pair("since", &self.since_text);
        }
        if !self.until_text.is_empty() {
            out.append_pair("until", &self.until_text);
        }
        if let Some(limit) = self.filter.limit.filter(|l| *l != PAGE) {
            out.append_pair("limit", &limit.to_string());
        }
        out.append_pair("after", &cursor.to_string());
        format!("/?{}", out.finish())
    }
}
