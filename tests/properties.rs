//! Property tests (proptest) of every built-in serializer: arbitrary values survive a
//! round trip, and arbitrary bytes given to deserialize give a value or an error, never
//! a panic. Streams decode the same in arbitrary pieces, as they arrive from storage, as
//! whole. A struct repacked from valid contents with one thing changed gives the value,
//! or the error that names what changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, ListArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use lakery::serializer::{
    ArrowIpc, Bincode, Csv, Iso8601, Jpeg, Json, JsonLines, MessagePack, MsgPack, Npy, Parquet,
    Png, RawBytes, RawChunks, Serializer, Stored, StreamSerializer, Text, TextLines,
};
use lakery::testing::RawContent;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};

#[path = "../fuzz/fuzz_targets/bodies.rs"]
mod bodies;
#[path = "common/models.rs"]
mod models;
#[path = "../fuzz/fuzz_targets/query_body.rs"]
mod query_body;
use models::{Bits, Kind, Level, Row, Target, Value, ENCODINGS, KEYS, NAMES};

// --- Strategies -------------------------------------------------------------------------

/// Characters that formats quote, escape, strip or split on, and the edges of UTF-8.
const TRICKY: &[char] = &[
    '\0',
    '\t',
    '\n',
    '\r',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '"',
    '\'',
    ',',
    ';',
    '\\',
    '#',
    ' ',
    '\u{2028}',
    '\u{feff}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10000}',
    '\u{1f600}',
    '\u{10ffff}',
    'é',
    '\u{301}',
];

/// Strings of every kind: empty, short and printable (proptest's default), any `char`
/// (control characters and beyond the BMP included), runs of the characters formats
/// treat specially, and long ones.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => any::<String>(),
        3 => vec(any::<char>(), 0..48).prop_map(String::from_iter),
        3 => vec(prop_oneof![select(TRICKY), any::<char>()], 0..24).prop_map(String::from_iter),
        1 => vec(any::<char>(), 0..3000).prop_map(String::from_iter),
    ]
    .boxed()
}

/// Every `f64`: infinities, signed zeros, subnormals and NaNs of every payload.
fn any_float() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>(),
        select(
            &[
                f64::NAN,
                -f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.0,
                0.0,
                f64::MIN_POSITIVE,
                5e-324,
                f64::MAX,
                f64::MIN,
            ][..]
        ),
        any::<u64>().prop_map(f64::from_bits),
    ]
    .boxed()
}

/// The floats JSON keeps: it has no NaN nor infinity.
fn finite_float() -> BoxedStrategy<f64> {
    any_float()
        .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
        .boxed()
}

/// The floats CSV keeps: every NaN is written `NaN`, so its sign and payload are lost.
fn csv_float() -> BoxedStrategy<f64> {
    any_float()
        .prop_map(|f| if f.is_nan() { f64::NAN } else { f })
        .boxed()
}

/// Bytes, mostly short, sometimes many KiB, now and then a quarter of a MiB (the long
/// ones from a seed, as proptest would build a tree of a value per byte).
fn bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..256),
        2 => vec(any::<u8>(), 0..8192),
        1 => (0usize..(256 << 10), any::<u64>()).prop_map(|(len, seed)| noise(seed, len)),
    ]
    .boxed()
}

/// `len` pseudo-random bytes from `seed`.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn kind(float: BoxedStrategy<f64>) -> BoxedStrategy<Kind> {
    prop_oneof![
        Just(Kind::Unit),
        text().prop_map(Kind::Newtype),
        (any::<i8>(), float).prop_map(|(a, b)| Kind::Tuple(a, Bits(b))),
        (any::<u16>(), vec(text(), 0..4)).prop_map(|(id, tags)| Kind::Struct { id, tags }),
    ]
    .prop_recursive(3, 4, 1, |inner| {
        inner.prop_map(|kind| Kind::Boxed(Box::new(kind)))
    })
    .boxed()
}

/// A value and its children, three levels deep at most, with `float` for every float.
fn value(float: fn() -> BoxedStrategy<f64>) -> BoxedStrategy<Value> {
    let flat = (
        (text(), any::<i64>(), float(), vec(any::<u8>(), 0..64)),
        (
            any::<Option<bool>>(),
            proptest::collection::btree_map(text(), any::<u32>(), 0..4),
            kind(float()),
            vec(vec(any::<i32>(), 0..4), 0..4),
            (any::<u64>(), any::<char>()),
        ),
    )
        .prop_map(
            |((name, count, ratio, bytes), (flag, counts, kind, grid, pair))| Value {
                name,
                count,
                ratio: Bits(ratio),
                bytes,
                flag,
                counts,
                kind,
                grid,
                pair,
                children: Vec::new(),
            },
        );
    flat.clone()
        .prop_recursive(3, 16, 4, move |inner| {
            (flat.clone(), vec(inner, 0..4)).prop_map(|(mut value, children)| {
                value.children = children;
                value
            })
        })
        .boxed()
}

fn row(float: fn() -> BoxedStrategy<f64>) -> BoxedStrategy<Row> {
    (
        text(),
        any::<i64>(),
        float(),
        any::<bool>(),
        any::<Option<u32>>(),
        select(&[Level::Low, Level::High][..]),
    )
        .prop_map(|(name, count, ratio, flag, note, level)| Row {
            name,
            count,
            ratio: Bits(ratio),
            flag,
            note,
            level,
        })
        .boxed()
}

/// No rows, a few, or some hundreds.
fn rows(float: fn() -> BoxedStrategy<f64>) -> BoxedStrategy<Vec<Row>> {
    prop_oneof![
        4 => vec(row(float), 0..8),
        1 => vec(row(float), 0..300),
    ]
    .boxed()
}

/// Where to cut bytes into pieces: anywhere, or after every byte.
fn cuts() -> BoxedStrategy<Cuts> {
    prop_oneof![
        4 => vec(any::<usize>(), 0..8).prop_map(Cuts::At),
        1 => Just(Cuts::EveryByte),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum Cuts {
    /// Cut at these offsets, each taken modulo the length plus one.
    At(Vec<usize>),
    EveryByte,
}

impl Cuts {
    /// The ends of the pieces of `len` bytes, the last at `len`.
    fn ends(&self, len: usize) -> Vec<usize> {
        let mut ends: Vec<usize> = match self {
            Cuts::At(at) => at.iter().map(|c| c % (len + 1)).collect(),
            Cuts::EveryByte => (1..len).collect(),
        };
        ends.push(len);
        ends.sort_unstable();
        ends
    }
}

// --- Helpers ----------------------------------------------------------------------------

fn stored<'a, T, S: Serializer<T>>(serializer: &'a S) -> Stored<'a> {
    Stored {
        serializer_name: serializer.name(),
        serializer_config: None,
        content_type: serializer.content_type(),
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
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

/// Decodes `bytes` with a stream serializer, fed in the pieces `cuts` makes; the last
/// call, and only it, says the input ended.
fn decode_in_pieces<T, S: StreamSerializer<T>>(
    serializer: &S,
    bytes: &[u8],
    cuts: &Cuts,
) -> Result<Vec<T>, lakery::serializer::SerializerError> {
    let config = serializer.config();
    let stored = Stored {
        serializer_name: serializer.name(),
        serializer_config: config.as_ref(),
        content_type: serializer.content_type(),
        max_decoded_size: lakery::DEFAULT_MAX_DECODED_SIZE,
    };
    let mut decoder = serializer.decoder(&stored)?;
    let mut out = Vec::new();
    let mut input = bytes::BytesMut::new();
    let mut at = 0;
    for end in cuts.ends(bytes.len()) {
        input.extend_from_slice(&bytes[at..end]);
        at = end;
        decoder.decode(&mut input, at == bytes.len(), &mut out)?;
        if at == bytes.len() {
            break;
        }
    }
    Ok(out)
}

/// Decodes `bytes` whole, in one call.
fn decode_whole<T, S: StreamSerializer<T>>(
    serializer: &S,
    bytes: &[u8],
) -> Result<Vec<T>, lakery::serializer::SerializerError> {
    decode_in_pieces(serializer, bytes, &Cuts::At(Vec::new()))
}

/// Decoding in pieces gives what decoding whole gives: the same items, or an error
/// both ways. `same` compares the items (raw chunks fall where the pieces do, so they
/// compare concatenated).
fn pieces_agree<T: std::fmt::Debug, S: StreamSerializer<T>>(
    serializer: &S,
    bytes: &[u8],
    cuts: &Cuts,
    same: impl Fn(&[T], &[T]) -> bool,
) -> Result<(), TestCaseError> {
    let whole = decode_whole(serializer, bytes);
    let pieces = decode_in_pieces(serializer, bytes, cuts);
    match (&whole, &pieces) {
        (Ok(whole), Ok(pieces)) => prop_assert!(
            same(whole, pieces),
            "{}: whole gave {whole:?}, pieces {pieces:?}",
            serializer.name()
        ),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(
            false,
            "{}: whole gave {whole:?}, in pieces {:?} gave {pieces:?}",
            serializer.name(),
            cuts.ends(bytes.len())
        ),
    }
    Ok(())
}

/// `bytes` with one thing changed: a byte, a byte inserted or removed, or cut short.
fn damage(bytes: &[u8], how: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut damaged = bytes.to_vec();
    let at = at % (damaged.len() + 1);
    match how % 4 {
        0 if at < damaged.len() => damaged[at] ^= byte.max(1),
        1 => damaged.insert(at, byte),
        2 if at < damaged.len() => {
            damaged.remove(at);
        }
        _ => damaged.truncate(at),
    }
    damaged
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..2048)
}

// --- Round trips ------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Nested values, enums, any string; every float bit kept where the format keeps
    /// it (bincode, MessagePack), finite ones for JSON.
    #[test]
    fn serde_values_round_trip(json in value(finite_float), any in value(any_float)) {
        prop_assert_eq!(round_trip(&Json, &json), json);
        prop_assert_eq!(round_trip(&MsgPack, &any), any.clone());
        prop_assert_eq!(round_trip(&Bincode, &any), any);
    }

    #[test]
    fn text_and_bytes_round_trip(text in text(), bytes in bytes()) {
        prop_assert_eq!(round_trip(&Text, &text), text);
        prop_assert_eq!(round_trip(&RawBytes, &bytes), bytes.clone());
        let back: Vec<Bytes> = decode_in_pieces(&RawChunks, &bytes, &Cuts::At(vec![bytes.len() / 3])).unwrap();
        prop_assert_eq!(back.concat(), bytes);
    }

    #[test]
    fn rows_round_trip_and_decode_from_any_pieces(
        csv in rows(csv_float),
        json in rows(finite_float),
        any in rows(any_float),
        cuts in cuts(),
    ) {
        prop_assert_eq!(round_trip(&Csv, &csv), csv.clone());
        prop_assert_eq!(round_trip(&JsonLines, &json), json.clone());
        prop_assert_eq!(round_trip(&MessagePack, &any), any.clone());
        let bytes = Serializer::<Vec<Row>>::serialize(&Csv, &csv).unwrap();
        prop_assert_eq!(decode_in_pieces::<Row, _>(&Csv, &bytes, &cuts).unwrap(), csv);
        let bytes = Serializer::<Vec<Row>>::serialize(&JsonLines, &json).unwrap();
        prop_assert_eq!(decode_in_pieces::<Row, _>(&JsonLines, &bytes, &cuts).unwrap(), json);
        let bytes = Serializer::<Vec<Row>>::serialize(&MessagePack, &any).unwrap();
        prop_assert_eq!(decode_in_pieces::<Row, _>(&MessagePack, &bytes, &cuts).unwrap(), any);
    }

    /// Lines hold anything but a line end, and do not end in `\r` (`TextLines` refuses
    /// to write those).
    #[test]
    fn lines_and_chunks_decode_from_any_pieces(
        lines in vec(text().prop_map(|line| line.replace('\n', " ").trim_end_matches('\r').to_owned()), 0..40),
        raw in bytes(),
        cuts in cuts(),
    ) {
        prop_assert_eq!(round_trip(&TextLines, &lines), lines.clone());
        let text = Serializer::<Vec<String>>::serialize(&TextLines, &lines).unwrap();
        let back: Vec<String> = decode_in_pieces(&TextLines, &text, &cuts).unwrap();
        prop_assert_eq!(back, lines);
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
}

// --- Decoding in pieces equals decoding whole --------------------------------------------

/// What a stream decoder is given: arbitrary bytes, or a valid stream with one thing
/// changed, which reaches further into the decoder.
fn stream_input(valid: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        1 => arbitrary_bytes(),
        1 => valid.clone(),
        2 => (valid, any::<u8>(), any::<usize>(), any::<u8>())
            .prop_map(|(bytes, how, at, byte)| damage(&bytes, how, at, byte)),
    ]
    .boxed()
}

fn encoded_rows<S: Serializer<Vec<Row>> + 'static>(
    serializer: S,
    float: fn() -> BoxedStrategy<f64>,
) -> BoxedStrategy<Vec<u8>> {
    rows(float)
        .prop_map(move |rows| serializer.serialize(&rows).unwrap().to_vec())
        .boxed()
}

fn encoded_tables() -> BoxedStrategy<Vec<u8>> {
    (vec(table_row(), 0..20), 0usize..3)
        .prop_map(|(rows, batches)| {
            let batches: Vec<RecordBatch> = (0..batches).map(|_| table(&rows)).collect();
            Serializer::<Vec<RecordBatch>>::serialize(&ArrowIpc, &batches)
                .unwrap()
                .to_vec()
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// A stream decoder keeps its state between pieces: cut anywhere, even after every
    /// byte, it gives the items it gives the whole, or fails as the whole does.
    #[test]
    fn decoding_in_pieces_equals_decoding_whole(
        csv in stream_input(encoded_rows(Csv, csv_float)),
        json in stream_input(encoded_rows(JsonLines, finite_float)),
        packed in stream_input(encoded_rows(MessagePack, any_float)),
        values in stream_input(
            vec(value(any_float), 0..4)
                .prop_map(|values| Serializer::<Vec<Value>>::serialize(&MessagePack, &values).unwrap().to_vec())
                .boxed()
        ),
        lines in stream_input(vec(text(), 0..10).prop_map(|lines| lines.join("\r\n").into_bytes()).boxed()),
        tables in stream_input(encoded_tables()),
        cuts in cuts(),
    ) {
        let equal = |a: &[Row], b: &[Row]| a == b;
        pieces_agree(&Csv, &csv, &cuts, equal)?;
        pieces_agree(&JsonLines, &json, &cuts, equal)?;
        pieces_agree(&MessagePack, &packed, &cuts, equal)?;
        pieces_agree(&MessagePack, &values, &cuts, |a: &[Value], b: &[Value]| a == b)?;
        pieces_agree(&TextLines, &lines, &cuts, |a: &[String], b: &[String]| a == b)?;
        pieces_agree(&RawChunks, &lines, &cuts, |a: &[Bytes], b: &[Bytes]| a.concat() == b.concat())?;
        pieces_agree(&ArrowIpc, &tables, &cuts, |a: &[RecordBatch], b: &[RecordBatch]| a == b)?;
    }
}

// --- Hostile bytes ----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes(), cuts in cuts()) {
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
        let _ = decode_in_pieces::<RecordBatch, _>(&Parquet, &bytes, &cuts);
    }

    /// Bytes that begin as a valid file and then go wrong reach deeper into a parser
    /// than random ones.
    #[test]
    fn damaged_files_never_panic(how in any::<u8>(), at in any::<usize>(), byte in any::<u8>()) {
        let batch = table(&[(1, Some("a"), 0.5, Some(vec![1])), (2, None, f64::NAN, None), (3, Some("ccc"), -0.0, Some(vec![]))]);
        let png = Serializer::<image::RgbImage>::serialize(&Png, &image::RgbImage::new(3, 2)).unwrap();
        let npy = Serializer::<ndarray::Array2<f64>>::serialize(&Npy, &ndarray::Array2::zeros((2, 3))).unwrap();
        let value = value_sample();
        for file in [
            Serializer::<RecordBatch>::serialize(&Parquet, &batch).unwrap(),
            Serializer::<RecordBatch>::serialize(&ArrowIpc, &batch).unwrap(),
            png,
            npy,
            Serializer::<Value>::serialize(&Bincode, &value).unwrap(),
            Serializer::<Value>::serialize(&MsgPack, &value).unwrap(),
            Serializer::<Value>::serialize(&Json, &value).unwrap(),
        ] {
            let damaged = damage(&file, how, at, byte);
            survives::<RecordBatch, _>(&Parquet, &damaged);
            survives::<RecordBatch, _>(&ArrowIpc, &damaged);
            survives::<image::RgbImage, _>(&Png, &damaged);
            survives::<ndarray::Array2<f64>, _>(&Npy, &damaged);
            survives::<Value, _>(&Bincode, &damaged);
            survives::<Value, _>(&MsgPack, &damaged);
            survives::<Value, _>(&Json, &damaged);
        }
    }
}

/// A value with every shape filled in, for damaged-file tests and the seed corpus.
fn value_sample() -> Value {
    let leaf = Value {
        name: "leaf\u{0}\n\u{1f600}".to_owned(),
        count: -1,
        ratio: Bits(f64::NAN),
        bytes: vec![0, 255],
        flag: None,
        counts: BTreeMap::new(),
        kind: Kind::Boxed(Box::new(Kind::Tuple(-3, Bits(f64::INFINITY)))),
        grid: vec![vec![], vec![1, -2]],
        pair: (u64::MAX, '\u{10ffff}'),
        children: Vec::new(),
    };
    Value {
        name: "root".to_owned(),
        count: i64::MIN,
        ratio: Bits(0.25),
        bytes: b"abc".to_vec(),
        flag: Some(true),
        counts: BTreeMap::from([("a".to_owned(), 1), ("b\u{7f}".to_owned(), 2)]),
        kind: Kind::Struct {
            id: 7,
            tags: vec!["x".to_owned(), String::new()],
        },
        grid: Vec::new(),
        pair: (0, 'é'),
        children: vec![
            leaf.clone(),
            Value {
                kind: Kind::Unit,
                ..leaf
            },
        ],
    }
}

fn table_row() -> impl Strategy<Value = TableRow<String>> {
    (
        any::<i64>(),
        proptest::option::of(text()),
        any_float(),
        proptest::option::of(vec(any::<i32>(), 0..4)),
    )
}

/// A row of `table`: an id, a label, a score and a list.
type TableRow<S> = (i64, Option<S>, f64, Option<Vec<i32>>);

/// A table of ids, nullable labels, floats (NaN included) and nullable lists, of any
/// length, none included.
fn table<S: AsRef<str>>(rows: &[TableRow<S>]) -> RecordBatch {
    let item = Arc::new(Field::new("item", DataType::Int32, true));
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("label", DataType::Utf8, true),
            Field::new("score", DataType::Float64, false),
            Field::new("list", DataType::List(item), true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.as_ref()))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(ListArray::from_iter_primitive::<
                arrow_array::types::Int32Type,
                _,
                _,
            >(rows.iter().map(|r| {
                r.3.as_ref()
                    .map(|list| list.iter().map(|v| Some(*v)).collect::<Vec<_>>())
            }))),
        ],
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Arrays of any dimension and shape, empty ones included, of floats (every bit
    /// pattern, compared by bits), integers and booleans, in C and Fortran order.
    #[test]
    fn arrays_round_trip(
        shape in vec(0usize..6, 0..4),
        seed in any::<u64>(),
        transposed in any::<bool>(),
    ) {
        let mut next = generator(seed);
        let floats = ndarray::ArrayD::from_shape_fn(shape.clone(), |_| f64::from_bits(next()));
        let floats = if transposed { floats.reversed_axes() } else { floats };
        let back: ndarray::ArrayD<f64> = round_trip(&Npy, &floats);
        prop_assert_eq!(back.shape(), floats.shape());
        prop_assert_eq!(
            back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
            floats.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
        );
        let singles = ndarray::ArrayD::from_shape_fn(shape.clone(), |_| f32::from_bits(next() as u32));
        let back: ndarray::ArrayD<f32> = round_trip(&Npy, &singles);
        prop_assert_eq!(
            back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
            singles.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
        );
        let ints = ndarray::ArrayD::from_shape_fn(shape.clone(), |_| next() as i64);
        prop_assert_eq!(round_trip(&Npy, &ints), ints);
        let bytes = ndarray::ArrayD::from_shape_fn(shape.clone(), |_| next() as u8);
        prop_assert_eq!(round_trip(&Npy, &bytes), bytes);
        let flags = ndarray::ArrayD::from_shape_fn(shape, |_| next() & 1 == 0);
        prop_assert_eq!(round_trip(&Npy, &flags), flags);
    }

    /// Images of any size, 1x1 up, in gray, RGB and RGBA (PNG writes no empty image:
    /// that is an error, not a panic).
    #[test]
    fn images_round_trip((width, height) in (0u32..40, 0u32..40), seed in any::<u64>()) {
        let mut next = generator(seed);
        let rgb = image::RgbImage::from_fn(width, height, |_, _| {
            let v = next().to_le_bytes();
            image::Rgb([v[0], v[1], v[2]])
        });
        let rgba = image::RgbaImage::from_fn(width, height, |_, _| image::Rgba(next().to_le_bytes()[..4].try_into().unwrap()));
        let gray = image::GrayImage::from_fn(width, height, |_, _| image::Luma([next() as u8]));
        if width == 0 || height == 0 {
            prop_assert!(Serializer::<image::RgbImage>::serialize(&Png, &rgb).is_err());
        } else {
            prop_assert_eq!(round_trip(&Png, &rgb), rgb);
            prop_assert_eq!(round_trip(&Png, &rgba), rgba);
            prop_assert_eq!(round_trip(&Png, &gray), gray);
        }
    }

    /// Tables of any length, none included, as one batch and as several.
    #[test]
    fn tables_round_trip(rows in vec(table_row(), 0..300), batches in 0usize..4) {
        let batch = table(&rows);
        prop_assert_eq!(round_trip(&ArrowIpc, &batch), batch.clone());
        prop_assert_eq!(round_trip(&Parquet, &batch), batch.clone());
        let split: Vec<RecordBatch> = (0..batches).map(|i| batch.slice(i * rows.len() / 4, rows.len() / 4)).collect();
        prop_assert_eq!(round_trip(&ArrowIpc, &split), split.clone());
        let bytes = Serializer::<Vec<RecordBatch>>::serialize(&ArrowIpc, &split).unwrap();
        prop_assert_eq!(decode_in_pieces(&ArrowIpc, &bytes, &Cuts::At(vec![bytes.len() / 2])).unwrap(), split);
    }
}

fn generator(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state
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

// --- Repacking a struct from contents with one thing changed ----------------------------

/// What a `Target` is saved from; its contents are built from it as `save` would.
#[derive(Debug, Clone)]
struct Parts {
    name: String,
    count: u32,
    rows: Vec<Row>,
    parts: BTreeMap<String, Vec<u8>>,
    list: Vec<String>,
    packed: Vec<u64>,
    note: String,
    text: String,
    stream: Vec<Row>,
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        (text(), any::<u32>(), vec(row(csv_float), 0..4)),
        (
            proptest::collection::btree_map("[a-z0-9_.-]{1,12}", vec(any::<u8>(), 0..32), 0..4),
            vec(text(), 0..4),
            vec(any::<u64>(), 0..16),
        ),
        (text(), text(), vec(row(finite_float), 0..4)),
    )
        .prop_map(
            |((name, count, rows), (parts, list, packed), (note, text, stream))| Parts {
                name,
                count,
                rows,
                parts,
                list,
                packed,
                note,
                text,
                stream,
            },
        )
}

fn content<T, S: Serializer<T>>(key: &str, serializer: &S, value: &T) -> RawContent {
    RawContent {
        key: key.to_owned(),
        content_type: serializer.content_type().to_owned(),
        serializer_name: serializer.name().to_owned(),
        serializer_config: serializer.config(),
        encoding: None,
        data: serializer.serialize(value).expect("serializes"),
    }
}

/// The contents `save` writes for `parts` as a `Target`, in its field order.
fn contents(parts: &Parts) -> Vec<RawContent> {
    let mut contents = vec![
        content(
            "body",
            &Json,
            &serde_json::json!({"name": parts.name, "count": parts.count}),
        ),
        content("rows", &Csv, &parts.rows),
    ];
    for (entry, bytes) in &parts.parts {
        contents.push(content(&format!("parts.{entry}"), &RawBytes, bytes));
    }
    for (index, item) in parts.list.iter().enumerate() {
        contents.push(content(&format!("list.{index}"), &Text, item));
    }
    let mut packed = content("packed", &Bincode, &parts.packed);
    packed.data = zstd::encode_all(&packed.data[..], 0).unwrap().into();
    packed.encoding = Some("zstd".to_owned());
    contents.push(packed);
    contents.push(content(
        "inner",
        &Json,
        &serde_json::json!({"class_id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "version": 1}),
    ));
    contents.push(content(
        "inner.body",
        &Json,
        &serde_json::json!({"note": parts.note}),
    ));
    contents.push(content("inner.text", &Text, &parts.text));
    contents.push(content("stream", &JsonLines, &parts.stream));
    contents
}

/// One thing changed in valid contents. Which content is picked by an index into them.
#[derive(Debug, Clone)]
enum Mutation {
    Nothing,
    /// Repack as if the manifest recorded this version.
    Version(u32),
    Drop(Index),
    Duplicate(Index),
    Rename(Index, String),
    Serializer(Index, &'static str),
    Encoding(Index, Option<&'static str>),
    /// XOR one byte of the data with a non-zero mask.
    Flip(Index, Index, u8),
    /// Cut the data short, to a fraction of its length.
    Truncate(Index, Index),
    Append(Index, Vec<u8>),
    /// A serializer config other than the one written.
    Config(Index, serde_json::Value),
    /// One member of a JSON object given a value of another type.
    Retype(Index, Index, serde_json::Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<Index>;
    prop_oneof![
        Just(Mutation::Nothing),
        select(&[0u32, 1, 3, 7][..]).prop_map(Mutation::Version),
        index().prop_map(Mutation::Drop),
        index().prop_map(Mutation::Duplicate),
        (
            index(),
            prop_oneof![select(KEYS).prop_map(str::to_owned), text()]
        )
            .prop_map(|(i, key)| Mutation::Rename(i, key)),
        (index(), select(NAMES)).prop_map(|(i, name)| Mutation::Serializer(i, name)),
        (index(), proptest::option::of(select(ENCODINGS)))
            .prop_map(|(i, encoding)| Mutation::Encoding(i, encoding)),
        (index(), index(), 1u8..).prop_map(|(i, at, mask)| Mutation::Flip(i, at, mask)),
        (index(), index()).prop_map(|(i, len)| Mutation::Truncate(i, len)),
        (index(), vec(any::<u8>(), 1..8)).prop_map(|(i, tail)| Mutation::Append(i, tail)),
        (
            index(),
            select(
                &[
                    r#"{"delimiter": ";", "has_headers": true}"#,
                    r#"{"delimiter": ",", "has_headers": false}"#,
                    r#"{"delimiter": "ab", "has_headers": true}"#,
                    r#"[]"#,
                ][..]
            )
        )
            .prop_map(|(i, config)| Mutation::Config(i, serde_json::from_str(config).unwrap())),
        (
            index(),
            index(),
            select(
                &[
                    r#""x""#,
                    "-1",
                    "1.5",
                    "null",
                    "[]",
                    "{}",
                    "true",
                    r#""5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8c""#
                ][..]
            )
        )
            .prop_map(|(i, member, value)| Mutation::Retype(
                i,
                member,
                serde_json::from_str(value).unwrap()
            )),
    ]
}

/// Applies `mutation` to `contents`; returns the version to repack at and, when the
/// change touches one content, its key as it was (and, renamed, as it is).
fn apply(mutation: &Mutation, contents: &mut Vec<RawContent>) -> (u32, Vec<String>) {
    let len = contents.len();
    let picked = match mutation {
        Mutation::Nothing | Mutation::Version(_) => None,
        // Among the JSON objects (the bodies and the nested marker).
        Mutation::Retype(i, ..) => {
            let objects: Vec<usize> = (0..len)
                .filter(|&c| contents[c].serializer_name == "lakery.json@v1")
                .collect();
            Some(objects[i.index(objects.len())])
        }
        Mutation::Drop(i)
        | Mutation::Duplicate(i)
        | Mutation::Rename(i, _)
        | Mutation::Serializer(i, _)
        | Mutation::Encoding(i, _)
        | Mutation::Flip(i, ..)
        | Mutation::Truncate(i, _)
        | Mutation::Append(i, _)
        | Mutation::Config(i, _) => Some(i.index(len)),
    };
    let key = picked.map(|at| contents[at].key.clone());
    let at = picked.unwrap_or_default();
    match mutation {
        Mutation::Nothing => {}
        Mutation::Version(version) => return (*version, Vec::new()),
        Mutation::Drop(_) => {
            contents.remove(at);
        }
        Mutation::Duplicate(_) => {
            let copy = contents[at].clone();
            contents.push(copy);
        }
        Mutation::Rename(_, new) => contents[at].key = new.clone(),
        Mutation::Serializer(_, name) => contents[at].serializer_name = (*name).to_owned(),
        Mutation::Encoding(_, encoding) => contents[at].encoding = encoding.map(str::to_owned),
        Mutation::Flip(_, byte, mask) => {
            let mut data = contents[at].data.to_vec();
            if !data.is_empty() {
                let byte = byte.index(data.len());
                data[byte] ^= mask;
            }
            contents[at].data = data.into();
        }
        Mutation::Truncate(_, keep) => {
            let keep = keep.index(contents[at].data.len().max(1));
            contents[at].data.truncate(keep);
        }
        Mutation::Append(_, tail) => {
            let mut data = contents[at].data.to_vec();
            data.extend_from_slice(tail);
            contents[at].data = data.into();
        }
        Mutation::Config(_, config) => contents[at].serializer_config = Some(config.clone()),
        Mutation::Retype(_, member, value) => {
            let mut object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&contents[at].data).unwrap();
            let name = object
                .keys()
                .nth(member.index(object.len()))
                .unwrap()
                .clone();
            object.insert(name, value.clone());
            contents[at].data = serde_json::to_vec(&object).unwrap().into();
        }
    }
    let renamed = match mutation {
        Mutation::Rename(_, new) => Some(new.clone()),
        _ => None,
    };
    (2, key.into_iter().chain(renamed).collect())
}

/// Where a repack ended: the value (its stream read to its end, or failing), or the
/// error's variant.
fn branch(result: &Result<(Target, Result<Vec<Row>, lakery::Error>), lakery::Error>) -> String {
    let name = |error: &lakery::Error| {
        format!("{error:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    match result {
        Ok((_, Ok(_))) => "repacks".to_owned(),
        Ok((_, Err(error))) => format!("repacks, its stream fails with {}", name(error)),
        Err(error) => name(error),
    }
}

/// Repacks `contents` at `version` and reads the stream to its end.
fn repack(
    version: u32,
    contents: &[RawContent],
) -> Result<(Target, Result<Vec<Row>, lakery::Error>), lakery::Error> {
    let mut target = lakery::testing::repack::<Target>(version, contents)?;
    let stream = std::mem::replace(
        &mut target.stream,
        lakery::ContentStream::from_iter(Vec::new()),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let items: Vec<Result<Row, lakery::Error>> =
        runtime.block_on(futures::StreamExt::collect(stream));
    Ok((target, items.into_iter().collect()))
}

/// Valid contents with exactly one thing changed (a byte, a size, a key, a type, a
/// serializer, an encoding, a config, the version) repack to the saved value, or fail
/// with the error that names the change. Every branch, valid and failing, is reached:
/// the run counts the cases that end in each and fails if one was never reached.
#[test]
fn repacking_contents_with_one_change_gives_the_value_or_names_the_change() {
    use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 512,
        // Failures saved beside this file, with the `proptest!` tests' own.
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    });
    let reached = std::sync::Mutex::new(BTreeMap::<String, usize>::new());
    runner
        .run(&(parts(), mutation()), |(parts, mutation)| {
            let mut changed = contents(&parts);
            let (version, keys) = apply(&mutation, &mut changed);
            let result = repack(version, &changed);
            let branch = branch(&result);
            *reached.lock().unwrap().entry(branch.clone()).or_default() += 1;
            check(&parts, &mutation, &keys, &result, &branch)
        })
        .unwrap();
    let reached = reached.into_inner().unwrap();
    println!("cases per branch: {reached:#?}");
    for expected in [
        "repacks",
        "repacks, its stream fails with Deserialize",
        "MissingContent",
        "SerializerMismatch",
        "Deserialize",
        "Encoding",
        "CorruptRecord",
        "InvalidContentKey",
        "UnsupportedVersion",
    ] {
        assert!(
            reached.get(expected).is_some_and(|n| *n > 0),
            "no case reached `{expected}`: {reached:#?}"
        );
    }
}

/// What the change to valid contents must give: the value when nothing changed, and,
/// for the changes whose effect is certain, their error naming the key.
fn check(
    parts: &Parts,
    mutation: &Mutation,
    keys: &[String],
    result: &Result<(Target, Result<Vec<Row>, lakery::Error>), lakery::Error>,
    branch: &str,
) -> Result<(), TestCaseError> {
    // The contents `Target` reads as a whole and cannot do without.
    const REQUIRED: &[&str] = &[
        "body",
        "rows",
        "packed",
        "inner",
        "inner.body",
        "inner.text",
        "stream",
    ];
    let expect = |expected: &str| -> Result<(), TestCaseError> {
        prop_assert_eq!(
            branch,
            expected,
            "after {:?}: {:?}",
            mutation,
            result.as_ref().err()
        );
        Ok(())
    };
    let key = keys.first().map(String::as_str);
    match (mutation, key) {
        (Mutation::Nothing, _) => {
            let (target, stream) = result
                .as_ref()
                .map_err(|e| TestCaseError::fail(format!("valid contents do not repack: {e}")))?;
            prop_assert_eq!(&target.name, &parts.name);
            prop_assert_eq!(target.count, parts.count);
            prop_assert_eq!(&target.rows, &parts.rows);
            prop_assert_eq!(&target.parts, &parts.parts);
            prop_assert_eq!(&target.list, &parts.list);
            prop_assert_eq!(&target.packed, &parts.packed);
            prop_assert_eq!(&target.inner.note, &parts.note);
            prop_assert_eq!(&target.inner.text, &parts.text);
            prop_assert_eq!(stream.as_ref().ok(), Some(&parts.stream));
        }
        (Mutation::Version(1), _) => {
            // The older layout reads the name from the body and migrates.
            expect("repacks")?;
            let (target, _) = result.as_ref().unwrap();
            prop_assert_eq!(&target.name, &parts.name);
            prop_assert_eq!(target.count, 0);
        }
        (Mutation::Version(_), _) => expect("UnsupportedVersion")?,
        (Mutation::Drop(_), Some(key)) if REQUIRED.contains(&key) => {
            expect("MissingContent")?;
            prop_assert!(
                error_names(result, key),
                "{:?} does not name `{}`",
                result.as_ref().err(),
                key
            );
        }
        (Mutation::Drop(_), Some(key)) if key.starts_with("parts.") => expect("repacks")?,
        (Mutation::Serializer(_, name), Some(key)) => {
            let written = contents(parts)
                .into_iter()
                .find(|c| c.key == key)
                .unwrap()
                .serializer_name;
            if *name != written {
                expect("SerializerMismatch")?;
                prop_assert!(
                    error_names(result, key),
                    "{:?} does not name `{}`",
                    result.as_ref().err(),
                    key
                );
            }
        }
        (Mutation::Encoding(_, Some("br")), _) => expect("CorruptRecord")?,
        (Mutation::Encoding(_, Some("gzip")), Some(key)) if key != "stream" => {
            expect("Encoding")?;
            prop_assert!(
                error_names(result, key),
                "{:?} does not name `{}`",
                result.as_ref().err(),
                key
            );
        }
        (Mutation::Retype(..), Some("inner")) => {
            prop_assert!(
                branch == "Deserialize"
                    || branch == "InvalidContentKey"
                    || branch == "UnsupportedVersion",
                "a changed nested marker gave {}",
                branch
            );
        }
        (Mutation::Retype(_, member, value), Some(key)) => {
            let written = contents(parts).into_iter().find(|c| c.key == key).unwrap();
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&written.data).unwrap();
            let (_, before) = object.iter().nth(member.index(object.len())).unwrap();
            // A string for a string (`name`, `note`) still reads; any other change of
            // type does not.
            if before.is_string() && value.is_string() {
                expect("repacks")?;
            } else {
                expect("Deserialize")?;
            }
        }
        _ => {}
    }
    // Whatever failed names the content it failed on, where the change was to one.
    if let (Err(error), false) = (result, keys.is_empty()) {
        let message = error.to_string();
        let named = match error {
            // A content renamed or dropped is missing under a key the change did not
            // name; a nested version is the nested marker's.
            lakery::Error::MissingContent { .. } | lakery::Error::UnsupportedVersion { .. } => true,
            // An entry of a container field is named by the field's key.
            _ => keys.iter().any(|key| {
                message.contains(&format!("`{key}`"))
                    || message.contains(&format!("`{}`", key.split('.').next().unwrap()))
            }),
        };
        prop_assert!(
            named,
            "the error for a change to {:?} does not name it: {}",
            keys,
            message
        );
    }
    Ok(())
}

/// Whether `result` is an error whose message names the content `key`.
fn error_names(
    result: &Result<(Target, Result<Vec<Row>, lakery::Error>), lakery::Error>,
    key: &str,
) -> bool {
    result
        .as_ref()
        .err()
        .is_some_and(|error| error.to_string().contains(&format!("`{key}`")))
}

// --- The fuzz targets' seed corpus -------------------------------------------------------

/// The fuzz targets' bodies over their seeds, in every `cargo test`: what CI's short
/// fuzz runs start from is valid for its target and does not crash it, even where
/// libFuzzer is not built. The valid seeds also parse as they should.
#[test]
fn the_fuzz_targets_take_their_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    for (target, body) in FUZZ_TARGETS {
        for (seed, bytes) in fuzz_seeds(target) {
            assert!(bytes.len() <= 4096, "{seed} is over 4 KiB");
            body(&bytes);
        }
    }
    let valid = std::fs::read(root.join("repack/valid")).unwrap();
    let (version, contents) = models::unframe(&valid);
    let (_, stream) = repack(version, &contents).expect("the repack seed repacks");
    assert!(stream.is_ok_and(|rows| !rows.is_empty()));
}

/// A fuzz target's body: any bytes in, no panic out.
type FuzzBody = fn(&[u8]);

const FUZZ_TARGETS: [(&str, FuzzBody); 4] = [
    ("deserialize", bodies::deserialize),
    ("stream_decode", bodies::stream_decode),
    ("repack", bodies::repack),
    // On an in-memory SQLite database made once: a find takes well under a millisecond.
    ("query", query_body::query),
];

/// The committed seeds of a fuzz target, by file name.
fn fuzz_seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("fuzz/seeds/{target}: {e}"))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 2,
        "fuzz/seeds/{target} holds {} seeds",
        seeds.len()
    );
    seeds
}

/// How many mutated inputs each fuzz target takes in every `cargo test`.
const FUZZ_RUNS: usize = 5000;

/// A short, fixed fuzz run in every `cargo test`, where libFuzzer's instrumented build
/// is too slow for CI: each target takes `FUZZ_RUNS` inputs made from its committed
/// seeds by libFuzzer's simplest mutations (bytes flipped, inserted, removed, copied
/// over, cut short, two seeds spliced), from a fixed random seed so a failure repeats.
/// The input that fails is printed, to become a seed or a regression test.
#[test]
fn the_fuzz_targets_survive_mutations_of_their_seeds() {
    use rand::{Rng, SeedableRng};

    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1a4e_5eed);
    for (target, body) in FUZZ_TARGETS {
        let seeds = fuzz_seeds(target);
        for run in 0..FUZZ_RUNS {
            let (name, seed) = &seeds[rng.random_range(0..seeds.len())];
            let mut input = seed.clone();
            for _ in 0..rng.random_range(1..=4) {
                mutate(&mut input, &seeds, &mut rng);
            }
            let outcome = std::panic::catch_unwind(|| body(&input));
            assert!(
                outcome.is_ok(),
                "fuzz target {target} panicked on run {run}, a mutation of seed {name}: {input:?}"
            );
        }
    }
}

/// One of libFuzzer's simplest mutations of `input`.
fn mutate(input: &mut Vec<u8>, seeds: &[(String, Vec<u8>)], rng: &mut impl rand::Rng) {
    match rng.random_range(0..6) {
        0 if !input.is_empty() => {
            let i = rng.random_range(0..input.len());
            input[i] ^= 1 << rng.random_range(0..8);
        }
        1 => {
            let i = rng.random_range(0..=input.len());
            input.insert(i, rng.random());
        }
        2 if !input.is_empty() => {
            let i = rng.random_range(0..input.len());
            input.remove(i);
        }
        3 if !input.is_empty() => {
            let (from, to) = (
                rng.random_range(0..input.len()),
                rng.random_range(0..input.len()),
            );
            let len = rng.random_range(1..=8).min(input.len() - from.max(to));
            input.copy_within(from..from + len, to);
        }
        4 => {
            let len = rng.random_range(0..=input.len());
            input.truncate(len);
        }
        _ => {
            let (_, other) = &seeds[rng.random_range(0..seeds.len())];
            let cut = rng.random_range(0..=input.len());
            let other_cut = rng.random_range(0..=other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[other_cut..]);
        }
    }
}

// --- Writing the seeds -------------------------------------------------------

/// Writes the seed corpus of the fuzz targets (`fuzz/seeds/<target>/`): valid inputs
/// of every kind, so each run starts from bytes that parse and mutates them, rather
/// than from nothing. (Not `fuzz/corpus/`, which is the fuzzer's own and not kept in
/// git.) Run when a format or `Target` changes:
/// `cargo test -p lakery --test properties -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes files; run by hand when the formats change"]
fn write_fuzz_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let value = value_sample();
    let rows = vec![
        Row {
            name: "a,\"b\"\n".to_owned(),
            count: -5,
            ratio: Bits(f64::NAN),
            flag: true,
            note: None,
            level: Level::High,
        },
        Row {
            name: String::new(),
            count: 7,
            ratio: Bits(-0.0),
            flag: false,
            note: Some(3),
            level: Level::Low,
        },
    ];
    let finite: Vec<Row> = rows
        .iter()
        .map(|row| Row {
            ratio: Bits(1.5),
            ..row.clone()
        })
        .collect();
    let batch = table(&[
        (1, Some("a"), 0.5, Some(vec![1, 2])),
        (2, None, f64::NAN, None),
    ]);
    let time = chrono::DateTime::from_timestamp(1_700_000_000, 250_000_000).unwrap();
    let ser = |bytes: Result<Bytes, _>| -> Vec<u8> { bytes.unwrap().to_vec() };
    // `deserialize`: the first byte picks the serializer, as the target reads it.
    let deserialize: Vec<(u8, &str, Vec<u8>)> = vec![
        (
            0,
            "json",
            ser(Serializer::<Value>::serialize(
                &Json,
                &Value {
                    ratio: Bits(0.5),
                    children: Vec::new(),
                    ..value.clone()
                },
            )),
        ),
        (
            1,
            "msgpack",
            ser(Serializer::<Value>::serialize(&MsgPack, &value)),
        ),
        (
            2,
            "bincode",
            ser(Serializer::<Value>::serialize(&Bincode, &value)),
        ),
        (3, "text", "line\r\n\u{1f600}".as_bytes().to_vec()),
        (4, "bytes", vec![0, 1, 2, 255]),
        (
            5,
            "csv",
            ser(Serializer::<Vec<Row>>::serialize(&Csv, &rows)),
        ),
        (
            6,
            "jsonl",
            ser(Serializer::<Vec<Row>>::serialize(&JsonLines, &finite)),
        ),
        (
            7,
            "msgpack-seq",
            ser(Serializer::<Vec<Row>>::serialize(&MessagePack, &rows)),
        ),
        (8, "lines", b"one\ntwo\r\n".to_vec()),
        (
            9,
            "iso8601",
            ser(Serializer::<chrono::DateTime<chrono::Utc>>::serialize(
                &Iso8601, &time,
            )),
        ),
        (
            10,
            "npy-f64",
            ser(Serializer::<ndarray::ArrayD<f64>>::serialize(
                &Npy,
                &ndarray::ArrayD::zeros(vec![2, 0, 3]),
            )),
        ),
        (
            11,
            "npy-u8",
            ser(Serializer::<ndarray::Array2<u8>>::serialize(
                &Npy,
                &ndarray::Array2::from_elem((2, 2), 7),
            )),
        ),
        (
            12,
            "png",
            ser(Serializer::<image::RgbImage>::serialize(
                &Png,
                &image::RgbImage::new(2, 2),
            )),
        ),
        (
            13,
            "jpeg",
            ser(Serializer::<image::RgbImage>::serialize(
                &Jpeg::default(),
                &image::RgbImage::new(8, 8),
            )),
        ),
        (
            14,
            "arrow",
            ser(Serializer::<RecordBatch>::serialize(&ArrowIpc, &batch)),
        ),
        (
            15,
            "parquet",
            ser(Serializer::<RecordBatch>::serialize(&Parquet, &batch)),
        ),
    ];
    for (pick, name, bytes) in &deserialize {
        write("deserialize", name, &[&[*pick][..], bytes].concat());
    }
    // `stream_decode`: a byte picks the decoder, a byte the piece size.
    let streams: &[(u8, &str, usize)] = &[
        (0, "csv", 5),
        (1, "jsonl", 6),
        (2, "msgpack-seq", 7),
        (3, "lines", 8),
        (4, "bytes", 4),
        (5, "arrow", 14),
        (6, "parquet", 15),
    ];
    for (pick, name, from) in streams {
        let bytes = &deserialize
            .iter()
            .find(|(p, ..)| *p as usize == *from)
            .unwrap()
            .2;
        write("stream_decode", name, &[&[*pick, 3][..], bytes].concat());
    }
    // `repack`: valid contents, and the older version's.
    let parts = Parts {
        name: "n".to_owned(),
        count: 3,
        rows: rows.clone(),
        parts: BTreeMap::from([("a".to_owned(), vec![1, 2])]),
        list: vec!["x".to_owned(), "y\u{0}".to_owned()],
        packed: vec![1, u64::MAX],
        note: "note".to_owned(),
        text: "text".to_owned(),
        stream: finite,
    };
    let valid = contents(&parts);
    assert!(repack(2, &valid).is_ok_and(|(_, stream)| stream.is_ok()));
    write("repack", "valid", &models::frame(2, &valid));
    write("repack", "version-1", &models::frame(1, &valid[..1]));
    let (version, framed) = models::unframe(&models::frame(2, &valid));
    assert_eq!(version, 2);
    assert_eq!(framed.len(), valid.len());
}
