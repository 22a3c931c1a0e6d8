//! Every library entry point run on the damaged sample, and what each must answer:
//! a value or an error naming what is damaged; an error where the case says reading
//! must fail; the bystander untouched.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use lakery::{Error, Loader, ManifestId, Query};

use super::corpus::{BlobDamage, Case, Damage, Level};
use super::fixture::{Fixture, Sample};

/// The longest any one read may take before it counts as hung.
const PATIENCE: Duration = Duration::from_secs(60);

/// Longer than any read of the corpus's small contents may take, loaded machine or not.
const SLOW: Duration = Duration::from_secs(10);

/// The largest piece a content stream may hand out (`lakery::ContentChunks`).
const MAX_CHUNK: usize = 256 << 10;

/// What went wrong, entry point by entry point.
pub struct Checks<'a> {
    fx: &'a Fixture,
    case: &'a Case,
    pub problems: Vec<String>,
}

impl<'a> Checks<'a> {
    pub fn new(fx: &'a Fixture, case: &'a Case) -> Self {
        Checks {
            fx,
            case,
            problems: Vec::new(),
        }
    }

    fn id(&self) -> ManifestId {
        self.fx.damaged.id
    }

    fn must_fail(&self, level: Level) -> bool {
        self.case.level >= level
    }

    /// `error`, from `what`, must name the manifest, and the content (and its storage)
    /// where the case damaged one; `about_content`: the entry point reads contents.
    fn error(&mut self, what: &str, error: &Error, about_content: bool) {
        let message = error.to_string();
        let mut unnamed = Vec::new();
        if !message.contains(&self.id().to_string()) {
            unnamed.push("the manifest".to_owned());
        }
        if let (Some(key), true) = (self.case.key(), about_content) {
            if !message.contains(&format!("`{key}`")) && !message.contains(&format!("{key:?}")) {
                unnamed.push(format!("content `{key}`"));
            }
            if self.case.names_storage() && !message.contains("`files`") {
                unnamed.push("storage `files`".to_owned());
            }
        }
        if !unnamed.is_empty() {
            self.problems.push(format!(
                "{what}: the error does not name {}: {message}",
                unnamed.join(", ")
            ));
        }
        if let Damage::Blob {
            how: BlobDamage::Deleted,
            ..
        } = self.case.damage
        {
            if !matches!(error, Error::BlobMissing { .. }) {
                self.problems.push(format!(
                    "{what}: a deleted blob is not Error::BlobMissing: {message}"
                ));
            }
            let root = self.fx.t.dir.path().to_string_lossy().into_owned();
            if message.contains(&root) {
                self.problems.push(format!(
                    "{what}: a missing blob is told by a path of the machine: {message}"
                ));
            }
        }
    }

    /// Awaits `read`, counting it as a problem if it hangs.
    async fn within<T>(&mut self, what: &str, read: impl Future<Output = T>) -> Option<T> {
        let started = std::time::Instant::now();
        match tokio::time::timeout(PATIENCE, read).await {
            Ok(outcome) => {
                // Not a measure of anything but hanging: a read of a few bytes that takes
                // this long read far more than its record says.
                if started.elapsed() > SLOW {
                    self.problems.push(format!(
                        "{what}: took {:?}, as if it read past the recorded size",
                        started.elapsed()
                    ));
                }
                Some(outcome)
            }
            Err(_) => {
                self.problems
                    .push(format!("{what}: no answer within {PATIENCE:?}"));
                None
            }
        }
    }

    /// `outcome` of `what`: an error is checked, a success is a problem if the case's
    /// level is `fails_from` or worse.
    fn outcome<T>(
        &mut self,
        what: &str,
        outcome: lakery::Result<T>,
        fails_from: Option<Level>,
        about_content: bool,
    ) {
        match outcome {
            Ok(_) if fails_from.is_some_and(|level| self.must_fail(level)) => self.problems.push(
                format!("{what}: succeeded on a damaged {}", self.damaged_thing()),
            ),
            Ok(_) => {}
            Err(error) => self.error(what, &error, about_content),
        }
    }

    fn damaged_thing(&self) -> String {
        match self.case.key() {
            Some(key) => format!("content `{key}`"),
            None => "manifest row".to_owned(),
        }
    }

    /// The key read by the content entry points: the damaged one, or any for a damaged
    /// manifest row.
    fn key(&self) -> &'static str {
        self.case.key().unwrap_or("data")
    }

    /// Every entry point, in an order that ends with the delete.
    pub async fn run(&mut self) {
        self.load_one().await;
        self.loader().await;
        self.read_content().await;
        self.stream_content().await;
        self.verify().await;
        self.find().await;
        self.manifest_and_contents().await;
        self.delete().await;
    }

    async fn load_one(&mut self) {
        let fx = self.fx;
        let read = lakery::load_one::<Sample>(&fx.damaged, &fx.registry, &fx.t.db);
        if let Some(outcome) = self.within("load_one", read).await {
            self.outcome("load_one", outcome, Some(Level::Value), true);
        }
    }

    async fn loader(&mut self) {
        let fx = self.fx;
        let mut loader = Loader::new(&fx.registry, &fx.t.db);
        loader.load_soon::<Sample>(fx.damaged.id);
        loader.load_soon::<Sample>(fx.bystander.id);
        let Some(outcome) = self.within("a Loader", loader.finish()).await else {
            return;
        };
        match outcome {
            Ok(_) if self.must_fail(Level::Row) => self.problems.push(format!(
                "a Loader: loaded a damaged {}",
                self.damaged_thing()
            )),
            Ok(_) => {}
            Err(Error::Batch { failures, .. }) => {
                for failure in &failures {
                    if failure.index != 0 {
                        self.problems.push(format!(
                            "a Loader: the bystander failed too: {}",
                            failure.error
                        ));
                    } else {
                        self.error("a Loader", &failure.error, true);
                    }
                }
            }
            Err(error) => self.error("a Loader (failing whole)", &error, true),
        }
    }

    async fn read_content(&mut self) {
        let fx = self.fx;
        let key = self.key();
        let read = lakery::read_content(&fx.registry, &fx.t.db, fx.damaged.id, key);
        let Some(outcome) = self.within("read_content", read).await else {
            return;
        };
        match outcome {
            Ok(stored) => {
                if self.must_fail(Level::Stored) {
                    self.problems
                        .push(format!("read_content: read a damaged content `{key}`"));
                }
                let decoded = stored.decoded();
                self.outcome("StoredBytes::decoded", decoded, Some(Level::Decoded), true);
            }
            Err(error) => self.error("read_content", &error, true),
        }
    }

    async fn stream_content(&mut self) {
        let fx = self.fx;
        let key = self.key();
        let open = lakery::stream_content(&fx.registry, &fx.t.db, fx.damaged.id, key);
        let Some(outcome) = self.within("stream_content", open).await else {
            return;
        };
        let content = match outcome {
            Ok(content) => content,
            Err(error) => return self.error("stream_content", &error, true),
        };
        let mut chunks = content.into_stream(true);
        let drained = async {
            let mut largest = 0;
            while let Some(chunk) = chunks.next().await {
                match chunk {
                    Ok(chunk) => largest = largest.max(chunk.len()),
                    Err(error) => return (largest, Err(error)),
                }
            }
            (largest, Ok(()))
        };
        let Some((largest, outcome)) = self.within("a content stream", drained).await else {
            return;
        };
        if largest > MAX_CHUNK {
            self.problems.push(format!(
                "a content stream handed out a piece of {largest} bytes"
            ));
        }
        // A stream decodes a bounded piece at a time, so a bomb is no harm there: it
        // needs no limit on the whole.
        let fails_from = match self.case.damage {
            Damage::Bomb { .. } => None,
            _ => Some(Level::Decoded),
        };
        self.outcome("a content stream", outcome, fails_from, true);
    }

    async fn verify(&mut self) {
        let fx = self.fx;
        let all = Query::new();
        let read = lakery::verify(&fx.registry, &fx.t.db, &all);
        let Some(outcome) = self.within("verify", read).await else {
            return;
        };
        let report = match outcome {
            Ok(report) => report,
            Err(error) => {
                return self
                    .problems
                    .push(format!("verify failed whole instead of reporting: {error}"))
            }
        };
        let id = self.id();
        for problem in &report.problems {
            if problem.manifest != id {
                self.problems
                    .push(format!("verify blamed the bystander: {}", problem.error));
            }
            self.error("verify's problem", &problem.error, true);
        }
        let unreadable = report.unreadable.iter().any(|u| u.id == id.to_string());
        let reported = unreadable
            || report
                .problems
                .iter()
                .any(|p| Some(p.key.as_str()) == self.case.key());
        if self.must_fail(Level::Stored) && !reported {
            self.problems.push(format!(
                "verify did not report the damaged {}",
                self.damaged_thing()
            ));
        }
    }

    async fn find(&mut self) {
        let fx = self.fx;
        let id = self.id().to_string();
        for query in [
            Query::new(),
            Query::new().tag("kind", "sample"),
            Query::new().limit(1),
        ] {
            let mut query = query;
            let (mut listed, mut unreadable) = (Vec::new(), Vec::new());
            loop {
                let Some(outcome) = self.within("find", fx.t.db.find(&query)).await else {
                    return;
                };
                let page = match outcome {
                    Ok(page) => page,
                    Err(error) => {
                        return self
                            .problems
                            .push(format!("find {query:?} failed whole: {error}"))
                    }
                };
                listed.extend(page.records.iter().map(|r| r.id.to_string()));
                unreadable.extend(page.unreadable.into_iter().map(|u| u.id));
                match page.next {
                    Some(cursor) => query = query.after(cursor),
                    None => break,
                }
            }
            if !listed.contains(&fx.bystander.id.to_string()) {
                self.problems
                    .push(format!("find {query:?} lost the bystander"));
            }
            let times = listed
                .iter()
                .chain(&unreadable)
                .filter(|i| **i == id)
                .count();
            // A manifest whose tags are damaged may fairly not match a tag query.
            let may_miss = matches!(self.case.damage, Damage::Manifest(_));
            if times > 1 || (times == 0 && !may_miss) {
                self.problems.push(format!(
                    "find {query:?} listed the damaged manifest {times} times"
                ));
            }
        }
    }

    async fn manifest_and_contents(&mut self) {
        let fx = self.fx;
        if let Some(outcome) = self
            .within("Database::manifest", fx.t.db.manifest(fx.damaged.id))
            .await
        {
            self.outcome("Database::manifest", outcome, None, false);
        }
        if let Some(outcome) = self
            .within("Database::contents", fx.t.db.contents(fx.damaged.id))
            .await
        {
            self.outcome("Database::contents", outcome, None, true);
        }
    }

    /// The damaged manifest can be removed, and the bystander still loads.
    async fn delete(&mut self) {
        let fx = self.fx;
        let id = self.id();
        match self.within("Database::delete", fx.t.db.delete(&[id])).await {
            Some(Ok(1)) => {}
            Some(other) => {
                return self.problems.push(format!(
                    "Database::delete of the damaged manifest: {other:?}"
                ))
            }
            None => return,
        }
        match fx.t.db.find(&Query::new()).await {
            Ok(page) => {
                let still = page.records.iter().any(|r| r.id == id)
                    || page.unreadable.iter().any(|u| u.id == id.to_string());
                if still {
                    self.problems
                        .push("Database::delete left the damaged manifest listed".to_owned());
                }
            }
            Err(error) => self
                .problems
                .push(format!("find after the delete failed: {error}")),
        }
        if let Err(error) = lakery::load_one::<Sample>(&fx.bystander, &fx.registry, &fx.t.db).await
        {
            self.problems
                .push(format!("the bystander no longer loads: {error}"));
        }
    }
}
