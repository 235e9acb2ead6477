//! Mock mode: the simulated account, its scenarios and its control API, served through the
//! same cache and metrics as proxy mode.

mod common;

use captchaai_balance_server::Mode;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// A state of the default account (CaptchaAI, a 10-thread plan) without its busy threads,
/// which follow the clock (checked here: a few, never all).
fn steady(mut state: Value) -> Value {
    let busy = state
        .as_object_mut()
        .and_then(|s| s.remove("workingThreads"))
        .and_then(|w| w.as_u64())
        .expect("workingThreads");
    assert!((1..10).contains(&busy), "{busy} of 10 busy");
    state
}

async fn scenario(base: &str, body: Value) -> Got {
    let got = post(base, "/mock/scenario", &body.to_string()).await;
    assert_eq!(got.status, 200, "{body}: {}", got.body);
    got
}

#[tokio::test]
async fn a_fresh_account_drains_over_time() {
    let config = mock_config();
    let clock = config.clock.clone();
    let base = start(config).await;

    let state = get(&base, "/mock/state").await;
    assert_eq!(state.status, 200);
    assert!(
        !state.headers.contains_key("access-control-allow-origin"),
        "same-origin only by default"
    );
    assert_eq!(
        steady(state.json()),
        json!({"scenario":"ok","balance":"25.000","drainPerMinute":"0.02","delayMs":0,"upstreamRequests":0,"threads":10,"threadsRequests":0})
    );
    let got = get(&base, BALANCE).await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (200, r#"{"status":1,"request":"25"}"#)
    );

    clock.advance(Duration::from_secs(20));
    // 20 s × 0.02/min = 0.00666…, shown to five decimals, rounded down.
    assert_eq!(
        get(&base, "/mock/state").await.json()["balance"],
        "24.99333"
    );
    // The widget still sees the cached reading for 30 s …
    assert_eq!(get(&base, BALANCE).await.json()["request"], "25");
    clock.advance(Duration::from_secs(10));
    // … then the drained balance.
    assert_eq!(get(&base, BALANCE).await.json()["request"], "24.99");
    clock.advance(Duration::from_secs(60));
    assert_eq!(get(&base, "/mock/state").await.json()["balance"], "24.970");
    assert_eq!(
        get(&base, "/mock/state").await.json()["upstreamRequests"],
        2
    );
}

#[tokio::test]
async fn every_scenario_answers_like_the_api() {
    let base = start(mock_config()).await;
    #[rustfmt::skip]
    let cases: &[(&str, u16, Value)] = &[
        ("ok",                 200, json!({"status":1,"request":"25"})),
        ("low",                200, json!({"status":1,"request":"0.42"})),
        ("zero",               200, json!({"status":1,"request":"0"})),
        ("error_zero_balance", 200, json!({"status":0,"request":"ERROR_ZERO_BALANCE","error":"zero_balance"})),
        ("wrong_key",          200, json!({"status":0,"request":"ERROR_WRONG_USER_KEY","error":"wrong_key"})),
        ("key_not_found",      200, json!({"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST","error":"key_not_found"})),
        ("ip_banned",          200, json!({"status":0,"request":"ERROR_IP_BANNED","error":"ip_banned"})),
        ("ip_not_allowed",     200, json!({"status":0,"request":"ERROR_IP_NOT_ALLOWED","error":"ip_not_allowed"})),
        ("rate_limited",       429, json!({"status":0,"request":"ERROR_TOO_MUCH_REQUESTS","error":"rate_limited"})),
        ("server_error",       502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"})),
        ("html_502",           502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"})),
        // The markup never reaches the widget: the server answers the core's verdict.
        ("markup",             200, json!({"status":0,"request":"unexpected answer","error":"malformed"})),
    ];
    for (name, status, body) in cases {
        // Each scenario starts from a fresh 25.00 account.
        assert_eq!(post(&base, "/mock/reset", "").await.status, 200);
        let state = scenario(&base, json!({ "scenario": name })).await;
        assert_eq!(state.json()["scenario"], *name);
        // The change is visible at once: the control API drops the cached reading.
        let got = get(&base, BALANCE).await;
        assert_eq!((got.status, got.json()), (*status, body.clone()), "{name}");
        assert_eq!(got.headers["content-type"], "application/json", "{name}");
    }

    // Only the allow-listed request is served in mock mode too.
    assert_eq!(get(&base, "/res.php?action=get&id=1").await.status, 403);
    assert_eq!(get(&base, "/in.php").await.status, 403);

    let metrics = get(&base, "/metrics").await.body;
    let d = r#"account="production",provider="captchaai""#;
    assert_eq!(
        metric(
            &metrics,
            &format!("captcha_balance_upstream_requests_total{{{d}}}")
        )
        .as_deref(),
        Some("12")
    );
    for code in [
        "wrong_key",
        "key_not_found",
        "ip_banned",
        "ip_not_allowed",
        "rate_limited",
        "zero_balance",
    ] {
        assert_eq!(
            metric(
                &metrics,
                &format!("captcha_balance_upstream_errors_total{{{d},code=\"{code}\"}}")
            )
            .as_deref(),
            Some("1"),
            "{code}"
        );
    }
    // server_error + html_502; the markup is malformed.
    assert_eq!(
        metric(
            &metrics,
            &format!("captcha_balance_upstream_errors_total{{{d},code=\"server_error\"}}")
        )
        .as_deref(),
        Some("2")
    );
    assert_eq!(
        metric(
            &metrics,
            &format!("captcha_balance_upstream_errors_total{{{d},code=\"malformed\"}}")
        )
        .as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn scenario_options_topup_and_reset() {
    let config = mock_config();
    let clock = config.clock.clone();
    let base = start(config).await;

    let got = scenario(
        &base,
        json!({"scenario":"ok","balance":"3.5","drainPerMinute":1}),
    )
    .await;
    assert_eq!(got.json()["balance"], "3.500");
    assert_eq!(got.json()["drainPerMinute"], "1");
    clock.advance(Duration::from_secs(90));
    assert_eq!(get(&base, BALANCE).await.json()["request"], "2");
    clock.advance(Duration::from_secs(600));
    assert_eq!(
        get(&base, "/mock/state").await.json()["balance"],
        "0.000",
        "never below zero"
    );

    let got = post(&base, "/mock/topup", r#"{"amount":"5"}"#).await;
    assert_eq!(
        (got.status, got.json()["balance"].clone()),
        (200, json!("5.000"))
    );
    let got = post(&base, "/mock/topup", r#"{"amount":0.1}"#).await;
    assert_eq!(got.json()["balance"], "5.100");
    assert_eq!(get(&base, BALANCE).await.json()["request"], "5.1");

    // `low` presets 0.42 unless a balance is given.
    assert_eq!(
        scenario(&base, json!({"scenario":"low"})).await.json()["balance"],
        "0.420"
    );
    assert_eq!(
        scenario(&base, json!({"scenario":"low","balance":"0.9"}))
            .await
            .json()["balance"],
        "0.900"
    );

    let got = post(&base, "/mock/reset", "").await;
    assert_eq!(
        steady(got.json()),
        json!({"scenario":"ok","balance":"25.000","drainPerMinute":"0.02","delayMs":0,"upstreamRequests":0,"threads":10,"threadsRequests":0})
    );
}

#[tokio::test]
async fn slow_answers_after_the_delay_and_is_shared() {
    let base = start(mock_config()).await;
    let got = scenario(&base, json!({"scenario":"slow"})).await;
    assert_eq!(got.json()["delayMs"], 3000, "slow defaults to 3 s");
    scenario(&base, json!({"scenario":"slow","delayMs":300})).await;

    let started = std::time::Instant::now();
    let requests: Vec<_> = (0..10)
        .map(|_| {
            tokio::spawn({
                let base = base.clone();
                async move { get(&base, BALANCE).await }
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.expect("task").json()["request"], "25");
    }
    // A lower bound only: the answer cannot come before the simulated delay.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        get(&base, "/mock/state").await.json()["upstreamRequests"],
        1
    );
}

#[tokio::test]
async fn the_control_api_refuses_bad_input_with_400() {
    let base = start(mock_config()).await;
    #[rustfmt::skip]
    let cases = [
        ("/mock/scenario", "",                                            "not valid JSON"),
        ("/mock/scenario", "{",                                           "not valid JSON"),
        ("/mock/scenario", "[]",                                          "JSON object"),
        ("/mock/scenario", "{}",                                          "scenario is required"),
        ("/mock/scenario", r#"{"scenario":5}"#,                           "scenario must be a string"),
        ("/mock/scenario", r#"{"scenario":"broke"}"#,                     "unknown scenario \"broke\"; expected one of: ok, low"),
        ("/mock/scenario", r#"{"scenario":"ok","balance":"12,5"}"#,       "balance must be a decimal number"),
        ("/mock/scenario", r#"{"scenario":"ok","balance":"-1"}"#,         "balance must be 0 or more"),
        ("/mock/scenario", r#"{"scenario":"ok","balance":"1e12"}"#,       "balance must be a decimal number"),
        ("/mock/scenario", r#"{"scenario":"ok","balance":true}"#,         "balance must be a decimal string"),
        ("/mock/scenario", r#"{"scenario":"ok","drainPerMinute":"NaN"}"#, "drainPerMinute must be a decimal number"),
        ("/mock/scenario", r#"{"scenario":"slow","delayMs":-5}"#,         "delayMs must be a whole number"),
        ("/mock/scenario", r#"{"scenario":"slow","delayMs":600000}"#,     "delayMs must be a whole number"),
        ("/mock/scenario", r#"{"scenario":"ok","colour":"red"}"#,         "unknown field \"colour\""),
        ("/mock/topup",    "{}",                                          "amount is required"),
        ("/mock/topup",    r#"{"amount":"0"}"#,                           "amount must be more than 0"),
        ("/mock/topup",    r#"{"amount":"-5"}"#,                          "amount must be more than 0"),
        ("/mock/topup",    r#"{"amount":"five"}"#,                        "amount must be a decimal number"),
        ("/mock/topup",    r#"{"amount":"999999"}"#,                      "the balance would exceed"),
    ];
    for (path, body, message) in cases {
        let got = post(&base, path, body).await;
        assert_eq!(got.status, 400, "{path} {body}: {}", got.body);
        let error = got.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(
            error.contains(message),
            "{path} {body}: {error:?} lacks {message:?}"
        );
    }
    // Nothing changed.
    assert_eq!(get(&base, "/mock/state").await.json()["balance"], "25.000");
    assert_eq!(get(&base, "/mock/scenario").await.status, 405);
}

/// Header names and values of one request.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// A page of another origin must not drive the mock account: a `text/plain` POST needs no CORS
/// preflight, so the control API asks for JSON and checks `Origin` and `Sec-Fetch-Site`.
#[tokio::test]
async fn the_control_api_refuses_cross_origin_writes() {
    let base = start(mock_config()).await;
    let same_origin = base.clone();
    let body = r#"{"scenario":"wrong_key"}"#;
    #[rustfmt::skip]
    let cases: &[(&str, Headers, u16)] = &[
        ("/mock/scenario", &[("content-type", "text/plain")], 415),
        ("/mock/scenario", &[], 415),
        ("/mock/scenario", &[("content-type", "application/x-www-form-urlencoded")], 415),
        ("/mock/scenario", &[("content-type", "multipart/form-data; boundary=x")], 415),
        ("/mock/scenario", &[("content-type", "text/plain"), ("origin", "http://evil.example")], 415),
        ("/mock/scenario", &[("content-type", "application/json"), ("origin", "http://evil.example")], 403),
        ("/mock/scenario", &[("content-type", "application/json"), ("origin", "null")], 403),
        ("/mock/scenario", &[("content-type", "application/json"), ("origin", "http://127.0.0.1:1")], 403),
        ("/mock/scenario", &[("content-type", "application/json"), ("sec-fetch-site", "cross-site")], 403),
        ("/mock/scenario", &[("content-type", "application/json"), ("sec-fetch-site", "same-site")], 403),
        ("/mock/topup",    &[("content-type", "text/plain")], 415),
        ("/mock/topup",    &[("content-type", "application/json"), ("origin", "http://evil.example")], 403),
        ("/mock/reset",    &[("content-type", "text/plain")], 415),
        ("/mock/reset",    &[("content-type", "application/json"), ("sec-fetch-site", "cross-site")], 403),
    ];
    for (path, headers, status) in cases {
        let mut request = client()
            .post(format!("{base}{path}"))
            .body(if *path == "/mock/topup" {
                r#"{"amount":"5"}"#
            } else {
                body
            });
        for (name, value) in *headers {
            request = request.header(*name, *value);
        }
        let got = send(request).await;
        assert_eq!(got.status, *status, "{path} {headers:?}: {}", got.body);
        assert!(got.json()["error"].is_string(), "{path} {headers:?}");
    }
    // Nothing changed.
    assert_eq!(
        steady(get(&base, "/mock/state").await.json()),
        json!({"scenario":"ok","balance":"25.000","drainPerMinute":"0.02","delayMs":0,"upstreamRequests":0,"threads":10,"threadsRequests":0})
    );
    // What the demo page, the tests and curl send is still taken.
    #[rustfmt::skip]
    let allowed: &[Headers] = &[
        &[("content-type", "application/json")],
        &[("content-type", "Application/JSON; charset=utf-8")],
        &[("content-type", "application/json"), ("sec-fetch-site", "same-origin")],
        &[("content-type", "application/json"), ("sec-fetch-site", "none")],
        &[("content-type", "application/json"), ("origin", same_origin.as_str())],
    ];
    for headers in allowed {
        let mut request = client().post(format!("{base}/mock/scenario")).body(body);
        for (name, value) in *headers {
            request = request.header(*name, *value);
        }
        let got = send(request).await;
        assert_eq!(got.status, 200, "{headers:?}: {}", got.body);
    }
}

/// One simulated API: a proxy-mode server whose upstream is a mock-mode server reaches the same
/// verdict for every scenario as the mock-mode server itself (the answers are built from the
/// core's classification, so classifying them again changes nothing), the balance's and the
/// plan's threads alike (the proxy asks `threadsinfo` the way CaptchaAI's SDK does: a POST form).
#[tokio::test]
async fn a_proxy_in_front_of_the_mock_gives_the_same_answers() {
    let mock = start(mock_config()).await;
    let mut config = proxy_config(&Upstream::start(Behaviour::Hang).await);
    if let Mode::Proxy(accounts) = &mut config.mode {
        accounts[0].endpoint = reqwest::Url::parse(&mock).expect("url");
    }
    config.cache_ttl = Duration::ZERO;
    let clock = config.clock.clone();
    let proxy = start(config).await;
    let names: Vec<_> = captchaai_balance_server::upstream::mock::Scenario::names()
        .filter(|n| *n != "slow")
        .collect();
    assert_eq!(names.len(), 14);
    let threads = |base: &str| {
        send(
            client()
                .post(format!("{base}/res.php"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("action=threadsinfo&json=1"),
        )
    };
    for name in names {
        // Past the proxy's politeness floor (CaptchaAI: one call a minute).
        clock.advance(Duration::from_secs(60));
        scenario(&mock, json!({ "scenario": name, "drainPerMinute": "0" })).await;
        let direct = get(&mock, BALANCE).await;
        let proxied = get(&proxy, BALANCE).await;
        assert_eq!(
            (proxied.status, proxied.json()),
            (direct.status, direct.json()),
            "{name}"
        );
        // The same check's threads, from both caches.
        let direct = threads(&mock).await;
        let proxied = threads(&proxy).await;
        assert_eq!(
            (proxied.status, proxied.json()),
            (direct.status, direct.json()),
            "{name}: threadsinfo"
        );
        let want = match name {
            "saturated" => Some(json!({"threads":10,"working_threads":10})),
            "expired" => Some(json!({"threads":0,"working_threads":0})),
            _ => None,
        };
        if let Some(want) = want {
            assert_eq!(direct.json(), want, "{name}");
        }
    }
}

/// Mock mode simulates several accounts of both families; the control API addresses one with
/// `?account=NAME` (the default account without it) and leaves the others alone.
#[tokio::test]
async fn several_simulated_accounts_of_both_families() {
    let config = mock_config();
    let base = start(config).await;
    let list = get(&base, "/v1/accounts").await.json();
    let rows: Vec<_> = list["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_string(),
                a["provider"].as_str().unwrap_or_default().to_string(),
                a["balance"].clone(),
                a["level"].as_str().unwrap_or_default().to_string(),
                a["error"]["code"].clone(),
            )
        })
        .collect();
    let row = |name: &str, provider: &str, balance: Value, level: &str, error: Value| {
        (name.into(), provider.into(), balance, level.into(), error)
    };
    assert_eq!(
        rows,
        [
            row("production", "captchaai", json!("25"), "ok", Value::Null),
            row("staging", "anticaptcha", json!("3.5"), "low", Value::Null),
            row("backup", "capsolver", json!("48.2"), "ok", Value::Null),
            row(
                "archive",
                "2captcha",
                Value::Null,
                "unknown",
                json!("key_not_found")
            ),
        ]
    );
    // The createTask account answers the widget in the 2captcha shape.
    let staging = "/accounts/staging/res.php?action=getbalance&json=1";
    assert_eq!(
        get(&base, staging).await.body,
        r#"{"status":1,"request":"3.5"}"#
    );

    // Addressing one account changes that one only, at once.
    let got = post(
        &base,
        "/mock/scenario?account=staging",
        r#"{"scenario":"wrong_key"}"#,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        get(&base, staging).await.json(),
        json!({"status":0,"request":"ERROR_WRONG_USER_KEY","error":"wrong_key"})
    );
    assert_eq!(get(&base, BALANCE).await.json()["request"], "25");
    assert_eq!(
        get(&base, "/mock/state?account=staging").await.json()["scenario"],
        "wrong_key"
    );
    assert_eq!(get(&base, "/mock/state").await.json()["scenario"], "ok");
    let topped = post(&base, "/mock/topup?account=backup", r#"{"amount":"1.8"}"#).await;
    assert_eq!(topped.json()["balance"], "50.000");
    assert_eq!(
        get(&base, "/v1/accounts/backup").await.json()["balance"],
        "50"
    );
    let reset = post(&base, "/mock/reset?account=staging", "").await;
    assert_eq!(reset.json()["scenario"], "ok");
    assert_eq!(get(&base, staging).await.json()["request"], "3.5");

    // Unknown names and parameters are refused with a sentence.
    let unknown = get(&base, "/mock/state?account=nobody").await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("production, staging, backup, archive")),
        "{}",
        unknown.body
    );
    assert_eq!(get(&base, "/mock/state?acount=staging").await.status, 400);

    let metrics = get(&base, "/metrics").await.body;
    assert_eq!(
        metric(
            &metrics,
            r#"captcha_balance_upstream_errors_total{account="staging",provider="anticaptcha",code="wrong_key"}"#
        )
        .as_deref(),
        Some("1")
    );
}
