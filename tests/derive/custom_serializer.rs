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

#[derive(Storable, Debug, PartialEq)]
#[storable(class_id = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")]
struct Counter {
    #[content(serializer = Decimal, tags(format = "decimal"))]
    count: u64,
}

#[tokio::test]
async fn compiles_and_runs() {
    assert_eq!(Counter::CONTENTS[0].serializer_type, "Decimal");
    assert_eq!(Counter::CONTENTS[0].tags, &[("format", "decimal")]);

    let db = super::database().await;
    let registry = lakery::Registry::builder()
        .storable::<Counter>()
        .build()
        .unwrap();
    let counter = Counter {
        count: 18_446_744_073_709_551_557,
    };
    let (back, record) = super::round_trip(&registry, &db, &counter).await;
    assert_eq!(back, counter);
    // The content is the custom serializer's decimal text, under its name and tag.
    let contents = db.contents(record.id).await.unwrap();
    let count = contents.iter().find(|c| c.key == "count").unwrap();
    assert_eq!(count.serializer_name, "example.decimal@v1");
    assert_eq!(count.size, "18446744073709551557".len() as u64);
    assert_eq!(
        count.tags.get("format").map(String::as_str),
        Some("decimal")
    );
    let bytes = lakery::read_content(&registry, &db, record.id, "count")
        .await
        .unwrap();
    assert_eq!(&bytes.data[..], b"18446744073709551557");
}
