//! The JS API of the wasm module (wasm32 only). No logic lives here: each export converts JS
//! values, calls the core, and converts the answer back to a plain JSON-compatible object
//! (serde-wasm-bindgen); the one thing it does itself is send the balance request with
//! gloo-net (`fetch.rs`). The TypeScript declarations are generated from the Rust types
//! (tsify) into the glue's `.d.ts`. See docs/ARCHITECTURE.md for the contract.

#![deny(clippy::unwrap_used)]

mod convert;
mod fetch;

use crate::error::{ApiError, ErrorCode};
use crate::history::Point;
use crate::i18n::{self, Lang};
use crate::monitor::TaggedOutcome;
use crate::protocol::{balance_request, threads_request, ApiRequest};
use crate::provider::{permission_origin, Family};
use crate::schedule::Trigger;
use crate::settings::mask_key;
use crate::state::State;
use crate::stored;
use crate::summary;
use crate::view::{self, provider_views};
use convert::{hold, state_from, state_to_js, to_js, value_from_js};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const DECLARATIONS: &str = r#"
/** An exact amount of US dollars as a decimal string ("12.345"), never a float. */
export type Money = string;
/** Per-type prices: the types that have one. */
export type RateTable = Partial<Record<CaptchaType, Money>>;
/** A refused form's fields (`threshold`, `accounts.1.apiKey`) with one localized sentence each. */
export type FieldErrors = Record<string, string>;
/** What asks for a check. */
export type Trigger = "alarm" | "open" | "refresh" | "settings";
/** One account's row of a settings form, as typed (numbers may be strings). */
export interface AccountForm {
    id?: string;
    name?: string;
    provider?: ProviderId;
    apiKey?: string;
    threshold?: string | number;
    endpoint?: string;
    rates?: Partial<Record<CaptchaType, string>>;
    allowPlainHttp?: boolean;
}
/** A settings form: the shared fields, and the accounts (or one account's fields at the top). */
export interface SettingsInput extends Omit<AccountForm, "id"> {
    intervalMinutes?: string | number;
    intervalSeconds?: string | number;
    notifications?: boolean;
    showSolves?: boolean;
    predictiveHours?: string | number;
    spikeAlerts?: boolean;
    accounts?: AccountForm[];
    /** The `revision` of the settings form this was filled from: refused if they changed since. */
    revision?: string;
}
"#;

/// Migrates whatever was stored into the current `State`; never throws.
#[wasm_bindgen(js_name = loadState, unchecked_return_type = "State")]
pub fn load_state(raw: JsValue) -> JsValue {
    state_to_js(State::clone(&state_from(&raw)))
}

/// `object` (an answer serialized with its `state` member) with that member held as `state`.
fn with_held_state(object: JsValue, state: State) -> JsValue {
    if let Ok(member) = js_sys::Reflect::get(&object, &JsValue::from_str("state")) {
        hold(&member, Rc::new(state));
    }
    object
}

/// Validates a settings form: `SettingsAnswer` (`{ ok, state, errors: { field: sentence } }`).
#[wasm_bindgen(js_name = applySettings, unchecked_return_type = "SettingsAnswer")]
pub fn apply_settings(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "SettingsInput")] input: &JsValue,
    lang: &str,
) -> JsValue {
    let answer = view::settings_answer(
        State::clone(&state_from(state)),
        &value_from_js(input),
        Lang::from_tag(lang),
    );
    let object = to_js(&answer);
    with_held_state(object, answer.state)
}

/// What the options page fills its form with: the shared settings and each account's fields
/// (never a key: its masked form).
#[wasm_bindgen(js_name = settingsForm, unchecked_return_type = "SettingsFormView")]
pub fn settings_form(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    lang: &str,
) -> JsValue {
    to_js(&view::settings_form(
        &state_from(state),
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
#[wasm_bindgen(js_name = planCheck, unchecked_return_type = "PlanView")]
pub fn plan_check(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    now_ms: f64,
    #[wasm_bindgen(unchecked_param_type = "Trigger")] trigger: &str,
    lang: Option<String>,
    only: Option<String>,
) -> JsValue {
    to_js(&view::plan_view(
        &state_from(state),
        Trigger::from_name(trigger),
        only.as_deref(),
        now_ms as i64,
        Lang::from_tag(lang.as_deref().unwrap_or("en")),
    ))
}

/// Marks checks as sent for the accounts in `due` (their ids): the `State` to store, and to
/// schedule the next wake-up from, before sending the requests, so a caller that dies
/// mid-request still holds each account's floor and wakes for a retry.
#[wasm_bindgen(js_name = beginCheck, unchecked_return_type = "State")]
pub fn begin_check(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    now_ms: f64,
    due: Vec<String>,
) -> JsValue {
    state_to_js(State::clone(&state_from(state)).begin_checks(&due, now_ms as i64))
}

/// Asks one account's API for its balance (gloo-net, `fetch.rs`) and reads the answer in its
/// provider's protocol: the `TaggedOutcome` to pass to `observe`. For a provider that sells
/// thread plans (CaptchaAI) the same check asks `threadsinfo` at the same time, and the outcome
/// carries that answer too (`threads`). Never rejects: no usable key, a bad endpoint, a
/// timeout or a network failure are outcomes too. `acao` asks 2captcha-compatible hosts for
/// CORS headers (`header_acao=1`, direct browser mode).
#[wasm_bindgen(js_name = checkBalance, unchecked_return_type = "TaggedOutcome")]
pub async fn check_balance(
    #[wasm_bindgen(unchecked_param_type = "State")] state: JsValue,
    account: String,
    acao: bool,
) -> JsValue {
    let planned = check_requests(&state_from(&state), &account, acao);
    let tagged = match planned {
        Err(error) => TaggedOutcome::new(&Err(error), Some(account)),
        Ok(requests) => {
            let threads = async {
                match &requests.threads {
                    Some(request) => Some(fetch::fetch_threads(request).await),
                    None => None,
                }
            };
            let (outcome, threads) = futures_util::future::join(
                fetch::fetch_outcome(requests.family, &requests.balance),
                threads,
            )
            .await;
            let key = requests.key.as_str();
            let tagged =
                TaggedOutcome::new(&outcome.map_err(|e| e.without_secret(key)), Some(account));
            match threads {
                Some(threads) => tagged.with_threads(&threads.map_err(|e| e.without_secret(key))),
                None => tagged,
            }
        }
    };
    to_js(&tagged)
}

/// The requests of one account's check; they hold the key (in the URL or the body).
struct CheckRequests {
    family: Family,
    balance: ApiRequest,
    /// `threadsinfo`, for a provider that sells thread plans.
    threads: Option<ApiRequest>,
    /// Cut out of any error that echoes it.
    key: String,
}

/// What a check of `account` sends, or the error it ends with without a request.
fn check_requests(state: &State, account: &str, acao: bool) -> Result<CheckRequests, ApiError> {
    let refused = |code, detail: &str| Err(ApiError::new(code, detail));
    let Some(found) = state.account(account) else {
        return refused(ErrorCode::Malformed, "no such account");
    };
    let settings = &found.settings;
    if !settings.can_request() {
        return refused(ErrorCode::InvalidKey, "no usable key");
    }
    let family = settings.provider().family;
    let (endpoint, key) = (&settings.endpoint, &settings.api_key);
    let bad_endpoint = |_| ApiError::new(ErrorCode::Network, "bad endpoint");
    Ok(CheckRequests {
        family,
        balance: balance_request(family, endpoint, key, acao).map_err(bad_endpoint)?,
        threads: if settings.provider().threads {
            Some(threads_request(endpoint, key, acao).map_err(bad_endpoint)?)
        } else {
            None
        },
        key: key.clone(),
    })
}

/// The history a captchaai-balance-server keeps of this account (`Point[]`, oldest first), for
/// `mergeHistory`: the account's forecast and sparkline then start from the server's readings.
/// `null` without a request for an account whose endpoint is a provider's own API, and `null`
/// when the endpoint has no history to give (not this project's server, a failure). Never
/// rejects.
#[wasm_bindgen(js_name = serverHistory, unchecked_return_type = "Point[] | null")]
pub async fn server_history(
    #[wasm_bindgen(unchecked_param_type = "State")] state: JsValue,
    account: String,
) -> JsValue {
    let url = state_from(&state)
        .account(&account)
        .and_then(|a| a.settings.server_history_url());
    let points = match url {
        Some(url) => fetch::fetch_history(&url).await,
        None => None,
    };
    points.map_or(JsValue::NULL, |points| to_js(&points))
}

/// The `TaggedOutcome` of a check whose request the caller's own code could not make (it
/// threw): a network failure, for `observe`.
#[wasm_bindgen(js_name = requestThrew, unchecked_return_type = "TaggedOutcome")]
pub fn request_threw(account: String) -> JsValue {
    let error = ApiError::new(ErrorCode::Network, "network error");
    to_js(&TaggedOutcome::new(&Err(error), Some(account)))
}

/// The `TaggedOutcome` of a check that sent nothing because the browser has not granted
/// `origins` (`https://host/*`, as `hostPermissions` gives them): `permission_missing`, whose
/// detail names the hosts to grant.
#[wasm_bindgen(js_name = permissionMissing, unchecked_return_type = "TaggedOutcome")]
pub fn permission_missing(account: String, origins: Vec<String>) -> JsValue {
    let hosts: Vec<&str> = origins
        .iter()
        .map(|origin| origin.strip_suffix("/*").unwrap_or(origin))
        .collect();
    let error = ApiError::new(ErrorCode::PermissionMissing, hosts.join(" "));
    to_js(&TaggedOutcome::new(&Err(error), Some(account)))
}

/// Every provider for the options page's select: `[{ id, label, family, endpoint, custom }]`.
#[wasm_bindgen(unchecked_return_type = "ProviderView[]")]
pub fn providers(lang: &str) -> JsValue {
    to_js(&provider_views(Lang::from_tag(lang)))
}

/// The origins (`https://host/*`) the accounts' endpoints need a host permission for: neither
/// a known provider's API host nor loopback. The options page asks for them at Save; with
/// `account` (an id), that account's only (the worker checks them before asking, the popup's
/// Grant access requests them).
#[wasm_bindgen(js_name = hostPermissions, unchecked_return_type = "string[]")]
pub fn host_permissions(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    account: Option<String>,
) -> JsValue {
    let mut origins: Vec<String> = Vec::new();
    for origin in state_from(state)
        .accounts
        .iter()
        .filter(|a| account.as_ref().is_none_or(|id| a.id() == *id))
        .filter_map(|a| permission_origin(&a.settings.endpoint))
    {
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    to_js(&origins)
}

/// Folds an outcome into the state: `Observed` (`{ state, alert }`).
#[wasm_bindgen(unchecked_return_type = "Observed")]
pub fn observe(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "TaggedOutcome")] outcome: &JsValue,
    now_ms: f64,
    lang: &str,
) -> JsValue {
    let observed = view::observed(
        State::clone(&state_from(state)),
        &TaggedOutcome::read(&value_from_js(outcome)),
        now_ms as i64,
        Lang::from_tag(lang),
    );
    let object = to_js(&observed);
    with_held_state(object, observed.state)
}

/// Folds a server's history of one account (`[{ at, balance }]`, oldest first) into that
/// account's: the `State` to keep. Points that are not `{ at: integer, balance: decimal
/// string }`, and points not older than the account's newest reading, are left out.
#[wasm_bindgen(js_name = mergeHistory, unchecked_return_type = "State")]
pub fn merge_history(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    account: &str,
    #[wasm_bindgen(unchecked_param_type = "Point[]")] points: &JsValue,
) -> JsValue {
    let points: Vec<Point> = stored::items(&value_from_js(points));
    state_to_js(State::clone(&state_from(state)).merge_history(account, &points))
}

/// The browser's time zone: minutes east of UTC at each instant
/// (`-new Date(ms).getTimezoneOffset()`), so a clock time on the other side of a
/// daylight-saving change is shown at its own offset.
struct BrowserZone;

impl i18n::Zone for BrowserZone {
    fn offset_min(&self, at_ms: i64) -> i64 {
        let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
        -(date.get_timezone_offset().round() as i64)
    }
}

/// Everything a popup, badge or widget shows: `View` (every account, the worst first, and
/// the badge). Clock times are in the browser's time zone, each instant at its own offset
/// (daylight saving included). `utc_offset_min` is no longer used: it is accepted so callers
/// that pass `-new Date().getTimezoneOffset()` keep working, and may be left out.
#[wasm_bindgen(unchecked_return_type = "View")]
pub fn view(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    now_ms: f64,
    lang: &str,
    utc_offset_min: Option<f64>,
) -> JsValue {
    let _unused = utc_offset_min;
    to_js(&summary::view(
        &state_from(state),
        now_ms as i64,
        Lang::from_tag(lang),
        BrowserZone,
    ))
}

/// Cost of a batch against one account's balance (`account`: its id; `quantity` a number or
/// a form field's text).
#[wasm_bindgen(unchecked_return_type = "EstimateView")]
pub fn estimate(
    #[wasm_bindgen(unchecked_param_type = "State")] state: &JsValue,
    account: &str,
    #[wasm_bindgen(unchecked_param_type = "CaptchaType")] captcha_type: &str,
    #[wasm_bindgen(unchecked_param_type = "number | string")] quantity: &JsValue,
    lang: &str,
) -> JsValue {
    let lang = Lang::from_tag(lang);
    let state = state_from(state);
    to_js(&match state.account(account) {
        Some(found) => view::estimate_view(found, captcha_type, &value_from_js(quantity), lang),
        None => view::estimate_failed(lang, "estimate_no_account"),
    })
}

/// One localized sentence; `args` (strings or numbers) fill `$1`, `$2` ….
#[wasm_bindgen]
pub fn message(
    lang: &str,
    key: &str,
    #[wasm_bindgen(unchecked_param_type = "(string | number)[]")] args: &JsValue,
) -> String {
    let args: Vec<String> = stored::items::<serde_json::Value>(&value_from_js(args))
        .into_iter()
        .filter_map(|arg| match arg {
            serde_json::Value::String(text) => Some(text),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
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

/// Installs the panic hook when built with the `console-panic` feature (development, tests).
#[wasm_bindgen(start)]
pub fn start() {
    #[cfg(feature = "console-panic")]
    console_error_panic_hook::set_once();
}
