//! `lakery`: look at what lakery stored without writing a program.
//!
//! Every command takes the database (`--database URL` or `LAKERY_DATABASE_URL`) and the
//! storage configuration (`--storages FILE`, default `lakery.toml`), since storages are
//! not in the database. Exit codes: 0 done, 1 `verify` found problems, 2 bad usage or
//! configuration (or a deletion not confirmed), 3 no such manifest or content, 4 the
//! database or a storage failed.

mod config;
mod preview;
mod progress;
mod serve;

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use lakery::{ClassId, Database, ManifestId, Order, Query};

use crate::config::Config;
use crate::progress::Reporter;

#[derive(Parser)]
#[command(
    name = "lakery",
    version,
    about = "Look at what lakery stored: list, show, read and check it"
)]
struct Cli {
    /// The database: sqlite://file.db, postgres://..., mysql://...
    #[arg(long, env = "LAKERY_DATABASE_URL", global = true)]
    database: Option<String>,
    /// The storage configuration, TOML: `[storages.NAME] type = "file", path = "..."`.
    #[arg(
        long,
        env = "LAKERY_STORAGES",
        global = true,
        default_value = "lakery.toml"
    )]
    storages: PathBuf,
    /// More log lines on stderr: -v for debug, -vv for everything (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates or updates lakery's tables.
    ///
    /// Example: lakery migrate --database sqlite://lakery.db
    Migrate,
    /// Lists manifests, newest first.
    ///
    /// Example: lakery ls --tag project=apollo --since 2026-01-01 --limit 20 --json
    Ls {
        #[command(flatten)]
        filter: Filter,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Prints a manifest and its contents.
    ///
    /// Example: lakery show 01a2277c-1c33-72e0-bddc-13ad4ccae34b --json
    Show {
        /// The manifest's id.
        id: ManifestId,
        #[arg(long)]
        json: bool,
    },
    /// Writes a content's bytes, checked against their hash, to stdout or a file.
    ///
    /// Example: lakery cat 01a2277c-1c33-72e0-bddc-13ad4ccae34b weights -o weights.npy
    Cat {
        /// The manifest's id.
        id: ManifestId,
        /// The content's key.
        key: String,
        /// Write to this file instead of stdout; it appears only once the bytes check.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The bytes as stored, without undoing the content's encoding (zstd, gzip).
        #[arg(long)]
        raw: bool,
    },
    /// Checks every content (or those of the manifests selected) against its hash;
    /// exits with 1 if any is missing or corrupt.
    ///
    /// Example: lakery verify --tag project=apollo
    Verify {
        #[command(flatten)]
        filter: Filter,
    },
    /// Lists the blobs of the configured storages that no manifest refers to, and removes
    /// them with --yes. Blobs written within the grace period are kept: they may belong
    /// to a save that has not committed yet.
    ///
    /// Example: lakery gc --grace 2h --yes
    Gc {
        /// Keep unreferenced blobs younger than this (`30m`, `2h`, `7days`).
        #[arg(long, default_value = "1day", value_parser = humantime::parse_duration)]
        grace: Duration,
        /// Remove them; without it, only list them.
        #[arg(long)]
        yes: bool,
    },
    /// Deletes manifests, by id or by filter, once confirmed (at the prompt, or by
    /// --yes). Their blobs stay until `lakery gc` removes them.
    ///
    /// Example: lakery rm --tag stage=draft --until 2026-01-01 --yes
    Rm {
        /// The manifests to delete; or give a filter instead.
        ids: Vec<ManifestId>,
        #[command(flatten)]
        filter: Filter,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Serves a read-only web viewer and JSON API of what is stored.
    ///
    /// Example: lakery serve --bind 127.0.0.1:8080
    /// (after `export LAKERY_TOKEN=$(openssl rand -hex 16)` to require a token)
    Serve {
        /// Where to listen; port 0 picks a free one (printed on the first line).
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Require this token on every request (`Authorization: Bearer TOKEN`, or open
        /// /?token=TOKEN in a browser); needed to bind to other than loopback. Prefer
        /// LAKERY_TOKEN: arguments show in `ps`.
        #[arg(long, env = "LAKERY_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

/// Which manifests a command applies to.
#[derive(clap::Args, Default)]
struct Filter {
    /// Only this class id.
    #[arg(long)]
    class: Option<uuid::Uuid>,
    /// Only manifests with this tag; repeat for all of several.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    tags: Vec<(String, String)>,
    /// Created at or after this time (RFC 3339, or a date).
    #[arg(long, value_parser = parse_time)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Created before this time (RFC 3339, or a date).
    #[arg(long, value_parser = parse_time)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many manifests.
    #[arg(long)]
    limit: Option<usize>,
}

impl Filter {
    /// Whether it selects by anything but the limit.
    fn is_empty(&self) -> bool {
        self.class.is_none() && self.tags.is_empty() && self.since.is_none() && self.until.is_none()
    }

    fn query(&self) -> Query {
        let mut query = Query::new().order(Order::NewestFirst);
        if let Some(class) = self.class {
            query = query.class_id(ClassId::from(class));
        }
        for (key, value) in &self.tags {
            query = query.tag(key.clone(), value.clone());
        }
        if let Some(since) = self.since {
            query = query.created_since(since);
        }
        if let Some(until) = self.until {
            query = query.created_before(until);
        }
        if let Some(limit) = self.limit {
            query = query.limit(limit);
        }
        query
    }
}

fn parse_tag(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, not {text:?}"))
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.to_utc());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| {
            format!("expected a time (2026-11-29T12:00:00Z) or a date (2026-11-29), not {text:?}")
        })
}

/// Why a command stopped, and the exit code that says so.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<lakery::Error> for Failure {
    fn from(error: lakery::Error) -> Failure {
        let code = match error {
            lakery::Error::ManifestNotFound(_) | lakery::Error::MissingContent { .. } => 3,
            _ => 4,
        };
        Failure {
            code,
            message: error.to_string(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        // A reader that stopped early (`lakery cat ... | head`) is not a failure.
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure {
                code: 0,
                message: String::new(),
            };
        }
        Failure {
            code: 4,
            message: error.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lakery: cannot start: {e}");
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("lakery: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Log lines go to stderr: progress and notices by default, more with -v.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "lakery=info,warn",
        1 => "lakery=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 0)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    let Some(url) = &cli.database else {
        return Err(Failure::usage(
            "no database: give --database URL or set LAKERY_DATABASE_URL",
        ));
    };
    tracing::debug!("connecting to {}", redacted(url));
    let db = Database::connect(url).await?;
    let named = std::env::var_os("LAKERY_STORAGES").is_some()
        || std::env::args().any(|arg| arg == "--storages" || arg.starts_with("--storages="));
    let config = Config::read(&cli.storages, named)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Migrate => {
            db.migrate().await?;
            writeln!(out, "the database is up to date")?;
        }
        Command::Ls { filter, json } => list(&db, &filter, json, &mut out).await?,
        Command::Show { id, json } => show(&db, id, json, &mut out).await?,
        Command::Cat {
            id,
            key,
            output,
            raw,
        } => {
            let registry = config.registry()?;
            cat(&registry, &db, id, &key, output, raw, &mut out).await?;
        }
        Command::Verify { filter } => {
            let registry = config.registry()?;
            return verify(&registry, &db, &filter, &mut out).await;
        }
        Command::Gc { grace, yes } => {
            let registry = config.registry()?;
            gc(&registry, &db, grace, yes, &mut out).await?;
        }
        Command::Rm { ids, filter, yes } => rm(&db, ids, &filter, yes, &mut out).await?,
        Command::Serve { bind, token } => {
            let registry = config.registry()?;
            drop(out);
            serve::serve(db, registry, bind, token).await?;
        }
    }
    Ok(0)
}

/// A database URL without its password, for logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

async fn list(
    db: &Database,
    filter: &Filter,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut query = filter.query();
    let mut remaining = filter.limit;
    if !json {
        writeln!(
            out,
            "{:<36}  {:<36}  {:>7}  {:<20}  TAGS",
            "ID", "CLASS", "VERSION", "CREATED"
        )?;
    }
    loop {
        let page = db.find(&query).await?;
        for record in &page.records {
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(record).map_err(std::io::Error::other)?
                )?;
            } else {
                let tags: Vec<String> = record
                    .tags
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                writeln!(
                    out,
                    "{:<36}  {:<36}  {:>7}  {:<20}  {}",
                    record.id,
                    record.class_id,
                    record.class_version,
                    record.created_at.format("%Y-%m-%d %H:%M:%S"),
                    tags.join(" ")
                )?;
            }
        }
        if let Some(remaining) = remaining.as_mut() {
            *remaining = remaining.saturating_sub(page.records.len());
            if *remaining == 0 {
                break;
            }
        }
        match page.next {
            Some(cursor) if !page.records.is_empty() => query = query.after(cursor),
            _ => break,
        }
    }
    Ok(())
}

async fn show(
    db: &Database,
    id: ManifestId,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let manifest = db.manifest(id).await?;
    let contents = db.contents(id).await?;
    if json {
        let both = serde_json::json!({ "manifest": manifest, "contents": contents });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&both).map_err(std::io::Error::other)?
        )?;
        return Ok(());
    }
    writeln!(out, "manifest {}", manifest.id)?;
    writeln!(
        out,
        "class    {} version {}",
        manifest.class_id, manifest.class_version
    )?;
    writeln!(out, "created  {}", manifest.created_at.to_rfc3339())?;
    for (key, value) in &manifest.tags {
        writeln!(out, "tag      {key}={value}")?;
    }
    if let Some(replaces) = manifest.replaces {
        writeln!(out, "replaces {replaces}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24}  {:<32}  {:>10}  {:<8}  {:<12}  HASH",
        "KEY", "TYPE", "SIZE", "ENCODING", "STORAGE"
    )?;
    for content in &contents {
        writeln!(
            out,
            "{:<24}  {:<32}  {:>10}  {:<8}  {:<12}  {}:{}",
            content.key,
            content.content_type,
            content.size,
            content.encoding.as_deref().unwrap_or("-"),
            content.storage_name,
            content.hash_algorithm,
            content.hash
        )?;
    }
    Ok(())
}

async fn cat(
    registry: &lakery::Registry,
    db: &Database,
    id: ManifestId,
    key: &str,
    output: Option<PathBuf>,
    raw: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let stored = lakery::read_content(registry, db, id, key).await?;
    let bytes = if raw { stored.data } else { stored.decoded()? };
    match output {
        None => out.write_all(&bytes)?,
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut file = tempfile::NamedTempFile::new_in(dir)?;
            file.write_all(&bytes)?;
            file.as_file().sync_all()?;
            file.persist(&path).map_err(|e| e.error)?;
        }
    }
    Ok(())
}

async fn verify(
    registry: &lakery::Registry,
    db: &Database,
    filter: &Filter,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let mut reporter = Reporter::new("verify", "contents");
    let report =
        lakery::verify_with_progress(registry, db, &filter.query(), |p| reporter.update(p)).await;
    reporter.finish();
    let report = report?;
    for problem in &report.problems {
        writeln!(
            out,
            "{:?}: manifest {} content `{}` in `{}`: {}",
            problem.kind, problem.manifest, problem.key, problem.storage, problem.error
        )?;
    }
    writeln!(
        out,
        "checked {} manifests, {} contents, {} bytes: {} problems",
        report.manifests,
        report.contents,
        report.bytes,
        report.problems.len()
    )?;
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

async fn gc(
    registry: &lakery::Registry,
    db: &Database,
    grace: Duration,
    yes: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let options = lakery::GcOptions::new().grace(grace).dry_run(!yes);
    let mut reporter = Reporter::new("gc", "blobs removed");
    let report =
        lakery::collect_garbage_with_progress(registry, db, options, |p| reporter.update(p)).await;
    reporter.finish();
    let report = report?;
    for blob in &report.removed {
        writeln!(
            out,
            "{:<12}  {:>10}  {}",
            blob.storage, blob.size, blob.config
        )?;
    }
    let size = progress::size(report.removed_bytes);
    let count = report.removed.len();
    if yes {
        writeln!(out, "removed {count} unreferenced blobs, {size}")?;
    } else {
        writeln!(
            out,
            "{count} unreferenced blobs, {size}: nothing removed; run again with --yes to remove them"
        )?;
    }
    writeln!(
        out,
        "kept {} referenced blobs and {} unreferenced blobs younger than {}",
        report.referenced,
        report.recent,
        humantime::format_duration(grace)
    )?;
    for name in &report.skipped_storages {
        writeln!(out, "skipped storage `{name}`: it cannot list its blobs")?;
    }
    Ok(())
}

/// How many manifests `rm` deletes in one statement.
const DELETE_CHUNK: usize = 200;

async fn rm(
    db: &Database,
    ids: Vec<ManifestId>,
    filter: &Filter,
    yes: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let records = match (ids.is_empty(), filter.is_empty()) {
        (false, true) if filter.limit.is_some() => {
            return Err(Failure::usage("--limit applies to a filter, not to ids"))
        }
        (false, true) => {
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            let mut records = Vec::with_capacity(ids.len());
            for id in ids {
                records.push(db.manifest(id).await?);
            }
            records
        }
        (true, false) => {
            let mut records = Vec::new();
            let mut query = filter.query();
            loop {
                let page = db.find(&query).await?;
                let done = page.records.is_empty();
                records.extend(page.records);
                if filter.limit.is_some_and(|limit| records.len() >= limit) {
                    records.truncate(filter.limit.unwrap_or(usize::MAX));
                    break;
                }
                match page.next {
                    Some(cursor) if !done => query = query.after(cursor),
                    _ => break,
                }
            }
            records
        }
        (false, false) => return Err(Failure::usage("give manifest ids or a filter, not both")),
        (true, true) => {
            return Err(Failure::usage(
                "give manifest ids, or a filter (--class, --tag, --since, --until); \
                 to delete everything, say --until with a time in the future",
            ))
        }
    };
    if records.is_empty() {
        writeln!(out, "no manifests match: nothing deleted")?;
        return Ok(());
    }
    for record in &records {
        writeln!(
            out,
            "{}  {}  {}",
            record.id,
            record.class_id,
            record.created_at.format("%Y-%m-%d %H:%M:%S")
        )?;
    }
    out.flush()?;
    let count = records.len();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(format!(
                "not deleting {count} manifests without confirmation: stdin is not a terminal, \
                 so give --yes"
            )));
        }
        eprint!("delete these {count} manifests? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Failure::usage("not confirmed: nothing deleted"));
        }
    }
    let mut reporter = Reporter::new("rm", "manifests deleted");
    let mut deleted = 0;
    let ids: Vec<ManifestId> = records.iter().map(|r| r.id).collect();
    for chunk in ids.chunks(DELETE_CHUNK) {
        match db.delete(chunk).await {
            Ok(n) => deleted += n,
            Err(e) => {
                reporter.finish();
                writeln!(
                    out,
                    "deleted {deleted} of {count} manifests before the failure"
                )?;
                return Err(e.into());
            }
        }
        reporter.show(deleted as u64, Some(count as u64), None);
    }
    reporter.finish();
    writeln!(
        out,
        "deleted {deleted} manifests; their blobs stay until `lakery gc` removes them"
    )?;
    Ok(())
}
