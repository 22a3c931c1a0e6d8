//! Arrow record batches as Arrow IPC streams and as Parquet.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder as IpcDecoder;
use arrow_ipc::writer::StreamWriter;
use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ArrowWriter, ParquetRecordBatchStreamBuilder};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;

use super::parquet_pages;
use super::{
    RangeSource, Serializer, SerializerError, Stored, StreamDecoder, StreamEncoder,
    StreamSerializer,
};

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
        let decoder = &mut self.0;
        guarded("Arrow IPC", || {
            let mut buffer = Buffer::from(input.split().freeze());
            while !buffer.is_empty() {
                if let Some(batch) = decoder.decode(&mut buffer)? {
                    out.push(batch);
                }
            }
            if end {
                decoder.finish()?;
            }
            Ok(())
        })
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

/// Runs a parser of `format` that may panic on malformed bytes (arrow's readers
/// slice buffers at offsets the bytes give), turning a panic into an error.
fn guarded<T>(
    format: &str,
    parse: impl FnOnce() -> Result<T, SerializerError>,
) -> Result<T, SerializerError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
        .unwrap_or_else(|panic| Err(panicked(format, &panic)))
}

fn panicked(format: &str, panic: &(dyn std::any::Any + Send)) -> SerializerError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("malformed {format} data: the reader failed ({message})").into()
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
/// For `RecordBatch` (the file's row groups concatenated on load), `Vec<RecordBatch>`
/// (one batch per row group, up to 64 Ki rows each, as read) and
/// `ContentStream<RecordBatch>`. A stream is written row group by row group as its
/// batches come, and read through byte ranges: the footer at the end of the file first
/// (Parquet keeps its schema there), then one row group at a time, so the first batch
/// comes before the rest of the file is read and memory holds one row group. (A stream
/// stored with an `encoding` is read whole, as its ranges are not Parquet's.)
#[derive(Debug, Clone, Copy, Default)]
pub struct Parquet;

/// Rows per row group, and per batch read back.
const PARQUET_ROWS: usize = 64 * 1024;

fn parquet_writer(
    schema: arrow_schema::SchemaRef,
) -> Result<ArrowWriter<Vec<u8>>, SerializerError> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(PARQUET_ROWS))
        .build();
    Ok(ArrowWriter::try_new(Vec::new(), schema, Some(properties))?)
}

fn parquet_bytes<'a>(
    schema: Option<arrow_schema::SchemaRef>,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Result<Bytes, SerializerError> {
    let schema = schema.unwrap_or_else(|| Arc::new(arrow_schema::Schema::empty()));
    let mut writer = parquet_writer(schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    Ok(writer.into_inner()?.into())
}

/// The file's schema and its batches, the footer parsed once; an error if its pages
/// claim more than `limit` bytes once decompressed.
fn parquet_batches(
    bytes: Bytes,
    limit: u64,
) -> Result<(arrow_schema::SchemaRef, Vec<RecordBatch>), SerializerError> {
    guarded("Parquet", || {
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?;
        parquet_pages::check_file(&bytes, builder.metadata(), limit)?;
        let schema = builder.schema().clone();
        let reader = builder.with_batch_size(PARQUET_ROWS).build()?;
        // Columns of variable width are counted as they come: a dictionary's few
        // values can become many.
        let (mut batches, mut size) = (Vec::new(), 0u64);
        for batch in reader {
            let batch = batch?;
            size = size.saturating_add(batch.get_array_memory_size() as u64);
            if size > limit {
                return Err(format!(
                    "the Parquet file decodes to more than {limit} bytes, the registry's \
                     limit (`RegistryBuilder::max_decoded_size`)"
                )
                .into());
            }
            batches.push(batch);
        }
        Ok((schema, batches))
    })
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
    fn deserialize(
        &self,
        bytes: Bytes,
        stored: &Stored<'_>,
    ) -> Result<RecordBatch, SerializerError> {
        let (schema, batches) = parquet_batches(bytes, stored.max_decoded_size)?;
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
        stored: &Stored<'_>,
    ) -> Result<Vec<RecordBatch>, SerializerError> {
        Ok(parquet_batches(bytes, stored.max_decoded_size)?.1)
    }
}

/// Writes the file once the first batch gives its schema, handing out each row group's
/// bytes as it is flushed.
#[derive(Default)]
struct ParquetEncoder {
    writer: Option<ArrowWriter<Vec<u8>>>,
}

impl StreamEncoder<RecordBatch> for ParquetEncoder {
    fn encode(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => self.writer.insert(parquet_writer(batch.schema())?),
        };
        writer.write(batch)?;
        out.append(writer.inner_mut());
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), SerializerError> {
        if let Some(writer) = self.writer.take() {
            out.append(&mut writer.into_inner()?);
        }
        Ok(())
    }
}

/// Reads in order only when it must (an encoded content): the whole file, then its
/// batches.
struct ParquetWholeDecoder {
    bytes: BytesMut,
    /// What the file may decode to, as the registry allows.
    limit: u64,
}

impl StreamDecoder<RecordBatch> for ParquetWholeDecoder {
    fn decode(
        &mut self,
        input: &mut BytesMut,
        end: bool,
        out: &mut Vec<RecordBatch>,
    ) -> Result<(), SerializerError> {
        self.bytes.unsplit(input.split());
        if end && !self.bytes.is_empty() {
            let limit = self.limit;
            out.extend(parquet_batches(self.bytes.split().freeze(), limit)?.1);
        }
        Ok(())
    }
}

/// A stored content's byte ranges, as `parquet` asks for them. A column chunk's pages
/// are checked as it arrives, before the reader sees them.
struct Ranges {
    source: RangeSource,
    metadata: Option<Arc<ParquetMetaData>>,
    /// What each row group's pages claim, of the chunks read so far.
    claimed: std::collections::HashMap<usize, u64>,
}

impl Ranges {
    fn new(source: RangeSource) -> Self {
        Ranges {
            source,
            metadata: None,
            claimed: std::collections::HashMap::new(),
        }
    }

    /// Checks `bytes` if `range` is a column chunk's.
    fn check(&mut self, range: &std::ops::Range<u64>, bytes: &[u8]) -> Result<(), SerializerError> {
        let Some(metadata) = &self.metadata else {
            return Ok(());
        };
        for (index, row_group) in metadata.row_groups().iter().enumerate() {
            for column in row_group.columns() {
                let (start, len) = column.byte_range();
                if (start, start.saturating_add(len)) == (range.start, range.end) {
                    let claimed = self.claimed.entry(index).or_default();
                    *claimed = claimed.saturating_add(parquet_pages::check_chunk(bytes)?);
                    return parquet_pages::check_row_group(index, *claimed);
                }
            }
        }
        Ok(())
    }
}

impl AsyncFileReader for Ranges {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let source = self.source.clone();
        Box::pin(async move {
            let bytes = source
                .read(range.clone())
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            self.check(&range, &bytes).map_err(ParquetError::External)?;
            Ok(bytes)
        })
    }

    fn get_metadata<'a>(
        &'a mut self,
        _: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        let size = self.source.size();
        Box::pin(async move {
            let metadata = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(64 * 1024))
                .load_and_finish(&mut *self, size)
                .await?;
            let metadata = Arc::new(metadata);
            self.metadata = Some(metadata.clone());
            Ok(metadata)
        })
    }
}

impl StreamSerializer<RecordBatch> for Parquet {
    fn name(&self) -> &str {
        Serializer::<RecordBatch>::name(self)
    }
    fn content_type(&self) -> &str {
        Serializer::<RecordBatch>::content_type(self)
    }
    fn encoder(&self) -> Box<dyn StreamEncoder<RecordBatch>> {
        Box::new(ParquetEncoder::default())
    }
    fn decoder(
        &self,
        stored: &Stored<'_>,
    ) -> Result<Box<dyn StreamDecoder<RecordBatch>>, SerializerError> {
        Ok(Box::new(ParquetWholeDecoder {
            bytes: BytesMut::new(),
            limit: stored.max_decoded_size,
        }))
    }
    fn read_ranged(
        &self,
        source: RangeSource,
        _: &Stored<'_>,
    ) -> Option<BoxStream<'static, Result<RecordBatch, SerializerError>>> {
        if source.size() == 0 {
            // A stream of no batches wrote no file.
            return Some(futures::stream::empty().boxed());
        }
        let batches = futures::stream::once(async move {
            let builder = ParquetRecordBatchStreamBuilder::new(Ranges::new(source)).await?;
            builder.with_batch_size(PARQUET_ROWS).build()
        })
        .map_ok(|batches| batches.map_err(SerializerError::from))
        .map_err(SerializerError::from)
        .try_flatten();
        // A panic of the reader on malformed bytes ends the stream with an error.
        let guarded = std::panic::AssertUnwindSafe(batches)
            .catch_unwind()
            .map(|item| item.unwrap_or_else(|panic| Err(panicked("Parquet", &panic))));
        Some(guarded.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of a few kilobytes whose one page decompresses to past the page limit:
    /// the reader would allocate what the page header claims.
    #[test]
    fn a_page_that_decompresses_past_the_limit_is_refused_before_it_is_read() {
        let rows = (parquet_pages::MAX_PAGE / 4) as usize + 1024;
        let zeros = arrow_array::Int32Array::from(vec![0; rows]);
        let batch = RecordBatch::try_from_iter([("zeros", Arc::new(zeros) as _)]).unwrap();
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_dictionary_enabled(false)
            .set_data_page_size_limit(usize::MAX)
            .set_data_page_row_count_limit(usize::MAX)
            .set_max_row_group_row_count(None)
            .build();
        let mut writer =
            ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        let file = Bytes::from(writer.into_inner().unwrap());
        assert!(file.len() < 1 << 20, "{} bytes", file.len());
        let stored = Stored {
            serializer_name: "lakery.parquet@v1",
            serializer_config: None,
            content_type: "application/vnd.apache.parquet",
            max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
        };
        let error = Serializer::<RecordBatch>::deserialize(&Parquet, file, &stored).unwrap_err();
        assert!(error.to_string().contains("claims"), "{error}");
    }
}
