//! What `/res.php` answers: built from the core's classification of the upstream answer, never
//! from the upstream's text.
//!
//! The widget reads our answer with the same core `classify` it uses on the real API, so the
//! answer keeps the 2captcha shape `{"status":…,"request":…}` and is chosen so that the widget's
//! verdict is the server's verdict (the metrics' verdict):
//! - a balance is written as the core's exact decimal (`999999999.999999999` stays that, never a
//!   float), with HTTP 200;
//! - a known API error is answered with that code's canonical text from the core's error table
//!   (`ERROR_ZERO_BALANCE`, `ERROR_IP_BANNED` …), with HTTP 200 (429 for rate limits, 502 for
//!   server errors) as the API itself sends them;
//! - an unknown but API-shaped error code becomes [`UNKNOWN_CODE`] and any other answer the core
//!   refuses (markup, prose, an 80-digit number, JSON nested too deep, an oversized body, a
//!   redirect) becomes [`MALFORMED_TEXT`], both with HTTP 200 so the widget reads them as
//!   `unknown` and `malformed` like the server did. The upstream's own words never reach the
//!   browser: they might hold the key, escaped or in another case;
//! - a request that got no answer (`timeout`, `network`) is `ERROR_SERVER_ERROR` with 504 or
//!   502: to the widget the server is what failed.
//!
//! Every error answer also carries `error`, the core's stable snake_case code, for people and
//! logs. The mapping is proved by a test that runs every answer back through `classify`.
//!
//! Each answer exists in the API's two wire formats ([`Format`]): the JSON above for `json=1`,
//! and without it the bare `request` text (`12.345`, `ERROR_ZERO_BALANCE`) as `text/plain`,
//! with the same HTTP status, which is what the official client libraries read. A third form
//! answers `POST /getBalance` as a createTask-family API does (`{"errorId":0,"balance":12.345}`,
//! the balance a JSON number written from the exact decimal; errors
//! `{"errorId":1,"errorCode":"ERROR_…","errorDescription":"…"}`), for the official
//! Anti-Captcha client. [`create_task_balance`] and [`create_task_error`] write it, for the
//! mock accounts' simulated createTask APIs too.
//!
//! A thread plan's check (CaptchaAI) also carries its `threadsinfo` verdict
//! ([`Verdict::threads`]), answered to `res.php?action=threadsinfo` as the API answers it:
//! `{"threads":10,"working_threads":3}` (the counts as the core read them, whatever format was
//! asked: the API has no plain-text form of two numbers), and an error as the balance's errors
//! are answered (the same codes, statuses and formats), so the provider's SDK raises the same
//! exceptions it would against the API.

use axum::http::StatusCode;
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::money::Money;
use captchaai_balance::protocol::classify;
use captchaai_balance::threads::ThreadsOutcome;
use std::sync::Arc;

/// What an unknown API-shaped error code is answered as: not in the core's table, so the
/// widget reads it as `unknown`, like the server.
pub const UNKNOWN_CODE: &str = "ERROR_UNEXPECTED_ANSWER";
/// What any other refused answer is answered as: not code-shaped, so the widget reads it as
/// `malformed`, like the server.
pub const MALFORMED_TEXT: &str = "unexpected answer";

/// What `/accounts/{name}/res.php` answers for an unknown name.
pub const NO_SUCH_ACCOUNT: &str = "ERROR_NO_SUCH_ACCOUNT";

/// How a client asked to be answered, as the 2captcha API decides it: `json=1` gets JSON, no
/// `json` (or `json=0`) plain text. Official client libraries (2captcha-python's `balance()`)
/// send no `json` and read the body as a number or an error code; the widget and the extension
/// send `json=1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"status":1,"request":"12.345"}`, `application/json`.
    Json,
    /// `12.345` or `ERROR_ZERO_BALANCE`, `text/plain`.
    Text,
    /// `{"errorId":0,"balance":12.345}`, `application/json`: the createTask family's
    /// `getBalance` answer.
    CreateTask,
}

impl Format {
    /// The format a query asks for: `json=1` anywhere in it (the API's own rule).
    pub fn of_query(query: &str) -> Format {
        let json = form_urlencoded::parse(query.as_bytes()).any(|(n, v)| n == "json" && v == "1");
        if json {
            Format::Json
        } else {
            Format::Text
        }
    }

    /// The format the fields of a query and a form ask for: `json=1` in any of them.
    pub fn of_fields(fields: &[(String, String)]) -> Format {
        if fields.iter().any(|(n, v)| n == "json" && v == "1") {
            Format::Json
        } else {
            Format::Text
        }
    }

    /// The `Content-Type` that goes with it.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json | Format::CreateTask => "application/json",
            Format::Text => "text/plain",
        }
    }
}

/// One answer, in every wire format: an HTTP status, the 2captcha protocol's `request` text (a
/// balance or an error code: the whole plain-text answer), the JSON body carrying it, and the
/// createTask family's body. Built once per reading (the cache keeps it), written out per
/// client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status for the client (the same in both formats).
    pub status: StatusCode,
    /// The plain-text answer: the balance, or the error code.
    request: Arc<str>,
    /// The JSON answer.
    json: Arc<str>,
    /// The createTask family's answer.
    create_task: Arc<str>,
}

impl Answer {
    /// `{"status":…,"request":"…"[,"error":"…"]}`, fields in the API's order. Every text put in
    /// here is a constant of this crate or the core, or a decimal the core printed, so none
    /// needs escaping (checked by the round-trip tests).
    fn shaped(http: StatusCode, status: u8, request: &str, error: Option<&str>) -> Answer {
        let mut body = String::with_capacity(64);
        body.push_str(r#"{"status":"#);
        body.push(if status == 1 { '1' } else { '0' });
        body.push_str(r#","request":""#);
        body.push_str(request);
        body.push('"');
        if let Some(error) = error {
            body.push_str(r#","error":""#);
            body.push_str(error);
            body.push('"');
        }
        body.push('}');
        let create_task = if status == 1 {
            create_task_balance(request)
        } else {
            create_task_error(request, error.unwrap_or(request))
        };
        Answer {
            status: http,
            request: Arc::from(request),
            json: Arc::from(body),
            create_task: Arc::from(create_task),
        }
    }

    /// The body in a format.
    pub fn body(&self, format: Format) -> &str {
        match format {
            Format::Json => &self.json,
            Format::Text => &self.request,
            Format::CreateTask => &self.create_task,
        }
    }

    /// The refusal for anything but a balance request (the server is not an open relay).
    pub fn not_allowed(why: &'static str) -> Answer {
        Answer::shaped(StatusCode::FORBIDDEN, 0, "ERROR_NOT_ALLOWED", Some(why))
    }

    /// `/accounts/{name}/res.php` for a name that is not configured: 404, with a code no API
    /// sends so the widget reads it as `unknown` rather than as a problem with a key.
    pub fn no_such_account() -> Answer {
        Answer::shaped(
            StatusCode::NOT_FOUND,
            0,
            NO_SUCH_ACCOUNT,
            Some("no account with this name on this server"),
        )
    }

    /// A balance request without a valid token of this server (`--token-env`): the protocol's
    /// own answer to an unknown key (`ERROR_KEY_DOES_NOT_EXIST`, HTTP 200 as the APIs send it),
    /// so a client library reports a key problem, never a balance.
    pub fn key_refused() -> Answer {
        Answer::for_outcome(&Err(ApiError::new(ErrorCode::KeyNotFound, "")))
    }

    /// `threadsinfo` for an account whose provider sells no thread plans: it has no threads to
    /// tell (zero threads would read as an expired plan), so the action is refused like any
    /// other this server does not serve.
    pub fn no_threads() -> Answer {
        Answer::not_allowed("threadsinfo is served for accounts of a provider that sells thread plans (CaptchaAI) only")
    }

    /// A form body over the size this server reads (a real one is under 100 bytes).
    pub fn too_large() -> Answer {
        Answer::shaped(
            StatusCode::PAYLOAD_TOO_LARGE,
            0,
            "ERROR_NOT_ALLOWED",
            Some("the form is over 16 KiB"),
        )
    }

    /// The answer for one `threadsinfo` classification: the counts in the API's JSON (every
    /// format: see the module doc), or the error as a balance's error is answered.
    pub fn for_threads(outcome: &ThreadsOutcome) -> Answer {
        match outcome {
            Ok(counts) => {
                let body: Arc<str> = Arc::from(format!(
                    r#"{{"threads":{},"working_threads":{}}}"#,
                    counts.threads, counts.working_threads
                ));
                Answer {
                    status: StatusCode::OK,
                    request: Arc::clone(&body),
                    json: Arc::clone(&body),
                    create_task: body,
                }
            }
            Err(error) => Answer::for_outcome(&Err(error.clone())),
        }
    }

    /// True for a thread count answer (written as JSON in every format).
    pub fn is_counts(&self) -> bool {
        self.status == StatusCode::OK && self.json.starts_with(r#"{"threads""#)
    }

    /// The answer for one classification.
    pub fn for_outcome(outcome: &Result<Money, ApiError>) -> Answer {
        match outcome {
            Ok(balance) => Answer::shaped(StatusCode::OK, 1, &balance.to_string(), None),
            Err(error) => {
                let code = error.code;
                let request = match code {
                    ErrorCode::Unknown => UNKNOWN_CODE,
                    ErrorCode::Malformed => MALFORMED_TEXT,
                    // The canonical text from the core's table (`ERROR_SERVER_ERROR` for codes
                    // the API never sends).
                    _ => code.api_code(),
                };
                Answer::shaped(http_status(code), 0, request, Some(code.as_str()))
            }
        }
    }
}

/// A createTask-family balance answer, `{"errorId":0,"balance":…}`; `balance` is written as
/// given, so it must be JSON already: a decimal the core printed (a JSON number, exact) or, for
/// a simulated broken API, a JSON string.
pub fn create_task_balance(balance: &str) -> String {
    let mut body = String::with_capacity(32 + balance.len());
    body.push_str(r#"{"errorId":0,"balance":"#);
    body.push_str(balance);
    body.push('}');
    body
}

/// A createTask-family error answer, `{"errorId":1,"errorCode":…,"errorDescription":…}` (both
/// texts escaped as JSON strings).
pub fn create_task_error(code: &str, description: &str) -> String {
    let string = |text: &str| serde_json::Value::from(text).to_string();
    let mut body = String::with_capacity(64);
    body.push_str(r#"{"errorId":1,"errorCode":"#);
    body.push_str(&string(code));
    body.push_str(r#","errorDescription":"#);
    body.push_str(&string(description));
    body.push('}');
    body
}

/// The verdict on one upstream check: what it means (the core's classification) and the
/// answer clients get.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// What clients get.
    pub answer: Answer,
    /// The core's classification (for metrics and logs).
    pub outcome: Result<Money, ApiError>,
    /// The same check's `threadsinfo`, for an account whose provider sells thread plans
    /// (`None` for any other).
    pub threads: Option<ThreadsVerdict>,
}

/// The verdict on a check's `threadsinfo` request.
#[derive(Debug, Clone)]
pub struct ThreadsVerdict {
    /// What `res.php?action=threadsinfo` answers.
    pub answer: Answer,
    /// The core's classification.
    pub outcome: ThreadsOutcome,
}

impl ThreadsVerdict {
    /// The verdict for a classification (the proxy scrubs the key from it first).
    pub fn from_outcome(outcome: ThreadsOutcome) -> ThreadsVerdict {
        ThreadsVerdict {
            answer: Answer::for_threads(&outcome),
            outcome,
        }
    }
}

impl Verdict {
    /// A reading for an upstream HTTP answer (a body cut after
    /// [`captchaai_balance::protocol::MAX_ANSWER_LEN`] + 1 bytes gets the same verdict as the
    /// whole body).
    pub fn from_upstream(status: u16, content_type: Option<&str>, body: &str) -> Verdict {
        Verdict::from_outcome(classify(status, content_type, body))
    }

    /// A reading for a classification (the proxy scrubs the key from it first).
    pub fn from_outcome(outcome: Result<Money, ApiError>) -> Verdict {
        Verdict {
            answer: Answer::for_outcome(&outcome),
            outcome,
            threads: None,
        }
    }

    /// The same with the check's `threadsinfo` outcome.
    pub fn with_threads(self, threads: ThreadsOutcome) -> Verdict {
        Verdict {
            threads: Some(ThreadsVerdict::from_outcome(threads)),
            ..self
        }
    }

    /// A reading for a request that got no HTTP answer at all (`Timeout`, `Network`) or that
    /// failed inside this server (`ServerError`). `raw` is a short, key-free description.
    pub fn failure(code: ErrorCode, raw: &str) -> Verdict {
        Verdict::from_outcome(Err(ApiError::new(code, raw)))
    }
}

/// The HTTP status that goes with an error: gateway errors for failures of the upstream, 429
/// kept for rate limits, 200 for everything the API itself answers with 200 (account errors,
/// and the unknown and malformed answers, which the widget must classify as such).
fn http_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServerError | ErrorCode::Network | ErrorCode::InvalidKey => {
            StatusCode::BAD_GATEWAY
        }
        _ => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use captchaai_balance::protocol::classify_for;
    use captchaai_balance::provider::Family;
    use serde_json::{json, Value};

    /// The code a client reads back from an answer for `code`: no HTTP answer can say
    /// "timeout" or "network" (nor the browser-only key problems); to the widget the server
    /// failed.
    fn as_answered(code: ErrorCode) -> ErrorCode {
        match code {
            ErrorCode::Timeout
            | ErrorCode::Network
            | ErrorCode::InvalidKey
            | ErrorCode::PermissionMissing => ErrorCode::ServerError,
            _ => code,
        }
    }

    fn body(r: &Verdict) -> Value {
        serde_json::from_str(r.answer.body(Format::Json)).expect("answers are JSON")
    }

    /// Upstream status, content type, body → our status, our body, the core's verdict.
    type Case<'a> = (
        u16,
        Option<&'a str>,
        &'a str,
        u16,
        Value,
        Result<&'a str, &'a str>,
    );

    #[test]
    fn maps_every_kind_of_upstream_answer() {
        let html = "<html><body>502 Bad Gateway</body></html>";
        let deep = format!("{}1{}", r#"{"a":"#.repeat(40), "}".repeat(40));
        let deep_request = format!(
            r#"{{"status":1,"request":{}"12"{}}}"#,
            "[".repeat(33),
            "]".repeat(33)
        );
        let long_number = format!(r#"{{"status":1,"request":"{}"}}"#, "9".repeat(80));
        let malformed = json!({"status":0,"request":"unexpected answer","error":"malformed"});
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (200, Some("application/json"), r#"{"status":1,"request":"12.345"}"#,                       200, json!({"status":1,"request":"12.345"}), Ok("12.345")),
            (200, None,                     r#"{"status":1,"request":3.5,"extra":"x"}"#,                200, json!({"status":1,"request":"3.5"}), Ok("3.5")),
            (200, None,                     r#"{"status":1,"request":"999999999.999999999"}"#,          200, json!({"status":1,"request":"999999999.999999999"}), Ok("999999999.999999999")),
            (200, None,                     r#"{"status":1,"request":999999999.999999999}"#,            200, json!({"status":1,"request":"999999999.999999999"}), Ok("999999999.999999999")),
            (200, None,                     r#"{"status":1,"request":"24.980"}"#,                       200, json!({"status":1,"request":"24.98"}), Ok("24.98")),
            (200, None,                     r#"{"status":0,"request":"ERROR_ZERO_BALANCE"}"#,           200, json!({"status":0,"request":"ERROR_ZERO_BALANCE","error":"zero_balance"}), Err("zero_balance")),
            (200, None,                     r#"{"status":0,"request":"error_zero_balance"}"#,           200, json!({"status":0,"request":"ERROR_ZERO_BALANCE","error":"zero_balance"}), Err("zero_balance")),
            (200, None,                     r#"{"status":0,"request":"IP_BANNED"}"#,                    200, json!({"status":0,"request":"ERROR_IP_BANNED","error":"ip_banned"}), Err("ip_banned")),
            (429, None,                     r#"{"status":0,"request":"ERROR_TOO_MUCH_REQUESTS"}"#,      429, json!({"status":0,"request":"ERROR_TOO_MUCH_REQUESTS","error":"rate_limited"}), Err("rate_limited")),
            (200, None,                     r#"{"status":0,"request":"ERROR_NEW_THING"}"#,              200, json!({"status":0,"request":"ERROR_UNEXPECTED_ANSWER","error":"unknown"}), Err("unknown")),
            (200, None,                     r#"{"status":1,"request":"<img src=x onerror=alert(1)>"}"#, 200, malformed.clone(), Err("malformed")),
            (200, None,                     &long_number,                                               200, malformed.clone(), Err("malformed")),
            (200, None,                     &deep,                                                      200, malformed.clone(), Err("malformed")),
            (200, None,                     &deep_request,                                              200, malformed.clone(), Err("malformed")),
            (200, Some("text/plain"),       "7.25",                                                     200, json!({"status":1,"request":"7.25"}), Ok("7.25")),
            (200, Some("text/plain"),       "ERROR_WRONG_USER_KEY",                                     200, json!({"status":0,"request":"ERROR_WRONG_USER_KEY","error":"wrong_key"}), Err("wrong_key")),
            (502, Some("text/html"),        html,                                                       502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"}), Err("server_error")),
            (500, None,                     r#"{"status":0,"request":"ERROR_SERVER_ERROR"}"#,           502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"}), Err("server_error")),
            (200, Some("text/html"),        html,                                                       502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"}), Err("server_error")),
            (200, None,                     "garbage",                                                  200, malformed.clone(), Err("malformed")),
            (200, None,                     r#"{"status":1,"request":{"x":1}}"#,                        200, malformed.clone(), Err("malformed")),
            (429, Some("text/html"),        html,                                                       429, json!({"status":0,"request":"ERROR_TOO_MUCH_REQUESTS","error":"rate_limited"}), Err("rate_limited")),
            (302, None,                     "",                                                         200, malformed.clone(), Err("malformed")),
            (301, Some("application/json"), r#"{"status":1,"request":"5"}"#,                            200, malformed.clone(), Err("malformed")),
            (404, Some("text/html"),        html,                                                       502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"}), Err("server_error")),
            (403, Some("application/json"), r#"{"status":0,"request":"ERROR_IP_NOT_ALLOWED"}"#,         200, json!({"status":0,"request":"ERROR_IP_NOT_ALLOWED","error":"ip_not_allowed"}), Err("ip_not_allowed")),
        ];
        for (status, ct, text, want_status, want_body, want_outcome) in cases {
            let r = Verdict::from_upstream(*status, *ct, text);
            assert_eq!(r.answer.status.as_u16(), *want_status, "{text}");
            assert_eq!(&body(&r), want_body, "{text}");
            match (&r.outcome, want_outcome) {
                (Ok(m), Ok(want)) => assert_eq!(m.to_string(), *want),
                (Err(e), Err(want)) => assert_eq!(e.code.as_str(), *want, "{text}"),
                (got, want) => panic!("{text}: {got:?} vs {want:?}"),
            }
        }
    }

    /// The widget classifies our answer with the same core function: it must reach the same
    /// verdict as the server (the metrics), for every code an HTTP answer can produce, in every
    /// format (the core reads the plain-text answers of the API and the createTask family's
    /// too).
    #[test]
    fn the_widget_reads_the_servers_verdict() {
        let balances = [
            "0",
            "12.345",
            "999999999.999999999",
            "1000000000",
            "-0.5",
            "0.000000001",
        ];
        #[rustfmt::skip]
        let formats = [
            (Format::Json,       Family::TwoCaptcha),
            (Format::Text,       Family::TwoCaptcha),
            (Format::CreateTask, Family::CreateTask),
        ];
        for (format, family) in formats {
            let read = |answer: &Answer| {
                let body = answer.body(format);
                let status = answer.status.as_u16();
                let got = classify_for(family, status, Some(format.content_type()), body);
                (got, body.to_string())
            };
            for text in balances {
                let outcome = Ok(Money::parse(text).expect("money"));
                let (got, body) = read(&Answer::for_outcome(&outcome));
                assert_eq!(got, outcome, "{body}");
            }
            for code in ErrorCode::all() {
                let (got, text) = read(&Answer::for_outcome(&Err(ApiError::new(code, "seen"))));
                let read = got.expect_err("an error stays an error");
                let want = as_answered(code);
                assert_eq!(read.code, want, "{format:?} {text}");
                assert_eq!(
                    body(&Verdict::from_outcome(Err(read)))["error"],
                    want.as_str()
                );
            }
        }
        assert_eq!(ErrorCode::from_api(UNKNOWN_CODE), None);
    }

    /// Without `json=1` the answer is the bare `request` text, as the API sends it.
    #[test]
    fn plain_text_is_the_request_alone() {
        #[rustfmt::skip]
        let cases: &[(Result<&str, ErrorCode>, &str, u16)] = &[
            (Ok("12.345"),                   "12.345",                  200),
            (Ok("999999999.999999999"),      "999999999.999999999",     200),
            (Err(ErrorCode::ZeroBalance),    "ERROR_ZERO_BALANCE",      200),
            (Err(ErrorCode::KeyNotFound),    "ERROR_KEY_DOES_NOT_EXIST", 200),
            (Err(ErrorCode::Unknown),        UNKNOWN_CODE,              200),
            (Err(ErrorCode::Timeout),        "ERROR_SERVER_ERROR",      504),
        ];
        for (outcome, text, status) in cases {
            let outcome = outcome
                .map(|b| Money::parse(b).expect("money"))
                .map_err(|code| ApiError::new(code, "seen"));
            let answer = Answer::for_outcome(&outcome);
            assert_eq!(answer.body(Format::Text), *text);
            assert_eq!(answer.status.as_u16(), *status, "{text}");
        }
        assert_eq!(
            Answer::no_such_account().body(Format::Text),
            NO_SUCH_ACCOUNT
        );
        #[rustfmt::skip]
        let queries = [
            ("action=getbalance&json=1",        Format::Json),
            ("json=1&action=getbalance",        Format::Json),
            ("action=getbalance",               Format::Text),
            ("action=getbalance&json=0",        Format::Text),
            ("",                                Format::Text),
        ];
        for (query, format) in queries {
            assert_eq!(Format::of_query(query), format, "{query}");
        }
    }

    /// The createTask form: the balance as a JSON number with the core's exact digits (never
    /// through a float: `999999999.999999999` has no f64), errors with `errorId` 1.
    #[test]
    fn create_task_form_is_exact() {
        #[rustfmt::skip]
        let cases: &[(Result<&str, ErrorCode>, &str, u16)] = &[
            (Ok("12.345"),                   r#"{"errorId":0,"balance":12.345}"#,              200),
            (Ok("999999999.999999999"),      r#"{"errorId":0,"balance":999999999.999999999}"#, 200),
            (Ok("0.000000001"),              r#"{"errorId":0,"balance":0.000000001}"#,         200),
            (Ok("-0.5"),                     r#"{"errorId":0,"balance":-0.5}"#,                200),
            (Err(ErrorCode::KeyNotFound),    r#"{"errorId":1,"errorCode":"ERROR_KEY_DOES_NOT_EXIST","errorDescription":"key_not_found"}"#, 200),
            (Err(ErrorCode::ZeroBalance),    r#"{"errorId":1,"errorCode":"ERROR_ZERO_BALANCE","errorDescription":"zero_balance"}"#,        200),
            (Err(ErrorCode::Malformed),      r#"{"errorId":1,"errorCode":"unexpected answer","errorDescription":"malformed"}"#,            200),
            (Err(ErrorCode::Timeout),        r#"{"errorId":1,"errorCode":"ERROR_SERVER_ERROR","errorDescription":"timeout"}"#,             504),
        ];
        for (outcome, body, status) in cases {
            let outcome = outcome
                .map(|b| Money::parse(b).expect("money"))
                .map_err(|code| ApiError::new(code, "seen"));
            let answer = Answer::for_outcome(&outcome);
            assert_eq!(answer.body(Format::CreateTask), *body);
            assert_eq!(answer.status.as_u16(), *status, "{body}");
        }
        assert_eq!(
            Answer::no_such_account().body(Format::CreateTask),
            r#"{"errorId":1,"errorCode":"ERROR_NO_SUCH_ACCOUNT","errorDescription":"no account with this name on this server"}"#
        );
        assert_eq!(
            create_task_error("ERROR_X", "a \"quoted\" word"),
            r#"{"errorId":1,"errorCode":"ERROR_X","errorDescription":"a \"quoted\" word"}"#
        );
    }

    /// `threadsinfo` answers: the counts in the API's JSON, errors as the balance's. The SDK
    /// and the widget read them with the core's `classify_threads` and reach the server's
    /// verdict (transport failures read as the server's failure, as for the balance).
    #[test]
    fn threads_answers_read_back_as_the_servers_verdict() {
        use captchaai_balance::protocol::classify_threads;
        use captchaai_balance::threads::Threads;
        let counts = Threads {
            threads: 10,
            working_threads: 3,
        };
        let answer = Answer::for_threads(&Ok(counts));
        assert!(answer.is_counts());
        for format in [Format::Json, Format::Text] {
            assert_eq!(answer.body(format), r#"{"threads":10,"working_threads":3}"#);
        }
        assert_eq!(
            classify_threads(200, Some("application/json"), answer.body(Format::Json)),
            Ok(counts)
        );
        for code in ErrorCode::all() {
            let answer = Answer::for_threads(&Err(ApiError::new(code, "seen")));
            assert!(!answer.is_counts());
            for format in [Format::Json, Format::Text] {
                let got = classify_threads(
                    answer.status.as_u16(),
                    Some(format.content_type()),
                    answer.body(format),
                )
                .expect_err("an error stays an error");
                let want = as_answered(code);
                assert_eq!(got.code, want, "{format:?} {code:?}");
            }
        }
        assert_eq!(Answer::no_threads().body(Format::Text), "ERROR_NOT_ALLOWED");
    }

    #[test]
    fn failures_keep_the_2captcha_shape() {
        let r = Verdict::failure(ErrorCode::Timeout, "timeout");
        assert_eq!(r.answer.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            body(&r),
            json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"timeout"})
        );
        let r = Verdict::failure(ErrorCode::Network, "connection refused");
        assert_eq!(body(&r)["error"], "network");
        assert_eq!(
            serde_json::from_str::<Value>(
                Answer::not_allowed("only action=getbalance is served").body(Format::Json)
            )
            .expect("json")["request"],
            "ERROR_NOT_ALLOWED"
        );
    }
}
