//! Arrow record batches as Arrow IPC streams and as Parquet.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder as IpcDecoder;
use arrow_ipc::writer::StreamWriter;
use bytes::{Bytes, BytesMut};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{Serializer, SerializerError, Stored, StreamDecoder, StreamEncoder, StreamSerializer};

/// Record batches as an Arrow IPC stream (`application/vnd.apache.arrow.stream`), named
/// `lakery.arrow-stream@v1`: Arrow's own columnar layout, written and read without
/// conversion, batch by batch. Behind the `arrow` feature.
///
/// A `ContentStream<RecordBatch>` field is written as its batches come and read back
/// one batch at a time; a `RecordBatch` field is the same stream with one batch (a
/// stream of several reads back as their concatenation), and `Vec<RecordBatch>` the
/// batches as they are. Every batch of a stream must have the first one's schema.
/// `pyarrow.ipc.open_stream` opens the stored blob.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArrowIpc;

/// Writes the IPC stream once the first batch gives its schema.
#[derive(Default)]
struct IpcEncoder {
    writer: Option<StreamWriter<Vec<u8>>>,
}

impl StreamEncoder<RecordBatch> for IpcEncoder {
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => self
                .writer
                .insert(StreamWriter::try_new(Vec::new(), &batch.schema())?),
        };
        writer.write(batch)?;
        out.append(writer.get_mut());
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        if let Some(mut writer) = self.writer.take() {
            writer.finish()?;
            out.append(writer.get_mut());
        }
        Ok(())
    }
}

struct IpcStreamDecoder(IpcDecoder);

impl StreamDecoder<RecordBatch> for IpcStreamDecoder {
    fn decode(
        &mut self,
        input: &mut BytesMut,
        end: bool,
        out: &mut Vec<RecordBatch>,
    ) -> Result<(), SerializerError> {
        let mut buffer = Buffer::from(input.split().freeze());
        while !buffer.is_empty() {
            if let Some(batch) = self.0.decode(&mut buffer)? {
                out.push(batch);
            }
        }
        if end {
            self.0.finish()?;
        }
        Ok(())
    }
}

impl StreamSerializer<RecordBatch> for ArrowIpc {
    fn name(&self) -> &str {
        "lakery.arrow-stream@v1"
    }
    fn content_type(&self) -> &str {
        "application/vnd.apache.arrow.stream"
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<RecordBatch>> {
        Box::new(IpcEncoder::default())
    }
    fn decoder(
        &self,
        _: &Stored<'_>,
    ) -> Result<Box<dyn StreamDecoder<RecordBatch>>, SerializerError> {
        Ok(Box::new(IpcStreamDecoder(IpcDecoder::new())))
    }
}

/// All of `bytes` through `serializer`'s stream decoder.
fn ipc_batches(bytes: Bytes) -> Result<Vec<RecordBatch>, SerializerError> {
    let mut decoder = IpcStreamDecoder(IpcDecoder::new());
    let mut out = Vec::new();
    decoder.decode(&mut BytesMut::from(bytes), true, &mut out)?;
    Ok(out)
}

fn ipc_bytes<'a>(
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Result<Bytes, SerializerError> {
    let mut encoder = IpcEncoder::default();
    let mut out = Vec::new();
    for batch in batches {
        encoder.encode(batch, &mut out)?;
    }
    encoder.finish(&mut out)?;
    Ok(out.into())
}

/// One batch of all `batches`, which must share a schema; an empty batch of no columns
/// when there are none.
fn concatenated(batches: Vec<RecordBatch>) -> Result<RecordBatch, SerializerError> {
    match batches.len() {
        0 => Ok(RecordBatch::new_empty(Arc::new(
            arrow_schema::Schema::empty(),
        ))),
        1 => Ok(batches.into_iter().next().expect("one batch")),
        _ => Ok(arrow_select::concat::concat_batches(
            &batches[0].schema(),
            &batches,
        )?),
    }
}

impl Serializer<RecordBatch> for ArrowIpc {
    fn name(&self) -> &str {
        StreamSerializer::<RecordBatch>::name(self)
    }
    fn content_type(&self) -> &str {
        StreamSerializer::<RecordBatch>::content_type(self)
    }
    fn serialize(&self, value: &RecordBatch) -> Result<Bytes, SerializerError> {
        ipc_bytes([value])
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<RecordBatch, SerializerError> {
        concatenated(ipc_batches(bytes)?)
    }
}

impl Serializer<Vec<RecordBatch>> for ArrowIpc {
    fn name(&self) -> &str {
        StreamSerializer::<RecordBatch>::name(self)
    }
    fn content_type(&self) -> &str {
        StreamSerializer::<RecordBatch>::content_type(self)
    }
    fn serialize(&self, value: &Vec<RecordBatch>) -> Result<Bytes, SerializerError> {
        ipc_bytes(value)
    }
    fn deserialize(
        &self,
        bytes: Bytes,
        _: &Stored<'_>,
    ) -> Result<Vec<RecordBatch>, SerializerError> {
        ipc_batches(bytes)
    }
}

/// Record batches as a Parquet file (`application/vnd.apache.parquet`), named
/// `lakery.parquet@v1`, compressed with zstd: what pandas, Polars, DuckDB and Spark
/// read. Behind the `arrow` feature.
///
/// For `RecordBatch` (the file's row groups concatenated on load) and
/// `Vec<RecordBatch>` (one batch per row group, up to 64 Ki rows each, as read).
/// Parquet keeps its schema in a footer at the end of the file, so a Parquet content is
/// read whole; for a table larger than memory, use [`ArrowIpc`] on a
/// `ContentStream<RecordBatch>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parquet;

/// Rows per row group, and per batch read back.
const PARQUET_ROWS: usize = 64 * 1024;

fn parquet_bytes<'a>(
    schema: Option<arrow_schema::SchemaRef>,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Result<Bytes, SerializerError> {
    let schema = schema.unwrap_or_else(|| Arc::new(arrow_schema::Schema::empty()));
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(PARQUET_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    Ok(writer.into_inner()?.into())
}

fn parquet_batches(bytes: Bytes) -> Result<Vec<RecordBatch>, SerializerError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?
        .with_batch_size(PARQUET_ROWS)
        .build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

impl Serializer<RecordBatch> for Parquet {
    fn name(&self) -> &str {
        "lakery.parquet@v1"
    }
    fn content_type(&self) -> &str {
        "application/vnd.apache.parquet"
    }
    fn serialize(&self, value: &RecordBatch) -> Result<Bytes, SerializerError> {
        parquet_bytes(Some(value.schema()), [value])
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<RecordBatch, SerializerError> {
        let schema = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?
            .schema()
            .clone();
        let batches = parquet_batches(bytes)?;
        if batches.is_empty() {
            return Ok(RecordBatch::new_empty(schema));
        }
        Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
    }
}

impl Serializer<Vec<RecordBatch>> for Parquet {
    fn name(&self) -> &str {
        Serializer::<RecordBatch>::name(self)
    }
    fn content_type(&self) -> &str {
        Serializer::<RecordBatch>::content_type(self)
    }
    fn serialize(&self, value: &Vec<RecordBatch>) -> Result<Bytes, SerializerError> {
        parquet_bytes(value.first().map(RecordBatch::schema), value)
    }
    fn deserialize(
        &self,
        bytes: Bytes,
        _: &Stored<'_>,
    ) -> Result<Vec<RecordBatch>, SerializerError> {
        parquet_batches(bytes)
    }
}
