//! What the viewer shows of a content, chosen by its content type.

use lakery::{ContentRecord, ContentType, Database, Format, Registry};

/// Contents larger than this (as stored) are not read for a preview.
const PREVIEW_LIMIT: u64 = 16 << 20;
/// At most this much text is shown.
const TEXT_LIMIT: usize = 64 << 10;
/// At most this many rows of a table.
const ROWS: usize = 20;
/// At most this many bytes in a hex view.
const HEX_BYTES: usize = 512;

/// A preview, ready to render (the page escapes every string in it).
pub enum Preview {
    /// A raster image the browser shows from the content's own URL.
    Image,
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
    /// The first bytes in hex, for anything else.
    Hex { dump: String, size: u64 },
    /// Not read: too large.
    TooLarge { size: u64 },
    /// It could not be read or parsed: the message says why.
    Failed(String),
}

/// Types that would be active if served as they are; they are served as text.
const ACTIVE: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/ecmascript",
    "text/xsl",
    "application/pdf",
];

/// Raster images an `<img>` shows.
const IMAGES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
];

const PARQUET: &str = "application/vnd.apache.parquet";
const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// The content type a content's bytes are served with: the stored one, unless it is
/// active (then plain text) or not a valid type (then bytes).
pub fn served_type(stored: &str) -> String {
    match ContentType::parse(stored) {
        Ok(parsed) if ACTIVE.contains(&parsed.essence()) || parsed.suffix() == Some("xml") => {
            "text/plain; charset=utf-8".to_owned()
        }
        Ok(_) => stored.to_owned(),
        Err(_) => "application/octet-stream".to_owned(),
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

/// Reads `content` (hash-checked) and prepares its preview.
pub async fn of(registry: &Registry, db: &Database, content: &ContentRecord) -> Preview {
    let parsed = ContentType::parse(&content.content_type).ok();
    let essence = parsed.as_ref().map(|p| p.essence().to_owned());
    if essence.as_deref().is_some_and(|e| IMAGES.contains(&e)) {
        return Preview::Image;
    }
    if content.size > PREVIEW_LIMIT {
        return Preview::TooLarge { size: content.size };
    }
    let bytes = match lakery::read_content(registry, db, content.manifest_id, &content.key).await {
        Ok(stored) => match stored.decoded() {
            Ok(bytes) => bytes,
            Err(e) => return Preview::Failed(e.to_string()),
        },
        Err(e) => return Preview::Failed(e.to_string()),
    };
    let format = parsed.as_ref().and_then(|p| p.format());
    // Parsing a table is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || match (essence.as_deref(), format) {
        (Some(PARQUET), _) => parquet(bytes).unwrap_or_else(Preview::Failed),
        (Some(ARROW_STREAM), _) => arrow_stream(bytes).unwrap_or_else(Preview::Failed),
        (_, Some(Format::Json)) => json(&bytes),
        (_, Some(Format::Csv)) => csv(&bytes).unwrap_or_else(Preview::Failed),
        (_, Some(Format::Text | Format::JsonLines)) => text(&bytes),
        _ if essence.as_deref().is_some_and(|e| ACTIVE.contains(&e)) => text(&bytes),
        _ => hex(&bytes),
    })
    .await
    .unwrap_or_else(|e| Preview::Failed(format!("the preview failed: {e}")))
}

fn text(bytes: &[u8]) -> Preview {
    let truncated = bytes.len() > TEXT_LIMIT;
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
            match text(pretty.as_bytes()) {
                Preview::Text { text, truncated } => Preview::Json { text, truncated },
                other => other,
            }
        }
        // Not valid JSON after all: shown as it is.
        Err(_) => text(bytes),
    }
}

fn csv(bytes: &[u8]) -> Result<Preview, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let columns = reader
        .headers()
        .map_err(|e| format!("not CSV: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows = Vec::new();
    let mut total = 0u64;
    for record in reader.records() {
        let record = record.map_err(|e| format!("not CSV: {e}"))?;
        if rows.len() < ROWS {
            rows.push(record.iter().map(str::to_owned).collect());
        }
        total += 1;
    }
    Ok(Preview::Table {
        columns,
        rows,
        total_rows: Some(total),
    })
}

fn parquet(bytes: bytes::Bytes) -> Result<Preview, String> {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| format!("not Parquet: {e}"))?;
    let total = builder.metadata().file_metadata().num_rows();
    let mut reader = builder
        .with_batch_size(ROWS)
        .with_limit(ROWS)
        .build()
        .map_err(|e| format!("not Parquet: {e}"))?;
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
    let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    if let Some(batch) = batch {
        let options = arrow_cast::display::FormatOptions::default().with_null("null");
        let formatters = batch
            .columns()
            .iter()
            .map(|column| arrow_cast::display::ArrayFormatter::try_new(column, &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot show the table: {e}"))?;
        for row in 0..batch.num_rows().min(ROWS) {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    Ok(Preview::Table {
        columns,
        rows,
        total_rows,
    })
}

/// `00000000  7f 45 4c 46 ...  |.ELF...|`, 16 bytes a line.
fn hex(bytes: &[u8]) -> Preview {
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
    }

    #[test]
    fn hex_shows_offsets_bytes_and_text() {
        let Preview::Hex { dump, size } = hex(b"\x00\x01lakery\xff") else {
            panic!("not hex");
        };
        assert_eq!(size, 9);
        assert_eq!(
            dump,
            "00000000  00 01 6c 61 6b 65 72 79 ff                       |..lakery.|\n"
        );
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(TEXT_LIMIT);
        let Preview::Text { text, truncated } = super::text(long.as_bytes()) else {
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
        }) = csv(data.as_bytes())
        else {
            panic!("not a table");
        };
        assert_eq!(columns, ["a", "b"]);
        assert_eq!(rows.len(), ROWS);
        assert_eq!(rows[3], ["3", "x3"]);
        assert_eq!(total_rows, Some(30));
    }
}
