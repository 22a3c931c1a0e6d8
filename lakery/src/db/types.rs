//! Rust types of lakery's columns, each mapped to the native SQL type of every backend:
//! a UUID is `uuid` on PostgreSQL and text elsewhere, JSON is `jsonb` on PostgreSQL and
//! text elsewhere, a time is `timestamptz` on PostgreSQL, `DATETIME(6)` on MySQL and
//! ISO 8601 text on SQLite. The row structs use these types on every backend, so one
//! set of rows serves all three schemas.

use std::io::Write;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::mysql::{Mysql, MysqlValue};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Binary, Datetime, Jsonb, Text, Timestamp, Timestamptz};
use diesel::sqlite::{Sqlite, SqliteValue};
use uuid::Uuid;

/// A UUID: `uuid` on PostgreSQL, its hyphenated text elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Uuid)]
#[diesel(sql_type = Text)]
pub(crate) struct DbUuid(pub Uuid);

impl ToSql<diesel::sql_types::Uuid, Pg> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        ToSql::<diesel::sql_types::Uuid, Pg>::to_sql(&self.0, out)
    }
}

impl FromSql<diesel::sql_types::Uuid, Pg> for DbUuid {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        FromSql::<diesel::sql_types::Uuid, Pg>::from_sql(bytes).map(DbUuid)
    }
}

impl ToSql<Text, Sqlite> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Sqlite> for DbUuid {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(DbUuid(Uuid::parse_str(&text)?))
    }
}

impl ToSql<Text, Mysql> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        out.write_all(
            self.0
                .hyphenated()
                .encode_lower(&mut Uuid::encode_buffer())
                .as_bytes(),
        )?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Mysql> for DbUuid {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        Ok(DbUuid(Uuid::try_parse_ascii(value.as_bytes())?))
    }
}

/// A JSON document, kept as its text: `jsonb` on PostgreSQL, text elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Jsonb)]
#[diesel(sql_type = Text)]
pub(crate) struct JsonText(pub String);

/// The version byte of PostgreSQL's binary `jsonb` format.
const JSONB_VERSION: u8 = 1;

impl ToSql<Jsonb, Pg> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&[JSONB_VERSION])?;
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Jsonb, Pg> for JsonText {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((&JSONB_VERSION, json)) => Ok(JsonText(String::from_utf8(json.to_vec())?)),
            _ => Err("unsupported jsonb format version".into()),
        }
    }
}

impl ToSql<Text, Sqlite> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        ToSql::<Text, Sqlite>::to_sql(self.0.as_str(), out)
    }
}

impl FromSql<Text, Sqlite> for JsonText {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        FromSql::<Text, Sqlite>::from_sql(value).map(JsonText)
    }
}

impl ToSql<Text, Mysql> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        ToSql::<Text, Mysql>::to_sql(self.0.as_str(), out)
    }
}

impl FromSql<Text, Mysql> for JsonText {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        FromSql::<Text, Mysql>::from_sql(value).map(JsonText)
    }
}

/// A point in time (lakery's are whole milliseconds, which every backend keeps exactly):
/// `timestamptz` on PostgreSQL, `DATETIME(6)` in UTC on MySQL, UTC text on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Timestamptz)]
#[diesel(sql_type = Timestamp)]
#[diesel(sql_type = Datetime)]
pub(crate) struct DbTime(pub DateTime<Utc>);

impl ToSql<Timestamptz, Pg> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        ToSql::<Timestamptz, Pg>::to_sql(&self.0, out)
    }
}

impl FromSql<Timestamptz, Pg> for DbTime {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        FromSql::<Timestamptz, Pg>::from_sql(value).map(DbTime)
    }
}

impl ToSql<Timestamp, Sqlite> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        // The text sorts in time order: fixed width, UTC, six fractional digits.
        out.set_value(
            self.0
                .naive_utc()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        );
        Ok(IsNull::No)
    }
}

impl FromSql<Timestamp, Sqlite> for DbTime {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value)
            .map(|naive| DbTime(naive.and_utc()))
    }
}

impl ToSql<Datetime, Mysql> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        let naive = self.0.naive_utc();
        ToSql::<Datetime, Mysql>::to_sql(&naive, &mut out.reborrow())
    }
}

impl FromSql<Datetime, Mysql> for DbTime {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Datetime, Mysql>>::from_sql(value)
            .map(|naive| DbTime(naive.and_utc()))
    }
}

/// Content bytes bound without copying them out of their [`bytes::Bytes`].
#[derive(Debug, AsExpression)]
#[diesel(sql_type = Binary)]
pub(crate) struct BlobBytes(pub bytes::Bytes);

impl ToSql<Binary, Sqlite> for BlobBytes {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        ToSql::<Binary, Sqlite>::to_sql(&self.0[..], out)
    }
}

impl ToSql<Binary, Pg> for BlobBytes {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        ToSql::<Binary, Pg>::to_sql(&self.0[..], out)
    }
}

impl ToSql<Binary, Mysql> for BlobBytes {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        ToSql::<Binary, Mysql>::to_sql(&self.0[..], out)
    }
}

/// A column's value, or why it would not decode: a row read with it fails on its own,
/// naming its manifest, instead of failing every row the statement returned.
#[derive(Debug, Clone, FromSqlRow)]
pub(crate) struct Lenient<T>(pub std::result::Result<T, String>);

impl<T, ST, DB> FromSql<ST, DB> for Lenient<T>
where
    DB: Backend,
    T: FromSql<ST, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Lenient(T::from_sql(value).map_err(|e| e.to_string())))
    }

    fn from_nullable_sql(value: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(Lenient(Err("is NULL".to_owned()))),
        }
    }
}

/// A manifest's id as a listing reads it: a UUID, or the text stored where one should
/// be (SQLite and MySQL keep ids as text), so that a bad row can be named.
#[derive(Debug, Clone, FromSqlRow)]
pub(crate) struct StoredId(pub std::result::Result<Uuid, String>);

impl StoredId {
    fn parse(text: &str) -> Self {
        StoredId(Uuid::try_parse(text).map_err(|_| text.to_owned()))
    }
}

impl FromSql<diesel::sql_types::Uuid, Pg> for StoredId {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        FromSql::<diesel::sql_types::Uuid, Pg>::from_sql(value).map(|id| StoredId(Ok(id)))
    }
}

impl FromSql<Text, Sqlite> for StoredId {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, Sqlite>>::from_sql(value).map(|text| StoredId::parse(&text))
    }
}

impl FromSql<Text, Mysql> for StoredId {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        Ok(StoredId::parse(&String::from_utf8_lossy(value.as_bytes())))
    }
}

impl std::fmt::Display for StoredId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Ok(id) => std::fmt::Display::fmt(id, f),
            Err(text) => write!(f, "{text:?}"),
        }
    }
}
