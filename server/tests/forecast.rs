//! The forecast in the server: each account's balance history in memory and in `--data-dir`
//! (atomic writes, read back on start, a corrupt file set aside), the spend rate and runway in
//! `/metrics` and `/v1/accounts`, the last top-up, and the mock fleet draining and topping up.

mod common;

use captchaai_balance::history::Point;
use captchaai_balance::money::Money;
use captchaai_balance::provider::{Family, ProviderId};
use captchaai_balance_server::clock::Clock;
use captchaai_balance_server::config::AccountConfig;
use captchaai_balance_server::secret::ApiKey;
use captchaai_balance_server::store::Store;
use captchaai_balance_server::Config;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// A fresh, unique data directory (not created: the server creates it on its first write).
fn data_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("cab-forecast-{}-{nanos}-{tag}", std::process::id()))
}

/// Proxy mode for the `default` account against `upstream`, keeping history in `dir`.
fn config(upstream: &Upstream, dir: Option<&Path>, clock: Clock) -> Config {
    let mut config = proxy_config(upstream);
    config.clock = clock;
    config.data_dir = dir.map(Path::to_path_buf);
    config
}

/// Reads `balances` through the server 20 minutes apart (the first at once): $0.30/h for
/// 10.00, 9.90, 9.80, 9.70.
async fn feed(base: &str, upstream: &Upstream, clock: &Clock, balances: &[&'static str]) {
    for (i, balance) in balances.iter().enumerate() {
        if i > 0 {
            clock.advance(20 * MINUTE);
        }
        upstream.set(Behaviour::Balance(balance));
        assert_eq!(
            get(base, BALANCE).await.json()["request"],
            balance.trim_end_matches('0').trim_end_matches('.'),
            "{balance}"
        );
    }
}

const DRAIN: [&str; 4] = ["10.00", "9.90", "9.80", "9.70"];

fn series(name: &str) -> String {
    format!("{name}{{{DEFAULT_LABELS}}}")
}

/// (spend, runway) as `/metrics` shows them for the default account.
async fn metric_forecast(base: &str) -> (Option<String>, Option<String>) {
    let text = get(base, "/metrics").await.body;
    (
        metric(&text, &series("captcha_spend_usd_per_hour")),
        metric(&text, &series("captcha_balance_runway_seconds")),
    )
}

fn forecast_fields(account: &Value) -> Value {
    json!({
        "spendPerHour": account["spendPerHour"],
        "runwaySeconds": account["runwaySeconds"],
        "runwayLowSeconds": account["runwayLowSeconds"],
        "lastTopUp": account["lastTopUp"],
        "forecastNote": account["forecastNote"],
    })
}

fn known(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// $9.70 at $0.30/h: (9.70 - 0.01) / 0.30 h to empty, (9.70 - 1.00) / 0.30 h to the default
/// threshold.
fn steady_forecast() -> Value {
    json!({"spendPerHour": "0.3", "runwaySeconds": 116_280, "runwayLowSeconds": 104_400, "lastTopUp": null, "forecastNote": null})
}

#[tokio::test]
async fn the_history_survives_a_restart() {
    let dir = data_dir("restart");
    let upstream = Upstream::start(Behaviour::Balance("10")).await;
    let clock = Clock::manual();
    let base = start(config(&upstream, Some(&dir), clock.clone())).await;
    // Before enough history: unknown (NaN), not zero.
    feed(&base, &upstream, &clock, &DRAIN[..1]).await;
    assert_eq!(metric_forecast(&base).await, (known("NaN"), known("NaN")));
    clock.advance(20 * MINUTE);
    feed(&base, &upstream, &clock, &DRAIN[1..]).await;
    let first = get(&base, "/v1/accounts/default").await.json();
    assert_eq!(forecast_fields(&first), steady_forecast());
    let first_metrics = metric_forecast(&base).await;
    assert_eq!(first_metrics, (known("0.3"), known("116280.0")));

    // Another server on the same directory, where the first one's clock stopped: the forecast
    // is back before it reads anything, and stays once it does.
    let hits = upstream.hits();
    let again = start(config(
        &upstream,
        Some(&dir),
        Clock::manual_at(clock.epoch_ms()),
    ))
    .await;
    assert_eq!(metric_forecast(&again).await, first_metrics);
    assert_eq!(upstream.hits(), hits, "/metrics does not read upstream");
    let second = get(&again, "/v1/accounts/default").await.json();
    assert_eq!(forecast_fields(&second), steady_forecast());

    // The control: without a data directory a restart starts from nothing.
    let forgetful = start(config(&upstream, None, Clock::manual_at(clock.epoch_ms()))).await;
    assert_eq!(
        metric_forecast(&forgetful).await,
        (known("NaN"), known("NaN"))
    );
    assert!(!dir.join(".default.json.tmp").exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// A crash between writing the new file and renaming it over the old one leaves the temp file
/// and the old file whole: the next start reads the old history, ignores the temp file, and
/// the next write replaces the history whole.
#[tokio::test]
async fn a_crash_mid_write_leaves_the_old_history() {
    let dir = data_dir("crash");
    let upstream = Upstream::start(Behaviour::Balance("10")).await;
    let clock = Clock::manual();
    let base = start(config(&upstream, Some(&dir), clock.clone())).await;
    feed(&base, &upstream, &clock, &DRAIN).await;
    let file = dir.join("default.json");
    let before = std::fs::read(&file).expect("history file");

    // The crash: the first half of a write (a different history) and no rename.
    let store = Store::new(Some(dir.clone()));
    let stray = Point {
        at: 1,
        balance: Money::from_cents(99_999),
    };
    let temp = store
        .write_temp(&dir, "default", "captchaai", &[stray])
        .expect("temp");
    let temp_name = temp
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        temp_name.starts_with(".default.json.") && temp_name.ends_with(".tmp"),
        "{temp_name}"
    );
    assert_eq!(
        std::fs::read(&file).expect("history file"),
        before,
        "intact"
    );

    // Started again after the floor (a restart within it answers from memory, no write).
    let again_clock = Clock::manual_at(clock.epoch_ms());
    again_clock.advance(FLOOR);
    let again = start(config(&upstream, Some(&dir), again_clock)).await;
    assert_eq!(
        metric_forecast(&again).await,
        (known("0.3"), known("116280.0"))
    );
    let hits = upstream.hits();
    let after = get(&again, "/v1/accounts/default").await.json();
    assert_eq!(upstream.hits(), hits + 1, "read and written again");
    assert_eq!(after["forecastNote"], Value::Null, "{after}");
    let text = std::fs::read_to_string(&file).expect("history file");
    assert!(!text.contains("999.99"), "{text}");
    assert_ne!(std::fs::read(&file).expect("history file"), before);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_corrupt_file_is_set_aside_and_the_account_starts_empty() {
    let dir = data_dir("corrupt");
    std::fs::create_dir_all(&dir).expect("dir");
    let garbage = r#"{"version":1,"account":"default","points":[{"at":1,"#;
    std::fs::write(dir.join("default.json"), garbage).expect("write");
    let upstream = Upstream::start(Behaviour::Balance("10")).await;
    let base = start(config(&upstream, Some(&dir), Clock::manual())).await;
    assert_eq!(metric_forecast(&base).await, (known("NaN"), known("NaN")));
    let view = get(&base, "/v1/accounts/default").await;
    assert_eq!(view.status, 200);
    assert_eq!(view.json()["balance"], "10");
    assert_eq!(view.json()["forecastNote"], "not_enough_history");
    assert_eq!(
        std::fs::read_to_string(dir.join("default.json.corrupt")).expect("set aside"),
        garbage
    );
    let fresh = std::fs::read_to_string(dir.join("default.json")).expect("new file");
    assert!(fresh.contains(r#""balance":"10""#), "{fresh}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Nothing spent: the rate is known (0), the runway is infinite (`+Inf` in /metrics, `null`
/// with a note in /v1/accounts).
#[tokio::test]
async fn an_idle_account_has_no_runway() {
    let upstream = Upstream::start(Behaviour::Balance("5")).await;
    let clock = Clock::manual();
    let base = start(config(&upstream, None, clock.clone())).await;
    feed(&base, &upstream, &clock, &["5.00", "5.00", "5.00", "5.00"]).await;
    assert_eq!(metric_forecast(&base).await, (known("0.0"), known("+Inf")));
    assert_eq!(
        forecast_fields(&get(&base, "/v1/accounts/default").await.json()),
        json!({"spendPerHour": "0", "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": null, "forecastNote": "not_spending"})
    );
}

/// The demo: every simulated account drains at its pace and `backup` tops itself up, so the
/// readings after the start keep `/v1/accounts` and `/metrics` going (the week filled in
/// before the start: tests/history.rs).
#[tokio::test]
async fn the_mock_fleet_drains_and_tops_up() {
    let config = mock_config();
    let clock = config.clock.clone();
    let t0 = clock.epoch_ms();
    let base = start(config).await;
    let mut list = Value::Null;
    for step in 0..=10 {
        if step > 0 {
            clock.advance(10 * MINUTE);
        }
        list = get(&base, "/v1/accounts").await.json();
    }
    let rows: Vec<(Value, Value, Value)> = list["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| (a["name"].clone(), a["balance"].clone(), forecast_fields(a)))
        .collect();
    let minutes = |m: i64| t0 + m * 60_000;
    #[rustfmt::skip]
    let want = vec![
        // 25.00 at 0.02/min: 23.00 after 100 minutes, 1.20/h.
        (json!("production"), json!("23"),   json!({"spendPerHour": "1.2", "runwaySeconds": 68_970, "runwayLowSeconds": 54_000, "lastTopUp": null, "forecastNote": null})),
        // 3.50 at 0.005/min, below its 10.00 threshold already.
        (json!("staging"),    json!("3"),    json!({"spendPerHour": "0.3", "runwaySeconds": 35_880, "runwayLowSeconds": 0, "lastTopUp": null, "forecastNote": null})),
        // 48.20 at 0.04/min, below 45.00 after minute 80: +10.00, seen at minute 90; since
        // then two readings, not enough for a rate.
        (json!("backup"),     json!("54.2"), json!({"spendPerHour": null, "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": {"amount": "9.6", "at": minutes(90)}, "forecastNote": "not_enough_history"})),
        (json!("archive"),    Value::Null,   json!({"spendPerHour": null, "runwaySeconds": null, "runwayLowSeconds": null, "lastTopUp": null, "forecastNote": "not_enough_history"})),
    ];
    assert_eq!(rows, want);

    let text = get(&base, "/metrics").await.body;
    #[rustfmt::skip]
    let lines = [
        (r#"captcha_spend_usd_per_hour{account="production",provider="captchaai"}"#,       "1.2"),
        (r#"captcha_balance_runway_seconds{account="production",provider="captchaai"}"#,   "68970.0"),
        (r#"captcha_spend_usd_per_hour{account="staging",provider="anticaptcha"}"#,        "0.3"),
        (r#"captcha_balance_runway_seconds{account="staging",provider="anticaptcha"}"#,    "35880.0"),
        (r#"captcha_spend_usd_per_hour{account="backup",provider="capsolver"}"#,           "NaN"),
        (r#"captcha_balance_runway_seconds{account="archive",provider="2captcha"}"#,       "NaN"),
    ];
    assert_metrics(&text, &lines);
    for name in [
        "captcha_spend_usd_per_hour",
        "captcha_balance_runway_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} gauge")),
            "{name} in\n{text}"
        );
    }
}

/// The history files hold names, providers, times and balances: never a key, whichever way
/// the provider sends it (query or body).
#[tokio::test]
async fn no_key_in_the_data_files() {
    let dir = data_dir("keys");
    let a = Upstream::start(Behaviour::Balance("10")).await;
    let b = Upstream::start_family(Family::CreateTask, Behaviour::Balance("20")).await;
    let accounts = vec![
        AccountConfig::new(
            "production",
            ProviderId::CaptchaAi,
            ApiKey::new(KEY).expect("key"),
            a.url.clone(),
        ),
        AccountConfig::new(
            "staging",
            ProviderId::AntiCaptcha,
            ApiKey::for_format(KEY2, ProviderId::AntiCaptcha.info().key).expect("key"),
            b.url.clone(),
        ),
    ];
    let mut config = Config::accounts(accounts);
    config.clock = Clock::manual();
    config.data_dir = Some(dir.clone());
    let clock = config.clock.clone();
    let base = start(config).await;
    for _ in 0..3 {
        get(&base, "/v1/accounts").await;
        clock.advance(FLOOR);
    }
    // The control: the upstreams did receive the keys.
    assert!(a.queries().iter().any(|q| q.contains(KEY)));
    assert!(b.bodies().iter().any(|q| q.contains(KEY2)));
    let mut files = 0;
    // The histories, and in their folders the alert memory and the floor's request times.
    let mut paths: Vec<std::path::PathBuf> = Vec::new();
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("data dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("file").to_lowercase();
        for key in [KEY, KEY2, KEY_MASKED] {
            assert!(
                !text.contains(&key.to_lowercase()),
                "{key} in {}",
                path.display()
            );
        }
        // The alert memory (crate::alerts::memory) and the floor (crate::floor) have folders.
        if path.parent() != Some(dir.as_path()) {
            continue;
        }
        assert!(text.contains(r#""points":[{"at":"#), "{}", path.display());
        files += 1;
    }
    assert_eq!(files, 2);
    let _ = std::fs::remove_dir_all(dir);
}
