//! What `/res.php` answers, built from whatever the upstream (real or simulated) said.
//!
//! The widget reads our answer with the same core `classify` it uses on the real API, so the
//! answer always keeps the 2captcha shape `{"status":…,"request":…}`:
//! - a 2captcha-shaped JSON answer is passed through (only its `status` and `request` fields,
//!   so nothing else the upstream adds can reach the browser). A malformed balance such as
//!   markup is passed through too: the widget must be the one that refuses it, and the demo's
//!   `markup` scenario checks that it does;
//! - a bare number or bare error code (the non-JSON protocol) becomes its JSON form;
//! - anything else (timeouts, refused connections, 5xx, HTML pages, garbage) becomes
//!   `{"status":0,"request":"ERROR_SERVER_ERROR","error":"<code>"}`, which every 2captcha
//!   client treats as "try again later"; `error` carries our stable code for people and logs.
//!
//! The classification itself is the core crate's, so the server's metrics and the widget agree.

use axum::http::StatusCode;
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::money::Money;
use captchaai_balance::protocol::classify;
use serde_json::{json, Value};
use std::sync::Arc;

/// Upstream bodies longer than this are never passed through (a real answer is ~40 bytes).
const MAX_PASSTHROUGH_LEN: usize = 4096;

/// An HTTP status and a JSON body, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status for the client.
    pub status: StatusCode,
    /// The JSON text.
    pub body: Arc<str>,
}

impl Answer {
    /// `{"status":…,"request":…[,"error":…]}`, fields in the API's order (a JSON map would
    /// sort them).
    fn shaped(http: StatusCode, status: &Value, request: &Value, error: Option<&str>) -> Answer {
        let mut body = format!(r#"{{"status":{status},"request":{request}"#);
        if let Some(error) = error {
            body.push_str(&format!(r#","error":{}"#, Value::from(error)));
        }
        body.push('}');
        Answer {
            status: http,
            body: Arc::from(body),
        }
    }

    /// The refusal for anything but a balance request (the server is not an open relay).
    pub fn not_allowed(why: &str) -> Answer {
        Answer::shaped(
            StatusCode::FORBIDDEN,
            &json!(0),
            &json!("ERROR_NOT_ALLOWED"),
            Some(why),
        )
    }
}

/// One reading of the account: the answer for clients and what it means.
#[derive(Debug, Clone)]
pub struct Reading {
    /// What clients get.
    pub answer: Answer,
    /// The core's classification (for metrics and logs).
    pub outcome: Result<Money, ApiError>,
}

impl Reading {
    /// A reading for an upstream HTTP answer.
    pub fn from_upstream(status: u16, content_type: Option<&str>, body: &str) -> Reading {
        let outcome = classify(status, content_type, body);
        let answer = match passthrough(status, body) {
            Some(answer) => answer,
            None => match &outcome {
                Ok(balance) => {
                    Answer::shaped(StatusCode::OK, &json!(1), &json!(balance.to_string()), None)
                }
                Err(error) => synthesized(error),
            },
        };
        Reading { answer, outcome }
    }

    /// A reading for a request that got no HTTP answer at all (`Timeout`, `Network`) or that
    /// failed inside this server (`ServerError`). `raw` is a short, key-free description.
    pub fn failure(code: ErrorCode, raw: &str) -> Reading {
        let error = ApiError::new(code, raw);
        Reading {
            answer: synthesized(&error),
            outcome: Err(error),
        }
    }
}

/// The HTTP status that goes with a synthesized error: gateway errors for failures of the
/// upstream, 429 kept for rate limits, 200 for account errors (as the API itself sends them).
fn http_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServerError | ErrorCode::Network | ErrorCode::Malformed => {
            StatusCode::BAD_GATEWAY
        }
        _ => StatusCode::OK,
    }
}

fn synthesized(error: &ApiError) -> Answer {
    // An API-shaped text the upstream sent (ERROR_ZERO_BALANCE, IP_BANNED, an unknown
    // ERROR_NEW_THING) is kept verbatim; descriptions such as "HTTP 502" or "timeout" are not
    // 2captcha codes, so they become the canonical code.
    let api_shaped = !error.raw.is_empty()
        && error.raw.len() <= 64
        && error
            .raw
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let request = if api_shaped {
        error.raw.as_str()
    } else {
        error.code.api_code()
    };
    Answer::shaped(
        http_status(error.code),
        &json!(0),
        &json!(request),
        Some(error.code.as_str()),
    )
}

/// `{"status":…,"request":…}` from a 2xx/4xx upstream, reduced to those two fields.
fn passthrough(status: u16, body: &str) -> Option<Answer> {
    if !(200..500).contains(&status) || body.len() > MAX_PASSTHROUGH_LEN {
        return None;
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body.trim()) else {
        return None;
    };
    let code = fields
        .get("status")
        .filter(|v| v.is_number() || v.is_string())?;
    let request = fields
        .get("request")
        .filter(|v| v.is_number() || v.is_string())?;
    let http = if status < 300 {
        StatusCode::OK
    } else {
        StatusCode::from_u16(status).ok()?
    };
    Some(Answer::shaped(http, code, request, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Reading) -> Value {
        serde_json::from_str(&r.answer.body).expect("answers are JSON")
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
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (200, Some("application/json"), r#"{"status":1,"request":"12.345"}"#, 200, json!({"status":1,"request":"12.345"}), Ok("12.345")),
            (200, None, r#"{"status":1,"request":3.5,"extra":"x"}"#, 200, json!({"status":1,"request":3.5}), Ok("3.5")),
            (200, None, r#"{"status":0,"request":"ERROR_ZERO_BALANCE"}"#, 200, json!({"status":0,"request":"ERROR_ZERO_BALANCE"}), Err("zero_balance")),
            (429, None, r#"{"status":0,"request":"ERROR_TOO_MUCH_REQUESTS"}"#, 429, json!({"status":0,"request":"ERROR_TOO_MUCH_REQUESTS"}), Err("rate_limited")),
            (200, None, r#"{"status":1,"request":"<img src=x onerror=alert(1)>"}"#, 200, json!({"status":1,"request":"<img src=x onerror=alert(1)>"}), Err("malformed")),
            (200, Some("text/plain"), "7.25", 200, json!({"status":1,"request":"7.25"}), Ok("7.25")),
            (200, Some("text/plain"), "ERROR_WRONG_USER_KEY", 200, json!({"status":0,"request":"ERROR_WRONG_USER_KEY","error":"wrong_key"}), Err("wrong_key")),
            (502, Some("text/html"), html, 502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"}), Err("server_error")),
            (500, None, r#"{"status":0,"request":"ERROR_SERVER_ERROR"}"#, 502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"}), Err("server_error")),
            (200, Some("text/html"), html, 502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"}), Err("server_error")),
            (200, None, "garbage", 502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"malformed"}), Err("malformed")),
            (200, None, r#"{"status":1,"request":{"x":1}}"#, 502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"malformed"}), Err("malformed")),
            (429, Some("text/html"), html, 429, json!({"status":0,"request":"ERROR_TOO_MUCH_REQUESTS","error":"rate_limited"}), Err("rate_limited")),
        ];
        for (status, ct, text, want_status, want_body, want_outcome) in cases {
            let r = Reading::from_upstream(*status, *ct, text);
            assert_eq!(r.answer.status.as_u16(), *want_status, "{text}");
            assert_eq!(&body(&r), want_body, "{text}");
            match (&r.outcome, want_outcome) {
                (Ok(m), Ok(want)) => assert_eq!(m.to_string(), *want),
                (Err(e), Err(want)) => assert_eq!(e.code.as_str(), *want, "{text}"),
                (got, want) => panic!("{text}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn failures_keep_the_2captcha_shape() {
        let r = Reading::failure(ErrorCode::Timeout, "timeout");
        assert_eq!(r.answer.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            body(&r),
            json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"timeout"})
        );
        let r = Reading::failure(ErrorCode::Network, "connection refused");
        assert_eq!(body(&r)["error"], "network");
        assert_eq!(
            serde_json::from_str::<Value>(
                &Answer::not_allowed("only action=getbalance is served").body
            )
            .expect("json")["request"],
            "ERROR_NOT_ALLOWED"
        );
    }
}
