//! A dataset too large to hold in memory, saved and loaded as streams.
//!
//! A sensor log of half a million readings is saved from an async producer as CSV in a file
//! storage, beside its raw capture as byte chunks; neither is ever whole in memory. It is
//! then loaded back lazily: the summary is computed as the rows stream past, and the
//! capture is only opened when read. Finally, the same manifest is read by a type that
//! wants the rows as one `Vec`, which works because the stream serializer also serializes
//! values.
//!
//! Run it with `cargo run --release --example streams`. It works in a temporary folder.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use lakery::serializer::{Csv, RawChunks};
use lakery::{ContentStream, Database, FileStorage, Registry, Storable};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reading {
    at_ms: u64,
    sensor: String,
    celsius: f64,
}

/// The dataset as the logger writes it: two streams and a small description.
#[derive(Storable)]
#[storable(class_id = "8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f")]
struct SensorLog {
    site: String,
    #[content(serializer = Csv, storage = "files", tags(format = "csv"))]
    readings: ContentStream<Reading>,
    #[content(serializer = RawChunks, storage = "files")]
    capture: ContentStream<Bytes>,
}

/// The same manifest read whole, for data small enough: the rows as one `Vec`.
#[derive(Storable)]
#[storable(class_id = "8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f")]
struct SensorLogInMemory {
    site: String,
    #[content(serializer = Csv, storage = "files")]
    readings: Vec<Reading>,
    #[content(serializer = RawChunks, storage = "files")]
    capture: ContentStream<Bytes>,
}

const READINGS: u64 = 500_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db =
        Database::connect(&format!("sqlite://{}", dir.path().join("lab.db").display())).await?;
    db.migrate().await?;
    let registry = Registry::builder()
        .storage("files", FileStorage::new(dir.path().join("files"))?)
        .storable::<SensorLog>()
        .build()?;

    // An async producer: each reading is made when the CSV encoder asks for it. A
    // channel, a database cursor or a file reader would do as well.
    let readings = futures::stream::iter(0..READINGS).map(|i| Reading {
        at_ms: i * 10,
        sensor: format!("probe-{}", i % 4),
        celsius: 20.0 + (i % 100) as f64 / 10.0,
    });
    // The capture fails partway if the device does; here it does not.
    let capture = futures::stream::iter(0..64u8)
        .map(|block| Ok::<_, std::io::Error>(Bytes::from(vec![block; 1 << 20])));
    let log = SensorLog {
        site: "north field".into(),
        readings: ContentStream::from_items(readings),
        capture: ContentStream::new(capture),
    };
    let started = std::time::Instant::now();
    let record = lakery::save_one(&log, &registry, &db)
        .tags([("site", "north")])
        .await?;
    println!(
        "saved {READINGS} readings and a 64 MiB capture in {:.2?}",
        started.elapsed()
    );
    for content in db.contents(record.id).await? {
        println!(
            "  {:<9} {:>10} bytes  {:<28} sha256 {}…",
            content.key,
            content.size,
            content.content_type,
            &content.hash[..12]
        );
    }

    // Loading reads only the body; each stream reads, checks and decodes its bytes as
    // it is polled.
    let loaded: SensorLog = lakery::load_one(&record, &registry, &db).await?;
    let started = std::time::Instant::now();
    let (mut count, mut sum, mut hottest) = (0u64, 0.0, f64::MIN);
    let mut readings = loaded.readings;
    while let Some(reading) = readings.next().await {
        let reading = reading?; // a corrupt blob would end the stream in an error here
        count += 1;
        sum += reading.celsius;
        hottest = hottest.max(reading.celsius);
    }
    println!(
        "{}: {count} readings, mean {:.2} °C, hottest {hottest:.1} °C, streamed in {:.2?}",
        loaded.site,
        sum / count as f64,
        started.elapsed()
    );
    // The capture was never polled, so its file was never opened; dropping it is free.
    loaded.capture.close();

    // The same manifest, with the rows read whole by a type that holds them in a `Vec`.
    let registry_in_memory = Registry::builder()
        .storage("files", FileStorage::new(dir.path().join("files"))?)
        .storable::<SensorLogInMemory>()
        .build()?;
    let whole: SensorLogInMemory = lakery::load_one(&record, &registry_in_memory, &db).await?;
    let capture_bytes: usize = whole
        .capture
        .map_ok(|chunk| chunk.len())
        .try_fold(0, |total, len| async move { Ok(total + len) })
        .await?;
    println!(
        "read whole: {} readings in memory, the last at {} ms; capture {} MiB",
        whole.readings.len(),
        whole.readings.last().map_or(0, |r| r.at_ms),
        capture_bytes >> 20
    );
    Ok(())
}
