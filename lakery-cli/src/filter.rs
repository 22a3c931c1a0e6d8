//! Which manifests a command applies to: the options `ls`, `verify` and `rm` share, and
//! the viewer's list parameters.

use lakery::{ClassId, Order, Query};

/// Which manifests a command applies to.
#[derive(clap::Args, Default)]
pub struct Filter {
    /// Only this class id.
    #[arg(long)]
    pub class: Option<uuid::Uuid>,
    /// Only manifests with this tag; repeat for all of several.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Created at or after this time (RFC 3339, or a date).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Created before this time (RFC 3339, or a date).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many manifests.
    #[arg(long)]
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

/// `KEY=VALUE`.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, not {text:?}"))
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
