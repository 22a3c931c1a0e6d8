//! The quickstart: define a storable type, save a few values into `lakery.db` and the
//! `lakery-data/` folder, and load them back.
//!
//! Run it with `cargo run --example quickstart`; run it again and it finds the values
//! of every earlier run too.

use std::collections::BTreeMap;

use lakery::serializer::Bincode;
use lakery::{Database, FileStorage, Order, Query, Registry, Storable};

/// One experiment: a small description, kept together as the JSON "body" in the
/// database, and its results, kept as Bincode in a file of their own.
#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 1)]
struct Experiment {
    description: String,
    parameters: BTreeMap<String, f64>,
    #[content(serializer = Bincode, storage = "results", tags(kind = "results"))]
    results: Vec<f64>,
}

#[tokio::main]
async fn main() -> lakery::Result<()> {
    // The manifests live in one SQLite file; `migrate` creates the tables the first
    // time and does nothing after that.
    let db = Database::connect("sqlite://lakery.db").await?;
    db.migrate().await?;

    // Contents that name no storage (here the body) go to the database itself; the
    // results go to a folder, one file per distinct content.
    let registry = Registry::builder()
        .storage("results", FileStorage::new("lakery-data")?)
        .storable::<Experiment>()
        .build()?;

    let experiments: Vec<Experiment> = [0.1, 0.01, 0.001]
        .into_iter()
        .map(|learning_rate| Experiment {
            description: format!("sweep with learning rate {learning_rate}"),
            parameters: BTreeMap::from([
                ("learning_rate".to_owned(), learning_rate),
                ("epochs".to_owned(), 20.0),
            ]),
            results: (1..=20)
                .map(|epoch| 1.0 / (1.0 + learning_rate * 100.0 * f64::from(epoch)))
                .collect(),
        })
        .collect();

    // One value on its own, with manifest tags.
    let first = lakery::save_one(&experiments[0], &registry, &db)
        .tags([("project", "quickstart")])
        .await?;
    println!(
        "saved {} as manifest {}",
        experiments[0].description, first.id
    );

    // The rest as one batch: every manifest commits in one transaction, or none does.
    let mut saver = lakery::Saver::new(&registry, &db);
    let handles: Vec<_> = experiments[1..]
        .iter()
        .map(|exp| saver.save_soon_with_tags(exp, [("project", "quickstart")]))
        .collect();
    let batch = saver.finish().await?;
    for (handle, exp) in handles.iter().zip(&experiments[1..]) {
        println!(
            "saved {} as manifest {}",
            exp.description, batch[*handle].id
        );
    }

    // Load them back; every content's hash is checked before it is deserialized.
    let mut records = vec![first];
    records.extend(batch.into_records());
    for (record, original) in records.iter().zip(&experiments) {
        let loaded: Experiment = lakery::load_one(record, &registry, &db).await?;
        assert_eq!(&loaded, original);
        println!(
            "loaded manifest {}: {:?}, final result {:.4}",
            record.id,
            loaded.description,
            loaded.results.last().copied().unwrap_or_default()
        );
    }

    // What the database recorded for the first one.
    for content in db.contents(records[0].id).await? {
        println!(
            "  content `{}`: {} bytes of {} by {}, in storage `{}` at {}",
            content.key,
            content.size,
            content.content_type,
            content.serializer_name,
            content.storage_name,
            content.storage_config
        );
    }

    // Find them again by type and tag, newest first, a page at a time: this run's and
    // those of earlier runs. The records load as they are, a page in one round trip.
    let query = Query::of::<Experiment>()
        .tag("project", "quickstart")
        .order(Order::NewestFirst)
        .limit(5);
    let page = db.find(&query).await?;
    let mut loader = lakery::Loader::new(&registry, &db);
    let handles: Vec<_> = page
        .records
        .iter()
        .map(|record| loader.load_soon::<Experiment>(record))
        .collect();
    let mut loaded = loader.finish().await?;
    println!(
        "the {} newest experiments of project `quickstart`:",
        page.records.len()
    );
    for (record, handle) in page.records.iter().zip(handles) {
        if let Some(exp) = loaded.take(handle) {
            println!("  {} {}: {}", record.created_at, record.id, exp.description);
        }
    }

    // Check that every stored content is still there and intact.
    let report = lakery::verify(&registry, &db, &Query::new()).await?;
    println!(
        "verified {} contents of {} manifests ({} bytes): {}",
        report.contents,
        report.manifests,
        report.bytes,
        if report.is_ok() {
            "all intact"
        } else {
            "PROBLEMS FOUND"
        }
    );
    for problem in &report.problems {
        println!("  {:?}: {}", problem.kind, problem.error);
    }
    println!("done: the manifests are in lakery.db, the results in lakery-data/");
    Ok(())
}
