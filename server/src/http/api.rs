//! The API surface: `/res.php?action=getbalance` (the default account),
//! `/accounts/{name}/res.php?action=getbalance` (any account, in the same 2captcha shape
//! whatever its provider's protocol: the widget's `account` attribute), and the read-only
//! `GET /v1/accounts`, `GET /v1/accounts/{name}`, `GET /v1/accounts/{name}/history` and
//! `GET /v1/history` (the default account's, for a widget without `account`), and
//! `GET /v1/budget` (can an account pay for a batch). `POST /getBalance` and
//! `POST /accounts/{name}/getBalance` serve the same readings in the createTask family's protocol
//! (`{"errorId":0,"balance":12.345}`), for clients written for Anti-Captcha-style APIs; the
//! request body (its `clientKey`) is never read.
//!
//! Only a balance request is served; every other action (`get`, `reportbad` …) and every other
//! API path (`/in.php` …) is refused with 403 before anything is sent upstream, so the server
//! cannot be used as an open relay for the key. The client's own `key` parameter is never
//! forwarded (the server's key is used) and nothing from the query is ever logged.
//!
//! With `--token-env` the client's key is the door: a balance request must carry one of the
//! server's tokens as its `key` (2captcha family) or `clientKey` (createTask family), or as
//! `Authorization: Bearer`, else it gets the protocol's `ERROR_KEY_DOES_NOT_EXIST` and nothing
//! is read, not even whether the account exists ([`crate::http::access`]). Without tokens the
//! key is ignored and the body is never read, as before tokens existed.

use crate::accounts::account::Account;
use crate::accounts::budget::{self, Refusal};
use crate::http::access::balance_token;
use crate::state::AppState;
use crate::upstream::answer::{Answer, Format};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// `/res.php`, any method: the default account.
pub async fn res_php(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(refused) = refuse_key(&state, &method, &headers, query.as_deref()) {
        return refused;
    }
    let account = Arc::clone(state.default_account());
    balance(&state, &account, &method, query.as_deref()).await
}

/// `/accounts/{name}/res.php`, any method. An unknown name is a 404 in the 2captcha shape,
/// with a code no API sends (the widget shows it as an unknown error).
pub async fn account_res_php(
    State(state): State<AppState>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(refused) = refuse_key(&state, &method, &headers, query.as_deref()) {
        return refused;
    }
    match state.account(&name) {
        Some(account) => {
            let account = Arc::clone(account);
            balance(&state, &account, &method, query.as_deref()).await
        }
        None if method == Method::OPTIONS => preflight(GET),
        None => respond(&Answer::no_such_account(), format(query.as_deref())),
    }
}

/// `/getBalance`, any method: the default account, in the createTask family's protocol.
pub async fn get_balance(
    State(state): State<AppState>,
    method: Method,
    request: Request,
) -> Response {
    if let Some(refused) = refuse_client_key(&state, &method, request).await {
        return refused;
    }
    let account = Arc::clone(state.default_account());
    create_task_balance(&state, &account, &method).await
}

/// `/accounts/{name}/getBalance`, any method. An unknown name is a 404 with the createTask
/// family's error shape and the code of `/accounts/{name}/res.php`.
pub async fn account_get_balance(
    State(state): State<AppState>,
    Path(name): Path<String>,
    method: Method,
    request: Request,
) -> Response {
    if let Some(refused) = refuse_client_key(&state, &method, request).await {
        return refused;
    }
    match state.account(&name) {
        Some(account) => {
            let account = Arc::clone(account);
            create_task_balance(&state, &account, &method).await
        }
        None if method == Method::OPTIONS => preflight(POST),
        None => respond(&Answer::no_such_account(), Format::CreateTask),
    }
}

/// The key error of the 2captcha routes when tokens are set and the request shows none of them
/// (its `key`, or a bearer header); `None`: go on. A preflight (OPTIONS) needs no token.
fn refuse_key(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Option<Response> {
    if method == Method::OPTIONS || !state.access.requires_token() {
        return None;
    }
    // The first `key`, as the 2captcha API reads it.
    let key = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value);
    let key = key.as_deref().map(str::as_bytes);
    (!balance_token(state, headers, key)).then(|| respond(&Answer::key_refused(), format(query)))
}

/// The most of a createTask request body read for its `clientKey` (a real one is ~50 bytes).
const MAX_CLIENT_BODY: usize = 16 * 1024;

/// The `clientKey` of a createTask request (other members are not looked at).
#[derive(serde::Deserialize)]
struct ClientKey {
    #[serde(rename = "clientKey")]
    client_key: Option<String>,
}

/// The key error of the createTask routes when tokens are set and the request shows none of
/// them (a bearer header, or its body's `clientKey`: the body is read only then, at most
/// [`MAX_CLIENT_BODY`] bytes); `None`: go on.
async fn refuse_client_key(
    state: &AppState,
    method: &Method,
    request: Request,
) -> Option<Response> {
    if method == Method::OPTIONS || !state.access.requires_token() {
        return None;
    }
    let (parts, body) = request.into_parts();
    if balance_token(state, &parts.headers, None) {
        return None;
    }
    let key = match axum::body::to_bytes(body, MAX_CLIENT_BODY).await {
        Ok(bytes) => serde_json::from_slice::<ClientKey>(&bytes)
            .ok()
            .and_then(|body| body.client_key),
        Err(_) => None,
    };
    let key = key.as_deref().map(str::as_bytes);
    (!balance_token(state, &parts.headers, key))
        .then(|| respond(&Answer::key_refused(), Format::CreateTask))
}

/// Without tokens the body (the client's `clientKey`, and anything else) is not even read: the
/// server's key is used, and nothing a client sends is forwarded or logged.
async fn create_task_balance(state: &AppState, account: &Account, method: &Method) -> Response {
    if method == Method::OPTIONS {
        return preflight(POST);
    }
    if method != Method::POST {
        return respond(
            &Answer::not_allowed("only POST is served"),
            Format::CreateTask,
        );
    }
    respond(
        &account.verdict(&state.metrics).await.answer,
        Format::CreateTask,
    )
}

async fn balance(
    state: &AppState,
    account: &Account,
    method: &Method,
    query: Option<&str>,
) -> Response {
    if method == Method::OPTIONS {
        return preflight(GET);
    }
    let format = format(query);
    if method != Method::GET && method != Method::HEAD {
        return respond(&Answer::not_allowed("only GET is served"), format);
    }
    if let Err(why) = check_query(query.unwrap_or("")) {
        return respond(&Answer::not_allowed(why), format);
    }
    respond(&account.verdict(&state.metrics).await.answer, format)
}

fn format(query: Option<&str>) -> Format {
    Format::of_query(query.unwrap_or(""))
}

/// `GET /v1/accounts`: every account, in configuration order, each read through its own cache
/// (all at once, so the slowest upstream sets the time, not the sum).
pub async fn list_accounts(State(state): State<AppState>) -> Response {
    let reads: Vec<_> = state
        .accounts
        .iter()
        .map(|account| {
            let account = Arc::clone(account);
            let metrics = Arc::clone(&state.metrics);
            tokio::spawn(async move { account.view(&metrics).await })
        })
        .collect();
    let mut views = Vec::with_capacity(reads.len());
    for read in reads {
        match read.await {
            Ok(view) => views.push(view),
            Err(_) => return internal_error(),
        }
    }
    Json(AccountList { accounts: views }).into_response()
}

/// `GET /v1/accounts`' answer. A struct, not `json!`: each account's members keep the order of
/// `/v1/accounts/{name}` (a `json!` value would sort them).
#[derive(serde::Serialize)]
struct AccountList {
    accounts: Vec<crate::accounts::account::AccountView>,
}

/// `GET /v1/accounts/{name}`: one account, or 404 `{"error": …}`.
pub async fn get_account(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.account(&name) {
        Some(account) => Json(account.view(&state.metrics).await).into_response(),
        None => no_such_account(),
    }
}

/// `GET /v1/accounts/{name}/history`: the account's balance history as the server keeps it
/// (no upstream read), or the same 404 as `/v1/accounts/{name}`.
pub async fn get_history(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.account(&name) {
        Some(account) => Json(account.history()).into_response(),
        None => no_such_account(),
    }
}

/// `GET /v1/history`: the default account's history (the account `/res.php` serves), in the
/// same body as `/v1/accounts/{name}/history`, so a widget without `account` seeds its forecast
/// too. Never reads the upstream.
pub async fn get_default_history(State(state): State<AppState>) -> Response {
    Json(state.default_account().history()).into_response()
}

/// `GET /v1/budget?account=NAME&type=T&quantity=N`: can the account (the default one without
/// `account`) pay for a batch? See [`crate::accounts::budget`]. A bad parameter is a 400 naming it, an
/// unknown account the 404 of `/v1/accounts/{name}`, no good reading yet a 503.
pub async fn get_budget(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let request = match budget::parse(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(bad) => return (StatusCode::BAD_REQUEST, Json(bad)).into_response(),
    };
    let account = match &request.account {
        None => state.default_account(),
        Some(name) => match state.account(name) {
            Some(account) => account,
            None => return no_such_account(),
        },
    };
    let standing = account.standing(&state.metrics).await;
    match budget::answer(
        &account.name,
        &account.rates,
        &standing,
        request.kind,
        request.quantity,
    ) {
        Ok(view) => Json(view).into_response(),
        Err(Refusal::BadParameter(bad)) => (StatusCode::BAD_REQUEST, Json(bad)).into_response(),
        Err(Refusal::NoReading) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "no balance read for this account yet; try again later" })),
        )
            .into_response(),
    }
}

/// The 404 of the `/v1/accounts/{name}` routes.
fn no_such_account() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no account with this name; GET /v1/accounts lists them" })),
    )
        .into_response()
}

fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "internal error" })),
    )
        .into_response()
}

/// Any other `*.php` path, in the format its query asks for.
pub fn other_api_path(query: Option<&str>) -> Response {
    respond(
        &Answer::not_allowed("only /res.php?action=getbalance is served"),
        format(query),
    )
}

/// Allows `action=getbalance` (exactly once) and `json=1` or `json=0` (the format: see
/// [`Format`]). Other parameters (`key`,
/// `header_acao`, `soft_id`, cache busters) are ignored: nothing from the query is forwarded,
/// the key is the server's (or, with tokens, checked before this) and CORS is `--allow-origin`'s
/// alone (`header_acao=1` does not open the answer to every origin).
fn check_query(query: &str) -> Result<(), &'static str> {
    let mut actions = 0;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "action" if value == "getbalance" => actions += 1,
            "action" => return Err("only action=getbalance is served"),
            "json" if value != "1" && value != "0" => return Err("json must be 1 or 0"),
            _ => {}
        }
    }
    match actions {
        1 => Ok(()),
        0 => Err("only action=getbalance is served"),
        _ => Err("action must be given once"),
    }
}

/// The methods of the 2captcha routes' preflight.
const GET: &str = "GET, HEAD, OPTIONS";
/// The methods of the createTask routes' preflight.
const POST: &str = "POST, OPTIONS";

/// An `OPTIONS` request that is not an allowed origin's CORS preflight (those are answered by
/// [`crate::http::access::preflight`] for every route): the methods of the route, and no
/// `Access-Control-Allow-Origin`, so a browser on another origin gets no further.
fn preflight(methods: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    if methods == POST {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// An [`Answer`] in the format the client asked for.
pub fn respond(answer: &Answer, format: Format) -> Response {
    (
        answer.status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        answer.body(format).to_string(),
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
            "action=getbalance&json=0",
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
            "action=getbalance&json=2",
            "action=getbalance&json=true",
            "action=reportbad&json=1",
        ] {
            assert!(check_query(refused).is_err(), "{refused}");
        }
    }
}
