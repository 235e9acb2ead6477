//! The bindings in headless Chromium (`wasm-pack test --headless --chrome`, via
//! scripts/test-wasm.sh), including the module's own balance requests (gloo-net) against the
//! loopback mock API whose URL the script passes at build time in CAPTCHAAI_MOCK_URL. The mock
//! picks its answer from the first path segment (`{mock}/low/res.php` answers the "low"
//! scenario).
#![cfg(target_arch = "wasm32")]

use captchaai_balance::bindings as cab;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Set by scripts/test-wasm.sh. Without it (e.g. `cargo clippy --all-targets`) the fetch tests
/// fail with network errors against this unreachable host instead of not compiling.
const MOCK: &str = match option_env!("CAPTCHAAI_MOCK_URL") {
    Some(url) => url,
    None => "http://captchaai-mock-url-not-set.invalid",
};
const KEY: &str = "0123456789abcdef0123456789abcdef";

fn js(v: Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).expect("to js")
}

fn rs(v: JsValue) -> Value {
    let text = js_sys::JSON::stringify(&v)
        .expect("stringify")
        .as_string()
        .expect("string");
    serde_json::from_str(&text).expect("from js")
}

/// The catalog of a language as the build writes it to `messages/<lang>.json`: every locale
/// file but extension.json, merged (scripts/build-extension.mjs).
fn catalog(core: &str, widget: &str) -> String {
    let mut merged: serde_json::Map<String, Value> = serde_json::from_str(core).expect("core");
    let widget: serde_json::Map<String, Value> = serde_json::from_str(widget).expect("widget");
    merged.extend(widget);
    Value::Object(merged).to_string()
}

/// Installs both catalogs, as the extension's `ready` and the widget do before asking for text.
fn install_catalogs() {
    let en = catalog(
        include_str!("../locales/en/core.json"),
        include_str!("../locales/en/widget.json"),
    );
    let id = catalog(
        include_str!("../locales/id/core.json"),
        include_str!("../locales/id/widget.json"),
    );
    assert!(cab::set_messages("en", &en));
    assert!(cab::set_messages("id-ID", &id));
}

/// A state configured for one mock scenario (one CaptchaAI account).
fn state_for(scenario: &str) -> Value {
    install_catalogs();
    applied_state(
        json!({ "apiKey": KEY, "endpoint": format!("{MOCK}/{scenario}"), "threshold": "1.00" }),
    )
}

/// A fresh state with the settings `form` applied (accepted).
fn applied_state(form: Value) -> Value {
    let applied = rs(cab::apply_settings(
        &cab::load_state(JsValue::NULL),
        &js(form),
        "en",
    ));
    assert_eq!(applied["ok"], true, "{applied}");
    applied["state"].clone()
}

fn account_of(state: &Value) -> String {
    let view = rs(cab::view(&js(state.clone()), 1.8e12, "en", None));
    view["accounts"][0]["id"]
        .as_str()
        .expect("an account id")
        .to_string()
}

/// What extension/lib/check-cycle.js does: the module asks the API (gloo-net) and reads the
/// answer.
async fn fetch_state(state: &Value) -> Value {
    let account = account_of(state);
    rs(cab::check_balance(js(state.clone()), account, true).await)
}

async fn fetch(scenario: &str) -> Value {
    fetch_state(&state_for(scenario)).await
}

#[wasm_bindgen_test]
async fn reads_a_balance_over_http() {
    let outcome = fetch("ok").await;
    assert_eq!(outcome["ok"], true, "{outcome}");
    assert_eq!(outcome["balance"], "12.345");
    // Tagged with the (hashed) account it answers for, never with the key.
    assert!(
        outcome["account"].as_str().is_some_and(|a| a.len() == 8),
        "{outcome}"
    );
    let number = fetch("number").await;
    assert_eq!(number["ok"], true, "{number}");
}

#[wasm_bindgen_test]
async fn a_thread_plan_is_read_in_the_same_check() {
    // CaptchaAI sells thread plans: the check also posts `threadsinfo` (a form with the key in
    // the body), and the outcome carries that answer beside the balance.
    let outcome = fetch("ok").await;
    assert_eq!(
        outcome["threads"],
        json!({ "ok": true, "threads": 10, "workingThreads": 3, "code": null, "detail": null }),
        "{outcome}"
    );
    let busy = fetch("saturated").await;
    assert_eq!(busy["threads"]["workingThreads"], 10, "{busy}");
    let rejected = fetch("wrong_key").await;
    assert_eq!(rejected["threads"]["code"], "wrong_key", "{rejected}");
    assert!(!rejected.to_string().contains(KEY), "{rejected}");
    // Folded in, the view says it in words.
    let state = state_for("expired");
    let outcome = fetch_state(&state).await;
    let observed = rs(cab::observe(&js(state), &js(outcome), 1.8e12, "en"));
    assert_eq!(observed["alerts"][0]["kind"], "plan_expired", "{observed}");
    let view = rs(cab::view(
        &js(observed["state"].clone()),
        1.8e12 + 1_000.0,
        "en",
        None,
    ));
    assert_eq!(view["accounts"][0]["threads"]["text"], "No active plan");
    assert_eq!(view["accounts"][0]["status"], "plan_expired");
    // Another provider's check asks nothing of the kind.
    let form = json!({ "accounts": [{ "name": "Two", "provider": "custom-2captcha",
        "apiKey": KEY, "endpoint": format!("{MOCK}/saturated") }] });
    let state = applied_state(form);
    let outcome = fetch_state(&state).await;
    assert_eq!(outcome["ok"], true, "{outcome}");
    assert_eq!(outcome["threads"], Value::Null, "{outcome}");
}

#[wasm_bindgen_test]
async fn maps_api_errors() {
    #[rustfmt::skip]
    let cases = [
        ("error_zero_balance", "zero_balance"),
        ("wrong_key",          "wrong_key"),
        ("key_not_found",      "key_not_found"),
        ("ip_banned",          "ip_banned"),
        ("rate_limited",       "rate_limited"),
        ("html_502",           "server_error"),
        ("markup",             "malformed"),
    ];
    for (scenario, code) in cases {
        let outcome = fetch(scenario).await;
        assert_eq!(outcome["ok"], false, "{scenario}: {outcome}");
        assert_eq!(outcome["code"], code, "{scenario}: {outcome}");
        assert!(
            !outcome.to_string().contains(KEY),
            "{scenario} leaks the key"
        );
    }
}

#[wasm_bindgen_test]
async fn reports_network_errors() {
    let mut state = state_for("ok");
    state["accounts"][0]["settings"]["endpoint"] = json!("http://127.0.0.1:9");
    let down = fetch_state(&state).await;
    assert_eq!(down["code"], "network", "{down}");
    assert!(!down.to_string().contains(KEY), "{down}");
}

#[wasm_bindgen_test]
async fn full_cycle_turns_the_badge_red_on_low() {
    let state = state_for("low");
    let plan = rs(cab::plan_check(
        &js(state.clone()),
        1.8e12,
        "open",
        None,
        None,
    ));
    assert_eq!(plan["fetch"], true);
    assert_eq!(plan["due"], json!([account_of(&state)]));
    let outcome = fetch_state(&state).await;
    let observed = rs(cab::observe(&js(state), &js(outcome), 1.8e12, "id"));
    assert_eq!(observed["alerts"][0]["kind"], "warning");
    assert_eq!(observed["alerts"][0]["title"], "CaptchaAI: Saldo rendah");
    let view = rs(cab::view(
        &js(observed["state"].clone()),
        1.8e12 + 60_000.0,
        "en",
        None,
    ));
    assert_eq!(view["status"], "low");
    assert_eq!(view["badge"]["color"], "#dc2626");
    assert_eq!(view["badge"]["text"], "0.42");
    assert_eq!(view["accounts"][0]["balanceText"], "$0.4200");
    let again = rs(cab::plan_check(
        &js(observed["state"].clone()),
        1.8e12 + 60_000.0,
        "open",
        Some("en".into()),
        None,
    ));
    assert_eq!(again["fetch"], false);
    assert_eq!(again["reason"], "cached");
}

#[wasm_bindgen_test]
fn settings_errors_are_localized_and_state_kept() {
    let state = state_for("ok");
    let bad = rs(cab::apply_settings(
        &js(state.clone()),
        &js(json!({ "apiKey": "abc", "intervalMinutes": "0" })),
        "id",
    ));
    assert_eq!(bad["ok"], false);
    assert_eq!(
        bad["errors"]["apiKey"],
        "API key terdiri dari 32 karakter; key ini 3 karakter. Key ini tidak dikirim ke penyedia."
    );
    assert!(bad["errors"]["intervalMinutes"].is_string());
    assert_eq!(bad["state"]["accounts"], state["accounts"]);
    assert_eq!(cab::mask_key_js(KEY), "0123…cdef");
}

#[wasm_bindgen_test]
async fn outcomes_estimates_and_messages() {
    let state = state_for("error_zero_balance");
    let account = account_of(&state);
    let outcome = fetch_state(&state).await;
    assert_eq!(
        outcome,
        json!({ "account": account, "ok": false, "balance": null, "code": "zero_balance", "detail": "ERROR_ZERO_BALANCE",
            "threads": { "ok": false, "threads": null, "workingThreads": null, "code": "zero_balance", "detail": "ERROR_ZERO_BALANCE" } })
    );
    let observed = rs(cab::observe(
        &js(state),
        &js(json!({ "account": account, "ok": true, "balance": "12.345" })),
        1.8e12,
        "en",
    ))["state"]
        .clone();
    let e = rs(cab::estimate(
        &js(observed),
        &account,
        "recaptcha_v2",
        &JsValue::from_str("1000"),
        "en",
    ));
    assert_eq!(e["costText"], "$3.0000");
    assert_eq!(e["covered"], 4115);
    assert_eq!(e["enough"], true);
    assert_eq!(
        cab::message("id", "age_minutes", &js(json!(["5"]))),
        "5 menit lalu"
    );
    assert_eq!(cab::message("en", "level_low", &JsValue::UNDEFINED), "Low");
    assert_eq!(cab::catalog_lang("id-ID"), "id");
    assert_eq!(cab::catalog_lang("in"), "id");
    assert_eq!(cab::catalog_lang("de-AT"), "en");
    let garbage = rs(cab::load_state(JsValue::from_str("not a state")));
    assert_eq!(garbage["version"], 3);
    let providers = rs(cab::providers("en"));
    assert_eq!(providers[3]["label"], "Anti-Captcha");
    assert_eq!(providers[7]["label"], "Custom (createTask-compatible)");
}

#[wasm_bindgen_test]
async fn a_createtask_account_is_asked_by_post_and_read_exactly() {
    let form =
        json!({ "accounts": [{ "name": "Anti", "provider": "anticaptcha", "apiKey": KEY }] });
    let state = applied_state(form);
    let origins = rs(cab::host_permissions(&js(state.clone()), None));
    assert_eq!(
        origins,
        json!([]),
        "a known provider's host needs no prompt"
    );
    let origins = rs(cab::host_permissions(&js(state_for("ok")), None));
    assert_eq!(origins, json!([]), "loopback needs no prompt");
    // The mock answers `POST /ok/getBalance` with the balance as a JSON number written from
    // its decimal text; the module reads it from that text.
    install_catalogs();
    let form = json!({ "accounts": [{ "name": "Task", "provider": "custom-createtask",
        "apiKey": KEY, "endpoint": format!("{MOCK}/ok") }] });
    let state = applied_state(form);
    let outcome = fetch_state(&state).await;
    assert_eq!(outcome["ok"], true, "{outcome}");
    assert_eq!(outcome["balance"], "12.345");
}

#[wasm_bindgen_test]
fn a_begun_check_holds_the_floor_and_deep_junk_costs_only_itself() {
    let state = state_for("ok");
    let due = vec![account_of(&state)];
    let begun = rs(cab::begin_check(&js(state), 1.8e12, due));
    let monitor = &begun["accounts"][0]["monitor"];
    assert_eq!(monitor["lastRequestAt"], 1_800_000_000_000_i64);
    assert_eq!(monitor["checking"], true);
    let plan = rs(cab::plan_check(
        &js(begun.clone()),
        1.8e12 + 500.0,
        "open",
        None,
        None,
    ));
    assert_eq!(plan["reason"], "too_soon", "{plan}");
    assert_eq!(plan["nextCheckAt"], 1_800_000_060_000_i64, "{plan}");

    let mut junk = json!(0);
    for _ in 0..40 {
        junk = json!([junk]);
    }
    let mut stored = begun.clone();
    stored["accounts"][0]["monitor"]["futureCache"] = junk;
    stored["newerPart"] = json!({ "kept": true });
    // A lone surrogate (JS strings may hold one) in a newer build's member costs nothing.
    stored["accounts"][0]["settings"]["nickname"] = json!("x");
    let stored = js(stored);
    let settings = js_sys::Reflect::get(&stored, &"accounts".into())
        .and_then(|a| js_sys::Reflect::get(&a, &0.into()))
        .and_then(|a| js_sys::Reflect::get(&a, &"settings".into()))
        .expect("settings");
    let lone = js_sys::JSON::parse("\"\\ud800\"").expect("a lone surrogate");
    js_sys::Reflect::set(&settings, &"nickname".into(), &lone).expect("set");
    let loaded = rs(cab::load_state(stored));
    assert_eq!(
        loaded["accounts"][0]["settings"]["apiKey"],
        begun["accounts"][0]["settings"]["apiKey"]
    );
    assert_eq!(
        loaded["accounts"][0]["settings"]["threshold"],
        begun["accounts"][0]["settings"]["threshold"]
    );
    // The member sits 4 levels down (state, accounts, account, monitor): 29 of its 40 levels
    // fit in the 32 the module reads, and what lies deeper is null, on its own.
    let mut cut = json!(null);
    for _ in 0..29 {
        cut = json!([cut]);
    }
    assert_eq!(loaded["accounts"][0]["monitor"]["futureCache"], cut);
    assert_eq!(
        loaded["accounts"][0]["monitor"]["lastRequestAt"],
        1_800_000_000_000_i64
    );
    assert_eq!(loaded["newerPart"], json!({ "kept": true }));
}

/// The module carries no text: what `setMessages` installed is what it says, a language
/// without a sentence falls back to English, and text that is not a catalog changes nothing.
#[wasm_bindgen_test]
fn text_comes_from_the_installed_catalogs() {
    assert!(cab::set_messages(
        "id",
        r#"{ "level_low": "Rendah (uji)" }"#
    ));
    assert_eq!(
        cab::message("id", "level_low", &JsValue::UNDEFINED),
        "Rendah (uji)"
    );
    assert!(cab::set_messages(
        "en",
        r#"{ "level_ok": "Fine", "level_low": "Low" }"#
    ));
    assert_eq!(cab::message("id", "level_ok", &JsValue::UNDEFINED), "Fine");
    assert_eq!(
        cab::message("id", "no_such_key", &JsValue::UNDEFINED),
        "no_such_key"
    );
    assert!(!cab::set_messages("en", "not a catalog"));
    assert!(!cab::set_messages("en", r#"{ "level_ok": 1 }"#));
    assert_eq!(cab::message("en", "level_ok", &JsValue::UNDEFINED), "Fine");
    // The real catalogs back for the other tests (they run one after another in one module).
    install_catalogs();
    assert_eq!(cab::message("id", "level_ok", &JsValue::UNDEFINED), "Aman");
}

/// The module holds the parsed states of the last few state objects by identity
/// (src/bindings/convert.rs): more objects than it holds, viewed round-robin and each read
/// twice, must each still show their own content, and a state given to `observe` must give its
/// own view afterwards, not the observed one.
#[wasm_bindgen_test]
fn held_states_never_show_another_objects_content() {
    install_catalogs();
    let states: Vec<JsValue> = (1..=6)
        .map(|i| {
            js(applied_state(
                json!({ "apiKey": KEY, "threshold": format!("{i}.00") }),
            ))
        })
        .collect();
    for round in 0..3 {
        for (i, state) in states.iter().enumerate() {
            let view = rs(cab::view(&state.clone(), 1.8e12, "en", None));
            let want = format!("{}", i + 1);
            assert_eq!(
                view["accounts"][0]["threshold"],
                json!(want),
                "round {round}"
            );
        }
    }
    let first = states[0].clone();
    let account = rs(cab::view(&first.clone(), 1.8e12, "en", None))["accounts"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let observed = rs(cab::observe(
        &first,
        &js(json!({ "account": account, "ok": true, "balance": "0.5" })),
        1.8e12,
        "en",
    ));
    let after = rs(cab::view(
        &js(observed["state"].clone()),
        1.8e12,
        "en",
        None,
    ));
    assert_eq!(after["accounts"][0]["status"], "low");
    let before = rs(cab::view(&first, 1.8e12, "en", None));
    assert_eq!(before["accounts"][0]["status"], "unknown");
}

/// Clock times are in the browser's own zone at the offset of their instant (JS `Date`'s local
/// time), whatever `view`'s old `utcOffsetMin` argument says: it is no longer used.
#[wasm_bindgen_test]
fn clock_times_are_the_browsers_local_time() {
    let state = state_for("ok");
    let outcome = json!({ "account": account_of(&state), "ok": true, "balance": "12.5" });
    let at = 1.8e12;
    let observed = rs(cab::observe(&js(state), &js(outcome), at, "en"));
    let date = js_sys::Date::new(&JsValue::from_f64(at));
    let want = format!(
        "Balance read {:02}:{:02}, 1 min ago",
        date.get_hours(),
        date.get_minutes()
    );
    for offset in [None, Some(0.0), Some(-600.0)] {
        let view = rs(cab::view(
            &js(observed["state"].clone()),
            at + 60_000.0,
            "en",
            offset,
        ));
        assert_eq!(view["accounts"][0]["readText"], want.as_str(), "{offset:?}");
    }
}
