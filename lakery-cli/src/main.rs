//! `lakery`: look at what lakery stored without writing a program.
//!
//! Every command takes the database (`--database URL` or `LAKERY_DATABASE_URL`) and the
//! storage configuration (`--storages FILE`, default `lakery.toml`), since storages are
//! not in the database. Exit codes: 0 done, 1 `verify` found problems (or `ls`, `show`
//! or `rm` met a manifest row they could not read, named on stderr), 2 bad usage or
//! configuration (or a deletion not confirmed), 3 no such manifest or content (or a
//! content whose bytes are gone), 4 the database or a storage failed.

mod commands;
mod config;
mod failure;
mod filter;
mod logging;
mod progress;
mod shown;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use lakery::{Database, ManifestId};

use crate::config::Config;
use crate::failure::Failure;
use crate::filter::Filter;

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

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
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
        Err(failure) => failure.report(),
    }
}

/// Connects, reads the storage configuration where the command needs it, and runs the
/// command; its exit code. Commands that only look open the database and the storages
/// read-only, so that a mistyped path is an error rather than a new, empty database or
/// storage.
async fn run(cli: Cli) -> Result<u8, Failure> {
    let Some(url) = &cli.database else {
        return Err(Failure::usage(
            "no database: give --database URL or set LAKERY_DATABASE_URL",
        ));
    };
    let storages = Storages {
        path: &cli.storages,
        named: std::env::var_os("LAKERY_STORAGES").is_some()
            || std::env::args().any(|arg| arg == "--storages" || arg.starts_with("--storages=")),
    };
    let access = cli.command.access();
    let db = connect(url, access).await?;
    let mut out = std::io::stdout().lock();
    let done = |()| 0;
    match cli.command {
        Command::Migrate => commands::migrate::run(&db, &mut out).await.map(done),
        Command::Ls { filter, json } => commands::ls::run(&db, &filter, json, &mut out).await,
        Command::Show { id, json } => commands::show::run(&db, id, json, &mut out).await,
        Command::Cat {
            id,
            key,
            output,
            raw,
        } => {
            let registry = storages.registry(access)?;
            commands::cat::run(&registry, &db, id, &key, output, raw, &mut out)
                .await
                .map(done)
        }
        Command::Verify { filter } => {
            let registry = storages.registry(access)?;
            commands::verify::run(&registry, &db, &filter, &mut out).await
        }
        Command::Gc { grace, yes } => {
            let registry = storages.registry(access)?;
            commands::gc::run(&registry, &db, grace, yes, &mut out)
                .await
                .map(done)
        }
        Command::Rm { ids, filter, yes } => {
            commands::rm::run(&db, ids, &filter, yes, &mut out).await
        }
        Command::Serve { bind, token } => {
            let registry = storages.registry(access)?;
            drop(out);
            commands::serve::run(db, registry, bind, token)
                .await
                .map(done)
        }
    }
}

/// Whether a command changes what is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadOnly,
    ReadWrite,
}

impl Command {
    /// `migrate`, `gc` and `rm` change what is stored; the others only look.
    fn access(&self) -> Access {
        match self {
            Command::Migrate | Command::Gc { .. } | Command::Rm { .. } => Access::ReadWrite,
            Command::Ls { .. }
            | Command::Show { .. }
            | Command::Cat { .. }
            | Command::Verify { .. }
            | Command::Serve { .. } => Access::ReadOnly,
        }
    }
}

/// Opens the database; its URL appears in messages only without its secrets.
async fn connect(url: &str, access: Access) -> Result<Database, Failure> {
    let shown = lakery::redact_url(url);
    tracing::debug!("connecting to {shown}");
    let db = match access {
        Access::ReadOnly => Database::connect_read_only(url).await,
        Access::ReadWrite => Database::connect(url).await,
    };
    db.map_err(|e| Failure::from(e).hiding_secrets_of(url))
}

/// The storage configuration file, read only by the commands that need a storage: a
/// mistake in it does not stop `ls`, `show`, `rm` or `migrate`.
struct Storages<'a> {
    path: &'a std::path::Path,
    /// Whether the file was asked for by name, so that its absence is an error.
    named: bool,
}

impl Storages<'_> {
    fn registry(&self, access: Access) -> Result<lakery::Registry, Failure> {
        Config::read(self.path, self.named)?.registry(access == Access::ReadWrite)
    }
}
