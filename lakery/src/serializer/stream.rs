//! Stream serializers: a sequence of items to bytes, item by item, and back, chunk by
//! chunk, so that a content larger than memory is never held whole.

use std::marker::PhantomData;
use std::ops::Range;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use super::{Serializer, SerializerError, Stored};
use crate::storage::StorageError;

/// Turns items into bytes, one at a time, for a [`StreamSerializer`].
pub trait StreamEncoder<T>: Send {
    /// Appends the encoding of `item` to `out`.
    fn encode(&mut self, item: &T, out: &mut Vec<u8>) -> Result<(), SerializerError>;

    /// The bytes of `item` as they are, when they need no encoding, so they reach the
    /// storage without a copy; `None` (the default) to go through [`encode`](Self::encode).
    fn pass_through(&mut self, item: &T) -> Option<Bytes> {
        let _ = item;
        None
    }

    /// Appends whatever closes the stream (nothing, for most formats) to `out`.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        let _ = out;
        Ok(())
    }
}

/// Turns bytes back into items, as they arrive, for a [`StreamSerializer`].
pub trait StreamDecoder<T>: Send {
    /// Decodes every whole item at the front of `input` into `out`, removing their
    /// bytes and leaving any partial item for the next call. With `end` set no more
    /// bytes will come: a partial item left over is then an error. Malformed bytes are
    /// an error, never a panic.
    fn decode(
        &mut self,
        input: &mut BytesMut,
        end: bool,
        out: &mut Vec<T>,
    ) -> Result<(), SerializerError>;

    /// A chunk of stored bytes as one item, when it needs no decoding, so it reaches the
    /// reader without a copy; asked only when no partial item is pending. `None` (the
    /// default) to go through [`decode`](Self::decode).
    fn pass_through(&mut self, chunk: &Bytes) -> Option<T> {
        let _ = chunk;
        None
    }
}

/// Reads byte ranges of one stored content, for a format read out of order
/// ([`StreamSerializer::read_ranged`]).
#[derive(Clone)]
pub struct RangeSource {
    size: u64,
    read: Arc<RangeFn>,
}

type RangeFn = dyn Fn(Range<u64>) -> BoxFuture<'static, Result<Bytes, StorageError>> + Send + Sync;

impl RangeSource {
    /// A source of `size` bytes whose ranges `read` fetches.
    pub fn new(
        size: u64,
        read: impl Fn(Range<u64>) -> BoxFuture<'static, Result<Bytes, StorageError>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        RangeSource {
            size,
            read: Arc::new(read),
        }
    }

    /// Bytes held in memory, as a source.
    pub fn from_bytes(data: Bytes) -> Self {
        RangeSource::new(data.len() as u64, move |range| {
            let end = usize::try_from(range.end)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let start = usize::try_from(range.start).unwrap_or(usize::MAX).min(end);
            let kept = data.slice(start..end);
            Box::pin(async move {
                crate::storage::check_range(&range, kept.len())?;
                Ok(kept)
            })
        })
    }

    /// The content's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The bytes of `range`.
    pub async fn read(&self, range: Range<u64>) -> Result<Bytes, StorageError> {
        (self.read)(range).await
    }
}

impl std::fmt::Debug for RangeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeSource")
            .field("size", &self.size)
            .finish()
    }
}

/// Serializes a stream of `T` incrementally, for a
/// [`ContentStream<T>`](crate::ContentStream) field.
///
/// The built-ins also implement [`Serializer`] for `Vec<T>` under the same name, so a
/// content written as a value can be read as a stream, and the reverse.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serialize a stream of `{T}`",
    label = "`{Self}` does not implement `StreamSerializer<{T}>`",
    note = "a `ContentStream<{T}>` field needs a stream serializer that handles `{T}`, such as `JsonLines`, `Csv`, `MessagePack`, `RawChunks` (for `Bytes`) or `TextLines` (for `String`)"
)]
pub trait StreamSerializer<T>: Send + Sync {
    /// The versioned name stored with the content, as for [`Serializer::name`].
    fn name(&self) -> &str;

    /// The MIME type of the bytes.
    fn content_type(&self) -> &str;

    /// Configuration stored with the content, for the reader.
    fn config(&self) -> Option<serde_json::Value> {
        None
    }

    /// Whether this serializer can read a content written under `stored_name`.
    fn can_read(&self, stored_name: &str) -> bool {
        stored_name == self.name()
    }

    /// A new encoder, for one stream.
    fn encoder(&self) -> Box<dyn StreamEncoder<T>>;

    /// A new decoder, for one stream written as `stored` says.
    fn decoder(&self, stored: &Stored<'_>) -> Result<Box<dyn StreamDecoder<T>>, SerializerError>;

    /// For a format that must be read out of order (Parquet keeps its schema in a
    /// footer at its end): the items of a stored content, fetching byte ranges of it as
    /// they are needed, so the first item comes before the whole content is read. lakery
    /// hashes the whole content alongside and ends the stream in an error if it does not
    /// match. `None` (the default) reads the content in order through
    /// [`decoder`](Self::decoder), as it does for contents stored with an encoding.
    fn read_ranged(
        &self,
        source: RangeSource,
        stored: &Stored<'_>,
    ) -> Option<BoxStream<'static, Result<T, SerializerError>>> {
        let _ = (source, stored);
        None
    }
}

/// Encodes `items` into one buffer with `serializer`'s encoder.
fn encode_all<T>(
    serializer: &impl StreamSerializer<T>,
    items: &[T],
) -> Result<Bytes, SerializerError> {
    let mut encoder = serializer.encoder();
    let mut out = Vec::new();
    for item in items {
        encoder.encode(item, &mut out)?;
    }
    encoder.finish(&mut out)?;
    Ok(out.into())
}

/// Decodes all of `bytes` with `serializer`'s decoder.
fn decode_all<T>(
    serializer: &impl StreamSerializer<T>,
    bytes: Bytes,
    stored: &Stored<'_>,
) -> Result<Vec<T>, SerializerError> {
    let mut decoder = serializer.decoder(stored)?;
    let mut input = BytesMut::from(bytes);
    let mut out = Vec::new();
    decoder.decode(&mut input, true, &mut out)?;
    Ok(out)
}

/// The `Serializer<Vec<T>>` of a stream serializer: the same bytes, all at once.
macro_rules! value_form {
    ($name:ident, $item:ty) => {
        impl<T: Serialize + DeserializeOwned + Send + 'static> Serializer<Vec<$item>> for $name {
            fn name(&self) -> &str {
                StreamSerializer::<$item>::name(self)
            }
            fn content_type(&self) -> &str {
                StreamSerializer::<$item>::content_type(self)
            }
            fn config(&self) -> Option<serde_json::Value> {
                StreamSerializer::<$item>::config(self)
            }
            fn can_read(&self, stored_name: &str) -> bool {
                StreamSerializer::<$item>::can_read(self, stored_name)
            }
            fn serialize(&self, value: &Vec<$item>) -> Result<Bytes, SerializerError> {
                encode_all(self, value)
            }
            fn deserialize(
                &self,
                bytes: Bytes,
                stored: &Stored<'_>,
            ) -> Result<Vec<$item>, SerializerError> {
                decode_all(self, bytes, stored)
            }
        }
    };
}

/// Every whole line at the front of `input` (without its `\n`), removed from it; at the
/// end, the last line too when it has no `\n`. `scanned` is how much of `input` is
/// known to hold no `\n`, kept between calls so that a line longer than many chunks is
/// searched once, not once per chunk.
fn lines(
    input: &mut BytesMut,
    scanned: &mut usize,
    end: bool,
    mut each: impl FnMut(&[u8]) -> Result<(), SerializerError>,
) -> Result<(), SerializerError> {
    let mut start = 0;
    let mut from = (*scanned).min(input.len());
    while let Some(at) = memchr::memchr(b'\n', &input[from..]) {
        each(&input[start..from + at])?;
        start = from + at + 1;
        from = start;
    }
    if end && start < input.len() {
        each(&input[start..])?;
        start = input.len();
    }
    input.advance(start);
    *scanned = input.len();
    Ok(())
}

/// JSON Lines: one JSON value per line (`application/jsonl`), named `lakery.jsonl@v1`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

struct JsonLinesEncoder;

impl<T: Serialize> StreamEncoder<T> for JsonLinesEncoder {
    fn encode(&mut self, item: &T, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        serde_json::to_writer(&mut *out, item)?;
        out.push(b'\n');
        Ok(())
    }
}

struct JsonLinesDecoder<T> {
    scanned: usize,
    _items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> StreamDecoder<T> for JsonLinesDecoder<T> {
    fn decode(
        &mut self,
        input: &mut BytesMut,
        end: bool,
        out: &mut Vec<T>,
    ) -> Result<(), SerializerError> {
        lines(input, &mut self.scanned, end, |line| {
            // Blank lines (a trailing `\r`, an empty last line) carry no value.
            if !line.iter().all(u8::is_ascii_whitespace) {
                out.push(serde_json::from_slice(line)?);
            }
            Ok(())
        })
    }
}

impl<T: Serialize + DeserializeOwned + Send + 'static> StreamSerializer<T> for JsonLines {
    fn name(&self) -> &str {
        "lakery.jsonl@v1"
    }
    fn content_type(&self) -> &str {
        "application/jsonl"
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<T>> {
        Box::new(JsonLinesEncoder)
    }
    fn decoder(&self, _: &Stored<'_>) -> Result<Box<dyn StreamDecoder<T>>, SerializerError> {
        Ok(Box::new(JsonLinesDecoder {
            scanned: 0,
            _items: PhantomData,
        }))
    }
}

value_form!(JsonLines, T);

/// UTF-8 text, one `String` item per line (`text/plain; charset=utf-8`), named
/// `lakery.lines@v1`. Reads what [`Text`](super::Text) wrote too, a line at a time.
/// Lines end in `\n` or `\r\n`, which are not part of the items, as with
/// [`BufRead::lines`](std::io::BufRead::lines); so an item cannot contain `\n` nor end
/// in `\r`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextLines;

#[derive(Default)]
struct TextLinesCodec {
    scanned: usize,
}

impl StreamEncoder<String> for TextLinesCodec {
    fn encode(&mut self, item: &String, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        if item.contains('\n') {
            return Err("a line of `TextLines` cannot contain a newline".into());
        }
        if item.ends_with('\r') {
            return Err(
                "a line of `TextLines` cannot end in `\\r`, which would read as part of a \
                 `\\r\\n` line end"
                    .into(),
            );
        }
        out.extend_from_slice(item.as_bytes());
        out.push(b'\n');
        Ok(())
    }
}

impl StreamDecoder<String> for TextLinesCodec {
    fn decode(
        &mut self,
        input: &mut BytesMut,
        end: bool,
        out: &mut Vec<String>,
    ) -> Result<(), SerializerError> {
        lines(input, &mut self.scanned, end, |line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            out.push(std::str::from_utf8(line)?.to_owned());
            Ok(())
        })
    }
}

impl StreamSerializer<String> for TextLines {
    fn name(&self) -> &str {
        "lakery.lines@v1"
    }
    fn content_type(&self) -> &str {
        "text/plain; charset=utf-8"
    }
    fn can_read(&self, stored_name: &str) -> bool {
        stored_name == "lakery.lines@v1" || stored_name == "lakery.text@v1"
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<String>> {
        Box::<TextLinesCodec>::default()
    }
    fn decoder(&self, _: &Stored<'_>) -> Result<Box<dyn StreamDecoder<String>>, SerializerError> {
        Ok(Box::<TextLinesCodec>::default())
    }
}

impl Serializer<Vec<String>> for TextLines {
    fn name(&self) -> &str {
        StreamSerializer::<String>::name(self)
    }
    fn content_type(&self) -> &str {
        StreamSerializer::<String>::content_type(self)
    }
    fn can_read(&self, stored_name: &str) -> bool {
        StreamSerializer::<String>::can_read(self, stored_name)
    }
    fn serialize(&self, value: &Vec<String>) -> Result<Bytes, SerializerError> {
        encode_all(self, value)
    }
    fn deserialize(
        &self,
        bytes: Bytes,
        stored: &Stored<'_>,
    ) -> Result<Vec<String>, SerializerError> {
        decode_all(self, bytes, stored)
    }
}

/// Raw bytes in chunks (`application/octet-stream`), named `lakery.bytes@v1` like
/// [`RawBytes`](super::RawBytes): the stored bytes are the chunks one after the other,
/// so a content written by either reads with the other. Loaded chunks fall wherever the
/// storage's reads fall.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawChunks;

pub(crate) struct RawChunksCodec;

impl StreamEncoder<Bytes> for RawChunksCodec {
    fn encode(&mut self, item: &Bytes, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        out.extend_from_slice(item);
        Ok(())
    }

    fn pass_through(&mut self, item: &Bytes) -> Option<Bytes> {
        Some(item.clone())
    }
}

impl StreamDecoder<Bytes> for RawChunksCodec {
    fn decode(
        &mut self,
        input: &mut BytesMut,
        _: bool,
        out: &mut Vec<Bytes>,
    ) -> Result<(), SerializerError> {
        if !input.is_empty() {
            out.push(input.split().freeze());
        }
        Ok(())
    }

    fn pass_through(&mut self, chunk: &Bytes) -> Option<Bytes> {
        Some(chunk.clone())
    }
}

impl StreamSerializer<Bytes> for RawChunks {
    fn name(&self) -> &str {
        "lakery.bytes@v1"
    }
    fn content_type(&self) -> &str {
        "application/octet-stream"
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<Bytes>> {
        Box::new(RawChunksCodec)
    }
    fn decoder(&self, _: &Stored<'_>) -> Result<Box<dyn StreamDecoder<Bytes>>, SerializerError> {
        Ok(Box::new(RawChunksCodec))
    }
}

/// A sequence of MessagePack values, one after the other (`application/vnd.msgpack`),
/// named `lakery.msgpack-seq@v1`; structs are written as maps, with their field names,
/// so that fields added later stay readable.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagePack;

struct MessagePackEncoder;

impl<T: Serialize> StreamEncoder<T> for MessagePackEncoder {
    fn encode(&mut self, item: &T, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        rmp_serde::encode::write_named(out, item)?;
        Ok(())
    }
}

struct MessagePackDecoder<T> {
    /// After a value was cut by the end of the input, the input's length at which to
    /// try again: twice what it was, so that a value longer than many chunks is parsed
    /// a few times, not once per chunk.
    retry_at: usize,
    _items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> StreamDecoder<T> for MessagePackDecoder<T> {
    fn decode(
        &mut self,
        input: &mut BytesMut,
        end: bool,
        out: &mut Vec<T>,
    ) -> Result<(), SerializerError> {
        if !end && input.len() < self.retry_at {
            return Ok(());
        }
        self.retry_at = 0;
        let mut consumed = 0;
        while consumed < input.len() {
            let mut rest: &[u8] = &input[consumed..];
            let before = rest.len();
            match rmp_serde::from_read::<_, T>(&mut rest) {
                Ok(item) => {
                    out.push(item);
                    consumed += before - rest.len();
                }
                // A value cut by the end of the bytes so far: wait for the rest.
                Err(e) if !end && is_truncated(&e) => {
                    self.retry_at = (input.len() - consumed) * 2;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        input.advance(consumed);
        Ok(())
    }
}

/// Whether a MessagePack error says the bytes ended in the middle of a value.
fn is_truncated(error: &rmp_serde::decode::Error) -> bool {
    use rmp_serde::decode::Error;
    match error {
        Error::InvalidMarkerRead(e) | Error::InvalidDataRead(e) => {
            e.kind() == std::io::ErrorKind::UnexpectedEof
        }
        _ => false,
    }
}

impl<T: Serialize + DeserializeOwned + Send + 'static> StreamSerializer<T> for MessagePack {
    fn name(&self) -> &str {
        "lakery.msgpack-seq@v1"
    }
    fn content_type(&self) -> &str {
        "application/vnd.msgpack"
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<T>> {
        Box::new(MessagePackEncoder)
    }
    fn decoder(&self, _: &Stored<'_>) -> Result<Box<dyn StreamDecoder<T>>, SerializerError> {
        Ok(Box::new(MessagePackDecoder {
            retry_at: 0,
            _items: PhantomData,
        }))
    }
}

value_form!(MessagePack, T);

/// CSV rows through the `csv` crate (`text/csv`), named `lakery.csv@v1`: one serde record
/// per row, with a header row naming the fields. Comma-separated; for other options
/// declare a [`CsvOptions`] constant and name it in the attribute.
#[derive(Debug, Clone, Copy, Default)]
pub struct Csv;

/// [`Csv`] with options, recorded in the content's serializer config so that a reader
/// with other options still reads the rows as they were written.
///
/// ```
/// use lakery::serializer::CsvOptions;
///
/// const TSV: CsvOptions = CsvOptions::new().delimiter(b'\t');
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    delimiter: u8,
    has_headers: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvOptions {
    /// Comma-separated, with a header row.
    pub const fn new() -> Self {
        CsvOptions {
            delimiter: b',',
            has_headers: true,
        }
    }

    /// The field delimiter, one ASCII byte.
    pub const fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Whether the first row names the fields. Without it, records are read by
    /// position.
    pub const fn has_headers(mut self, has_headers: bool) -> Self {
        self.has_headers = has_headers;
        self
    }

    /// The options recorded in `stored`, or these when none were recorded.
    fn recorded(&self, stored: &Stored<'_>) -> Result<CsvOptions, SerializerError> {
        let Some(config) = stored.serializer_config else {
            return Ok(*self);
        };
        let delimiter = match config.get("delimiter").and_then(serde_json::Value::as_str) {
            Some(text) if text.len() == 1 => text.as_bytes()[0],
            _ => return Err(format!("CSV config {config} has no one-byte `delimiter`").into()),
        };
        let has_headers = config
            .get("has_headers")
            .and_then(serde_json::Value::as_bool)
            .ok_or_else(|| format!("CSV config {config} has no boolean `has_headers`"))?;
        Ok(CsvOptions {
            delimiter,
            has_headers,
        })
    }
}

struct CsvEncoder {
    writer: csv::Writer<Sink>,
    written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    /// Whether the next row is the first, with a header row still to come when the
    /// options ask for one.
    header_pending: bool,
    delimiter: u8,
}

/// Where a `csv::Writer` puts its bytes, for the encoder to take them after each record.
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut written = self.0.lock().unwrap_or_else(|p| p.into_inner());
        written.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<T: Serialize> StreamEncoder<T> for CsvEncoder {
    fn encode(&mut self, item: &T, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        self.writer.serialize(item)?;
        self.writer.flush()?;
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if std::mem::take(&mut self.header_pending) {
            // The csv crate writes a header row only for items with named fields
            // (structs, maps); for tuples and plain values it writes none, and the
            // reader would take the first row for the header. Those get a header that
            // numbers their columns, which reads back by position.
            let rows = csv::ReaderBuilder::new()
                .has_headers(false)
                .delimiter(self.delimiter)
                .from_reader(written.as_slice())
                .into_byte_records()
                .collect::<Result<Vec<_>, _>>()?;
            if let [row] = rows.as_slice() {
                let mut header = csv::WriterBuilder::new()
                    .delimiter(self.delimiter)
                    .from_writer(Vec::new());
                header.write_record((0..row.len()).map(|i| i.to_string()))?;
                out.append(&mut header.into_inner().map_err(|e| e.into_error())?);
            }
        }
        out.append(&mut written);
        Ok(())
    }
}

struct CsvDecoder<T> {
    reader: csv_core::Reader,
    has_headers: bool,
    headers: Option<csv::ByteRecord>,
    /// The fields of the record being read, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    fields_len: usize,
    ends_len: usize,
    _items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> CsvDecoder<T> {
    fn record(&mut self, out: &mut Vec<T>) -> Result<(), SerializerError> {
        let mut record = csv::ByteRecord::new();
        let mut start = 0;
        for &end in &self.ends[..self.ends_len] {
            record.push_field(&self.fields[start..end]);
            start = end;
        }
        self.fields_len = 0;
        self.ends_len = 0;
        if self.has_headers && self.headers.is_none() {
            self.headers = Some(record);
            return Ok(());
        }
        out.push(record.deserialize(self.headers.as_ref())?);
        Ok(())
    }
}

impl<T: DeserializeOwned> StreamDecoder<T> for CsvDecoder<T> {
    fn decode(
        &mut self,
        input: &mut BytesMut,
        end: bool,
        out: &mut Vec<T>,
    ) -> Result<(), SerializerError> {
        use csv_core::ReadRecordResult;
        // csv_core keeps the state of a record cut by the end of `input`, and this
        // decoder keeps its fields so far; an empty read tells csv_core the input ended.
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            if rest.is_empty() && !end {
                break;
            }
            let (result, read, written, ended) = self.reader.read_record(
                rest,
                &mut self.fields[self.fields_len..],
                &mut self.ends[self.ends_len..],
            );
            consumed += read;
            self.fields_len += written;
            self.ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty if rest.is_empty() => break,
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => grow(&mut self.fields),
                ReadRecordResult::OutputEndsFull => grow(&mut self.ends),
                ReadRecordResult::Record => self.record(out)?,
                ReadRecordResult::End => break,
            }
        }
        input.advance(consumed);
        Ok(())
    }
}

fn grow<T: Default + Clone>(buffer: &mut Vec<T>) {
    let len = buffer.len().max(64);
    buffer.resize(len * 2, T::default());
}

impl<T: Serialize + DeserializeOwned + Send + 'static> StreamSerializer<T> for CsvOptions {
    fn name(&self) -> &str {
        "lakery.csv@v1"
    }
    fn content_type(&self) -> &str {
        "text/csv; charset=utf-8"
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "delimiter": char::from(self.delimiter).to_string(),
            "has_headers": self.has_headers,
        }))
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<T>> {
        let written = std::sync::Arc::default();
        let writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(self.has_headers)
            .from_writer(Sink(std::sync::Arc::clone(&written)));
        Box::new(CsvEncoder {
            writer,
            written,
            header_pending: self.has_headers,
            delimiter: self.delimiter,
        })
    }
    fn decoder(&self, stored: &Stored<'_>) -> Result<Box<dyn StreamDecoder<T>>, SerializerError> {
        let options = self.recorded(stored)?;
        Ok(Box::new(CsvDecoder::<T> {
            reader: csv_core::ReaderBuilder::new()
                .delimiter(options.delimiter)
                .build(),
            has_headers: options.has_headers,
            headers: None,
            fields: vec![0; 1024],
            ends: vec![0; 64],
            fields_len: 0,
            ends_len: 0,
            _items: PhantomData,
        }))
    }
}

impl<T: Serialize + DeserializeOwned + Send + 'static> StreamSerializer<T> for Csv {
    fn name(&self) -> &str {
        "lakery.csv@v1"
    }
    fn content_type(&self) -> &str {
        "text/csv; charset=utf-8"
    }
    fn config(&self) -> Option<serde_json::Value> {
        StreamSerializer::<T>::config(&CsvOptions::new())
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<T>> {
        StreamSerializer::<T>::encoder(&CsvOptions::new())
    }
    fn decoder(&self, stored: &Stored<'_>) -> Result<Box<dyn StreamDecoder<T>>, SerializerError> {
        StreamSerializer::<T>::decoder(&CsvOptions::new(), stored)
    }
}

value_form!(Csv, T);
value_form!(CsvOptions, T);
