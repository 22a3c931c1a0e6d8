//! The token: checked when the server starts, and, when one is set, required on every
//! request.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::{IpAddr, SocketAddr};

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

/// The `Host` headers a viewer without a token answers: the loopback address it is
/// bound to, by number or as `localhost`. A page elsewhere that rebinds its own name
/// to 127.0.0.1 (DNS rebinding) sends its own name, and is refused.
pub fn loopback_hosts(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    let mut hosts = vec![address.to_string(), format!("localhost:{port}")];
    if port == 80 {
        // Browsers leave out the default port.
        let ip = match address.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        hosts.extend([ip, "localhost".to_owned()]);
    }
    hosts
}

/// Requires the token, when one is set, on every request; `?token=` on a page sets
/// the cookie that a browser then sends, and redirects to the same page without it.
/// Without a token, requires a `Host` of [`loopback_hosts`].
pub async fn authorize(State(app): Shared, request: Request, next: Next) -> Response {
    let Some(token) = &app.token else {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        if host.as_ref().is_some_and(|host| app.hosts.contains(host)) {
            return next.run(request).await;
        }
        tracing::debug!("refused a request for host {host:?}");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this lakery viewer answers only requests for {}; give it a --token to \
                 serve it under other names\n",
                app.hosts.join(" or ")
            ),
        )
            .into_response();
    };
    // Digests compared, not the tokens: as long whatever is given, so that the time
    // taken says nothing of the token's length either.
    let expected = lakery::Digest::of(token.as_bytes()).hex();
    let matches = |given: &str| {
        use subtle::ConstantTimeEq;
        let given = lakery::Digest::of(given.as_bytes()).hex();
        bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
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
    if query_token(query).is_some_and(|given| matches(&given)) {
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

/// The `token` parameter of a query string, percent-decoded but with `+` kept as it is:
/// a token may hold `+` (as base64 does), and holds no space for a form's `+` to stand
/// for.
fn query_token(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "token")
        .map(|(_, value)| {
            percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_the_query_keeps_its_plus_signs() {
        assert_eq!(
            query_token("a=1&token=ab+c/d%3D%2B").as_deref(),
            Some("ab+c/d=+")
        );
        assert_eq!(query_token("tokens=x"), None);
    }

    #[test]
    fn loopback_hosts_name_the_bound_address() {
        let hosts = loopback_hosts("127.0.0.1:8080".parse().unwrap());
        assert_eq!(hosts, ["127.0.0.1:8080", "localhost:8080"]);
        let hosts = loopback_hosts("[::1]:80".parse().unwrap());
        assert_eq!(hosts, ["[::1]:80", "localhost:80", "[::1]", "localhost"]);
    }
}
