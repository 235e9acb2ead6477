//! The monitor: readings and time in, decisions out.
//!
//! `MonitorState` is what the extension and the widget remember between checks (stored in
//! chrome.storage by the extension). [`MonitorState::plan`] says whether to ask the API now,
//! [`MonitorState::observe`] folds one answer in and says which alert fires. No I/O, no clock:
//! the caller passes `now` in epoch milliseconds.

use crate::alerts::{AlertDecision, AlertInput, AlertState};
use crate::error::{short_detail, ApiError, ErrorCode, ErrorKind, RetryPolicy};
use crate::forecast::{
    is_spike, next_delay_ms, polling_rate, spend_rate, time_to, PredictiveInput, PredictiveState,
    SpikeState,
};
use crate::history::{self, is_top_up, Point, Sample};
use crate::level::{is_stale, BalanceLevel};
use crate::money::Money;
use crate::schedule::{self, trusted_time, Trigger, CACHE_MS, DUE_SLACK_MS};
use crate::settings::Settings;
use crate::stored;
use crate::threads::{self, Diagnosis, ThreadsOutcome, ThreadsReading, THREADS_HISTORY_LIMIT};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Readings kept for the history (about 3.5 days at the default 10-minute interval).
pub const HISTORY_LIMIT: usize = 500;
/// Requesters (keys, proxies) whose last request time is remembered across account switches:
/// more than anyone switches between within the one-minute floor.
pub const REQUESTER_LIMIT: usize = 8;

/// What one balance check produced.
pub type Outcome = Result<Money, ApiError>;

/// An [`Outcome`] as it crosses to JS, tagged with the account (`Settings::account_id`) it was
/// fetched for, so a late answer for old settings can be dropped:
/// `{ account, ok: true, balance }` or `{ account, ok: false, code, detail }` (the other
/// members null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct TaggedOutcome {
    /// The account asked for, or null (an answer classified without a request).
    pub account: Option<String>,
    /// A balance was read.
    pub ok: bool,
    /// The balance, when `ok`.
    #[serde(default)]
    pub balance: Option<Money>,
    /// What went wrong, when not `ok`.
    #[serde(default)]
    pub code: Option<ErrorCode>,
    /// A short, key-free description of what was seen, when not `ok`.
    #[serde(default)]
    pub detail: Option<String>,
    /// The same check's `threadsinfo` answer, for a provider that sells thread plans.
    #[serde(default)]
    pub threads: Option<TaggedThreads>,
}

/// A `threadsinfo` answer as it crosses to JS: `{ ok: true, threads, workingThreads }` or
/// `{ ok: false, code, detail }` (the other members null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(rename_all = "camelCase")]
pub struct TaggedThreads {
    /// The threads were read.
    pub ok: bool,
    /// The plan's threads, when `ok`.
    #[serde(default)]
    pub threads: Option<u32>,
    /// Busy threads, when `ok`.
    #[serde(default)]
    pub working_threads: Option<u32>,
    /// What went wrong, when not `ok`.
    #[serde(default)]
    pub code: Option<ErrorCode>,
    /// A short, key-free description of what was seen, when not `ok`.
    #[serde(default)]
    pub detail: Option<String>,
}

impl TaggedThreads {
    /// An answer as it crosses to JS.
    pub fn new(outcome: &ThreadsOutcome) -> TaggedThreads {
        let (counts, error) = match outcome {
            Ok(counts) => (Some(*counts), None),
            Err(e) => (None, Some(e)),
        };
        TaggedThreads {
            ok: outcome.is_ok(),
            threads: counts.map(|c| c.threads),
            working_threads: counts.map(|c| c.working_threads),
            code: error.map(|e| e.code),
            detail: error.map(|e| e.detail.clone()),
        }
    }

    /// The answer again; anything that is neither shape is a malformed one, never a count.
    pub fn outcome(&self) -> ThreadsOutcome {
        match (self.ok, self.threads, self.working_threads, self.code) {
            (true, Some(threads), Some(working_threads), _) => Ok(threads::Threads {
                threads,
                working_threads,
            }),
            (false, _, _, Some(code)) => Err(ApiError::new(
                code,
                short_detail(self.detail.as_deref().unwrap_or_default()),
            )),
            _ => Err(ApiError::new(ErrorCode::Malformed, "invalid outcome")),
        }
    }
}

impl TaggedOutcome {
    /// Tags an outcome with the account it was fetched for.
    pub fn new(outcome: &Outcome, account: Option<String>) -> TaggedOutcome {
        let (balance, error) = match outcome {
            Ok(balance) => (Some(*balance), None),
            Err(e) => (None, Some(e)),
        };
        TaggedOutcome {
            account,
            ok: outcome.is_ok(),
            balance,
            code: error.map(|e| e.code),
            detail: error.map(|e| e.detail.clone()),
            threads: None,
        }
    }

    /// The same with the check's `threadsinfo` answer.
    pub fn with_threads(self, threads: &ThreadsOutcome) -> TaggedOutcome {
        TaggedOutcome {
            threads: Some(TaggedThreads::new(threads)),
            ..self
        }
    }

    /// The outcome again; anything that is neither shape is a malformed answer, never a
    /// balance.
    pub fn outcome(&self) -> Outcome {
        match (self.ok, self.balance, self.code) {
            (true, Some(balance), _) => Ok(balance),
            (false, _, Some(code)) => Err(ApiError::new(
                code,
                short_detail(self.detail.as_deref().unwrap_or_default()),
            )),
            _ => Err(ApiError::new(ErrorCode::Malformed, "invalid outcome")),
        }
    }

    /// Reads what JS passed in; garbage reads as a malformed outcome for no account.
    pub fn read(value: &Value) -> TaggedOutcome {
        TaggedOutcome::deserialize(value).unwrap_or_else(|_| {
            TaggedOutcome::new(
                &Err(ApiError::new(ErrorCode::Malformed, "invalid outcome")),
                None,
            )
        })
    }
}

/// A balance read from the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct Reading {
    /// The balance.
    pub balance: Money,
    /// When it was read (epoch ms).
    pub at: i64,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct FailedCheck {
    /// What went wrong.
    pub error: ApiError,
    /// When (epoch ms).
    pub at: i64,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// One point of the balance history, tagged with the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct HistoryPoint {
    /// When (epoch ms).
    pub at: i64,
    /// The balance then.
    pub balance: Money,
    /// `Settings::account_id` of the account.
    pub account: String,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// Written as a struct, whose member names serde-wasm-bindgen caches, unless a newer build's
/// members ride along (then as a map): a full history is hundreds of points, and writing each
/// as a map took `observe` from 0.8 to 1.4 ms (`make bench`).
impl Serialize for HistoryPoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.extra.is_empty() {
            let mut point = serializer.serialize_struct("HistoryPoint", 3)?;
            point.serialize_field("at", &self.at)?;
            point.serialize_field("balance", &self.balance)?;
            point.serialize_field("account", &self.account)?;
            point.end()
        } else {
            let mut point = serializer.serialize_map(Some(3 + self.extra.len()))?;
            point.serialize_entry("at", &self.at)?;
            point.serialize_entry("balance", &self.balance)?;
            point.serialize_entry("account", &self.account)?;
            for (name, value) in &self.extra {
                point.serialize_entry(name, value)?;
            }
            point.end()
        }
    }
}

/// Written like [`HistoryPoint`], for the same reason (a few per account).
impl Serialize for RequestMark {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.extra.is_empty() {
            let mut mark = serializer.serialize_struct("RequestMark", 2)?;
            mark.serialize_field("requester", &self.requester)?;
            mark.serialize_field("at", &self.at)?;
            mark.end()
        } else {
            let mut mark = serializer.serialize_map(Some(2 + self.extra.len()))?;
            mark.serialize_entry("requester", &self.requester)?;
            mark.serialize_entry("at", &self.at)?;
            for (name, value) in &self.extra {
                mark.serialize_entry(name, value)?;
            }
            mark.end()
        }
    }
}

/// A stored point is a reading for the forecast (src/history.rs, src/forecast.rs).
impl Sample for HistoryPoint {
    fn at(&self) -> i64 {
        self.at
    }
    fn balance(&self) -> Money {
        self.balance
    }
}

/// When one requester (`Settings::requester_id`, a hash) last asked the API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct RequestMark {
    /// `Settings::requester_id`.
    pub requester: String,
    /// When (epoch ms).
    pub at: i64,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// Everything the monitor remembers. Read with `stored::read`: whatever cannot be read is
/// left empty on its own (a bad history point is dropped, the rest stays).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(default, rename_all = "camelCase")]
pub struct MonitorState {
    /// The account these readings belong to.
    pub account: String,
    /// The last balance read successfully.
    pub last_good: Option<Reading>,
    /// The latest check's failure; cleared by a successful check.
    pub last_error: Option<FailedCheck>,
    /// When the API was last asked (success or not).
    pub last_request_at: Option<i64>,
    /// Consecutive failed checks (drives the backoff).
    pub failures: u32,
    /// The alert machine's memory.
    #[serde(deserialize_with = "stored::lenient")]
    pub alerts: AlertState,
    /// Past balances, oldest first, at most [`HISTORY_LIMIT`].
    #[serde(deserialize_with = "read_history")]
    pub history: Vec<HistoryPoint>,
    /// A request went out ([`MonitorState::begin_check`]) and its answer is not folded in
    /// yet. Stored before the request, so a worker killed mid-request wakes to a retry, not
    /// to silence.
    pub checking: bool,
    /// Last request time per requester, newest last, at most [`REQUESTER_LIMIT`]; survives
    /// account switches like the history.
    #[serde(deserialize_with = "read_requests")]
    pub requests: Vec<RequestMark>,
    /// A thread plan's readings (`threadsinfo`), oldest first, at most
    /// [`THREADS_HISTORY_LIMIT`]; empty for a provider without thread plans.
    #[serde(deserialize_with = "read_threads")]
    pub threads: Vec<ThreadsReading>,
    /// The latest `threadsinfo` request's failure; cleared by a reading.
    pub threads_failed: Option<FailedCheck>,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// The stored history: the points that read, the newest [`HISTORY_LIMIT`].
fn read_history<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<HistoryPoint>, D::Error> {
    let mut history = stored::list(d)?;
    keep_newest(&mut history, HISTORY_LIMIT);
    Ok(history)
}

/// The stored request marks that read, at most [`REQUESTER_LIMIT`], the newest (as
/// `mark_request` keeps).
fn read_requests<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RequestMark>, D::Error> {
    let mut requests = stored::list(d)?;
    keep_newest(&mut requests, REQUESTER_LIMIT);
    Ok(requests)
}

/// The stored thread readings that read, the newest [`THREADS_HISTORY_LIMIT`].
fn read_threads<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ThreadsReading>, D::Error> {
    let mut readings = stored::list(d)?;
    keep_newest(&mut readings, THREADS_HISTORY_LIMIT);
    Ok(readings)
}

/// Why a check will or will not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum PlanReason {
    /// Ask now.
    Due,
    /// A reading from the last 5 minutes is reused.
    Cached,
    /// The next check is later.
    NotDue,
    /// The key was asked less than a minute ago.
    TooSoon,
    /// The key was rejected: nothing automatic asks it again; Refresh, Test key and a Save
    /// may (a key the API rejected, not one the local check refused).
    KeyRejected,
    /// No usable key.
    NoKey,
    /// The endpoint is plain `http://` on another machine and the user has not allowed the
    /// key to travel unencrypted (`Settings::sends_key_in_clear`).
    PlainHttp,
    /// Backing off after a ban or rate limit.
    BackingOff,
    /// The caller named a trigger this build does not know: nothing is sent.
    UnknownTrigger,
}

impl PlanReason {
    /// The stable name (its serialized form, tested).
    pub fn as_str(self) -> &'static str {
        match self {
            PlanReason::Due => "due",
            PlanReason::Cached => "cached",
            PlanReason::NotDue => "not_due",
            PlanReason::TooSoon => "too_soon",
            PlanReason::KeyRejected => "key_rejected",
            PlanReason::NoKey => "no_key",
            PlanReason::PlainHttp => "plain_http",
            PlanReason::BackingOff => "backing_off",
            PlanReason::UnknownTrigger => "unknown_trigger",
        }
    }

    /// The locale key explaining it (`plan_due` …).
    pub fn message_key(self) -> String {
        format!("plan_{}", self.as_str())
    }
}

/// The answer to "should I ask the API now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Send the request now.
    pub fetch: bool,
    /// Why.
    pub reason: PlanReason,
    /// When the next scheduled check is due (epoch ms), `None` while checks are paused.
    pub next_check_at: Option<i64>,
}

impl MonitorState {
    /// A fresh state for an account, keeping the history and request times of every account
    /// (and what a newer build stored).
    pub fn for_account(self, settings: &Settings) -> MonitorState {
        let account = settings.account_id();
        if account == self.account {
            return self;
        }
        MonitorState {
            account,
            history: self.history,
            requests: self.requests,
            extra: self.extra,
            ..MonitorState::default()
        }
    }

    /// Marks a request as sent now, before it is sent: the floor and the next check time then
    /// hold even if the caller dies before the answer arrives (a service worker stopped
    /// mid-request). Until [`MonitorState::observe`] folds the answer in, the next check is
    /// due one floor later, as after a transient failure.
    pub fn begin_check(self, settings: &Settings, now_ms: i64) -> MonitorState {
        let mut next = self.for_account(settings);
        next.last_request_at = Some(now_ms);
        next.checking = true;
        next.mark_request(settings, now_ms);
        next
    }

    fn mark_request(&mut self, settings: &Settings, now_ms: i64) {
        let requester = settings.requester_id();
        self.requests.retain(|m| m.requester != requester);
        self.requests.push(RequestMark {
            requester,
            at: now_ms,
            extra: Map::new(),
        });
        keep_newest(&mut self.requests, REQUESTER_LIMIT);
    }

    /// When this account's requester last asked the API, from any account that shares it,
    /// ignoring times from the future (a clock that went back).
    pub fn last_asked(&self, settings: &Settings, now_ms: i64) -> Option<i64> {
        let requester = settings.requester_id();
        let marked = self
            .requests
            .iter()
            .filter(|m| m.requester == requester)
            .map(|m| m.at);
        trusted_time(self.last_request_at, now_ms)
            .into_iter()
            .chain(marked.filter(|&at| trusted_time(Some(at), now_ms).is_some()))
            .max()
    }

    fn policy(&self) -> RetryPolicy {
        self.last_error
            .as_ref()
            .map_or(RetryPolicy::Normal, |f| f.error.code.retry_policy())
    }

    /// When the next check is due, or `None` while paused (no key, rejected key).
    pub fn next_check_at(&self, settings: &Settings, now_ms: i64) -> Option<i64> {
        if !settings.can_request() {
            return None;
        }
        let last = self.last_asked(settings, now_ms);
        let policy = self.policy();
        let due = schedule::next_check_at(
            trusted_time(self.last_request_at, now_ms),
            policy,
            self.failures,
            self.polling_interval_ms(settings),
            settings.min_gap_ms(),
            now_ms,
        )?;
        let floor = last.map_or(now_ms, |at| at.saturating_add(settings.min_gap_ms()));
        if self.checking && policy == RetryPolicy::Normal {
            // The answer never came (the caller died): retry once the floor allows, as after
            // a transient failure. A backoff still applies in full.
            return Some(floor);
        }
        // Another account that shares the requester may have asked more recently.
        Some(due.max(floor))
    }

    /// The time between two normal checks: sooner while the balance nears the next line that
    /// alerts at the current spend, later (up to the user's interval) while nothing is spent
    /// (`forecast::next_delay_ms`). The user's interval while nothing good is known.
    pub fn polling_interval_ms(&self, settings: &Settings) -> i64 {
        let interval = settings.interval_ms();
        match (&self.last_good, &self.last_error) {
            (Some(good), None) => next_delay_ms(
                good.balance,
                settings.threshold,
                self.alerts.warned_low,
                polling_rate(&self.own_history()),
                settings.min_gap_ms(),
                interval,
            ),
            _ => interval,
        }
    }

    /// Whether to ask the API now.
    pub fn plan(&self, settings: &Settings, trigger: Trigger, now_ms: i64) -> Plan {
        let next_check_at = self.next_check_at(settings, now_ms);
        let decide = |fetch, reason| Plan {
            fetch,
            reason,
            next_check_at,
        };
        if settings.sends_key_in_clear() {
            return decide(false, PlanReason::PlainHttp);
        }
        if !settings.can_request() {
            return decide(false, PlanReason::NoKey);
        }
        if let Some(failed) = &self.last_error {
            if failed.error.code.retry_policy() == RetryPolicy::StopUntilSettingsChange {
                // Nothing automatic asks a rejected key again. But a key can be fixed where it
                // lives (re-enabled or paid for in the dashboard, an IP allowed): Refresh, Test
                // key and a Save are the user saying so, and each may ask once more, within
                // the floor. A key that failed the local check was never sent and stays
                // refused: asking would not change it.
                let user_may_retry = matches!(trigger, Trigger::Refresh | Trigger::Settings)
                    && failed.error.code != ErrorCode::InvalidKey;
                if !user_may_retry {
                    return decide(false, PlanReason::KeyRejected);
                }
            }
        }
        let since_last = self
            .last_asked(settings, now_ms)
            .map(|at| now_ms.saturating_sub(at));
        if since_last.is_some_and(|d| d < settings.min_gap_ms()) {
            return decide(false, PlanReason::TooSoon);
        }
        if matches!(self.policy(), RetryPolicy::BackOff { .. })
            && next_check_at.is_some_and(|at| now_ms < at)
        {
            return decide(false, PlanReason::BackingOff);
        }
        // Only this account's own answer can be reused (another account may share the key).
        let recent = trusted_time(self.last_request_at, now_ms)
            .is_some_and(|at| now_ms.saturating_sub(at) < CACHE_MS);
        match trigger {
            Trigger::Alarm if next_check_at.is_some_and(|at| now_ms + DUE_SLACK_MS < at) => {
                decide(false, PlanReason::NotDue)
            }
            // Opening a view reuses any recent answer; saving settings only a good one.
            Trigger::Open if recent => decide(false, PlanReason::Cached),
            Trigger::Settings if recent && self.last_error.is_none() => {
                decide(false, PlanReason::Cached)
            }
            _ => decide(true, PlanReason::Due),
        }
    }

    /// Folds one check into the state; returns the new state and the alert it deserves.
    pub fn observe(
        self,
        settings: &Settings,
        outcome: &Outcome,
        now_ms: i64,
    ) -> (MonitorState, AlertDecision) {
        let mut next = self.for_account(settings);
        next.last_request_at = Some(now_ms);
        next.checking = false;
        next.mark_request(settings, now_ms);
        let input = match outcome {
            Ok(balance) => {
                next.last_good = Some(Reading {
                    balance: *balance,
                    at: now_ms,
                    extra: Map::new(),
                });
                next.last_error = None;
                next.failures = 0;
                next.record(*balance, now_ms, settings.threshold);
                AlertInput::Reading(*balance, settings.threshold)
            }
            Err(error) if next.capacity_problem(settings, &error.code, now_ms) => {
                // "No money" from a thread plan whose money remains: every thread busy, or no
                // active plan (src/threads.rs). Not a reading of zero, and not an empty
                // account: the capacity alerts speak for it.
                next.failures = 0;
                next.last_error = Some(FailedCheck {
                    error: error.clone(),
                    at: now_ms,
                    extra: Map::new(),
                });
                return (next, AlertDecision::None);
            }
            Err(error) => {
                if error.code == ErrorCode::ZeroBalance {
                    // A definite answer about the account: its balance is zero right now.
                    next.last_good = Some(Reading {
                        balance: Money::ZERO,
                        at: now_ms,
                        extra: Map::new(),
                    });
                    next.record(Money::ZERO, now_ms, settings.threshold);
                    next.failures = 0;
                } else {
                    next.failures = next.failures.saturating_add(1);
                }
                next.last_error = Some(FailedCheck {
                    error: error.clone(),
                    at: now_ms,
                    extra: Map::new(),
                });
                AlertInput::Failed(error.code)
            }
        };
        let (decision, alerts) = next.alerts.decide(input);
        next.alerts = alerts;
        let decision = match outcome {
            // Also when a level alert was given: a top-up that says "restored" re-arms the
            // predictive alert all the same.
            Ok(balance) => next.forecast_alert(settings, *balance, now_ms, decision),
            Err(_) => decision,
        };
        (next, decision)
    }

    /// Folds one `threadsinfo` answer of this check into the state; returns the capacity alert
    /// it deserves (src/threads.rs). A failure keeps the last reading (shown out of date) and
    /// the alert memory as they were. Fold it before the balance of the same check: a "no
    /// money" answer is read beside it.
    pub fn observe_threads(
        self,
        settings: &Settings,
        outcome: &ThreadsOutcome,
        now_ms: i64,
    ) -> (MonitorState, AlertDecision) {
        let mut next = self.for_account(settings);
        match outcome {
            Ok(reading) => {
                next.threads.push(ThreadsReading::new(*reading, now_ms));
                keep_newest(&mut next.threads, THREADS_HISTORY_LIMIT);
                next.threads_failed = None;
                let (decision, alerts) = threads::decide(&next.alerts, *reading, now_ms);
                next.alerts = alerts;
                (next, decision)
            }
            Err(error) => {
                next.threads_failed = Some(FailedCheck {
                    error: error.clone(),
                    at: now_ms,
                    extra: Map::new(),
                });
                (next, AlertDecision::None)
            }
        }
    }

    /// The latest thread reading, if one was taken within [`CACHE_MS`] before `at` (the same
    /// check, or one close enough to say what a "no money" answer at `at` meant).
    fn threads_near(&self, at: i64) -> Option<threads::Threads> {
        self.threads
            .last()
            .filter(|r| r.at <= at && at.saturating_sub(r.at) < CACHE_MS)
            .map(ThreadsReading::counts)
    }

    /// True when `code` from a thread plan means capacity, not money ([`threads::diagnose`]).
    fn capacity_problem(&self, settings: &Settings, code: &ErrorCode, at: i64) -> bool {
        settings.provider().threads
            && threads::diagnose(*code, self.shown_balance(), self.threads_near(at)).is_some()
    }

    /// What the latest failed check means for a thread plan (all threads busy, no active plan),
    /// read beside the thread reading of its check; `None` for any other account or error.
    pub fn diagnosis(&self, settings: &Settings) -> Option<Diagnosis> {
        let failed = self.last_error.as_ref()?;
        if !settings.provider().threads {
            return None;
        }
        threads::diagnose(
            failed.error.code,
            self.shown_balance(),
            self.threads_near(failed.at),
        )
    }

    fn record(&mut self, balance: Money, at: i64, threshold: Money) {
        let point = HistoryPoint {
            at,
            balance,
            account: self.account.clone(),
            extra: Map::new(),
        };
        // `history::fold`: the reading in, then the compaction for its time.
        self.history.push(point);
        self.compact(at, threshold);
    }

    /// Thins the history for `now_ms` and bounds it.
    fn compact(&mut self, now_ms: i64, threshold: Money) {
        history::compact(&mut self.history, now_ms, threshold);
        keep_newest(&mut self.history, HISTORY_LIMIT);
    }

    /// Folds readings taken elsewhere (a server's history of the same account) into this
    /// account's history, compacted as [`history::fold`] does: each `{ at, balance }` (an
    /// integer time and an exact decimal string) older than the account's newest reading, or
    /// every one while it has none. Anything else is dropped, and so is a point at the time of
    /// one of the account's own readings: its own readings win. An account that has read no
    /// balance itself yet takes the newest merged point as its last good reading, with that
    /// point's time: a page opened during an outage shows the server's last reading, out of
    /// date, as the extension that read it does.
    pub fn merge_history(&mut self, points: &[Point], threshold: Money) {
        let newest = self.own_history().iter().map(|p| p.at).max();
        let mut now = newest;
        for p in points {
            let known = newest.is_some_and(|n| p.at >= n)
                || self
                    .history
                    .iter()
                    .any(|q| q.at == p.at && q.account == self.account);
            if !known {
                self.history.push(HistoryPoint {
                    at: p.at,
                    balance: p.balance,
                    account: self.account.clone(),
                    extra: Map::new(),
                });
                now = now.max(Some(p.at));
            }
        }
        // Compacted for the newest reading, which also sorts the new points in.
        if let Some(now) = now {
            self.compact(now, threshold);
        }
        if self.last_good.is_none() {
            self.last_good = self.own_history().last().map(|p| Reading {
                balance: p.balance,
                at: p.at,
                extra: Map::new(),
            });
        }
    }

    /// This account's readings, oldest first (the history also keeps the points of the
    /// accounts these settings had before).
    pub fn own_history(&self) -> Vec<&HistoryPoint> {
        self.history
            .iter()
            .filter(|p| p.account == self.account)
            .collect()
    }

    /// The alert for a reading: the alert machine's `level` decision if any, else a spend
    /// spike (a leak is urgent), then "runs out within N hours". One alert per check: an alert
    /// that loses to another keeps its rule armed for the next check, and what re-arms a rule
    /// (a top-up, calm spend) counts whichever alert is given.
    fn forecast_alert(
        &mut self,
        settings: &Settings,
        balance: Money,
        now_ms: i64,
        level: AlertDecision,
    ) -> AlertDecision {
        let own = self.own_history();
        let rate = spend_rate(&own).ok();
        let topped_up = own
            .len()
            .checked_sub(2)
            .and_then(|i| own.get(i))
            .is_some_and(|prev| is_top_up(prev.balance, balance));
        let spiking = settings.spike_alerts && is_spike(&own);
        let (spike, spike_state) = SpikeState {
            fired: self.alerts.spike_fired,
            calm_since: self.alerts.spike_calm_since,
        }
        .decide(spiking, now_ms);
        let (predict, predictive) = PredictiveState {
            fired: self.alerts.predictive_fired,
        }
        .decide(PredictiveInput {
            balance,
            to_empty_ms: rate.and_then(|r| time_to(balance, crate::level::EMPTY_FLOOR, r)),
            topped_up,
            horizon_ms: settings.predictive_horizon_ms(),
        });
        let free = matches!(level, AlertDecision::None);
        // A rule that would fire but loses stays unfired (both machines re-arm to unfired).
        self.alerts.spike_fired = spike_state.fired && (free || !spike);
        self.alerts.spike_calm_since = spike_state.calm_since;
        self.alerts.predictive_fired = predictive.fired && (free && !spike || !predict);
        if !free {
            level
        } else if spike {
            AlertDecision::Spike
        } else if predict {
            AlertDecision::Predictive
        } else {
            AlertDecision::None
        }
    }

    /// The current level. A rejected key says nothing about the money on the account: its
    /// last balance still gives the level, shown out of date ([`MonitorState::staleness`])
    /// with the key problem beside it. Without any reading the level is unknown.
    pub fn level(&self, settings: &Settings) -> BalanceLevel {
        let last_good = self.last_good.as_ref().map(|r| r.balance);
        match (last_good, &self.last_error) {
            (Some(balance), Some(f)) if f.error.code.kind() == ErrorKind::KeyProblem => {
                BalanceLevel::of(balance, settings.threshold)
            }
            // A thread plan's "no money" while money remains is about threads, not money.
            (Some(balance), Some(_)) if self.diagnosis(settings).is_some() => {
                BalanceLevel::of(balance, settings.threshold)
            }
            (_, error) => BalanceLevel::current(
                last_good,
                error.as_ref().map(|f| &f.error),
                settings.threshold,
            ),
        }
    }

    /// The balance to show: the last good one, whatever failed since. No failed check, not
    /// even a rejected key, changes the money on the account: it only makes the figure out of
    /// date ([`MonitorState::staleness`]).
    pub fn shown_balance(&self) -> Option<Money> {
        self.last_good.as_ref().map(|r| r.balance)
    }

    /// Why the shown balance may be out of date: the last check failed, or the reading is old
    /// or of unknown age (stamped in the future by a clock that has since gone back).
    pub fn staleness(&self, settings: &Settings, now_ms: i64) -> Option<Staleness> {
        let good = self.last_good.as_ref()?;
        // ERROR_ZERO_BALANCE is itself a reading (of zero), not a failure to read, unless a
        // thread plan's money remains (then the balance was not read).
        if self.last_error.as_ref().is_some_and(|f| {
            f.error.code != ErrorCode::ZeroBalance || self.diagnosis(settings).is_some()
        }) {
            Some(Staleness::CheckFailed)
        } else if trusted_time(Some(good.at), now_ms).is_none()
            || is_stale(good.at, now_ms, settings.interval_ms())
        {
            Some(Staleness::Old)
        } else {
            None
        }
    }
}

/// Drops the oldest items (the list is oldest first) beyond `limit`.
fn keep_newest<T>(items: &mut Vec<T>, limit: usize) {
    let excess = items.len().saturating_sub(limit);
    items.drain(..excess);
}

/// Why a balance is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// The latest check failed; the balance is the last good one.
    CheckFailed,
    /// No check succeeded for more than two intervals, or the reading's time is in the future.
    Old,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const T0: i64 = 1_800_000_000_000;

    fn settings() -> Settings {
        Settings::default()
            .apply(
                &serde_json::from_str::<serde_json::Value>(
                    r#"{"apiKey": "0123456789abcdef0123456789abcdef"}"#,
                )
                .unwrap(),
            )
            .unwrap()
    }

    fn ok(b: &str) -> Outcome {
        Ok(Money::parse(b).unwrap())
    }

    fn err(code: ErrorCode) -> Outcome {
        Err(ApiError::new(code, code.api_code()))
    }

    fn after(steps: &[(i64, Outcome)]) -> MonitorState {
        let s = settings();
        steps
            .iter()
            .fold(MonitorState::default().for_account(&s), |m, (at, o)| {
                m.observe(&s, o, *at).0
            })
    }

    #[test]
    fn outcomes_round_trip_and_garbage_is_malformed() {
        for outcome in [ok("12.345"), err(ErrorCode::WrongKey)] {
            let text =
                serde_json::to_string(&TaggedOutcome::new(&outcome, Some("abcd1234".into())))
                    .unwrap();
            let back =
                TaggedOutcome::read(&serde_json::from_str::<serde_json::Value>(&text).unwrap());
            assert_eq!(back.account.as_deref(), Some("abcd1234"));
            assert_eq!(back.outcome(), outcome);
        }
        #[rustfmt::skip]
        let garbage = [
            r#"{"ok":true,"balance":"lots"}"#,
            r#"{"ok":true}"#,
            r#"{"ok":false,"code":"nope"}"#,
            r#"{"ok":false}"#,
            "null",
            "[1]",
        ];
        for text in garbage {
            let got =
                TaggedOutcome::read(&serde_json::from_str::<serde_json::Value>(text).unwrap())
                    .outcome();
            assert_eq!(got.map_err(|e| e.code), Err(ErrorCode::Malformed), "{text}");
        }
    }

    #[test]
    fn plans() {
        let s = settings();
        let fresh = MonitorState::default().for_account(&s);
        let read = after(&[(T0, ok("5"))]);
        let rejected = after(&[(T0, err(ErrorCode::WrongKey))]);
        let no_plan = after(&[(T0, err(ErrorCode::KeyNotFound))]);
        let banned = after(&[(T0, err(ErrorCode::IpBanned))]);
        let down = after(&[(T0, err(ErrorCode::ServerError))]);
        use PlanReason as R;
        use Trigger as Tr;
        #[rustfmt::skip]
        let cases: Vec<(&str, &MonitorState, Trigger, i64, bool, PlanReason)> = vec![
            ("first open fetches",                                   &fresh,    Tr::Open,     T0,                    true,  R::Due),
            ("first alarm fetches",                                  &fresh,    Tr::Alarm,    T0,                    true,  R::Due),
            ("open within 5 min reuses",                             &read,     Tr::Open,     T0 + 4 * MIN,          false, R::Cached),
            ("open after 5 min fetches",                             &read,     Tr::Open,     T0 + 5 * MIN,          true,  R::Due),
            ("alarm before interval waits",                          &read,     Tr::Alarm,    T0 + 9 * MIN,          false, R::NotDue),
            ("alarm at interval fetches",                            &read,     Tr::Alarm,    T0 + 10 * MIN - 1_000, true,  R::Due),
            ("refresh within a minute refused",                      &read,     Tr::Refresh,  T0 + 30_000,           false, R::TooSoon),
            ("refresh after a minute fetches",                       &read,     Tr::Refresh,  T0 + MIN,              true,  R::Due),
            ("settings with fresh reading reuse",                    &read,     Tr::Settings, T0 + 2 * MIN,          false, R::Cached),
            ("rejected key: alarm never",                            &rejected, Tr::Alarm,    T0 + 100 * MIN,        false, R::KeyRejected),
            ("rejected key: refresh asks once the floor allows",     &rejected, Tr::Refresh,  T0 + 100 * MIN,        true,  R::Due),
            ("no plan: alarm never",                                 &no_plan,  Tr::Alarm,    T0 + 100 * MIN,        false, R::KeyRejected),
            ("no plan: user may retry",                              &no_plan,  Tr::Refresh,  T0 + 2 * MIN,          true,  R::Due),
            ("banned: waits 5 min",                                  &banned,   Tr::Refresh,  T0 + 4 * MIN,          false, R::BackingOff),
            ("banned: then retries",                                 &banned,   Tr::Alarm,    T0 + 5 * MIN,          true,  R::Due),
            ("transient: alarm retries after a minute",              &down,     Tr::Alarm,    T0 + MIN,              true,  R::Due),
            ("transient: open within 5 min reuses the failed check", &down,     Tr::Open,     T0 + 2 * MIN,          false, R::Cached),
            ("transient: refresh after a minute",                    &down,     Tr::Refresh,  T0 + MIN,              true,  R::Due),
        ];
        for (name, state, trigger, now, fetch, reason) in cases {
            let plan = state.plan(&s, trigger, now);
            assert_eq!((plan.fetch, plan.reason), (fetch, reason), "{name}");
        }
        let no_key = Settings::default();
        assert_eq!(fresh.plan(&no_key, Tr::Refresh, T0).reason, R::NoKey);
        assert_eq!(rejected.plan(&s, Tr::Alarm, T0).next_check_at, None);
    }

    #[test]
    fn a_rejected_key_is_asked_again_only_when_the_user_asks() {
        let s = settings();
        // (name, the rejection, trigger, minutes after it, fetch, reason)
        use ErrorCode as E;
        use PlanReason as R;
        use Trigger as Tr;
        #[rustfmt::skip]
        let cases: Vec<(&str, ErrorCode, Trigger, i64, bool, PlanReason)> = vec![
            ("wrong key: the alarm never",              E::WrongKey,     Tr::Alarm,    600, false, R::KeyRejected),
            ("wrong key: opening a view never",         E::WrongKey,     Tr::Open,     600, false, R::KeyRejected),
            ("wrong key: Refresh asks",                 E::WrongKey,     Tr::Refresh,  2,   true,  R::Due),
            ("wrong key: a Save asks",                  E::WrongKey,     Tr::Settings, 2,   true,  R::Due),
            ("wrong key: Save within the floor waits",  E::WrongKey,     Tr::Settings, 0,   false, R::TooSoon),
            ("wrong key: Refresh within the floor",     E::WrongKey,     Tr::Refresh,  0,   false, R::TooSoon),
            ("not found: the alarm never",              E::KeyNotFound,  Tr::Alarm,    600, false, R::KeyRejected),
            ("not found: a Save asks",                  E::KeyNotFound,  Tr::Settings, 2,   true,  R::Due),
            ("not found: Refresh asks",                 E::KeyNotFound,  Tr::Refresh,  2,   true,  R::Due),
            ("IP not allowed: Refresh asks",            E::IpNotAllowed, Tr::Refresh,  2,   true,  R::Due),
            ("local check: never sent, Refresh never",  E::InvalidKey,   Tr::Refresh,  600, false, R::KeyRejected),
            ("local check: a Save never",               E::InvalidKey,   Tr::Settings, 600, false, R::KeyRejected),
        ];
        for (name, code, trigger, minutes, fetch, reason) in cases {
            // Rejected at T0; "0 minutes" is 30 s later, inside the one-minute floor.
            let m = after(&[(T0, err(code))]);
            let now = T0 + minutes * MIN + if minutes == 0 { 30_000 } else { 0 };
            let plan = m.plan(&s, trigger, now);
            assert_eq!((plan.fetch, plan.reason), (fetch, reason), "{name}");
            assert_eq!(plan.next_check_at, None, "{name}: no check is scheduled");
        }
        // The user's retry is one request: once begun, the floor holds for every trigger,
        // and a retry rejected again pauses as before.
        let m = after(&[(T0, err(E::WrongKey))]).begin_check(&s, T0 + 2 * MIN);
        for trigger in [Tr::Refresh, Tr::Settings] {
            let plan = m.plan(&s, trigger, T0 + 2 * MIN + 10_000);
            assert_eq!(
                (plan.fetch, plan.reason),
                (false, R::TooSoon),
                "{trigger:?}"
            );
        }
        let (again, _) = m.clone().observe(&s, &err(E::WrongKey), T0 + 2 * MIN + 500);
        assert_eq!(
            again.plan(&s, Tr::Alarm, T0 + 600 * MIN).reason,
            R::KeyRejected
        );
        assert_eq!(again.next_check_at(&s, T0 + 600 * MIN), None);
        // The key was re-enabled at the provider: the retry reads a balance and the usual
        // schedule starts again.
        let (fixed, _) = m.observe(&s, &ok("5"), T0 + 2 * MIN + 500);
        assert_eq!(
            fixed.next_check_at(&s, T0 + 3 * MIN),
            Some(T0 + 12 * MIN + 500)
        );
    }

    #[test]
    fn observe_keeps_last_good_balance_on_transient_errors() {
        let s = settings();
        let m = after(&[
            (T0, ok("12.345")),
            (T0 + 10 * MIN, err(ErrorCode::ServerError)),
        ]);
        assert_eq!(m.shown_balance(), Some(Money::parse("12.345").unwrap()));
        assert_eq!(m.level(&s), BalanceLevel::Ok);
        assert_eq!(m.staleness(&s, T0 + 10 * MIN), Some(Staleness::CheckFailed));
        assert_eq!(m.failures, 1);
        assert_eq!(m.history.len(), 1);
    }

    #[test]
    fn a_rejected_key_keeps_the_last_balance_and_its_level_out_of_date() {
        let s = settings();
        // (name, readings, shown balance, level, staleness 10 minutes after the last check)
        use BalanceLevel as L;
        use ErrorCode as E;
        type Case = (
            &'static str,
            Vec<Outcome>,
            Option<&'static str>,
            BalanceLevel,
            Option<Staleness>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("ok, then a wrong key",          vec![ok("12.345"), err(E::WrongKey)],    Some("12.345"), L::Ok,      Some(Staleness::CheckFailed)),
            ("low, then a wrong key",         vec![ok("0.42"), err(E::WrongKey)],      Some("0.42"),   L::Low,     Some(Staleness::CheckFailed)),
            ("low, then key not found",       vec![ok("0.42"), err(E::KeyNotFound)],   Some("0.42"),   L::Low,     Some(Staleness::CheckFailed)),
            ("empty, then IP not allowed",    vec![ok("0"), err(E::IpNotAllowed)],     Some("0"),      L::Empty,   Some(Staleness::CheckFailed)),
            ("a wrong key, never a reading",  vec![err(E::WrongKey)],                  None,           L::Unknown, None),
            ("read again after the fix",      vec![ok("5"), err(E::WrongKey), ok("4")], Some("4"),     L::Ok,      None),
            ("control: a 502 after a reading", vec![ok("0.42"), err(E::ServerError)],  Some("0.42"),   L::Low,     Some(Staleness::CheckFailed)),
            ("control: zero balance is a reading", vec![ok("3"), err(E::ZeroBalance)], Some("0"),      L::Empty,   None),
        ];
        for (name, outcomes, balance, level, stale) in cases {
            let steps: Vec<(i64, Outcome)> = outcomes
                .into_iter()
                .enumerate()
                .map(|(i, o)| (T0 + i as i64 * 10 * MIN, o))
                .collect();
            let m = after(&steps);
            let last = steps.last().map_or(T0, |(at, _)| *at);
            assert_eq!(
                m.shown_balance(),
                balance.map(|b| Money::parse(b).unwrap()),
                "{name}"
            );
            assert_eq!(m.level(&s), level, "{name}");
            assert_eq!(m.staleness(&s, last + MIN), stale, "{name}");
        }
    }

    #[test]
    fn zero_balance_error_is_a_reading_of_zero() {
        let s = settings();
        let m = after(&[(T0, ok("3")), (T0 + 10 * MIN, err(ErrorCode::ZeroBalance))]);
        assert_eq!(m.shown_balance(), Some(Money::ZERO));
        assert_eq!(m.level(&s), BalanceLevel::Empty);
        assert_eq!(m.staleness(&s, T0 + 10 * MIN), None);
        assert_eq!(m.history.len(), 2);
        assert_eq!(m.failures, 0);
    }

    #[test]
    fn stale_after_two_intervals_without_a_check() {
        let s = settings();
        let m = after(&[(T0, ok("3"))]);
        assert_eq!(m.staleness(&s, T0 + 20 * MIN), None);
        assert_eq!(m.staleness(&s, T0 + 21 * MIN), Some(Staleness::Old));
    }

    #[test]
    fn alerts_flow_through_observe() {
        let s = settings();
        let m = MonitorState::default();
        let (m, d1) = m.observe(&s, &ok("0.5"), T0);
        let (m, d2) = m.observe(&s, &ok("0.4"), T0 + 10 * MIN);
        let (m, d3) = m.observe(&s, &err(ErrorCode::ZeroBalance), T0 + 20 * MIN);
        let (_, d4) = m.observe(&s, &ok("20"), T0 + 30 * MIN);
        assert_eq!(
            [d1, d2, d3, d4],
            [
                AlertDecision::Warning,
                AlertDecision::None,
                AlertDecision::Critical,
                AlertDecision::Restored
            ]
        );
    }

    #[test]
    fn a_top_up_that_says_restored_rearms_the_predictive_alert() {
        let s = settings();
        // $0.50 an hour, read every 10 minutes: "runs out within 24 h" once the rate is known,
        // low below $1.00, empty, then a top-up to $10.00 (20 hours at that spend) says
        // "restored".
        let mut m = MonitorState::default();
        let mut said = Vec::new();
        let mut check = |m: MonitorState, i: i64, cents: i64| {
            let (next, d) = m.observe(&s, &Ok(Money::from_cents(cents)), T0 + i * 10 * MIN);
            if d != AlertDecision::None {
                said.push((i, d));
            }
            next
        };
        for i in 0..=30 {
            m = check(m, i, 250 - i * 50 / 6);
        }
        for i in 31..=40 {
            m = check(m, i, 1_000 - (i - 31) * 50 / 6);
        }
        use AlertDecision as D;
        // The top-up re-arms the predictive alert although the check said "restored": once the
        // rate since the top-up is known, 20 hours is within the horizon again.
        assert_eq!(
            said,
            [
                (6, D::Predictive),
                (19, D::Warning),
                (30, D::Critical),
                (31, D::Restored),
                (37, D::Predictive)
            ]
        );
    }

    #[test]
    fn the_next_check_comes_as_soon_as_the_provider_floor_allows() {
        let key = r#""apiKey": "0123456789abcdef0123456789abcdef""#;
        // (provider, second reading in cents, delay to the next check)
        #[rustfmt::skip]
        let cases = [
            ("captchaai",   101, MIN),
            ("anticaptcha", 101, MIN / 2),
            ("anticaptcha", 150, 10 * MIN),
        ];
        for (provider, cents, delay) in cases {
            let form = format!(r#"{{"provider": "{provider}", {key}}}"#);
            let s = Settings::default()
                .apply(&serde_json::from_str::<serde_json::Value>(&form).unwrap())
                .unwrap();
            // $1.50, then ten minutes later a cent above the threshold ($2.94 an hour) or
            // nothing spent.
            let m = [(T0, 150), (T0 + 10 * MIN, cents)]
                .into_iter()
                .fold(MonitorState::default(), |m, (at, c)| {
                    m.observe(&s, &Ok(Money::from_cents(c)), at).0
                });
            let last = T0 + 10 * MIN;
            assert_eq!(
                m.next_check_at(&s, last),
                Some(last + delay),
                "{provider} {cents}"
            );
        }
    }

    #[test]
    fn history_is_bounded_and_survives_account_change() {
        let s = settings();
        let mut m = MonitorState::default();
        for i in 0..(HISTORY_LIMIT as i64 + 20) {
            m = m.observe(&s, &ok("1"), T0 + i * MIN).0;
        }
        // Thinned as it ages (src/history.rs): every reading of the last hour, one per ten
        // minutes before, and the oldest reading still says how far back it reaches.
        let len = m.history.len();
        assert!(len < HISTORY_LIMIT, "{len}");
        assert_eq!(m.history[0].at, T0);
        let last_hour = m.history.iter().filter(|p| p.at > T0 + 459 * MIN).count();
        assert_eq!(last_hour, 60);
        let other = s
            .apply(
                &serde_json::from_str::<serde_json::Value>(
                    r#"{"apiKey": "ffffffffffffffffffffffffffffffff"}"#,
                )
                .unwrap(),
            )
            .unwrap();
        let switched = m.for_account(&other);
        assert_eq!(switched.last_good, None);
        assert_eq!(switched.history.len(), len);
        assert!(
            switched.own_history().is_empty(),
            "the forecast reads its own account's"
        );
    }

    /// `{"at": .., "balance": ".."}` points, oldest first.
    fn points(items: &[(i64, &str)]) -> Vec<Point> {
        items
            .iter()
            .map(|(at, b)| Point {
                at: *at,
                balance: Money::parse(b).unwrap(),
            })
            .collect()
    }

    fn own(m: &MonitorState) -> Vec<(i64, String)> {
        m.own_history()
            .iter()
            .map(|p| (p.at, p.balance.decimal_text()))
            .collect()
    }

    #[test]
    fn merged_history_drops_bad_points() {
        let s = settings();
        #[rustfmt::skip]
        let cases: [(&str, &str); 8] = [
            ("time as a string",       r#"{"at":"1800000000000","balance":"5"}"#),
            ("time with a fraction",   r#"{"at":1800000000000.5,"balance":"5"}"#),
            ("no time",                r#"{"balance":"5"}"#),
            ("balance as a number",    r#"{"at":1800000000000,"balance":5}"#),
            ("balance not a decimal",  r#"{"at":1800000000000,"balance":"five"}"#),
            ("no balance",             r#"{"at":1800000000000}"#),
            ("null balance",           r#"{"at":1800000000000,"balance":null}"#),
            ("not an object",          r#""1800000000000,5""#),
        ];
        for (name, bad) in cases {
            let list = format!(r#"[{bad},{{"at":{},"balance":"4.5"}}]"#, T0 + MIN);
            let mut m = MonitorState::default().for_account(&s);
            let list: Vec<Point> = stored::items(&serde_json::from_str(&list).unwrap());
            m.merge_history(&list, s.threshold);
            assert_eq!(own(&m), [(T0 + MIN, "4.5".to_string())], "{name}");
        }
        // Not a list at all: nothing changes.
        let m = after(&[(T0, ok("5"))]);
        for garbage in [r#"{"at":1,"balance":"1"}"#, "null", r#""points""#] {
            let mut merged = m.clone();
            let list: Vec<Point> = stored::items(&serde_json::from_str(garbage).unwrap());
            merged.merge_history(&list, s.threshold);
            assert_eq!(merged, m, "{garbage}");
        }
    }

    #[test]
    fn merged_history_keeps_own_readings_and_feeds_the_forecast() {
        let s = settings();
        // The account has read 2.0 once; the server has watched it drain for six hours.
        let m = after(&[(T0, ok("2.0"))]);
        assert!(
            spend_rate(&m.own_history()).is_err(),
            "one reading: no rate yet"
        );
        let mut server: Vec<(i64, String)> = (0..=12)
            .map(|i| {
                (
                    T0 - 6 * 60 * MIN + i * 30 * MIN,
                    format!("{}", 8.0 - 0.5 * i as f64),
                )
            })
            .collect();
        // The server's reading at the same time as ours, with another balance, and one
        // after ours: ours win, later ones wait for our own readings.
        server.push((T0 + 10 * MIN, "1.5".to_string()));
        let at_t0 = server.iter().position(|(at, _)| *at == T0).unwrap();
        server[at_t0].1 = "9.99".to_string();
        let list: Vec<(i64, &str)> = server.iter().map(|(at, b)| (*at, b.as_str())).collect();
        let mut merged = m;
        merged.merge_history(&points(&list), s.threshold);
        let history = own(&merged);
        assert_eq!(history.len(), 13, "{history:?}");
        assert_eq!(history.first(), Some(&(T0 - 360 * MIN, "8".to_string())));
        assert_eq!(
            history.last(),
            Some(&(T0, "2".to_string())),
            "our own reading won"
        );
        assert!(history.windows(2).all(|w| w[0].0 < w[1].0), "in time order");
        // Now the forecast speaks: $0.50 per 30 minutes is $1 per hour.
        assert_eq!(
            spend_rate(&merged.own_history()).ok(),
            Some(Money::parse("1").unwrap())
        );
        // Merging the same answer twice changes nothing more.
        let mut again = merged.clone();
        again.merge_history(&points(&list), s.threshold);
        assert_eq!(own(&again), history);
    }

    #[test]
    fn points_and_marks_keep_a_newer_builds_members() {
        let stored = serde_json::json!({
            "history": [{"at": 1, "balance": "2", "account": "a1", "source": "server"},
                        {"at": 2, "balance": "1", "account": "a1"}],
            "requests": [{"requester": "r1", "at": 3, "via": "proxy"}],
        });
        let m: MonitorState = stored::read(&stored);
        let back = serde_json::to_value(&m).unwrap();
        assert_eq!(back["history"], stored["history"]);
        assert_eq!(back["requests"], stored["requests"]);
    }

    #[test]
    fn a_servers_last_reading_is_the_first_good_one() {
        let s = settings();
        let server = points(&[(T0 - 20 * MIN, "5"), (T0 - 10 * MIN, "4.5")]);
        // Nothing read yet, and the first own check failed (the outage).
        let mut m = after(&[(T0, err(ErrorCode::ServerError))]);
        m.merge_history(&server, s.threshold);
        let good = m.last_good.as_ref().expect("the server's newest reading");
        assert_eq!(
            (good.balance, good.at),
            (Money::parse("4.5").unwrap(), T0 - 10 * MIN)
        );
        assert_eq!(
            m.staleness(&s, T0),
            Some(Staleness::CheckFailed),
            "shown out of date"
        );
        assert_eq!(m.level(&s), BalanceLevel::Ok);
        // An account with its own reading keeps it.
        let mut own = after(&[(T0, ok("2"))]);
        own.merge_history(&server, s.threshold);
        assert_eq!(own.last_good.as_ref().map(|r| r.at), Some(T0));
    }

    #[test]
    fn stored_request_marks_keep_the_newest() {
        let marks: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"requester":"r{i}","at":{i}}}"#))
            .collect();
        let stored = format!(r#"{{"requests":[{}]}}"#, marks.join(","));
        let m = crate::stored::read::<MonitorState>(
            &serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        );
        let kept: Vec<&str> = m.requests.iter().map(|r| r.requester.as_str()).collect();
        assert_eq!(kept, ["r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"]);
    }

    #[test]
    fn a_check_is_marked_before_its_request() {
        let s = settings();
        let begun = MonitorState::default().begin_check(&s, T0);
        // The caller died before the answer: nothing else was stored.
        let stored = crate::stored::read::<MonitorState>(
            &serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&begun).unwrap())
                .unwrap(),
        );
        assert_eq!(stored.last_request_at, Some(T0));
        assert!(stored.checking);
        assert_eq!(
            stored.next_check_at(&s, T0 + 500),
            Some(T0 + MIN),
            "a retry is scheduled"
        );
        for trigger in [
            Trigger::Open,
            Trigger::Refresh,
            Trigger::Settings,
            Trigger::Alarm,
        ] {
            let plan = stored.plan(&s, trigger, T0 + 500);
            assert_eq!(
                (plan.fetch, plan.reason),
                (false, PlanReason::TooSoon),
                "{trigger:?}"
            );
        }
        let retry = stored.plan(&s, Trigger::Alarm, T0 + MIN);
        assert_eq!((retry.fetch, retry.reason), (true, PlanReason::Due));
        // The answer folds in and the usual interval applies again.
        let (done, _) = stored.observe(&s, &ok("5"), T0 + 800);
        assert!(!done.checking);
        assert_eq!(done.next_check_at(&s, T0 + 900), Some(T0 + 800 + 10 * MIN));
    }

    #[test]
    fn times_from_the_future_are_not_trusted() {
        let s = settings();
        let hour = 60 * MIN;
        // (name, when the reading was stamped, trigger, fetch, reason, stale) at now = T0
        type Case = (
            &'static str,
            i64,
            Trigger,
            bool,
            PlanReason,
            Option<Staleness>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("7 h ahead: refresh asks",           T0 + 7 * hour, Trigger::Refresh, true,  PlanReason::Due,     Some(Staleness::Old)),
            ("7 h ahead: alarm asks",             T0 + 7 * hour, Trigger::Alarm,   true,  PlanReason::Due,     Some(Staleness::Old)),
            ("7 h ahead: open asks",              T0 + 7 * hour, Trigger::Open,    true,  PlanReason::Due,     Some(Staleness::Old)),
            ("2 min ahead: untrusted",            T0 + 2 * MIN,  Trigger::Refresh, true,  PlanReason::Due,     Some(Staleness::Old)),
            ("within the tolerance: floor holds", T0 + 30_000,   Trigger::Refresh, false, PlanReason::TooSoon, None),
            ("control, 30 s ago: floor holds",    T0 - 30_000,   Trigger::Refresh, false, PlanReason::TooSoon, None),
            ("control, 3 min ago: cached",        T0 - 3 * MIN,  Trigger::Open,    false, PlanReason::Cached,  None),
        ];
        for (name, stamped, trigger, fetch, reason, stale) in cases {
            let m = after(&[(stamped, ok("5"))]);
            let plan = m.plan(&s, trigger, T0);
            assert_eq!((plan.fetch, plan.reason), (fetch, reason), "{name}");
            assert_eq!(m.staleness(&s, T0), stale, "{name}");
            assert!(
                plan.next_check_at.is_some_and(|at| at <= T0 + 11 * MIN),
                "{name}: next check within an interval"
            );
        }
        // A future-dated backoff or pending check does not block either.
        let banned = after(&[(T0 + 7 * hour, err(ErrorCode::IpBanned))]);
        assert_eq!(banned.plan(&s, Trigger::Alarm, T0).reason, PlanReason::Due);
        let pending = MonitorState::default().begin_check(&s, T0 + 7 * hour);
        assert_eq!(pending.plan(&s, Trigger::Alarm, T0).reason, PlanReason::Due);
        assert_eq!(pending.next_check_at(&s, T0), Some(T0));
    }
}
