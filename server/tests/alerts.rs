//! Alerts outside the browser: `[[webhook]]` targets get exactly one message per event (the
//! core's alerts, the extension's words) across a threshold crossing, a restart and a crash;
//! the accounts and kinds filters; the Slack, Discord and generic bodies; a failing target
//! holds up neither another target nor the balance checks; the watcher checks accounts with
//! no page open; `[[webhook]]` mistakes stop the start in one line without the URL; and the
//! `test-alert` command. Every receiver is a loopback server started here.

mod common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use captchaai_balance::provider::ProviderId;
use captchaai_balance_server::clock::Clock;
use captchaai_balance_server::config::webhook::{parse_webhooks, Format, Kind, Webhook};
use captchaai_balance_server::config::ConfigError;
use captchaai_balance_server::{Config, Mode};
use common::*;
use reqwest::Url;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// The secret part of every receiver's URL: it must never be printed.
const SECRET: &str = "T0SECRET/B0SECRET/xoxbSecretToken123";

/// How a receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// 200, and the body counts as received.
    Ok,
    /// This status; nothing counts as received.
    Status(u16),
    /// Reads the request, never answers.
    Hang,
}

/// A loopback webhook receiver.
#[derive(Clone)]
struct Receiver {
    url: Url,
    reply: Arc<Mutex<Reply>>,
    got: Arc<Mutex<Vec<String>>>,
    attempts: Arc<AtomicUsize>,
}

async fn receive(State(r): State<Receiver>, body: String) -> Response {
    r.attempts.fetch_add(1, Ordering::SeqCst);
    let reply = *r.reply.lock().expect("lock");
    match reply {
        Reply::Ok => {
            r.got.lock().expect("lock").push(body);
            StatusCode::OK.into_response()
        }
        Reply::Status(status) => StatusCode::from_u16(status)
            .expect("status")
            .into_response(),
        Reply::Hang => std::future::pending().await,
    }
}

impl Receiver {
    async fn start(reply: Reply) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let receiver = Receiver {
            url: Url::parse(&format!("http://{addr}/services/{SECRET}")).expect("url"),
            reply: Arc::new(Mutex::new(reply)),
            got: Arc::default(),
            attempts: Arc::default(),
        };
        let router = Router::new()
            .fallback(any(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        receiver
    }

    /// A URL where nothing listens (connection refused).
    async fn refusing() -> Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        Url::parse(&format!("http://{addr}/services/{SECRET}")).expect("url")
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().expect("lock") = reply;
    }

    fn bodies(&self) -> Vec<Value> {
        let got = self.got.lock().expect("lock");
        got.iter()
            .map(|b| serde_json::from_str(b).expect("a JSON body"))
            .collect()
    }

    fn count(&self) -> usize {
        self.got.lock().expect("lock").len()
    }

    /// The `kind` of every generic body received, in order.
    fn kinds(&self) -> Vec<String> {
        self.bodies()
            .iter()
            .map(|b| b["kind"].as_str().expect("kind").to_string())
            .collect()
    }

    fn hook(&self, format: Format, url_env: &str) -> Webhook {
        Webhook {
            format,
            url_env: url_env.into(),
            url: self.url.clone(),
            accounts: None,
            kinds: None,
        }
    }
}

/// Reads account `name` through a page's balance route (one upstream answer when the cache
/// has none).
async fn read(base: &str, name: &str) {
    let got = get(
        base,
        &format!("/accounts/{name}/res.php?action=getbalance&json=1"),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
}

/// Lets the cache and the provider's floor pass (a minute for CaptchaAI).
fn next_minute(clock: &Clock) {
    clock.advance(Duration::from_secs(61));
}

/// Gives the delivery tasks time to send anything they would (wrongly) send.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn one_message_per_event_across_a_threshold_crossing_and_a_restart() {
    let upstream = Upstream::start(Behaviour::Balance("9")).await;
    let receiver = Receiver::start(Reply::Ok).await;
    let dir = temp_dir("crossing");
    let clock = Clock::manual_at(1_800_000_000_000);
    let config = || {
        let mut config = production_config(&upstream, &clock);
        config.data_dir = Some(dir.clone());
        config.webhooks = vec![receiver.hook(Format::Generic, "OPS_HOOK")];
        config
    };
    let base = start(config()).await;

    #[rustfmt::skip]
    let steps: [(&str, &[&str]); 7] = [
        ("9",   &[]),
        ("4",   &["warning"]),
        ("3.9", &["warning"]),
        ("4.2", &["warning"]),
        ("0",   &["warning", "critical"]),
        ("0",   &["warning", "critical"]),
        ("20",  &["warning", "critical", "restored"]),
    ];
    for (balance, kinds) in steps {
        upstream.set(Behaviour::Balance(balance));
        read(&base, "production").await;
        // The same reading again from the cache: never observed twice.
        read(&base, "production").await;
        eventually(&format!("{kinds:?} after {balance}"), || {
            receiver.count() == kinds.len()
        })
        .await;
        settle().await;
        assert_eq!(receiver.kinds(), kinds, "after {balance}");
        next_minute(&clock);
    }
    let bodies = receiver.bodies();
    let warning = &bodies[0];
    assert_eq!(warning["account"], "production");
    assert_eq!(warning["provider"], "captchaai");
    assert_eq!(warning["level"], "low");
    assert_eq!(warning["balance"], "4");
    assert_eq!(warning["threshold"], "5");
    assert!(warning["runwaySeconds"].is_null() || warning["runwaySeconds"].is_i64());
    assert!(warning["at"].is_i64());
    // The extension's words (locales/en/core.json), naming the account.
    assert_eq!(warning["title"], "production: Balance is low");
    assert_eq!(
        warning["message"],
        "Balance $4.0000 is below your threshold of $5.0000. Add funds before jobs start failing."
    );
    assert_eq!(bodies[1]["level"], "empty");
    assert_eq!(bodies[2]["level"], "ok");
    let ids: std::collections::HashSet<_> = bodies.iter().map(|b| b["id"].to_string()).collect();
    assert_eq!(ids.len(), 3, "one id per event");

    // A restart with the same data directory: the memory says "restored" was said, so the
    // same balance says nothing, and a new fall below the threshold is a new event.
    let base = start(config()).await;
    read(&base, "production").await;
    settle().await;
    assert_eq!(receiver.count(), 3, "a restart repeats nothing");
    next_minute(&clock);
    upstream.set(Behaviour::Balance("3"));
    read(&base, "production").await;
    eventually("the new warning", || receiver.count() == 4).await;
    settle().await;
    assert_eq!(receiver.kinds()[3], "warning");
    // Restarted again below the threshold: the warning was given, and is not given twice.
    next_minute(&clock);
    let base = start(config()).await;
    read(&base, "production").await;
    settle().await;
    assert_eq!(receiver.count(), 4, "a restart repeated the warning");
    // The memory on disk: the account's monitor file (written off the request path, so
    // looked for until it is there) and the target's journal. Every upstream answer was
    // observed once, none of the cached ones (each step read twice): the monitor's last
    // request is the last upstream answer's, and the history it decides with (the account's,
    // kept once) has one point per upstream answer (all within the hour it keeps in full).
    let monitor_file = dir.join("alerts/production.json");
    let last_request = || -> Option<i64> {
        let stored = std::fs::read_to_string(&monitor_file).ok()?;
        let memory: Value = serde_json::from_str(&stored).ok()?;
        memory["monitor"]["lastRequestAt"].as_i64()
    };
    eventually("the monitor file of the last reading", || {
        last_request() == Some(clock.epoch_ms())
    })
    .await;
    let history: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("production.json")).expect("the history file"),
    )
    .expect("json");
    assert_eq!(
        history["points"].as_array().expect("points").len(),
        upstream.hits()
    );
    let mut stored = std::fs::read_to_string(&monitor_file).expect("read");
    stored.push_str(&std::fs::read_to_string(dir.join("outbox/OPS_HOOK.jsonl")).expect("journal"));
    assert!(!dir.join("_alerts.json").exists(), "no single memory file");
    assert!(!stored.contains(KEY), "no key in the alert memory");
    assert!(
        !stored.contains(SECRET),
        "no webhook URL in the alert memory"
    );
}

/// A CaptchaAI plan's capacity alerts reach the webhooks once per episode, as the core decides
/// them from the `threadsinfo` half of each check: `threads_saturated` after three readings of
/// every thread busy (re-armed by a free thread), `plan_expired` at 0 threads (re-armed by an
/// active plan). An `ERROR_ZERO_BALANCE` while money remains and every thread is busy is the
/// threads, not an empty account: no `critical`, and the account keeps its balance and level.
#[tokio::test]
async fn a_thread_plan_alerts_saturation_and_expiry_once_per_episode() {
    use captchaai_balance_server::upstream::mock::Scenario;
    let upstream = Upstream::start(Behaviour::Balance("9")).await;
    let receiver = Receiver::start(Reply::Ok).await;
    let clock = Clock::manual_at(1_800_000_000_000);
    let mut config = production_config(&upstream, &clock);
    config.webhooks = vec![receiver.hook(Format::Generic, "OPS_HOOK")];
    let base = start(config).await;

    #[rustfmt::skip]
    let steps: [(Scenario, &[&str]); 9] = [
        (Scenario::Ok,        &[]),
        (Scenario::Saturated, &[]),
        (Scenario::Saturated, &[]),
        (Scenario::Saturated, &["threads_saturated"]),
        (Scenario::Saturated, &["threads_saturated"]),
        (Scenario::Ok,        &["threads_saturated"]),
        (Scenario::Expired,   &["threads_saturated", "plan_expired"]),
        (Scenario::Expired,   &["threads_saturated", "plan_expired"]),
        (Scenario::Ok,        &["threads_saturated", "plan_expired"]),
    ];
    for (i, (plan, kinds)) in steps.into_iter().enumerate() {
        upstream.set_plan(plan);
        read(&base, "production").await;
        read(&base, "production").await;
        eventually(&format!("{kinds:?} at step {i}"), || {
            receiver.count() == kinds.len()
        })
        .await;
        settle().await;
        assert_eq!(receiver.kinds(), kinds, "step {i} ({plan:?})");
        next_minute(&clock);
    }
    assert_eq!(
        upstream.threads_hits(),
        steps.len(),
        "one threadsinfo per check"
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies[0]["title"], "production: All threads busy");
    assert!(
        bodies[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Every one of the plan's 10 threads has been busy")),
        "{}",
        bodies[0]
    );
    assert_eq!(bodies[1]["title"], "production: No active plan");
    assert_eq!(bodies[1]["balance"], "9", "the money is untouched");

    // "No money" while $9 remains and every thread is busy: the threads, not the money.
    upstream.set_plan(Scenario::Saturated);
    upstream.set(Behaviour::Raw(
        200,
        "application/json",
        r#"{"status":0,"request":"ERROR_ZERO_BALANCE"}"#,
    ));
    upstream.set_threads(Behaviour::Balance("9"));
    read(&base, "production").await;
    settle().await;
    assert_eq!(
        receiver.kinds(),
        ["threads_saturated", "plan_expired"],
        "no critical"
    );
    let account = get(&base, "/v1/accounts/production").await.json();
    assert_eq!(
        (
            &account["balance"],
            &account["level"],
            &account["error"]["code"],
            &account["diagnosis"],
            &account["threadsText"]
        ),
        (
            &Value::from("9"),
            &Value::from("ok"),
            &Value::from("zero_balance"),
            &Value::from("all_threads_busy"),
            &Value::from("All 10 threads busy")
        )
    );
    let metrics = get(&base, "/metrics").await.body;
    let labels = r#"{account="production",provider="captchaai"}"#;
    assert_metrics(
        &metrics,
        &[
            (&format!("captcha_balance_usd{labels}"), "9.0"),
            (&format!("captcha_threads{labels}"), "10"),
            (&format!("captcha_threads_working{labels}"), "10"),
        ],
    );
}

#[tokio::test]
async fn targets_take_only_their_accounts_and_kinds_in_their_format() {
    let upstream_a = Upstream::start(Behaviour::Balance("4")).await;
    let upstream_b = Upstream::start(Behaviour::Balance("0")).await;
    let generic = Receiver::start(Reply::Ok).await;
    let slack = Receiver::start(Reply::Ok).await;
    let discord = Receiver::start(Reply::Ok).await;
    let mut config = accounts_config(vec![
        account_config("a", ProviderId::CaptchaAi, KEY, "5", &upstream_a),
        account_config("b", ProviderId::CaptchaAi, KEY2, "5", &upstream_b),
    ]);
    config.webhooks = vec![
        Webhook {
            accounts: Some(vec!["a".into()]),
            ..generic.hook(Format::Generic, "A_ONLY")
        },
        Webhook {
            kinds: Some(vec![Kind::Critical]),
            ..slack.hook(Format::Slack, "CRITICAL_ONLY")
        },
        discord.hook(Format::Discord, "EVERYTHING"),
    ];
    let base = start(config).await;
    read(&base, "a").await; // warning
    read(&base, "b").await; // critical
    eventually("the messages", || {
        generic.count() == 1 && slack.count() == 1 && discord.count() == 2
    })
    .await;
    settle().await;

    let only_a = generic.bodies();
    assert_eq!(
        (only_a.len(), &only_a[0]["account"], &only_a[0]["kind"]),
        (1, &Value::from("a"), &Value::from("warning"))
    );
    let critical = slack.bodies();
    assert_eq!(critical.len(), 1);
    let text = critical[0]["text"].as_str().expect("slack's text");
    assert!(text.starts_with("b: Balance is empty\n"), "{text}");
    assert_eq!(
        critical[0].as_object().expect("object").len(),
        1,
        "slack gets text only"
    );
    let all: Vec<String> = discord
        .bodies()
        .iter()
        .map(|b| {
            b["content"]
                .as_str()
                .expect("discord's content")
                .to_string()
        })
        .collect();
    all.iter()
        .for_each(|c| assert!(!c.contains("{{") && !c.contains("$1"), "{c}"));
    let mut titles: Vec<&str> = all.iter().map(|c| c.lines().next().unwrap_or("")).collect();
    titles.sort_unstable();
    assert_eq!(titles, ["a: Balance is low", "b: Balance is empty"]);
}

#[tokio::test]
async fn a_failing_target_delays_neither_another_target_nor_the_checks() {
    let upstream = Upstream::start(Behaviour::Balance("4")).await;
    let hanging = Receiver::start(Reply::Hang).await;
    let failing = Receiver::start(Reply::Status(500)).await;
    let working = Receiver::start(Reply::Ok).await;
    let clock = Clock::manual_at(1_800_000_000_000);
    let mut config = production_config(&upstream, &clock);
    config.upstream_timeout = Duration::from_secs(30);
    config.webhooks = vec![
        Webhook {
            url: Receiver::refusing().await,
            ..working.hook(Format::Generic, "REFUSED")
        },
        hanging.hook(Format::Generic, "HANGING"),
        failing.hook(Format::Generic, "FAILING"),
        working.hook(Format::Generic, "WORKING"),
    ];
    let base = start(config).await;

    read(&base, "production").await;
    eventually("the working target's warning", || working.count() == 1).await;
    eventually("the hanging target's attempt", || {
        hanging.attempts.load(Ordering::SeqCst) == 1
    })
    .await;
    eventually("the failing target's attempt", || {
        failing.attempts.load(Ordering::SeqCst) == 1
    })
    .await;

    // The checks go on while one target hangs and two fail: the next event reaches the
    // working target at once.
    next_minute(&clock);
    upstream.set(Behaviour::Balance("0"));
    let started = std::time::Instant::now();
    read(&base, "production").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the check waited for a target"
    );
    eventually("the working target's critical", || working.count() == 2).await;
    assert_eq!(working.kinds(), ["warning", "critical"]);

    let metrics = get(&base, "/metrics").await.body;
    assert_metrics(
        &metrics,
        &[
            (
                "captcha_balance_webhook_deliveries_total{target=\"WORKING\",result=\"delivered\"}",
                "2",
            ),
            ("captcha_balance_webhook_pending{target=\"WORKING\"}", "0"),
            ("captcha_balance_webhook_pending{target=\"HANGING\"}", "2"),
            ("captcha_balance_webhook_pending{target=\"FAILING\"}", "2"),
            ("captcha_balance_webhook_pending{target=\"REFUSED\"}", "2"),
            (
                "captcha_balance_webhook_deliveries_total{target=\"FAILING\",result=\"failed\"}",
                "1",
            ),
            (
                "captcha_balance_webhook_deliveries_total{target=\"REFUSED\",result=\"failed\"}",
                "1",
            ),
            (
                "captcha_balance_webhook_deliveries_total{target=\"FAILING\",result=\"gave_up\"}",
                "0",
            ),
        ],
    );
    assert!(
        !metrics.contains(SECRET) && !metrics.contains("/services/"),
        "no URL in /metrics"
    );

    // The failing target recovers: its first retry (5 s later) delivers both, in order.
    failing.set(Reply::Ok);
    for _ in 0..1000 {
        if failing.count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(failing.kinds(), ["warning", "critical"]);
}

#[tokio::test]
async fn the_watcher_checks_every_account_without_a_page() {
    let upstream = Upstream::start(Behaviour::Balance("4")).await;
    let receiver = Receiver::start(Reply::Ok).await;
    let clock = Clock::manual_at(1_800_000_000_000);
    let mut config = production_config(&upstream, &clock);
    config.watch = true;
    config.webhooks = vec![receiver.hook(Format::Generic, "OPS_HOOK")];
    let _base = start(config).await;

    // No page asks: the watcher reads the account at start, and its warning goes out.
    eventually("the first check", || upstream.hits() == 1).await;
    eventually("the warning", || receiver.count() == 1).await;
    // Not again before the core's schedule allows (the politeness floor at least).
    clock.advance(Duration::from_secs(30));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(upstream.hits(), 1, "checked before the floor");
    // Once due (the core's interval, at most 10 minutes), it checks again by itself.
    clock.advance(Duration::from_secs(600));
    upstream.set(Behaviour::Balance("0"));
    eventually("the second check", || upstream.hits() == 2).await;
    eventually("the critical alert", || receiver.count() == 2).await;
    assert_eq!(receiver.kinds(), ["warning", "critical"]);
}

fn webhook_env(name: &str) -> Option<String> {
    match name {
        "HOOK_URL" => Some(format!("https://hooks.example.com/services/{SECRET}")),
        "NOT_A_URL" => Some(format!("hooks.example.com/{SECRET}")),
        "FTP_URL" => Some(format!("ftp://hooks.example.com/{SECRET}")),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Vec<Webhook>, ConfigError> {
    parse_webhooks(
        "accounts.toml",
        text,
        &webhook_env,
        &["production", "staging"],
    )
}

/// A mistake serde finds in the table's shape names the line toml saw it on; one found in the
/// values (a variable, a URL, an account name) is worded by the server. Either way: the file, the
/// webhook, the field, and the URL never.
#[test]
fn every_webhook_mistake_names_the_file_the_webhook_and_the_field() {
    let hook = |body: &str| format!("[[webhook]]\n{body}\n");
    let ok = "format = \"slack\"\nurl_env = \"HOOK_URL\"";
    // Each error starts with the file and holds these fragments, in this order.
    #[rustfmt::skip]
    let cases: Vec<(String, &[&str])> = vec![
        ("webhook = 1".into(),                                      &["line 1: webhook: ", "[[webhook]] tables"]),
        ("webhook = [1]".into(),                                    &["line 1: webhook #1: ", "expected a [[webhook]] table"]),
        (hook("url_env = \"HOOK_URL\""),                            &["line 1: webhook #1: format: missing"]),
        (hook("format = \"teams\"\nurl_env = \"HOOK_URL\""),        &["line 2: webhook #1: format: unknown variant `teams`", "`slack`", "`discord`", "`generic`"]),
        (hook("format = 1\nurl_env = \"HOOK_URL\""),                &["line 2: webhook #1: format: "]),
        (hook("format = \"slack\""),                                &["line 1: webhook #1: url_env: missing"]),
        (hook("format = \"slack\"\nurl_env = 5"),                    &["line 3: webhook #1: url_env: invalid type: integer `5`, expected a string"]),
        (hook("format = \"slack\"\nurl_env = \"MISSING\""),         &["webhook #1: url_env: MISSING is not set"]),
        (hook("format = \"slack\"\nurl_env = \"EMPTY\""),           &["webhook #1: url_env: EMPTY is not set"]),
        (hook("format = \"slack\"\nurl_env = \"NOT_A_URL\""),       &["webhook #1: url_env: NOT_A_URL does not hold an http(s) URL"]),
        (hook("format = \"slack\"\nurl_env = \"FTP_URL\""),         &["webhook #1: url_env: FTP_URL does not hold an http(s) URL"]),
        (hook("format = \"slack\"\nurl_env = \"a-b\""),             &["webhook #1: url_env: \"a-b\" is not an environment variable name"]),
        (hook(&format!("{ok}\nurl = \"https://x\"")),               &["line 4: webhook #1: url: unknown field `url`", "`format`, `url_env`, `accounts`, `kinds`", "; the URL is a secret"]),
        (hook(&format!("{ok}\naccounts = [\"prod\"]")),             &["webhook #1: accounts: \"prod\" is not an account of this file (accounts: production, staging)"]),
        (hook(&format!("{ok}\naccounts = []")),                     &["webhook #1: accounts: must be a non-empty list of strings"]),
        (hook(&format!("{ok}\naccounts = [1]")),                    &["line 4: webhook #1: accounts: invalid type: integer `1`, expected a string"]),
        (hook(&format!("{ok}\nkinds = [\"low\"]")),                 &["line 4: webhook #1: kinds: unknown variant `low`", "`critical`, `warning`, `restored`, `predictive`, `spike`, `key_rejected`"]),
        (hook(&format!("{ok}\nkinds = []")),                        &["webhook #1: kinds: must be a non-empty list of strings"]),
        (hook(&format!("{ok}\nkinds = \"critical\"")),              &["line 4: webhook #1: kinds: invalid type: string \"critical\", expected a sequence"]),
        (format!("{}{}", hook(ok), hook(ok)),                       &["webhook #2: url_env: HOOK_URL is used by an earlier webhook"]),
        (format!("{}{}", hook(ok), hook("format = \"generic\"")),   &["line 4: webhook #2: url_env: missing"]),
    ];
    for (text, fragments) in cases {
        let error = parse(&text).expect_err(&text).0;
        assert!(
            in_order(&error, "accounts.toml: ", fragments),
            "{text:?}\n  gave {error:?}\n  want {fragments:?}"
        );
        assert!(!error.contains('\n'), "one line: {error:?}");
        assert!(
            !error.contains(SECRET) && !error.contains("hooks.example.com"),
            "no URL: {error:?}"
        );
    }
}

/// True when `text` starts with `prefix` and holds `fragments` after it, in order.
fn in_order(text: &str, prefix: &str, fragments: &[&str]) -> bool {
    let Some(mut rest) = text.strip_prefix(prefix) else {
        return false;
    };
    for (i, fragment) in fragments.iter().enumerate() {
        // The first fragment follows the prefix at once.
        match rest.find(fragment) {
            Some(at) if i > 0 || at == 0 => rest = &rest[at + fragment.len()..],
            _ => return false,
        }
    }
    true
}

#[test]
fn a_good_webhook_table_gives_its_target() {
    let hooks = parse(
        "[[webhook]]\nformat = \"generic\"\nurl_env = \"HOOK_URL\"\naccounts = [\"production\"]\nkinds = [\"critical\", \"key_rejected\"]\n",
    )
    .expect("good");
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(hook.format, Format::Generic);
    assert!(hook.wants("production", Kind::KeyRejected));
    assert!(!hook.wants("production", Kind::Warning));
    assert!(!hook.wants("staging", Kind::Critical));
    assert_eq!(hook.shown(), "HOOK_URL (https://hooks.example.com)");
    assert!(!format!("{hook:?}").contains(SECRET), "Debug shows no URL");
    assert!(parse("").expect("no webhook").is_empty());
}

// ---- The real binary ----

/// One CaptchaAI account, `production`, threshold 5, read from `upstream`, on `clock`.
fn production_config(upstream: &Upstream, clock: &Clock) -> Config {
    let mut config = accounts_config(vec![account_config(
        "production",
        ProviderId::CaptchaAi,
        KEY,
        "5",
        upstream,
    )]);
    config.clock = clock.clone();
    config
}

fn accounts_file(dir: &Path, upstream: &Upstream, webhooks: &str) -> String {
    let path = dir.join("accounts.toml");
    let text = format!(
        "[[account]]\nname = \"production\"\nprovider = \"captchaai\"\nkey_env = \"PROD_KEY\"\nthreshold = \"5\"\nendpoint = \"{}\"\n\n{webhooks}",
        upstream.url
    );
    std::fs::write(&path, text).expect("write the config");
    path.to_str().expect("utf-8").to_string()
}

/// Every byte the server printed is free of the key and of the webhook URL (the banner may show
/// the variable's name and the URL's scheme and host).
fn assert_no_secret(output: &str, receiver: &Receiver) {
    assert!(!output.contains(KEY), "the key was printed:\n{output}");
    assert!(
        !output.contains(SECRET),
        "the webhook URL's secret was printed:\n{output}"
    );
    assert!(
        !output.contains(receiver.url.as_str()),
        "the webhook URL was printed:\n{output}"
    );
    assert!(
        !output.contains("/services/"),
        "the webhook URL's path was printed:\n{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_a_send_delivers_once_and_a_restart_sends_nothing_again() {
    let upstream = Upstream::start(Behaviour::Balance("4")).await;
    let receiver = Receiver::start(Reply::Hang).await;
    let dir = temp_dir("crash");
    let config = accounts_file(
        &dir,
        &upstream,
        "[[webhook]]\nformat = \"generic\"\nurl_env = \"OPS_HOOK_URL\"\n",
    );
    let data = dir.join("data");
    let data = data.to_str().expect("utf-8");
    let url = receiver.url.to_string();
    let env = [("PROD_KEY", KEY), ("OPS_HOOK_URL", url.as_str())];
    let args = [
        "--config",
        config.as_str(),
        "--data-dir",
        data,
        "--upstream-timeout-seconds",
        "60",
    ];

    // The watcher reads 4 < 5 at start: a warning, decided, stored, and its send in flight.
    let server = Server::start_with_env(&env, &args);
    eventually("the send in flight", || {
        receiver.attempts.load(Ordering::SeqCst) == 1
    })
    .await;
    let mut output = server.kill_output();
    assert_eq!(receiver.count(), 0);

    // Restarted with the receiver answering: the pending message goes out, once.
    receiver.set(Reply::Ok);
    let server = Server::start_with_env(&env, &args);
    eventually("the pending warning", || receiver.count() == 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    output.push_str(&server.kill_output());
    assert_eq!(receiver.kinds(), ["warning"]);
    assert_eq!(
        upstream.hits(),
        1,
        "the restart kept the schedule (the politeness floor)"
    );

    // Delivered and restarted again: nothing is sent twice.
    let server = Server::start_with_env(&env, &args);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let metrics = get(&server.base, "/metrics").await.body;
    output.push_str(&server.kill_output());
    assert_eq!(
        receiver.count(),
        1,
        "a restart after delivery sent it again"
    );
    assert_metrics(
        &metrics,
        &[(
            "captcha_balance_webhook_pending{target=\"OPS_HOOK_URL\"}",
            "0",
        )],
    );
    assert!(
        output.contains("alerts: to OPS_HOOK_URL (http://127.0.0.1)"),
        "{output}"
    );
    assert_no_secret(&output, &receiver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_mode_watches_its_accounts_and_keeps_no_alert_memory_without_a_data_dir() {
    let server = Server::start_with_env(&[], &[]);
    let mut checked = false;
    for _ in 0..500 {
        let metrics = get(&server.base, "/metrics").await.body;
        checked = metrics
            .lines()
            .filter(|l| l.starts_with("captcha_balance_upstream_requests_total{"))
            .all(|l| !l.ends_with(" 0"));
        if checked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output = server.kill_output();
    assert!(
        checked,
        "every simulated account is read without a page asking"
    );
    assert!(output.contains("alert memory: in memory only"), "{output}");
}

/// `test-alert` with these targets; returns (exit code, stdout, stderr).
fn test_alert(env: &[(&str, &str)], config: &str) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(["test-alert", "--config", config])
        .env_remove("CAPTCHAAI_API_KEY")
        .env("RUST_LOG", "trace")
        .envs(env.iter().copied())
        .output()
        .expect("run test-alert");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "a webhook URL was printed:\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "the key was printed"
    );
    (out.status.code(), stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_alert_sends_one_marked_message_per_target_and_says_how_it_went() {
    let upstream = Upstream::start(Behaviour::Balance("9")).await;
    let slack = Receiver::start(Reply::Ok).await;
    let generic = Receiver::start(Reply::Ok).await;
    let broken = Receiver::start(Reply::Status(500)).await;
    let dir = temp_dir("test-alert");
    let two = "[[webhook]]\nformat = \"slack\"\nurl_env = \"SLACK_URL\"\n\n[[webhook]]\nformat = \"generic\"\nurl_env = \"GENERIC_URL\"\naccounts = [\"production\"]\n";
    let config = accounts_file(&dir, &upstream, two);
    let (slack_url, generic_url, broken_url) = (
        slack.url.to_string(),
        generic.url.to_string(),
        broken.url.to_string(),
    );
    let env = [
        ("PROD_KEY", KEY),
        ("SLACK_URL", slack_url.as_str()),
        ("GENERIC_URL", generic_url.as_str()),
    ];

    let (code, output, log) = test_alert(&env, &config);
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(output, "SLACK_URL: ok\nGENERIC_URL: ok\n");
    assert_no_secret(&output, &slack);
    assert_no_secret(&log, &generic);
    assert_eq!(
        slack.bodies(),
        [
            serde_json::json!({"text": "Test alert from captchaai-balance: if you can read this, alerts about production arrive here."})
        ]
    );
    let test = &generic.bodies()[0];
    assert_eq!(test["kind"], "test");
    assert!(test["message"]
        .as_str()
        .expect("message")
        .starts_with("Test alert from captchaai-balance: "));
    assert_eq!(upstream.hits(), 0, "test-alert reads no balance");

    // One target answers 500: its line says so, without the URL, and the exit code is 1.
    let env = [
        ("PROD_KEY", KEY),
        ("SLACK_URL", slack_url.as_str()),
        ("GENERIC_URL", broken_url.as_str()),
    ];
    let (code, output, _) = test_alert(&env, &config);
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(output, "SLACK_URL: ok\nGENERIC_URL: failed: HTTP 500\n");
    let refused = Receiver::refusing().await.to_string();
    let env = [
        ("PROD_KEY", KEY),
        ("SLACK_URL", slack_url.as_str()),
        ("GENERIC_URL", refused.as_str()),
    ];
    let (code, output, _) = test_alert(&env, &config);
    assert_eq!(code, Some(1), "{output}");
    assert_eq!(
        output,
        "SLACK_URL: ok\nGENERIC_URL: failed: cannot connect\n"
    );

    // A config error: 2, one line naming the file, the webhook and the field.
    let env = [("PROD_KEY", KEY), ("SLACK_URL", slack_url.as_str())];
    let (code, _, output) = test_alert(&env, &config);
    assert_eq!(code, Some(2), "{output}");
    assert_eq!(output, format!("error: {config}: webhook #2: url_env: GENERIC_URL is not set; put the webhook URL in it\n"));
    // No target at all: nothing to test is a config error too.
    let none = accounts_file(&dir, &upstream, "");
    let (code, _, output) = test_alert(&[("PROD_KEY", KEY)], &none);
    assert_eq!(code, Some(2), "{output}");
    assert_eq!(output.lines().count(), 1, "{output}");
    assert_eq!(slack.count(), 3, "one test message per run");
}

/// `predictive_hours` reaches the core's predictive alert: the same drain (4 an hour, about
/// 36 h of money left) warns the account that looks 48 h ahead and not the one with the
/// default 24 h.
#[tokio::test]
async fn the_predictive_horizon_is_the_accounts_own() {
    let ahead = Upstream::start(Behaviour::Balance("150")).await;
    let default = Upstream::start(Behaviour::Balance("150")).await;
    let receiver = Receiver::start(Reply::Ok).await;
    let clock = Clock::manual_at(1_800_000_000_000);
    let mut config = accounts_config(vec![
        account_config("ahead", ProviderId::CaptchaAi, KEY, "5", &ahead),
        account_config("default", ProviderId::CaptchaAi, KEY2, "5", &default),
    ]);
    if let Mode::Proxy(accounts) = &mut config.mode {
        accounts[0].predictive_hours = 48;
    }
    config.clock = clock.clone();
    config.webhooks = vec![receiver.hook(Format::Generic, "OPS_HOOK")];
    let base = start(config).await;
    // A reading every 15 minutes for an hour and a quarter: enough history for a rate.
    for balance in ["150", "149", "148", "147", "146", "145"] {
        ahead.set(Behaviour::Balance(balance));
        default.set(Behaviour::Balance(balance));
        read(&base, "ahead").await;
        read(&base, "default").await;
        clock.advance(Duration::from_secs(15 * 60));
    }
    eventually("the predictive alert", || receiver.count() == 1).await;
    settle().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["account"], "ahead");
    assert_eq!(bodies[0]["kind"], "predictive");
}

/// A rejected key pauses the core's schedule; the watcher still reads the account once an hour
/// and once at every start, so a key fixed at the provider, or a restart with the corrected
/// variable, brings the account back without a page asking. The rejection reaches the webhook
/// once (`key_rejected`), the hourly retries repeat nothing.
#[tokio::test]
async fn a_rejected_key_is_tried_again_hourly_and_at_start() {
    let rejected = Behaviour::Raw(
        200,
        "application/json",
        r#"{"status":0,"request":"ERROR_WRONG_USER_KEY"}"#,
    );
    let upstream = Upstream::start(rejected.clone()).await;
    let receiver = Receiver::start(Reply::Ok).await;
    let dir = temp_dir("paused");
    let clock = Clock::manual_at(1_800_000_000_000);
    let config = || {
        let mut config = production_config(&upstream, &clock);
        config.watch = true;
        config.data_dir = Some(dir.clone());
        config.webhooks = vec![receiver.hook(Format::Generic, "OPS_HOOK")];
        config
    };
    let _first = start(config()).await;
    eventually("the first check", || upstream.hits() == 1).await;
    eventually("the key alert", || receiver.count() == 1).await;
    assert_eq!(receiver.kinds(), ["key_rejected"]);
    // Paused: not the normal schedule, not after ten minutes.
    clock.advance(Duration::from_secs(600));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        upstream.hits(),
        1,
        "a rejected key was asked on the normal schedule"
    );
    // An hour after the last try: once more, still rejected, nothing sent again.
    clock.advance(Duration::from_secs(3000));
    eventually("the hourly retry", || upstream.hits() == 2).await;
    settle().await;
    assert_eq!(receiver.count(), 1, "the retry repeated the key alert");

    // The key is corrected and the server restarted on the same data directory (its memory
    // holds the pause): read at once, and the account is watched again.
    upstream.set(Behaviour::Balance("20"));
    clock.advance(Duration::from_secs(61));
    let base = start(config()).await;
    eventually("the check at start", || upstream.hits() == 3).await;
    let got = get(&base, "/v1/accounts/production").await;
    assert_eq!(got.json()["balance"], "20", "{}", got.body);
    clock.advance(Duration::from_secs(600));
    eventually("the normal schedule again", || upstream.hits() >= 4).await;
}
