//! The API surface: `/res.php?action=getbalance` and nothing else.
//!
//! Only a balance request is served; every other action (`get`, `reportbad` …) and every other
//! API path (`/in.php` …) is refused with 403 before anything is sent upstream, so the server
//! cannot be used as an open relay for the key. The client's own `key` parameter is ignored
//! (the server's key is used) and nothing from the query is ever forwarded or logged.

use crate::answer::Answer;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// `/res.php`, any method.
pub async fn res_php(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    if method == Method::OPTIONS {
        return preflight();
    }
    if method != Method::GET && method != Method::HEAD {
        return json(&Answer::not_allowed("only GET is served"));
    }
    if let Err(why) = check_query(query.as_deref().unwrap_or("")) {
        return json(&Answer::not_allowed(why));
    }
    json(&state.verdict().await.answer)
}

/// Any other `*.php` path.
pub fn other_api_path() -> Response {
    json(&Answer::not_allowed(
        "only /res.php?action=getbalance is served",
    ))
}

/// Allows `action=getbalance` (exactly once) and `json=1`. Other parameters (`key`,
/// `header_acao`, `soft_id`, cache busters) are ignored: nothing from the query is forwarded,
/// the key is the server's and CORS is always on.
fn check_query(query: &str) -> Result<(), &'static str> {
    let mut actions = 0;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "action" if value == "getbalance" => actions += 1,
            "action" => return Err("only action=getbalance is served"),
            "json" if value != "1" => return Err("only json=1 answers are served"),
            _ => {}
        }
    }
    match actions {
        1 => Ok(()),
        0 => Err("only action=getbalance is served"),
        _ => Err("action must be given once"),
    }
}

/// CORS preflight: a page may send the balance request from any origin.
fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// An [`Answer`] as a JSON response.
pub fn json(answer: &Answer) -> Response {
    (
        answer.status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        answer.body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_balance_queries_pass() {
        for ok in [
            "action=getbalance&json=1",
            "action=getbalance",
            "key=whatever&action=getbalance&json=1&header_acao=1",
            "action=getbalance&json=1&soft_id=7&_=1700000000",
        ] {
            assert_eq!(check_query(ok), Ok(()), "{ok}");
        }
        for refused in [
            "",
            "json=1",
            "action=get&id=1&json=1",
            "action=getbalance&action=get",
            "action=getbalance&action=getbalance",
            "action=GETBALANCE",
            "action=getbalance&json=0",
            "action=reportbad&json=1",
        ] {
            assert!(check_query(refused).is_err(), "{refused}");
        }
    }
}
