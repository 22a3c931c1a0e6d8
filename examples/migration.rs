//! A struct changes twice, and the data saved by its earlier versions still loads.
//!
//! Version 1 of a lab measurement kept everything in its body. Version 2 renamed
//! `sample` to `sample_id` and split `operator` ("Ada Lovelace") into a first and a last
//! name. Version 3 moved the readings, which grew large, into a content of their own in
//! a file storage. Each version keeps its struct, with `migrate_from` naming the one
//! before and a `From` (or `TryFrom`) impl converting it; lakery loads a manifest of any
//! of the three as the current type, and `rewrite` moves stored data to version 3 for
//! good.
//!
//! Run it with `cargo run --example migration`. It works in a temporary folder.

use lakery::migration::{rewrite_with_progress, RewriteOptions};
use lakery::serializer::Bincode;
use lakery::{Database, FileStorage, Loader, Query, Registry, Storable};

/// Version 1, as the first program wrote it. Every version has the same class id.
#[derive(Storable, Debug, Clone)]
#[storable(class_id = "3c9e1f20-6b4d-4a8e-9f71-2d5c8b0a4e13", version = 1)]
struct MeasurementV1 {
    sample: String,
    operator: String,
    readings: Vec<f64>,
}

/// Version 2: `sample` renamed, `operator` split in two.
#[derive(Storable, Debug, Clone)]
#[storable(
    class_id = "3c9e1f20-6b4d-4a8e-9f71-2d5c8b0a4e13",
    version = 2,
    migrate_from = MeasurementV1
)]
struct MeasurementV2 {
    sample_id: String,
    operator_first_name: String,
    operator_last_name: String,
    readings: Vec<f64>,
}

/// A version-1 operator that is not "first last" cannot be split; the error is carried
/// into `lakery::Error::VersionMigration` with the manifest and both versions.
#[derive(Debug, thiserror::Error)]
#[error("operator `{0}` is not a first and a last name")]
struct UnsplittableName(String);

impl TryFrom<MeasurementV1> for MeasurementV2 {
    type Error = UnsplittableName;

    fn try_from(old: MeasurementV1) -> Result<Self, UnsplittableName> {
        let Some((first, last)) = old.operator.split_once(' ') else {
            return Err(UnsplittableName(old.operator));
        };
        Ok(MeasurementV2 {
            sample_id: old.sample,
            operator_first_name: first.to_owned(),
            operator_last_name: last.to_owned(),
            readings: old.readings,
        })
    }
}

/// Version 3, the current one: the readings in a content of their own, as Bincode in
/// the `readings` file storage, while the rest stays in the body.
#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(
    class_id = "3c9e1f20-6b4d-4a8e-9f71-2d5c8b0a4e13",
    version = 3,
    migrate_from = MeasurementV2
)]
struct Measurement {
    sample_id: String,
    operator_first_name: String,
    operator_last_name: String,
    #[content(serializer = Bincode, storage = "readings")]
    readings: Vec<f64>,
}

impl From<MeasurementV2> for Measurement {
    fn from(old: MeasurementV2) -> Self {
        // Nothing to convert: the field only moved to another content, which the
        // attribute says. The stored bytes of version 2 still hold it in the body.
        Measurement {
            sample_id: old.sample_id,
            operator_first_name: old.operator_first_name,
            operator_last_name: old.operator_last_name,
            readings: old.readings,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db =
        Database::connect(&format!("sqlite://{}", dir.path().join("lab.db").display())).await?;
    db.migrate().await?;
    // In a real program only the current type is saved; all three are registered here
    // so that the example can write what the older programs wrote.
    let registry = Registry::builder()
        .storage("readings", FileStorage::new(dir.path().join("readings"))?)
        .storable::<MeasurementV1>()
        .storable::<MeasurementV2>()
        .storable::<Measurement>()
        .build()?;

    // What the programs of versions 1 and 2 saved.
    let mut saver = lakery::Saver::new(&registry, &db);
    for (n, operator) in ["Ada Lovelace", "Grace Hopper", "Plato"].iter().enumerate() {
        let old = MeasurementV1 {
            sample: format!("S-{n}"),
            operator: (*operator).to_owned(),
            readings: vec![0.5 * n as f64, 1.5],
        };
        saver.save_soon_with_tags(&old, [("lab", "north")]);
    }
    saver.save_soon_with_tags(
        &MeasurementV2 {
            sample_id: "S-3".into(),
            operator_first_name: "Rosalind".into(),
            operator_last_name: "Franklin".into(),
            readings: vec![2.5],
        },
        [("lab", "south")],
    );
    saver.finish().await?;

    // Today's program loads every version as `Measurement`.
    println!(
        "Measurement loads versions {:?}",
        Measurement::known_versions()
    );
    let page = db.find(&Query::of::<Measurement>()).await?;
    for record in &page.records {
        match lakery::load_one::<Measurement>(record, &registry, &db).await {
            Ok(m) => println!(
                "  v{} {} -> {} by {} {}, {} readings",
                record.class_version,
                record.id,
                m.sample_id,
                m.operator_first_name,
                m.operator_last_name,
                m.readings.len()
            ),
            Err(error) => println!("  v{} {} -> {error}", record.class_version, record.id),
        }
    }

    // A dry run says what a rewrite would do, and what would fail, and writes nothing.
    let options = RewriteOptions::new().batch_size(2).delete_old(true);
    let plan =
        rewrite_with_progress::<Measurement>(&registry, &db, options.clone().dry_run(true), |_| {
            std::ops::ControlFlow::Continue(())
        })
        .await?;
    println!(
        "dry run: {} to rewrite, {} failing",
        plan.rewritten,
        plan.failed.len()
    );

    // The rewrite: each batch of two saved at version 3, with the same tags, and the
    // old manifests deleted, in one transaction per batch.
    let report = rewrite_with_progress::<Measurement>(&registry, &db, options, |progress| {
        println!(
            "  batch {}: {} rewritten so far",
            progress.batches, progress.rewritten
        );
        std::ops::ControlFlow::Continue(())
    })
    .await?;
    println!(
        "rewrote {}, deleted {} old manifests; left alone:",
        report.rewritten, report.deleted
    );
    for (id, error) in &report.failed {
        println!("  {id}: {error}");
    }

    // The rewritten manifests are ordinary version-3 manifests that name the one they
    // replaced, and load in one batch with no migration.
    let current = db.find(&Query::of::<Measurement>().version(3)).await?;
    let mut loader = Loader::new(&registry, &db);
    let handles: Vec<_> = current
        .records
        .iter()
        .map(|r| loader.load_soon::<Measurement>(r))
        .collect();
    let mut batch = loader.finish().await?;
    for (record, handle) in current.records.iter().zip(handles) {
        let m = batch.take(handle).expect("loaded");
        println!(
            "  v3 {} (replaces {}) lab {}: {}",
            record.id,
            record
                .replaces
                .map_or_else(|| "nothing".to_owned(), |id| id.to_string()),
            record.tags["lab"],
            m.sample_id
        );
    }
    Ok(())
}
