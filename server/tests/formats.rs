//! `/res.php` answers in the format the request asks for, as the 2captcha API does: JSON with
//! `json=1` (the widget and the extension), plain text without it (`12.345`, `ERROR_…`), which
//! is what official client libraries such as 2captcha-python's `balance()` read. One upstream
//! reading serves both formats.

mod common;

use common::*;
use serde_json::json;

fn assert_text(got: &Got, status: u16, body: &str, what: &str) {
    assert_eq!((got.status, got.body.as_str()), (status, body), "{what}");
    assert_eq!(got.headers["content-type"], "text/plain", "{what}");
    assert!(
        !got.headers.contains_key("access-control-allow-origin"),
        "{what}"
    );
    assert_eq!(got.headers["cache-control"], "no-store", "{what}");
    assert!(!got.everything().contains(KEY), "{what}");
}

#[tokio::test]
async fn a_balance_in_both_formats_from_one_reading() {
    let upstream = Upstream::start(Behaviour::Balance("12.345")).await;
    let base = start(proxy_config(&upstream)).await;

    let plain = get(
        &base,
        &format!("/res.php?key={CLIENT_KEY}&action=getbalance"),
    )
    .await;
    assert_text(&plain, 200, "12.345", "no json");
    // What a client library does with it.
    assert_eq!(plain.body.parse::<f64>().ok(), Some(12.345));
    let zero = get(&base, "/res.php?action=getbalance&json=0").await;
    assert_text(&zero, 200, "12.345", "json=0");

    // The widget's and the extension's request is unchanged.
    let json = get(&base, BALANCE).await;
    assert_eq!(json.status, 200);
    assert_eq!(json.headers["content-type"], "application/json");
    assert_eq!(json.json(), json!({"status": 1, "request": "12.345"}));

    assert_eq!(upstream.hits(), 1, "one cached reading serves both formats");
}

#[tokio::test]
async fn errors_are_the_bare_code_in_plain_text() {
    #[rustfmt::skip]
    let cases = [
        ("ERROR_ZERO_BALANCE",       200, "ERROR_ZERO_BALANCE",       json!({"status": 0, "request": "ERROR_ZERO_BALANCE", "error": "zero_balance"})),
        ("ERROR_KEY_DOES_NOT_EXIST", 200, "ERROR_KEY_DOES_NOT_EXIST", json!({"status": 0, "request": "ERROR_KEY_DOES_NOT_EXIST", "error": "key_not_found"})),
        ("ERROR_WRONG_USER_KEY",     200, "ERROR_WRONG_USER_KEY",     json!({"status": 0, "request": "ERROR_WRONG_USER_KEY", "error": "wrong_key"})),
        ("garbage",                  200, "unexpected answer",        json!({"status": 0, "request": "unexpected answer", "error": "malformed"})),
    ];
    for (upstream_says, status, text, body) in cases {
        let upstream = Upstream::start(Behaviour::Raw(200, "text/plain", upstream_says)).await;
        let base = start(proxy_config(&upstream)).await;
        let plain = get(&base, "/res.php?action=getbalance").await;
        assert_text(&plain, status, text, upstream_says);
        let json = get(&base, BALANCE).await;
        assert_eq!(
            (json.status, json.json()),
            (status, body),
            "{upstream_says}"
        );
    }
    // An upstream that does not answer: the server failed, in either format.
    let upstream = Upstream::start(Behaviour::Raw(502, "text/html", "<html>502</html>")).await;
    let base = start(proxy_config(&upstream)).await;
    assert_text(
        &get(&base, "/res.php?action=getbalance").await,
        502,
        "ERROR_SERVER_ERROR",
        "502",
    );
}

#[tokio::test]
async fn account_routes_answer_in_the_format_asked_for() {
    let (base, production, staging) = start_production_and_staging().await;

    // A createTask upstream, answered in the 2captcha protocol's plain text.
    let got = get(&base, "/accounts/staging/res.php?action=getbalance").await;
    assert_eq!((got.status, got.body.as_str()), (200, "3.25"));
    assert_eq!(got.headers["content-type"], "text/plain");
    let got = get(&base, "/accounts/staging/res.php?action=getbalance&json=1").await;
    assert_eq!(got.json(), json!({"status": 1, "request": "3.25"}));

    let got = get(&base, "/accounts/nobody/res.php?action=getbalance").await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (404, "ERROR_NO_SUCH_ACCOUNT")
    );
    assert_eq!(got.headers["content-type"], "text/plain");
    let got = get(&base, "/accounts/nobody/res.php?action=getbalance&json=1").await;
    assert_eq!(
        (got.status, got.json()["request"].clone()),
        (404, json!("ERROR_NO_SUCH_ACCOUNT"))
    );

    // Refusals too; a `json` that is neither 1 nor 0 is refused, in plain text.
    let got = get(&base, "/accounts/production/res.php?action=get&id=1").await;
    assert_eq!((got.status, got.body.as_str()), (403, "ERROR_NOT_ALLOWED"));
    let got = get(&base, "/res.php?action=getbalance&json=yes").await;
    assert_eq!((got.status, got.body.as_str()), (403, "ERROR_NOT_ALLOWED"));
    assert_eq!((production.hits(), staging.hits()), (0, 1));
}
