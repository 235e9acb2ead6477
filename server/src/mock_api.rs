//! The mock account's control API (docs/ARCHITECTURE.md, "Mock server control API"):
//! `GET /mock/state`, `POST /mock/scenario`, `POST /mock/topup`, `POST /mock/reset`.
//!
//! Bodies are parsed by hand rather than with axum's `Json` extractor so that every mistake
//! gets a 400 with a sentence naming the field, and so that a `Content-Type` is not required
//! (`curl -d '{"scenario":"low"}'` works). Every change drops the cached reading: the demo and
//! the browser tests expect the next request to see the new scenario at once.

use crate::mock::{MockAccount, Scenario, ScenarioChange, Snapshot, MAX_AMOUNT, MAX_DELAY};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
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

fn account(state: &AppState) -> Result<&Arc<MockAccount>, Refusal> {
    state.mock.as_ref().ok_or_else(|| {
        Refusal(
            StatusCode::NOT_FOUND,
            "the mock control API only exists in mock mode (CAPTCHAAI_API_KEY is set)".into(),
        )
    })
}

/// `GET /mock/state`.
pub async fn get_state(State(state): State<AppState>) -> Response {
    match account(&state) {
        Ok(account) => Json(account.snapshot()).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /mock/scenario {scenario, balance?, drainPerMinute?, delayMs?}`.
pub async fn post_scenario(State(state): State<AppState>, body: Bytes) -> Response {
    respond(&state, |account| {
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
pub async fn post_topup(State(state): State<AppState>, body: Bytes) -> Response {
    respond(&state, |account| {
        let mut fields = object(&body, &["amount"])?;
        let value = fields
            .remove("amount")
            .filter(|v| !v.is_null())
            .ok_or_else(|| bad("amount is required"))?;
        let amount = amount("amount", &value, Money::from_nanos(1))?;
        account.top_up(amount).map_err(|e| bad(e.0))
    })
}

/// `POST /mock/reset` (any body is ignored).
pub async fn post_reset(State(state): State<AppState>) -> Response {
    respond(&state, |account| Ok(account.reset()))
}

/// Runs one change and drops the cached reading.
fn respond(
    state: &AppState,
    change: impl FnOnce(&MockAccount) -> Result<Snapshot, Refusal>,
) -> Response {
    let result = account(state).and_then(|account| change(account));
    match result {
        Ok(snapshot) => {
            state.cache.invalidate();
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
