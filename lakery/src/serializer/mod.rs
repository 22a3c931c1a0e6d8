//! Serializers turn a field's value into bytes with a content type, and back.
//!
//! A serializer is named in a `#[content(serializer = ...)]` or
//! `#[storable(serializer = ...)]` attribute by a path to a value: a unit struct such as
//! [`Json`], or a `const` of a configured serializer. The compiler checks that it can
//! handle the field's type.
//!
//! Each serializer has a versioned [name](Serializer::name) (`lakery.json@v1`) that is
//! stored with every content it writes, so that a later version of the serializer can
//! still recognise, and read, what an earlier one wrote.

#[cfg(feature = "arrow")]
mod arrow;
mod formats;
#[cfg(feature = "ndarray")]
mod npy;
#[cfg(feature = "arrow")]
mod parquet_pages;
#[cfg(feature = "image")]
mod picture;
mod stream;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[cfg(feature = "arrow")]
pub use self::arrow::{ArrowIpc, Parquet};
#[cfg(feature = "arrow")]
pub use self::parquet_pages::{parquet_pages, ParquetPage};
/// The `image` crate that [`Png`] and [`Jpeg`] handle.
#[cfg(feature = "image")]
pub use ::image;
/// The `arrow-array` crate whose `RecordBatch` [`ArrowIpc`] and [`Parquet`] handle.
#[cfg(feature = "arrow")]
pub use arrow_array;
/// The `arrow-schema` crate, for the schemas of record batches.
#[cfg(feature = "arrow")]
pub use arrow_schema;
pub use formats::{Iso8601, MsgPack};
/// The `ndarray` crate that [`Npy`] handles.
#[cfg(feature = "ndarray")]
pub use ndarray;
#[cfg(feature = "ndarray")]
pub use npy::Npy;
#[cfg(feature = "image")]
pub use picture::{Jpeg, Png};
pub(crate) use stream::RawChunksCodec;
pub use stream::{
    Csv, CsvOptions, JsonLines, MessagePack, RangeSource, RawChunks, StreamDecoder, StreamEncoder,
    StreamSerializer, TextLines,
};

/// The error a serializer returns; lakery wraps it in [`Error::Serialize`] or
/// [`Error::Deserialize`](crate::Error::Deserialize) with the manifest, the content key
/// and the serializer's name.
///
/// [`Error::Serialize`]: crate::Error::Serialize
pub type SerializerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What was recorded about a content when it was written, handed to
/// [`Serializer::deserialize`].
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// The name of the serializer that wrote the content, such as `lakery.json@v1`.
    pub serializer_name: &'a str,
    /// The configuration that serializer recorded, if any.
    pub serializer_config: Option<&'a serde_json::Value>,
    /// The content type recorded with the content.
    pub content_type: &'a str,
    /// The most its bytes may become once decoded, as the registry allows
    /// ([`RegistryBuilder::max_decoded_size`](crate::RegistryBuilder::max_decoded_size)):
    /// a format whose reader allocates what the bytes claim (Parquet's pages, an image's
    /// dimensions) checks the claim against it first.
    pub max_decoded_size: u64,
}

/// Serializes values of type `T` to bytes and back.
///
/// Implement it for your own serializer type; it is then usable in attributes, and
/// [`lakery::testing`](crate) style round trips apply to it as to the built-ins.
///
/// ```
/// use lakery::serializer::{Serializer, SerializerError, Stored};
///
/// /// Stores a `u64` as decimal text.
/// struct Decimal;
///
/// impl Serializer<u64> for Decimal {
///     fn name(&self) -> &str { "example.decimal@v1" }
///     fn content_type(&self) -> &str { "text/plain; charset=utf-8" }
///     fn serialize(&self, value: &u64) -> Result<bytes::Bytes, SerializerError> {
///         Ok(value.to_string().into())
///     }
///     fn deserialize(&self, bytes: bytes::Bytes, _: &Stored<'_>) -> Result<u64, SerializerError> {
///         Ok(std::str::from_utf8(&bytes)?.parse()?)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serialize a field of type `{T}`",
    label = "`{Self}` does not implement `Serializer<{T}>`",
    note = "choose a serializer that handles `{T}` in `#[content(serializer = ...)]`, or implement `lakery::serializer::Serializer<{T}>` for `{Self}`"
)]
pub trait Serializer<T> {
    /// The versioned name stored with every content this serializer writes, such as
    /// `lakery.json@v1`. Change the version when the bytes it writes change.
    fn name(&self) -> &str;

    /// The MIME type of the bytes, stored with the content.
    fn content_type(&self) -> &str;

    /// Configuration stored with the content, for the reader (for example a delimiter).
    fn config(&self) -> Option<serde_json::Value> {
        None
    }

    /// Whether this serializer can read a content written under `stored_name`. The
    /// default accepts only its own name; a new version of a serializer accepts the old.
    fn can_read(&self, stored_name: &str) -> bool {
        stored_name == self.name()
    }

    /// Serializes `value`.
    fn serialize(&self, value: &T) -> Result<Bytes, SerializerError>;

    /// Deserializes bytes that a serializer this one [can read](Serializer::can_read)
    /// wrote. Must return an error, never panic, on malformed bytes.
    fn deserialize(&self, bytes: Bytes, stored: &Stored<'_>) -> Result<T, SerializerError>;
}

/// JSON through `serde_json`: `application/json`, named `lakery.json@v1`.
///
/// The default serializer of the body and of `#[content]` fields. Handles every type
/// that implements `Serialize` and `DeserializeOwned`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<T: Serialize + DeserializeOwned> Serializer<T> for Json {
    fn name(&self) -> &str {
        "lakery.json@v1"
    }
    fn content_type(&self) -> &str {
        "application/json"
    }
    fn serialize(&self, value: &T) -> Result<Bytes, SerializerError> {
        Ok(serde_json::to_vec(value)?.into())
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<T, SerializerError> {
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// bincode 2 through its serde API, with its standard configuration (variable-length
/// integers, little endian): `application/x-bincode`, named `lakery.bincode@v1`.
///
/// Compact and fast for numeric data; not self-describing, so a changed field type
/// needs a migration rather than a lenient read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bincode;

impl<T: Serialize + DeserializeOwned> Serializer<T> for Bincode {
    fn name(&self) -> &str {
        "lakery.bincode@v1"
    }
    fn content_type(&self) -> &str {
        "application/x-bincode"
    }
    fn serialize(&self, value: &T) -> Result<Bytes, SerializerError> {
        Ok(bincode::serde::encode_to_vec(value, bincode::config::standard())?.into())
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<T, SerializerError> {
        let (value, read) = bincode_bounded(&bytes).map_err(|e| match e {
            bincode::error::DecodeError::LimitExceeded => SerializerError::from(format!(
                "the bincode value claims more memory than 1024 times its {} bytes \
                 (a length prefix from corrupt or hostile bytes?)",
                bytes.len()
            )),
            other => other.into(),
        })?;
        if read != bytes.len() {
            return Err(format!(
                "{} trailing bytes after the bincode value ({} bytes in all)",
                bytes.len() - read,
                bytes.len()
            )
            .into());
        }
        Ok(value)
    }
}

/// Decodes with a limit on what the value may claim to hold: bincode allocates a
/// container as its length prefix says before reading it, so ten hostile bytes could
/// ask for exabytes. A value may claim up to 1024 times its encoded size (values whose
/// in-memory form is larger than that, such as long runs of `None` in large
/// `Option<[u8; N]>`s, need another serializer); inputs over a MiB are not limited.
fn bincode_bounded<T: DeserializeOwned>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    use bincode::config::standard;
    use bincode::serde::decode_from_slice;
    match bytes.len() {
        n if n <= 1 << 10 => decode_from_slice(bytes, standard().with_limit::<{ 1 << 20 }>()),
        n if n <= 1 << 14 => decode_from_slice(bytes, standard().with_limit::<{ 1 << 24 }>()),
        n if n <= 1 << 20 => decode_from_slice(bytes, standard().with_limit::<{ 1 << 30 }>()),
        _ => decode_from_slice(bytes, standard()),
    }
}

/// Raw bytes, stored as they are: `application/octet-stream`, named `lakery.bytes@v1`.
///
/// For `Vec<u8>` and [`bytes::Bytes`] fields. Loading a `Vec<u8>` reuses the buffer read
/// from storage without copying.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytes;

impl Serializer<Vec<u8>> for RawBytes {
    fn name(&self) -> &str {
        "lakery.bytes@v1"
    }
    fn content_type(&self) -> &str {
        "application/octet-stream"
    }
    fn serialize(&self, value: &Vec<u8>) -> Result<Bytes, SerializerError> {
        Ok(Bytes::copy_from_slice(value))
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<Vec<u8>, SerializerError> {
        Ok(Vec::from(bytes))
    }
}

impl Serializer<Bytes> for RawBytes {
    fn name(&self) -> &str {
        "lakery.bytes@v1"
    }
    fn content_type(&self) -> &str {
        "application/octet-stream"
    }
    fn serialize(&self, value: &Bytes) -> Result<Bytes, SerializerError> {
        Ok(value.clone())
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<Bytes, SerializerError> {
        Ok(bytes)
    }
}

/// UTF-8 text: `text/plain; charset=utf-8`, named `lakery.text@v1`. For `String` fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Serializer<String> for Text {
    fn name(&self) -> &str {
        "lakery.text@v1"
    }
    fn content_type(&self) -> &str {
        "text/plain; charset=utf-8"
    }
    fn serialize(&self, value: &String) -> Result<Bytes, SerializerError> {
        Ok(Bytes::copy_from_slice(value.as_bytes()))
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<String, SerializerError> {
        Ok(String::from_utf8(Vec::from(bytes))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<S: Serializer<T>, T>(serializer: &S, value: &T) -> T {
        let bytes = serializer.serialize(value).unwrap();
        let stored = Stored {
            serializer_name: serializer.name(),
            serializer_config: None,
            content_type: serializer.content_type(),
            max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
        };
        serializer.deserialize(bytes, &stored).unwrap()
    }

    #[test]
    fn json_and_bincode_keep_every_float_bit() {
        // serde_json's default float parser can be off by one unit in the last place;
        // lakery enables `float_roundtrip` so stored floats come back exact.
        let floats: Vec<f64> = (0..10_000)
            .map(|i| f64::from(i).sqrt() * 1e-3 + f64::from(i) / 7.0)
            .collect();
        assert_eq!(round_trip(&Json, &floats), floats);
        assert_eq!(round_trip(&Bincode, &floats), floats);
    }

    #[test]
    fn malformed_bytes_are_errors() {
        let stored = Stored {
            serializer_name: "x",
            serializer_config: None,
            content_type: "x",
            max_decoded_size: crate::encoding::DEFAULT_MAX_DECODED_SIZE,
        };
        assert!(
            Serializer::<Vec<f64>>::deserialize(&Json, Bytes::from_static(b"[1,"), &stored)
                .is_err()
        );
        assert!(Serializer::<Vec<u64>>::deserialize(
            &Bincode,
            Bytes::from_static(&[0xff, 0xff]),
            &stored
        )
        .is_err());
        assert!(
            Serializer::<u8>::deserialize(&Bincode, Bytes::from_static(&[1, 2]), &stored).is_err(),
            "trailing bytes"
        );
        assert!(Serializer::<String>::deserialize(
            &Text,
            Bytes::from_static(&[0xc3, 0x28]),
            &stored
        )
        .is_err());
    }
}
