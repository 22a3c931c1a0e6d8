//! Value serializers for MessagePack and for dates and times.

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Serializer, SerializerError, Stored};

/// One MessagePack value through `rmp-serde` (`application/vnd.msgpack`), named
/// `lakery.msgpack@v1`, for any `Serialize + DeserializeOwned` type.
///
/// Structs are written as maps with their field names, so a field added later (with
/// `#[serde(default)]`) reads older contents, as with JSON, in about half the bytes.
/// [`MessagePack`](super::MessagePack) is its stream form: a sequence of values.
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgPack;

impl<T: Serialize + DeserializeOwned> Serializer<T> for MsgPack {
    fn name(&self) -> &str {
        "lakery.msgpack@v1"
    }
    fn content_type(&self) -> &str {
        "application/vnd.msgpack"
    }
    fn serialize(&self, value: &T) -> Result<Bytes, SerializerError> {
        Ok(rmp_serde::to_vec_named(value)?.into())
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<T, SerializerError> {
        let mut reader = &bytes[..];
        let value = rmp_serde::from_read(&mut reader)?;
        if !reader.is_empty() {
            return Err(format!(
                "{} trailing bytes after the MessagePack value ({} bytes in all)",
                reader.len(),
                bytes.len()
            )
            .into());
        }
        Ok(value)
    }
}

/// A date, a time or both as ISO 8601 text (RFC 3339 for instants), named
/// `lakery.iso8601@v1`, with the content type `text/plain; charset=utf-8` and the kind
/// of value in its config (`{"kind": "datetime"}`), for the `chrono` types:
///
/// | type | stored as |
/// | --- | --- |
/// | `DateTime<Utc>` | `2026-11-29T12:00:00.250Z` |
/// | `DateTime<FixedOffset>` | `2026-11-29T13:00:00.250+01:00` |
/// | `NaiveDateTime` | `2026-11-29T12:00:00.250` |
/// | `NaiveDate` | `2026-11-29` |
/// | `NaiveTime` | `12:00:00.250` |
///
/// Fractions of a second are kept to the nanosecond, and as few digits as they need.
#[derive(Debug, Clone, Copy, Default)]
pub struct Iso8601;

/// The text of one value, and how to read it back.
trait IsoText: Sized {
    const KIND: &'static str;
    fn write(&self) -> String;
    fn read(text: &str) -> Result<Self, chrono::ParseError>;
}

impl IsoText for DateTime<Utc> {
    const KIND: &'static str = "datetime";
    fn write(&self) -> String {
        self.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
    fn read(text: &str) -> Result<Self, chrono::ParseError> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
    }
}

impl IsoText for DateTime<FixedOffset> {
    const KIND: &'static str = "datetime";
    fn write(&self) -> String {
        self.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }
    fn read(text: &str) -> Result<Self, chrono::ParseError> {
        DateTime::parse_from_rfc3339(text)
    }
}

impl IsoText for NaiveDateTime {
    const KIND: &'static str = "naive-datetime";
    fn write(&self) -> String {
        self.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    }
    fn read(text: &str) -> Result<Self, chrono::ParseError> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
    }
}

impl IsoText for NaiveDate {
    const KIND: &'static str = "date";
    fn write(&self) -> String {
        self.format("%Y-%m-%d").to_string()
    }
    fn read(text: &str) -> Result<Self, chrono::ParseError> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
    }
}

impl IsoText for NaiveTime {
    const KIND: &'static str = "time";
    fn write(&self) -> String {
        self.format("%H:%M:%S%.f").to_string()
    }
    fn read(text: &str) -> Result<Self, chrono::ParseError> {
        NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
    }
}

macro_rules! iso8601 {
    ($($ty:ty),*) => {$(
        impl Serializer<$ty> for Iso8601 {
            fn name(&self) -> &str {
                "lakery.iso8601@v1"
            }
            fn content_type(&self) -> &str {
                "text/plain; charset=utf-8"
            }
            fn config(&self) -> Option<serde_json::Value> {
                Some(serde_json::json!({ "kind": <$ty as IsoText>::KIND }))
            }
            fn serialize(&self, value: &$ty) -> Result<Bytes, SerializerError> {
                Ok(IsoText::write(value).into())
            }
            fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<$ty, SerializerError> {
                let text = std::str::from_utf8(&bytes)?;
                <$ty as IsoText>::read(text).map_err(|e| {
                    format!(
                        "{text:?} is not an ISO 8601 {}: {e}",
                        <$ty as IsoText>::KIND.replace('-', " ")
                    )
                    .into()
                })
            }
        }
    )*};
}

iso8601!(
    DateTime<Utc>,
    DateTime<FixedOffset>,
    NaiveDateTime,
    NaiveDate,
    NaiveTime
);

#[cfg(test)]
mod tests {
    use super::*;

    fn stored<'a>(name: &'a str) -> Stored<'a> {
        Stored {
            serializer_name: name,
            serializer_config: None,
            content_type: "text/plain; charset=utf-8",
            max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
        }
    }

    fn text<T>(value: &T) -> String
    where
        Iso8601: Serializer<T>,
    {
        String::from_utf8(Iso8601.serialize(value).unwrap().to_vec()).unwrap()
    }

    fn back<T>(text: &str) -> Result<T, SerializerError>
    where
        Iso8601: Serializer<T>,
    {
        Iso8601.deserialize(
            Bytes::copy_from_slice(text.as_bytes()),
            &stored("lakery.iso8601@v1"),
        )
    }

    #[test]
    fn dates_and_times_are_iso_8601_to_the_nanosecond() {
        let utc: DateTime<Utc> = "2026-11-29T12:00:00.123456789Z".parse().unwrap();
        assert_eq!(text(&utc), "2026-11-29T12:00:00.123456789Z");
        assert_eq!(back::<DateTime<Utc>>(&text(&utc)).unwrap(), utc);
        let whole: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        assert_eq!(text(&whole), "2026-11-29T12:00:00Z");

        let offset = DateTime::parse_from_rfc3339("2026-11-29T13:00:00.250+01:00").unwrap();
        assert_eq!(text(&offset), "2026-11-29T13:00:00.250+01:00");
        assert_eq!(
            back::<DateTime<FixedOffset>>(&text(&offset)).unwrap(),
            offset
        );
        // An instant with an offset reads as UTC, the same instant.
        assert_eq!(
            back::<DateTime<Utc>>("2026-11-29T13:00:00.250+01:00").unwrap(),
            offset.with_timezone(&Utc)
        );

        let naive = utc.naive_utc();
        assert_eq!(text(&naive), "2026-11-29T12:00:00.123456789");
        assert_eq!(back::<NaiveDateTime>(&text(&naive)).unwrap(), naive);
        let date = naive.date();
        assert_eq!(text(&date), "2026-11-29");
        assert_eq!(back::<NaiveDate>("2026-11-29").unwrap(), date);
        let time = NaiveTime::from_hms_milli_opt(7, 5, 3, 40).unwrap();
        assert_eq!(text(&time), "07:05:03.040");
        assert_eq!(back::<NaiveTime>(&text(&time)).unwrap(), time);
        assert_eq!(
            Serializer::<NaiveDate>::config(&Iso8601).unwrap()["kind"],
            "date"
        );
    }

    #[test]
    fn malformed_dates_and_times_are_errors_naming_the_text() {
        for bad in [
            "",
            "2026-13-01",
            "yesterday",
            "2026-11-29T25:00:00Z",
            "\u{0}",
        ] {
            let error = back::<DateTime<Utc>>(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
        assert!(back::<NaiveDate>("2026-11-29T12:00:00").is_err());
        assert!(
            back::<DateTime<Utc>>("2026-11-29T12:00:00").is_err(),
            "no offset"
        );
        assert!(Iso8601
            .deserialize(Bytes::from_static(b"\xff"), &stored("x"))
            .map(|_: NaiveDate| ())
            .is_err());
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct V1 {
        id: u32,
        name: String,
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct V2 {
        id: u32,
        name: String,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn msgpack_values_keep_field_names_so_added_fields_read_old_bytes() {
        let old = V1 {
            id: 7,
            name: "seven".into(),
        };
        let bytes = MsgPack.serialize(&old).unwrap();
        let stored = stored("lakery.msgpack@v1");
        let read: V2 = MsgPack.deserialize(bytes.clone(), &stored).unwrap();
        assert_eq!(
            (read.id, read.name.as_str(), read.tags.len()),
            (7, "seven", 0)
        );
        let back: V1 = MsgPack.deserialize(bytes.clone(), &stored).unwrap();
        assert_eq!(back, old);
        // A fixed blob from lakery.msgpack@v1: a map of two named fields.
        assert_eq!(&bytes[..], b"\x82\xa2id\x07\xa4name\xa5seven");

        let mut trailing = bytes.to_vec();
        trailing.push(0);
        let error = Serializer::<V1>::deserialize(&MsgPack, trailing.into(), &stored)
            .unwrap_err()
            .to_string();
        assert!(error.contains("1 trailing bytes"), "{error}");
        for cut in 0..bytes.len() {
            assert!(Serializer::<V1>::deserialize(&MsgPack, bytes.slice(..cut), &stored).is_err());
        }
    }
}
