//! The sizes a Parquet file's page headers claim, checked before the `parquet` crate
//! reads the pages: it allocates a page's claimed uncompressed size up front (up to
//! 2 GiB each), so a file of a few kilobytes whose headers lie would take gigabytes.
//! The crate keeps its header parser private; this reads the fields needed from
//! Thrift's compact encoding and skips the rest.
//!
//! The claims bound memory because the codecs lakery builds `parquet` with (zstd and
//! snappy) allocate exactly what a page claims; gzip, brotli and lz4 would read to the
//! end of their data whatever the claim, and are not enabled.

use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::ParquetMetaData;

use super::SerializerError;

/// The most one page may claim once decompressed. Writers make pages of about 1 MiB
/// (lakery's too); 64 MiB leaves room for any sane writer.
pub(crate) const MAX_PAGE: u64 = 64 << 20;

/// The most a row group's pages may claim together, all columns.
pub(crate) const MAX_ROW_GROUP: u64 = 1 << 30;

/// How deep Thrift structures may nest before the header is refused: real headers
/// nest three deep, and a hostile one must not exhaust the stack.
const MAX_DEPTH: usize = 16;

/// Checks every column chunk of `file` (a whole Parquet file, read into one value)
/// against the limits, and all its pages together against `limit`.
pub(crate) fn check_file(
    file: &[u8],
    metadata: &ParquetMetaData,
    limit: u64,
) -> Result<(), SerializerError> {
    // Pages of dictionary indexes claim little and become a value each: the rows of
    // fixed-width columns are what they decode to, known before anything is read.
    let fixed = fixed_width_size(metadata)?;
    if fixed > limit {
        return Err(format!(
            "the Parquet file's rows take {fixed} bytes once decoded, more than {limit}, \
             the registry's limit (`RegistryBuilder::max_decoded_size`)"
        )
        .into());
    }
    let mut all = 0u64;
    for (index, row_group) in metadata.row_groups().iter().enumerate() {
        let mut total = 0u64;
        for column in row_group.columns() {
            let (start, len) = column.byte_range();
            let chunk = usize::try_from(start)
                .ok()
                .zip(usize::try_from(len).ok())
                .and_then(|(start, len)| file.get(start..start.checked_add(len)?))
                .ok_or("malformed Parquet data: a column chunk lies outside the file")?;
            total = total.saturating_add(check_chunk(chunk)?);
        }
        check_row_group(index, total)?;
        all = all.saturating_add(total);
        if all > limit {
            return Err(format!(
                "the Parquet file's pages claim more than {limit} bytes once decompressed, \
                 the registry's limit (`RegistryBuilder::max_decoded_size`)"
            )
            .into());
        }
    }
    Ok(())
}

/// The bytes the file's fixed-width columns take once decoded: each row group's rows
/// times each such column's width. Columns of variable width (strings, binary) count
/// nothing here; what they become is counted as their batches are read.
fn fixed_width_size(metadata: &ParquetMetaData) -> Result<u64, SerializerError> {
    let mut total = 0u64;
    for row_group in metadata.row_groups() {
        let rows = u64::try_from(row_group.num_rows())
            .map_err(|_| "malformed Parquet data: a row group has a negative row count")?;
        for column in row_group.columns() {
            let descriptor = column.column_descr();
            let width = match descriptor.physical_type() {
                PhysicalType::BOOLEAN => 1,
                PhysicalType::INT32 | PhysicalType::FLOAT => 4,
                PhysicalType::INT64 | PhysicalType::DOUBLE => 8,
                PhysicalType::INT96 => 12,
                PhysicalType::FIXED_LEN_BYTE_ARRAY => {
                    u64::try_from(descriptor.type_length()).unwrap_or(0)
                }
                PhysicalType::BYTE_ARRAY => 0,
            };
            total = total.saturating_add(rows.saturating_mul(width));
        }
    }
    Ok(total)
}

/// The error when a row group's pages claim more than [`MAX_ROW_GROUP`] together.
pub(crate) fn check_row_group(index: usize, total: u64) -> Result<(), SerializerError> {
    if total > MAX_ROW_GROUP {
        return Err(format!(
            "Parquet row group {index} claims {total} bytes once decompressed, more than \
             the {MAX_ROW_GROUP} lakery reads"
        )
        .into());
    }
    Ok(())
}

/// Walks the pages of one column chunk (its bytes, as the metadata places them) and
/// returns the uncompressed size they claim together; an error if one claims more
/// than [`MAX_PAGE`] or a header is malformed.
pub(crate) fn check_chunk(chunk: &[u8]) -> Result<u64, SerializerError> {
    let mut total = 0u64;
    for page in parquet_pages(chunk)? {
        if page.uncompressed > MAX_PAGE {
            return Err(format!(
                "a Parquet page claims {} bytes once decompressed, more than the \
                 {MAX_PAGE} lakery reads",
                page.uncompressed
            )
            .into());
        }
        total = total.saturating_add(page.uncompressed);
    }
    Ok(total)
}

/// One page of a Parquet column chunk, as its header describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParquetPage {
    /// Whether it is the column's dictionary page.
    pub dictionary: bool,
    /// The size its header claims it has once decompressed: what the `parquet` crate
    /// allocates to read it.
    pub uncompressed: u64,
}

/// The pages of one Parquet column chunk (its bytes, where the file's metadata places
/// them, `ColumnChunkMetaData::byte_range`), as their headers claim them, read without
/// decompressing anything: for checking what reading a file would allocate before
/// the `parquet` crate reads it. An error if a header is malformed, gives a negative
/// size or runs past the chunk. Memory and time are linear in the chunk's length.
pub fn parquet_pages(mut chunk: &[u8]) -> Result<Vec<ParquetPage>, SerializerError> {
    let mut pages = Vec::new();
    while !chunk.is_empty() {
        let mut reader = Compact {
            input: chunk,
            depth: 0,
        };
        let header = reader.page_header()?;
        let (Ok(uncompressed), Ok(compressed)) = (
            u64::try_from(header.uncompressed),
            usize::try_from(header.compressed),
        ) else {
            return Err("malformed Parquet data: a page header gives a negative size".into());
        };
        pages.push(ParquetPage {
            dictionary: header.kind == DICTIONARY_PAGE,
            uncompressed,
        });
        let header_len = chunk.len() - reader.input.len();
        chunk = chunk
            .get(header_len.saturating_add(compressed)..)
            .ok_or("malformed Parquet data: a page runs past its column chunk")?;
    }
    Ok(pages)
}

/// The page type of a dictionary page, in a header's first field.
const DICTIONARY_PAGE: i32 = 2;

/// The fields of a page header that size it.
struct PageHeader {
    kind: i32,
    uncompressed: i32,
    compressed: i32,
}

/// A reader of Thrift's compact protocol over a slice.
struct Compact<'a> {
    input: &'a [u8],
    depth: usize,
}

const MALFORMED: &str = "malformed Parquet data: a page header is not valid Thrift";

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, SerializerError> {
        let (&first, rest) = self.input.split_first().ok_or(MALFORMED)?;
        self.input = rest;
        Ok(first)
    }

    fn skip_bytes(&mut self, n: usize) -> Result<(), SerializerError> {
        self.input = self.input.get(n..).ok_or(MALFORMED)?;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, SerializerError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MALFORMED.into())
    }

    fn zigzag(&mut self) -> Result<i64, SerializerError> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    fn i32(&mut self) -> Result<i32, SerializerError> {
        i32::try_from(self.zigzag()?).map_err(|_| MALFORMED.into())
    }

    /// A field's header: its id and type, or `None` at the struct's end.
    fn field(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, SerializerError> {
        let byte = self.byte()?;
        if byte == 0 {
            return Ok(None);
        }
        let (delta, kind) = (byte >> 4, byte & 0x0f);
        *last = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| MALFORMED)?
        } else {
            last.checked_add(i16::from(delta)).ok_or(MALFORMED)?
        };
        Ok(Some((*last, kind)))
    }

    fn page_header(&mut self) -> Result<PageHeader, SerializerError> {
        let (mut page, mut uncompressed, mut compressed) = (None, None, None);
        let mut last = 0;
        while let Some((id, kind)) = self.field(&mut last)? {
            match (id, kind) {
                (1, 5) => page = Some(self.i32()?),
                (2, 5) => uncompressed = Some(self.i32()?),
                (3, 5) => compressed = Some(self.i32()?),
                (_, kind) => self.skip(kind)?,
            }
        }
        match (page, uncompressed, compressed) {
            (Some(kind), Some(uncompressed), Some(compressed)) => Ok(PageHeader {
                kind,
                uncompressed,
                compressed,
            }),
            _ => Err("malformed Parquet data: a page header lacks its sizes".into()),
        }
    }

    /// Skips a value of compact type `kind`.
    fn skip(&mut self, kind: u8) -> Result<(), SerializerError> {
        match kind {
            // Booleans in a field header carry their value.
            1 | 2 => Ok(()),
            3 => self.skip_bytes(1),
            4..=6 => self.varint().map(drop),
            7 => self.skip_bytes(8),
            8 => {
                let len = usize::try_from(self.varint()?).map_err(|_| MALFORMED)?;
                self.skip_bytes(len)
            }
            9 | 10 => self.nested(|reader| {
                let header = reader.byte()?;
                let size = match header >> 4 {
                    15 => reader.varint()?,
                    size => u64::from(size),
                };
                let element = header & 0x0f;
                for _ in 0..size {
                    // A list's booleans take a byte each.
                    if matches!(element, 1 | 2) {
                        reader.skip_bytes(1)?;
                    } else {
                        reader.skip(element)?;
                    }
                }
                Ok(())
            }),
            11 => self.nested(|reader| {
                let size = reader.varint()?;
                if size == 0 {
                    return Ok(());
                }
                let kinds = reader.byte()?;
                for _ in 0..size {
                    reader.skip(kinds >> 4)?;
                    reader.skip(kinds & 0x0f)?;
                }
                Ok(())
            }),
            12 => self.nested(|reader| {
                let mut last = 0;
                while let Some((_, kind)) = reader.field(&mut last)? {
                    reader.skip(kind)?;
                }
                Ok(())
            }),
            13 => self.skip_bytes(16),
            _ => Err(MALFORMED.into()),
        }
    }

    fn nested(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<(), SerializerError>,
    ) -> Result<(), SerializerError> {
        if self.depth >= MAX_DEPTH {
            return Err(MALFORMED.into());
        }
        self.depth += 1;
        let result = read(self);
        self.depth -= 1;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page header as the compact protocol writes it: fields 1 to 3, then a nested
    /// data page header with a list inside, then the end.
    fn header(uncompressed: i32, compressed: i32) -> Vec<u8> {
        let zigzag = |n: i32| ((n << 1) ^ (n >> 31)) as u32;
        let varint = |mut n: u32, out: &mut Vec<u8>| loop {
            if n < 0x80 {
                out.push(n as u8);
                break;
            }
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        };
        let mut out = vec![0x15];
        varint(zigzag(0), &mut out);
        out.push(0x15);
        varint(zigzag(uncompressed), &mut out);
        out.push(0x15);
        varint(zigzag(compressed), &mut out);
        // Field 5, a struct: one i32 and a list of two i32s, then its end.
        out.extend([0x2c, 0x15, 0x02, 0x19, 0x25, 0x02, 0x04, 0x00]);
        out.push(0x00);
        out
    }

    #[test]
    fn pages_are_walked_and_their_claims_added() {
        let mut chunk = header(100, 3);
        chunk.extend([1, 2, 3]);
        chunk.extend(header(50, 0));
        assert_eq!(check_chunk(&chunk).unwrap(), 150);
        let pages = parquet_pages(&chunk).unwrap();
        assert_eq!(pages.len(), 2);
        assert!(pages.iter().all(|page| !page.dictionary));
    }

    #[test]
    fn a_page_claiming_too_much_or_running_past_its_chunk_is_refused() {
        let big = header(i32::MAX, 0);
        assert!(check_chunk(&big)
            .unwrap_err()
            .to_string()
            .contains("claims"));
        let mut short = header(10, 100);
        short.extend([0; 10]);
        assert!(check_chunk(&short).is_err());
        assert!(check_chunk(&header(-1, 0)).is_err());
    }

    #[test]
    fn malformed_and_deeply_nested_headers_are_errors() {
        assert!(check_chunk(&[0x15]).is_err());
        assert!(check_chunk(&[0xff; 64]).is_err());
        // Structs nested a thousand deep.
        let mut deep = vec![0x15, 0x00];
        deep.extend(std::iter::repeat_n(0x1c, 1000));
        assert!(check_chunk(&deep).is_err());
    }
}
