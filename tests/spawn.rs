//! Every public future of lakery can run in a task of its own: a server saves, loads,
//! checks and collects garbage from `tokio::spawn`, which needs `Send + 'static` futures.
//! Each is spawned here and awaited; a future that cannot be spawned does not compile.

use std::ops::ControlFlow;
use std::sync::Arc;

use lakery::migration::{rewrite, rewrite_with_progress, RewriteOptions};
use lakery::serializer::Text;
use lakery::{
    Database, FileStorage, GcOptions, Loader, ManifestId, Query, Registry, Saver, Storable,
};

#[derive(Storable, Debug, Clone, PartialEq)]
#[storable(class_id = "0d2f7f0e-6a43-4a8e-9a39-5d8d1f1f6c21")]
struct Note {
    title: String,
    #[content(serializer = Text, storage = "files")]
    text: String,
}

/// Spawns `future` on the runtime and waits for its result: the check is that this
/// compiles for each of lakery's futures.
async fn spawned<T: Send + 'static>(
    future: impl std::future::Future<Output = lakery::Result<T>> + Send + 'static,
) -> T {
    tokio::spawn(future)
        .await
        .expect("the task ran")
        .expect("lakery succeeded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_future_runs_in_a_spawned_task() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("spawn.db").display());
    let db: Database = spawned({
        let url = url.clone();
        async move { Database::connect(&url).await }
    })
    .await;
    spawned({
        let db = db.clone();
        async move { db.migrate().await }
    })
    .await;
    let registry = Arc::new(
        Registry::builder()
            .storage("files", FileStorage::new(dir.path().join("files")).unwrap())
            .storable::<Note>()
            .build()
            .unwrap(),
    );
    let note = Note {
        title: "a".into(),
        text: "the text".into(),
    };

    let (r, d, n) = (registry.clone(), db.clone(), note.clone());
    let record = spawned(async move { lakery::save_one(&n, &r, &d).await }).await;
    let (r, d, n) = (registry.clone(), db.clone(), note.clone());
    let batch = spawned(async move {
        let mut saver = Saver::new(&r, &d);
        saver.save_soon(&n);
        saver.finish().await
    })
    .await;
    assert_eq!(batch.records().len(), 1);

    let (r, d, id) = (registry.clone(), db.clone(), record.id);
    let back: Note = spawned(async move { lakery::load_one(id, &r, &d).await }).await;
    assert_eq!(back, note);
    let (r, d) = (registry.clone(), db.clone());
    let loaded = spawned(async move {
        let mut loader = Loader::new(&r, &d);
        let handle = loader.load_soon::<Note>(id);
        let mut batch = loader.finish().await?;
        Ok(batch.take(handle))
    })
    .await;
    assert_eq!(loaded, Some(note));
    let (r, d) = (registry.clone(), db.clone());
    let bytes = spawned(async move { lakery::read_content(&r, &d, id, "text").await }).await;
    assert_eq!(&bytes.data[..], b"the text");

    let d = db.clone();
    spawned(async move { d.manifest(id).await }).await;
    let d = db.clone();
    spawned(async move { d.contents(id).await }).await;
    let d = db.clone();
    let page = spawned(async move { d.find(&Query::of::<Note>()).await }).await;
    assert_eq!(page.records.len(), 2);

    let (r, d) = (registry.clone(), db.clone());
    let report = spawned(async move { lakery::verify(&r, &d, &Query::new()).await }).await;
    assert!(report.is_ok(), "{report:?}");
    let (r, d) = (registry.clone(), db.clone());
    spawned(async move { lakery::verify_with_progress(&r, &d, &Query::new(), |_| {}).await }).await;
    let (r, d) = (registry.clone(), db.clone());
    spawned(async move { rewrite::<Note>(&r, &d, RewriteOptions::new()).await }).await;
    let (r, d) = (registry.clone(), db.clone());
    spawned(async move {
        rewrite_with_progress::<Note>(&r, &d, RewriteOptions::new(), |_| ControlFlow::Continue(()))
            .await
    })
    .await;

    let d = db.clone();
    let deleted = spawned(async move { d.delete(&[batch.records()[0].id]).await }).await;
    assert_eq!(deleted, 1);
    let d = db.clone();
    assert_eq!(
        spawned(async move { d.delete_where(&Query::new()).await }).await,
        1
    );
    let (r, d) = (registry.clone(), db.clone());
    let gc = spawned(async move { lakery::collect_garbage(&r, &d, GcOptions::new()).await }).await;
    assert_eq!(
        gc.recent, 1,
        "the content just written is kept for the grace period"
    );
    let (r, d) = (registry.clone(), db.clone());
    spawned(async move {
        lakery::collect_garbage_with_progress(&r, &d, GcOptions::new(), |_| {}).await
    })
    .await;
    let _: ManifestId = id;
}
