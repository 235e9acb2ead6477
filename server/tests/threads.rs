//! CaptchaAI's thread plans on the server (docs/API.md, "CaptchaAI threads"): a check of a
//! thread plan is its balance and its `threadsinfo` request, in one pass of the politeness
//! floor and one cache slot; `res.php?action=threadsinfo` answers the plan's counts the way the
//! API does (by GET query or POST form, as the official SDK sends it), `getbalance` by POST form
//! too; `/v1/accounts` and `/metrics` carry the counts, and `/v1/accounts/{name}/diagnose` says
//! what an error a script got means for the plan now.

mod common;

use captchaai_balance_server::config::access::Access;
use captchaai_balance_server::secret::Token;
use captchaai_balance_server::upstream::mock::Scenario;
use common::*;
use serde_json::{json, Value};

/// The SDK's request: `POST {base}/res.php` with the form `key`, `action=threadsinfo`, `json=1`.
const SDK_FORM: &str = "key=ffffeeeeddddccccbbbbaaaa99998888&action=threadsinfo&json=1";

async fn post_form(base: &str, path: &str, form: &str) -> Got {
    send(
        client()
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string()),
    )
    .await
}

/// One check, two requests: the balance (GET, key in the query as the API wants it) and
/// `threadsinfo` (a POST form with the key in the body, never in the URL), shared by a hundred
/// concurrent readers and repeated only after the floor; a key the API rejected is not sent a
/// second time in the same check.
#[tokio::test]
async fn a_thread_plan_check_is_one_balance_and_one_threadsinfo_request_per_floor() {
    let upstream = Upstream::start(Behaviour::Balance("12.5")).await;
    let config = proxy_config(&upstream);
    let clock = config.clock.clone();
    let base = start(config).await;

    let reads: Vec<_> = (0..100)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    get(&base, BALANCE).await
                } else {
                    post_form(&base, "/res.php", SDK_FORM).await
                }
            })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.expect("task").status, 200);
    }
    assert_eq!((upstream.hits(), upstream.threads_hits()), (1, 1));
    assert_eq!(
        upstream.threads_bodies(),
        [format!(
            "POST /res.php application/x-www-form-urlencoded key={KEY}&action=threadsinfo&json=1"
        )]
    );
    assert!(upstream
        .queries()
        .iter()
        .all(|q| !q.contains("threadsinfo")));

    // Within the floor: from the cache, both.
    clock.advance(FLOOR / 2);
    post_form(&base, "/res.php", SDK_FORM).await;
    get(&base, BALANCE).await;
    assert_eq!((upstream.hits(), upstream.threads_hits()), (1, 1));
    clock.advance(FLOOR);
    post_form(&base, "/res.php", SDK_FORM).await;
    assert_eq!((upstream.hits(), upstream.threads_hits()), (2, 2));

    // A rejected key: the balance request says so, threadsinfo is not sent, and its answer is
    // the same key error.
    clock.advance(FLOOR);
    upstream.set(Behaviour::Raw(
        200,
        "application/json",
        r#"{"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST"}"#,
    ));
    let got = post_form(&base, "/res.php", SDK_FORM).await;
    assert_eq!(
        got.json(),
        json!({"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST","error":"key_not_found"})
    );
    assert_eq!((upstream.hits(), upstream.threads_hits()), (3, 2));
}

/// `res.php?action=threadsinfo` answers the plan's counts as the API does, by GET query or POST
/// form, `json=1` in either (without it the counts are the same JSON: the API has no plain-text
/// form of two numbers; errors follow the format asked for, as the balance's). An account of a
/// provider without thread plans refuses the action; `getbalance` works by POST form too.
#[tokio::test]
async fn threadsinfo_and_getbalance_by_query_or_form() {
    let (base, production, staging) = start_production_and_staging().await;
    production.set_plan(Scenario::Saturated);
    let counts = json!({"threads":10,"working_threads":10});
    #[rustfmt::skip]
    let asked: [(&str, &str, &str); 6] = [
        ("GET",  "/accounts/production/res.php?action=threadsinfo&json=1", ""),
        ("GET",  "/accounts/production/res.php?action=threadsinfo",        ""),
        ("POST", "/accounts/production/res.php",                           "action=threadsinfo&json=1"),
        ("POST", "/accounts/production/res.php?json=1",                    "key=x&action=threadsinfo"),
        ("POST", "/accounts/production/res.php?action=threadsinfo",        "json=1"),
        ("POST", "/accounts/production/res.php",                           "action=threadsinfo"),
    ];
    for (method, path, form) in asked {
        let got = match method {
            "GET" => get(&base, path).await,
            _ => post_form(&base, path, form).await,
        };
        assert_eq!(got.status, 200, "{method} {path} {form}: {}", got.body);
        assert_eq!(got.headers["content-type"], "application/json", "{path}");
        assert_eq!(got.json(), counts, "{method} {path} {form}");
    }
    // getbalance by form, in the format asked for.
    let got = post_form(
        &base,
        "/accounts/production/res.php",
        "action=getbalance&json=1",
    )
    .await;
    assert_eq!(got.json(), json!({"status":1,"request":"12.5"}));
    let got = post_form(
        &base,
        "/accounts/production/res.php",
        "key=x&action=getbalance",
    )
    .await;
    assert_eq!((got.status, got.body.as_str()), (200, "12.5"));
    assert_eq!(got.headers["content-type"], "text/plain");
    // All of it from one check.
    assert_eq!((production.hits(), production.threads_hits()), (1, 1));

    // Not a thread plan: refused, nothing asked upstream.
    for format in ["&json=1", ""] {
        let got = get(
            &base,
            &format!("/accounts/staging/res.php?action=threadsinfo{format}"),
        )
        .await;
        assert_eq!(got.status, 403, "{}", got.body);
        if format.is_empty() {
            assert_eq!(got.body, "ERROR_NOT_ALLOWED");
        } else {
            assert_eq!(got.json()["request"], "ERROR_NOT_ALLOWED");
            assert!(got.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("thread plans")));
        }
    }
    assert_eq!((staging.hits(), staging.threads_hits()), (0, 0));

    // What is still refused: another action, the action twice (query and form), a form that is
    // no form (JSON), another method, a form over 16 KiB.
    #[rustfmt::skip]
    let refused: [(&str, &str, &str, u16); 5] = [
        ("/res.php", "application/x-www-form-urlencoded", "action=get&id=1&json=1",      403),
        ("/res.php?action=threadsinfo", "application/x-www-form-urlencoded", "action=getbalance&json=1", 403),
        ("/res.php?json=1", "application/json", r#"{"action":"threadsinfo"}"#,             403),
        ("/res.php?json=1", "application/x-www-form-urlencoded", &"a".repeat(17 * 1024),   413),
        ("/res.php?json=1", "text/plain", "action=threadsinfo",                            403),
    ];
    for (path, content_type, body, status) in refused {
        let got = send(
            client()
                .post(format!("{base}{path}"))
                .header("content-type", content_type)
                .body(body.to_string()),
        )
        .await;
        assert_eq!(got.status, status, "{path} {content_type}: {}", got.body);
        assert_eq!(got.json()["request"], "ERROR_NOT_ALLOWED", "{path}");
    }
    let put = send(client().put(format!("{base}/res.php?action=threadsinfo&json=1"))).await;
    assert_eq!(put.status, 403);

    // Errors in the format asked for.
    let upstream = Upstream::start(Behaviour::Balance("1")).await;
    let base = start(proxy_config(&upstream)).await;
    upstream.set(Behaviour::Raw(200, "text/plain", "ERROR_WRONG_USER_KEY"));
    let got = post_form(&base, "/res.php", SDK_FORM).await;
    assert_eq!(
        got.json(),
        json!({"status":0,"request":"ERROR_WRONG_USER_KEY","error":"wrong_key"})
    );
    let got = post_form(&base, "/res.php", "action=threadsinfo").await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (200, "ERROR_WRONG_USER_KEY")
    );
}

/// With `--token-env` the SDK's key is the door, in the form as in the query: the token lets it
/// in, anything else gets the protocol's key error and nothing is read.
#[tokio::test]
async fn the_token_may_come_in_the_form() {
    const TOKEN: &str = "c0ffee00c0ffee00c0ffee00c0ffee01";
    let upstream = Upstream::start(Behaviour::Balance("12.5")).await;
    let mut config = proxy_config(&upstream);
    config.access = Access {
        tokens: vec![Token::new(TOKEN).expect("token")],
        allowed_origins: Vec::new(),
    };
    let base = start(config).await;
    let wrong = post_form(&base, "/res.php", SDK_FORM).await;
    assert_eq!(
        wrong.json(),
        json!({"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST","error":"key_not_found"})
    );
    let wrong = post_form(&base, "/accounts/nobody/res.php", SDK_FORM).await;
    assert_eq!(
        wrong.json()["request"],
        "ERROR_KEY_DOES_NOT_EXIST",
        "no account is named"
    );
    assert_eq!((upstream.hits(), upstream.threads_hits()), (0, 0));
    let form = format!("key={TOKEN}&action=threadsinfo&json=1");
    let got = post_form(&base, "/res.php", &form).await;
    assert_eq!(got.json()["threads"], 10, "{}", got.body);
    let got = post_form(&base, "/res.php", &format!("key={TOKEN}&action=getbalance")).await;
    assert_eq!(got.body, "12.5");
    assert!(!got.everything().contains(TOKEN));
}

/// `/v1/accounts` and `/metrics` carry a thread plan's counts once read (none for another
/// provider, and no series before a reading, which would read as an expired plan); the mock
/// fleet's CaptchaAI account plays `saturated` and `expired`.
#[tokio::test]
async fn counts_in_v1_accounts_and_metrics_and_the_mock_scenarios() {
    let base = start(mock_config()).await;
    let before = get(&base, "/metrics").await.body;
    assert!(!before.contains("captcha_threads"), "{before}");
    let list = get(&base, "/v1/accounts").await.json();
    let production = &list["accounts"][0];
    let busy = production["workingThreads"].as_u64().expect("busy threads");
    assert_eq!(production["threads"], 10);
    assert_eq!(
        production["threadsText"],
        format!("{busy} of 10 threads busy")
    );
    for other in &list["accounts"].as_array().expect("accounts")[1..] {
        assert_eq!(
            (
                &other["threads"],
                &other["workingThreads"],
                &other["threadsText"]
            ),
            (&Value::Null, &Value::Null, &Value::Null),
            "{}",
            other["name"]
        );
    }
    let labels = r#"{account="production",provider="captchaai"}"#;
    let metrics = get(&base, "/metrics").await.body;
    assert_metrics(
        &metrics,
        &[
            (&format!("captcha_threads{labels}"), "10"),
            (
                &format!("captcha_threads_working{labels}"),
                &busy.to_string(),
            ),
        ],
    );
    assert_eq!(metrics.matches("captcha_threads{").count(), 1, "{metrics}");
    // Every request the key costs is counted: one threadsinfo beside each balance request.
    let value = |series: &str| {
        metric(&metrics, series).unwrap_or_else(|| panic!("no {series} in {metrics}"))
    };
    let balance_requests = value(&format!("captcha_balance_upstream_requests_total{labels}"));
    assert_ne!(balance_requests, "0");
    assert_eq!(
        value(&format!("captcha_threads_upstream_requests_total{labels}")),
        balance_requests
    );
    assert!(!metrics.contains(r#"captcha_threads_upstream_requests_total{account="staging""#));

    #[rustfmt::skip]
    let scenarios = [
        ("saturated", 10, 10, "All 10 threads busy"),
        ("expired",   0,  0,  "No active plan"),
    ];
    for (scenario, threads, working, text) in scenarios {
        let got = post(
            &base,
            "/mock/scenario",
            &json!({ "scenario": scenario }).to_string(),
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(
            (&got.json()["threads"], &got.json()["workingThreads"]),
            (&json!(threads), &json!(working))
        );
        let production = get(&base, "/v1/accounts/production").await.json();
        assert_eq!(
            (
                &production["threads"],
                &production["workingThreads"],
                &production["threadsText"],
                &production["level"]
            ),
            (&json!(threads), &json!(working), &json!(text), &json!("ok")),
            "{scenario}: the money is untouched"
        );
        let metrics = get(&base, "/metrics").await.body;
        assert_metrics(
            &metrics,
            &[
                (&format!("captcha_threads{labels}"), &threads.to_string()),
                (
                    &format!("captcha_threads_working{labels}"),
                    &working.to_string(),
                ),
            ],
        );
    }
}

/// `GET /v1/accounts/{name}/diagnose?error=…` (and `/v1/diagnose`, the default account's): what
/// an error a script got means for the account now, in the core's words. While money remains, a
/// saturated plan's `ERROR_ZERO_BALANCE` is all threads busy, an expired plan's is no active
/// plan; another provider's is the empty account it says. A bad `error` is a 400 naming what is
/// accepted, an unknown account the 404.
#[tokio::test]
async fn diagnose_says_what_a_reported_error_means_now() {
    let (base, production, _staging) = start_production_and_staging().await;
    production.set_plan(Scenario::Saturated);
    let got = get(
        &base,
        "/v1/accounts/production/diagnose?error=ERROR_ZERO_BALANCE",
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.headers["cache-control"], "no-store");
    let view = got.json();
    assert_eq!(
        (
            &view["account"],
            &view["code"],
            &view["diagnosis"],
            &view["message"],
            &view["severity"]
        ),
        (
            &json!("production"),
            &json!("zero_balance"),
            &json!("all_threads_busy"),
            &json!("All threads busy"),
            &json!("warning")
        ),
        "{view}"
    );
    for field in ["cause", "fix"] {
        let text = view[field].as_str().expect(field);
        assert!(!text.contains("Add funds"), "{field}: {text}");
    }
    // The same check answered it: nothing more was asked.
    assert_eq!((production.hits(), production.threads_hits()), (1, 1));
    // The default account (the first: production), any case of the API's text.
    let slot = get(&base, "/v1/diagnose?error=error_no_slot_available").await;
    assert_eq!(
        (slot.status, &slot.json()["code"], &slot.json()["diagnosis"]),
        (200, &json!("no_slot_available"), &json!("all_threads_busy")),
        "{}",
        slot.body
    );

    let staging = get(
        &base,
        "/v1/accounts/staging/diagnose?error=ERROR_ZERO_BALANCE",
    )
    .await;
    assert_eq!(
        (&staging.json()["diagnosis"], &staging.json()["code"]),
        (&Value::Null, &json!("zero_balance"))
    );
    #[rustfmt::skip]
    let bad = [
        ("/v1/accounts/production/diagnose",                          400),
        ("/v1/accounts/production/diagnose?error=zero_balance",       400),
        ("/v1/accounts/production/diagnose?error=ERROR_X&error=ERROR_Y", 400),
        ("/v1/accounts/nobody/diagnose?error=ERROR_ZERO_BALANCE",     404),
    ];
    for (path, status) in bad {
        let got = get(&base, path).await;
        assert_eq!(got.status, status, "{path}: {}", got.body);
        let error = got.json()["error"].as_str().expect("error").to_string();
        if status == 400 {
            assert_eq!(got.json()["parameter"], "error");
        }
        if path.contains("zero_balance") {
            assert!(
                error.contains("ERROR_ZERO_BALANCE") && error.contains("ERROR_NO_SLOT_AVAILABLE"),
                "{error}"
            );
        }
    }
}

/// A `threadsinfo` answer that echoes the key (in upper case, inside an unknown code) reaches
/// no client, no metric and no account view: the server answers from the core's verdict.
#[tokio::test]
async fn the_key_never_comes_back_from_a_threads_answer() {
    let upstream = Upstream::start(Behaviour::Balance("12.5")).await;
    let echoed = format!(r#"{{"status":0,"request":"ERROR_{}"}}"#, KEY.to_uppercase());
    upstream.set_threads(Behaviour::Owned(200, "application/json", echoed));
    let base = start(proxy_config(&upstream)).await;
    let answers = [
        post_form(&base, "/res.php", SDK_FORM).await,
        get(&base, "/res.php?action=threadsinfo").await,
        get(&base, "/v1/accounts").await,
        get(&base, "/metrics").await,
    ];
    assert_eq!(
        answers[0].json(),
        json!({"status":0,"request":"ERROR_UNEXPECTED_ANSWER","error":"unknown"})
    );
    for got in answers {
        let text = got.everything().to_lowercase();
        assert!(!text.contains(KEY), "{text}");
    }
}

/// A restart within the floor answers `threadsinfo` from what the data directory kept (the
/// monitor's last reading, beside the balance's history), without asking the API again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_within_the_floor_answers_the_kept_threads() {
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    upstream.set_plan(Scenario::Saturated);
    let dir = temp_dir("threads-restart");
    let data = dir.join("data");
    let args = [
        "--upstream",
        upstream.url.as_str(),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ];
    let counts = json!({"threads":10,"working_threads":10});
    for start in 1..=2 {
        let server = Server::start(Some(KEY), &args);
        let got = post_form(&server.base, "/res.php", SDK_FORM).await;
        assert_eq!(got.json(), counts, "start {start}: {}", got.body);
        let (code, stdout) = server.terminate();
        assert_eq!(code, Some(0));
        assert!(!stdout.contains(KEY));
    }
    assert_eq!((upstream.hits(), upstream.threads_hits()), (1, 1));
}
