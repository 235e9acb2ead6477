//! The simulated accounts of mock mode: each plays its provider's upstream API (2captcha or
//! createTask family), so `/res.php`, `/accounts/{name}/res.php` and `/v1/accounts` go through
//! the same cache, the core's `classify_for` and metrics as in proxy mode.
//!
//! [`MOCK_ACCOUNTS`] is the simulated fleet: one row per account (name, provider, threshold and
//! how it starts).
//!
//! The balance drains linearly and is computed from elapsed time (no background task): it is
//! `base - drainPerMinute × minutes since base was set`, in exact nano-dollars. An account with
//! a [`Refill`] is topped up by its amount each time the drain takes it below its line, the
//! way an auto top-up would, so the demo shows top-ups and a spend rate that restarts after
//! each. The same rule run backwards gives the week before the start
//! ([`MockAccount::backfill`]), so the demo's forecast speaks at once. Each scenario is one row
//! of [`SCENARIOS`]: what the account answers and what it presets.
//!
//! An account of a provider that sells thread plans (CaptchaAI) also has a plan
//! ([`MockAccount::with_plan`]) and answers `threadsinfo` ([`MockAccount::threads_answer`]):
//! its threads, a few of them busy, how many following the clock (a busy day's pattern, never
//! all of them), every one busy in the `saturated` scenario, none at all in `expired` (the
//! money untouched: nothing is spent without a plan). The other scenarios answer `threadsinfo`
//! as they answer the balance (the same error, the same HTML page, the same delay).

use crate::clock::Clock;
use crate::upstream::answer::{create_task_balance, create_task_error};
use captchaai_balance::error::ErrorCode;
use captchaai_balance::history::{compact, Point, DAY_MS, MINUTE_MS};
use captchaai_balance::money::Money;
use captchaai_balance::provider::{Family, ProviderId};
use captchaai_balance::threads::Threads;
use serde::Serialize;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The balance a fresh mock account starts with.
pub const DEFAULT_BALANCE: Money = Money::from_cents(2500);
/// How much it loses per minute.
pub const DEFAULT_DRAIN_PER_MINUTE: Money = Money::from_cents(2);
/// The largest amount the control API accepts (balance, top-up, drain).
pub const MAX_AMOUNT: Money = Money::from_cents(100_000_000);
/// How far back a simulated account's history is filled in at start ([`MockAccount::backfill`]):
/// the sparkline's longest view.
pub const BACKFILL_DAYS: i64 = 7;
/// The threads of a simulated thread plan ([`MockAccount::with_plan`]).
pub const PLAN_THREADS: u32 = 10;
/// Busy threads of a 10-thread plan, one entry per minute of the clock, in turn: a plausible
/// load that moves between checks and never takes every thread (only `saturated` does).
const BUSY_PATTERN: [u32; 12] = [3, 4, 4, 5, 6, 5, 3, 2, 3, 4, 6, 5];
/// The longest simulated delay the control API accepts.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// The `markup` scenario's balance field: the core reads it as malformed, so the server answers
/// `unexpected answer` and the markup never reaches a browser.
pub const MARKUP: &str = "<img src=x onerror=alert(1)>";
/// What a CDN in front of the API answers when the origin is down.
const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";

/// How a simulated account starts (and what `POST /mock/reset` brings it back to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The scenario.
    pub scenario: Scenario,
    /// The balance.
    pub balance: Money,
    /// How much it loses per minute.
    pub drain_per_minute: Money,
    /// The simulated auto top-up, if any.
    pub refill: Option<Refill>,
}

/// A simulated auto top-up: when the drain takes the balance below `below`, `amount` is added.
/// It acts only while the balance set last (start, control API) is at or above the line, so a
/// balance the control API puts below it (the `low` scenario) stays there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refill {
    /// The line the balance is kept above.
    pub below: Money,
    /// What each top-up adds.
    pub amount: Money,
}

/// 25.00 USD draining 0.02 per minute, scenario `ok`: the default account.
pub const DEFAULT_PRESET: Preset = Preset {
    scenario: Scenario::Ok,
    balance: DEFAULT_BALANCE,
    drain_per_minute: DEFAULT_DRAIN_PER_MINUTE,
    refill: None,
};

/// One simulated account of mock mode.
#[derive(Debug, Clone, Copy)]
pub struct MockAccountSpec {
    /// Account name.
    pub name: &'static str,
    /// The provider it plays (its family decides the answers' protocol).
    pub provider: ProviderId,
    /// Low-balance threshold, in cents.
    pub threshold_cents: i64,
    /// How it starts.
    pub preset: Preset,
}

/// The simulated fleet: both protocol families, one of each level, and one account in error.
/// The first is the default account (`/res.php`, the control API without `account`), and is
/// the single account mock mode had before accounts existed. Three drain at different paces
/// (runways of about 21 h, 12 h and, between top-ups, a few hours), and `backup` tops itself
/// up by 10.00 whenever it falls below 45.00 (every 250 minutes after the first, at 80).
#[rustfmt::skip]
pub const MOCK_ACCOUNTS: [MockAccountSpec; 4] = [
    MockAccountSpec { name: "production", provider: ProviderId::CaptchaAi,   threshold_cents: 500,  preset: DEFAULT_PRESET },
    MockAccountSpec { name: "staging",    provider: ProviderId::AntiCaptcha, threshold_cents: 1000, preset: Preset { scenario: Scenario::Ok, balance: Money::from_cents(350), drain_per_minute: Money::from_nanos(5_000_000), refill: None } },
    MockAccountSpec { name: "backup",     provider: ProviderId::CapSolver,   threshold_cents: 100,  preset: Preset { scenario: Scenario::Ok, balance: Money::from_cents(4820), drain_per_minute: Money::from_cents(4), refill: Some(Refill { below: Money::from_cents(4500), amount: Money::from_cents(1000) }) } },
    MockAccountSpec { name: "archive",    provider: ProviderId::TwoCaptcha,  threshold_cents: 100,  preset: Preset { scenario: Scenario::KeyNotFound, balance: Money::from_cents(1200), drain_per_minute: Money::ZERO, refill: None } },
];

/// A named behaviour of the simulated account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Answers the draining balance.
    Ok,
    /// Balance set to 0.42 (below the default 1.00 threshold).
    Low,
    /// Balance set to zero ("0.000").
    Zero,
    /// `ERROR_ZERO_BALANCE`.
    ErrorZeroBalance,
    /// `ERROR_WRONG_USER_KEY`.
    WrongKey,
    /// `ERROR_KEY_DOES_NOT_EXIST`.
    KeyNotFound,
    /// `ERROR_IP_BANNED`.
    IpBanned,
    /// `ERROR_IP_NOT_ALLOWED`.
    IpNotAllowed,
    /// HTTP 429 with `ERROR_TOO_MUCH_REQUESTS`.
    RateLimited,
    /// `ERROR_SERVER_ERROR`.
    ServerError,
    /// HTTP 502 with a CDN's HTML page.
    Html502,
    /// The balance, after `delayMs` (3000 unless given).
    Slow,
    /// A "balance" that is markup.
    Markup,
    /// A thread plan with every thread busy; the balance as in `ok`.
    Saturated,
    /// A thread plan with no threads (expired, or never bought); the money untouched: nothing
    /// drains while it lasts.
    Expired,
}

/// What the account answers in a scenario.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Balance,
    Text(&'static str),
    /// The code's canonical API text from the core's error table.
    Error {
        http: u16,
        code: ErrorCode,
    },
    Html {
        http: u16,
    },
}

struct ScenarioInfo {
    scenario: Scenario,
    name: &'static str,
    behaviour: Behaviour,
    /// Balance the scenario sets when the request does not give one.
    preset_balance: Option<Money>,
    /// Delay when the request does not give one.
    delay_ms: u64,
}

use Behaviour as B;
use ErrorCode as C;
use Scenario as S;

#[rustfmt::skip]
const SCENARIOS: &[ScenarioInfo] = &[
    ScenarioInfo { scenario: S::Ok, name: "ok", behaviour: B::Balance, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::Low, name: "low", behaviour: B::Balance, preset_balance: Some(Money::from_cents(42)), delay_ms: 0 },
    ScenarioInfo { scenario: S::Zero, name: "zero", behaviour: B::Balance, preset_balance: Some(Money::ZERO), delay_ms: 0 },
    ScenarioInfo { scenario: S::ErrorZeroBalance, name: "error_zero_balance", behaviour: B::Error { http: 200, code: C::ZeroBalance }, preset_balance: Some(Money::ZERO), delay_ms: 0 },
    ScenarioInfo { scenario: S::WrongKey, name: "wrong_key", behaviour: B::Error { http: 200, code: C::WrongKey }, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::KeyNotFound, name: "key_not_found", behaviour: B::Error { http: 200, code: C::KeyNotFound }, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::IpBanned, name: "ip_banned", behaviour: B::Error { http: 200, code: C::IpBanned }, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::IpNotAllowed, name: "ip_not_allowed", behaviour: B::Error { http: 200, code: C::IpNotAllowed }, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::RateLimited, name: "rate_limited", behaviour: B::Error { http: 429, code: C::RateLimited }, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::ServerError, name: "server_error", behaviour: B::Error { http: 200, code: C::ServerError }, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::Html502, name: "html_502", behaviour: B::Html { http: 502 }, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::Slow, name: "slow", behaviour: B::Balance, preset_balance: None, delay_ms: 3000 },
    ScenarioInfo { scenario: S::Markup, name: "markup", behaviour: B::Text(MARKUP), preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::Saturated, name: "saturated", behaviour: B::Balance, preset_balance: None, delay_ms: 0 },
    ScenarioInfo { scenario: S::Expired, name: "expired", behaviour: B::Balance, preset_balance: None, delay_ms: 0 },
];

impl Scenario {
    fn info(self) -> &'static ScenarioInfo {
        // Every variant has a row (tested); the first row is only a formal fallback.
        SCENARIOS
            .iter()
            .find(|i| i.scenario == self)
            .unwrap_or(&SCENARIOS[0])
    }

    /// The control API name (`ok`, `html_502` …).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The scenario with this control API name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        SCENARIOS
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.scenario)
    }

    /// Every name, in table order (for error messages and docs).
    pub fn names() -> impl Iterator<Item = &'static str> {
        SCENARIOS.iter().map(|i| i.name)
    }
}

/// A validated change asked through `POST /mock/scenario`.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioChange {
    /// The new behaviour.
    pub scenario: Scenario,
    /// New balance (else the scenario's preset, else the current balance).
    pub balance: Option<Money>,
    /// New drain rate (else unchanged).
    pub drain_per_minute: Option<Money>,
    /// New delay (else the scenario's default).
    pub delay: Option<Duration>,
}

/// What `GET /mock/state` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Scenario name.
    pub scenario: &'static str,
    /// The balance now, as the API would print it.
    pub balance: String,
    /// Drain rate, exact decimal.
    pub drain_per_minute: String,
    /// Simulated answer delay.
    pub delay_ms: u64,
    /// Balance calls into the simulated account since start or the last reset.
    pub upstream_requests: u64,
    /// A thread plan's threads now (absent for an account without a plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// Its busy threads now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_threads: Option<u32>,
    /// `threadsinfo` calls since start or the last reset (counted apart from the balance's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_requests: Option<u64>,
}

/// One simulated upstream answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Wait this long before answering.
    pub delay: Duration,
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body text.
    pub body: String,
}

/// Why a top-up was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUpError(pub String);

#[derive(Debug)]
struct Account {
    scenario: Scenario,
    /// Balance at `base_at`; the balance later is this minus the drain since.
    base: Money,
    base_at: Instant,
    drain_per_minute: Money,
    refill: Option<Refill>,
    delay: Duration,
    requests: u64,
    threads_requests: u64,
}

impl Account {
    fn fresh(preset: Preset, now: Instant) -> Account {
        Account {
            scenario: preset.scenario,
            base: preset.balance,
            base_at: now,
            drain_per_minute: preset.drain_per_minute,
            refill: preset.refill,
            delay: Duration::ZERO,
            requests: 0,
            threads_requests: 0,
        }
    }

    /// What is spent per minute now: nothing while the plan has expired (no job runs).
    fn drain(&self) -> Money {
        if self.scenario == Scenario::Expired {
            Money::ZERO
        } else {
            self.drain_per_minute
        }
    }

    fn balance(&self, now: Instant) -> Money {
        let millis = i128::try_from(now.saturating_duration_since(self.base_at).as_millis())
            .unwrap_or(i128::MAX);
        self.balance_after(millis)
    }

    /// The balance `millis` after `base_at`; a negative `millis` is before it: the same drain
    /// and refill rule run backwards (the history mock mode fills in at start).
    fn balance_after(&self, millis: i128) -> Money {
        let drained = i128::from(self.drain().nanos()).saturating_mul(millis) / 60_000;
        let base = i128::from(self.base.nanos());
        let refills = match self.refill {
            // Below the line after the drain: one top-up for the first crossing, one more per
            // `amount` drained since (so the balance stays within [below, below + amount)).
            // Before `base_at` the rule ran too: going back, the balance rises until it would
            // reach `below + amount`, where the top-up that followed is undone. A base at or
            // above that was set by hand: before it, no top-up is made up.
            Some(Refill { below, amount })
                if amount.is_positive() && base >= i128::from(below.nanos()) =>
            {
                let above = base - i128::from(below.nanos());
                let amount = i128::from(amount.nanos());
                let past = drained - above;
                let past = if above < amount { past } else { past.max(0) };
                // Rounded up (a ceiling, also for the negative counts of the past): on the line
                // is not below it.
                -(-past).div_euclid(amount)
            }
            _ => 0,
        };
        let topped =
            refills.saturating_mul(self.refill.map_or(0, |r| i128::from(r.amount.nanos())));
        let left = (base - drained + topped).clamp(0, i128::from(MAX_AMOUNT.nanos()));
        // `left` lies between 0 and MAX_AMOUNT, so it fits.
        Money::from_nanos(i64::try_from(left).unwrap_or(0))
    }

    /// Makes `now` the new origin of the drain (before changing base or rate).
    fn rebase(&mut self, now: Instant) {
        self.base = self.balance(now);
        self.base_at = now;
    }
}

/// The simulated account.
#[derive(Debug)]
pub struct MockAccount {
    clock: Clock,
    family: Family,
    preset: Preset,
    /// The threads of its plan, for a provider that sells thread plans.
    plan: Option<u32>,
    account: Mutex<Account>,
}

impl MockAccount {
    /// A fresh 2captcha-family account: 25.00 USD draining 0.02 per minute, scenario `ok`.
    pub fn new(clock: Clock) -> MockAccount {
        MockAccount::with(clock, Family::TwoCaptcha, DEFAULT_PRESET)
    }

    /// A fresh account answering in `family`'s protocol, starting (and reset) as `preset`.
    pub fn with(clock: Clock, family: Family, preset: Preset) -> MockAccount {
        let now = clock.now();
        MockAccount {
            clock,
            family,
            preset,
            plan: None,
            account: Mutex::new(Account::fresh(preset, now)),
        }
    }

    /// A fresh account of the simulated fleet: its provider's protocol, its preset, and a plan
    /// of [`PLAN_THREADS`] threads when the provider sells thread plans.
    pub fn of_spec(clock: Clock, spec: &MockAccountSpec) -> MockAccount {
        let info = spec.provider.info();
        let account = MockAccount::with(clock, info.family, spec.preset);
        if info.threads {
            account.with_plan(PLAN_THREADS)
        } else {
            account
        }
    }

    /// The same account on a thread plan of `threads` threads (CaptchaAI's kind of plan): it
    /// answers `threadsinfo` too.
    pub fn with_plan(self, threads: u32) -> MockAccount {
        MockAccount {
            plan: Some(threads),
            ..self
        }
    }

    /// The plan's threads and busy threads now, in `account`'s scenario (`None` without a
    /// plan).
    fn threads_of(&self, account: &Account) -> Option<Threads> {
        let threads = self.plan?;
        Some(match account.scenario {
            Scenario::Expired => Threads {
                threads: 0,
                working_threads: 0,
            },
            Scenario::Saturated => Threads {
                threads,
                working_threads: threads,
            },
            _ => {
                let minute = usize::try_from(self.clock.epoch_ms().div_euclid(60_000)).unwrap_or(0)
                    % BUSY_PATTERN.len();
                // The pattern is for ten threads; another plan's load is scaled to it, and one
                // thread is always left free.
                let busy = BUSY_PATTERN[minute] * threads / PLAN_THREADS;
                Threads {
                    threads,
                    working_threads: busy.min(threads.saturating_sub(1)),
                }
            }
        })
    }

    /// The protocol it answers in.
    pub fn family(&self) -> Family {
        self.family
    }

    fn lock(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn snapshot_of(&self, account: &Account) -> Snapshot {
        Snapshot {
            scenario: account.scenario.name(),
            balance: api_text(account.balance(self.clock.now())),
            drain_per_minute: account.drain_per_minute.to_string(),
            delay_ms: u64::try_from(account.delay.as_millis()).unwrap_or(u64::MAX),
            upstream_requests: account.requests,
            threads: self.threads_of(account).map(|t| t.threads),
            working_threads: self.threads_of(account).map(|t| t.working_threads),
            threads_requests: self.plan.map(|_| account.threads_requests),
        }
    }

    /// The current state.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_of(&self.lock())
    }

    /// Switches the scenario (see [`ScenarioChange`] for what each field does).
    pub fn set_scenario(&self, change: ScenarioChange) -> Snapshot {
        let now = self.clock.now();
        let info = change.scenario.info();
        let mut account = self.lock();
        account.rebase(now);
        account.scenario = change.scenario;
        if let Some(balance) = change.balance.or(info.preset_balance) {
            account.base = balance;
        }
        if let Some(drain) = change.drain_per_minute {
            account.drain_per_minute = drain;
        }
        account.delay = change.delay.unwrap_or(Duration::from_millis(info.delay_ms));
        self.snapshot_of(&account)
    }

    /// Adds money (any positive amount up to [`MAX_AMOUNT`]).
    pub fn top_up(&self, amount: Money) -> Result<Snapshot, TopUpError> {
        let now = self.clock.now();
        let mut account = self.lock();
        account.rebase(now);
        let balance = account
            .base
            .checked_add(amount)
            .filter(|b| *b <= MAX_AMOUNT)
            .ok_or_else(|| TopUpError(format!("the balance would exceed {MAX_AMOUNT}")))?;
        account.base = balance;
        Ok(self.snapshot_of(&account))
    }

    /// Back to a fresh account (the request count too).
    pub fn reset(&self) -> Snapshot {
        let mut account = self.lock();
        *account = Account::fresh(self.preset, self.clock.now());
        self.snapshot_of(&account)
    }

    /// The history this account would have if the server had read it once a minute for the
    /// past [`BACKFILL_DAYS`] up to now: its drain and refill rule evaluated at those times
    /// (balances as the API prints them), thinned by the core's compaction to the history's
    /// resolution (every reading of the last hour, then one per 10 minutes, per hour; every
    /// top-up and change of level against `threshold` kept). Empty when the scenario answers
    /// no balance: an account in error has no readings to show.
    pub fn backfill(&self, threshold: Money) -> Vec<Point> {
        let now_ms = self.clock.epoch_ms();
        let account = self.lock();
        if !matches!(account.scenario.info().behaviour, B::Balance) {
            return Vec::new();
        }
        let since_base = i128::try_from(
            self.clock
                .now()
                .saturating_duration_since(account.base_at)
                .as_millis(),
        )
        .unwrap_or(i128::MAX);
        let mut points: Vec<Point> = (0..=BACKFILL_DAYS * DAY_MS / MINUTE_MS)
            .rev()
            .map(|minutes| {
                let ago = minutes * MINUTE_MS;
                Point {
                    at: now_ms - ago,
                    balance: as_printed(account.balance_after(since_base - i128::from(ago))),
                }
            })
            .collect();
        drop(account);
        compact(&mut points, now_ms, threshold);
        points
    }

    /// One call into the account, answered like the real API would.
    pub fn answer(&self) -> Reply {
        let now = self.clock.now();
        let mut account = self.lock();
        account.requests += 1;
        let delay = account.delay;
        let balance = api_text(account.balance(now));
        let (status, content_type, body) = match self.family {
            Family::TwoCaptcha => two_captcha_answer(account.scenario.info().behaviour, &balance),
            Family::CreateTask => create_task_answer(account.scenario.info().behaviour, &balance),
        };
        Reply {
            delay,
            status,
            content_type,
            body,
        }
    }
}

impl MockAccount {
    /// One `threadsinfo` call, answered like CaptchaAI would: `{"threads":10,"working_threads":3}`,
    /// or the scenario's error, page or markup-free failure as the balance gets it. An account
    /// without a plan answers as a host that has no such action.
    pub fn threads_answer(&self) -> Reply {
        let mut account = self.lock();
        account.threads_requests += 1;
        let delay = account.delay;
        let (status, content_type, body) =
            match (self.threads_of(&account), account.scenario.info().behaviour) {
                (None, _) => (
                    200,
                    "application/json",
                    two_captcha_json(0, "ERROR_WRONG_ACTION"),
                ),
                (Some(_), B::Error { http, code }) => (
                    http,
                    "application/json",
                    two_captcha_json(0, code.api_code()),
                ),
                (Some(_), B::Html { http }) => (http, "text/html", HTML_502.to_string()),
                (Some(t), B::Balance | B::Text(_)) => (
                    200,
                    "application/json",
                    format!(
                        r#"{{"threads":{},"working_threads":{}}}"#,
                        t.threads, t.working_threads
                    ),
                ),
            };
        Reply {
            delay,
            status,
            content_type,
            body,
        }
    }
}

/// `{"status":…,"request":"…"}`, status first as the API writes it.
fn two_captcha_json(status: u8, request: &str) -> String {
    format!(
        r#"{{"status":{status},"request":{}}}"#,
        json_string(request)
    )
}

/// `(status, content type, body)` as a 2captcha-family API answers. Written by hand to keep
/// the API's field order (status first).
fn two_captcha_answer(behaviour: Behaviour, balance: &str) -> (u16, &'static str, String) {
    let json = two_captcha_json;
    match behaviour {
        B::Balance => (200, "application/json", json(1, balance)),
        B::Text(text) => (200, "application/json", json(1, text)),
        B::Error { http, code } => (http, "application/json", json(0, code.api_code())),
        B::Html { http } => (http, "text/html", HTML_502.to_string()),
    }
}

/// The same as a createTask-family API answers: the balance as a JSON number, errors as
/// `errorId`/`errorCode`/`errorDescription` (written by the server's own `/getBalance` writer).
fn create_task_answer(behaviour: Behaviour, balance: &str) -> (u16, &'static str, String) {
    match behaviour {
        B::Balance => (200, "application/json", create_task_balance(balance)),
        B::Text(text) => (
            200,
            "application/json",
            create_task_balance(&json_string(text)),
        ),
        B::Error { http, code } => (
            http,
            "application/json",
            create_task_error(code.api_code(), "simulated"),
        ),
        B::Html { http } => (http, "text/html", HTML_502.to_string()),
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The balance cut to the five decimals the API prints (rounded down, like its display).
fn as_printed(balance: Money) -> Money {
    let nanos = balance.nanos();
    Money::from_nanos(nanos - nanos % 10_000)
}

/// The balance as the API prints it: at most five decimals (rounded down, like the account's
/// own display), at least three (`0.000`, `24.980`).
pub fn api_text(balance: Money) -> String {
    let text = as_printed(balance).to_string();
    let decimals = text.split_once('.').map_or(0, |(_, frac)| frac.len());
    match decimals {
        0 => format!("{text}.000"),
        1 => format!("{text}00"),
        2 => format!("{text}0"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse(text).expect("money")
    }

    #[test]
    fn table_covers_every_scenario() {
        let names: Vec<_> = Scenario::names().collect();
        assert_eq!(names.len(), 15);
        for name in names {
            let scenario = Scenario::from_name(name).expect("listed");
            assert_eq!(scenario.name(), name);
        }
        assert_eq!(Scenario::from_name("OK"), None);
    }

    /// Every scenario, answered in the createTask protocol, reaches the verdict the 2captcha
    /// answer reaches (the core's `classify_for` reads both).
    #[test]
    fn both_families_answer_every_scenario_alike() {
        use captchaai_balance::protocol::classify_for;
        for name in Scenario::names() {
            let scenario = Scenario::from_name(name).expect("listed");
            let verdict = |family| {
                let account = MockAccount::with(Clock::manual(), family, DEFAULT_PRESET);
                account.set_scenario(ScenarioChange {
                    scenario,
                    balance: None,
                    drain_per_minute: None,
                    delay: None,
                });
                let reply = account.answer();
                classify_for(family, reply.status, Some(reply.content_type), &reply.body)
                    .map_err(|e| e.code)
            };
            assert_eq!(
                verdict(Family::CreateTask),
                verdict(Family::TwoCaptcha),
                "{name}"
            );
        }
        let account = MockAccount::with(Clock::manual(), Family::CreateTask, DEFAULT_PRESET);
        assert_eq!(account.answer().body, r#"{"errorId":0,"balance":25.000}"#);
    }

    #[test]
    fn the_fleet_has_unique_names_and_both_families() {
        let names: std::collections::HashSet<_> = MOCK_ACCOUNTS.iter().map(|a| a.name).collect();
        assert_eq!(names.len(), MOCK_ACCOUNTS.len());
        assert!(MOCK_ACCOUNTS
            .iter()
            .all(|a| crate::config::valid_name(a.name)));
        for family in [Family::TwoCaptcha, Family::CreateTask] {
            assert!(MOCK_ACCOUNTS
                .iter()
                .any(|a| a.provider.info().family == family));
        }
        assert_eq!(MOCK_ACCOUNTS[0].preset, DEFAULT_PRESET);
    }

    #[test]
    fn prints_balances_like_the_api() {
        #[rustfmt::skip]
        let cases = [
            (0,              "0.000"),
            (420_000_000,    "0.420"),
            (24_980_000_000, "24.980"),
            (12_345_678_901, "12.34567"),
        ];
        for (nanos, want) in cases {
            assert_eq!(api_text(Money::from_nanos(nanos)), want);
        }
    }

    #[test]
    fn drains_exactly_and_never_below_zero() {
        let clock = Clock::manual();
        let account = MockAccount::new(clock.clone());
        assert_eq!(account.snapshot().balance, "25.000");
        clock.advance(Duration::from_secs(60));
        assert_eq!(account.snapshot().balance, "24.980");
        clock.advance(Duration::from_secs(90));
        assert_eq!(account.snapshot().balance, "24.950");
        let snap = account.set_scenario(ScenarioChange {
            scenario: Scenario::Low,
            balance: None,
            drain_per_minute: Some(money("0.1")),
            delay: None,
        });
        assert_eq!((snap.scenario, snap.balance.as_str()), ("low", "0.420"));
        clock.advance(Duration::from_secs(600));
        assert_eq!(account.snapshot().balance, "0.000");
        assert_eq!(account.top_up(money("5")).expect("top-up").balance, "5.000");
        assert!(account.top_up(MAX_AMOUNT).is_err());
    }

    #[test]
    fn the_auto_top_up_keeps_the_balance_above_its_line() {
        let clock = Clock::manual();
        let preset = Preset {
            refill: Some(Refill {
                below: money("45"),
                amount: money("10"),
            }),
            balance: money("48.2"),
            drain_per_minute: money("0.04"),
            ..DEFAULT_PRESET
        };
        let account = MockAccount::with(clock.clone(), Family::TwoCaptcha, preset);
        // (minutes since the last step, balance): the first top-up when 45.00 is crossed at
        // minute 80, the next 250 minutes later.
        #[rustfmt::skip]
        let steps = [
            (79,  "45.040"),
            (1,   "45.000"),   // on the line: not below it yet
            (1,   "54.960"),   // below it: +10.00
            (249, "45.000"),
            (1,   "54.960"),
        ];
        for (minutes, want) in steps {
            clock.advance(Duration::from_secs(60 * minutes));
            assert_eq!(
                account.snapshot().balance,
                want,
                "after {minutes} more minutes"
            );
        }
        // A balance the control API puts below the line stays there.
        let low = account.set_scenario(ScenarioChange {
            scenario: Scenario::Low,
            balance: None,
            drain_per_minute: None,
            delay: None,
        });
        assert_eq!(low.balance, "0.420");
        clock.advance(Duration::from_secs(60));
        assert_eq!(account.snapshot().balance, "0.380");
        // A top-up above it switches the refill on again.
        account.top_up(money("50")).expect("top-up");
        clock.advance(Duration::from_secs(60 * 200));
        assert_eq!(account.snapshot().balance, "52.380");
    }

    /// The history filled in at start is the fleet's own model run backwards: `backup`'s
    /// refills every 250 minutes are top-ups, `staging` was above its threshold a day ago, and
    /// an account in error has no past readings.
    #[test]
    fn the_backfill_runs_the_model_backwards() {
        use captchaai_balance::history::{top_ups, HISTORY_POINTS};
        const NOW: i64 = 1_800_000_000_000;
        let fill = |spec: &MockAccountSpec| {
            let clock = Clock::manual_at(NOW);
            let account = MockAccount::with(clock, spec.provider.info().family, spec.preset);
            account.backfill(Money::from_cents(spec.threshold_cents))
        };
        let [production, staging, backup, archive] = MOCK_ACCOUNTS.map(|spec| fill(&spec));
        let at = |points: &[Point], minutes_ago: i64| {
            points
                .iter()
                .find(|p| p.at == NOW - minutes_ago * 60_000)
                .map(|p| p.balance.to_string())
        };
        #[rustfmt::skip]
        let cases: &[(&[Point], i64, &str)] = &[
            (&production, 0,      "25"),
            (&production, 59,     "26.18"),
            (&production, 10_080, "226.6"),
            (&staging,    0,      "3.5"),
            (&staging,    10_080, "53.9"),
            (&backup,     0,      "48.2"),
            (&backup,     169,    "54.96"),   // just after a refill
            (&backup,     170,    "45"),      // on the line, just before it
            (&backup,     419,    "54.96"),   // the one before, 250 minutes earlier
            (&backup,     420,    "45"),
            (&backup,     10_080, "51.4"),
        ];
        for &(points, minutes_ago, want) in cases {
            assert_eq!(
                at(points, minutes_ago).as_deref(),
                Some(want),
                "{minutes_ago} min ago"
            );
        }
        for points in [&production, &staging, &backup] {
            assert!(points.len() <= HISTORY_POINTS);
            assert_eq!(points.first().map(|p| p.at), Some(NOW - 7 * DAY_MS));
            assert_eq!(points.last().map(|p| p.at), Some(NOW));
        }
        // Every refill of the week (at 170 + 250 k minutes ago) is a top-up; the drains are not.
        let refills = top_ups(&backup);
        assert_eq!(refills.len(), 40);
        assert!(refills.iter().all(|t| t.amount == money("9.96")));
        assert!(top_ups(&production).is_empty() && top_ups(&staging).is_empty());
        // `staging` fell below its 10.00 about 22 hours ago: both readings around it are kept.
        assert_eq!(at(&staging, 1_300).as_deref(), Some("10"));
        assert_eq!(at(&staging, 1_299).as_deref(), Some("9.995"));
        assert_eq!(archive, Vec::new());
    }

    /// A thread plan answers `threadsinfo` as CaptchaAI does, read by the core's
    /// `classify_threads`: a few threads busy (moving with the clock, never all), every one in
    /// `saturated`, none in `expired` (whose balance stops draining), and a scenario's error or
    /// page as the balance gets it. Its calls are counted apart from the balance's.
    #[test]
    fn a_thread_plan_answers_threadsinfo() {
        use captchaai_balance::protocol::classify_threads;
        use captchaai_balance::threads::Capacity;
        let clock = Clock::manual_at(1_800_000_000_000);
        let spec = MOCK_ACCOUNTS[0];
        let account = MockAccount::of_spec(clock.clone(), &spec);
        let read = || {
            let reply = account.threads_answer();
            classify_threads(reply.status, Some(reply.content_type), &reply.body)
        };
        let change = |scenario| ScenarioChange {
            scenario,
            balance: None,
            drain_per_minute: None,
            delay: None,
        };
        let mut seen = std::collections::HashSet::new();
        for _ in 0..BUSY_PATTERN.len() {
            let t = read().expect("counts");
            assert_eq!((t.threads, t.capacity()), (PLAN_THREADS, Capacity::Free));
            assert!(t.working_threads >= 2, "{t:?}");
            seen.insert(t.working_threads);
            clock.advance(Duration::from_secs(60));
        }
        assert!(seen.len() >= 4, "the load moves: {seen:?}");
        account.set_scenario(change(Scenario::Saturated));
        assert_eq!(read().expect("counts").capacity(), Capacity::AllBusy);
        let before = account.snapshot().balance;
        account.set_scenario(change(Scenario::Expired));
        assert_eq!(
            read().expect("counts"),
            Threads {
                threads: 0,
                working_threads: 0
            }
        );
        clock.advance(Duration::from_secs(600));
        let snapshot = account.snapshot();
        assert_eq!(snapshot.balance, before, "no plan, nothing spent");
        assert_eq!(
            (snapshot.threads, snapshot.working_threads),
            (Some(0), Some(0))
        );
        account.set_scenario(change(Scenario::Ok));
        clock.advance(Duration::from_secs(60));
        assert_eq!(before, "24.760");
        assert_eq!(account.snapshot().balance, "24.740", "draining again");
        #[rustfmt::skip]
        let errors = [
            (Scenario::WrongKey,         ErrorCode::WrongKey),
            (Scenario::ErrorZeroBalance, ErrorCode::ZeroBalance),
            (Scenario::RateLimited,      ErrorCode::RateLimited),
            (Scenario::Html502,          ErrorCode::ServerError),
        ];
        for (scenario, code) in errors {
            account.set_scenario(change(scenario));
            assert_eq!(read().map_err(|e| e.code), Err(code), "{scenario:?}");
        }
        let snapshot = account.snapshot();
        assert_eq!(
            (snapshot.upstream_requests, snapshot.threads_requests),
            (0, Some(BUSY_PATTERN.len() as u64 + 6))
        );
        // No plan (another provider): no thread fields in the state.
        let staging = MockAccount::of_spec(Clock::manual(), &MOCK_ACCOUNTS[1]);
        let state = serde_json::to_value(staging.snapshot()).expect("json");
        assert_eq!(state.get("threads"), None);
        assert_eq!(state.get("threadsRequests"), None);
    }

    #[test]
    fn answers_like_the_api_and_counts_calls() {
        let account = MockAccount::new(Clock::manual());
        let change = |scenario| ScenarioChange {
            scenario,
            balance: None,
            drain_per_minute: None,
            delay: None,
        };
        assert_eq!(account.answer().body, r#"{"status":1,"request":"25.000"}"#);
        account.set_scenario(change(Scenario::RateLimited));
        let reply = account.answer();
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (429, r#"{"status":0,"request":"ERROR_TOO_MUCH_REQUESTS"}"#)
        );
        account.set_scenario(change(Scenario::Html502));
        let reply = account.answer();
        assert_eq!((reply.status, reply.content_type), (502, "text/html"));
        account.set_scenario(change(Scenario::Slow));
        assert_eq!(account.answer().delay, Duration::from_secs(3));
        assert_eq!(account.snapshot().upstream_requests, 4);
        assert_eq!(account.reset().upstream_requests, 0);
    }
}
