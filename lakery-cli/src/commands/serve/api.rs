//! The JSON API and a content's bytes.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::{self, StreamExt};

use super::preview;
use super::problem::{manifest_id, Problem};
use super::Shared;

pub async fn list_json(State(app): Shared, RawQuery(query): RawQuery) -> Result<Response, Problem> {
    let (_, page) = app.list(query.as_deref(), true).await?;
    let next = page.next.map(|cursor| cursor.to_string());
    // Rows that cannot be read are reported by id; the others are listed all the same.
    let unreadable: Vec<_> = page
        .unreadable
        .iter()
        .map(|row| serde_json::json!({ "id": row.id, "reason": row.reason }))
        .collect();
    Ok(Json(serde_json::json!({
        "manifests": page.records,
        "unreadable": unreadable,
        "next": next,
    }))
    .into_response())
}

pub async fn manifest_json(
    State(app): Shared,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (manifest, contents) = app.manifest_and_contents(&id, true).await?;
    Ok(Json(serde_json::json!({ "manifest": manifest, "contents": contents })).into_response())
}

// --- Bytes ----------------------------------------------------------------------------

/// How much of a content is read before its status is sent: a content this small is
/// checked whole first, so that bytes not matching their hash are a 500 that says why;
/// past it, they cut the body off (a client sees an incomplete response, never a
/// complete wrong one).
const CHECKED_FIRST: usize = 1 << 20;

/// A content's bytes, streamed: read, hash-checked and decompressed as they are sent,
/// in bounded pieces, holding a turn of [`READS_AT_ONCE`](super::READS_AT_ONCE) until
/// the last byte is sent.
pub async fn content_bytes(
    State(app): Shared,
    Path((id, key)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let id = manifest_id(&id, true)?;
    let failed = |e| Problem::from_error(e, true);
    let turn = app
        .reads
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Problem {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the viewer is stopping".to_owned(),
            json: true,
        })?;
    let content = lakery::stream_content(&app.registry, &app.db, id, &key)
        .await
        .map_err(failed)?;
    let stored_type = content.content_type().to_owned();
    let mut chunks = content.into_stream(true);
    let mut first = Vec::new();
    let mut held = 0;
    let mut ended = false;
    while held < CHECKED_FIRST {
        match chunks.next().await {
            Some(Ok(chunk)) => {
                held += chunk.len();
                first.push(Ok(chunk));
            }
            Some(Err(e)) => return Err(failed(e)),
            None => {
                ended = true;
                break;
            }
        }
    }
    let rest = if ended {
        stream::empty().boxed()
    } else {
        chunks
    };
    let body = stream::iter(first).chain(rest).map(move |chunk| {
        // The turn is given back when the body is dropped: sent, or its client gone.
        let _turn = &turn;
        chunk.inspect_err(|e| tracing::warn!("cut a content's body off: {e}"))
    });

    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&preview::served_type(&stored_type))
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
        let extension = preview::extension(&stored_type);
        let disposition = format!("attachment; filename=\"{name}{extension}\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok((headers, Body::from_stream(body)).into_response())
}
