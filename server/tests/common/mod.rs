//! Shared test helpers: a loopback upstream that counts its hits and can misbehave on demand,
//! and a way to start the server app on 127.0.0.1:0.
//!
//! The upstream is not a second simulation of the API: its well-behaved answers come from the
//! mock account of mock mode (`captchaai_balance_server::upstream::mock`); it only adds what no API sends
//! (hostile or broken answers, a hang) and bookkeeping (hits, queries, a gate).
//!
//! Nothing here touches the network beyond 127.0.0.1.
#![allow(dead_code)] // each test file uses a different part of this module

pub mod process;
#[allow(unused_imports)] // as dead_code above
pub use process::{
    closed_within, http_get, is_fifo, mkfifo, run_until_exit, temp_dir, Server, BIN,
};

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use captchaai_balance::money::Money;
use captchaai_balance::provider::Family;
use captchaai_balance_server::clock::Clock;
use captchaai_balance_server::http::serve::{serve, Limits};
use captchaai_balance_server::secret::ApiKey;
use captchaai_balance_server::upstream::mock::{
    MockAccount, Scenario, ScenarioChange, DEFAULT_PRESET, PLAN_THREADS,
};
use captchaai_balance_server::{app, Config};
use reqwest::Url;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The busy threads of the stand-in's plan (of ten) while it is in scenario `ok`.
pub const PLAN_BUSY: u32 = 3;

/// The server's key in every test. It must never appear in a response or a log line.
pub const KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
/// Its masked form.
pub const KEY_MASKED: &str = "a1b2…8f90";
/// A second account's key (also never shown).
pub const KEY2: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
/// A key a client puts in its own query (must be ignored, never forwarded nor logged).
pub const CLIENT_KEY: &str = "ffffeeeeddddccccbbbbaaaa99998888";

/// How the upstream answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// The mock account in scenario `ok` with this balance (not draining).
    Balance(&'static str),
    /// Any status, content type and body.
    Raw(u16, &'static str, &'static str),
    /// The same with a body built at run time.
    Owned(u16, &'static str, String),
    /// Never answers (for timeouts).
    Hang,
}

/// A loopback stand-in for `https://ocr.captchaai.com` (or, started with
/// [`Upstream::start_family`], for a createTask-family API such as Anti-Captcha's).
///
/// A 2captcha-family stand-in also answers CaptchaAI's `threadsinfo` (`POST /res.php` with the
/// form `action=threadsinfo`): its mock account has a 10-thread plan. Those requests are
/// counted and listed apart ([`Upstream::threads_hits`], [`Upstream::threads_bodies`]), are never
/// held by the gate, and answer as [`Upstream::set_threads`] says, else as the balance does
/// (the plan's counts for [`Behaviour::Balance`]: 3 of 10 threads busy, [`PLAN_BUSY`]).
#[derive(Clone)]
pub struct Upstream {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: Url,
    hits: Arc<AtomicUsize>,
    threads_hits: Arc<AtomicUsize>,
    threads_bodies: Arc<Mutex<Vec<String>>>,
    threads_behaviour: Arc<Mutex<Option<Behaviour>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    account: Arc<MockAccount>,
    queries: Arc<Mutex<Vec<String>>>,
    bodies: Arc<Mutex<Vec<String>>>,
    gate: Arc<Mutex<Option<Arc<Semaphore>>>>,
    peers: Arc<Mutex<HashSet<SocketAddr>>>,
}

impl Upstream {
    /// Starts a 2captcha-family stand-in on 127.0.0.1:0.
    pub async fn start(behaviour: Behaviour) -> Upstream {
        Upstream::start_family(Family::TwoCaptcha, behaviour).await
    }

    /// Starts a stand-in whose well-formed answers are `family`'s protocol.
    pub async fn start_family(family: Family, behaviour: Behaviour) -> Upstream {
        let upstream = Upstream {
            url: Url::parse("http://127.0.0.1/").expect("url"),
            hits: Arc::default(),
            threads_hits: Arc::default(),
            threads_bodies: Arc::default(),
            threads_behaviour: Arc::default(),
            behaviour: Arc::new(Mutex::new(Behaviour::Hang)),
            account: Arc::new({
                // A fixed time: the plan's busy threads are the same in every run (3 of 10).
                let clock = Clock::manual_at(1_800_000_000_000);
                let account = MockAccount::with(clock, family, DEFAULT_PRESET);
                match family {
                    Family::TwoCaptcha => account.with_plan(PLAN_THREADS),
                    Family::CreateTask => account,
                }
            }),
            queries: Arc::default(),
            bodies: Arc::default(),
            gate: Arc::default(),
            peers: Arc::default(),
        };
        let router = Router::new()
            .fallback(any(answer))
            .with_state(upstream.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("upstream serve")
        });
        let upstream = Upstream {
            url: Url::parse(&format!("http://{addr}")).expect("url"),
            ..upstream
        };
        upstream.set(behaviour);
        upstream
    }

    /// Balance requests received so far (`threadsinfo` ones are counted apart).
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `threadsinfo` requests received so far.
    pub fn threads_hits(&self) -> usize {
        self.threads_hits.load(Ordering::SeqCst)
    }

    /// Method, path, content type and body of every `threadsinfo` request.
    pub fn threads_bodies(&self) -> Vec<String> {
        self.threads_bodies.lock().expect("lock").clone()
    }

    /// How `threadsinfo` answers from now on (`Behaviour::Balance` sets the plan's scenario:
    /// see [`Upstream::set_plan`]).
    pub fn set_threads(&self, behaviour: Behaviour) {
        *self.threads_behaviour.lock().expect("lock") = Some(behaviour);
    }

    /// Puts the mock account's plan in `scenario` (`saturated`, `expired`, `ok`) for
    /// `threadsinfo`, the balance unchanged.
    pub fn set_plan(&self, scenario: Scenario) {
        let balance = self.account.snapshot().balance;
        self.account.set_scenario(ScenarioChange {
            scenario,
            balance: Some(Money::parse(&balance).expect("balance")),
            drain_per_minute: Some(Money::ZERO),
            delay: None,
        });
        *self.threads_behaviour.lock().expect("lock") = None;
    }

    /// Path and query of every request received.
    pub fn queries(&self) -> Vec<String> {
        self.queries.lock().expect("lock").clone()
    }

    /// Method, path and body of every request received (createTask requests carry the key in
    /// the body).
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().expect("lock").clone()
    }

    /// The connections its requests came on (each client address once).
    pub fn connections(&self) -> usize {
        self.peers.lock().expect("lock").len()
    }

    /// Changes how it answers.
    pub fn set(&self, behaviour: Behaviour) {
        if let Behaviour::Balance(balance) = behaviour {
            self.account.set_scenario(ScenarioChange {
                scenario: Scenario::Ok,
                balance: Some(Money::parse(balance).expect("a test balance")),
                drain_per_minute: Some(Money::ZERO),
                delay: None,
            });
        }
        *self.behaviour.lock().expect("lock") = behaviour;
    }

    /// Holds every answer until the returned semaphore gets a permit.
    pub fn close_gate(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.gate.lock().expect("lock") = Some(Arc::clone(&gate));
        gate
    }
}

async fn answer(
    State(up): State<Upstream>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    up.peers.lock().expect("lock").insert(peer);
    let threads = method == axum::http::Method::POST
        && form_urlencoded::parse(body.as_bytes())
            .any(|(n, v)| n == "action" && v == "threadsinfo");
    if threads {
        up.threads_hits.fetch_add(1, Ordering::SeqCst);
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        up.threads_bodies
            .lock()
            .expect("lock")
            .push(format!("{method} {} {content_type} {body}", uri.path()));
        let behaviour = up.threads_behaviour.lock().expect("lock").clone();
        let behaviour = behaviour.unwrap_or_else(|| up.behaviour.lock().expect("lock").clone());
        return match behaviour {
            Behaviour::Balance(_) => {
                let reply = up.account.threads_answer();
                tokio::time::sleep(reply.delay).await;
                respond(reply.status, reply.content_type, reply.body)
            }
            Behaviour::Raw(status, content_type, body) => {
                respond(status, content_type, body.to_string())
            }
            Behaviour::Owned(status, content_type, body) => respond(status, content_type, body),
            Behaviour::Hang => std::future::pending().await,
        };
    }
    up.hits.fetch_add(1, Ordering::SeqCst);
    up.queries
        .lock()
        .expect("lock")
        .push(format!("{}?{}", uri.path(), query.unwrap_or_default()));
    up.bodies
        .lock()
        .expect("lock")
        .push(format!("{method} {} {body}", uri.path()));
    let gate = up.gate.lock().expect("lock").clone();
    if let Some(gate) = gate {
        // Permits are never given back, so each one lets exactly one answer through.
        gate.acquire().await.expect("gate").forget();
    }
    let behaviour = up.behaviour.lock().expect("lock").clone();
    let raw = respond;
    match behaviour {
        Behaviour::Balance(_) => {
            let reply = up.account.answer();
            tokio::time::sleep(reply.delay).await;
            raw(reply.status, reply.content_type, reply.body)
        }
        Behaviour::Raw(status, content_type, body) => raw(status, content_type, body.to_string()),
        Behaviour::Owned(status, content_type, body) => raw(status, content_type, body),
        Behaviour::Hang => std::future::pending().await,
    }
}

fn respond(status: u16, content_type: &'static str, body: String) -> Response {
    (
        StatusCode::from_u16(status).expect("status"),
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

/// Proxy mode against `upstream` with a short timeout and a manual clock.
pub fn proxy_config(upstream: &Upstream) -> Config {
    let mut config = Config::proxy(ApiKey::new(KEY).expect("key"), upstream.url.clone());
    config.upstream_timeout = Duration::from_millis(500);
    config.clock = Clock::manual();
    config
}

/// Points the default account of a proxy-mode config at `url`.
pub fn set_endpoint(config: &mut Config, url: &str) {
    if let captchaai_balance_server::Mode::Proxy(accounts) = &mut config.mode {
        accounts[0].endpoint = Url::parse(url).expect("url");
    }
}

/// Mock mode with a manual clock.
pub fn mock_config() -> Config {
    let mut config = Config::mock(PathBuf::from("/nonexistent-static-dir"));
    config.clock = Clock::manual();
    config
}

/// Serves the app on 127.0.0.1:0 (through the binary's accept loop) and returns its base URL.
pub async fn start(config: Config) -> String {
    let router = app(config).expect("app");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(
        listener,
        router,
        Limits::default(),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

thread_local! {
    // Building a client loads the TLS roots (~0.1 s in debug builds), so each test thread
    // keeps one. Per thread, not global: a client's pooled connections belong to the runtime of
    // the test that made them.
    static CLIENT: reqwest::Client = reqwest::Client::builder().no_proxy().build().expect("client");
}

/// A client that never goes through a proxy.
pub fn client() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}

/// One response, fully read.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Got {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Every header and the body, as one text (for "the key is not in there" checks).
    pub fn everything(&self) -> String {
        let mut text = format!("{}\n", self.status);
        for (name, value) in &self.headers {
            text.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        text.push_str(&self.body);
        text
    }
}

/// GET `base` + `path`.
pub async fn get(base: &str, path: &str) -> Got {
    send(client().get(format!("{base}{path}"))).await
}

/// POST a body as JSON (what the mock control API asks for).
pub async fn post(base: &str, path: &str, body: &str) -> Got {
    send(
        client()
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// Sends and reads a request.
pub async fn send(request: reqwest::RequestBuilder) -> Got {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    Got {
        status,
        headers,
        body,
    }
}

/// CaptchaAI's politeness floor: a real upstream is asked at most this often per account,
/// whatever `--cache-seconds` says. Tests that ask again move the manual clock this far.
pub const FLOOR: Duration = Duration::from_secs(60);

/// The labels of the default account of [`proxy_config`] in metric series.
pub const DEFAULT_LABELS: &str = r#"account="default",provider="captchaai""#;

/// The balance request a widget sends.
pub const BALANCE: &str = "/res.php?action=getbalance&json=1";

/// The value of one metric line (`name{labels} value`), if present.
pub fn metric(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map(str::to_owned)
}

/// Asserts each `(series, value)` of `/metrics` text.
pub fn assert_metrics(text: &str, lines: &[(&str, &str)]) {
    for &(series, value) in lines {
        assert_eq!(
            metric(text, series).as_deref(),
            Some(value),
            "{series} in\n{text}"
        );
    }
}

/// Waits (up to 10 s) until `condition` holds; panics otherwise. Used only to wait for
/// something to happen, never to assert on how long it took.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// An account of `provider` with `key` and the low threshold `threshold`, read through
/// `upstream`.
pub fn account_config(
    name: &str,
    provider: captchaai_balance::provider::ProviderId,
    key: &str,
    threshold: &str,
    upstream: &Upstream,
) -> captchaai_balance_server::config::AccountConfig {
    let key = ApiKey::for_format(key, provider.info().key).expect("key");
    let mut account = captchaai_balance_server::config::AccountConfig::new(
        name,
        provider,
        key,
        upstream.url.clone(),
    );
    account.threshold = Money::parse(threshold).expect("threshold");
    account
}

/// A server of `accounts` on a manual clock, its upstream timeout short.
pub fn accounts_config(accounts: Vec<captchaai_balance_server::config::AccountConfig>) -> Config {
    let mut config = Config::accounts(accounts);
    config.upstream_timeout = Duration::from_millis(500);
    config.clock = Clock::manual();
    config
}

/// A server with two accounts of the two protocol families: `production` (CaptchaAI, 12.5)
/// and `staging` (Anti-Captcha, 3.25), both with threshold 5. Returns its base URL and the two
/// upstreams.
pub async fn start_production_and_staging() -> (String, Upstream, Upstream) {
    let production = Upstream::start(Behaviour::Balance("12.5")).await;
    let staging = Upstream::start_family(Family::CreateTask, Behaviour::Balance("3.25")).await;
    let base = start(accounts_config(vec![
        account_config(
            "production",
            captchaai_balance::provider::ProviderId::CaptchaAi,
            KEY,
            "5",
            &production,
        ),
        account_config(
            "staging",
            captchaai_balance::provider::ProviderId::AntiCaptcha,
            KEY2,
            "5",
            &staging,
        ),
    ]))
    .await;
    (base, production, staging)
}

/// Everything the server logs, at TRACE and without the writer's masking (the code itself must
/// never log a key or a URL): [`LogBuffer::install`] makes it the process's subscriber, so a
/// test file that uses it holds one test.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// A buffer that receives every log line of the process from now on.
    pub fn install() -> LogBuffer {
        let logs = LogBuffer::default();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(logs.clone())
            .with_ansi(false)
            .init();
        logs
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}
