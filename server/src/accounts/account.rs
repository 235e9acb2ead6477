//! One watched account: its upstream, its own cache with single-flight, and what the server
//! remembers of it (the last good balance, the latest error) for `/v1/accounts`.
//!
//! Each account has its own cache slot, so a hundred requests for one account cost one upstream
//! call and two accounts cost two. A real upstream is never asked more often than its
//! provider's politeness floor (the provider table's `min_gap_ms`): the cache keeps a reading
//! for the longer of `--cache-seconds` and the floor, and across processes the floor's request
//! times ([`crate::floor`]) hold it: the time is written before each request, and a request
//! within the floor of the key's last one (a restart, a `check` run on the same data
//! directory) waits for the floor. A restart answers meanwhile from the last reading the alert
//! memory kept ([`Account::restore`]). A simulated account has no floor (it protects no API,
//! and the demo wants a changed scenario seen at once).
//!
//! Every good reading is folded into the account's balance history (the core's
//! `history::fold`, bounded), written to the data directory when there is one
//! (`crate::store`, on a blocking thread: the reading's answer waits for its own account's
//! file, never for another's), and turned into a [`Forecast`] with the core's `forecast::spend_rate` and
//! `forecast::runway`: the server only keeps and shows what the core decides. A simulated
//! account without a stored history starts with the one its model gives for the past week
//! (`MockAccount::backfill`); a real account's history is only ever its readings.
//!
//! A check of a thread plan (CaptchaAI) reads the balance and `threadsinfo` in one pass of the
//! floor and one cache slot ([`crate::upstream::source`]); the threads go to the monitor first
//! (the core's order), so an `ERROR_ZERO_BALANCE` while money remains (all threads busy, no
//! active plan: the core's diagnosis) is kept as an error beside the last balance, not as a
//! reading of zero, here, in the metrics and in the alerts alike.

use crate::accounts::cache::SingleFlight;
use crate::alerts::alerting::{Alerts, Known};
use crate::clock::Clock;
use crate::floor::Floors;
use crate::metrics::{AccountLabels, Metrics};
use crate::store::Store;
use crate::upstream::answer::Verdict;
use crate::upstream::mock::MockAccount;
use crate::upstream::source::Source;
use captchaai_balance::costs::RateTable;
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::forecast::{runway, spend_rate, NotYet, Runway};
use captchaai_balance::history::{fold, last_top_up, HistoryView, Point, TopUp};
use captchaai_balance::i18n::Lang;
use captchaai_balance::level::BalanceLevel;
use captchaai_balance::money::Money;
use captchaai_balance::provider::ProviderId;
use captchaai_balance::threads::Diagnosis;
use captchaai_balance::view::provider_label;
use serde::Serialize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::warn;

/// The longest sleep of a request waiting for the politeness floor between two looks at the
/// clock (a manual test clock is noticed within this).
const FLOOR_TICK_MS: i64 = 1000;

/// History files written at once, at most (each a write and an `fsync` on the blocking pool):
/// the first readings of ten thousand accounts queue here instead of holding a blocking thread
/// and a file descriptor each while the disk catches up.
static HISTORY_WRITES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

/// What the server remembers of an account between readings.
#[derive(Debug, Default, Clone)]
struct Memory {
    /// The last good balance and when it was read (epoch ms).
    last_good: Option<(Money, i64)>,
    /// The latest reading's error, if it failed.
    error: Option<ApiError>,
    /// What that error meant for a thread plan whose money remains (the core's diagnosis):
    /// then it is not a reading of zero, and the level stays the balance's.
    diagnosis: Option<Diagnosis>,
    /// Good readings, oldest first, bounded by the core's compaction.
    history: Vec<Point>,
    /// Bumped at every change of `history`: the order of its writes to disk.
    version: u64,
}

/// Why a forecast figure is `null`: a stable code for the admin view and other clients.
pub const NOTE_NOT_ENOUGH_HISTORY: &str = "not_enough_history";
/// The spend rate is known but nothing (or less than nothing) is spent: no runway.
pub const NOTE_NOT_SPENDING: &str = "not_spending";

/// The core's reasons for "no spend rate yet", as notes. All three say the same to a reader:
/// wait for more readings.
#[rustfmt::skip]
const NOT_YET_NOTES: [(NotYet, &str); 3] = [
    (NotYet::NoReadings,     NOTE_NOT_ENOUGH_HISTORY),
    (NotYet::TooFewReadings, NOTE_NOT_ENOUGH_HISTORY),
    (NotYet::TooShort,       NOTE_NOT_ENOUGH_HISTORY),
];

/// Where an account's balance is going, from its history, as of its latest good reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forecast {
    /// Spend per hour (the core's estimator), `None` until enough history.
    pub spend_per_hour: Option<Money>,
    /// Time until empty and until low at that rate, `None` when unknown or nothing is spent.
    pub runway: Option<Runway>,
    /// The latest top-up the history holds.
    pub last_top_up: Option<TopUp>,
    /// Why `spend_per_hour` or `runway` is `None`.
    pub note: Option<&'static str>,
}

impl Forecast {
    /// The forecast of a history (oldest first) for an account with this low threshold.
    pub fn of(history: &[Point], threshold: Money) -> Forecast {
        let last_top_up = last_top_up(history);
        match spend_rate(history) {
            Ok(rate) => {
                let runway = history
                    .last()
                    .and_then(|p| runway(p.balance, threshold, rate));
                Forecast {
                    spend_per_hour: Some(rate),
                    runway,
                    last_top_up,
                    note: runway.is_none().then_some(NOTE_NOT_SPENDING),
                }
            }
            Err(why) => Forecast {
                spend_per_hour: None,
                runway: None,
                last_top_up,
                note: NOT_YET_NOTES
                    .iter()
                    .find(|(n, _)| *n == why)
                    .map(|(_, note)| *note),
            },
        }
    }
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
    /// Per-solve rates for the budget check (the provider's examples unless
    /// [`Account::with_rates`] gave the account's own).
    pub rates: RateTable,
    /// The simulated account behind it, in mock mode.
    pub mock: Option<Arc<MockAccount>>,
    source: Arc<Source>,
    ttl: Duration,
    cache: Arc<SingleFlight<Arc<Verdict>>>,
    memory: Arc<Mutex<Memory>>,
    store: Store,
    /// The newest history version on disk (writes of older ones are skipped).
    written: Arc<Mutex<u64>>,
    clock: Clock,
    /// The alerts every upstream answer goes to, and the metrics (set once, at start).
    attached: OnceLock<(Arc<Alerts>, Arc<Metrics>)>,
    /// Set once the data directory's history has been read ([`Account::ensure_loaded`]).
    loaded: OnceLock<()>,
    /// The politeness floor of a real upstream's key, across processes.
    floor: Option<Arc<Floor>>,
    /// Rung after every reading the monitor observed (the watcher looks at its schedule again).
    observed: Arc<Notify>,
}

/// A key's politeness floor: where its request times are kept, its id there, and the gap.
#[derive(Debug)]
struct Floor {
    floors: Arc<Floors>,
    id: String,
    gap_ms: i64,
}

impl Floor {
    /// When the floor lets this key ask again (epoch ms); `None`: now. A time from the future
    /// (a clock that went back) is not trusted.
    fn allows_at(&self, now_ms: i64) -> Option<i64> {
        self.floors
            .last(&self.id)
            .filter(|&at| at <= now_ms)
            .map(|at| at.saturating_add(self.gap_ms))
            .filter(|&allowed| allowed > now_ms)
    }

    /// Waits (a tick at a time, so a manual clock moves it too) until the floor allows a
    /// request, then records the request's time before it is sent.
    async fn pass(self: Arc<Self>, clock: &Clock) {
        while let Some(allowed) = self.allows_at(clock.epoch_ms()) {
            let wait = allowed
                .saturating_sub(clock.epoch_ms())
                .clamp(1, FLOOR_TICK_MS);
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1))).await;
        }
        let now = clock.epoch_ms();
        let floor = Arc::clone(&self);
        let marked = tokio::task::spawn_blocking(move || floor.floors.mark(&floor.id, now)).await;
        if let Ok(Err(error)) = marked {
            warn!(error = %error, "cannot write the politeness floor's request time; it is kept in memory");
        }
    }
}

/// `GET /v1/accounts/{name}`: one account as the admin view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// Account name.
    pub name: String,
    /// Provider id.
    pub provider: ProviderId,
    /// The provider's name as people know it (`CaptchaAI`; the custom rows in English), for a
    /// page that shows it.
    pub provider_label: String,
    /// The last good balance, exact decimal (`null` before the first).
    pub balance: Option<Money>,
    /// `ok`, `low`, `empty` or `unknown` (the core's level for the balance, the latest error
    /// and the threshold).
    pub level: BalanceLevel,
    /// When `balance` was read (epoch ms).
    pub read_at: Option<i64>,
    /// The low-balance threshold, exact decimal.
    pub threshold: Money,
    /// The latest reading's error (`null` when it was a balance): the core's error as it
    /// serializes, `{code, detail}` (the stable code and the short, key-free description of
    /// what was seen, `HTTP 502` …).
    pub error: Option<ApiError>,
    /// Spend per hour, exact decimal (`null` until enough history).
    pub spend_per_hour: Option<Money>,
    /// Seconds from the latest good reading until the balance is empty at that rate (`null`
    /// when unknown or nothing is spent).
    pub runway_seconds: Option<i64>,
    /// The same until it falls below the threshold (0 when it is below already).
    pub runway_low_seconds: Option<i64>,
    /// The latest top-up in the history: the core's, `{at, amount}` (epoch ms of the reading
    /// that showed it; how much the balance rose, exact decimal).
    pub last_top_up: Option<TopUp>,
    /// Why the figures above are `null`: `not_enough_history` or `not_spending`.
    pub forecast_note: Option<&'static str>,
    /// A thread plan's threads (CaptchaAI), from the latest `threadsinfo` reading; `null` for
    /// other providers and before a reading.
    pub threads: Option<u32>,
    /// Its busy threads then.
    pub working_threads: Option<u32>,
    /// The same in words, as the extension and the widget say it: `"3 of 10 threads busy"`,
    /// `"All 10 threads busy"`, `"No active plan"` (`"… · out of date"` when the latest request
    /// failed or the reading is old), `null` when `threads` is.
    pub threads_text: Option<String>,
    /// What the latest check's error means for a thread plan whose money remains:
    /// `all_threads_busy` or `no_active_plan` (the core's diagnosis of `ERROR_ZERO_BALANCE` and
    /// `ERROR_NO_SLOT_AVAILABLE`); `null` otherwise.
    pub diagnosis: Option<Diagnosis>,
}

/// What the budget check reads of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The last good balance (`None` before the first).
    pub balance: Option<Money>,
    /// The core's level, as `/v1/accounts` shows it.
    pub level: BalanceLevel,
    /// Seconds until empty at the current spend rate, when known.
    pub runway_seconds: Option<i64>,
}

impl Account {
    /// An account reading from `source`, its readings kept for `ttl` (lengthened to the
    /// provider's floor for a real upstream), its history read back from `store`, a real
    /// upstream's request times kept in `floors`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        provider: ProviderId,
        threshold: Money,
        source: Source,
        ttl: Duration,
        clock: Clock,
        store: Store,
        floors: &Arc<Floors>,
    ) -> Account {
        let gap_ms = provider.info().min_gap_ms;
        let (ttl, mock, floor) = match &source {
            Source::Proxy(proxy) => {
                let floor = Floor {
                    floors: Arc::clone(floors),
                    id: Floors::id(&proxy.origin(), proxy.key().expose()),
                    gap_ms,
                };
                let gap = Duration::from_millis(u64::try_from(gap_ms).unwrap_or(0));
                (ttl.max(gap), None, Some(Arc::new(floor)))
            }
            Source::Mock(mock) => (ttl, Some(Arc::clone(mock)), None),
        };
        Account {
            name: name.to_string(),
            provider,
            threshold,
            rates: RateTable::from_nanos(provider.info().rates),
            mock,
            source: Arc::new(source),
            ttl,
            cache: SingleFlight::new(ttl, clock.clone()),
            memory: Arc::default(),
            store,
            written: Arc::default(),
            clock,
            attached: OnceLock::new(),
            loaded: OnceLock::new(),
            floor,
            observed: Arc::new(Notify::new()),
        }
    }

    /// The same account with these per-solve rates (the config file's, for `/v1/budget` and
    /// `check --type`).
    pub fn with_rates(self, rates: RateTable) -> Account {
        Account { rates, ..self }
    }

    /// Reads what the data directory kept of this account, once, on first use (a request, the
    /// watcher, or the start's warm-up in the background, whichever comes first: ten thousand
    /// histories are not read before the server answers): the history, and then what
    /// [`Account::restore`] takes over, and the forecast in the metrics.
    pub fn ensure_loaded(&self) {
        self.loaded.get_or_init(|| {
            let history = Account::initial_history(
                &self.name,
                self.provider,
                self.threshold,
                self.mock.as_deref(),
                &self.store,
            );
            let forecast = Forecast::of(&history, self.threshold);
            self.memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .history = history;
            if let Some((alerts, metrics)) = self.attached.get() {
                if let Some(known) = alerts.known(&self.name) {
                    self.restore(&known, metrics);
                }
                // A history read back speaks at once, before the first reading.
                metrics.record_forecast(&self.name, forecast.spend_per_hour, forecast.runway);
            }
        });
    }

    /// Takes over what the data directory kept of the last check before this start (a real
    /// upstream only): the last good balance (the newer of the alert memory's and the
    /// history's, which is written before a reading is answered) and the last error, for
    /// `/v1/accounts` and the metrics, and the latest reading for what is left of its cache
    /// period, so a restart within the politeness floor answers from it instead of asking the
    /// API again.
    fn restore(&self, known: &Known, metrics: &Metrics) {
        if self.floor.is_none() {
            return;
        }
        let now = self.clock.epoch_ms();
        let kept = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .history
            .last()
            .map(|p| (p.balance, p.at));
        let last_good = match (known.last_good, kept) {
            (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
            (a, b) => a.or(b),
        };
        let latest_error = known
            .last_error
            .clone()
            .filter(|(_, at)| last_good.is_none_or(|(_, good)| *at >= good));
        let diagnosis = match (&latest_error, self.attached.get()) {
            (Some((error, at)), Some((alerts, _))) => alerts.capacity(&self.name, error, *at),
            _ => None,
        };
        {
            let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
            memory.last_good = last_good;
            memory.error = latest_error.as_ref().map(|(error, _)| error.clone());
            memory.diagnosis = diagnosis;
        }
        let age = |at: i64| Duration::from_millis(u64::try_from(now - at).unwrap_or(u64::MAX));
        if let Some((balance, at)) = last_good.filter(|(_, at)| *at <= now) {
            metrics.restore_balance(&self.name, balance, age(at));
        }
        if let Some((counts, _)) = known.threads {
            metrics.record_threads(&self.name, counts);
        }
        let latest = match (latest_error, last_good) {
            (Some((error, at)), _) => Some((Err(error), at)),
            (None, Some((balance, at))) => Some((Ok(balance), at)),
            (None, None) => None,
        };
        if let Some((outcome, at)) = latest.filter(|(_, at)| *at <= now) {
            let mut verdict = Verdict::from_outcome(outcome);
            if self.provider.info().threads {
                // The same check's threads: the newer of the kept reading and failure (a
                // memory from before threads were read has neither: said as not read yet).
                let threads = match (&known.threads, &known.threads_error) {
                    (Some((_, good)), Some((error, failed))) if failed >= good => {
                        Err(error.clone())
                    }
                    (Some((counts, _)), _) => Ok(*counts),
                    (None, Some((error, _))) => Err(error.clone()),
                    (None, None) => Err(ApiError::new(
                        ErrorCode::ServerError,
                        "threads not read since the restart",
                    )),
                };
                verdict = verdict.with_threads(threads);
            }
            self.cache.seed(Arc::new(verdict), age(at));
        }
    }

    /// The API's origin (`scheme://host:port`) of a real upstream; `None` for a simulated
    /// account.
    pub fn origin(&self) -> Option<String> {
        match &*self.source {
            Source::Proxy(proxy) => Some(proxy.origin()),
            Source::Mock(_) => None,
        }
    }

    /// The provider's politeness floor for a real upstream (ms), `None` for a simulated one.
    pub fn floor_ms(&self) -> Option<i64> {
        self.floor.as_ref().map(|f| f.gap_ms)
    }

    /// When the politeness floor lets this account's key ask again (epoch ms), if later than
    /// now: its last request, from this process or another, was within the floor.
    pub fn floor_allows_at(&self, now_ms: i64) -> Option<i64> {
        self.floor.as_ref().and_then(|f| f.allows_at(now_ms))
    }

    /// Rung after every reading the monitor observed.
    pub fn observed(&self) -> &Notify {
        &self.observed
    }

    /// Sends every upstream answer of this account through `alerts`, and what the data
    /// directory kept of it to `metrics`, from now on (once; later calls are ignored). Call
    /// before the account is used.
    pub fn attach(&self, alerts: Arc<Alerts>, metrics: Arc<Metrics>) {
        let _ = self.attached.set((alerts, metrics));
    }

    /// The stored history; none stored (or unusable) and a simulated account: the history its
    /// model gives for the past days, stored at once so a restart keeps it instead of filling
    /// it in again. A real account's history is only ever its readings.
    fn initial_history(
        name: &str,
        provider: ProviderId,
        threshold: Money,
        mock: Option<&MockAccount>,
        store: &Store,
    ) -> Vec<Point> {
        let stored = store.load(name);
        let Some(mock) = mock.filter(|_| stored.is_empty()) else {
            return stored;
        };
        let filled = mock.backfill(threshold);
        if !filled.is_empty() {
            if let Err(error) = store.save(name, provider.as_str(), &filled) {
                warn!(account = name, error = %error, "cannot write the history file; it is kept in memory");
            }
        }
        filled
    }

    /// `GET /v1/accounts/{name}/history`: the history as it stands, oldest first. Never reads
    /// the upstream: a client reads it once to seed its own history, then reads balances.
    pub fn history(&self) -> HistoryView {
        let memory = self.memory();
        HistoryView {
            account: self.name.clone(),
            provider: self.provider,
            points: memory.history.clone(),
        }
    }

    /// How long a reading is reused: `--cache-seconds`, lengthened to the provider's floor for
    /// a real upstream. The `check` command applies it across runs too.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The history's points, oldest first.
    pub fn points(&self) -> Vec<Point> {
        let memory = self.memory();
        memory.history.clone()
    }

    /// The newest reading of the history (read back from the data directory at start), if any.
    pub fn latest(&self) -> Option<Point> {
        let memory = self.memory();
        memory.history.last().copied()
    }

    /// The forecast from the history as it stands.
    pub fn forecast(&self) -> Forecast {
        let memory = self.memory();
        Forecast::of(&memory.history, self.threshold)
    }

    /// The memory, read from the data directory first if it was not yet.
    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.ensure_loaded();
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
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
        // What a restart kept answers within the floor: read before the cache is looked at.
        self.ensure_loaded();
        let source = Arc::clone(&self.source);
        let metrics = Arc::clone(metrics);
        let keeper = Keeper {
            memory: Arc::clone(&self.memory),
            store: self.store.clone(),
            written: Arc::clone(&self.written),
            name: self.name.clone(),
            provider: self.provider.as_str(),
            threshold: self.threshold,
        };
        let clock = self.clock.clone();
        let alerts = self.attached.get().map(|(alerts, _)| Arc::clone(alerts));
        let floor = self.floor.clone();
        let observed = Arc::clone(&self.observed);
        let thread_plan = self.provider.info().threads;
        let reading = self
            .cache
            .get(move || async move {
                if let Some(floor) = floor {
                    floor.pass(&clock).await;
                }
                let verdict = source.fetch(&keeper.name, thread_plan).await;
                let now = clock.epoch_ms();
                let threads = verdict.threads.as_ref().map(|t| &t.outcome);
                // The threads first, as the core asks: the balance's "no money" is read beside
                // them.
                if let Some(threads) = threads {
                    metrics.record_threads_request(&keeper.name);
                    if let Some(alerts) = &alerts {
                        alerts.observe_threads(&keeper.name, threads, now);
                    }
                    if let Ok(counts) = threads {
                        metrics.record_threads(&keeper.name, *counts);
                    }
                }
                let capacity = match (&alerts, &verdict.outcome) {
                    (Some(alerts), Err(error)) if thread_plan => {
                        alerts.capacity(&keeper.name, error, now)
                    }
                    _ => None,
                };
                let reading = reading_of(&verdict.outcome, capacity);
                metrics.record_upstream(&keeper.name, &verdict.outcome, reading);
                let (forecast, history) = keeper
                    .remember(&verdict.outcome, reading, capacity, now)
                    .await;
                metrics.record_forecast(&keeper.name, forecast.spend_per_hour, forecast.runway);
                // Only here, where the upstream answered: a cached reading is never observed.
                if let Some(alerts) = alerts {
                    let runway = forecast.runway.map(|r| r.to_empty_ms / 1000);
                    alerts.observe(&keeper.name, &verdict.outcome, now, runway, &history);
                    observed.notify_one();
                }
                Arc::new(verdict)
            })
            .await;
        reading
            .unwrap_or_else(|| Arc::new(Verdict::failure(ErrorCode::ServerError, "internal error")))
    }

    /// The account as `/v1/accounts` shows it (reads it first, through the cache).
    pub async fn view(&self, metrics: &Arc<Metrics>) -> AccountView {
        self.verdict(metrics).await;
        let (memory, level, forecast) = self.known();
        let seconds = |ms: i64| ms / 1000;
        let threads = self.threads_view();
        AccountView {
            name: self.name.clone(),
            provider: self.provider,
            provider_label: provider_label(self.provider, Lang::En),
            balance: memory.last_good.map(|(balance, _)| balance),
            level,
            read_at: memory.last_good.map(|(_, at)| at),
            threshold: self.threshold,
            error: memory.error,
            spend_per_hour: forecast.spend_per_hour,
            runway_seconds: forecast.runway.map(|r| seconds(r.to_empty_ms)),
            runway_low_seconds: forecast.runway.map(|r| seconds(r.to_low_ms)),
            last_top_up: forecast.last_top_up,
            forecast_note: forecast.note,
            threads: threads.as_ref().and_then(|t| t.threads),
            working_threads: threads.as_ref().and_then(|t| t.working_threads),
            threads_text: threads.filter(|t| t.threads.is_some()).map(|t| t.text),
            diagnosis: memory.diagnosis,
        }
    }

    /// A thread plan's capacity as the monitor knows it (the core's view of it), `None` for
    /// another provider or before any `threadsinfo` answer.
    pub fn threads_view(&self) -> Option<captchaai_balance::view::ThreadsView> {
        let (alerts, _) = self.attached.get()?;
        alerts.threads_view(&self.name, self.clock.epoch_ms())
    }

    /// What an error a script of this account reports means now (the core's
    /// `reported_error_view`, English), after a look at the account through its cache (the
    /// threads of a fresh check tell all threads busy from no active plan).
    pub async fn reported_error(
        &self,
        metrics: &Arc<Metrics>,
        code: ErrorCode,
    ) -> Option<captchaai_balance::view::ErrorView> {
        self.verdict(metrics).await;
        let (alerts, _) = self.attached.get()?;
        alerts.reported_error(&self.name, code, self.clock.epoch_ms())
    }

    /// What the budget check needs (reads it first, through the cache, like [`Account::view`]).
    pub async fn standing(&self, metrics: &Arc<Metrics>) -> Standing {
        self.verdict(metrics).await;
        let (memory, level, forecast) = self.known();
        Standing {
            balance: memory.last_good.map(|(balance, _)| balance),
            level,
            runway_seconds: forecast.runway.map(|r| r.to_empty_ms / 1000),
        }
    }

    /// What the server knows of the account now: its memory, the core's level and forecast.
    fn known(&self) -> (Memory, BalanceLevel, Forecast) {
        let memory = self.memory().clone();
        let last_good = memory.last_good.map(|(balance, _)| balance);
        let level = match (memory.diagnosis, last_good) {
            // As the core's `MonitorState::level`: a thread plan's "no money" while money
            // remains is about threads, not money.
            (Some(_), Some(balance)) => BalanceLevel::of(balance, self.threshold),
            _ => BalanceLevel::current(last_good, memory.error.as_ref(), self.threshold),
        };
        let forecast = Forecast::of(&memory.history, self.threshold);
        (memory, level, forecast)
    }

    /// Forgets the cached reading (the simulated account was changed).
    pub fn invalidate(&self) {
        self.cache.invalidate();
    }
}

/// The balance a check read: its balance, or 0 for `ERROR_ZERO_BALANCE` (a definite answer:
/// the account is empty) unless `diagnosis` says a thread plan's money remains (all threads
/// busy, no active plan: the balance was not read).
fn reading_of(outcome: &Result<Money, ApiError>, diagnosis: Option<Diagnosis>) -> Option<Money> {
    match outcome {
        Ok(balance) => Some(*balance),
        Err(error) if error.code == ErrorCode::ZeroBalance && diagnosis.is_none() => {
            Some(Money::ZERO)
        }
        Err(_) => None,
    }
}

/// What a fetch needs to keep its reading (moved into the fetch task).
struct Keeper {
    memory: Arc<Mutex<Memory>>,
    store: Store,
    written: Arc<Mutex<u64>>,
    name: String,
    provider: &'static str,
    threshold: Money,
}

impl Keeper {
    /// Keeps what a reading says and returns the forecast after it. `ERROR_ZERO_BALANCE` is a
    /// good reading of 0 as well as an error (like the metrics): the account state is known.
    ///
    /// A good reading goes into the history, and the history to disk, before the answer is
    /// sent: the file is small (at most the core's `HISTORY_POINTS` readings, about 25 KB) and
    /// written at most once per cache period, on the blocking pool (never on a thread that
    /// answers requests), this account's file only. Two writes of one account never
    /// interleave, and an older history is never written over a newer one. A failed write is
    /// logged and the reading is still served.
    /// Returns the forecast and the history after the reading.
    async fn remember(
        &self,
        outcome: &Result<Money, ApiError>,
        reading: Option<Money>,
        diagnosis: Option<Diagnosis>,
        now_ms: i64,
    ) -> (Forecast, Vec<Point>) {
        let (forecast, history, changed) = self.fold(outcome, reading, diagnosis, now_ms);
        if let Some(version) = changed {
            let (store, written) = (self.store.clone(), Arc::clone(&self.written));
            let (name, provider) = (self.name.clone(), self.provider);
            let points = history.clone();
            let turn = HISTORY_WRITES.acquire().await;
            let saved = tokio::task::spawn_blocking(move || {
                let mut newest = written.lock().unwrap_or_else(|p| p.into_inner());
                if version <= *newest {
                    return Ok(());
                }
                *newest = version;
                store.save(&name, provider, &points)
            })
            .await;
            drop(turn);
            if let Ok(Err(error)) = saved {
                warn!(account = self.name, error = %error, "cannot write the history file; it is kept in memory");
            }
        }
        (forecast, history)
    }

    /// The reading in memory; the forecast and the history after it, and the history's
    /// version when it changed and is to be written.
    fn fold(
        &self,
        outcome: &Result<Money, ApiError>,
        good: Option<Money>,
        diagnosis: Option<Diagnosis>,
        now_ms: i64,
    ) -> (Forecast, Vec<Point>, Option<u64>) {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory.error = outcome.as_ref().err().cloned();
        memory.diagnosis = diagnosis;
        if let Some(balance) = good {
            memory.last_good = Some((balance, now_ms));
            fold(
                &mut memory.history,
                Point {
                    at: now_ms,
                    balance,
                },
                self.threshold,
            );
            memory.version += 1;
        }
        let forecast = Forecast::of(&memory.history, self.threshold);
        let changed = good
            .filter(|_| self.store.on_disk())
            .map(|_| memory.version);
        (forecast, memory.history.clone(), changed)
    }
}
