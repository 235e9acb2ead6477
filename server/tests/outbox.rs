//! The alert memory under a target that is down: the outbox is bounded (the oldest dropped
//! first and counted), a disk that does not take the memory's writes never holds up a balance
//! answer, a balance flapping at its threshold sends one warning per episode (across restarts
//! too), and the single `_alerts.json` of earlier versions is taken over with its messages.

mod common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use captchaai_balance::money::Money;
use captchaai_balance::provider::ProviderId;
use captchaai_balance_server::alerts::alerting::{settings_for, AlertAccount};
use captchaai_balance_server::clock::Clock;
use captchaai_balance_server::config::webhook::{Format, Webhook};
use captchaai_balance_server::Config;
use common::*;
use reqwest::Url;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// A loopback webhook receiver that keeps every body (answering 200).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<String>>>,
}

async fn receive(State(r): State<Receiver>, body: String) -> Response {
    r.got.lock().expect("lock").push(body);
    StatusCode::OK.into_response()
}

impl Receiver {
    async fn start() -> (Receiver, Url) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let receiver = Receiver::default();
        let router = Router::new()
            .fallback(any(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        (
            receiver,
            Url::parse(&format!("http://{addr}/hook")).expect("url"),
        )
    }

    /// The `kind` of every body received, in order.
    fn kinds(&self) -> Vec<String> {
        let got = self.got.lock().expect("lock");
        got.iter()
            .map(|b| {
                let body: Value = serde_json::from_str(b).expect("json");
                body["kind"].as_str().expect("kind").to_string()
            })
            .collect()
    }
}

/// A URL where nothing listens: a target that is down.
async fn down() -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    Url::parse(&format!("http://{addr}/hook")).expect("url")
}

fn hook(url: Url) -> Webhook {
    Webhook {
        format: Format::Generic,
        url_env: "OPS_HOOK".into(),
        url,
        accounts: None,
        kinds: None,
    }
}

/// One CaptchaAI account `production` with this threshold on `upstream`, on `clock`.
fn production(upstream: &Upstream, threshold: &str, clock: &Clock) -> Config {
    let mut config = accounts_config(vec![account_config(
        "production",
        ProviderId::CaptchaAi,
        KEY,
        threshold,
        upstream,
    )]);
    config.clock = clock.clone();
    config
}

async fn read(base: &str, name: &str) -> Got {
    get(
        base,
        &format!("/accounts/{name}/res.php?action=getbalance&json=1"),
    )
    .await
}

/// A target down while a balance crosses its threshold 1,005 times (warning, restored, …):
/// the outbox keeps the newest 1,000 messages (the default bound), drops the 5 oldest and
/// counts them as `result="dropped"`; before, it grew by every message for as long as the
/// target was down.
#[tokio::test]
async fn the_outbox_of_a_target_that_is_down_is_bounded() {
    let upstream = Upstream::start(Behaviour::Balance("4")).await;
    let clock = Clock::manual_at(1_800_000_000_000);
    let mut config = production(&upstream, "5", &clock);
    config.webhooks = vec![hook(down().await)];
    let base = start(config).await;
    for i in 0..1005 {
        upstream.set(Behaviour::Balance(if i % 2 == 0 { "4" } else { "6" }));
        let got = read(&base, "production").await;
        assert_eq!(got.status, 200);
        clock.advance(FLOOR);
    }
    let metrics = get(&base, "/metrics").await.body;
    assert_metrics(
        &metrics,
        &[
            (
                "captcha_balance_webhook_pending{target=\"OPS_HOOK\"}",
                "1000",
            ),
            (
                "captcha_balance_webhook_deliveries_total{target=\"OPS_HOOK\",result=\"dropped\"}",
                "5",
            ),
        ],
    );
}

/// A data directory whose disk does not take the alert memory's writes (its files are FIFOs
/// nobody reads: every open for writing blocks, forever): balances are answered at once all
/// the same, with their alerts decided and waiting. Before, the reading that decided an alert
/// wrote the whole memory under one lock in the answer's path, and the answer never came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_disk_does_not_hold_up_the_answers() {
    let upstream = Upstream::start(Behaviour::Balance("4")).await;
    let dir = temp_dir("stuck");
    let clock = Clock::manual_at(1_800_000_000_000);
    let mut config = production(&upstream, "5", &clock);
    config.data_dir = Some(dir.clone());
    config.webhooks = vec![hook(down().await)];
    let base = start(config).await;
    // Once started: where the alert memory writes, this version's journal and the temp file
    // of the earlier single file.
    let fifos = [
        dir.join("outbox").join("OPS_HOOK.jsonl"),
        dir.join("._alerts.json.tmp"),
    ];
    for fifo in &fifos {
        std::fs::create_dir_all(fifo.parent().expect("parent")).expect("dir");
        let made = std::process::Command::new("mkfifo")
            .arg(fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
    }

    let answer = tokio::time::timeout(Duration::from_secs(5), read(&base, "production")).await;
    let health = tokio::time::timeout(Duration::from_secs(5), get(&base, "/healthz")).await;
    let metrics = tokio::time::timeout(Duration::from_secs(5), get(&base, "/metrics")).await;
    // Whatever waits on the FIFOs is let go before asserting, so a failure ends the test
    // instead of hanging it.
    for fifo in fifos {
        std::thread::spawn(move || std::fs::read(fifo));
    }
    let answer = answer.expect("the balance answer waited for the disk");
    assert_eq!(answer.body, r#"{"status":1,"request":"4"}"#);
    assert_eq!(health.expect("/healthz waited").body, "ok");
    assert_metrics(
        &metrics.expect("/metrics waited").body,
        &[("captcha_balance_webhook_pending{target=\"OPS_HOOK\"}", "1")],
    );
}

/// A balance flapping between 0.99 and 1.00 around a 1.00 threshold, read every minute, the
/// server restarted on its data directory every five readings: one warning, as the extension
/// notifies (the core's hysteresis: back to ok only at 1.10).
#[tokio::test]
async fn a_flapping_balance_warns_once_per_episode() {
    let upstream = Upstream::start(Behaviour::Balance("1.00")).await;
    let (receiver, url) = Receiver::start().await;
    let dir = temp_dir("flapping");
    let clock = Clock::manual_at(1_800_000_000_000);
    let config = || {
        let mut config = production(&upstream, "1", &clock);
        config.data_dir = Some(dir.clone());
        config.webhooks = vec![hook(url.clone())];
        config
    };
    let mut base = start(config()).await;
    for i in 0..20 {
        if i % 5 == 4 {
            base = start(config()).await;
        }
        upstream.set(Behaviour::Balance(if i % 2 == 0 { "0.99" } else { "1.00" }));
        let got = read(&base, "production").await;
        assert_eq!(got.status, 200);
        clock.advance(FLOOR);
    }
    eventually("the warning", || !receiver.kinds().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(upstream.hits(), 20);
    assert_eq!(receiver.kinds(), ["warning"]);
    // Clearly back above (1.10): restored; below again: a new episode, a new warning.
    for balance in ["1.10", "0.99", "1.00"] {
        upstream.set(Behaviour::Balance(balance));
        read(&base, "production").await;
        clock.advance(FLOOR);
    }
    eventually("the next episode", || receiver.kinds().len() == 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.kinds(), ["warning", "restored", "warning"]);
}

/// An upgrade keeps the alert memory: the single `_alerts.json` of earlier versions (the
/// monitor that already warned, a message still waiting) is moved into the account's file and
/// the target's journal at start; the waiting message goes out once, and the same low balance
/// warns no second time.
#[tokio::test]
async fn the_old_memory_file_is_taken_over() {
    let upstream = Upstream::start(Behaviour::Balance("4")).await;
    let (receiver, url) = Receiver::start().await;
    let dir = temp_dir("upgrade");
    let clock = Clock::manual_at(1_800_000_000_000);
    let old_read = 1_800_000_000_000_i64 - 600_000;
    let id = settings_for(&AlertAccount {
        name: "production".into(),
        provider: ProviderId::CaptchaAi,
        threshold: Money::from_cents(500),
        predictive_hours: 24,
    })
    .account_id();
    let old = format!(
        r#"{{"version":1,"accounts":{{"production":{{"account":"{id}","lastGood":{{"balance":"4","at":{old_read}}},"lastRequestAt":{old_read},"alerts":{{"warnedLow":true}}}}}},"outbox":[{{"id":"production-{old_read}-warning","target":"OPS_HOOK","body":"{{\"kind\":\"warning\",\"old\":true}}","at":{old_read}}}]}}"#
    );
    std::fs::write(dir.join("_alerts.json"), &old).expect("write the old memory");
    let mut config = production(&upstream, "5", &clock);
    config.data_dir = Some(dir.clone());
    config.webhooks = vec![hook(url)];
    let base = start(config).await;
    eventually("the waiting message", || receiver.kinds().len() == 1).await;
    read(&base, "production").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.got.lock().expect("lock").clone();
    assert_eq!(got, [r#"{"kind":"warning","old":true}"#]);
    assert!(Path::new(&dir.join("_alerts.json.migrated")).is_file());
    assert!(!dir.join("_alerts.json").exists());
    assert!(dir.join("alerts/production.json").is_file());
}
