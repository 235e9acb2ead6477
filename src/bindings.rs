//! The JS API of the wasm module (wasm32 only). No logic lives here: each export converts JS
//! values, calls the core, and converts the answer back to a plain JSON-compatible object.
//! See docs/ARCHITECTURE.md for the contract.

#![deny(clippy::unwrap_used)]

use crate::error::{ApiError, ErrorCode};
use crate::i18n::{self, Lang};
use crate::json::{Json, ToJson};
use crate::monitor::{Outcome, TaggedOutcome};
use crate::protocol::{balance_url, classify};
use crate::schedule::{Trigger, FETCH_TIMEOUT_MS};
use crate::settings::mask_key;
use crate::state::State;
use crate::view;
use gloo_net::http::Request;
use wasm_bindgen::prelude::*;

/// Results leave as JSON text parsed by the browser's `JSON.parse`: plain objects that JS can
/// store as they are (see src/json.rs for why not serde).
fn to_js(value: &dyn ToJson) -> JsValue {
    js_sys::JSON::parse(&value.to_json()).unwrap_or(JsValue::NULL)
}

/// JS values come in through `JSON.stringify` and the core's reader, which keeps numbers exact.
/// They are stored data or forms, never API answers: a value nested too deep is dropped on its
/// own (`Json::parse_stored`) instead of costing the whole state.
fn from_js(value: &JsValue) -> Json {
    if value.is_undefined() {
        return Json::Null;
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .and_then(|s| Json::parse_stored(&s).ok())
        .unwrap_or(Json::Null)
}

fn state_from(value: &JsValue) -> State {
    State::load(from_js(value))
}

fn outcome_js(outcome: &Outcome, account: Option<String>) -> JsValue {
    to_js(&TaggedOutcome::new(outcome, account))
}

/// Migrates whatever was stored into the current `State`; never throws.
#[wasm_bindgen(js_name = loadState)]
pub fn load_state(raw: JsValue) -> JsValue {
    to_js(&state_from(&raw))
}

/// Validates a settings form: `SettingsAnswer` (`{ ok, state, errors: { field: sentence } }`).
#[wasm_bindgen(js_name = applySettings)]
pub fn apply_settings(state: JsValue, input: JsValue, lang: &str) -> JsValue {
    to_js(&view::settings_answer(
        state_from(&state),
        &from_js(&input),
        Lang::from_tag(lang),
    ))
}

/// `abcd…wxyz`.
#[wasm_bindgen(js_name = maskKey)]
pub fn mask_key_js(key: &str) -> String {
    mask_key(key)
}

/// Whether to ask the API now: `PlanView` (`{ fetch, reason, reasonText, nextCheckAt }`).
#[wasm_bindgen(js_name = planCheck)]
pub fn plan_check(state: JsValue, now_ms: f64, trigger: &str, lang: Option<String>) -> JsValue {
    to_js(&view::plan_view(
        &state_from(&state),
        Trigger::from_name(trigger),
        now_ms as i64,
        Lang::from_tag(lang.as_deref().unwrap_or("en")),
    ))
}

/// Marks a check as sent (`State`): store it, and schedule the next wake-up from its view,
/// before sending the request, so a caller that dies mid-request still holds the floor and
/// wakes for a retry.
#[wasm_bindgen(js_name = beginCheck)]
pub fn begin_check(state: JsValue, now_ms: f64) -> JsValue {
    to_js(&state_from(&state).begin_check(now_ms as i64))
}

/// How long `fetchBalance` callers wait for the API (ms).
#[wasm_bindgen(js_name = fetchTimeoutMs)]
pub fn fetch_timeout_ms() -> u32 {
    FETCH_TIMEOUT_MS
}

/// One real balance request (gloo-net, so it runs in a service worker). Never rejects: every
/// failure becomes an outcome with a code. The URL holds the key, so it is never logged.
#[wasm_bindgen(js_name = fetchBalance)]
pub async fn fetch_balance(state: JsValue, timeout_ms: u32, acao: bool) -> JsValue {
    let state = state_from(&state);
    let settings = &state.settings;
    let outcome = if !settings.can_request() {
        Err(ApiError::new(ErrorCode::InvalidKey, "no usable key"))
    } else {
        match balance_url(&settings.endpoint, &settings.api_key, acao) {
            // An API that echoes the key gets it cut out before the outcome reaches JS.
            Ok(url) => request(&url, timeout_ms.max(1))
                .await
                .map_err(|e| e.without_secret(&settings.api_key)),
            Err(_) => Err(ApiError::new(ErrorCode::Network, "bad endpoint")),
        }
    };
    outcome_js(&outcome, Some(settings.account_id()))
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
    outcome_js(&classify(status, content_type.as_deref(), body), None)
}

/// Folds an outcome into the state: `Observed` (`{ state, alert }`).
#[wasm_bindgen]
pub fn observe(state: JsValue, outcome: JsValue, now_ms: f64, lang: &str) -> JsValue {
    to_js(&view::observed(
        state_from(&state),
        &TaggedOutcome::read(&from_js(&outcome)),
        now_ms as i64,
        Lang::from_tag(lang),
    ))
}

/// Everything a popup, badge or widget shows. `utc_offset_min` (the browser's
/// `-new Date().getTimezoneOffset()`) places clock times; UTC without it.
#[wasm_bindgen]
pub fn view(state: JsValue, now_ms: f64, lang: &str, utc_offset_min: Option<f64>) -> JsValue {
    to_js(&view::view(
        &state_from(&state),
        now_ms as i64,
        Lang::from_tag(lang),
        utc_offset_min.unwrap_or(0.0) as i64,
    ))
}

/// Cost of a batch against the balance.
#[wasm_bindgen]
pub fn estimate(state: JsValue, captcha_type: &str, quantity: JsValue, lang: &str) -> JsValue {
    to_js(&view::estimate_view(
        &state_from(&state),
        captcha_type,
        &from_js(&quantity),
        Lang::from_tag(lang),
    ))
}

/// One localized sentence; `args` fills `$1`, `$2` ….
#[wasm_bindgen]
pub fn message(lang: &str, key: &str, args: JsValue) -> String {
    let args = from_js(&args);
    let args: Vec<&str> = args.as_array().iter().filter_map(Json::as_text).collect();
    i18n::format(Lang::from_tag(lang), key, &args)
}

/// Installs a language's text catalog (`messages/<lang>.json` as text, written by the build):
/// the wasm module carries no sentences of its own. Until a language is installed its
/// sentences are English, or their keys when English is not installed either. Returns false,
/// keeping what was installed, when `catalog` is not a `{ key: text }` object.
#[wasm_bindgen(js_name = setMessages)]
pub fn set_messages(lang: &str, catalog: &str) -> bool {
    i18n::install(Lang::from_tag(lang), catalog)
}

/// The catalog a language tag needs (`en` or `id`: `id-ID` and `in` are `id`, unknown tags
/// `en`), so JS fetches `messages/<that>.json` without deciding languages itself.
#[wasm_bindgen(js_name = catalogLang)]
pub fn catalog_lang(tag: &str) -> String {
    Lang::from_tag(tag).code().to_string()
}

/// Installs the panic hook when built with the `console-panic` feature (development).
#[wasm_bindgen(start)]
pub fn start() {
    #[cfg(feature = "console-panic")]
    console_error_panic_hook::set_once();
}
