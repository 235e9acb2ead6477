//! `GET /v1/accounts/{name}/history` (shape, exact decimals, 404, headers, no key),
//! `GET /v1/history` (the default account's, the same answer as its named route) and mock
//! mode's history filled in at start (the demo shows spend, runway and a top-up at once; kept
//! across a restart with `--data-dir`, never filled in twice; never in proxy mode).

mod common;

use captchaai_balance::money::Money;
use captchaai_balance::provider::ProviderId;
use captchaai_balance_server::clock::Clock;
use captchaai_balance_server::config::AccountConfig;
use captchaai_balance_server::secret::ApiKey;
use captchaai_balance_server::Config;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const HISTORY: &str = "/v1/accounts/default/history";

/// A fresh, unique data directory (not created: the server creates it on its first write).
fn data_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("cab-history-{}-{nanos}-{tag}", std::process::id()))
}

fn mock_in(dir: &Path, clock: Clock) -> Config {
    let mut config = mock_config();
    config.clock = clock;
    config.data_dir = Some(dir.to_path_buf());
    config
}

fn headers_of(got: &Got) -> (Option<&str>, Option<&str>, Option<&str>) {
    let header = |name: &str| got.headers.get(name).and_then(|v| v.to_str().ok());
    (
        header("content-type"),
        header("access-control-allow-origin"),
        header("cache-control"),
    )
}

fn assert_no_key(got: &Got) {
    let text = got.everything().to_lowercase();
    for key in [KEY, KEY_MASKED, &KEY[KEY.len() - 4..]] {
        assert!(!text.contains(&key.to_lowercase()), "{key} in {text}");
    }
}

/// Three readings a minute apart, one of them more precise than a float holds: the route gives
/// them oldest first, each balance the exact decimal string the server read, and nothing else.
#[tokio::test]
async fn the_history_route_gives_the_readings_exactly() {
    let upstream = Upstream::start(Behaviour::Balance("10")).await;
    let config = proxy_config(&upstream);
    let clock = config.clock.clone();
    let base = start(config).await;

    // Proxy mode: real readings only, so nothing before the first one.
    let empty = get(&base, HISTORY).await;
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.json(),
        json!({"account": "default", "provider": "captchaai", "points": []})
    );
    assert_eq!(
        upstream.hits(),
        0,
        "the history route does not read upstream"
    );

    let t0 = clock.epoch_ms();
    let precise = r#"{"status":1,"request":"999999999.999999999"}"#;
    let steps = [
        Behaviour::Balance("10"),
        Behaviour::Raw(200, "application/json", precise),
        Behaviour::Balance("9.98765"),
    ];
    for (i, behaviour) in steps.into_iter().enumerate() {
        if i > 0 {
            clock.advance(FLOOR);
        }
        upstream.set(behaviour);
        assert_eq!(get(&base, BALANCE).await.status, 200);
    }
    let hits = upstream.hits();
    let got = get(&base, HISTORY).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        upstream.hits(),
        hits,
        "the history route does not read upstream"
    );
    let minute = 60_000;
    assert_eq!(
        got.json(),
        json!({"account": "default", "provider": "captchaai", "points": [
            {"at": t0,              "balance": "10"},
            {"at": t0 + minute,     "balance": "999999999.999999999"},
            {"at": t0 + 2 * minute, "balance": "9.98765"},
        ]})
    );
    // Strings in the text itself, never JSON numbers (a float would round the second).
    assert!(
        got.body.contains(r#""balance":"999999999.999999999"}"#),
        "{}",
        got.body
    );
    assert!(
        got.body
            .starts_with(r#"{"account":"default","provider":"captchaai","points":["#),
        "members in this order: {}",
        got.body
    );
    assert_eq!(
        headers_of(&got),
        (Some("application/json"), None, Some("no-store"))
    );
    // The control: the upstream did receive the key.
    assert!(upstream.queries().iter().any(|q| q.contains(KEY)));
    assert_no_key(&got);
}

/// An unknown name: the same 404, body and headers as `/v1/accounts/{name}`.
#[tokio::test]
async fn an_unknown_account_has_no_history() {
    let upstream = Upstream::start(Behaviour::Balance("10")).await;
    let base = start(proxy_config(&upstream)).await;
    let account = get(&base, "/v1/accounts/nope").await;
    let history = get(&base, "/v1/accounts/nope/history").await;
    assert_eq!(history.status, 404);
    assert_eq!(
        (history.status, history.json()),
        (account.status, account.json())
    );
    assert!(history.json()["error"].is_string());
    assert_eq!(headers_of(&history), headers_of(&account));
    assert_eq!(headers_of(&history).2, Some("no-store"));
    assert_no_key(&history);
    assert_eq!(upstream.hits(), 0);
}

/// A history body has exactly `account`, `provider` and `points`, each point exactly an `at`
/// (epoch ms) and a `balance` (a decimal string, never a number).
fn assert_history_shape(body: &Value) {
    let members: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(members, ["account", "points", "provider"], "{body}");
    for point in body["points"].as_array().expect("points") {
        let members: Vec<&str> = point
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(members, ["at", "balance"], "{point}");
        assert!(point["at"].is_i64(), "{point}");
        assert!(point["balance"].is_string(), "{point}");
    }
}

/// `/v1/history` in mock mode: the default account's (`production`) week, exactly what
/// `/v1/accounts/production/history` answers, with the same headers, counted as an account
/// route, and without reading any account.
#[tokio::test]
async fn the_default_history_is_the_default_accounts() {
    let base = start(mock_config()).await;
    let got = get(&base, "/v1/history").await;
    let named = get(&base, "/v1/accounts/production/history").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_history_shape(&got.json());
    assert_eq!(got.json()["account"], "production");
    assert!(
        got.json()["points"]
            .as_array()
            .is_some_and(|p| p.len() > 10),
        "the week filled in at start: {}",
        got.body
    );
    assert_eq!(got.body, named.body);
    assert_eq!(headers_of(&got), headers_of(&named));
    assert_eq!(
        headers_of(&got),
        (Some("application/json"), None, Some("no-store"))
    );
    let state = get(&base, "/mock/state").await.json();
    assert_eq!(state["upstreamRequests"], 0, "no account was read: {state}");
    let text = get(&base, "/metrics").await.body;
    let served = r#"captcha_balance_requests_served_total{route="v1_accounts",status="200"}"#;
    assert_eq!(metric(&text, served).as_deref(), Some("2"), "{text}");
}

/// With several real accounts the default is the first of the configuration (the one
/// `/res.php` reads), not any other; its readings show up there, and no key does.
#[tokio::test]
async fn the_default_history_follows_the_default_account() {
    let first = Upstream::start(Behaviour::Balance("7.25")).await;
    let second = Upstream::start(Behaviour::Balance("99")).await;
    let account = |name: &str, key: &str, upstream: &Upstream| {
        let key = ApiKey::for_format(key, ProviderId::TwoCaptcha.info().key).expect("key");
        let mut account =
            AccountConfig::new(name, ProviderId::TwoCaptcha, key, upstream.url.clone());
        account.threshold = Money::parse("5").expect("threshold");
        account
    };
    let mut config = Config::accounts(vec![
        account("main", KEY, &first),
        account("spare", KEY2, &second),
    ]);
    config.clock = Clock::manual();
    let base = start(config).await;

    let before = get(&base, "/v1/history").await;
    assert_eq!(
        before.json(),
        json!({"account": "main", "provider": "2captcha", "points": []})
    );
    assert_eq!(get(&base, BALANCE).await.status, 200);
    assert_eq!(
        get(&base, "/accounts/spare/res.php?action=getbalance&json=1")
            .await
            .status,
        200
    );

    let got = get(&base, "/v1/history").await;
    assert_history_shape(&got.json());
    assert_eq!(got.json()["account"], "main");
    assert_eq!(got.json()["points"][0]["balance"], "7.25");
    assert_eq!(got.json()["points"].as_array().map(Vec::len), Some(1));
    assert_eq!(got.body, get(&base, "/v1/accounts/main/history").await.body);
    assert_ne!(
        got.body,
        get(&base, "/v1/accounts/spare/history").await.body
    );
    // The control: the upstreams did receive the keys.
    assert!(first.queries().iter().any(|q| q.contains(KEY)));
    assert_no_key(&got);
    let text = got.everything().to_lowercase();
    assert!(!text.contains(&KEY2.to_lowercase()), "{text}");
}

/// The figures of one account of `/v1/accounts`.
fn figures(list: &Value, name: &str) -> Value {
    let account = list["accounts"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["name"] == name))
        .unwrap_or_else(|| panic!("{name} in {list}"));
    json!({
        "spendPerHour": account["spendPerHour"],
        "runwaySeconds": account["runwaySeconds"],
        "runwayLowSeconds": account["runwayLowSeconds"],
        "lastTopUp": account["lastTopUp"],
        "forecastNote": account["forecastNote"],
    })
}

/// A fresh mock server: `/metrics` has spend and runway for every draining account before
/// anything is read, `/v1/accounts` the same with `backup`'s latest refill as a top-up, and
/// the history route a week of each account's model.
#[tokio::test]
async fn a_fresh_mock_server_forecasts_at_once() {
    let config = mock_config();
    let now = config.clock.epoch_ms();
    let base = start(config).await;

    // Before any reading: the history filled in at start speaks.
    let text = get(&base, "/metrics").await.body;
    #[rustfmt::skip]
    let lines = [
        // 25.00 at 0.02 a minute: 1.20 an hour, (25.00 - 0.01) / 1.20 hours to empty.
        (r#"captcha_spend_usd_per_hour{account="production",provider="captchaai"}"#,     "1.2"),
        (r#"captcha_balance_runway_seconds{account="production",provider="captchaai"}"#, "74970.0"),
        (r#"captcha_spend_usd_per_hour{account="staging",provider="anticaptcha"}"#,      "0.3"),
        (r#"captcha_balance_runway_seconds{account="staging",provider="anticaptcha"}"#,  "41880.0"),
        // 48.20 at 0.04 a minute since its last refill.
        (r#"captcha_spend_usd_per_hour{account="backup",provider="capsolver"}"#,         "2.4"),
        (r#"captcha_balance_runway_seconds{account="backup",provider="capsolver"}"#,     "72285.0"),
        // In error from the start: no readings, no history.
        (r#"captcha_spend_usd_per_hour{account="archive",provider="2captcha"}"#,         "NaN"),
        (r#"captcha_balance_runway_seconds{account="archive",provider="2captcha"}"#,     "NaN"),
    ];
    assert_metrics(&text, &lines);

    let list = get(&base, "/v1/accounts").await.json();
    let minutes_ago = |m: i64| now - m * 60_000;
    #[rustfmt::skip]
    let want = [
        ("production", json!({"spendPerHour": "1.2", "runwaySeconds": 74_970, "runwayLowSeconds": 60_000, "lastTopUp": null, "forecastNote": null})),
        ("staging",    json!({"spendPerHour": "0.3", "runwaySeconds": 41_880, "runwayLowSeconds": 0, "lastTopUp": null, "forecastNote": null})),
        // Refilled 169 minutes ago: 45.00 the minute before, 54.96 then.
        ("backup",     json!({"spendPerHour": "2.4", "runwaySeconds": 72_285, "runwayLowSeconds": 70_800, "lastTopUp": {"amount": "9.96", "at": minutes_ago(169)}, "forecastNote": null})),
        ("archive",    json!({"spendPerHour": null, "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": null, "forecastNote": "not_enough_history"})),
    ];
    for (name, figures_wanted) in want {
        assert_eq!(figures(&list, name), figures_wanted, "{name}");
    }

    let week = get(&base, "/v1/accounts/backup/history").await.json();
    assert_eq!(
        (&week["account"], &week["provider"]),
        (&json!("backup"), &json!("capsolver"))
    );
    let points = week["points"].as_array().expect("points");
    let at = |p: &Value| p["at"].as_i64().expect("at");
    assert_eq!(points.first().map(at), Some(minutes_ago(7 * 24 * 60)));
    // The reading `/v1/accounts` just took is the newest.
    assert_eq!(points.last().map(at), Some(now));
    let rises = points
        .windows(2)
        .filter(|w| w[1]["balance"] == "54.96" && w[0]["balance"] == "45")
        .count();
    assert_eq!(rises, 40, "one top-up every 250 minutes for a week");
    let archive = get(&base, "/v1/accounts/archive/history").await.json();
    assert_eq!(archive["points"], json!([]));
}

/// With `--data-dir`, the history filled in at start is written at once; a restart reads it
/// back (with the readings taken since) and does not fill it in again.
#[tokio::test]
async fn a_restart_keeps_the_filled_in_history() {
    let dir = data_dir("restart");
    let clock = Clock::manual();
    let base = start(mock_in(&dir, clock.clone())).await;
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("written at start")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["backup.json", "production.json", "staging.json"]);
    for _ in 0..3 {
        clock.advance(Duration::from_secs(20 * 60));
        get(&base, "/v1/accounts").await;
    }
    let before = get(&base, "/v1/accounts/production/history").await.json();
    let newest = before["points"].as_array().and_then(|p| p.last()).cloned();
    assert_eq!(
        newest.as_ref().map(|p| &p["at"]),
        Some(&json!(clock.epoch_ms()))
    );

    // An hour later, on the same directory.
    let later = Clock::manual_at(clock.epoch_ms() + 3_600_000);
    let again = start(mock_in(&dir, later)).await;
    let after = get(&again, "/v1/accounts/production/history").await.json();
    assert_eq!(after, before, "read back as it was, not filled in again");
    let _ = std::fs::remove_dir_all(dir);
}

/// Proxy mode never fills in a history: no file at start, no figures before real readings.
#[tokio::test]
async fn proxy_mode_does_not_fill_in() {
    let dir = data_dir("proxy");
    let upstream = Upstream::start(Behaviour::Balance("10")).await;
    let mut config = proxy_config(&upstream);
    config.data_dir = Some(dir.clone());
    let base = start(config).await;
    assert!(!dir.exists(), "nothing written before a reading");
    let text = get(&base, "/metrics").await.body;
    let series = format!("captcha_balance_runway_seconds{{{DEFAULT_LABELS}}}");
    assert_eq!(metric(&text, &series).as_deref(), Some("NaN"));
    assert_eq!(get(&base, HISTORY).await.json()["points"], json!([]));
}
