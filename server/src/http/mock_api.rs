//! The mock accounts' control API (docs/ARCHITECTURE.md, "Mock mode control API"):
//! `GET /mock/state`, `POST /mock/scenario`, `POST /mock/topup`, `POST /mock/reset`. Each
//! addresses the default account, or another one with `?account=NAME` (in the URL rather than
//! the body so that `GET /mock/state` and the body-less reset address accounts the same way).
//!
//! Writes are refused unless they come from this origin or from a tool: every `POST` must say
//! `Content-Type: application/json` (415 otherwise) and may not carry an `Origin` of another
//! host or a `Sec-Fetch-Site` other than `same-origin`/`none` (403). A web page can send a
//! `text/plain` POST to any server without a CORS preflight; a JSON one needs the preflight,
//! which this server never grants. `curl -H 'Content-Type: application/json' -d …` works.
//!
//! Bodies are parsed by hand rather than with axum's `Json` extractor so that every mistake
//! gets a 400 with a sentence naming the field. Every change drops the cached reading: the demo
//! and the browser tests expect the next request to see the new scenario at once.

use crate::accounts::account::Account;
use crate::state::AppState;
use crate::upstream::mock::{
    MockAccount, Scenario, ScenarioChange, Snapshot, MAX_AMOUNT, MAX_DELAY,
};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use captchaai_balance::money::Money;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// A refused control request: 400 (or 404 outside mock mode) with `{"error": "..."}`.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

/// The account a control request addresses (`?account=NAME`, else the default one) and the
/// simulated account behind it.
fn account(
    state: &AppState,
    query: Option<&str>,
) -> Result<(Arc<Account>, Arc<MockAccount>), Refusal> {
    let not_mock = || {
        Refusal(
            StatusCode::NOT_FOUND,
            "the mock control API only exists in mock mode (proxy mode is on)".into(),
        )
    };
    if !state.mock_mode {
        return Err(not_mock());
    }
    let mut name = None;
    for (field, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match field.as_ref() {
            "account" if name.is_none() => name = Some(value.into_owned()),
            "account" => return Err(bad("account must be given once")),
            other => {
                return Err(bad(format!(
                    "unknown query parameter {other:?}; allowed: account"
                )))
            }
        }
    }
    let account = match &name {
        Some(name) => state.account(name).ok_or_else(|| {
            let names: Vec<_> = state.accounts.iter().map(|a| a.name.as_str()).collect();
            Refusal(
                StatusCode::NOT_FOUND,
                format!("no account {name:?}; the accounts are {}", names.join(", ")),
            )
        })?,
        None => state.default_account(),
    };
    let mock = account.mock.clone().ok_or_else(not_mock)?;
    Ok((Arc::clone(account), mock))
}

/// `GET /mock/state[?account=NAME]`.
pub async fn get_state(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match account(&state, query.as_deref()) {
        Ok((_, mock)) => Json(mock.snapshot()).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// Refuses a write that a page of another origin could have sent (see the module doc).
fn same_origin_json(headers: &HeaderMap) -> Result<(), Refusal> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let is_json = text(header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with Content-Type: application/json".into(),
        ));
    }
    let cross = || {
        Refusal(
            StatusCode::FORBIDDEN,
            "the mock control API only takes writes from its own origin".into(),
        )
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Err(cross());
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let authority = origin.to_str().ok().and_then(|o| {
            o.strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"))
        });
        let same = match (authority, text(header::HOST)) {
            (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
            _ => false,
        };
        if !same {
            return Err(cross());
        }
    }
    Ok(())
}

/// `POST /mock/scenario {scenario, balance?, drainPerMinute?, delayMs?}`.
pub async fn post_scenario(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&state, query.as_deref(), &headers, |account| {
        let mut fields = object(&body, &["scenario", "balance", "drainPerMinute", "delayMs"])?;
        let name = match fields.remove("scenario") {
            Some(Value::String(name)) => name,
            Some(_) => return Err(bad("scenario must be a string")),
            None => return Err(bad("scenario is required")),
        };
        let scenario = Scenario::from_name(&name).ok_or_else(|| {
            bad(format!(
                "unknown scenario {:?}; expected one of: {}",
                name,
                Scenario::names().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let change = ScenarioChange {
            scenario,
            balance: optional(&mut fields, "balance", |v| {
                amount("balance", v, Money::ZERO)
            })?,
            drain_per_minute: optional(&mut fields, "drainPerMinute", |v| {
                amount("drainPerMinute", v, Money::ZERO)
            })?,
            delay: optional(&mut fields, "delayMs", delay)?,
        };
        Ok(account.set_scenario(change))
    })
}

/// `POST /mock/topup {amount}`.
pub async fn post_topup(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&state, query.as_deref(), &headers, |account| {
        let mut fields = object(&body, &["amount"])?;
        let value = fields
            .remove("amount")
            .filter(|v| !v.is_null())
            .ok_or_else(|| bad("amount is required"))?;
        let amount = amount("amount", &value, Money::from_nanos(1))?;
        account.top_up(amount).map_err(|e| bad(e.0))
    })
}

/// `POST /mock/reset` (the body is ignored; the `Content-Type` is not).
pub async fn post_reset(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    respond(&state, query.as_deref(), &headers, |account| {
        Ok(account.reset())
    })
}

/// Runs one change on the addressed account and drops its cached reading.
fn respond(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    change: impl FnOnce(&MockAccount) -> Result<Snapshot, Refusal>,
) -> Response {
    let result = account(state, query)
        .and_then(|found| same_origin_json(headers).map(|()| found))
        .and_then(|(account, mock)| change(&mock).map(|snapshot| (account, snapshot)));
    match result {
        Ok((account, snapshot)) => {
            account.invalidate();
            Json(snapshot).into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// The body as a JSON object with only the `allowed` fields.
fn object(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(bad("the body must be a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown field {unknown:?}; allowed: {}",
            allowed.join(", ")
        )));
    }
    Ok(fields)
}

/// A field that may be missing or null.
fn optional<T>(
    fields: &mut Map<String, Value>,
    name: &str,
    parse: impl FnOnce(&Value) -> Result<T, Refusal>,
) -> Result<Option<T>, Refusal> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse(&value).map(Some),
    }
}

/// An amount given as a decimal string (`"12.5"`, exact) or a JSON number, within
/// `min..=MAX_AMOUNT`.
fn amount(name: &str, value: &Value, min: Money) -> Result<Money, Refusal> {
    let text = match value {
        Value::String(text) => text.clone(),
        // serde_json prints a number with the digits it was given (shortest round trip).
        Value::Number(number) => number.to_string(),
        _ => {
            return Err(bad(format!(
                "{name} must be a decimal string such as \"12.50\""
            )))
        }
    };
    let money = Money::parse(&text)
        .map_err(|_| bad(format!("{name} must be a decimal number, got {text:?}")))?;
    if money < min || money > MAX_AMOUNT {
        let what = if min.is_positive() {
            "more than 0"
        } else {
            "0 or more"
        };
        return Err(bad(format!(
            "{name} must be {what} and at most {MAX_AMOUNT}"
        )));
    }
    Ok(money)
}

fn delay(value: &Value) -> Result<Duration, Refusal> {
    let max = MAX_DELAY.as_millis();
    value
        .as_u64()
        .filter(|ms| u128::from(*ms) <= max)
        .map(Duration::from_millis)
        .ok_or_else(|| {
            bad(format!(
                "delayMs must be a whole number of milliseconds from 0 to {max}"
            ))
        })
}
