//! What a Parquet preview's pages claim, checked before the `parquet` crate reads them:
//! it allocates a page's claimed uncompressed size up front, and the claim is in the
//! page's header, which whoever wrote the file chose. A 135 KB file whose pages claim
//! 1 GiB each took a page view to 4 GB. Its header parser is private, so this reads the
//! three fields needed from Thrift's compact encoding and skips the rest.

use parquet::file::metadata::RowGroupMetaData;

/// How deep Thrift structures may nest before a header is refused: real headers nest
/// three deep, and a hostile one must not exhaust the stack.
const MAX_DEPTH: usize = 16;

const DICTIONARY_PAGE: i32 = 2;

/// The bytes that reading the first rows of `columns` (leaf indexes) of `row_group`
/// may take at once: for each column its dictionary page and its largest data page, as
/// their headers claim them decompressed. An error if a header is malformed or a page
/// lies outside `file`.
pub fn claimed(
    file: &[u8],
    row_group: &RowGroupMetaData,
    columns: &[usize],
) -> Result<u64, String> {
    let mut total = 0u64;
    for &index in columns {
        let (start, len) = row_group.column(index).byte_range();
        let mut chunk = usize::try_from(start)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(start, len)| file.get(start..start.checked_add(len)?))
            .ok_or("a column chunk lies outside the file")?;
        let (mut dictionary, mut largest) = (0u64, 0u64);
        while !chunk.is_empty() {
            let mut reader = Compact {
                input: chunk,
                depth: 0,
            };
            let header = reader.page_header()?;
            let size = u64::try_from(header.uncompressed).map_err(|_| MALFORMED)?;
            if header.kind == DICTIONARY_PAGE {
                dictionary = dictionary.saturating_add(size);
            } else {
                largest = largest.max(size);
            }
            let compressed = usize::try_from(header.compressed).map_err(|_| MALFORMED)?;
            let header_len = chunk.len() - reader.input.len();
            chunk = chunk
                .get(header_len.saturating_add(compressed)..)
                .ok_or("a page runs past its column chunk")?;
        }
        total = total.saturating_add(dictionary).saturating_add(largest);
    }
    Ok(total)
}

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

const MALFORMED: &str = "a page header is not valid Thrift";

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let (&first, rest) = self.input.split_first().ok_or(MALFORMED)?;
        self.input = rest;
        Ok(first)
    }

    fn skip_bytes(&mut self, n: u64) -> Result<(), String> {
        let n = usize::try_from(n).map_err(|_| MALFORMED)?;
        self.input = self.input.get(n..).ok_or(MALFORMED)?;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, String> {
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

    fn i32(&mut self) -> Result<i32, String> {
        let n = self.varint()?;
        let n = (n >> 1) as i64 ^ -((n & 1) as i64);
        i32::try_from(n).map_err(|_| MALFORMED.into())
    }

    /// A field's header: its id and type, or `None` at the struct's end.
    fn field(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, String> {
        let byte = self.byte()?;
        if byte == 0 {
            return Ok(None);
        }
        let (delta, kind) = (byte >> 4, byte & 0x0f);
        *last = if delta == 0 {
            i16::try_from(self.i32()?).map_err(|_| MALFORMED)?
        } else {
            last.checked_add(i16::from(delta)).ok_or(MALFORMED)?
        };
        Ok(Some((*last, kind)))
    }

    fn page_header(&mut self) -> Result<PageHeader, String> {
        let (mut kind, mut uncompressed, mut compressed) = (None, None, None);
        let mut last = 0;
        while let Some((id, field_kind)) = self.field(&mut last)? {
            match (id, field_kind) {
                (1, 5) => kind = Some(self.i32()?),
                (2, 5) => uncompressed = Some(self.i32()?),
                (3, 5) => compressed = Some(self.i32()?),
                (_, other) => self.skip(other)?,
            }
        }
        match (kind, uncompressed, compressed) {
            (Some(kind), Some(uncompressed), Some(compressed)) => Ok(PageHeader {
                kind,
                uncompressed,
                compressed,
            }),
            _ => Err("a page header lacks its type or sizes".into()),
        }
    }

    /// Skips a value of compact type `kind`.
    fn skip(&mut self, kind: u8) -> Result<(), String> {
        match kind {
            // Booleans in a field header carry their value.
            1 | 2 => Ok(()),
            3 => self.skip_bytes(1),
            4..=6 => self.varint().map(drop),
            7 => self.skip_bytes(8),
            8 => {
                let len = self.varint()?;
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

    fn nested(&mut self, read: impl FnOnce(&mut Self) -> Result<(), String>) -> Result<(), String> {
        if self.depth >= MAX_DEPTH {
            return Err(MALFORMED.into());
        }
        self.depth += 1;
        let result = read(self);
        self.depth -= 1;
        result
    }
}
