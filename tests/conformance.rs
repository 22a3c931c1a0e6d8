//! Every built-in storage and serializer through the conformance kit,
//! `lakery::testing`; and the kit catching a storage that breaks the rules.

use std::collections::BTreeMap;

use bytes::Bytes;
use lakery::serializer::{image, ndarray};
use lakery::serializer::{
    Bincode, Csv, CsvOptions, Iso8601, Jpeg, Json, JsonLines, MessagePack, MsgPack, Npy, Png,
    RawBytes, RawChunks, Serializer, Text, TextLines,
};
use lakery::storage::{StorageError, WriteRequest};
use lakery::testing::{check_serializer, check_storage, check_stream_serializer};
use lakery::{FileStorage, MemoryStorage, Storage};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    name: String,
    score: Option<f64>,
}

fn records() -> Vec<Record> {
    (0..200)
        .map(|id| Record {
            id,
            name: match id % 3 {
                0 => format!("item_{id}"),
                1 => format!("comma, \"quote\"\nnewline {id}"),
                _ => "ünïcødé".to_owned(),
            },
            score: (id % 2 == 0).then_some(id as f64 * 1.5),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_file_storage_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let storage = FileStorage::new(dir.path()).unwrap();
    if let Err(failures) = check_storage(&storage).await {
        panic!("{failures}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memory_storage_conforms() {
    if let Err(failures) = check_storage(&MemoryStorage::new()).await {
        panic!("{failures}");
    }
}

#[test]
fn the_value_serializers_conform() {
    let record = records().remove(1);
    check_serializer(
        &Json,
        &[
            record.clone(),
            Record {
                id: 0,
                name: String::new(),
                score: None,
            },
        ],
    )
    .unwrap();
    check_serializer(&Bincode, std::slice::from_ref(&record)).unwrap();
    let map = BTreeMap::from([("lr".to_owned(), 0.1), ("nan-free".to_owned(), f64::MAX)]);
    check_serializer(&Json, std::slice::from_ref(&map)).unwrap();
    check_serializer(&Bincode, &[map]).unwrap();
    check_serializer(&RawBytes, &[Vec::new(), vec![0u8, 255, 7]]).unwrap();
    check_serializer(&RawBytes, &[Bytes::new(), Bytes::from_static(b"bytes")]).unwrap();
    check_serializer(&Text, &[String::new(), "ünïcødé\ntext".to_owned()]).unwrap();
    check_serializer(&JsonLines, &[records(), Vec::new()]).unwrap();
    check_serializer(&Csv, &[records()]).unwrap();
    check_serializer(&MessagePack, &[records()]).unwrap();
    check_serializer(&TextLines, &[vec!["a".to_owned(), "b c".to_owned()]]).unwrap();
    check_serializer(&MsgPack, std::slice::from_ref(&record)).unwrap();
    check_serializer(&MsgPack, &[records()]).unwrap();
    let instant: chrono::DateTime<chrono::Utc> = "2026-11-29T12:00:00.5Z".parse().unwrap();
    check_serializer(&Iso8601, &[instant, chrono::DateTime::UNIX_EPOCH]).unwrap();
    check_serializer(&Iso8601, &[instant.fixed_offset()]).unwrap();
    check_serializer(&Iso8601, &[instant.naive_utc()]).unwrap();
    check_serializer(&Iso8601, &[instant.date_naive()]).unwrap();
    check_serializer(&Iso8601, &[instant.time()]).unwrap();
    let plot = image::RgbaImage::from_fn(16, 9, |x, y| {
        image::Rgba([x as u8 * 16, y as u8 * 28, 7, 200])
    });
    check_serializer(&Png, &[plot, image::RgbaImage::new(1, 1)]).unwrap();
    let grid = ndarray::Array2::from_shape_fn((4, 3), |(i, j)| i as f64 - j as f64 / 3.0);
    check_serializer(&Npy, &[grid, ndarray::Array2::zeros((0, 5))]).unwrap();
}

#[test]
fn the_stream_serializers_conform() {
    check_stream_serializer(&JsonLines, &records()).unwrap();
    check_stream_serializer(&Csv, &records()).unwrap();
    const TSV: CsvOptions = CsvOptions::new().delimiter(b'\t').has_headers(false);
    check_stream_serializer(&TSV, &records()).unwrap();
    check_stream_serializer(&MessagePack, &records()).unwrap();
    let lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
    check_stream_serializer(&TextLines, &lines).unwrap();
    // Raw chunks come back cut wherever the pieces fall; the kit compares their bytes.
    let chunks: Vec<Bytes> = (0..20u8).map(|i| Bytes::from(vec![i; 333])).collect();
    check_stream_serializer(&RawChunks, &chunks).unwrap();
}

/// A stream serializer whose decoder drops every other item: the kit must notice.
struct Lossy;

impl lakery::serializer::StreamSerializer<String> for Lossy {
    fn name(&self) -> &str {
        "test.lossy@v1"
    }
    fn content_type(&self) -> &str {
        "text/plain"
    }
    fn encoder(&self) -> Box<dyn lakery::serializer::StreamEncoder<String>> {
        lakery::serializer::StreamSerializer::<String>::encoder(&TextLines)
    }
    fn decoder(
        &self,
        stored: &lakery::serializer::Stored<'_>,
    ) -> Result<
        Box<dyn lakery::serializer::StreamDecoder<String>>,
        lakery::serializer::SerializerError,
    > {
        struct DropOdd(Box<dyn lakery::serializer::StreamDecoder<String>>);
        impl lakery::serializer::StreamDecoder<String> for DropOdd {
            fn decode(
                &mut self,
                input: &mut bytes::BytesMut,
                end: bool,
                out: &mut Vec<String>,
            ) -> Result<(), lakery::serializer::SerializerError> {
                let mut all = Vec::new();
                self.0.decode(input, end, &mut all)?;
                out.extend(
                    all.into_iter()
                        .filter(|line| !line.ends_with(['1', '3', '5', '7', '9'])),
                );
                Ok(())
            }
        }
        Ok(Box::new(DropOdd(TextLines.decoder(stored)?)))
    }
}

#[test]
fn the_kit_catches_a_stream_serializer_that_loses_items() {
    let lines: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
    let failures = check_stream_serializer(&Lossy, &lines).unwrap_err();
    assert!(
        failures.to_string().contains("round trip, whole"),
        "{failures}"
    );
}

/// A storage that forgets what it is given after the first kilobyte, and panics on
/// nothing: the kit must notice.
#[derive(Default)]
struct Forgetful(MemoryStorage);

#[async_trait::async_trait]
impl Storage for Forgetful {
    async fn write(&self, request: WriteRequest<'_>) -> Result<serde_json::Value, StorageError> {
        let data = request.data().slice(..request.data().len().min(1024));
        let digest = lakery::Digest::of(&data);
        self.0
            .write(WriteRequest::new(data, digest, request.tags()))
            .await
    }

    async fn read(&self, config: &serde_json::Value) -> Result<Bytes, StorageError> {
        self.0.read(config).await
    }

    async fn delete(&self, config: &serde_json::Value) -> Result<(), StorageError> {
        self.0.delete(config).await
    }

    async fn exists(&self, config: &serde_json::Value) -> Result<bool, StorageError> {
        self.0.exists(config).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kit_catches_a_storage_that_loses_bytes() {
    let failures = check_storage(&Forgetful::default()).await.unwrap_err();
    let text = failures.to_string();
    assert!(text.contains("large value round trip"), "{text}");
    assert!(text.contains("large stream round trip"), "{text}");
    assert!(!text.contains("small value round trip"), "{text}");
}

/// A PNG lakery wrote earlier: a change that cannot read it fails here.
/// `LAKERY_WRITE_FIXTURES=1` writes it anew, when the format changes on purpose.
#[test]
fn a_fixed_earlier_png_still_reads() {
    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/plot.png");
    let plot = image::RgbaImage::from_fn(6, 4, |x, y| {
        image::Rgba([x as u8 * 40, y as u8 * 60, 255 - x as u8, 128 + y as u8])
    });
    if std::env::var("LAKERY_WRITE_FIXTURES").is_ok_and(|v| v == "1") {
        std::fs::write(FIXTURE, Png.serialize(&plot).unwrap()).unwrap();
    }
    let stored = lakery::serializer::Stored {
        serializer_name: "lakery.png@v1",
        serializer_config: None,
        content_type: "image/png",
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    };
    let bytes = Bytes::from(std::fs::read(FIXTURE).unwrap());
    let back: image::RgbaImage = Png.deserialize(bytes, &stored).unwrap();
    assert_eq!(back, plot);
}

/// A JPEG lakery wrote earlier: it still decodes, to about its pixels.
#[test]
fn a_fixed_earlier_jpeg_still_reads() {
    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/photo.jpg");
    let photo =
        image::RgbImage::from_fn(32, 16, |x, y| image::Rgb([x as u8 * 8, y as u8 * 16, 128]));
    if std::env::var("LAKERY_WRITE_FIXTURES").is_ok_and(|v| v == "1") {
        std::fs::write(FIXTURE, Jpeg::default().serialize(&photo).unwrap()).unwrap();
    }
    let stored = lakery::serializer::Stored {
        serializer_name: "lakery.jpeg@v1",
        serializer_config: None,
        content_type: "image/jpeg",
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    };
    let bytes = Bytes::from(std::fs::read(FIXTURE).unwrap());
    let back: image::RgbImage = Jpeg::default().deserialize(bytes, &stored).unwrap();
    assert_eq!(back.dimensions(), (32, 16));
    let error: u32 = back
        .as_raw()
        .iter()
        .zip(photo.as_raw())
        .map(|(a, b)| u32::from(a.abs_diff(*b)))
        .max()
        .unwrap();
    assert!(error < 24, "largest difference {error}");
}
