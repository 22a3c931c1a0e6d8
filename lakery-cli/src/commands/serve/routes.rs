//! The route table: which handler answers each URL, behind which layers.

use std::sync::Arc;

use axum::middleware;
use axum::routing::get;
use axum::Router;

use super::problem::not_found;
use super::{api, auth, headers, pages, App};

/// Every route, all `GET`; the token is checked before any handler runs, and the
/// secure headers go on every response, refusals included.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(pages::list_page))
        .route("/manifests/{id}", get(pages::manifest_page))
        .route("/api/manifests", get(api::list_json))
        .route("/api/manifests/{id}", get(api::manifest_json))
        .route(
            "/api/manifests/{id}/contents/{key}",
            get(api::content_bytes),
        )
        .route("/style.css", get(pages::style))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), auth::authorize))
        .layer(middleware::from_fn(headers::secure_headers))
        .with_state(app)
}
