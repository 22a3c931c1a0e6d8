//! Decompression bombs: a few hundred kilobytes that decode to gigabytes, made as a
//! stream so that making one takes little memory.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use lakery::serializer::arrow_array::{ArrayRef, Int64Array, RecordBatch};
use lakery::serializer::{Parquet, Serializer};

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
