//! The JSON API and a content's bytes.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::preview;
use super::problem::{manifest_id, Problem};
use super::Shared;

/// Contents larger than this, stored or decompressed, are not served whole from
/// memory: `lakery cat` streams them to a file.
const MAX_SERVED: u64 = 256 << 20;

pub async fn list_json(State(app): Shared, RawQuery(query): RawQuery) -> Result<Response, Problem> {
    let (_, page) = app.list(query.as_deref(), true).await?;
    let next = page.next.map(|cursor| cursor.to_string());
    Ok(Json(serde_json::json!({ "manifests": page.records, "next": next })).into_response())
}

pub async fn manifest_json(
    State(app): Shared,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (manifest, contents) = app.manifest_and_contents(&id, true).await?;
    Ok(Json(serde_json::json!({ "manifest": manifest, "contents": contents })).into_response())
}

// --- Bytes ----------------------------------------------------------------------------

pub async fn content_bytes(
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
