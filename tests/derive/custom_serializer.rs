use lakery::serializer::{Serializer, SerializerError, Stored};
use lakery::Storable;

/// Stores a `u64` as decimal text.
struct Decimal;

impl Serializer<u64> for Decimal {
    fn name(&self) -> &str {
        "example.decimal@v1"
    }
    fn content_type(&self) -> &str {
        "text/plain; charset=utf-8"
    }
    fn serialize(&self, value: &u64) -> Result<bytes::Bytes, SerializerError> {
        Ok(value.to_string().into())
    }
    fn deserialize(&self, bytes: bytes::Bytes, _: &Stored<'_>) -> Result<u64, SerializerError> {
        Ok(std::str::from_utf8(&bytes)?.parse()?)
    }
}

#[derive(Storable)]
#[storable(class_id = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")]
struct Counter {
    #[content(serializer = Decimal, tags(format = "decimal"))]
    count: u64,
}

#[test]
fn compiles_and_runs() {
    assert_eq!(Counter::CONTENTS[0].serializer_type, "Decimal");
    assert_eq!(Counter::CONTENTS[0].tags, &[("format", "decimal")]);
}
