//! Every stream decoder on arbitrary bytes fed in arbitrary pieces, as chunks arrive
//! from a storage: items or an error, never a panic.
#![no_main]

use arrow_array::RecordBatch;
use bytes::{Bytes, BytesMut};
use lakery::serializer::{
    ArrowIpc, Csv, JsonLines, MessagePack, Parquet, RawChunks, Stored, StreamSerializer, TextLines,
};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/models.rs"]
mod models;
use models::Row;

fn run<T, S: StreamSerializer<T>>(serializer: &S, piece: usize, data: &[u8]) {
    let config = serializer.config();
    let stored = Stored {
        serializer_name: serializer.name(),
        serializer_config: config.as_ref(),
        content_type: serializer.content_type(),
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
    let _ = Bytes::new();
}

fuzz_target!(|input: &[u8]| {
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
});
