//! `POST /getBalance` and `POST /accounts/{name}/getBalance`: the same cached readings as
//! `/res.php`, answered as a createTask-family API does (`{"errorId":0,"balance":12.345}`), for
//! clients written for Anti-Captcha-style APIs. The client's `clientKey` is ignored: the
//! server's key is used and the client's is never echoed.

mod common;

use common::*;

/// What an Anti-Captcha client sends.
fn client_body() -> String {
    format!(r#"{{"clientKey":"{CLIENT_KEY}"}}"#)
}

fn assert_create_task(got: &Got, status: u16, body: &str, what: &str) {
    assert_eq!((got.status, got.body.as_str()), (status, body), "{what}");
    assert_eq!(got.headers["content-type"], "application/json", "{what}");
    assert!(
        !got.headers.contains_key("access-control-allow-origin"),
        "{what}"
    );
    assert_eq!(got.headers["cache-control"], "no-store", "{what}");
    let everything = got.everything();
    assert!(!everything.contains(KEY), "{what}");
    assert!(!everything.contains(CLIENT_KEY), "{what}");
}

#[tokio::test]
async fn a_balance_from_the_same_cached_reading() {
    let upstream = Upstream::start(Behaviour::Balance("12.345")).await;
    let base = start(proxy_config(&upstream)).await;

    let got = post(&base, "/getBalance", &client_body()).await;
    assert_create_task(&got, 200, r#"{"errorId":0,"balance":12.345}"#, "balance");
    // A client that sends no body, or not JSON, gets the same answer: the body is not read.
    let got = post(&base, "/getBalance", "").await;
    assert_create_task(&got, 200, r#"{"errorId":0,"balance":12.345}"#, "no body");
    let json = get(&base, BALANCE).await;
    assert_eq!(json.body, r#"{"status":1,"request":"12.345"}"#);
    assert_eq!(
        upstream.hits(),
        1,
        "one cached reading serves both protocols"
    );

    let metrics = get(&base, "/metrics").await.body;
    assert_metrics(
        &metrics,
        &[(
            r#"captcha_balance_requests_served_total{route="get_balance",status="200"}"#,
            "2",
        )],
    );
}

/// The balance is written from the exact decimal, never through a float: no f64 holds
/// 999999999.999999999.
#[tokio::test]
async fn the_balance_is_exact_number_text() {
    let upstream = Upstream::start(Behaviour::Raw(
        200,
        "application/json",
        r#"{"status":1,"request":"999999999.999999999"}"#,
    ))
    .await;
    let base = start(proxy_config(&upstream)).await;
    let got = post(&base, "/getBalance", &client_body()).await;
    assert_create_task(
        &got,
        200,
        r#"{"errorId":0,"balance":999999999.999999999}"#,
        "huge",
    );
}

#[tokio::test]
async fn errors_in_the_create_task_shape() {
    #[rustfmt::skip]
    let cases = [
        (200, "text/plain", "ERROR_KEY_DOES_NOT_EXIST", 200, r#"{"errorId":1,"errorCode":"ERROR_KEY_DOES_NOT_EXIST","errorDescription":"key_not_found"}"#),
        (200, "text/plain", "ERROR_ZERO_BALANCE",       200, r#"{"errorId":1,"errorCode":"ERROR_ZERO_BALANCE","errorDescription":"zero_balance"}"#),
        (200, "text/plain", "garbage",                  200, r#"{"errorId":1,"errorCode":"unexpected answer","errorDescription":"malformed"}"#),
        (502, "text/html",  "<html>502</html>",         502, r#"{"errorId":1,"errorCode":"ERROR_SERVER_ERROR","errorDescription":"server_error"}"#),
    ];
    for (upstream_status, content_type, upstream_says, status, body) in cases {
        let upstream =
            Upstream::start(Behaviour::Raw(upstream_status, content_type, upstream_says)).await;
        let base = start(proxy_config(&upstream)).await;
        let got = post(&base, "/getBalance", &client_body()).await;
        assert_create_task(&got, status, body, upstream_says);
    }
}

#[tokio::test]
async fn account_routes_and_refusals() {
    let (base, production, staging) = start_production_and_staging().await;

    let got = post(&base, "/accounts/staging/getBalance", &client_body()).await;
    assert_create_task(&got, 200, r#"{"errorId":0,"balance":3.25}"#, "staging");
    assert!(!got.everything().contains(KEY2));
    // The server's key went upstream, not the client's.
    assert!(staging.bodies().iter().all(|b| !b.contains(CLIENT_KEY)));
    let got = post(&base, "/accounts/production/getBalance", "{}").await;
    assert_create_task(&got, 200, r#"{"errorId":0,"balance":12.5}"#, "production");

    let got = post(&base, "/accounts/nobody/getBalance", &client_body()).await;
    assert_create_task(
        &got,
        404,
        r#"{"errorId":1,"errorCode":"ERROR_NO_SUCH_ACCOUNT","errorDescription":"no account with this name on this server"}"#,
        "unknown account",
    );
    let got = get(&base, "/getBalance").await;
    assert_create_task(
        &got,
        403,
        r#"{"errorId":1,"errorCode":"ERROR_NOT_ALLOWED","errorDescription":"only POST is served"}"#,
        "GET",
    );

    // A page on another origin may POST its JSON.
    let got = send(client().request(
        reqwest::Method::OPTIONS,
        format!("{base}/accounts/staging/getBalance"),
    ))
    .await;
    assert_eq!(got.status, 204);
    assert_eq!(got.headers["access-control-allow-methods"], "POST, OPTIONS");
    assert_eq!(got.headers["access-control-allow-headers"], "content-type");
    assert!(
        !got.headers.contains_key("access-control-allow-origin"),
        "same-origin only by default"
    );

    assert_eq!((production.hits(), staging.hits()), (1, 1));
}

/// Mock mode: the createTask routes read the simulated accounts, scenarios included.
#[tokio::test]
async fn mock_mode_scenarios_reach_get_balance() {
    let base = start(mock_config()).await;
    let got = post(
        &base,
        "/mock/scenario",
        r#"{"scenario":"ok","balance":"12.345","drainPerMinute":"0"}"#,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let got = post(&base, "/getBalance", &client_body()).await;
    assert_create_task(&got, 200, r#"{"errorId":0,"balance":12.345}"#, "mock ok");

    let got = post(
        &base,
        "/mock/scenario",
        r#"{"scenario":"error_zero_balance"}"#,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let got = post(&base, "/getBalance", &client_body()).await;
    assert_create_task(
        &got,
        200,
        r#"{"errorId":1,"errorCode":"ERROR_ZERO_BALANCE","errorDescription":"zero_balance"}"#,
        "mock zero",
    );
}
