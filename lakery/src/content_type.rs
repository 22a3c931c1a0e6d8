//! Content types, parsed.

use std::fmt;
use std::str::FromStr;

/// A content's MIME type, parsed into its type, subtype, suffix and parameters (through
/// the `mime` crate), so that `application/json; charset=utf-8` and
/// `application/vnd.api+json` are both recognised as JSON.
///
/// ```
/// use lakery::{ContentType, Format};
///
/// let json: ContentType = "Application/JSON; charset=utf-8".parse()?;
/// assert_eq!((json.type_(), json.subtype()), ("application", "json"));
/// assert_eq!(json.param("charset"), Some("utf-8"));
/// assert_eq!(json.format(), Some(Format::Json));
///
/// let api: ContentType = "application/vnd.api+json".parse()?;
/// assert_eq!(api.suffix(), Some("json"));
/// assert_eq!(api.format(), Some(Format::Json));
/// # Ok::<(), lakery::ContentTypeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType(mime::Mime);

/// A content type that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not a content type (`type/subtype; name=value`){}", match source {
    Some(source) => format!(": {source}"),
    None => ": the subtype is empty".to_owned(),
})]
pub struct ContentTypeError {
    /// The text given.
    pub text: String,
    #[source]
    source: Option<mime::FromStrError>,
}

/// The formats lakery's serializers write, as found from a content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// `application/json`, or any `+json` type.
    Json,
    /// `application/jsonl` (also `application/x-ndjson`, `application/jsonlines`).
    JsonLines,
    /// `text/csv`.
    Csv,
    /// `application/vnd.msgpack` (also `application/msgpack`, `application/x-msgpack`).
    MessagePack,
    /// `application/x-bincode`.
    Bincode,
    /// Any other `text/*`.
    Text,
    /// `application/octet-stream`.
    Bytes,
}

impl ContentType {
    /// Parses `text`; the type, subtype and parameter names compare without case.
    pub fn parse(text: &str) -> Result<ContentType, ContentTypeError> {
        text.parse()
    }

    /// The type: `application` in `application/json`.
    pub fn type_(&self) -> &str {
        self.0.type_().as_str()
    }

    /// The subtype: `json` in `application/json`, `vnd.api+json` in
    /// `application/vnd.api+json`.
    pub fn subtype(&self) -> &str {
        self.0.subtype().as_str()
    }

    /// The structured-syntax suffix: `json` in `application/vnd.api+json`.
    pub fn suffix(&self) -> Option<&str> {
        self.0.suffix().map(|suffix| suffix.as_str())
    }

    /// A parameter's value: `utf-8` for `charset` in `text/plain; charset=utf-8`. The
    /// name compares without case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.0
            .params()
            .find(|(key, _)| key.as_str().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The type and subtype without parameters: `application/json`.
    pub fn essence(&self) -> &str {
        self.0.essence_str()
    }

    /// Whether the type and subtype are `essence`'s, whatever the parameters.
    pub fn is(&self, essence: &str) -> bool {
        self.essence().eq_ignore_ascii_case(essence)
    }

    /// The format of lakery's serializers this content type names, if any.
    pub fn format(&self) -> Option<Format> {
        let format = match (self.type_(), self.subtype(), self.suffix()) {
            ("application", "json", _) | (_, _, Some("json")) => Format::Json,
            ("application", "jsonl" | "x-ndjson" | "jsonlines" | "x-jsonlines", _) => {
                Format::JsonLines
            }
            ("text", "csv", _) => Format::Csv,
            ("application", "vnd.msgpack" | "msgpack" | "x-msgpack", _) => Format::MessagePack,
            ("application", "x-bincode", _) => Format::Bincode,
            ("application", "octet-stream", _) => Format::Bytes,
            ("text", _, _) => Format::Text,
            _ => return None,
        };
        Some(format)
    }
}

impl FromStr for ContentType {
    type Err = ContentTypeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |source| ContentTypeError {
            text: text.to_owned(),
            source: Some(source),
        };
        let parsed: mime::Mime = text.parse().map_err(error)?;
        // `mime` takes `application/` for a type with an empty subtype.
        if parsed.subtype().as_str().is_empty() {
            return Err(ContentTypeError {
                text: text.to_owned(),
                source: None,
            });
        }
        Ok(ContentType(parsed))
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ContentType {
        text.parse().unwrap()
    }

    #[test]
    fn parameters_case_and_suffixes_do_not_hide_the_format() {
        for (text, format) in [
            ("application/json", Some(Format::Json)),
            ("application/json; charset=utf-8", Some(Format::Json)),
            ("APPLICATION/JSON;  charset=\"UTF-8\"", Some(Format::Json)),
            ("application/geo+json", Some(Format::Json)),
            ("application/jsonl", Some(Format::JsonLines)),
            ("application/x-ndjson", Some(Format::JsonLines)),
            ("text/csv; charset=utf-8; header=present", Some(Format::Csv)),
            ("application/vnd.msgpack", Some(Format::MessagePack)),
            ("application/x-bincode", Some(Format::Bincode)),
            ("text/plain; charset=utf-8", Some(Format::Text)),
            ("text/html", Some(Format::Text)),
            ("application/octet-stream", Some(Format::Bytes)),
            ("image/png", None),
            ("application/xml", None),
        ] {
            assert_eq!(parsed(text).format(), format, "{text}");
        }
        let csv = parsed("text/csv; Charset=UTF-8; header=present");
        assert_eq!(csv.param("charset"), Some("utf-8"));
        assert_eq!(csv.param("HEADER"), Some("present"));
        assert_eq!(csv.param("delimiter"), None);
        assert_eq!(csv.essence(), "text/csv");
        assert!(csv.is("TEXT/CSV"));
        assert_eq!(parsed("image/svg+xml").suffix(), Some("xml"));
        assert_eq!(parsed("image/png").suffix(), None);
    }

    #[test]
    fn malformed_content_types_are_errors_naming_them() {
        for bad in [
            "",
            "json",
            "application/",
            "/json",
            "text/plain; charset",
            "a b/c",
        ] {
            let error = ContentType::parse(bad).unwrap_err();
            assert_eq!(error.text, bad);
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
        }
    }
}
