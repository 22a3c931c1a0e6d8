//! Every value deserializer on arbitrary bytes: a value or an error, never a panic or
//! an abort. The first byte picks the serializer.
#![no_main]

use arrow_array::RecordBatch;
use bytes::Bytes;
use lakery::serializer::{
    ArrowIpc, Bincode, Csv, Iso8601, Jpeg, Json, JsonLines, MessagePack, MsgPack, Npy, Parquet,
    Png, RawBytes, Serializer, Stored, Text, TextLines,
};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/models.rs"]
mod models;
use models::{Row, Value};

fn run<T, S: Serializer<T>>(serializer: &S, data: &[u8]) {
    let stored = Stored {
        serializer_name: serializer.name(),
        serializer_config: None,
        content_type: serializer.content_type(),
    };
    let _ = serializer.deserialize(Bytes::copy_from_slice(data), &stored);
}

fuzz_target!(|input: &[u8]| {
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
});
