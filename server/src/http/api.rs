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
//! `res.php` serves two actions: `getbalance`, and for an account of a provider that sells thread
//! plans (CaptchaAI) `threadsinfo` (`{"threads":10,"working_threads":3}`, the same check's
//! reading, from the same cache: what CaptchaAI's official SDK asks to validate its key). Each
//! by `GET` with the query or by `POST` with a form (`application/x-www-form-urlencoded`, read
//! up to 16 KiB; its fields and the query's are read together, as the API reads them), which is
//! how that SDK sends everything. `GET /v1/accounts/{name}/diagnose?error=ERROR_ZERO_BALANCE`
//! (and `/v1/diagnose` for the default account) says what an error a script got means for the
//! account now (the core's `reported_error_view`).
//!
//! Every other action (`get`, `reportbad` …) and every other API path (`/in.php` …) is refused
//! with 403 before anything is sent upstream, so the server cannot be used as an open relay for
//! the key. The client's own `key` parameter is never forwarded (the server's key is used) and
//! nothing from the query or the form is ever logged.
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
use captchaai_balance::error::{ApiError, ErrorCode};
use serde_json::json;
use std::sync::Arc;

/// `/res.php`, any method: the default account.
pub async fn res_php(State(state): State<AppState>, request: Request) -> Response {
    let asked = match Asked::read(request).await {
        Ok(asked) => asked,
        Err(refused) => return refused,
    };
    if let Some(refused) = refuse_key(&state, &asked) {
        return refused;
    }
    let account = Arc::clone(state.default_account());
    res(&state, &account, &asked).await
}

/// `/accounts/{name}/res.php`, any method. An unknown name is a 404 in the 2captcha shape,
/// with a code no API sends (the widget shows it as an unknown error).
pub async fn account_res_php(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let asked = match Asked::read(request).await {
        Ok(asked) => asked,
        Err(refused) => return refused,
    };
    if let Some(refused) = refuse_key(&state, &asked) {
        return refused;
    }
    match state.account(&name) {
        Some(account) => {
            let account = Arc::clone(account);
            res(&state, &account, &asked).await
        }
        None if asked.method == Method::OPTIONS => preflight(RES),
        None => respond(&Answer::no_such_account(), asked.format()),
    }
}

/// The most of a `res.php` form body read (the SDK's is under 100 bytes).
const MAX_FORM_BODY: usize = 16 * 1024;

/// A `res.php` request as the API reads it: its method, headers, and the fields of its query
/// and (a `POST` form) its body, the query's first.
struct Asked {
    method: Method,
    headers: HeaderMap,
    fields: Vec<(String, String)>,
}

impl Asked {
    /// Reads the request; a form over [`MAX_FORM_BODY`] is refused (413) unread.
    async fn read(request: Request) -> Result<Asked, Response> {
        let (parts, body) = request.into_parts();
        let query = parts.uri.query().unwrap_or("");
        let mut fields: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if parts.method == Method::POST && is_form(&parts.headers) {
            match axum::body::to_bytes(body, MAX_FORM_BODY).await {
                Ok(bytes) => fields.extend(form_urlencoded::parse(&bytes).into_owned()),
                Err(_) => {
                    let format = Format::of_fields(&fields);
                    return Err(respond(&Answer::too_large(), format));
                }
            }
        }
        Ok(Asked {
            method: parts.method,
            headers: parts.headers,
            fields,
        })
    }

    /// The format asked for: `json=1` in the query or the form.
    fn format(&self) -> Format {
        Format::of_fields(&self.fields)
    }

    /// The first `key`, as the 2captcha API reads it.
    fn key(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name == "key")
            .map(|(_, value)| value.as_str())
    }
}

/// True for `Content-Type: application/x-www-form-urlencoded` (any parameters, any case).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
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
/// (its `key`, in the query or the form, or a bearer header); `None`: go on. A preflight
/// (OPTIONS) needs no token.
fn refuse_key(state: &AppState, asked: &Asked) -> Option<Response> {
    if asked.method == Method::OPTIONS || !state.access.requires_token() {
        return None;
    }
    let key = asked.key().map(str::as_bytes);
    (!balance_token(state, &asked.headers, key))
        .then(|| respond(&Answer::key_refused(), asked.format()))
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

/// What `res.php` serves an account: its balance, or a thread plan's threads.
async fn res(state: &AppState, account: &Account, asked: &Asked) -> Response {
    if asked.method == Method::OPTIONS {
        return preflight(RES);
    }
    let format = asked.format();
    if !matches!(asked.method, Method::GET | Method::HEAD | Method::POST) {
        return respond(&Answer::not_allowed("only GET and POST are served"), format);
    }
    match check_fields(&asked.fields) {
        Err(why) => respond(&Answer::not_allowed(why), format),
        Ok(Action::GetBalance) => respond(&account.verdict(&state.metrics).await.answer, format),
        Ok(Action::ThreadsInfo) if !account.provider.info().threads => {
            respond(&Answer::no_threads(), format)
        }
        Ok(Action::ThreadsInfo) => {
            let verdict = account.verdict(&state.metrics).await;
            let answer = match &verdict.threads {
                Some(threads) => threads.answer.clone(),
                // A thread plan's check always carries its threads; never a guessed count.
                None => Answer::for_threads(&Err(ApiError::new(
                    ErrorCode::ServerError,
                    "threads not read",
                ))),
            };
            // Counts are JSON whatever the format: the API has no plain-text form of two
            // numbers (errors keep the format asked for, as the balance's do).
            let format = if answer.is_counts() {
                Format::Json
            } else {
                format
            };
            respond(&answer, format)
        }
    }
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

/// `GET /v1/accounts/{name}/diagnose?error=ERROR_ZERO_BALANCE`: what an error a script of
/// this account got means now (the core's `reported_error_view`, English): for a thread plan
/// whose money remains, all threads busy or no active plan, not "add funds". A bad `error` is a
/// 400 naming what is accepted, an unknown account the 404 of `/v1/accounts/{name}`.
pub async fn get_diagnose(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    match state.account(&name) {
        Some(account) => diagnose(&state, account, query.as_deref()).await,
        None => no_such_account(),
    }
}

/// `GET /v1/diagnose?error=…`: the same for the default account (the one `/res.php` serves).
pub async fn get_default_diagnose(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    diagnose(&state, state.default_account(), query.as_deref()).await
}

async fn diagnose(state: &AppState, account: &Account, query: Option<&str>) -> Response {
    let code = match reported_code(query.unwrap_or("")) {
        Ok(code) => code,
        Err(why) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": why, "parameter": "error" })),
            )
                .into_response()
        }
    };
    match account.reported_error(&state.metrics, code).await {
        Some(view) => Json(Diagnosed {
            account: &account.name,
            view,
        })
        .into_response(),
        None => internal_error(),
    }
}

/// `/v1/accounts/{name}/diagnose`'s answer: the account, then the core's error view (`code`,
/// `detail`, `message`, `cause`, `fix`, `severity`, `diagnosis`).
#[derive(serde::Serialize)]
struct Diagnosed<'a> {
    account: &'a str,
    #[serde(flatten)]
    view: captchaai_balance::view::ErrorView,
}

/// The API error texts a script may report: every code of the core's table that a provider's
/// API sends, by its canonical text (other spellings of a row are read too).
fn reportable() -> impl Iterator<Item = ErrorCode> {
    ErrorCode::all()
        .filter(|code| ErrorCode::from_api(code.api_code()) == Some(*code))
        .filter(|code| *code != ErrorCode::NoSuchAccount)
}

/// The code of the one `error` parameter (any API text of the core's table, any case).
fn reported_code(query: &str) -> Result<ErrorCode, String> {
    let mut texts = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "error")
        .map(|(_, value)| value.into_owned());
    let accepted = || {
        reportable()
            .map(ErrorCode::api_code)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (texts.next(), texts.next()) {
        (None, _) => Err(format!(
            "error is required: the API's error text a script got ({})",
            accepted()
        )),
        (Some(_), Some(_)) => Err("error must be given once".to_string()),
        (Some(text), None) => ErrorCode::from_api(text.trim())
            .filter(|code| reportable().any(|c| c == *code))
            .ok_or_else(|| format!("unknown error text; accepted: {}", accepted())),
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
        &Answer::not_allowed("only /res.php (getbalance, threadsinfo) is served"),
        Format::of_query(query.unwrap_or("")),
    )
}

/// What a `res.php` request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// `action=getbalance`.
    GetBalance,
    /// `action=threadsinfo` (a thread plan's threads).
    ThreadsInfo,
}

/// Allows `action=getbalance` or `action=threadsinfo` (exactly once, query and form together)
/// and `json=1` or `json=0` (the format: see [`Format`]). Other fields (`key`, `header_acao`,
/// `soft_id`, cache busters) are ignored: nothing a client sends is forwarded, the key is the
/// server's (or, with tokens, checked before this) and CORS is `--allow-origin`'s alone
/// (`header_acao=1` does not open the answer to every origin).
fn check_fields(fields: &[(String, String)]) -> Result<Action, &'static str> {
    const ONLY: &str = "only action=getbalance and action=threadsinfo are served";
    let mut actions = Vec::new();
    for (name, value) in fields {
        match (name.as_str(), value.as_str()) {
            ("action", "getbalance") => actions.push(Action::GetBalance),
            ("action", "threadsinfo") => actions.push(Action::ThreadsInfo),
            ("action", _) => return Err(ONLY),
            ("json", json) if json != "1" && json != "0" => return Err("json must be 1 or 0"),
            _ => {}
        }
    }
    match actions.as_slice() {
        [action] => Ok(*action),
        [] => Err(ONLY),
        _ => Err("action must be given once"),
    }
}

/// The methods of the 2captcha routes' preflight.
const RES: &str = "GET, HEAD, POST, OPTIONS";
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

    fn fields(query: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn reported_errors_are_api_texts() {
        #[rustfmt::skip]
        let cases = [
            ("error=ERROR_ZERO_BALANCE",      Some(ErrorCode::ZeroBalance)),
            ("error=error_zero_balance",      Some(ErrorCode::ZeroBalance)),
            ("error=ERROR_NO_SLOT_AVAILABLE", Some(ErrorCode::NoSlotAvailable)),
            ("error=IP_BANNED&_=17",          Some(ErrorCode::IpBanned)),
            ("error=zero_balance",            None),
            ("error=ERROR_NO_SUCH_ACCOUNT",   None),
            ("error=",                        None),
            ("",                              None),
            ("error=ERROR_ZERO_BALANCE&error=ERROR_ZERO_BALANCE", None),
        ];
        for (query, want) in cases {
            assert_eq!(reported_code(query).ok(), want, "{query}");
        }
        let why = reported_code("error=nope").expect_err("refused");
        assert!(
            why.contains("ERROR_ZERO_BALANCE, ") && why.contains("ERROR_NO_SLOT_AVAILABLE"),
            "{why}"
        );
    }

    #[test]
    fn only_balance_and_threads_queries_pass() {
        #[rustfmt::skip]
        let served = [
            ("action=getbalance&json=1",                              Action::GetBalance),
            ("action=getbalance",                                     Action::GetBalance),
            ("key=whatever&action=getbalance&json=1&header_acao=1",   Action::GetBalance),
            ("action=getbalance&json=1&soft_id=7&_=1700000000",       Action::GetBalance),
            ("action=getbalance&json=0",                              Action::GetBalance),
            ("key=k&action=threadsinfo&json=1",                       Action::ThreadsInfo),
            ("action=threadsinfo",                                    Action::ThreadsInfo),
        ];
        for (ok, action) in served {
            assert_eq!(check_fields(&fields(ok)), Ok(action), "{ok}");
        }
        for refused in [
            "",
            "json=1",
            "action=get&id=1&json=1",
            "action=getbalance&action=get",
            "action=getbalance&action=getbalance",
            "action=getbalance&action=threadsinfo",
            "action=GETBALANCE",
            "action=THREADSINFO",
            "action=getbalance&json=2",
            "action=getbalance&json=true",
            "action=reportbad&json=1",
        ] {
            assert!(check_fields(&fields(refused)).is_err(), "{refused}");
        }
    }
}
