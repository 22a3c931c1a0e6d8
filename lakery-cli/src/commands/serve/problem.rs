//! A failed request, answered as a page or as JSON.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lakery::ManifestId;
use maud::html;

use super::pages::layout;

/// A failed request: its status, and a message shown as a page or as JSON.
pub struct Problem {
    pub status: StatusCode,
    pub message: String,
    pub json: bool,
}

impl Problem {
    pub fn bad_request(message: impl Into<String>, json: bool) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            json,
        }
    }

    pub fn from_error(error: lakery::Error, json: bool) -> Problem {
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

pub async fn not_found() -> Problem {
    Problem {
        status: StatusCode::NOT_FOUND,
        message: "no such page".to_owned(),
        json: false,
    }
}

pub fn manifest_id(text: &str, json: bool) -> Result<ManifestId, Problem> {
    text.parse()
        .map_err(|_| Problem::bad_request(format!("`{text}` is not a manifest id"), json))
}
