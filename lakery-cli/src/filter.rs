//! Which manifests a command applies to: the options `ls`, `verify` and `rm` share, and
//! the viewer's list parameters.

use lakery::{ClassId, Database, Order, Page, Query};

/// Manifests asked of the database at a time by commands that go through all that a
/// filter selects: memory does not grow with the number of manifests.
const PAGE: usize = 500;

/// Which manifests a command applies to.
#[derive(clap::Args, Default)]
pub struct Filter {
    /// Only this class id.
    #[arg(long)]
    pub class: Option<uuid::Uuid>,
    /// Only manifests with this tag; repeat for all of several. The first `=` ends the
    /// key, so the value may hold any; write `\=` for a `=` in the key, `\\` for a
    /// backslash before one.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Created at or after this time (RFC 3339, or a date).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Created before this time (RFC 3339, or a date).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many manifests.
    #[arg(long, value_parser = parse_limit)]
    pub limit: Option<usize>,
}

impl Filter {
    /// Whether it selects by anything but the limit.
    pub fn is_empty(&self) -> bool {
        self.class.is_none() && self.tags.is_empty() && self.since.is_none() && self.until.is_none()
    }

    pub fn query(&self) -> Query {
        let mut query = Query::new().order(Order::NewestFirst);
        if let Some(class) = self.class {
            query = query.class_id(ClassId::from(class));
        }
        for (key, value) in &self.tags {
            query = query.tag(key.clone(), value.clone());
        }
        if let Some(since) = self.since {
            query = query.created_since(since);
        }
        if let Some(until) = self.until {
            query = query.created_before(until);
        }
        if let Some(limit) = self.limit {
            query = query.limit(limit);
        }
        query
    }
}

/// What a filter selects, a page of at most [`PAGE`] manifests at a time, up to the
/// filter's limit. Unreadable rows count towards the limit as the others do.
pub struct Pages<'a> {
    db: &'a Database,
    query: Query,
    /// The next page's query; `None` once the last page was read.
    next: Option<Query>,
    remaining: Option<usize>,
}

impl<'a> Pages<'a> {
    pub fn new(db: &'a Database, filter: &Filter) -> Pages<'a> {
        let query = filter.query();
        let first = query.clone().limit(page_size(filter.limit));
        Pages {
            db,
            query,
            next: Some(first),
            remaining: filter.limit,
        }
    }

    /// The next page, or `None` after the last.
    pub async fn next(&mut self) -> lakery::Result<Option<Page>> {
        let Some(query) = self.next.take() else {
            return Ok(None);
        };
        let page = self.db.find(&query).await?;
        let listed = page.records.len() + page.unreadable.len();
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining = remaining.saturating_sub(listed);
        }
        self.next = match (&page.next, self.remaining) {
            (_, Some(0)) => None,
            (Some(cursor), remaining) if listed > 0 => Some(
                self.query
                    .clone()
                    .after(*cursor)
                    .limit(page_size(remaining)),
            ),
            _ => None,
        };
        Ok(Some(page))
    }
}

fn page_size(remaining: Option<usize>) -> usize {
    remaining.map_or(PAGE, |remaining| remaining.min(PAGE))
}

/// `KEY=VALUE`, split at the first `=` that is not escaped. Tag keys and values may
/// both hold `=`, so one of them needs a way to say so: in the key, `\=` is a `=` and
/// `\\` a backslash; any other backslash is itself, so keys without `=` are written as
/// they are. The value is everything after the split, as it is.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    let mut key = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '=' => return Ok((key, text[at + 1..].to_owned())),
            '\\' => match chars.clone().next() {
                Some((_, next @ ('=' | '\\'))) => {
                    key.push(next);
                    chars.next();
                }
                _ => key.push(c),
            },
            _ => key.push(c),
        }
    }
    Err(format!(
        "expected KEY=VALUE (with `\\=` for a `=` in the key), not {text:?}"
    ))
}

/// A limit of at least one: zero would select nothing.
fn parse_limit(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("a limit of 0 selects nothing; give 1 or more".to_owned()),
        Ok(limit) => Ok(limit),
        Err(e) => Err(format!("expected a number, not {text:?}: {e}")),
    }
}

/// An RFC 3339 time, or a date (its midnight, UTC).
pub fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.to_utc());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| {
            format!("expected a time (2026-11-29T12:00:00Z) or a date (2026-11-29), not {text:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::parse_tag;

    #[test]
    fn a_tag_splits_at_its_first_unescaped_equals_sign() {
        let tag = |k: &str, v: &str| Ok((k.to_owned(), v.to_owned()));
        assert_eq!(parse_tag("project=apollo"), tag("project", "apollo"));
        assert_eq!(parse_tag("query=a=b"), tag("query", "a=b"));
        assert_eq!(parse_tag(r"a\=b=c=d"), tag("a=b", "c=d"));
        assert_eq!(parse_tag(r"dir\\=x"), tag(r"dir\", "x"));
        assert_eq!(parse_tag(r"c:\temp=1"), tag(r"c:\temp", "1"));
        assert_eq!(parse_tag("empty="), tag("empty", ""));
        assert!(parse_tag(r"only\=key").is_err());
        assert!(parse_tag("project").is_err());
    }
}
