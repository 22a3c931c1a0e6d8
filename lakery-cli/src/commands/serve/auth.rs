//! The token: checked when the server starts, and, when one is set, required on every
//! request.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::Shared;
use crate::failure::Failure;

/// A token must be long enough to guess at no better than chance, and made of what a
/// header and a cookie carry as they are.
pub fn check_token(token: &str) -> Result<(), Failure> {
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
pub async fn authorize(State(app): Shared, request: Request, next: Next) -> Response {
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
