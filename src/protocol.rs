//! The two balance protocols (docs/API.md): the request to send and the reading of an answer.
//!
//! - 2captcha family: `GET {endpoint}/res.php?key=…&action=getbalance&json=1`. Errors arrive
//!   with HTTP 200 (always read the body), the balance is a decimal string or a JSON number.
//! - createTask family: `POST {endpoint}/getBalance` with `{"clientKey": KEY}`; the answer is
//!   `{"errorId":0,"balance":12.3456}` (a JSON number, read exactly from its text) or
//!   `{"errorId":N,"errorCode":"ERROR_…"}`, sometimes with a 4xx status.
//!
//! Either host sometimes answers a CDN's HTML page instead. Whatever comes back, [`classify_for`]
//! returns a balance or a typed error: never a panic, never a guessed balance.
//!
//! A provider that sells thread plans (CaptchaAI) is also asked `threadsinfo`, as its official
//! SDK asks it: `POST {endpoint}/res.php` with the form `key`, `action=threadsinfo`, `json=1`;
//! the answer `{"threads":10,"working_threads":3}` or the family's error shape
//! ([`threads_request`], [`classify_threads`]).

use crate::error::{ApiError, ErrorCode};
use crate::money::Money;
use crate::provider::Family;
use crate::threads::{Threads, ThreadsOutcome};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// CaptchaAI's API host (the first provider's, and the server's default upstream).
pub const DEFAULT_ENDPOINT: &str = "https://ocr.captchaai.com";

/// Bodies longer than this are not a balance answer (a 2captcha answer is ~40 bytes). The
/// length is that of the whole body, white space included: a reader that stops after this many
/// bytes plus one (the server does) reaches the same verdict as one that read everything, and
/// `12.34` followed by kilobytes of spaces and `GARBAGE` can never be read as 12.34.
pub const MAX_ANSWER_LEN: usize = 4096;

/// Why an endpoint is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointError {
    /// Not `http://` or `https://` followed by a host.
    NotHttp,
    /// Holds a query, fragment, credentials or white space.
    Unsupported,
}

/// Checks and normalises an endpoint: `https://host[:port][/path]`, trailing slashes removed.
/// An empty endpoint means the default.
pub fn normalize_endpoint(endpoint: &str) -> Result<String, EndpointError> {
    let endpoint = endpoint.trim();
    if endpoint.is_empty() {
        return Ok(DEFAULT_ENDPOINT.to_string());
    }
    let lower = endpoint.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if let Some(r) = lower.strip_prefix("http://") {
        r
    } else {
        return Err(EndpointError::NotHttp);
    };
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    if host.is_empty() || host.starts_with(':') {
        return Err(EndpointError::NotHttp);
    }
    if endpoint.len() > 2048
        || endpoint
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '@'))
    {
        return Err(EndpointError::Unsupported);
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

/// True when the endpoint is CaptchaAI's own host (a key is then required).
pub fn is_default_endpoint(endpoint: &str) -> bool {
    normalize_endpoint(endpoint).is_ok_and(|e| e.eq_ignore_ascii_case(DEFAULT_ENDPOINT))
}

/// The getbalance URL. `key` is omitted when empty (a same-origin proxy adds it server-side)
/// and percent-encoded otherwise (a custom provider's key may hold `&`, `+`, `#`, `/` or `=`);
/// `acao` asks 2captcha-compatible hosts for `Access-Control-Allow-Origin: *` (direct browser
/// mode).
///
/// The result holds the key: never print or log it.
pub fn balance_url(endpoint: &str, key: &str, acao: bool) -> Result<String, EndpointError> {
    Ok(format!(
        "{}/res.php?{}",
        normalize_endpoint(endpoint)?,
        res_php_fields(key, "getbalance", acao)
    ))
}

/// The fields of a 2captcha-family `res.php` call, percent-encoded (a query or a form body):
/// `key` (left out when empty: a proxy adds it), `action`, `json=1`, and `header_acao=1` when
/// `acao`.
fn res_php_fields(key: &str, action: &str, acao: bool) -> String {
    let mut fields = form_urlencoded::Serializer::new(String::new());
    if !key.is_empty() {
        fields.append_pair("key", key);
    }
    fields.append_pair("action", action);
    fields.append_pair("json", "1");
    if acao {
        fields.append_pair("header_acao", "1");
    }
    fields.finish()
}

/// Where captchaai-balance-server keeps the history of the account an endpoint names:
/// `{server}/accounts/{name}` -> `{server}/v1/accounts/{name}/history`, `{server}` (its default
/// account) -> `{server}/v1/history`. `None` for an unusable endpoint.
pub fn server_history_url(endpoint: &str) -> Option<String> {
    let endpoint = normalize_endpoint(endpoint).ok()?;
    Some(match endpoint.rsplit_once("/accounts/") {
        Some((server, name)) if !name.is_empty() && !name.contains('/') => {
            format!("{server}/v1/accounts/{name}/history")
        }
        _ => format!("{endpoint}/v1/history"),
    })
}

/// One request to a provider's API (the balance, or a plan's threads), as gloo-net (the wasm
/// module) or the server's HTTP client sends it.
///
/// It holds the key (in the URL or the body): never print or log it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// The body of a `POST`, of type [`ApiRequest::content_type`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body's media type (`application/json`, or a form).
    pub content_type: &'static str,
}

/// The media type of a JSON body.
pub const JSON: &str = "application/json";
/// The media type of a form body.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The createTask family's `getBalance` body.
#[derive(Serialize)]
struct GetBalance<'a> {
    /// The key; left out when empty (a proxy adds it).
    #[serde(rename = "clientKey", skip_serializing_if = "str::is_empty")]
    client_key: &'a str,
}

/// The request that asks `endpoint` for the balance of `key` in a family's protocol. An empty
/// key is left out (a proxy adds it); `acao` asks 2captcha-compatible hosts for
/// `Access-Control-Allow-Origin: *` (direct browser mode; createTask hosts send CORS headers
/// on their own).
pub fn balance_request(
    family: Family,
    endpoint: &str,
    key: &str,
    acao: bool,
) -> Result<ApiRequest, EndpointError> {
    match family {
        Family::TwoCaptcha => Ok(ApiRequest {
            method: "GET",
            url: balance_url(endpoint, key, acao)?,
            body: None,
            content_type: JSON,
        }),
        Family::CreateTask => Ok(ApiRequest {
            method: "POST",
            url: format!("{}/getBalance", normalize_endpoint(endpoint)?),
            body: serde_json::to_string(&GetBalance { client_key: key }).ok(),
            content_type: JSON,
        }),
    }
}

/// The request that asks `endpoint` for the threads of `key`'s plan, as the provider's official
/// SDK sends it: `POST {endpoint}/res.php` with the form `key`, `action=threadsinfo`, `json=1`
/// (the key percent-encoded in the body, never in the URL). An empty key is left out (a proxy
/// adds it); `acao` asks for `Access-Control-Allow-Origin: *` (direct browser mode).
pub fn threads_request(endpoint: &str, key: &str, acao: bool) -> Result<ApiRequest, EndpointError> {
    Ok(ApiRequest {
        method: "POST",
        url: format!("{}/res.php", normalize_endpoint(endpoint)?),
        body: Some(res_php_fields(key, "threadsinfo", acao)),
        content_type: FORM,
    })
}

/// Reads a `threadsinfo` answer: `{"threads":10,"working_threads":3}` (whole numbers, or
/// numeric strings), or the 2captcha family's error in JSON (`{"status":0,"request":"ERROR_…"}`)
/// or plain text, or a transport failure, as for the balance. Never a guessed count.
pub fn classify_threads(status: u16, content_type: Option<&str>, body: &str) -> ThreadsOutcome {
    let text = body.trim();
    if body.len() <= MAX_ANSWER_LEN && !text.starts_with('{') {
        if let Some(code) = ErrorCode::from_api(text) {
            return Err(ApiError::new(code, text.to_ascii_uppercase()));
        }
    }
    if let Some(failure) = transport_failure(status, content_type, body) {
        return Err(failure);
    }
    let malformed = |what: &str| Err(ApiError::new(ErrorCode::Malformed, what));
    if !text.starts_with('{') {
        if is_api_shaped_code(text) {
            return Err(ApiError::new(ErrorCode::Unknown, text));
        }
        return malformed(if text.is_empty() {
            "empty answer"
        } else {
            "not a threads answer"
        });
    }
    let Some(answer) = json_members(text) else {
        return malformed("broken JSON");
    };
    let count = |name: &str| answer.get(name).and_then(|raw| scalar_text(raw));
    match (count("threads"), count("working_threads")) {
        (Some(threads), Some(working)) => match (threads.parse::<u32>(), working.parse::<u32>()) {
            (Ok(threads), Ok(working_threads)) if (200..300).contains(&status) => Ok(Threads {
                threads,
                working_threads,
            }),
            (Ok(_), Ok(_)) => malformed(&http_status(status)),
            _ => malformed("threads are not whole numbers"),
        },
        // No counts: the family's error shape, or nothing this reader knows.
        _ => match classify_json(status, &answer) {
            Ok(_) => malformed("no threads field"),
            Err(e) if e.code == ErrorCode::Malformed => malformed("no threads field"),
            Err(e) => Err(e),
        },
    }
}

/// Reads one HTTP answer of a family's protocol into a balance or a typed error.
pub fn classify_for(
    family: Family,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<Money, ApiError> {
    match family {
        Family::TwoCaptcha => classify(status, content_type, body),
        Family::CreateTask => classify_create_task(status, content_type, body),
    }
}

/// A 5xx status or an HTML page (a CDN or proxy error page, whatever its status).
fn server_failed(status: u16, content_type: Option<&str>, text: &str) -> bool {
    status >= 500
        || text.starts_with('<')
        || content_type.is_some_and(|c| {
            c.as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"html"))
        })
}

/// `HTTP 502`: what a failed check shows of the status.
fn http_status(status: u16) -> String {
    format!("HTTP {status}")
}

/// A JSON object's members with each value's text as written: a balance sent as a JSON
/// number keeps its exact digits. `None` when the text is not a JSON object (a key given twice
/// keeps its last value).
fn json_members(text: &str) -> Option<HashMap<String, &RawValue>> {
    serde_json::from_str(text).ok()
}

/// What an API wrote for a member: a string's contents or a number's digits; `None` for
/// anything else (`null`, an object, a list, a boolean).
fn scalar_text(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str(text).ok(),
        b'-' | b'0'..=b'9' => Some(text.to_string()),
        _ => None,
    }
}

/// What an answer that is not the protocol's JSON says: too long, a rate limit, a server or
/// CDN failure. `None` when the body must be read as the protocol's answer.
fn transport_failure(status: u16, content_type: Option<&str>, body: &str) -> Option<ApiError> {
    let text = body.trim();
    let server_failed = server_failed(status, content_type, text);
    let http = || http_status(status);
    if body.len() > MAX_ANSWER_LEN {
        return Some(if server_failed {
            ApiError::new(ErrorCode::ServerError, http())
        } else {
            ApiError::new(ErrorCode::Malformed, "answer too long")
        });
    }
    if text.starts_with('{') {
        return None;
    }
    if status == 429 {
        return Some(ApiError::new(ErrorCode::RateLimited, http()));
    }
    if server_failed {
        return Some(ApiError::new(ErrorCode::ServerError, http()));
    }
    None
}

/// The createTask form. CapSolver answers a rejected key with HTTP 401 and the JSON error, so
/// the body is read whatever the status.
fn classify_create_task(
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<Money, ApiError> {
    if let Some(failure) = transport_failure(status, content_type, body) {
        return Err(failure);
    }
    let malformed = |what: &str| Err(ApiError::new(ErrorCode::Malformed, what));
    let text = body.trim();
    if text.is_empty() {
        return malformed("empty answer");
    }
    let Some(answer) = json_members(text) else {
        return malformed("not a createTask answer");
    };
    let member = |name: &str| answer.get(name).and_then(|raw| scalar_text(raw));
    let Some(error_id) = member("errorId") else {
        return malformed("no errorId field");
    };
    if error_id == "0" {
        return match member("balance") {
            Some(balance) => match Money::parse(&balance) {
                Ok(balance) if (200..300).contains(&status) => Ok(balance),
                Ok(_) => malformed(&http_status(status)),
                Err(_) => malformed("balance is not a number"),
            },
            None => malformed("no balance field"),
        };
    }
    let code = answer
        .get("errorCode")
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
        .unwrap_or_default();
    let code = code.as_str();
    if let Some(known) = ErrorCode::from_api(code) {
        return Err(ApiError::new(known, code.to_ascii_uppercase()));
    }
    if status == 429 {
        return Err(ApiError::new(ErrorCode::RateLimited, http_status(status)));
    }
    if is_api_shaped_code(code) {
        return Err(ApiError::new(ErrorCode::Unknown, code));
    }
    malformed("unexpected answer")
}

/// Reads one HTTP answer of the 2captcha family into a balance or a typed error.
pub fn classify(status: u16, content_type: Option<&str>, body: &str) -> Result<Money, ApiError> {
    let text = body.trim();
    // A known code in plain text wins over the status (a 429 that says ERROR_ZERO_BALANCE is
    // about the balance); the rest of the transport checks are the createTask family's
    // (`transport_failure`), shared rather than written twice.
    if body.len() <= MAX_ANSWER_LEN && !text.starts_with('{') {
        if let Some(code) = ErrorCode::from_api(text) {
            return Err(ApiError::new(code, text.to_ascii_uppercase()));
        }
    }
    if let Some(failure) = transport_failure(status, content_type, body) {
        return Err(failure);
    }
    if text.starts_with('{') {
        return match json_members(text) {
            Some(answer) => classify_json(status, &answer),
            None if server_failed(status, content_type, text) => {
                Err(ApiError::new(ErrorCode::ServerError, http_status(status)))
            }
            None => Err(ApiError::new(ErrorCode::Malformed, "broken JSON")),
        };
    }
    if text.is_empty() {
        return Err(ApiError::new(ErrorCode::Malformed, "empty answer"));
    }
    if is_api_shaped_code(text) {
        return Err(ApiError::new(ErrorCode::Unknown, text));
    }
    match Money::parse(text) {
        Ok(balance) if (200..300).contains(&status) => Ok(balance),
        Ok(_) => Err(ApiError::new(ErrorCode::Malformed, http_status(status))),
        Err(_) => Err(ApiError::new(ErrorCode::Malformed, "not a balance")),
    }
}

/// The JSON form: `{"status":1,"request":"12.345"}`. The members keep their text as written,
/// so a balance sent as a JSON number keeps its exact digits.
fn classify_json(status: u16, answer: &HashMap<String, &RawValue>) -> Result<Money, ApiError> {
    let malformed = |what: &str| Err(ApiError::new(ErrorCode::Malformed, what));
    let request_text = match answer.get("request") {
        None => return malformed("no request field"),
        Some(raw) if raw.get() == "null" => return malformed("no request field"),
        Some(raw) => match scalar_text(raw) {
            Some(text) => text,
            None => return malformed("request is not text or a number"),
        },
    };
    let ok = answer
        .get("status")
        .and_then(|raw| scalar_text(raw))
        .as_deref()
        == Some("1");
    if ok {
        return match Money::parse(&request_text) {
            Ok(balance) if (200..300).contains(&status) => Ok(balance),
            Ok(_) => malformed(&http_status(status)),
            Err(_) => malformed("balance is not a number"),
        };
    }
    if let Some(code) = ErrorCode::from_api(&request_text) {
        return Err(ApiError::new(code, request_text.to_ascii_uppercase()));
    }
    if status == 429 {
        return Err(ApiError::new(ErrorCode::RateLimited, http_status(status)));
    }
    if status >= 500 {
        return Err(ApiError::new(ErrorCode::ServerError, http_status(status)));
    }
    if is_api_shaped_code(&request_text) {
        return Err(ApiError::new(ErrorCode::Unknown, request_text));
    }
    malformed("unexpected answer")
}

/// `ERROR_SOMETHING`-shaped text: shown verbatim as an unknown code. Anything else from the
/// server (markup, prose) is never echoed. Every code the APIs send has an underscore
/// (`ERROR_…`, `IP_BANNED`); requiring one keeps a key echoed in upper case (32 hex
/// characters) from passing as a code.
fn is_api_shaped_code(text: &str) -> bool {
    (3..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && text.bytes().any(|b| b.is_ascii_uppercase())
        && text.contains('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_api_shaped_codes() {
        let long = |n: usize| "E_".to_string() + &"X".repeat(n - 2);
        #[rustfmt::skip]
        let cases = [
            ("ERROR_NEW_THING", true),
            ("IP_BANNED",       true),
            ("A_B",             true),
            ("E_1",             true),
            ("A_",              false),
            ("_1_",             false),
            ("ABC",             false),
            ("error_x",         false),
            ("ERROR-X",         false),
            ("ERROR_X ",        false),
            ("ERROR_É",         false),
            (&long(64),         true),
            (&long(65),         false),
        ];
        for (text, want) in cases {
            assert_eq!(is_api_shaped_code(text), want, "{text}");
        }
    }

    #[test]
    fn threads_are_asked_by_post_form_with_the_key_in_the_body() {
        let r = threads_request("https://ocr.captchaai.com/", "ab&c+d#e/f=g", false).unwrap();
        assert_eq!(
            (r.method, r.url.as_str(), r.content_type),
            ("POST", "https://ocr.captchaai.com/res.php", FORM)
        );
        assert_eq!(
            r.body.as_deref(),
            Some("key=ab%26c%2Bd%23e%2Ff%3Dg&action=threadsinfo&json=1")
        );
        let proxy = threads_request("http://127.0.0.1:8080/accounts/prod", "", true).unwrap();
        assert_eq!(proxy.url, "http://127.0.0.1:8080/accounts/prod/res.php");
        assert_eq!(
            proxy.body.as_deref(),
            Some("action=threadsinfo&json=1&header_acao=1")
        );
        assert!(threads_request("ftp://x", "k", false).is_err());
    }

    #[test]
    fn reads_threads_answers() {
        let t = |threads, working_threads| {
            Ok(Threads {
                threads,
                working_threads,
            })
        };
        let e = |code: ErrorCode| Err::<Threads, ErrorCode>(code);
        let got = |status, body: &str| {
            classify_threads(status, Some("application/json"), body).map_err(|e| e.code)
        };
        #[rustfmt::skip]
        let cases: [(u16, &str, Result<Threads, ErrorCode>); 16] = [
            (200, r#"{"threads": 10, "working_threads": 3}"#,                  t(10, 3)),
            (200, r#"{"status":1,"threads":"5","working_threads":"5"}"#,       t(5, 5)),
            (200, r#"{"threads":0,"working_threads":0}"#,                      t(0, 0)),
            (200, r#"{"status":0,"request":"ERROR_WRONG_USER_KEY"}"#,          e(ErrorCode::WrongKey)),
            (200, r#"{"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST"}"#,      e(ErrorCode::KeyNotFound)),
            (200, "ERROR_ZERO_BALANCE",                                        e(ErrorCode::ZeroBalance)),
            (200, r#"{"status":0,"request":"ERROR_SOMETHING_NEW"}"#,           e(ErrorCode::Unknown)),
            (200, r#"{"threads":-1,"working_threads":0}"#,                     e(ErrorCode::Malformed)),
            (200, r#"{"threads":2.5,"working_threads":0}"#,                    e(ErrorCode::Malformed)),
            (200, r#"{"threads":10}"#,                                         e(ErrorCode::Malformed)),
            (200, r#"{"status":1,"request":"12.5"}"#,                          e(ErrorCode::Malformed)),
            (200, r#"{"threads":10,"working_threads":"#,                       e(ErrorCode::Malformed)),
            (200, "",                                                          e(ErrorCode::Malformed)),
            (502, "<html>Bad gateway</html>",                                  e(ErrorCode::ServerError)),
            (429, "Too many",                                                  e(ErrorCode::RateLimited)),
            (500, r#"{"threads":10,"working_threads":3}"#,                     e(ErrorCode::Malformed)),
        ];
        for (status, body, want) in cases {
            assert_eq!(got(status, body), want, "{status} {body}");
        }
        let long = format!(
            r#"{{"threads":10,"working_threads":3{}}}"#,
            " ".repeat(MAX_ANSWER_LEN)
        );
        assert_eq!(got(200, &long), e(ErrorCode::Malformed), "too long");
    }

    #[test]
    fn builds_urls() {
        let key = "0123456789abcdef0123456789abcdef";
        #[rustfmt::skip]
        let cases = [
            ("",                               false, "https://ocr.captchaai.com/res.php?key=K&action=getbalance&json=1"),
            ("https://ocr.captchaai.com/",     false, "https://ocr.captchaai.com/res.php?key=K&action=getbalance&json=1"),
            ("http://127.0.0.1:9000///",       true,  "http://127.0.0.1:9000/res.php?key=K&action=getbalance&json=1&header_acao=1"),
            ("https://proxy.example/captcha/", false, "https://proxy.example/captcha/res.php?key=K&action=getbalance&json=1"),
        ];
        for (endpoint, acao, want) in cases {
            assert_eq!(
                balance_url(endpoint, key, acao).unwrap(),
                want.replace('K', key)
            );
        }
        assert_eq!(
            balance_url("http://localhost:8080", "", false).unwrap(),
            "http://localhost:8080/res.php?action=getbalance&json=1"
        );
    }

    #[test]
    fn a_servers_history_is_next_to_its_balance() {
        #[rustfmt::skip]
        let cases = [
            ("http://127.0.0.1:8080",                  Some("http://127.0.0.1:8080/v1/history")),
            ("http://127.0.0.1:8080/",                 Some("http://127.0.0.1:8080/v1/history")),
            ("https://balance.example/accounts/prod",  Some("https://balance.example/v1/accounts/prod/history")),
            ("https://example/proxy/accounts/x",       Some("https://example/proxy/v1/accounts/x/history")),
            ("https://example/accounts/",              Some("https://example/accounts/v1/history")),
            ("ftp://x",                                None),
        ];
        for (endpoint, want) in cases {
            assert_eq!(server_history_url(endpoint).as_deref(), want, "{endpoint}");
        }
    }

    #[test]
    fn keys_are_escaped_in_urls_and_bodies() {
        let key = "ab&c+d#e/f=g h%";
        let url = balance_url("https://proxy.example", key, false).unwrap();
        assert_eq!(
            url,
            "https://proxy.example/res.php?key=ab%26c%2Bd%23e%2Ff%3Dg+h%25&action=getbalance&json=1"
        );
        // What a server reads back from the query is the key, byte for byte.
        let query = url.split_once('?').unwrap().1;
        let read: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(read[0], ("key".to_string(), key.to_string()));
        let post = balance_request(Family::CreateTask, "https://x.example", "a\"b\\c", false);
        let body: serde_json::Value = serde_json::from_str(&post.unwrap().body.unwrap()).unwrap();
        assert_eq!(body["clientKey"], "a\"b\\c");
    }

    #[test]
    fn describes_each_familys_request() {
        let key = "0123456789abcdef0123456789abcdef";
        #[rustfmt::skip]
        let cases = [
            (Family::TwoCaptcha, "https://2captcha.com/", key, false, r#"{"method":"GET","url":"https://2captcha.com/res.php?key=@K@&action=getbalance&json=1","contentType":"application/json"}"#),
            (Family::TwoCaptcha, "http://127.0.0.1:8080", "",  true,  r#"{"method":"GET","url":"http://127.0.0.1:8080/res.php?action=getbalance&json=1&header_acao=1","contentType":"application/json"}"#),
            (Family::CreateTask, "https://api.anti-captcha.com", key, true, r#"{"method":"POST","url":"https://api.anti-captcha.com/getBalance","body":"{\"clientKey\":\"@K@\"}","contentType":"application/json"}"#),
            (Family::CreateTask, "http://127.0.0.1:9/x/", "CAP-\"quoted\"", false, r#"{"method":"POST","url":"http://127.0.0.1:9/x/getBalance","body":"{\"clientKey\":\"CAP-\\\"quoted\\\"\"}","contentType":"application/json"}"#),
            (Family::CreateTask, "http://127.0.0.1:9", "", false, r#"{"method":"POST","url":"http://127.0.0.1:9/getBalance","body":"{}","contentType":"application/json"}"#),
        ];
        for (family, endpoint, key_in, acao, want) in cases {
            let request = balance_request(family, endpoint, key_in, acao).unwrap();
            assert_eq!(
                serde_json::to_string(&request).unwrap(),
                want.replace("@K@", key),
                "{endpoint}"
            );
        }
        assert_eq!(
            balance_request(Family::CreateTask, "ftp://x", key, false),
            Err(EndpointError::NotHttp)
        );
    }

    /// The length limit is on the whole body: white space cannot hide garbage past the point
    /// where a capped reader stops.
    /// Status, content type, body → balance or error code.
    type Case<'a> = (u16, Option<&'a str>, String, Result<&'a str, ErrorCode>);

    #[test]
    fn an_oversized_body_is_never_a_balance() {
        let padded = |pad: usize, tail: &str| format!("12.34{}{tail}", " ".repeat(pad));
        let cut = padded(16 * 1024, "GARBAGE");
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (200, None,              padded(16 * 1024, "GARBAGE"), Err(ErrorCode::Malformed)),
            (200, None,              cut[..MAX_ANSWER_LEN + 1].to_string(), Err(ErrorCode::Malformed)),
            (200, None,              padded(MAX_ANSWER_LEN, ""), Err(ErrorCode::Malformed)),
            (200, Some("text/html"), padded(MAX_ANSWER_LEN, ""), Err(ErrorCode::ServerError)),
            (200, None,              padded(MAX_ANSWER_LEN - 10, ""), Ok("12.34")),
            (200, None,              format!("{{\"status\":1,\"request\":\"1\"}}{}", " ".repeat(MAX_ANSWER_LEN)), Err(ErrorCode::Malformed)),
            (200, None,              format!("ERROR_ZERO_BALANCE{}", " ".repeat(MAX_ANSWER_LEN)), Err(ErrorCode::Malformed)),
            (429, None,              format!("ERROR_ZERO_BALANCE{}", " ".repeat(MAX_ANSWER_LEN)), Err(ErrorCode::Malformed)),
        ];
        for (status, content_type, body, want) in cases {
            let got = classify(*status, *content_type, body);
            match (got, want) {
                (Ok(m), Ok(w)) => assert_eq!(m.to_string(), *w),
                (Err(e), Err(w)) => assert_eq!(e.code, *w, "{} bytes", body.len()),
                (got, want) => panic!("{} bytes: {got:?} vs {want:?}", body.len()),
            }
        }
    }

    #[test]
    fn rejects_bad_endpoints() {
        #[rustfmt::skip]
        let cases = [
            ("ftp://x",             EndpointError::NotHttp),
            ("ocr.captchaai.com",   EndpointError::NotHttp),
            ("https://",            EndpointError::NotHttp),
            ("http://:80",          EndpointError::NotHttp),
            ("https://a.b/?x=1",    EndpointError::Unsupported),
            ("https://user:pw@a.b", EndpointError::Unsupported),
            ("https://a b",         EndpointError::Unsupported),
            ("javascript:alert(1)", EndpointError::NotHttp),
        ];
        for (endpoint, err) in cases {
            assert_eq!(normalize_endpoint(endpoint), Err(err), "{endpoint}");
        }
        assert!(is_default_endpoint(""));
        assert!(is_default_endpoint("https://OCR.captchaai.com/"));
        assert!(!is_default_endpoint("http://127.0.0.1:8080"));
    }
}
