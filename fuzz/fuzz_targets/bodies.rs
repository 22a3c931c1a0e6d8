//! The bodies of the fuzz targets, one function each, shared with the property tests
//! (`tests/properties.rs`), which run them over the seed corpus (`fuzz/seeds/`) in
//! every `cargo test`: a crash a seed shows fails there too, without libFuzzer.
//! Each includer declares `mod models` (`tests/common/models.rs`) at its root.
// Each fuzz target calls one body of three.
#![allow(dead_code)]

use arrow_array::RecordBatch;
use bytes::{Bytes, BytesMut};
use lakery::serializer::{
    ArrowIpc, Bincode, Csv, Iso8601, Jpeg, Json, JsonLines, MessagePack, MsgPack, Npy, Parquet,
    Png, RawBytes, RawChunks, Serializer, Stored, StreamSerializer, Text, TextLines,
};

use crate::models::{self, Row, Target, Value};

/// Every value deserializer on arbitrary bytes: a value or an error, never a panic or
/// an abort. The first byte picks the serializer.
pub fn deserialize(input: &[u8]) {
    fn run<T, S: Serializer<T>>(serializer: &S, data: &[u8]) {
        let stored = Stored {
            serializer_name: serializer.name(),
            serializer_config: None,
            content_type: serializer.content_type(),
            max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
        };
        let _ = serializer.deserialize(Bytes::copy_from_slice(data), &stored);
    }
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    match pick % 16 {
        0 => run::<Value, _>(&Json, data),
        1 => run::<Value, _>(&MsgPack, data),
        2 => run::<Value, _>(&Bincode, data),
        3 => run::<String, _>(&Text, data),
        4 => run::<Vec<u8>, _>(&RawBytes, data),
        5 => run::<Vec<Row>, _>(&Csv, data),
        6 => run::<Vec<Row>, _>(&JsonLines, data),
        7 => run::<Vec<Row>, _>(&MessagePack, data),
        8 => run::<Vec<String>, _>(&TextLines, data),
        9 => run::<chrono::DateTime<chrono::Utc>, _>(&Iso8601, data),
        10 => run::<ndarray::ArrayD<f64>, _>(&Npy, data),
        11 => run::<ndarray::Array2<u8>, _>(&Npy, data),
        12 => run::<image::DynamicImage, _>(&Png, data),
        13 => run::<image::DynamicImage, _>(&Jpeg::default(), data),
        14 => run::<RecordBatch, _>(&ArrowIpc, data),
        _ => run::<RecordBatch, _>(&Parquet, data),
    }
}

/// Every stream decoder on arbitrary bytes fed in pieces, as chunks arrive from a
/// storage: items or an error, never a panic. The first byte picks the decoder, the
/// second the size of the pieces.
pub fn stream_decode(input: &[u8]) {
    fn run<T, S: StreamSerializer<T>>(serializer: &S, piece: usize, data: &[u8]) {
        let config = serializer.config();
        let stored = Stored {
            serializer_name: serializer.name(),
            serializer_config: config.as_ref(),
            content_type: serializer.content_type(),
            max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
        };
        let Ok(mut decoder) = serializer.decoder(&stored) else {
            return;
        };
        let mut input = BytesMut::new();
        let mut out = Vec::new();
        let pieces: Vec<&[u8]> = data.chunks(piece.max(1)).collect();
        for (n, chunk) in pieces.iter().enumerate() {
            input.extend_from_slice(chunk);
            if decoder
                .decode(&mut input, n + 1 == pieces.len(), &mut out)
                .is_err()
            {
                return;
            }
        }
        if pieces.is_empty() {
            let _ = decoder.decode(&mut input, true, &mut out);
        }
    }
    let Some((&[pick, piece], data)) = input.split_first_chunk::<2>() else {
        return;
    };
    let piece = usize::from(piece) + 1;
    match pick % 7 {
        0 => run::<Row, _>(&Csv, piece, data),
        1 => run::<Row, _>(&JsonLines, piece, data),
        2 => run::<Row, _>(&MessagePack, piece, data),
        3 => run::<String, _>(&TextLines, piece, data),
        4 => run::<Bytes, _>(&RawChunks, piece, data),
        5 => run::<RecordBatch, _>(&ArrowIpc, piece, data),
        _ => run::<RecordBatch, _>(&Parquet, piece, data),
    }
}

/// Repacking a struct (body, containers, nested, compressed, streamed contents, and a
/// migration from an older version) from arbitrary stored contents, framed as
/// `models::unframe` reads them: a value or an error, never a panic.
pub fn repack(input: &[u8]) {
    let (version, contents) = models::unframe(input);
    if let Ok(target) = lakery::testing::repack::<Target>(version % 4, &contents) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime builds");
        let _ = runtime.block_on(futures::StreamExt::collect::<Vec<_>>(target.stream));
    }
}
