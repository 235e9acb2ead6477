//! A custom provider's key is a token that may hold any printable character, `&`, `+`, `#`,
//! `/`, `=`, `?` and `%` included. The proxy sends the core's balance request
//! (`protocol::balance_request`): the key percent-encoded in a 2captcha-family query, JSON-escaped
//! in a createTask-family body, so the upstream reads it back byte for byte. It never shows in an
//! answer, nor in what the server logs (at TRACE, without the writer's masking), in any
//! spelling.
//!
//! One test in its own file: it installs a global subscriber.

mod common;

use captchaai_balance::provider::{Family, ProviderId};
use common::*;

/// Every character a naive URL or body would misread: a parameter separator, a space as `+`,
/// a fragment, a path, a value separator, a query start and an escape that must not be
/// decoded twice.
const ODD_KEY: &str = "ab&c+d#e/f=g?h%20i";
/// The same key as a query carries it.
const ODD_KEY_ENCODED: &str = "ab%26c%2Bd%23e%2Ff%3Dg%3Fh%2520i";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_odd_key_reaches_the_upstream_byte_for_byte() {
    let logs = LogBuffer::install();
    let two = Upstream::start(Behaviour::Balance("1.5")).await;
    let create = Upstream::start_family(Family::CreateTask, Behaviour::Balance("2.5")).await;
    let base = start(accounts_config(vec![
        account_config(
            "own-2captcha",
            ProviderId::Custom2Captcha,
            ODD_KEY,
            "1",
            &two,
        ),
        account_config(
            "own-createtask",
            ProviderId::CustomCreateTask,
            ODD_KEY,
            "1",
            &create,
        ),
    ]))
    .await;

    let answers = [
        get(
            &base,
            "/accounts/own-2captcha/res.php?action=getbalance&json=1",
        )
        .await,
        get(
            &base,
            "/accounts/own-createtask/res.php?action=getbalance&json=1",
        )
        .await,
        post(&base, "/accounts/own-createtask/getBalance", "{}").await,
        get(&base, "/v1/accounts").await,
        get(&base, "/v1/accounts/own-2captcha/history").await,
        get(&base, "/metrics").await,
    ];
    assert_eq!(answers[0].body, r#"{"status":1,"request":"1.5"}"#);
    assert_eq!(answers[1].body, r#"{"status":1,"request":"2.5"}"#);
    assert_eq!(answers[2].body, r#"{"errorId":0,"balance":2.5}"#);
    assert_eq!((two.hits(), create.hits()), (1, 1), "one reading each");

    // The 2captcha family: one `key` among the protocol's parameters, decoding to the key.
    let queries = two.queries();
    let (path, query) = queries[0].split_once('?').expect("a query");
    assert_eq!(path, "/res.php");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
    assert_eq!(
        pairs,
        [
            pair("key", ODD_KEY),
            pair("action", "getbalance"),
            pair("json", "1")
        ],
        "{query}"
    );
    assert!(query.contains(ODD_KEY_ENCODED), "{query}");

    // The createTask family: the JSON body's `clientKey` is the key.
    let bodies = create.bodies();
    let body = bodies[0]
        .strip_prefix("POST /getBalance ")
        .unwrap_or_else(|| panic!("a POST to /getBalance: {}", bodies[0]));
    let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(body, serde_json::json!({ "clientKey": ODD_KEY }));

    let spellings = [ODD_KEY, ODD_KEY_ENCODED, "ab&c+d#e", "ab%26c%2Bd"];
    for got in &answers {
        assert_eq!(got.status, 200, "{}", got.body);
        let everything = got.everything().to_ascii_lowercase();
        for spelling in spellings {
            assert!(
                !everything.contains(&spelling.to_ascii_lowercase()),
                "the key ({spelling}) is in an answer:\n{everything}"
            );
        }
    }
    let text = logs.text();
    assert!(text.contains("served"), "the requests were logged:\n{text}");
    let lower = text.to_ascii_lowercase();
    for spelling in spellings {
        assert!(
            !lower.contains(&spelling.to_ascii_lowercase()),
            "the key ({spelling}) was logged:\n{text}"
        );
    }
}
