//! The headers every response carries, so that stored content never runs as page or
//! script.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// What every page and response may load: its own stylesheet and images, nothing else.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                           form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// Content bytes opened on their own: in a sandbox, so nothing in them runs.
const CONTENT_POLICY: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; \
                              sandbox; frame-ancestors 'none'";

/// Headers on every response, the refused ones included.
pub async fn secure_headers(request: Request, next: Next) -> Response {
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
