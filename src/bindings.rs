//! The JS API of the wasm module (wasm32 only). No logic lives here: each export converts JS
//! values, calls the core, and converts the answer back to a plain JSON-compatible object.
//! See docs/ARCHITECTURE.md for the contract.

#![deny(clippy::unwrap_used)]

use crate::error::{ApiError, ErrorCode};
use crate::i18n::{self, Lang};
use crate::monitor::Outcome;
use crate::protocol::{balance_url, classify};
use crate::schedule::Trigger;
use crate::settings::{mask_key, Settings};
use crate::state::State;
use crate::view;
use gloo_net::http::Request;
use serde::Serialize;
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;

/// Plain objects (not `Map`s) and numbers as JS numbers, so JS can store and read the result.
/// Everything crosses as a `serde_json::Value`: one serializer path keeps the module small
/// (each extra serializer would copy every struct's `Serialize` code).
fn to_js<T: Serialize>(value: &T) -> JsValue {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

fn from_js(value: JsValue) -> Value {
    serde_wasm_bindgen::from_value(value).unwrap_or(Value::Null)
}

fn state_from(value: JsValue) -> State {
    State::load(&from_js(value))
}

fn outcome_to_value(outcome: &Outcome) -> Value {
    match outcome {
        Ok(balance) => json!({ "ok": true, "balance": balance }),
        Err(e) => json!({ "ok": false, "code": e.code, "raw": e.raw }),
    }
}

fn outcome_from_value(value: &Value) -> Outcome {
    if value.get("ok") == Some(&Value::Bool(true)) {
        if let Some(Ok(balance)) = value.get("balance").map(|b| serde_json::from_value(b.clone())) {
            return Ok(balance);
        }
    } else if let Some(Ok(code)) = value.get("code").map(|c| serde_json::from_value::<ErrorCode>(c.clone())) {
        let raw = value.get("raw").and_then(Value::as_str).unwrap_or_default();
        return Err(ApiError::new(code, raw.chars().take(80).collect::<String>()));
    }
    Err(ApiError::new(ErrorCode::Malformed, "invalid outcome"))
}

/// Migrates whatever was stored into the current `State`; never throws.
#[wasm_bindgen(js_name = loadState)]
pub fn load_state(raw: JsValue) -> JsValue {
    to_js(&state_from(raw))
}

/// The default settings.
#[wasm_bindgen(js_name = defaultSettings)]
pub fn default_settings() -> JsValue {
    to_js(&Settings::default())
}

/// Validates a settings form: `{ ok, state, errors: { field: sentence } }`.
#[wasm_bindgen(js_name = applySettings)]
pub fn apply_settings(state: JsValue, input: JsValue, lang: &str) -> JsValue {
    let state = state_from(state);
    let lang = Lang::from_tag(lang);
    let input = match from_js(input) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    match state.apply_settings(&input) {
        Ok(next) => to_js(&json!({ "ok": true, "state": next, "errors": {} })),
        Err(errors) => {
            let errors: Map<String, Value> = errors
                .into_iter()
                .map(|(field, e)| {
                    let (key, args) = e.message_key();
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    (field, Value::String(i18n::format(lang, key, &args)))
                })
                .collect();
            to_js(&json!({ "ok": false, "state": state, "errors": errors }))
        }
    }
}

/// `abcd…wxyz`.
#[wasm_bindgen(js_name = maskKey)]
pub fn mask_key_js(key: &str) -> String {
    mask_key(key)
}

/// Whether to ask the API now: `{ fetch, reason, reasonText, nextCheckAt }`.
#[wasm_bindgen(js_name = planCheck)]
pub fn plan_check(state: JsValue, now_ms: f64, trigger: &str, lang: Option<String>) -> JsValue {
    let state = state_from(state);
    let Some(trigger) = Trigger::from_name(trigger) else {
        return to_js(&json!({ "fetch": false, "reason": "bad_trigger", "reasonText": trigger, "nextCheckAt": null }));
    };
    let plan = state.monitor.plan(&state.settings, trigger, now_ms as i64);
    let lang = Lang::from_tag(lang.as_deref().unwrap_or("en"));
    to_js(&json!({
        "fetch": plan.fetch,
        "reason": plan.reason,
        "reasonText": i18n::text(lang, plan.reason.message_key()),
        "nextCheckAt": plan.next_check_at,
    }))
}

/// One real balance request (gloo-net, so it runs in a service worker). Never rejects: every
/// failure becomes an outcome with a code. The URL holds the key, so it is never logged.
#[wasm_bindgen(js_name = fetchBalance)]
pub async fn fetch_balance(state: JsValue, timeout_ms: u32, acao: bool) -> JsValue {
    let state = state_from(state);
    let settings = &state.settings;
    let outcome = if !settings.can_request() {
        Err(ApiError::new(ErrorCode::InvalidKey, "no usable key"))
    } else {
        match balance_url(&settings.endpoint, &settings.api_key, acao) {
            Ok(url) => request(&url, timeout_ms.max(1)).await,
            Err(_) => Err(ApiError::new(ErrorCode::Network, "bad endpoint")),
        }
    };
    to_js(&outcome_to_value(&outcome))
}

async fn request(url: &str, timeout_ms: u32) -> Outcome {
    let failed = |e: gloo_net::Error| match e {
        gloo_net::Error::JsError(js) if js.name == "TimeoutError" || js.name == "AbortError" => {
            ApiError::new(ErrorCode::Timeout, "timeout")
        }
        // Browser fetch errors carry no URL, but keep only the kind to be sure the key never
        // reaches the UI.
        _ => ApiError::new(ErrorCode::Network, "network error"),
    };
    let signal = web_sys::AbortSignal::timeout_with_u32(timeout_ms);
    let response = Request::get(url)
        .abort_signal(Some(&signal))
        .cache(web_sys::RequestCache::NoStore)
        .credentials(web_sys::RequestCredentials::Omit)
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    let content_type = response.headers().get("content-type");
    let body = response.text().await.map_err(failed)?;
    classify(status, content_type.as_deref(), &body)
}

/// Reads an HTTP answer: `{ ok: true, balance } | { ok: false, code, raw }`.
#[wasm_bindgen(js_name = classifyResponse)]
pub fn classify_response(status: u16, content_type: Option<String>, body: &str) -> JsValue {
    to_js(&outcome_to_value(&classify(status, content_type.as_deref(), body)))
}

/// Folds an outcome into the state: `{ state, alert }`.
#[wasm_bindgen]
pub fn observe(state: JsValue, outcome: JsValue, now_ms: f64, lang: &str) -> JsValue {
    let mut state = state_from(state);
    let outcome = outcome_from_value(&from_js(outcome));
    let (monitor, decision) = state.monitor.observe(&state.settings, &outcome, now_ms as i64);
    state.monitor = monitor;
    let alert = view::alert_view(decision, &state, Lang::from_tag(lang));
    to_js(&json!({ "state": state, "alert": alert }))
}

/// Everything a popup, badge or widget shows.
#[wasm_bindgen]
pub fn view(state: JsValue, now_ms: f64, lang: &str) -> JsValue {
    to_js(&view::view(&state_from(state), now_ms as i64, Lang::from_tag(lang)))
}

/// Cost of a batch against the balance.
#[wasm_bindgen]
pub fn estimate(state: JsValue, captcha_type: &str, quantity: JsValue, lang: &str) -> JsValue {
    let quantity = from_js(quantity);
    to_js(&view::estimate_view(&state_from(state), captcha_type, &quantity, Lang::from_tag(lang)))
}

/// One localized sentence; `args` fills `$1`, `$2` ….
#[wasm_bindgen]
pub fn message(lang: &str, key: &str, args: JsValue) -> String {
    let args: Vec<String> = serde_wasm_bindgen::from_value(args).unwrap_or_default();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    i18n::format(Lang::from_tag(lang), key, &args)
}

/// Every sentence of a language as `{ key: text }`.
#[wasm_bindgen]
pub fn messages(lang: &str) -> JsValue {
    let map: Map<String, Value> =
        i18n::all(Lang::from_tag(lang)).iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
    to_js(&map)
}

/// Installs the panic hook when built with the `console-panic` feature (development).
#[wasm_bindgen(start)]
pub fn start() {
    #[cfg(feature = "console-panic")]
    console_error_panic_hook::set_once();
}
