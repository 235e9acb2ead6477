//! One watched account: its upstream, its own cache with single-flight, and what the server
//! remembers of it (the last good balance, the latest error) for `/v1/accounts`.
//!
//! Each account has its own cache slot, so a hundred requests for one account cost one upstream
//! call and two accounts cost two. A real upstream is never asked more often than its
//! provider's politeness floor (the provider table's `min_gap_ms`): the cache keeps a reading
//! for the longer of `--cache-seconds` and the floor. A simulated account has no floor (it
//! protects no API, and the demo wants a changed scenario seen at once).

use crate::answer::Verdict;
use crate::cache::SingleFlight;
use crate::clock::Clock;
use crate::metrics::{AccountLabels, Metrics};
use crate::mock::MockAccount;
use crate::source::Source;
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::level::BalanceLevel;
use captchaai_balance::money::Money;
use captchaai_balance::provider::ProviderId;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server remembers of an account between readings.
#[derive(Debug, Default, Clone)]
struct Memory {
    /// The last good balance and when it was read (epoch ms).
    last_good: Option<(Money, i64)>,
    /// The latest reading's error, if it failed.
    error: Option<ApiError>,
}

/// One account of the server.
#[derive(Debug)]
pub struct Account {
    /// `[a-z0-9-]`, unique.
    pub name: String,
    /// The provider.
    pub provider: ProviderId,
    /// Below this the account is `low`.
    pub threshold: Money,
    /// The simulated account behind it, in mock mode.
    pub mock: Option<Arc<MockAccount>>,
    source: Arc<Source>,
    cache: Arc<SingleFlight<Arc<Verdict>>>,
    memory: Arc<Mutex<Memory>>,
    clock: Clock,
}

/// `GET /v1/accounts/{name}`: one account as the admin view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// Account name.
    pub name: String,
    /// Provider id.
    pub provider: &'static str,
    /// The last good balance, exact decimal (`null` before the first).
    pub balance: Option<String>,
    /// `ok`, `low`, `empty` or `unknown` (the core's level for the balance, the latest error
    /// and the threshold).
    pub level: &'static str,
    /// When `balance` was read (epoch ms).
    pub read_at: Option<i64>,
    /// The low-balance threshold, exact decimal.
    pub threshold: String,
    /// The latest reading's error (`null` when it was a balance).
    pub error: Option<ErrorView>,
}

/// An error of [`AccountView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorView {
    /// The core's stable code (`wrong_key`, `timeout` …).
    pub code: &'static str,
    /// The core's short, key-free description of what was seen (`HTTP 502` …).
    pub detail: String,
}

impl Account {
    /// An account reading from `source`, its readings kept for `ttl` (lengthened to the
    /// provider's floor for a real upstream).
    pub fn new(
        name: &str,
        provider: ProviderId,
        threshold: Money,
        source: Source,
        ttl: Duration,
        clock: Clock,
    ) -> Account {
        let (ttl, mock) = match &source {
            Source::Proxy(_) => {
                let floor = u64::try_from(provider.info().min_gap_ms).unwrap_or(0);
                (ttl.max(Duration::from_millis(floor)), None)
            }
            Source::Mock(mock) => (ttl, Some(Arc::clone(mock))),
        };
        Account {
            name: name.to_string(),
            provider,
            threshold,
            mock,
            source: Arc::new(source),
            cache: SingleFlight::new(ttl, clock.clone()),
            memory: Arc::default(),
            clock,
        }
    }

    /// Its metric labels.
    pub fn labels(&self) -> AccountLabels {
        AccountLabels {
            account: self.name.clone(),
            provider: self.provider.as_str(),
        }
    }

    /// The verdict on the balance: cached, or shared with the fetch in flight, or fetched now.
    pub async fn verdict(&self, metrics: &Arc<Metrics>) -> Arc<Verdict> {
        let source = Arc::clone(&self.source);
        let metrics = Arc::clone(metrics);
        let memory = Arc::clone(&self.memory);
        let clock = self.clock.clone();
        let name = self.name.clone();
        let reading = self
            .cache
            .get(move || async move {
                let verdict = source.fetch(&metrics, &name).await;
                remember(&memory, &verdict.outcome, clock.epoch_ms());
                Arc::new(verdict)
            })
            .await;
        reading
            .unwrap_or_else(|| Arc::new(Verdict::failure(ErrorCode::ServerError, "internal error")))
    }

    /// The account as `/v1/accounts` shows it (reads it first, through the cache).
    pub async fn view(&self, metrics: &Arc<Metrics>) -> AccountView {
        self.verdict(metrics).await;
        let memory = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let last_good = memory.last_good.map(|(balance, _)| balance);
        let level = BalanceLevel::current(last_good, memory.error.as_ref(), self.threshold);
        AccountView {
            name: self.name.clone(),
            provider: self.provider.as_str(),
            balance: last_good.map(|b| b.to_string()),
            level: level.as_str(),
            read_at: memory.last_good.map(|(_, at)| at),
            threshold: self.threshold.to_string(),
            error: memory.error.map(|e| ErrorView {
                code: e.code.as_str(),
                detail: e.detail,
            }),
        }
    }

    /// Forgets the cached reading (the simulated account was changed).
    pub fn invalidate(&self) {
        self.cache.invalidate();
    }
}

/// Keeps what a reading says. `ERROR_ZERO_BALANCE` is a good reading of 0 as well as an error
/// (like the metrics): the account state is known.
fn remember(memory: &Mutex<Memory>, outcome: &Result<Money, ApiError>, now_ms: i64) {
    let mut memory = memory.lock().unwrap_or_else(|p| p.into_inner());
    match outcome {
        Ok(balance) => {
            memory.last_good = Some((*balance, now_ms));
            memory.error = None;
        }
        Err(error) => {
            if error.code == ErrorCode::ZeroBalance {
                memory.last_good = Some((Money::ZERO, now_ms));
            }
            memory.error = Some(error.clone());
        }
    }
}
