//! `lakery serve`: a read-only JSON API and HTML viewer of what is stored.
//!
//! Routes, all `GET`:
//!
//! - `/`: the manifests, newest first, with filters (`class`, `tag=KEY=VALUE`
//!   repeated, `since`, `until`) and paging (`after`, `limit`);
//! - `/manifests/{id}`: a manifest, its contents and a preview of each;
//! - `/api/manifests`: the list as JSON, `{"manifests": [...], "next": cursor}`;
//! - `/api/manifests/{id}`: `{"manifest": ..., "contents": [...]}`;
//! - `/api/manifests/{id}/contents/{key}`: a content's bytes, hash-checked, with its
//!   encoding undone, under its stored content type (`?download` to save it);
//! - `/style.css`.
//!
//! Stored content never runs as page or script: every response says
//! `X-Content-Type-Options: nosniff` and carries a Content-Security-Policy without
//! scripts; content bytes are served in a sandbox, and active types (HTML, SVG, XML,
//! JavaScript) as plain text; previews are escaped. With a token, every request needs it,
//! as `Authorization: Bearer TOKEN` or the cookie that `/?token=TOKEN` sets.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use lakery::{ContentRecord, Database, ManifestId, ManifestRecord, Registry};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::preview::{self, Preview};
use crate::{Failure, Filter};

/// Manifests per page unless `limit` says otherwise, and the most it may say.
const PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// What every page and response may load: its own stylesheet and images, nothing else.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                           form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// Content bytes opened on their own: in a sandbox, so nothing in them runs.
const CONTENT_POLICY: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; \
                              sandbox; frame-ancestors 'none'";

/// At most this many contents are previewed on one manifest's page.
const MAX_PREVIEWS: usize = 40;
/// Contents larger than this, stored or decompressed, are not served whole from
/// memory: `lakery cat` streams them to a file.
const MAX_SERVED: u64 = 256 << 20;
/// Reads of content (previews and bytes) at once; the rest wait their turn.
const READS_AT_ONCE: usize = 4;

struct App {
    db: Database,
    registry: Registry,
    token: Option<String>,
    /// The cookie that carries the token: named by port, since browsers share cookies
    /// between the ports of a host.
    cookie: String,
    reads: tokio::sync::Semaphore,
}

type Shared = State<Arc<App>>;

/// Serves until interrupted (Ctrl-C or SIGTERM).
pub async fn serve(
    db: Database,
    registry: Registry,
    bind: SocketAddr,
    token: Option<String>,
) -> Result<(), Failure> {
    if let Some(token) = &token {
        check_token(token)?;
    } else if !bind.ip().is_loopback() {
        return Err(Failure::usage(format!(
            "{bind} is not a loopback address: give --token (or LAKERY_TOKEN) so that \
             not everyone who can reach it can read what is stored"
        )));
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| Failure {
            code: 2,
            message: format!("cannot listen on {bind}: {e}"),
        })?;
    let address = listener.local_addr()?;
    let app = Arc::new(App {
        db,
        registry,
        token,
        cookie: format!("lakery_token_{}", address.port()),
        reads: tokio::sync::Semaphore::new(READS_AT_ONCE),
    });
    let router = Router::new()
        .route("/", get(list_page))
        .route("/manifests/{id}", get(manifest_page))
        .route("/api/manifests", get(list_json))
        .route("/api/manifests/{id}", get(manifest_json))
        .route("/api/manifests/{id}/contents/{key}", get(content_bytes))
        .route("/style.css", get(style))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .layer(middleware::from_fn(secure_headers))
        .with_state(app);
    // The first line of output, for scripts and tests that asked for port 0.
    println!("serving on http://{address}/");
    tracing::info!("read-only viewer on http://{address}/; Ctrl-C stops it");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
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

// --- Security -------------------------------------------------------------------------

/// A token must be long enough to guess at no better than chance, and made of what a
/// header and a cookie carry as they are.
fn check_token(token: &str) -> Result<(), Failure> {
    if token.len() < 8 {
        return Err(Failure::usage(
            "the token is empty or shorter than 8 characters; give a longer one \
             (`openssl rand -hex 16` makes one)",
        ));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
    {
        return Err(Failure::usage(
            "the token may hold only letters, digits and - . _ ~ + / =",
        ));
    }
    Ok(())
}

/// Requires the token, when one is set, on every request; `?token=` on a page sets
/// the cookie that a browser then sends, and redirects to the same page without it.
async fn authorize(State(app): Shared, request: Request, next: Next) -> Response {
    let Some(token) = &app.token else {
        return next.run(request).await;
    };
    let matches = |given: &str| {
        use subtle::ConstantTimeEq;
        bool::from(given.as_bytes().ct_eq(token.as_bytes()))
    };
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, given)| given.trim());
    let mut cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == app.cookie)
        .map(|(_, value)| value);
    if bearer.is_some_and(matches) || cookies.any(matches) {
        return next.run(request).await;
    }
    let query = request.uri().query().unwrap_or("");
    let from_query = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    if from_query.as_deref().is_some_and(matches) {
        let rest: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "token"),
            )
            .finish();
        // A path of this server, never `//elsewhere`: no redirect leaves it.
        let path = format!("/{}", request.uri().path().trim_start_matches(['/', '\\']));
        let target = if rest.is_empty() {
            path
        } else {
            format!("{path}?{rest}")
        };
        let cookie = format!("{}={token}; Path=/; HttpOnly; SameSite=Strict", app.cookie);
        let mut response = Redirect::to(&target).into_response();
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return response;
    }
    tracing::debug!("refused {} without the token", request.uri().path());
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "this lakery viewer needs its token: send `Authorization: Bearer TOKEN`, \
         or open /?token=TOKEN in a browser\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Headers on every response, the refused ones included.
async fn secure_headers(request: Request, next: Next) -> Response {
    let is_content = request.uri().path().contains("/contents/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if is_content {
            CONTENT_POLICY
        } else {
            PAGE_POLICY
        }),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// --- Errors ---------------------------------------------------------------------------

/// A failed request: its status, and a message shown as a page or as JSON.
struct Problem {
    status: StatusCode,
    message: String,
    json: bool,
}

impl Problem {
    fn bad_request(message: impl Into<String>, json: bool) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            json,
        }
    }

    fn from_error(error: lakery::Error, json: bool) -> Problem {
        let status = match &error {
            lakery::Error::ManifestNotFound(_) | lakery::Error::MissingContent { .. } => {
                StatusCode::NOT_FOUND
            }
            lakery::Error::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!("{error}");
        }
        Problem {
            status,
            message: error.to_string(),
            json,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        if self.json {
            let body = serde_json::json!({ "error": self.message });
            return (self.status, Json(body)).into_response();
        }
        let title = self.status.canonical_reason().unwrap_or("Error");
        let page = layout(
            title,
            html! {
                h1 { (title) }
                p.error { (self.message) }
                p { a href="/" { "All manifests" } }
            },
        );
        (self.status, page).into_response()
    }
}

async fn not_found() -> Problem {
    Problem {
        status: StatusCode::NOT_FOUND,
        message: "no such page".to_owned(),
        json: false,
    }
}

fn manifest_id(text: &str, json: bool) -> Result<ManifestId, Problem> {
    text.parse()
        .map_err(|_| Problem::bad_request(format!("`{text}` is not a manifest id"), json))
}

// --- Listing --------------------------------------------------------------------------

/// The list's parameters, from a query string where `tag` repeats.
#[derive(Default)]
struct ListParams {
    filter: Filter,
    after: Option<lakery::Cursor>,
    /// The tags as given, for the form.
    tag_texts: Vec<String>,
    since_text: String,
    until_text: String,
}

impl ListParams {
    fn parse(query: Option<&str>, json: bool) -> Result<ListParams, Problem> {
        let mut params = ListParams::default();
        let bad = |m: String| Problem::bad_request(m, json);
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match &*key {
                "class" => {
                    params.filter.class = Some(
                        value
                            .parse()
                            .map_err(|_| bad(format!("class `{value}` is not a UUID")))?,
                    )
                }
                "tag" => {
                    params
                        .filter
                        .tags
                        .push(crate::parse_tag(value).map_err(bad)?);
                    params.tag_texts.push(value.to_owned());
                }
                "since" => {
                    params.filter.since = Some(crate::parse_time(value).map_err(bad)?);
                    params.since_text = value.to_owned();
                }
                "until" => {
                    params.filter.until = Some(crate::parse_time(value).map_err(bad)?);
                    params.until_text = value.to_owned();
                }
                "limit" => {
                    let limit: usize = value
                        .parse()
                        .map_err(|_| bad(format!("limit `{value}` is not a number")))?;
                    params.filter.limit = Some(limit.clamp(1, MAX_PAGE));
                }
                "after" => {
                    params.after = Some(
                        value
                            .parse()
                            .map_err(|e: lakery::Error| bad(e.to_string()))?,
                    )
                }
                "token" => {}
                other => return Err(bad(format!("unknown parameter `{other}`"))),
            }
        }
        params.filter.limit.get_or_insert(PAGE);
        Ok(params)
    }

    fn query(&self) -> lakery::Query {
        let query = self.filter.query();
        match self.after {
            Some(cursor) => query.after(cursor),
            None => query,
        }
    }

    /// This list's query string with `after` set to `cursor`.
    fn next_link(&self, cursor: lakery::Cursor) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(class) = self.filter.class {
            out.append_pair("class", &class.to_string());
        }
        for tag in &self.tag_texts {
            out.append_pair("tag", tag);
        }
        if !self.since_text.is_empty() {
            out.append_pair("since", &self.since_text);
        }
        if !self.until_text.is_empty() {
            out.append_pair("until", &self.until_text);
        }
        if let Some(limit) = self.filter.limit.filter(|l| *l != PAGE) {
            out.append_pair("limit", &limit.to_string());
        }
        out.append_pair("after", &cursor.to_string());
        format!("/?{}", out.finish())
    }
}

async fn list_json(State(app): Shared, RawQuery(query): RawQuery) -> Result<Response, Problem> {
    let params = ListParams::parse(query.as_deref(), true)?;
    let page = app
        .db
        .find(&params.query())
        .await
        .map_err(|e| Problem::from_error(e, true))?;
    let next = page.next.map(|cursor| cursor.to_string());
    Ok(Json(serde_json::json!({ "manifests": page.records, "next": next })).into_response())
}

async fn list_page(State(app): Shared, RawQuery(query): RawQuery) -> Result<Markup, Problem> {
    let params = ListParams::parse(query.as_deref(), false)?;
    let page = app
        .db
        .find(&params.query())
        .await
        .map_err(|e| Problem::from_error(e, false))?;
    let class_text = params
        .filter
        .class
        .map(|c| c.to_string())
        .unwrap_or_default();
    Ok(layout(
        "Manifests",
        html! {
            h1 { "Manifests" }
            form.filters method="get" action="/" {
                label { "Class " input type="text" name="class" value=(class_text) placeholder="class id"; }
                @for tag in &params.tag_texts {
                    label { "Tag " input type="text" name="tag" value=(tag); }
                }
                label { "Tag " input id="new-tag" type="text" name="tag" placeholder="key=value"; }
                label { "Since " input type="text" name="since" value=(params.since_text) placeholder="2026-01-01"; }
                label { "Until " input type="text" name="until" value=(params.until_text) placeholder="2026-12-31"; }
                button id="apply" type="submit" { "Filter" }
                " " a href="/" { "Clear" }
            }
            @if page.records.is_empty() {
                p.empty { "No manifests match." }
            } @else {
                table.manifests {
                    thead { tr { th { "Id" } th { "Class" } th { "Version" } th { "Created (UTC)" } th { "Tags" } } }
                    tbody {
                        @for record in &page.records {
                            (manifest_row(record))
                        }
                    }
                }
            }
            @if let Some(cursor) = page.next {
                p { a id="next" rel="next" href=(params.next_link(cursor)) { "Next page →" } }
            }
        },
    ))
}

fn manifest_row(record: &ManifestRecord) -> Markup {
    html! {
        tr.manifest {
            td { a.manifest-link href={ "/manifests/" (record.id) } { code { (record.id) } } }
            td { a href={ "/?class=" (record.class_id) } { code { (record.class_id) } } }
            td.number { (record.class_version) }
            td { (record.created_at.format("%Y-%m-%d %H:%M:%S")) }
            td.tags {
                @for (key, value) in &record.tags {
                    a.tag href=(tag_link(key, value)) { (key) "=" (value) } " "
                }
            }
        }
    }
}

fn tag_link(key: &str, value: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("tag", &format!("{key}={value}"))
        .finish();
    format!("/?{query}")
}

// --- One manifest ---------------------------------------------------------------------

/// The manifest of the id in the path, and its contents.
async fn manifest_and_contents(
    app: &App,
    id: &str,
    json: bool,
) -> Result<(ManifestRecord, Vec<ContentRecord>), Problem> {
    let id = manifest_id(id, json)?;
    let failed = |e| Problem::from_error(e, json);
    let manifest = app.db.manifest(id).await.map_err(failed)?;
    let contents = app.db.contents(id).await.map_err(failed)?;
    Ok((manifest, contents))
}

async fn manifest_json(State(app): Shared, Path(id): Path<String>) -> Result<Response, Problem> {
    let (manifest, contents) = manifest_and_contents(&app, &id, true).await?;
    Ok(Json(serde_json::json!({ "manifest": manifest, "contents": contents })).into_response())
}

async fn manifest_page(State(app): Shared, Path(id): Path<String>) -> Result<Markup, Problem> {
    let (manifest, contents) = manifest_and_contents(&app, &id, false).await?;
    let id = manifest.id;
    let mut previews = Vec::with_capacity(contents.len());
    for (n, content) in contents.iter().enumerate() {
        if n >= MAX_PREVIEWS {
            previews.push(Preview::Skipped);
            continue;
        }
        let _turn = app.reads.acquire().await;
        previews.push(preview::of(&app.registry, &app.db, content).await);
    }
    Ok(layout(
        &format!("Manifest {id}"),
        html! {
            p { a href="/" { "← All manifests" } }
            h1 { "Manifest " code { (manifest.id) } }
            dl.manifest {
                dt { "Class" } dd { code { (manifest.class_id) } " version " (manifest.class_version) }
                dt { "Created" } dd { (manifest.created_at.to_rfc3339()) }
                @if let Some(replaces) = manifest.replaces {
                    dt { "Replaces" } dd { a href={ "/manifests/" (replaces) } { code { (replaces) } } }
                }
                dt { "Tags" }
                dd {
                    @for (key, value) in &manifest.tags {
                        a.tag href=(tag_link(key, value)) { (key) "=" (value) } " "
                    }
                }
            }
            h2 { "Contents" }
            table.contents {
                thead { tr { th { "Key" } th { "Type" } th { "Size" } th { "Encoding" } th { "Storage" } th { "Hash" } th {} } }
                tbody {
                    @for content in &contents {
                        tr {
                            td { a href={ "#content-" (content.key) } { code { (content.key) } } }
                            td { code { (content.content_type) } }
                            td.number title={ (content.size) " bytes" } { (crate::progress::size(content.size)) }
                            td { (content.encoding.as_deref().unwrap_or("–")) }
                            td { (content.storage_name) }
                            td { code.hash title=(content.hash) { (content.hash_algorithm) ":" (content.hash.get(..12).unwrap_or(&content.hash)) "…" } }
                            td { a href={ (content_url(content)) "?download" } { "Download" } }
                        }
                    }
                }
            }
            @for (content, preview) in contents.iter().zip(&previews) {
                section.content id={ "content-" (content.key) } data-key=(content.key) {
                    h3 { code { (content.key) } " " small { (content.content_type) } }
                    (render_preview(content, preview))
                    p { a.download href={ (content_url(content)) "?download" } { "Download " (content.key) } }
                }
            }
        },
    ))
}

/// What a path segment must escape: all but unreserved characters.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL of a content's bytes.
fn content_url(content: &ContentRecord) -> String {
    let key = percent_encoding::utf8_percent_encode(&content.key, PATH_SEGMENT);
    format!("/api/manifests/{}/contents/{key}", content.manifest_id)
}

fn render_preview(content: &ContentRecord, preview: &Preview) -> Markup {
    match preview {
        Preview::Image => html! {
            img.preview src=(content_url(content)) alt=(content.key);
        },
        Preview::Json { text, truncated } => html! {
            pre.preview.json { (text) }
            @if *truncated { p.note { "Only the beginning is shown." } }
        },
        Preview::Text { text, truncated } => html! {
            pre.preview.text { (text) }
            @if *truncated { p.note { "Only the beginning is shown." } }
        },
        Preview::Table {
            columns,
            rows,
            total_rows,
        } => html! {
            table.preview.data {
                thead { tr { @for column in columns { th { (column) } } } }
                tbody {
                    @for row in rows {
                        tr { @for cell in row { td { (cell) } } }
                    }
                }
            }
            p.note {
                @match total_rows {
                    Some(total) => { "First " (rows.len()) " of " (total) " rows." }
                    None => { "First " (rows.len()) " rows." }
                }
            }
        },
        Preview::Hex { dump, size, more } => html! {
            pre.preview.hex { (dump) }
            p.note {
                @if *more { "More than " }
                (crate::progress::size(*size)) " (" (size) " bytes) decompressed; the first "
                ((*size).min(512)) " bytes shown."
            }
        },
        Preview::Skipped => html! {
            p.note { "Not previewed: this page previews the first " (MAX_PREVIEWS) " contents." }
        },
        Preview::TooLarge { size } => html! {
            p.note { "Too large to preview here (" (crate::progress::size(*size)) "): download it." }
        },
        Preview::Failed(message) => html! {
            p.error { "Cannot preview it: " (message) }
        },
    }
}

// --- Bytes ----------------------------------------------------------------------------

async fn content_bytes(
    State(app): Shared,
    Path((id, key)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let id = manifest_id(&id, true)?;
    let failed = |e| Problem::from_error(e, true);
    let too_large = || Problem {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!(
            "content `{key}` is larger than the viewer serves ({}); \
             `lakery cat {id} {key} -o FILE` writes it",
            crate::progress::size(MAX_SERVED)
        ),
        json: true,
    };
    let record = app
        .db
        .contents(id)
        .await
        .map_err(failed)?
        .into_iter()
        .find(|c| c.key == key)
        .ok_or_else(|| {
            failed(lakery::Error::MissingContent {
                manifest: id,
                key: key.clone(),
            })
        })?;
    if record.size > MAX_SERVED {
        return Err(too_large());
    }
    let _turn = app.reads.acquire().await;
    let stored = lakery::read_content(&app.registry, &app.db, id, &key)
        .await
        .map_err(failed)?;
    let (bytes, more) = tokio::task::spawn_blocking(move || {
        let decoded = stored.decoded_up_to(MAX_SERVED as usize);
        (decoded, stored.content_type)
    })
    .await
    .map_err(|e| failed(lakery::Error::Task(Box::new(e))))
    .and_then(|(decoded, content_type)| {
        decoded
            .map(|(b, more)| ((b, content_type), more))
            .map_err(failed)
    })?;
    if more {
        return Err(too_large());
    }
    let (bytes, content_type) = bytes;
    let mut headers = HeaderMap::new();
    let content_type = preview::served_type(&content_type);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let download = query.as_deref().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "download" && !matches!(&*v, "0" | "false" | "no"))
    });
    if download {
        let name: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let extension = preview::extension(&record.content_type);
        let disposition = format!("attachment; filename=\"{name}{extension}\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok((headers, bytes).into_response())
}

// --- Layout ---------------------------------------------------------------------------

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · lakery" }
                link rel="stylesheet" href="/style.css";
            }
            body {
                header { a.brand href="/" { "lakery" } }
                main { (body) }
            }
        }
    }
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        PreEscaped(include_str!("style.css")).into_string(),
    )
}
