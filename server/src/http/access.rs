//! What a request must show, and what a browser page of another origin may read
//! ([`crate::config::access::Access`] holds the settings).
//!
//! - **Tokens.** With `--token-env`, `/v1/*`, `/metrics` and the mock control API need
//!   `Authorization: Bearer TOKEN` ([`require_token`], a layer on those routes only); the
//!   balance routes (`/res.php`, `/getBalance` and their `/accounts/{name}/` forms) take the token
//!   as the client's API key (`key` in the query, `clientKey` in the body), which is what the
//!   official client libraries send, or as a bearer header ([`balance_token`]). `/healthz` and
//!   the widget's files stay open. A token is compared in constant time and never logged.
//! - **CORS.** No `Access-Control-Allow-Origin` unless the request's `Origin` is one of
//!   `--allow-origin`: then that origin, with `Vary: Origin`, and its preflights are answered
//!   here ([`cors`]). The 2captcha protocol's `header_acao=1` asks an API for `*`; this server
//!   ignores it (a page of any origin could then read the balance).
//! - **The mock control API** ([`guard_mock`]) also refuses a request whose `Host` names a host
//!   other than `localhost` or an IP address: a page whose DNS name was rebound to this machine
//!   sends its own name as `Host`.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::net::{IpAddr, Ipv6Addr};
use tracing::debug;

/// The token of `Authorization: Bearer TOKEN` (the scheme in any case), if any.
pub fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| token.trim_ascii())
}

/// True when a balance request may be answered: no token is asked for, or the request's
/// bearer header or its API key (`key`, `clientKey`: `key`) is one of the tokens.
pub fn balance_token(state: &AppState, headers: &HeaderMap, key: Option<&[u8]>) -> bool {
    let access = &state.access;
    if !access.requires_token() {
        return true;
    }
    let by_header = bearer(headers).is_some_and(|t| access.accepts(t));
    let by_key = key.is_some_and(|k| access.accepts(k));
    if !(by_header || by_key) {
        debug!("balance request without a valid token refused");
    }
    by_header | by_key
}

/// The layer on the routes that need `Authorization: Bearer` when tokens are set.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let access = &state.access;
    if !access.requires_token() || bearer(request.headers()).is_some_and(|t| access.accepts(t)) {
        return next.run(request).await;
    }
    debug!(path = %request.uri().path(), "request without a valid token refused");
    unauthorized()
}

/// 401 with the scheme to use.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"captchaai-balance\""),
        )],
        Json(json!({ "error": "this server needs a token: send Authorization: Bearer TOKEN" })),
    )
        .into_response()
}

/// The mock control API's layer: only requests addressed to this machine by address or as
/// `localhost` (DNS rebinding), and the token when tokens are set. Outside mock mode the
/// handlers answer 404 themselves.
pub async fn guard_mock(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.mock_mode {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if !host.is_some_and(names_this_machine) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "the mock control API only answers requests addressed to localhost or an IP address (Host)" })),
        )
            .into_response();
    }
    require_token(State(state), request, next).await
}

/// True for a `Host` of `localhost` or an IP literal (with or without a port): names no DNS
/// rebinding can use. Any IP address is allowed: the server's own (off loopback) included.
pub fn names_this_machine(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, port)) if port.is_empty() || is_port(port) => {
                return v6.parse::<Ipv6Addr>().is_ok()
            }
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        },
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

fn is_port(text: &str) -> bool {
    text.strip_prefix(':')
        .unwrap_or(text)
        .bytes()
        .all(|b| b.is_ascii_digit())
}

/// The allowed origin of a request, if it sent one of `--allow-origin`.
fn allowed_origin(state: &AppState, headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get(header::ORIGIN)
        .filter(|origin| state.access.allows_origin(origin.as_bytes()))
        .cloned()
}

/// The preflight of an allowed origin, answered here for every route: any of the methods the
/// routes serve, with `Authorization` (a token) and `Content-Type` (JSON bodies). `None` for
/// anything else: other origins' preflights get no CORS header (the browser refuses them).
pub fn preflight(state: &AppState, request: &Request) -> Option<Response> {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !preflight {
        return None;
    }
    let origin = allowed_origin(state, request.headers())?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Some(response)
}

/// The CORS headers of an answer: the origin when it is allowed, and `Vary: Origin` whenever
/// the answer depends on it (an origin list is set), so no cache hands one origin's answer to
/// another.
pub fn cors(state: &AppState, request_headers: &HeaderMap, response: &mut Response) {
    if state.access.allowed_origins.is_empty() {
        return;
    }
    let origin = allowed_origin(state, request_headers);
    let headers = response.headers_mut();
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_this_machine() {
        for good in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "10.0.0.7:80",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(names_this_machine(good), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[::1]x",
            "[evil]:80",
            "localhost:80:80",
            "localhost:http",
            "",
        ] {
            assert!(!names_this_machine(bad), "{bad}");
        }
    }

    #[test]
    fn bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc "),
        );
        assert_eq!(bearer(&headers), Some(&b"abc"[..]));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&headers), Some(&b"abc"[..]));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bear"));
        assert_eq!(bearer(&headers), None);
    }
}
