//! Several accounts in proxy mode: `/v1/accounts` and `/v1/accounts/{name}` with the core's
//! levels, `/accounts/{name}/res.php` in the 2captcha shape whatever the upstream's protocol,
//! one cache and one single-flight per account, each provider's politeness floor, and metric
//! series labelled with account and provider.

mod common;

use captchaai_balance::provider::{Family, ProviderId};
use common::*;
use serde_json::json;
use std::time::Duration;

const TOKEN: &str = "CAP-0123456789ABCDEF0123456789ABCDEF";

fn create_task_error(code: &str) -> String {
    format!(
        r#"{{"errorId":1,"errorCode":"{code}","errorDescription":"Account authorization key not found in the system"}}"#
    )
}

#[tokio::test]
async fn v1_accounts_lists_every_account_with_the_cores_level() {
    let a = Upstream::start(Behaviour::Balance("12.5")).await;
    let b = Upstream::start_family(Family::CreateTask, Behaviour::Balance("3.25")).await;
    let c = Upstream::start_family(
        Family::CreateTask,
        Behaviour::Owned(
            401,
            "application/json",
            create_task_error("ERROR_KEY_DENIED_ACCESS"),
        ),
    )
    .await;
    let config = accounts_config(vec![
        account_config("production", ProviderId::CaptchaAi, KEY, "5", &a),
        account_config("staging", ProviderId::AntiCaptcha, KEY2, "10", &b),
        account_config("solver", ProviderId::CapSolver, TOKEN, "1", &c),
    ]);
    let clock = config.clock.clone();
    let base = start(config).await;
    let read_at = clock.epoch_ms();

    let list = get(&base, "/v1/accounts").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.headers["content-type"], "application/json");
    assert_eq!(list.headers["cache-control"], "no-store");
    // CaptchaAI's plan: its busy threads follow the simulated load (a few of ten).
    let busy = list.json()["accounts"][0]["workingThreads"].clone();
    assert!((1..10).contains(&busy.as_u64().expect("a count")), "{busy}");
    assert_eq!(
        list.json(),
        json!({"accounts": [
            {"name": "production", "provider": "captchaai", "providerLabel": "CaptchaAI", "balance": "12.5", "level": "ok", "readAt": read_at, "threshold": "5", "error": null, "spendPerHour": null, "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": null, "forecastNote": "not_enough_history", "threads": 10, "workingThreads": busy, "threadsText": format!("{busy} of 10 threads busy"), "diagnosis": null},
            {"name": "staging", "provider": "anticaptcha", "providerLabel": "Anti-Captcha", "balance": "3.25", "level": "low", "readAt": read_at, "threshold": "10", "error": null, "spendPerHour": null, "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": null, "forecastNote": "not_enough_history", "threads": null, "workingThreads": null, "threadsText": null, "diagnosis": null},
            {"name": "solver", "provider": "capsolver", "providerLabel": "CapSolver", "balance": null, "level": "unknown", "readAt": null, "threshold": "1", "error": {"code": "key_not_found", "detail": "ERROR_KEY_DENIED_ACCESS"}, "spendPerHour": null, "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": null, "forecastNote": "not_enough_history", "threads": null, "workingThreads": null, "threadsText": null, "diagnosis": null},
        ]})
    );
    // The list was read through the caches: one call per account, and CaptchaAI's threads in
    // the same check; no other provider is asked for threads.
    assert_eq!((a.hits(), b.hits(), c.hits()), (1, 1, 1));
    assert_eq!(
        (a.threads_hits(), b.threads_hits(), c.threads_hits()),
        (1, 0, 0)
    );

    let one = get(&base, "/v1/accounts/staging").await;
    assert_eq!(one.json()["level"], "low");
    // The list writes each account's members in the same order as the single answer.
    assert!(
        list.body.contains(&one.body),
        "{} does not hold {}",
        list.body,
        one.body
    );
    assert_eq!(b.hits(), 1);
    let unknown = get(&base, "/v1/accounts/nobody").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].is_string(), "{}", unknown.body);

    // A failed check keeps the last good balance and its time; the level stays the balance's,
    // and the plan's threads their last reading, out of date (a host answering 502 is not asked
    // for threads).
    clock.advance(FLOOR);
    a.set(Behaviour::Raw(502, "text/html", "<html>502</html>"));
    let production = get(&base, "/v1/accounts/production").await.json();
    assert_eq!(
        production,
        json!({"name": "production", "provider": "captchaai", "providerLabel": "CaptchaAI", "balance": "12.5", "level": "ok", "readAt": read_at, "threshold": "5", "error": {"code": "server_error", "detail": "HTTP 502"}, "spendPerHour": null, "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": null, "forecastNote": "not_enough_history", "threads": 10, "workingThreads": busy, "threadsText": format!("{busy} of 10 threads busy · out of date"), "diagnosis": null})
    );
    assert_eq!(a.threads_hits(), 1);
    // ERROR_ZERO_BALANCE is a reading of 0: empty.
    clock.advance(FLOOR);
    b.set(Behaviour::Owned(
        200,
        "application/json",
        create_task_error("ERROR_ZERO_BALANCE"),
    ));
    let staging = get(&base, "/v1/accounts/staging").await.json();
    assert_eq!(
        (
            &staging["balance"],
            &staging["level"],
            &staging["error"]["code"]
        ),
        (&json!("0"), &json!("empty"), &json!("zero_balance"))
    );
    assert!(!list.body.contains(KEY) && !list.body.contains(KEY2) && !list.body.contains(TOKEN));
}

/// What the widget's `account` attribute calls: the 2captcha shape for an account whose
/// upstream speaks createTask, built from the core's verdict.
#[tokio::test]
async fn account_res_php_answers_a_create_task_upstream_in_the_2captcha_shape() {
    let up = Upstream::start_family(Family::CreateTask, Behaviour::Balance("3.25")).await;
    let mut config = accounts_config(vec![
        account_config(
            "production",
            ProviderId::CaptchaAi,
            KEY,
            "1",
            &Upstream::start(Behaviour::Balance("1")).await,
        ),
        account_config("staging", ProviderId::AntiCaptcha, KEY2, "1", &up),
    ]);
    config.cache_ttl = Duration::ZERO;
    let clock = config.clock.clone();
    let base = start(config).await;
    let path = "/accounts/staging/res.php?action=getbalance&json=1&key=ignored";

    let got = get(&base, path).await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (200, r#"{"status":1,"request":"3.25"}"#)
    );
    assert!(
        !got.headers.contains_key("access-control-allow-origin"),
        "same-origin only by default"
    );
    assert_eq!(
        up.bodies(),
        [format!(r#"POST /getBalance {{"clientKey":"{KEY2}"}}"#)]
    );

    #[rustfmt::skip]
    let cases = [
        (Behaviour::Owned(200, "application/json", create_task_error("ERROR_KEY_DOES_NOT_EXIST")), 200, json!({"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST","error":"key_not_found"})),
        (Behaviour::Owned(200, "application/json", create_task_error("ERROR_ZERO_BALANCE")),       200, json!({"status":0,"request":"ERROR_ZERO_BALANCE","error":"zero_balance"})),
        (Behaviour::Owned(200, "application/json", create_task_error("ERROR_SOMETHING_NEW")),      200, json!({"status":0,"request":"ERROR_UNEXPECTED_ANSWER","error":"unknown"})),
        (Behaviour::Raw(200, "application/json", r#"{"errorId":0,"balance":12.3456000000000001}"#), 200, json!({"status":1,"request":"12.3456"})),
        (Behaviour::Raw(200, "application/json", r#"{"errorId":0,"balance":1e-7}"#),                200, json!({"status":1,"request":"0.0000001"})),
        (Behaviour::Raw(200, "application/json", r#"{"errorId":0,"balance":"<b>9</b>"}"#),         200, json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (Behaviour::Raw(502, "text/html", "<html>502 Bad Gateway</html>"),                           502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"})),
        (Behaviour::Hang,                                                                            504, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"timeout"})),
    ];
    for (behaviour, status, want) in cases {
        // Anti-Captcha's floor is 30 s.
        clock.advance(Duration::from_secs(30));
        up.set(behaviour.clone());
        let got = get(&base, path).await;
        assert_eq!((got.status, got.json()), (status, want), "{behaviour:?}");
        assert!(!got.body.contains(KEY2));
    }

    // The same allow-list as /res.php, and nothing sent upstream for it.
    let hits = up.hits();
    assert_eq!(
        get(&base, "/accounts/staging/res.php?action=get&id=1")
            .await
            .status,
        403
    );
    assert_eq!(get(&base, "/accounts/staging/in.php").await.status, 403);
    let nobody = get(&base, "/accounts/nobody/res.php?action=getbalance&json=1").await;
    assert_eq!(
        (nobody.status, nobody.json()["request"].clone()),
        (404, json!("ERROR_NO_SUCH_ACCOUNT"))
    );
    assert_eq!(up.hits(), hits);
}

/// 100 concurrent requests for each of two accounts: one upstream call each, and `/res.php`
/// is the first account's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_account_coalesces_on_its_own() {
    let a = Upstream::start(Behaviour::Balance("42")).await;
    let b = Upstream::start_family(Family::CreateTask, Behaviour::Balance("7.5")).await;
    let gates = [a.close_gate(), b.close_gate()];
    let mut config = accounts_config(vec![
        account_config("first", ProviderId::CaptchaAi, KEY, "1", &a),
        account_config("second", ProviderId::CapMonster, KEY2, "1", &b),
    ]);
    // The gates hold the answers on purpose; a loaded machine must not make that a timeout.
    config.upstream_timeout = Duration::from_secs(20);
    let base = start(config).await;
    let client = client();
    let paths = [BALANCE, "/accounts/second/res.php?action=getbalance&json=1"];
    let requests: Vec<_> = (0..200)
        .map(|i| {
            let request = client.get(format!("{base}{}", paths[i % 2]));
            tokio::spawn(async move { (i % 2, send(request).await) })
        })
        .collect();
    eventually("both upstream requests", || a.hits() >= 1 && b.hits() >= 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for gate in &gates {
        gate.add_permits(1000);
    }
    for request in requests {
        let (which, got) = request.await.expect("task");
        let want = [
            r#"{"status":1,"request":"42"}"#,
            r#"{"status":1,"request":"7.5"}"#,
        ][which];
        assert_eq!(got.body, want);
    }
    println!(
        "200 concurrent requests for two accounts -> {} + {} upstream request(s)",
        a.hits(),
        b.hits()
    );
    assert_eq!((a.hits(), b.hits()), (1, 1));
}

/// Each account waits its own provider's floor (Anti-Captcha 30 s, CaptchaAI 60 s) even with
/// `--cache-seconds 0`.
#[tokio::test]
async fn each_provider_keeps_its_politeness_floor() {
    let a = Upstream::start(Behaviour::Balance("1")).await;
    let b = Upstream::start_family(Family::CreateTask, Behaviour::Balance("2")).await;
    let mut config = accounts_config(vec![
        account_config("a", ProviderId::CaptchaAi, KEY, "1", &a),
        account_config("b", ProviderId::AntiCaptcha, KEY2, "1", &b),
    ]);
    config.cache_ttl = Duration::ZERO;
    let clock = config.clock.clone();
    let base = start(config).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        get(&base, "/v1/accounts").await;
        seen.push((a.hits(), b.hits()));
        clock.advance(Duration::from_secs(15));
    }
    // t = 0, 15, 30, 45, 60 s.
    assert_eq!(seen, [(1, 1), (1, 1), (1, 2), (1, 2), (2, 3)]);
}

#[tokio::test]
async fn metrics_label_every_series_with_account_and_provider() {
    let a = Upstream::start(Behaviour::Balance("12.345")).await;
    let b = Upstream::start_family(
        Family::CreateTask,
        Behaviour::Raw(502, "text/html", "<html></html>"),
    )
    .await;
    let base = start(accounts_config(vec![
        account_config("production", ProviderId::CaptchaAi, KEY, "5", &a),
        account_config("staging", ProviderId::AntiCaptcha, KEY2, "10.25", &b),
    ]))
    .await;
    let before = get(&base, "/metrics").await.body;
    get(&base, "/v1/accounts").await;
    let text = get(&base, "/metrics").await.body;
    let p = r#"account="production",provider="captchaai""#;
    let s = r#"account="staging",provider="anticaptcha""#;
    #[rustfmt::skip]
    let want = [
        (format!("captcha_balance_usd{{{p}}}"),                                         "12.345"),
        (format!("captcha_balance_usd{{{s}}}"),                                         "NaN"),
        (format!("captcha_balance_threshold_usd{{{s}}}"),                               "10.25"),
        (format!("captcha_balance_upstream_requests_total{{{p}}}"),                     "1"),
        (format!("captcha_balance_upstream_requests_total{{{s}}}"),                     "1"),
        (format!("captcha_balance_upstream_errors_total{{{s},code=\"server_error\"}}"), "1"),
        (format!("captcha_balance_upstream_errors_total{{{p},code=\"server_error\"}}"), "0"),
        (format!("captcha_balance_seconds_since_last_good_reading{{{p}}}"),             "0.0"),
        // One reading is not enough history: unknown, not zero.
        (format!("captcha_spend_usd_per_hour{{{p}}}"),                                  "NaN"),
        (format!("captcha_balance_runway_seconds{{{p}}}"),                              "NaN"),
        (format!("captcha_balance_runway_seconds{{{s}}}"),                              "NaN"),
    ];
    for (series, value) in want {
        assert_eq!(
            metric(&text, &series).as_deref(),
            Some(value),
            "{series} in\n{text}"
        );
    }
    // Every account's series exist before any reading.
    assert_eq!(
        metric(&before, &format!("captcha_balance_usd{{{s}}}")).as_deref(),
        Some("NaN")
    );
    // Every account series carries both labels; no old names remain.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if !line.starts_with("captcha_balance_requests_served_total") {
            assert!(
                line.contains("account=\"") && line.contains("provider=\""),
                "{line}"
            );
        }
        assert!(
            line.starts_with("captcha_balance_")
                || line.starts_with("captcha_spend_")
                || line.starts_with("captcha_threads"),
            "{line}"
        );
    }
}
