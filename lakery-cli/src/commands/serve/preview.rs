//! What the viewer shows of a content, chosen by its content type.

use lakery::{ContentRecord, ContentType, Database, Format, Registry};

use super::parquet_pages;

/// Contents larger than this (as stored) are not read for a preview.
const PREVIEW_LIMIT: u64 = 16 << 20;
/// At most this much text is shown.
const TEXT_LIMIT: usize = 64 << 10;
/// JSON up to this size is parsed to be pretty-printed; larger, it is shown as it is.
/// Parsed, it takes many times its size (16 MiB of `[0,0,...]` is 256 MiB of values),
/// and only [`TEXT_LIMIT`] of it is shown.
const JSON_PRETTY: usize = 1 << 20;
/// At most this many rows of a table.
const ROWS: usize = 20;
/// At most this many bytes in a hex view.
const HEX_BYTES: usize = 512;
/// At most this many pixels in an image shown on a page: its header says how many it
/// has, and a browser decoding a few kilobytes that claim a gigapixel takes gigabytes.
const MAX_PIXELS: u64 = 64 << 20;
/// How much of an image is read for its header (a JPEG's may follow its metadata).
const IMAGE_HEAD: usize = 256 << 10;
/// At most this many columns of a table, and characters of a cell.
const COLUMNS: usize = 50;
const CELL: usize = 200;

/// A preview, ready to render (the page escapes every string in it).
pub enum Preview {
    /// A raster image the browser shows from the content's own URL.
    Image,
    /// An image whose header claims more than [`MAX_PIXELS`]: not shown.
    ImageTooLarge { width: u32, height: u32 },
    /// JSON, pretty-printed.
    Json { text: String, truncated: bool },
    /// Text, as text whatever its type says (HTML included).
    Text { text: String, truncated: bool },
    /// The first rows of a CSV, Parquet or Arrow table.
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        total_rows: Option<u64>,
    },
    /// The first bytes in hex, for anything else, and how many bytes there are
    /// decompressed (`more`: at least that many).
    Hex { dump: String, size: u64, more: bool },
    /// Not read: too large.
    TooLarge { size: u64 },
    /// Not read: the page already shows as many previews as it may.
    Skipped,
    /// It could not be read or parsed: the message says why.
    Failed(String),
}

/// Text types that would be active if served as they are; they are served as text.
const ACTIVE_TEXT: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/ecmascript",
    "text/xsl",
];

/// Raster images an `<img>` shows.
const IMAGES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
];

/// Text types served as they are (with UTF-8 as their charset).
const PASSIVE_TEXT: &[&str] = &[
    "text/plain",
    "text/csv",
    "text/tab-separated-values",
    "text/markdown",
];

/// Other types served as they are: data no browser runs.
const PASSIVE_DATA: &[&str] = &[
    "application/json",
    "application/jsonl",
    "application/x-ndjson",
    "application/jsonlines",
    "application/octet-stream",
    "application/vnd.apache.parquet",
    "application/vnd.apache.arrow.stream",
    "application/vnd.apache.arrow.file",
    "application/x-npy",
    "application/vnd.msgpack",
    "application/msgpack",
    "application/x-msgpack",
    "application/x-bincode",
    "application/zstd",
    "application/gzip",
];

const PARQUET: &str = "application/vnd.apache.parquet";
const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// The content type a content's bytes are served with, rebuilt from the stored one
/// rather than copied, from a list of types no browser runs: raster images and data
/// as they are, text as UTF-8 text, active text (HTML, SVG, XML, JavaScript) as plain
/// text, and anything else, or anything unparsable, as bytes.
pub fn served_type(stored: &str) -> String {
    let Ok(parsed) = ContentType::parse(stored) else {
        return "application/octet-stream".to_owned();
    };
    let essence = parsed.essence();
    if IMAGES.contains(&essence)
        || PASSIVE_DATA.contains(&essence)
        || parsed.suffix() == Some("json")
    {
        essence.to_owned()
    } else if PASSIVE_TEXT.contains(&essence) {
        format!("{essence}; charset=utf-8")
    } else if ACTIVE_TEXT.contains(&essence)
        || parsed.suffix() == Some("xml")
        || parsed.type_() == "text"
    {
        "text/plain; charset=utf-8".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// A file name extension for a download.
pub fn extension(stored: &str) -> &'static str {
    let Ok(parsed) = ContentType::parse(stored) else {
        return "";
    };
    match parsed.essence() {
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        PARQUET => ".parquet",
        ARROW_STREAM => ".arrows",
        "application/x-npy" => ".npy",
        _ => match parsed.format() {
            Some(Format::Json) => ".json",
            Some(Format::JsonLines) => ".jsonl",
            Some(Format::Csv) => ".csv",
            Some(Format::Text) => ".txt",
            Some(Format::MessagePack) => ".msgpack",
            _ => "",
        },
    }
}

/// Reads `content` (hash-checked) and prepares its preview, decompressing at most
/// [`PREVIEW_LIMIT`] bytes of it.
pub async fn of(registry: &Registry, db: &Database, content: &ContentRecord) -> Preview {
    let parsed = ContentType::parse(&content.content_type).ok();
    let essence = parsed.as_ref().map(|p| p.essence().to_owned());
    if essence.as_deref().is_some_and(|e| IMAGES.contains(&e)) {
        return image(registry, db, content).await;
    }
    if content.size > PREVIEW_LIMIT {
        return Preview::TooLarge { size: content.size };
    }
    let stored = match lakery::read_content(registry, db, content.manifest_id, &content.key).await {
        Ok(stored) => stored,
        Err(e) => return Preview::Failed(e.to_string()),
    };
    let format = parsed.as_ref().and_then(|p| p.format());
    // Decompressing and parsing are CPU work: off the async threads.
    tokio::task::spawn_blocking(move || {
        let (bytes, more) = match stored.decoded_up_to(PREVIEW_LIMIT as usize) {
            Ok(decoded) => decoded,
            Err(e) => return Preview::Failed(e.to_string()),
        };
        match (essence.as_deref(), format) {
            // Parquet keeps its schema at the end: only a whole file can be read.
            (Some(PARQUET), _) if more => Preview::TooLarge {
                size: PREVIEW_LIMIT + 1,
            },
            (Some(PARQUET), _) => parquet(bytes).unwrap_or_else(Preview::Failed),
            (Some(ARROW_STREAM), _) => arrow_stream(bytes).unwrap_or_else(Preview::Failed),
            (_, Some(Format::Json)) if !more && bytes.len() <= JSON_PRETTY => json(&bytes),
            (_, Some(Format::Csv)) => csv(&bytes, more).unwrap_or_else(Preview::Failed),
            (_, Some(Format::Json | Format::Text | Format::JsonLines)) => text(&bytes, more),
            _ if essence.as_deref().is_some_and(|e| ACTIVE_TEXT.contains(&e)) => text(&bytes, more),
            _ => hex(&bytes, more),
        }
    })
    .await
    .unwrap_or_else(|e| Preview::Failed(format!("the preview failed: {e}")))
}

/// An image, shown by the browser unless its header claims more than [`MAX_PIXELS`];
/// one whose header this build cannot read (formats other than PNG and JPEG) is left
/// to the browser.
async fn image(registry: &Registry, db: &Database, content: &ContentRecord) -> Preview {
    use futures::StreamExt;

    let chunks = match lakery::stream_content(registry, db, content.manifest_id, &content.key).await
    {
        Ok(chunks) => chunks,
        Err(e) => return Preview::Failed(e.to_string()),
    };
    let mut chunks = chunks.into_stream(true);
    let mut head = Vec::new();
    while head.len() < IMAGE_HEAD {
        match chunks.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(e)) => return Preview::Failed(e.to_string()),
            None => break,
        }
    }
    let dimensions = image::ImageReader::new(std::io::Cursor::new(head))
        .with_guessed_format()
        .ok()
        .and_then(|mut reader| {
            // The decoder's limits would refuse the very headers looked for; only the
            // header is read.
            reader.no_limits();
            reader.into_dimensions().ok()
        });
    match dimensions {
        Some((width, height)) if u64::from(width) * u64::from(height) > MAX_PIXELS => {
            Preview::ImageTooLarge { width, height }
        }
        _ => Preview::Image,
    }
}

/// The start of `bytes` as text; `more` if they are themselves only a start.
fn text(bytes: &[u8], more: bool) -> Preview {
    let truncated = more || bytes.len() > TEXT_LIMIT;
    let mut end = bytes.len().min(TEXT_LIMIT);
    // Not in the middle of a character.
    while end > 0 && end < bytes.len() && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    Preview::Text {
        text: String::from_utf8_lossy(&bytes[..end]).into_owned(),
        truncated,
    }
}

fn json(bytes: &[u8]) -> Preview {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            match text(pretty.as_bytes(), false) {
                Preview::Text { text, truncated } => Preview::Json { text, truncated },
                other => other,
            }
        }
        // Not valid JSON after all: shown as it is.
        Err(_) => text(bytes, false),
    }
}

/// The first rows of a CSV; `more` if `bytes` are only its start, whose last row may
/// be cut.
fn csv(bytes: &[u8], more: bool) -> Result<Preview, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let columns = cells(
        reader
            .headers()
            .map_err(|e| format!("not CSV: {e}"))?
            .iter()
            .map(str::to_owned),
    );
    let mut rows = Vec::new();
    let mut total = 0u64;
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(_) if more => break,
            Err(e) => return Err(format!("not CSV: {e}")),
        };
        if rows.len() < ROWS {
            rows.push(cells(record.iter().map(str::to_owned)));
        }
        total += 1;
    }
    Ok(Preview::Table {
        columns,
        rows,
        total_rows: (!more).then_some(total),
    })
}

/// A row as shown: at most [`COLUMNS`] cells of at most [`CELL`] characters.
fn cells(row: impl Iterator<Item = String>) -> Vec<String> {
    row.take(COLUMNS)
        .map(|cell| match cell.char_indices().nth(CELL) {
            Some((end, _)) => format!("{}…", &cell[..end]),
            None => cell,
        })
        .collect()
}

/// The first rows of a Parquet file, reading only the first row group that has rows
/// and the first [`COLUMNS`] columns, once their pages' headers claim no more than
/// [`PREVIEW_LIMIT`] bytes decompressed at once.
fn parquet(bytes: bytes::Bytes) -> Result<Preview, String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    let not_parquet = |e: parquet::errors::ParquetError| format!("not Parquet: {e}");
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).map_err(not_parquet)?;
    let metadata = builder.metadata().clone();
    let total = metadata.file_metadata().num_rows();
    let schema = metadata.file_metadata().schema_descr();
    let shown = ProjectionMask::roots(
        schema,
        0..schema.root_schema().get_fields().len().min(COLUMNS),
    );
    let leaves: Vec<usize> = (0..schema.num_columns())
        .filter(|&leaf| schema.get_column_root_idx(leaf) < COLUMNS)
        .collect();
    let first = metadata.row_groups().iter().position(|g| g.num_rows() > 0);
    if let Some(first) = first {
        let claimed = parquet_pages::claimed(&bytes, metadata.row_group(first), &leaves)
            .map_err(|e| format!("not Parquet: {e}"))?;
        if claimed > PREVIEW_LIMIT {
            return Err(format!(
                "its first rows' pages claim {} once decompressed, more than the {} a \
                 preview reads",
                crate::progress::size(claimed),
                crate::progress::size(PREVIEW_LIMIT)
            ));
        }
    }
    let mut reader = builder
        .with_row_groups(first.into_iter().collect())
        .with_projection(shown)
        .with_batch_size(ROWS)
        .with_limit(ROWS)
        .build()
        .map_err(not_parquet)?;
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let batch = reader
        .next()
        .transpose()
        .map_err(|e| format!("not Parquet: {e}"))?;
    table(&schema, batch, u64::try_from(total).ok())
}

fn arrow_stream(bytes: bytes::Bytes) -> Result<Preview, String> {
    let mut reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| format!("not an Arrow stream: {e}"))?;
    let schema = reader.schema();
    let batch = reader
        .next()
        .transpose()
        .map_err(|e| format!("not an Arrow stream: {e}"))?;
    table(&schema, batch, None)
}

fn table(
    schema: &arrow_schema::Schema,
    batch: Option<arrow_array::RecordBatch>,
    total_rows: Option<u64>,
) -> Result<Preview, String> {
    let columns = cells(schema.fields().iter().map(|f| f.name().clone()));
    let mut rows = Vec::new();
    if let Some(batch) = batch {
        let options = arrow_cast::display::FormatOptions::default().with_null("null");
        let formatters = batch
            .columns()
            .iter()
            .take(COLUMNS)
            .map(|column| arrow_cast::display::ArrayFormatter::try_new(column, &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot show the table: {e}"))?;
        for row in 0..batch.num_rows().min(ROWS) {
            rows.push(cells(formatters.iter().map(|f| f.value(row).to_string())));
        }
    }
    Ok(Preview::Table {
        columns,
        rows,
        total_rows,
    })
}

/// `00000000  7f 45 4c 46 ...  |.ELF...|`, 16 bytes a line.
fn hex(bytes: &[u8], more: bool) -> Preview {
    let mut dump = String::new();
    for (line, chunk) in bytes[..bytes.len().min(HEX_BYTES)].chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        dump.push_str(&format!(
            "{:08x}  {:<47}  |{ascii}|\n",
            line * 16,
            hex.join(" ")
        ));
    }
    Preview::Hex {
        dump,
        size: bytes.len() as u64,
        more,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_types_are_served_as_text() {
        for active in [
            "text/html",
            "text/html; charset=utf-8",
            "TEXT/HTML",
            "image/svg+xml",
            "application/atom+xml",
            "application/javascript",
        ] {
            assert_eq!(served_type(active), "text/plain; charset=utf-8", "{active}");
        }
        assert_eq!(served_type("image/png"), "image/png");
        assert_eq!(
            served_type("text/csv; charset=utf-8"),
            "text/csv; charset=utf-8"
        );
        assert_eq!(served_type("not a type"), "application/octet-stream");
        // Rebuilt, never copied: parameters a browser might read otherwise are dropped.
        assert_eq!(
            served_type(r#"text/plain; a="x\"; b=", text/html; c=""#),
            "text/plain; charset=utf-8"
        );
        assert_eq!(served_type("image/png; x=\"<script>\""), "image/png");
        for other in [
            "multipart/x-mixed-replace; boundary=x",
            "application/pdf",
            "application/x-shockwave-flash",
            "video/mp4",
        ] {
            assert_eq!(served_type(other), "application/octet-stream", "{other}");
        }
        assert_eq!(served_type("application/ld+json"), "application/ld+json");
    }

    #[test]
    fn hex_shows_offsets_bytes_and_text() {
        let Preview::Hex { dump, size, more } = hex(b"\x00\x01lakery\xff", false) else {
            panic!("not hex");
        };
        assert_eq!((size, more), (9, false));
        assert_eq!(
            dump,
            "00000000  00 01 6c 61 6b 65 72 79 ff                       |..lakery.|\n"
        );
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(TEXT_LIMIT);
        let Preview::Text { text, truncated } = super::text(long.as_bytes(), false) else {
            panic!("not text");
        };
        assert!(truncated);
        assert!(text.len() <= TEXT_LIMIT && text.chars().all(|c| c == 'é'));
    }

    #[test]
    fn csv_counts_rows_and_keeps_the_first() {
        let data: String = std::iter::once("a,b\n".to_owned())
            .chain((0..30).map(|i| format!("{i},x{i}\n")))
            .collect();
        let Ok(Preview::Table {
            columns,
            rows,
            total_rows,
        }) = csv(data.as_bytes(), false)
        else {
            panic!("not a table");
        };
        assert_eq!(columns, ["a", "b"]);
        assert_eq!(rows.len(), ROWS);
        assert_eq!(rows[3], ["3", "x3"]);
        assert_eq!(total_rows, Some(30));
    }
}
