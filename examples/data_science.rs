//! A data-science run, stored the way lakery stores what such users keep: a description
//! in the database, the evaluation table as Parquet, a weight matrix as a NumPy `.npy`
//! file, one confusion matrix per split (each its own `.npy`), a loss curve plotted to
//! PNG, the run's metrics over time as a compressed JSON log, and when it finished.
//!
//! Run it with
//! `cargo run --example data_science --features lakery/ndarray,lakery/image,lakery/arrow`.
//! It writes to a temporary folder (or to the folder given as its argument, which it
//! keeps), prints where each piece went, loads the run back and checks it, and shows
//! how Python opens the stored weights.

use std::collections::BTreeMap;
use std::sync::Arc;

use lakery::serializer::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use lakery::serializer::image::{Rgb, RgbImage};
use lakery::serializer::ndarray::Array2;
use lakery::serializer::{Iso8601, JsonLines, Npy, Parquet, Png};
use lakery::{ContentStream, Database, FileStorage, Registry, Storable};
use serde::{Deserialize, Serialize};

/// One point of the run's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Metrics {
    epoch: u32,
    loss: f64,
    accuracy: f64,
}

#[derive(Storable, Debug)]
#[storable(class_id = "d4b1c0a2-7e55-4c1f-9f7a-3b2e8c6d5a10")]
struct TrainingRun {
    /// The body: a small JSON document in the database.
    description: String,
    learning_rate: f64,
    /// A table per evaluation split, as Parquet: pandas and Polars read it.
    #[content(serializer = Parquet, storage = "tables", tags(kind = "evaluation"))]
    evaluation: RecordBatch,
    /// NumPy's own format, so `numpy.load` opens the stored file.
    #[content(serializer = Npy, storage = "arrays", tags(kind = "weights"))]
    weights: Array2<f64>,
    /// One content per split: `confusion.train`, `confusion.test`, ...
    #[content(serializer = Npy, storage = "arrays", each, tags(kind = "confusion"))]
    confusion: BTreeMap<String, Array2<f64>>,
    /// A plot of the loss, lossless.
    #[content(serializer = Png, storage = "plots", tags(kind = "plot"))]
    loss_plot: RgbImage,
    /// Every epoch's metrics as JSON Lines, compressed with zstd on the way out.
    #[content(serializer = JsonLines, storage = "logs", encoding = "zstd")]
    log: ContentStream<Metrics>,
    #[content(serializer = Iso8601)]
    finished_at: chrono::DateTime<chrono::Utc>,
}

fn metrics(epochs: u32) -> Vec<Metrics> {
    (1..=epochs)
        .map(|epoch| {
            let t = f64::from(epoch);
            Metrics {
                epoch,
                loss: 2.0 / (1.0 + 0.05 * t) + 0.01 * (t * 0.7).sin(),
                accuracy: 1.0 - 0.9 / (1.0 + 0.03 * t),
            }
        })
        .collect()
}

/// The loss curve, drawn point by point on a white canvas.
fn plot(points: &[Metrics]) -> RgbImage {
    let (width, height) = (400u32, 200u32);
    let mut image = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let max = points.iter().map(|m| m.loss).fold(f64::MIN, f64::max);
    for (i, point) in points.iter().enumerate() {
        let x = (i as u32 * (width - 1)) / (points.len() as u32 - 1).max(1);
        let y = ((1.0 - point.loss / max) * f64::from(height - 10)) as u32 + 5;
        for dy in 0..3 {
            image.put_pixel(x, (y + dy).min(height - 1), Rgb([31, 119, 180]));
        }
    }
    image
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temporary = tempfile::tempdir()?;
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => temporary.path().to_owned(),
    };
    std::fs::create_dir_all(&dir)?;
    let db = Database::connect(&format!("sqlite://{}/runs.db", dir.display())).await?;
    db.migrate().await?;
    let registry = Registry::builder()
        .storage("arrays", FileStorage::new(dir.join("arrays"))?)
        .storage("plots", FileStorage::new(dir.join("plots"))?)
        .storage("logs", FileStorage::new(dir.join("logs"))?)
        .storage("tables", FileStorage::new(dir.join("tables"))?)
        .storable::<TrainingRun>()
        .build()?;

    let log = metrics(5_000);
    let run =
        TrainingRun {
            description: "ridge baseline on the spring data".to_owned(),
            learning_rate: 0.05,
            evaluation: RecordBatch::try_from_iter([
                (
                    "split",
                    Arc::new(StringArray::from(vec!["train", "validation", "test"])) as ArrayRef,
                ),
                (
                    "accuracy",
                    Arc::new(Float64Array::from(vec![0.97, 0.91, 0.90])) as ArrayRef,
                ),
                (
                    "loss",
                    Arc::new(Float64Array::from(vec![0.08, 0.27, 0.29])) as ArrayRef,
                ),
            ])?,
            weights: Array2::from_shape_fn((64, 32), |(i, j)| ((i * 32 + j) as f64).sin()),
            confusion: ["train", "validation", "test"]
                .into_iter()
                .enumerate()
                .map(|(n, split)| {
                    let matrix = Array2::from_shape_fn((3, 3), |(i, j)| {
                        if i == j {
                            90.0 - 5.0 * n as f64
                        } else {
                            5.0
                        }
                    });
                    (split.to_owned(), matrix)
                })
                .collect(),
            loss_plot: plot(&log),
            log: ContentStream::from_iter(log.clone()),
            finished_at: chrono::Utc::now(),
        };
    let record = lakery::save_one(&run, &registry, &db)
        .tags([("project", "spring"), ("model", "ridge")])
        .await?;
    println!("saved run {}", record.id);
    for content in db.contents(record.id).await? {
        println!(
            "  {:<20} {:>8} bytes  {:<32} {:<6} {}",
            content.key,
            content.size,
            content.content_type,
            content.encoding.as_deref().unwrap_or("-"),
            content.storage_name,
        );
    }

    let loaded: TrainingRun = lakery::load_one(&record, &registry, &db).await?;
    assert_eq!(loaded.evaluation, run.evaluation);
    assert_eq!(loaded.weights, run.weights);
    assert_eq!(loaded.confusion, run.confusion);
    assert_eq!(loaded.loss_plot, run.loss_plot);
    assert_eq!(loaded.finished_at, run.finished_at);
    let back: Vec<Metrics> = futures::TryStreamExt::try_collect(loaded.log).await?;
    assert_eq!(back, log);
    println!(
        "loaded it back: {} evaluation rows, {}x{} weights, a {}x{} plot, {} log lines, \
         finished {}",
        loaded.evaluation.num_rows(),
        loaded.weights.nrows(),
        loaded.weights.ncols(),
        loaded.loss_plot.width(),
        loaded.loss_plot.height(),
        back.len(),
        loaded.finished_at.to_rfc3339(),
    );

    let weights = db
        .contents(record.id)
        .await?
        .into_iter()
        .find(|c| c.key == "weights")
        .ok_or("no weights")?;
    let relative = weights.storage_config["path"].as_str().unwrap_or_default();
    println!(
        "in Python: numpy.load({:?}){}",
        dir.join("arrays").join(relative),
        if dir == temporary.path() {
            " (this folder goes when the example ends; give one as its argument to keep it)"
        } else {
            ""
        }
    );
    Ok(())
}
