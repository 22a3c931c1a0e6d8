//! `lakery serve`: a read-only JSON API and HTML viewer of what is stored.
//!
//! Routes, all `GET`:
//!
//! - `/`: the manifests, newest first, with filters (`class`, `tag=KEY=VALUE`
//!   repeated, `since`, `until`) and paging (`after`, `limit`);
//! - `/manifests/{id}`: a manifest, its contents and a preview of each;
//! - `/api/manifests`: the list as JSON, `{"manifests": [...], "unreadable": [{"id",
//!   "reason"}], "next": cursor}`, rows that cannot be read reported by id;
//! - `/api/manifests/{id}`: `{"manifest": ..., "contents": [...]}`;
//! - `/api/manifests/{id}/contents/{key}`: a content's bytes, streamed: hash-checked
//!   and its encoding undone as they are sent, under its stored content type
//!   (`?download` to save it); bytes that turn out not to match cut the body off;
//! - `/style.css`.
//!
//! Stored content never runs as page or script: every response says
//! `X-Content-Type-Options: nosniff` and carries a Content-Security-Policy without
//! scripts; content bytes are served in a sandbox, and active types (HTML, SVG, XML,
//! JavaScript) as plain text; previews are escaped. With a token, every request needs it,
//! as `Authorization: Bearer TOKEN` or the cookie that `/?token=TOKEN` sets; without
//! one, only requests for the loopback address it is bound to are answered (`Host`), so
//! that another site cannot reach it by DNS rebinding.
//!
//! Every request is bounded: a list's query string and parameters are capped (see
//! `params`), at most [`READS_AT_ONCE`] contents are read at once, each turn held until
//! its body is sent, and previews read at most 16 MiB of a content, checking what a
//! Parquet file's pages claim before they are decompressed.

mod api;
mod auth;
mod headers;
mod pages;
mod params;
mod parquet_pages;
mod preview;
mod problem;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use lakery::{ContentRecord, Database, ManifestRecord, Page, Registry};

use self::params::ListParams;
use self::problem::{manifest_id, Problem};
use crate::failure::Failure;

/// Reads of content (previews and bytes) at once; the rest wait their turn.
const READS_AT_ONCE: usize = 4;

struct App {
    db: Database,
    registry: Registry,
    token: Option<String>,
    /// The `Host` headers answered without a token.
    hosts: Vec<String>,
    /// The cookie that carries the token: named by port, since browsers share cookies
    /// between the ports of a host.
    cookie: String,
    /// Held from the start of a content's read until its last byte is sent.
    reads: Arc<tokio::sync::Semaphore>,
}

type Shared = State<Arc<App>>;

/// Serves until interrupted (Ctrl-C or SIGTERM).
pub async fn run(
    db: Database,
    registry: Registry,
    bind: SocketAddr,
    token: Option<String>,
) -> Result<(), Failure> {
    if let Some(token) = &token {
        auth::check_token(token)?;
    } else if !bind.ip().is_loopback() {
        return Err(Failure::usage(format!(
            "{bind} is not a loopback address: give --token (or LAKERY_TOKEN) so that \
             not everyone who can reach it can read what is stored"
        )));
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {bind}: {e}")))?;
    let address = listener.local_addr()?;
    let app = Arc::new(App {
        db,
        registry,
        token,
        hosts: auth::loopback_hosts(address),
        cookie: format!("lakery_token_{}", address.port()),
        reads: Arc::new(tokio::sync::Semaphore::new(READS_AT_ONCE)),
    });
    let router = routes::router(app);
    // The first line of output, for scripts and tests that asked for port 0.
    println!("serving on http://{address}/");
    tracing::info!("read-only viewer on http://{address}/; Ctrl-C stops it");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

impl App {
    /// The list's parameters from a query string, and the page of manifests they select.
    async fn list(&self, query: Option<&str>, json: bool) -> Result<(ListParams, Page), Problem> {
        let params = ListParams::parse(query).map_err(|m| Problem::bad_request(m, json))?;
        let page = self
            .db
            .find(&params.query())
            .await
            .map_err(|e| Problem::from_error(e, json))?;
        Ok((params, page))
    }

    /// The manifest of the id in the path, and its contents.
    async fn manifest_and_contents(
        &self,
        id: &str,
        json: bool,
    ) -> Result<(ManifestRecord, Vec<ContentRecord>), Problem> {
        let id = manifest_id(id, json)?;
        let failed = |e| Problem::from_error(e, json);
        let manifest = self.db.manifest(id).await.map_err(failed)?;
        let contents = self.db.contents(id).await.map_err(failed)?;
        Ok((manifest, contents))
    }
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
