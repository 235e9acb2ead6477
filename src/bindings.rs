//! The JS API of the wasm module (wasm32 only). No logic lives here: each export converts JS
//! values, calls the core, and converts the answer back to a plain JSON-compatible object.
//! See docs/ARCHITECTURE.md for the contract.

#![deny(clippy::unwrap_used)]

use crate::error::{ApiError, ErrorCode};
use crate::i18n::{self, Lang};
use crate::json::{to_json_text, Json, ToJson};
use crate::monitor::TaggedOutcome;
use crate::prelude::*;
use crate::protocol::{balance_request, classify_for, MAX_ANSWER_LEN};
use crate::provider::permission_origin;
use crate::schedule::{Trigger, FETCH_TIMEOUT_MS};
use crate::settings::mask_key;
use crate::state::State;
use crate::summary;
use crate::view::{self, provider_views, RequestView};
use core::cell::UnsafeCell;
use wasm_bindgen::prelude::*;

/// Results leave as JSON text parsed by the browser's `JSON.parse`: plain objects that JS can
/// store as they are (see src/json.rs for why not serde).
fn to_js(value: &dyn ToJson) -> JsValue {
    js_sys::JSON::parse(&to_json_text(value)).unwrap_or(JsValue::NULL)
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

/// The states this instance parsed, by the JS object they were read from. A popup or a widget
/// renders the same state object every second: with its `State` held here, `view` neither
/// stringifies nor parses the history again. JS never changes a state object in place
/// (docs/ARCHITECTURE.md), so the object's identity (`===`) names its content.
struct Held(
    UnsafeCell<[Option<(JsValue, State)>; HELD_SLOTS]>,
    UnsafeCell<usize>,
);

/// One state per widget on a page is typical; more only costs a parse.
const HELD_SLOTS: usize = 4;

// SAFETY: wasm32-unknown-unknown runs this module on one thread, and no function below lets a
// reference into the slots outlive its call or calls back into JS while holding one.
unsafe impl Sync for Held {}

static HELD: Held = Held(
    UnsafeCell::new([const { None }; HELD_SLOTS]),
    UnsafeCell::new(0),
);

/// The state held for `value`, taken out (a caller that changes it does not hold the result:
/// the next read of that object parses it once), or `value` parsed and migrated.
#[inline(never)]
fn state_from(value: &JsValue) -> State {
    // SAFETY: see `Held`.
    let slots = unsafe { &mut *HELD.0.get() };
    for slot in slots.iter_mut() {
        if slot.as_ref().is_some_and(|(v, _)| v == value) {
            if let Some((_, state)) = slot.take() {
                return state;
            }
        }
    }
    State::load(from_js(value))
}

/// Holds `state` as the content of `value` for the next call: in a free slot (the one
/// `state_from` just emptied, usually, so four widgets that render in turn all stay held), else
/// in the next slot round the ring. Not inlined: it would be copied into every export.
#[inline(never)]
fn keep(value: &JsValue, state: State) {
    if value.is_object() {
        // SAFETY: see `Held`.
        let (slots, next) = unsafe { (&mut *HELD.0.get(), &mut *HELD.1.get()) };
        let at = match slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                *next = next.wrapping_add(1);
                *next % HELD_SLOTS
            }
        };
        if let Some(slot) = slots.get_mut(at) {
            *slot = Some((value.clone(), state));
        }
    }
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

/// Which accounts to ask the API for now: `PlanView` (`{ fetch, due, reason, reasonText,
/// nextCheckAt }`). `only` (an account id) limits it to one account.
#[wasm_bindgen(js_name = planCheck)]
pub fn plan_check(
    state: JsValue,
    now_ms: f64,
    trigger: &str,
    lang: Option<String>,
    only: Option<String>,
) -> JsValue {
    let held = state_from(&state);
    let state_js = state;
    let state = &held;
    let out = to_js(&view::plan_view(
        state,
        Trigger::from_name(trigger),
        only.as_deref(),
        now_ms as i64,
        Lang::from_tag(lang.as_deref().unwrap_or("en")),
    ));
    keep(&state_js, held);
    out
}

/// Marks checks as sent for the accounts in `due` (their ids): the `State` to store, and to
/// schedule the next wake-up from, before sending the requests, so a caller that dies
/// mid-request still holds each account's floor and wakes for a retry.
#[wasm_bindgen(js_name = beginCheck)]
pub fn begin_check(state: JsValue, now_ms: f64, due: JsValue) -> JsValue {
    let due = from_js(&due);
    let mut ids: Vec<String> = Vec::new();
    for id in due.as_array() {
        if let Some(id) = id.as_str() {
            ids.push(id.to_string());
        }
    }
    to_js(&state_from(&state).begin_checks(&ids, now_ms as i64))
}

/// How many bytes of an answer callers read at most: one more than an answer may have
/// (`protocol::MAX_ANSWER_LEN`), so a longer one is still seen as too long and a hostile
/// endpoint cannot make a page read without end.
#[wasm_bindgen(js_name = answerReadLimit)]
pub fn answer_read_limit() -> u32 {
    MAX_ANSWER_LEN as u32 + 1
}

/// How long callers wait for the API before `requestFailed(account, true)` (ms).
#[wasm_bindgen(js_name = fetchTimeoutMs)]
pub fn fetch_timeout_ms() -> u32 {
    FETCH_TIMEOUT_MS
}

/// The request to send for one account: `RequestView` (`{ account, request: { method, url,
/// body? } | null, outcome }`); when no request may be sent (no usable key, a bad endpoint)
/// `outcome` is what to pass to `observe` instead. The request holds the key: never log it.
/// `acao` asks 2captcha-compatible hosts for CORS headers (direct browser mode).
#[wasm_bindgen(js_name = balanceRequest)]
pub fn balance_request_js(state: JsValue, account: &str, acao: bool) -> JsValue {
    let held = state_from(&state);
    let state_js = state;
    let state = &held;
    let out = balance_request_for(state, account, acao);
    keep(&state_js, held);
    out
}

fn balance_request_for(state: &State, account: &str, acao: bool) -> JsValue {
    let Some(found) = state.account(account) else {
        return to_js(&RequestView::refused(
            account,
            ApiError::new(ErrorCode::Malformed, "no such account"),
        ));
    };
    let settings = &found.settings;
    if !settings.can_request() {
        return to_js(&RequestView::refused(
            account,
            ApiError::new(ErrorCode::InvalidKey, "no usable key"),
        ));
    }
    match balance_request(
        settings.provider().family,
        &settings.endpoint,
        &settings.api_key,
        acao,
    ) {
        Ok(request) => to_js(&RequestView::send(account, request)),
        Err(_) => to_js(&RequestView::refused(
            account,
            ApiError::new(ErrorCode::Network, "bad endpoint"),
        )),
    }
}

/// Reads one account's HTTP answer in its provider's protocol: a `TaggedOutcome` for
/// `observe`, with the key cut out of anything the API echoed.
#[wasm_bindgen(js_name = classifyResponse)]
pub fn classify_response(
    state: JsValue,
    account: &str,
    status: u16,
    content_type: Option<String>,
    body: &str,
) -> JsValue {
    let held = state_from(&state);
    let state_js = state;
    let state = &held;
    let outcome = match state.account(account) {
        Some(found) => classify_for(
            found.settings.provider().family,
            status,
            content_type.as_deref(),
            body,
        )
        .map_err(|e| e.without_secret(&found.settings.api_key)),
        None => Err(ApiError::new(ErrorCode::Malformed, "no such account")),
    };
    keep(&state_js, held);
    to_js(&TaggedOutcome::new(&outcome, Some(account.to_string())))
}

/// The outcome of a request that got no answer: `timed_out` after `fetchTimeoutMs`, otherwise
/// a network failure (offline, DNS, CORS, refused). Browser errors are not passed in: they
/// might name the URL, which holds the key.
#[wasm_bindgen(js_name = requestFailed)]
pub fn request_failed(account: &str, timed_out: bool) -> JsValue {
    let error = if timed_out {
        ApiError::new(ErrorCode::Timeout, "timeout")
    } else {
        ApiError::new(ErrorCode::Network, "network error")
    };
    to_js(&TaggedOutcome::new(&Err(error), Some(account.to_string())))
}

/// Every provider for the options page's select: `[{ id, label, family, endpoint, custom }]`.
#[wasm_bindgen]
pub fn providers(lang: &str) -> JsValue {
    to_js(&provider_views(Lang::from_tag(lang)))
}

/// The origins (`https://host:port/*`) the accounts' endpoints need a host permission for:
/// neither a known provider's API host nor loopback. The options page asks for them at Save.
#[wasm_bindgen(js_name = hostPermissions)]
pub fn host_permissions(state: JsValue) -> JsValue {
    let held = state_from(&state);
    let state_js = state;
    let state = &held;
    let origins = {
        let mut origins: Vec<String> = Vec::new();
        for account in &state.accounts {
            if let Some(origin) = permission_origin(&account.settings.endpoint) {
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        origins
    };
    keep(&state_js, held);
    to_js(&origins)
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

/// Folds a server's history of one account (`[{ at, balance }]`, oldest first) into that
/// account's: the `State` to keep. Points that are not `{ at: integer, balance: decimal }`, and
/// points not older than the account's newest reading, are left out.
#[wasm_bindgen(js_name = mergeHistory)]
pub fn merge_history(state: JsValue, account: &str, points: JsValue) -> JsValue {
    to_js(&state_from(&state).merge_history(account, &from_js(&points)))
}

/// Everything a popup, badge or widget shows: `View` (every account, the worst first, and
/// the badge). `utc_offset_min` (the browser's `-new Date().getTimezoneOffset()`) places clock
/// times; UTC without it.
#[wasm_bindgen]
pub fn view(state: JsValue, now_ms: f64, lang: &str, utc_offset_min: Option<f64>) -> JsValue {
    let held = state_from(&state);
    let state_js = state;
    let state = &held;
    let out = to_js(&summary::view(
        state,
        now_ms as i64,
        Lang::from_tag(lang),
        utc_offset_min.unwrap_or(0.0) as i64,
    ));
    keep(&state_js, held);
    out
}

/// Cost of a batch against one account's balance (`account`: its id).
#[wasm_bindgen]
pub fn estimate(
    state: JsValue,
    account: &str,
    captcha_type: &str,
    quantity: JsValue,
    lang: &str,
) -> JsValue {
    let lang = Lang::from_tag(lang);
    let held = state_from(&state);
    let state_js = state;
    let state = &held;
    let out = to_js(&match state.account(account) {
        Some(found) => view::estimate_view(found, captcha_type, &from_js(&quantity), lang),
        None => view::estimate_failed(lang, "estimate_no_account"),
    });
    keep(&state_js, held);
    out
}

/// One localized sentence; `args` fills `$1`, `$2` ….
#[wasm_bindgen]
pub fn message(lang: &str, key: &str, args: JsValue) -> String {
    let args = from_js(&args);
    let mut texts: Vec<&str> = Vec::new();
    for arg in args.as_array() {
        if let Some(text) = arg.as_text() {
            texts.push(text);
        }
    }
    i18n::format(Lang::from_tag(lang), key, &texts)
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
