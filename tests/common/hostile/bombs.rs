//! Decompression bombs: a few hundred kilobytes that decode to gigabytes, made as a
//! stream so that making one takes little memory.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use lakery::serializer::arrow_array::{ArrayRef, Int64Array, RecordBatch};
use lakery::serializer::{ArrowIpc, Parquet, Serializer};

use super::corpus::Bomb;

/// How much a compression bomb decodes to.
pub const BOMB_SIZE: usize = 1 << 30;

/// The bytes of `bomb`.
pub fn make(bomb: Bomb) -> Vec<u8> {
    match bomb {
        Bomb::Zstd => zeros_through(
            zstd::stream::Encoder::new(Vec::new(), 3).unwrap(),
            BOMB_SIZE,
        )
        .finish()
        .unwrap(),
        Bomb::Gzip => zeros_through(
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
            BOMB_SIZE,
        )
        .finish()
        .unwrap(),
        Bomb::Parquet => parquet(),
        Bomb::Png => png(20_000),
        Bomb::ArrowMetadata => arrow_claiming_metadata(),
    }
}

/// `total` zero bytes written to `writer`, a megabyte at a time.
fn zeros_through<W: Write>(mut writer: W, total: usize) -> W {
    let zeros = vec![0u8; 1 << 20];
    let mut left = total;
    while left > 0 {
        let n = left.min(zeros.len());
        writer.write_all(&zeros[..n]).unwrap();
        left -= n;
    }
    writer
}

/// 1,024 row groups of 64 Ki Int64 zeros: each group is one batch as lakery writes
/// them, 512 KiB of values in a few hundred bytes of file.
fn parquet() -> Vec<u8> {
    let column: ArrayRef = Arc::new(Int64Array::from(vec![0i64; 64 * 1024]));
    let batch = RecordBatch::try_from_iter([("zero", column)]).unwrap();
    let batches = vec![batch; 1024];
    let bytes: Bytes = Serializer::<Vec<RecordBatch>>::serialize(&Parquet, &batches).unwrap();
    bytes.to_vec()
}

/// A grey PNG of `side` x `side` zero pixels, its one IDAT chunk a zlib stream of
/// unfiltered rows.
fn png(side: u32) -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    // 8 bits, grey, deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    let row = side as usize + 1;
    let pixels = zeros_through(
        flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast()),
        row * side as usize,
    )
    .finish()
    .unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", &header[..]),
        (b"IDAT", &pixels[..]),
        (b"IEND", &[][..]),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}

/// An Arrow IPC file of one small batch whose batch message's length prefix then claims
/// 2 GiB of metadata.
fn arrow_claiming_metadata() -> Vec<u8> {
    let column: ArrayRef = Arc::new(Int64Array::from(vec![1i64, 2, 3]));
    let batch = RecordBatch::try_from_iter([("x", column)]).unwrap();
    let mut file = Serializer::<RecordBatch>::serialize(&ArrowIpc, &batch)
        .unwrap()
        .to_vec();
    // A file starts `ARROW1` and two bytes of padding; a stream starts with its first
    // message. Each message: a continuation marker, its metadata's length, metadata.
    let schema_at = if file.starts_with(b"ARROW1") { 8 } else { 0 };
    let length = |at: usize| i32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap());
    let batch_at = schema_at + 8 + length(schema_at) as usize;
    file[batch_at + 4..batch_at + 8].copy_from_slice(&i32::MAX.to_le_bytes());
    file
}
