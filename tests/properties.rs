//! Property tests (proptest) of every built-in serializer: arbitrary values survive a
//! round trip, and arbitrary bytes given to deserialize give a value or an error, never
//! a panic. Streams are decoded from arbitrary pieces, as they arrive from storage.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use lakery::serializer::{
    ArrowIpc, Bincode, Csv, Iso8601, Jpeg, Json, JsonLines, MessagePack, MsgPack, Npy, Parquet,
    Png, RawBytes, RawChunks, Serializer, Stored, StreamSerializer, Text, TextLines,
};
use proptest::prelude::*;

#[path = "common/models.rs"]
mod models;
use models::{Row, Target, Value, ENCODINGS, KEYS, NAMES};

fn value() -> impl Strategy<Value = Value> {
    (
        any::<String>(),
        any::<i64>(),
        any::<f64>().prop_filter("finite, as JSON has it", |f| f.is_finite()),
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<Option<bool>>(),
        proptest::collection::btree_map(any::<String>(), any::<u32>(), 0..5),
    )
        .prop_map(|(name, count, ratio, bytes, flag, counts)| Value {
            name,
            count,
            ratio,
            bytes,
            flag,
            counts,
        })
}

fn row() -> impl Strategy<Value = Row> {
    (
        any::<String>(),
        any::<i64>(),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        any::<bool>(),
    )
        .prop_map(|(name, count, ratio, flag)| Row {
            name,
            count,
            ratio,
            flag,
        })
}

fn stored<'a, T, S: Serializer<T>>(serializer: &'a S) -> Stored<'a> {
    Stored {
        serializer_name: serializer.name(),
        serializer_config: None,
        content_type: serializer.content_type(),
    }
}

fn round_trip<T, S: Serializer<T>>(serializer: &S, value: &T) -> T {
    let bytes = serializer.serialize(value).expect("serializes");
    serializer
        .deserialize(bytes, &stored(serializer))
        .expect("reads back what it wrote")
}

/// Deserializes arbitrary bytes: any result will do, a panic fails the test.
fn survives<T, S: Serializer<T>>(serializer: &S, bytes: &[u8]) {
    let _ = serializer.deserialize(Bytes::copy_from_slice(bytes), &stored(serializer));
}

/// Decodes `bytes` with a stream serializer, fed in pieces cut at `cuts`.
fn decode_in_pieces<T, S: StreamSerializer<T>>(
    serializer: &S,
    bytes: &[u8],
    cuts: &[usize],
) -> Result<Vec<T>, lakery::serializer::SerializerError> {
    let config = serializer.config();
    let stored = Stored {
        serializer_name: serializer.name(),
        serializer_config: config.as_ref(),
        content_type: serializer.content_type(),
    };
    let mut decoder = serializer.decoder(&stored)?;
    let mut out = Vec::new();
    let mut input = bytes::BytesMut::new();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([bytes.len()]) {
        input.extend_from_slice(&bytes[at..cut.max(at)]);
        at = cut.max(at);
        decoder.decode(&mut input, at == bytes.len(), &mut out)?;
    }
    Ok(out)
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..2048)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn serde_values_round_trip(value in value()) {
        prop_assert_eq!(round_trip(&Json, &value), value.clone());
        prop_assert_eq!(round_trip(&MsgPack, &value), value.clone());
        prop_assert_eq!(round_trip(&Bincode, &value), value);
    }

    #[test]
    fn text_and_bytes_round_trip(text in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert_eq!(round_trip(&Text, &text), text);
        prop_assert_eq!(round_trip(&RawBytes, &bytes), bytes);
    }

    #[test]
    fn rows_round_trip_and_decode_from_any_pieces(
        rows in proptest::collection::vec(row(), 0..20),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        prop_assert_eq!(round_trip(&Csv, &rows), rows.clone());
        prop_assert_eq!(round_trip(&JsonLines, &rows), rows.clone());
        prop_assert_eq!(round_trip(&MessagePack, &rows), rows.clone());
        let csv = Serializer::<Vec<Row>>::serialize(&Csv, &rows).unwrap();
        let back: Vec<Row> = decode_in_pieces(&Csv, &csv, &cuts).unwrap();
        prop_assert_eq!(&back, &rows);
        let lines = Serializer::<Vec<Row>>::serialize(&JsonLines, &rows).unwrap();
        let back: Vec<Row> = decode_in_pieces(&JsonLines, &lines, &cuts).unwrap();
        prop_assert_eq!(&back, &rows);
        let packed = Serializer::<Vec<Row>>::serialize(&MessagePack, &rows).unwrap();
        let back: Vec<Row> = decode_in_pieces(&MessagePack, &packed, &cuts).unwrap();
        prop_assert_eq!(back, rows);
    }

    #[test]
    fn lines_and_chunks_decode_from_any_pieces(
        lines in proptest::collection::vec("[^\r\n]*", 0..20),
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..10),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        prop_assert_eq!(round_trip(&TextLines, &lines), lines.clone());
        let text = Serializer::<Vec<String>>::serialize(&TextLines, &lines).unwrap();
        let back: Vec<String> = decode_in_pieces(&TextLines, &text, &cuts).unwrap();
        prop_assert_eq!(back, lines);
        let raw: Vec<u8> = chunks.concat();
        let back: Vec<Bytes> = decode_in_pieces(&RawChunks, &raw, &cuts).unwrap();
        prop_assert_eq!(back.concat(), raw);
    }

    #[test]
    fn times_round_trip(seconds in -8_000_000_000i64..250_000_000_000, nanos in 0u32..1_000_000_000) {
        let time = chrono::DateTime::from_timestamp(seconds, nanos).unwrap();
        prop_assert_eq!(round_trip(&Iso8601, &time), time);
        prop_assert_eq!(round_trip(&Iso8601, &time.naive_utc()), time.naive_utc());
        prop_assert_eq!(round_trip(&Iso8601, &time.date_naive()), time.date_naive());
        prop_assert_eq!(round_trip(&Iso8601, &time.time()), time.time());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..4)) {
        survives::<Value, _>(&Json, &bytes);
        survives::<Value, _>(&MsgPack, &bytes);
        survives::<Value, _>(&Bincode, &bytes);
        survives::<String, _>(&Text, &bytes);
        survives::<Vec<Row>, _>(&Csv, &bytes);
        survives::<Vec<Row>, _>(&JsonLines, &bytes);
        survives::<Vec<Row>, _>(&MessagePack, &bytes);
        survives::<Vec<String>, _>(&TextLines, &bytes);
        survives::<chrono::DateTime<chrono::Utc>, _>(&Iso8601, &bytes);
        survives::<chrono::NaiveTime, _>(&Iso8601, &bytes);
        survives::<ndarray::Array2<f64>, _>(&Npy, &bytes);
        survives::<ndarray::ArrayD<i32>, _>(&Npy, &bytes);
        survives::<image::RgbImage, _>(&Png, &bytes);
        survives::<image::DynamicImage, _>(&Jpeg::default(), &bytes);
        survives::<RecordBatch, _>(&ArrowIpc, &bytes);
        survives::<RecordBatch, _>(&Parquet, &bytes);
        let _ = decode_in_pieces::<Row, _>(&Csv, &bytes, &cuts);
        let _ = decode_in_pieces::<Row, _>(&JsonLines, &bytes, &cuts);
        let _ = decode_in_pieces::<Row, _>(&MessagePack, &bytes, &cuts);
        let _ = decode_in_pieces::<String, _>(&TextLines, &bytes, &cuts);
        let _ = decode_in_pieces::<RecordBatch, _>(&ArrowIpc, &bytes, &cuts);
    }

    /// Bytes that begin as a valid file and then go wrong reach deeper into a parser
    /// than random ones.
    #[test]
    fn damaged_files_never_panic(at in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
        let batch = table(&[(1, Some("a")), (2, None), (3, Some("ccc"))]);
        let png = Serializer::<image::RgbImage>::serialize(&Png, &image::RgbImage::new(3, 2)).unwrap();
        let npy = Serializer::<ndarray::Array2<f64>>::serialize(&Npy, &ndarray::Array2::zeros((2, 3))).unwrap();
        for file in [
            Serializer::<RecordBatch>::serialize(&Parquet, &batch).unwrap(),
            Serializer::<RecordBatch>::serialize(&ArrowIpc, &batch).unwrap(),
            png,
            npy,
        ] {
            let mut damaged = file.to_vec();
            let at = at % damaged.len();
            damaged[at] = byte;
            damaged.truncate(cut % (damaged.len() + 1));
            survives::<RecordBatch, _>(&Parquet, &damaged);
            survives::<RecordBatch, _>(&ArrowIpc, &damaged);
            survives::<image::RgbImage, _>(&Png, &damaged);
            survives::<ndarray::Array2<f64>, _>(&Npy, &damaged);
        }
    }
}

fn table(rows: &[(i64, Option<&str>)]) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("label", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1))),
        ],
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arrays_images_and_tables_round_trip(
        (rows, cols) in (1usize..8, 1usize..8),
        seed in any::<u64>(),
        labels in proptest::collection::vec(proptest::option::of(any::<String>()), 0..40),
    ) {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state
        };
        // Any bit pattern, NaNs included: compared by bits.
        let array = ndarray::Array2::from_shape_fn((rows, cols), |_| f64::from_bits(next()));
        let back = round_trip(&Npy, &array);
        prop_assert_eq!(
            back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
            array.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
        );
        prop_assert_eq!(back.shape(), array.shape());

        let image = image::RgbImage::from_fn(cols as u32, rows as u32, |_, _| {
            let v = next().to_le_bytes();
            image::Rgb([v[0], v[1], v[2]])
        });
        prop_assert_eq!(round_trip(&Png, &image), image);

        let rows: Vec<(i64, Option<&str>)> = labels
            .iter()
            .map(|label| (next() as i64, label.as_deref()))
            .collect();
        let batch = table(&rows);
        prop_assert_eq!(round_trip(&ArrowIpc, &batch), batch.clone());
        prop_assert_eq!(round_trip(&Parquet, &batch), batch);
    }
}

/// Found by `arbitrary_bytes_never_panic`: bincode took a length prefix of 2^62 at its
/// word and aborted the process allocating it. Now an error.
#[test]
fn a_huge_claimed_length_is_an_error_not_an_abort() {
    // bincode's varint: 253 announces a u64 length; a string of 2^62 bytes.
    let hostile = [253u8, 0, 0, 0, 0, 0, 0, 0, 0x40];
    let error = Serializer::<String>::deserialize(
        &Bincode,
        Bytes::copy_from_slice(&hostile),
        &stored::<String, _>(&Bincode),
    )
    .unwrap_err();
    assert!(error.to_string().contains("claims more memory"), "{error}");
    let error = Serializer::<Value>::deserialize(
        &Bincode,
        Bytes::copy_from_slice(&hostile),
        &stored::<Value, _>(&Bincode),
    )
    .unwrap_err();
    assert!(error.to_string().contains("claims more memory"), "{error}");
    // serde reads a sequence element by element: the end of the bytes comes first.
    assert!(Serializer::<Vec<u64>>::deserialize(
        &Bincode,
        Bytes::copy_from_slice(&hostile),
        &stored::<Vec<u64>, _>(&Bincode),
    )
    .is_err());
    // A legitimate value well within the bound still reads.
    let many: Vec<Option<u64>> = vec![None; 100_000];
    assert_eq!(round_trip(&Bincode, &many), many);
}

// --- Repacking a struct from arbitrary contents ----------------------------------------

fn raw_content() -> impl Strategy<Value = lakery::testing::RawContent> {
    (
        prop_oneof![
            proptest::sample::select(KEYS).prop_map(str::to_owned),
            any::<String>()
        ],
        proptest::sample::select(NAMES),
        proptest::option::of(proptest::sample::select(ENCODINGS)),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            Just(br#"{"name":"n","count":3}"#.to_vec()),
            Just(br#"{"class_id":"5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b","version":1}"#.to_vec()),
            Just(b"name,count,ratio,flag\nx,1,0.5,true\n".to_vec()),
        ],
    )
        .prop_map(|(key, name, encoding, data)| lakery::testing::RawContent {
            key,
            content_type: "application/octet-stream".to_owned(),
            serializer_name: name.to_owned(),
            serializer_config: None,
            encoding: encoding.map(str::to_owned),
            data: Bytes::from(data),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the rows and bytes say, a struct's repacking gives a value or an
    /// error, never a panic, at every version.
    #[test]
    fn repacking_arbitrary_contents_never_panics(
        version in 0u32..4,
        contents in proptest::collection::vec(raw_content(), 0..12),
    ) {
        if let Ok(target) = lakery::testing::repack::<Target>(version, &contents) {
            // A stream is read when it is consumed: that too only errs.
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let _: Vec<_> = runtime.block_on(futures::StreamExt::collect::<Vec<_>>(target.stream));
        }
    }
}
