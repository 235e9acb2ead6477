//! Proxy mode against a loopback stand-in for the API: allow-list, caching, single-flight,
//! failure mapping, headers, metrics, and the key never leaving the server.

mod common;

use captchaai_balance_server::clock::Clock;
use common::*;
use serde_json::json;
use std::time::Duration;

/// A proxy with no cache in front of a hanging upstream that a test sets per request: every
/// request asks again once the test moves its clock past the floor.
async fn start_uncached() -> (Upstream, String, Clock) {
    let upstream = Upstream::start(Behaviour::Hang).await;
    let mut config = proxy_config(&upstream);
    config.cache_ttl = Duration::ZERO;
    let clock = config.clock.clone();
    let base = start(config).await;
    (upstream, base, clock)
}

/// What the proxy answers for anything that is not a balance nor a known error.
fn malformed() -> serde_json::Value {
    json!({"status":0,"request":"unexpected answer","error":"malformed"})
}

fn assert_no_key(got: &Got) {
    let text = got.everything();
    assert!(
        !text.to_ascii_lowercase().contains(KEY),
        "the key leaked into a response:\n{text}"
    );
    assert!(
        !text.contains(CLIENT_KEY),
        "the client's key was echoed:\n{text}"
    );
}

#[tokio::test]
async fn forwards_only_getbalance_with_the_servers_key() {
    let upstream = Upstream::start(Behaviour::Balance("12.345")).await;
    let base = start(proxy_config(&upstream)).await;

    let got = get(
        &base,
        &format!("/res.php?key={CLIENT_KEY}&action=getbalance&json=1&header_acao=1"),
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, r#"{"status":1,"request":"12.345"}"#);
    assert!(
        !got.headers.contains_key("access-control-allow-origin"),
        "same-origin only by default"
    );
    assert_eq!(got.headers["cache-control"], "no-store");
    assert_eq!(got.headers["content-type"], "application/json");
    assert_no_key(&got);
    // The upstream saw the server's key, never the client's, and only getbalance.
    assert_eq!(
        upstream.queries(),
        vec![format!("/res.php?key={KEY}&action=getbalance&json=1")]
    );

    let refused = [
        "/res.php?action=get&id=123&json=1",
        "/res.php?action=reportbad&id=1",
        "/res.php?action=getbalance&action=get",
        "/res.php?json=1",
        "/res.php",
        "/in.php?method=userrecaptcha&googlekey=x&pageurl=y",
        "/in.php",
        "/anything/else.php?action=getbalance",
    ];
    for path in refused {
        let got = get(&base, path).await;
        assert_eq!(got.status, 403, "{path}: {}", got.body);
        // In the format asked for, like every answer of the 2captcha protocol.
        if path.contains("json=1") {
            assert_eq!(got.headers["content-type"], "application/json", "{path}");
            assert_eq!(got.json()["status"], 0, "{path}");
            assert_eq!(got.json()["request"], "ERROR_NOT_ALLOWED", "{path}");
            assert!(
                got.json()["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("only")),
                "{path}"
            );
        } else {
            assert_eq!(got.headers["content-type"], "text/plain", "{path}");
            assert_eq!(got.body, "ERROR_NOT_ALLOWED", "{path}");
        }
        assert!(
            !got.headers.contains_key("access-control-allow-origin"),
            "same-origin only by default"
        );
        assert_no_key(&got);
    }
    #[rustfmt::skip]
    let posts = [
        (reqwest::Method::POST, "/res.php"),
        (reqwest::Method::POST, "/in.php"),
    ];
    for (method, path) in posts {
        let got = send(
            client()
                .request(method, format!("{base}{path}"))
                .body("key=x&method=post"),
        )
        .await;
        assert_eq!(got.status, 403, "{path}");
    }
    // None of the refused requests reached the upstream.
    assert_eq!(upstream.hits(), 1);

    let preflight =
        send(client().request(reqwest::Method::OPTIONS, format!("{base}{BALANCE}"))).await;
    assert_eq!(preflight.status, 204);
    assert!(
        !preflight
            .headers
            .contains_key("access-control-allow-origin"),
        "same-origin only by default"
    );
}

#[tokio::test]
async fn caches_for_the_configured_time() {
    let upstream = Upstream::start(Behaviour::Balance("7.5")).await;
    let config = proxy_config(&upstream);
    let clock: Clock = config.clock.clone();
    let base = start(config).await;

    assert_eq!(get(&base, BALANCE).await.json()["request"], "7.5");
    upstream.set(Behaviour::Balance("7.25"));
    clock.advance(Duration::from_secs(59));
    // Within CaptchaAI's one-call-a-minute floor (longer than the 30 s cache): the same
    // reading, no second upstream request.
    assert_eq!(get(&base, BALANCE).await.json()["request"], "7.5");
    assert_eq!(upstream.hits(), 1);
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&base, BALANCE).await.json()["request"], "7.25");
    assert_eq!(upstream.hits(), 2);
}

/// A cache longer than the floor is kept as configured.
#[tokio::test]
async fn a_cache_longer_than_the_floor_is_kept() {
    let upstream = Upstream::start(Behaviour::Balance("7.5")).await;
    let mut config = proxy_config(&upstream);
    config.cache_ttl = Duration::from_secs(90);
    let clock: Clock = config.clock.clone();
    let base = start(config).await;
    assert_eq!(get(&base, BALANCE).await.json()["request"], "7.5");
    upstream.set(Behaviour::Balance("7.25"));
    clock.advance(Duration::from_secs(89));
    assert_eq!(get(&base, BALANCE).await.json()["request"], "7.5");
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&base, BALANCE).await.json()["request"], "7.25");
    assert_eq!(upstream.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_requests_cost_one_upstream_call() {
    let upstream = Upstream::start(Behaviour::Balance("42.0")).await;
    let gate = upstream.close_gate();
    let mut config = proxy_config(&upstream);
    // The gate holds the upstream answer on purpose: a loaded machine must not turn that into
    // a timeout (this test is about sharing, not about time limits).
    config.upstream_timeout = Duration::from_secs(20);
    let base = start(config).await;
    let client = client();

    let requests: Vec<_> = (0..100)
        .map(|_| {
            let request = client.get(format!("{base}{BALANCE}"));
            tokio::spawn(async move { send(request).await })
        })
        .collect();
    // Hold the one upstream answer until it has been asked for and the others had time to
    // queue behind it (they would be served from the cache anyway if they came later).
    eventually("the upstream request", || upstream.hits() >= 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.add_permits(1000);

    for request in requests {
        let got = request.await.expect("task");
        assert_eq!(got.status, 200);
        assert_eq!(got.body, r#"{"status":1,"request":"42"}"#);
    }
    println!(
        "100 concurrent balance requests -> {} upstream request(s)",
        upstream.hits()
    );
    assert_eq!(upstream.hits(), 1);
}

#[tokio::test]
async fn upstream_failures_become_2captcha_shaped_json() {
    let (upstream, base, clock) = start_uncached().await;
    let html = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>";

    #[rustfmt::skip]
    let cases = [
        (Behaviour::Hang,                                                                                504, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"timeout"})),
        (Behaviour::Raw(502, "text/html", html),                                                         502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"})),
        (Behaviour::Raw(500, "text/plain", "Internal Server Error"),                                     502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"})),
        (Behaviour::Raw(200, "text/html", html),                                                         502, json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"})),
        (Behaviour::Raw(200, "text/plain", "garbage \u{1F4A9}"),                                         200, json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (Behaviour::Raw(200, "application/json", r#"{"status":1,"req"#),                                 200, json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (Behaviour::Raw(200, "application/json", ""),                                                    200, json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (Behaviour::Raw(429, "text/html", html),                                                         429, json!({"status":0,"request":"ERROR_TOO_MUCH_REQUESTS","error":"rate_limited"})),
        // Real API answers keep their meaning, in the core's words.
        (Behaviour::Raw(200, "application/json", r#"{"status":0,"request":"ERROR_ZERO_BALANCE"}"#),      200, json!({"status":0,"request":"ERROR_ZERO_BALANCE","error":"zero_balance"})),
        (Behaviour::Raw(200, "application/json", r#"{"status":0,"request":"ERROR_WRONG_USER_KEY"}"#),    200, json!({"status":0,"request":"ERROR_WRONG_USER_KEY","error":"wrong_key"})),
        (Behaviour::Raw(429, "application/json", r#"{"status":0,"request":"ERROR_TOO_MUCH_REQUESTS"}"#), 429, json!({"status":0,"request":"ERROR_TOO_MUCH_REQUESTS","error":"rate_limited"})),
        (Behaviour::Raw(200, "text/plain", "3.14159"),                                                   200, json!({"status":1,"request":"3.14159"})),
        (Behaviour::Raw(200, "text/plain", "IP_BANNED"),                                                 200, json!({"status":0,"request":"ERROR_IP_BANNED","error":"ip_banned"})),
    ];
    for (behaviour, status, body) in cases {
        clock.advance(FLOOR);
        upstream.set(behaviour.clone());
        let got = get(&base, BALANCE).await;
        assert_eq!((got.status, got.json()), (status, body), "{behaviour:?}");
        assert_eq!(got.headers["content-type"], "application/json");
        assert!(
            !got.headers.contains_key("access-control-allow-origin"),
            "same-origin only by default"
        );
        assert_no_key(&got);
    }
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_network_error() {
    // Bind a port, then free it: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let mut config = proxy_config(&Upstream::start(Behaviour::Hang).await);
    set_endpoint(&mut config, &dead);
    let base = start(config).await;
    let got = get(&base, BALANCE).await;
    assert_eq!(
        (got.status, got.json()),
        (
            502,
            json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"network"})
        )
    );
    assert_no_key(&got);
}

/// The key written with JSON escapes, in upper case, or inside other text: the answer is built
/// from the classification alone, so none of it comes back.
#[tokio::test]
async fn an_upstream_echoing_the_key_never_reaches_the_client() {
    let escaped: String = KEY
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let upper = KEY.to_ascii_uppercase();
    let (upstream, base, clock) = start_uncached().await;
    #[rustfmt::skip]
    let cases = [
        (format!(r#"{{"status":0,"request":"{escaped}"}}"#),       json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (format!(r#"{{"status":0,"request":"{upper}"}}"#),         json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (format!(r#"{{"status":0,"request":"ERROR_{upper}"}}"#),   json!({"status":0,"request":"ERROR_UNEXPECTED_ANSWER","error":"unknown"})),
        (format!(r#"{{"status":1,"request":"{escaped}"}}"#),       json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (format!(r#"{{"status":0,"request":"ERROR_KEY {KEY}"}}"#), json!({"status":0,"request":"unexpected answer","error":"malformed"})),
        (upper.clone(),                                            json!({"status":0,"request":"unexpected answer","error":"malformed"})),
    ];
    for (body, want) in cases {
        clock.advance(FLOOR);
        upstream.set(Behaviour::Owned(200, "application/json", body.clone()));
        let got = get(&base, BALANCE).await;
        assert_eq!((got.status, got.json()), (200, want), "{body}");
        assert_no_key(&got);
        assert!(!got.body.contains(KEY_MASKED), "{}", got.body);
    }
}

/// Balances come back as the core's exact decimal; what the core refuses is refused here too.
#[tokio::test]
async fn answers_the_cores_exact_decimal_and_verdict() {
    let (upstream, base, clock) = start_uncached().await;
    let malformed = malformed();
    // Deep garbage where the balance should be is never a balance.
    let deep = format!(
        r#"{{"status":1,"request":{}1{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    #[rustfmt::skip]
    let cases = [
        (r#"{"status":1,"request":"999999999.999999999"}"#.to_string(), json!({"status":1,"request":"999999999.999999999"})),
        (r#"{"status":1,"request":999999999.999999999}"#.to_string(),   json!({"status":1,"request":"999999999.999999999"})),
        (r#"{"status":1,"request":12.3456}"#.to_string(),               json!({"status":1,"request":"12.3456"})),
        (r#"{"status":"1","request":"0.10"}"#.to_string(),              json!({"status":1,"request":"0.1"})),
        (format!(r#"{{"status":1,"request":"{}"}}"#, "9".repeat(80)),   malformed.clone()),
        (format!(r#"{{"status":1,"request":{}}}"#, "1".repeat(80)),     malformed.clone()),
        (deep,                                                          malformed.clone()),
        (r#"{"status":1,"request":"1e10"}"#.to_string(),                malformed.clone()),
        (r#"{"status":1,"request":"NaN"}"#.to_string(),                 malformed.clone()),
    ];
    for (body, want) in cases {
        clock.advance(FLOOR);
        upstream.set(Behaviour::Owned(200, "application/json", body.clone()));
        let got = get(&base, BALANCE).await;
        assert_eq!((got.status, got.json()), (200, want), "{body}");
    }
}

/// A body longer than the core accepts is malformed, however much of it is white space: the
/// server stops reading early, but never turns the start of the garbage into a balance.
#[tokio::test]
async fn an_oversized_body_is_malformed() {
    let (upstream, base, clock) = start_uncached().await;
    let malformed = malformed();
    for body in [
        format!("12.34{}GARBAGE", " ".repeat(16 * 1024)),
        format!("12.34{}GARBAGE", " ".repeat(5000)),
        format!("12.34{}", " ".repeat(1024 * 1024)),
        format!(r#"{{"status":1,"request":"12.34"}}{}"#, "\n".repeat(20_000)),
    ] {
        clock.advance(FLOOR);
        upstream.set(Behaviour::Owned(200, "text/plain", body.clone()));
        let got = get(&base, BALANCE).await;
        assert_eq!(
            (got.status, got.json()),
            (200, malformed.clone()),
            "{} bytes",
            body.len()
        );
    }
    clock.advance(FLOOR);
    upstream.set(Behaviour::Owned(
        200,
        "text/plain",
        format!("12.34{}", " ".repeat(1000)),
    ));
    assert_eq!(get(&base, BALANCE).await.json()["request"], "12.34");
}

/// Redirects and client errors from the upstream are not forwarded: the browser gets the JSON
/// error answer (and the redirect is never followed, it would carry the key elsewhere).
#[tokio::test]
async fn upstream_3xx_and_4xx_become_json_errors() {
    let (upstream, base, clock) = start_uncached().await;
    let malformed = malformed();
    let server_error = json!({"status":0,"request":"ERROR_SERVER_ERROR","error":"server_error"});
    #[rustfmt::skip]
    let cases = [
        (Behaviour::Raw(302, "text/plain", ""),                                                           200, malformed.clone()),
        (Behaviour::Raw(301, "application/json", r#"{"status":1,"request":"5"}"#),                        200, malformed.clone()),
        (Behaviour::Raw(307, "text/html", "<a href=x>moved</a>"),                                         502, server_error.clone()),
        (Behaviour::Raw(404, "text/html", "<h1>Not Found</h1>"),                                          502, server_error.clone()),
        (Behaviour::Raw(401, "application/json", r#"{"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST"}"#), 200, json!({"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST","error":"key_not_found"})),
        (Behaviour::Raw(403, "text/plain", "forbidden"),                                                  200, malformed.clone()),
    ];
    for (behaviour, status, want) in cases {
        clock.advance(FLOOR);
        upstream.set(behaviour.clone());
        let got = get(&base, BALANCE).await;
        assert_eq!((got.status, got.json()), (status, want), "{behaviour:?}");
        assert_eq!(got.headers["content-type"], "application/json");
        assert!(got.headers.get("location").is_none(), "{behaviour:?}");
    }
    assert!(upstream
        .queries()
        .iter()
        .all(|q| q.starts_with("/res.php?")));
}

#[tokio::test]
async fn metrics_follow_the_readings() {
    let upstream = Upstream::start(Behaviour::Balance("12.345")).await;
    let config = proxy_config(&upstream);
    let clock = config.clock.clone();
    let base = start(config).await;

    let before = get(&base, "/metrics").await;
    assert_eq!(before.status, 200);
    assert!(before.headers["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/plain; version=0.0.4"));
    assert_eq!(
        metric(
            &before.body,
            &format!("captcha_balance_usd{{{DEFAULT_LABELS}}}")
        )
        .as_deref(),
        Some("NaN")
    );
    assert_eq!(
        metric(
            &before.body,
            &format!("captcha_balance_upstream_requests_total{{{DEFAULT_LABELS}}}")
        )
        .as_deref(),
        Some("0")
    );

    get(&base, BALANCE).await;
    get(&base, BALANCE).await; // cached
    clock.advance(Duration::from_secs(60));
    upstream.set(Behaviour::Raw(502, "text/html", "<html>bad gateway</html>"));
    get(&base, BALANCE).await; // expired: asks again, fails
    clock.advance(Duration::from_secs(5));
    get(&base, "/res.php?action=get&id=1").await; // refused
    let d = DEFAULT_LABELS;

    let text = get(&base, "/metrics").await.body;
    #[rustfmt::skip]
    let want = [
        (format!("captcha_balance_usd{{{d}}}"),                                       "12.345"),
        (format!("captcha_balance_threshold_usd{{{d}}}"),                             "1.0"),
        (format!("captcha_balance_seconds_since_last_good_reading{{{d}}}"),           "65.0"),
        (format!("captcha_balance_upstream_requests_total{{{d}}}"),                   "2"),
        (format!("captcha_balance_upstream_errors_total{{{d},code=\"server_error\"}}"), "1"),
        (format!("captcha_balance_upstream_errors_total{{{d},code=\"timeout\"}}"),      "0"),
        ("captcha_balance_requests_served_total{route=\"res_php\",status=\"200\"}".into(), "2"),
        ("captcha_balance_requests_served_total{route=\"res_php\",status=\"502\"}".into(), "1"),
        ("captcha_balance_requests_served_total{route=\"res_php\",status=\"403\"}".into(), "1"),
        ("captcha_balance_requests_served_total{route=\"metrics\",status=\"200\"}".into(), "1"),
    ];
    for (series, value) in want {
        assert_eq!(
            metric(&text, &series).as_deref(),
            Some(value),
            "{series} in\n{text}"
        );
    }
    assert!(
        text.contains("# TYPE captcha_balance_upstream_requests_total counter"),
        "{text}"
    );
    assert!(text.contains("# TYPE captcha_balance_usd gauge"), "{text}");
    assert!(!text.contains(KEY));
}

#[tokio::test]
async fn healthz_answers_without_asking_upstream() {
    let upstream = Upstream::start(Behaviour::Hang).await;
    let base = start(proxy_config(&upstream)).await;
    let got = get(&base, "/healthz").await;
    assert_eq!((got.status, got.body.as_str()), (200, "ok"));
    assert_eq!(upstream.hits(), 0);
    // The mock control API does not exist in proxy mode.
    assert_eq!(get(&base, "/mock/state").await.status, 404);
    assert_eq!(
        post(&base, "/mock/topup", r#"{"amount":"5"}"#).await.status,
        404
    );
}
