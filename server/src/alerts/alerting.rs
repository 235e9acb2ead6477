//! Alerts outside the browser: the core's monitor per account, and an outbox per webhook target.
//!
//! Every upstream answer (whether the watcher asked or a page did) is folded into the account's
//! `monitor::MonitorState` with the core's `observe`, exactly as the extension does, so the
//! alerts (critical, warning, restored, predictive, spike, key rejected), their hysteresis (a
//! balance flapping at a line alerts once per episode) and their words (`view::alert_view`,
//! from the locale files) are the extension's. A cached reading is never observed: only the
//! fetch that asked the upstream reaches [`Alerts::observe`].
//!
//! A thread plan's check (CaptchaAI) is folded in two steps, as the core asks: its `threadsinfo`
//! answer first ([`Alerts::observe_threads`]: `threads_saturated` and `plan_expired`, once per
//! episode), then its balance, so an `ERROR_ZERO_BALANCE` while money remains is read beside the
//! threads of the same check (all threads busy, or no active plan: [`Alerts::capacity`]) and
//! not as an empty account.
//!
//! The monitor's balance history is the account's (`crate::accounts::account`, the same
//! points folded by the same compaction): it is handed in with each reading and each look at
//! the schedule, and not kept a second time (the core's history points are several times the
//! size of the account's, and ten thousand accounts with a month of history each would hold
//! it twice).
//!
//! Each account's monitor has its own lock, and each target's outbox its own: a reading takes
//! its account's lock for the core's decision and the outboxes' for a push, never a lock of the
//! whole memory, and never waits for a disk. With `--data-dir`, what changed is handed to one
//! background writer ([`crate::alerts::memory`]: a file per account, an append-only journal per
//! target); a message is sent only once its journal line is on disk, so a crash loses none and a
//! restart sends each once (a crash between a target's 2xx and the line that records it sends
//! that one again, with the same `id`). Without a data directory all of this lives in memory.
//!
//! Each outbox is bounded (messages and bytes, [`Limits`]); a new message that takes it over
//! drops the oldest first, counted as `result="dropped"`. Each target has its own delivery task:
//! its messages in order, at most [`DELIVERY_BURST`] at once and then one per
//! [`DELIVERY_INTERVAL`] (a target that comes back does not get the whole backlog in a second);
//! a failed send is retried with backoff (5 s doubling to 10 min; after a day the message is
//! dropped and counted as `gave_up`). A target that fails never holds up another target or a
//! balance check.

use crate::alerts::memory::{self, Disk, Job, Live};
use crate::alerts::outbox::{Entry, Limits, Outbox};
use crate::alerts::webhook::{Event, Sender};
use crate::clock::Clock;
use crate::config::webhook::{Kind, Webhook};
use crate::metrics::Metrics;
use crate::store::remove_stale_temp_files;
use captchaai_balance::alerts::{AlertDecision, AlertState};
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::history::Point;
use captchaai_balance::i18n::Lang;
use captchaai_balance::money::Money;
use captchaai_balance::monitor::{FailedCheck, HistoryPoint, MonitorState, Outcome};
use captchaai_balance::provider::ProviderId;
use captchaai_balance::settings::Settings;
use captchaai_balance::state::Account as CoreAccount;
use captchaai_balance::threads::{Diagnosis, Threads, ThreadsOutcome};
use captchaai_balance::view::{
    account_view, alert_view, reported_error_view, ErrorView, ThreadsView,
};
use serde_json::Map;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{info, warn};

/// The first retry of a failed delivery.
pub const FIRST_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(600);
/// A message still not delivered this long after its decision is dropped (`gave_up`).
pub const GIVE_UP_MS: i64 = 24 * 3_600_000;
/// Messages a target may get at once (a backlog drains at [`DELIVERY_INTERVAL`] after these).
pub const DELIVERY_BURST: u32 = 5;
/// The pace of a backlog's delivery: one message per interval per target (Slack asks for at
/// most one a second per webhook).
pub const DELIVERY_INTERVAL: Duration = Duration::from_secs(1);

/// An account as the monitor sees it.
#[derive(Debug)]
struct Watched {
    name: String,
    provider: ProviderId,
    settings: Settings,
    /// `settings.account_id()`: what the monitor's history points are tagged with.
    id: String,
}

impl Watched {
    /// The account's history as the monitor's, without the point at `skip` (the reading being
    /// observed, which the monitor adds itself).
    fn history(&self, points: &[Point], skip: Option<i64>) -> Vec<HistoryPoint> {
        points
            .iter()
            .filter(|p| Some(p.at) != skip)
            .map(|p| HistoryPoint {
                at: p.at,
                balance: p.balance,
                account: self.id.clone(),
                extra: Map::new(),
            })
            .collect()
    }
}

/// What the alerts of one account depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertAccount {
    /// The account's name.
    pub name: String,
    /// Its provider.
    pub provider: ProviderId,
    /// Its low threshold.
    pub threshold: Money,
    /// The predictive alert's horizon in hours.
    pub predictive_hours: u32,
}

/// The core settings of a server account: its provider, threshold, predictive horizon and
/// name, the core's defaults for the rest (spike alerts on, interval). No key: the server
/// adds it, so the endpoint is a stand-in naming the account (`Settings::account_id` then
/// depends on the name only, and a key problem's advice is the server's).
pub fn settings_for(account: &AlertAccount) -> Settings {
    let name = &account.name;
    let mut settings = Settings::for_provider(account.provider);
    name.clone_into(&mut settings.name);
    settings.threshold = account.threshold;
    settings.predictive_hours = account.predictive_hours;
    settings.api_key = String::new();
    settings.endpoint = format!("http://captchaai-balance-server.invalid/accounts/{name}");
    // The stand-in is never requested (the server asks its upstream itself); it names the
    // account as it always has, so the stored alert memory keeps matching it.
    settings.allow_plain_http = true;
    settings
}

/// What the memory knew of an account at start: its last good balance and its last failed
/// check, and a thread plan's last reading and failure, each with its time (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Known {
    /// The last good balance.
    pub last_good: Option<(Money, i64)>,
    /// The last failure, if the latest check failed.
    pub last_error: Option<(ApiError, i64)>,
    /// A thread plan's last `threadsinfo` reading.
    pub threads: Option<(Threads, i64)>,
    /// Its last failure, if the latest `threadsinfo` request failed.
    pub threads_error: Option<(ApiError, i64)>,
}

/// One webhook target: its configuration, its outbox and the bell of its delivery task.
#[derive(Debug)]
struct Target {
    hook: Webhook,
    outbox: Mutex<Outbox>,
    notify: Notify,
}

/// What the request path and the writer thread share.
#[derive(Debug)]
struct Shared {
    accounts: Vec<Watched>,
    monitors: Vec<Mutex<MonitorState>>,
    targets: Vec<Target>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No guarded code panics, but a poisoned lock must not take the server down.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Live for Shared {
    fn monitor(&self, index: usize) -> (String, MonitorState) {
        (
            self.accounts[index].name.clone(),
            lock(&self.monitors[index]).clone(),
        )
    }

    fn target(&self, index: usize) -> String {
        self.targets[index].hook.url_env.clone()
    }

    fn entry(&self, index: usize, seq: u64) -> Option<Arc<Entry>> {
        lock(&self.targets[index].outbox).get(seq)
    }

    fn written(&self, index: usize, seq: u64) {
        let target = &self.targets[index];
        lock(&target.outbox).mark_durable(seq);
        target.notify.notify_one();
    }
}

/// The alert machinery of one server.
#[derive(Debug)]
pub struct Alerts {
    shared: Arc<Shared>,
    /// Account name -> its index.
    index: HashMap<String, usize>,
    /// The writer thread's queue (`None`: memory only).
    writer: Option<mpsc::Sender<Job>>,
    limits: Limits,
    metrics: Arc<Metrics>,
    clock: Clock,
    sender: Option<Sender>,
}

impl Alerts {
    /// The monitors of these accounts and the outboxes of these targets (bounded by `limits`,
    /// delivered through `sender`), read back from `dir` when there is one (migrating the
    /// single `_alerts.json` of earlier versions first).
    pub fn new(
        accounts: &[AlertAccount],
        targets: Vec<Webhook>,
        dir: Option<PathBuf>,
        metrics: Arc<Metrics>,
        clock: Clock,
        sender: Option<Sender>,
        limits: Limits,
    ) -> Alerts {
        let names: Vec<&str> = targets.iter().map(|t| t.url_env.as_str()).collect();
        metrics.add_targets(&names);
        let disk = dir.map(Disk::new);
        if let Some(disk) = &disk {
            if let Some(migrated) = disk.migrate(&names, limits) {
                for (target, n) in migrated.dropped {
                    warn!(target, dropped = n, "pending alert messages over the outbox bound or for webhooks no longer configured are dropped");
                    if names.contains(&target.as_str()) {
                        metrics.record_deliveries(&target, "dropped", n as u64);
                    }
                }
            }
            for target in disk.remove_other_journals(&names) {
                warn!(
                    target,
                    "pending alert messages for a webhook no longer configured are dropped"
                );
            }
            for folder in disk.folders() {
                remove_stale_temp_files(&folder);
            }
        }
        let mut monitors: Vec<MonitorState> = accounts
            .iter()
            .map(|a| {
                let mut monitor = disk
                    .as_ref()
                    .and_then(|d| d.load_monitor(&a.name))
                    .unwrap_or_default();
                // The account's history file holds these points (see the module doc).
                monitor.history = Vec::new();
                monitor
            })
            .collect();
        let index: HashMap<String, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.clone(), i))
            .collect();
        let mut journals = Vec::with_capacity(targets.len());
        let mut outboxes = Vec::with_capacity(targets.len());
        let mut dropped_at_start = Vec::new();
        for (t, hook) in targets.iter().enumerate() {
            let read = disk
                .as_ref()
                .map(|d| d.read_journal(&hook.url_env, limits))
                .unwrap_or_default();
            if read.dropped > 0 {
                warn!(
                    target = hook.url_env,
                    dropped = read.dropped,
                    "pending alert messages over the outbox bound are dropped"
                );
                metrics.record_deliveries(&hook.url_env, "dropped", read.dropped as u64);
            }
            if read.unreadable > 0 {
                warn!(
                    target = hook.url_env,
                    lines = read.unreadable,
                    "unreadable lines of the outbox journal skipped"
                );
            }
            // A decision whose message is in the journal but whose account file was not
            // written before a crash: the journal's alert state is the newer one.
            for (account, (at, state)) in read.states {
                if let Some(&i) = index.get(&account) {
                    let monitor = &mut monitors[i];
                    if monitor.last_request_at.is_none_or(|last| last < at) {
                        monitor.alerts = state;
                    }
                }
            }
            let mut outbox = Outbox::restore(read.pending);
            for gone in outbox.enforce(limits) {
                dropped_at_start.push((t, gone.seq));
            }
            journals.push(read.journal);
            outboxes.push(outbox);
        }
        let shared = Arc::new(Shared {
            accounts: accounts
                .iter()
                .map(|account| {
                    let settings = settings_for(account);
                    Watched {
                        name: account.name.clone(),
                        provider: account.provider,
                        id: settings.account_id(),
                        settings,
                    }
                })
                .collect(),
            monitors: monitors.into_iter().map(Mutex::new).collect(),
            targets: targets
                .into_iter()
                .zip(outboxes)
                .map(|(hook, outbox)| Target {
                    hook,
                    outbox: Mutex::new(outbox),
                    notify: Notify::new(),
                })
                .collect(),
        });
        let writer = disk.and_then(|disk| {
            match memory::start_writer(disk, Arc::clone(&shared), journals) {
                Ok(writer) => Some(writer),
                Err(error) => {
                    warn!(error = %error, "cannot start the alert memory's writer; alerts are kept in memory only");
                    None
                }
            }
        });
        let alerts = Alerts {
            shared,
            index,
            writer,
            limits,
            metrics,
            clock,
            sender,
        };
        for (t, seq) in dropped_at_start {
            alerts.write(Job::Settle(t, seq, false));
            let target = &alerts.shared.targets[t].hook.url_env;
            alerts.metrics.record_delivery(target, "dropped");
        }
        for t in 0..alerts.shared.targets.len() {
            alerts.count(t, &lock(&alerts.shared.targets[t].outbox));
        }
        alerts
    }

    /// Starts one delivery task per target (call inside a tokio runtime). Pending messages
    /// read back from disk go out at once (at the delivery pace).
    pub fn start_delivery(self: &Arc<Self>) {
        if self.sender.is_none() {
            return;
        }
        for index in 0..self.shared.targets.len() {
            tokio::spawn(Arc::clone(self).deliver(index));
        }
    }

    fn write(&self, job: Job) {
        if let Some(writer) = &self.writer {
            // The writer stops only with the last sender: a send cannot fail while we hold one.
            let _ = writer.send(job);
        }
    }

    fn count(&self, target: usize, outbox: &Outbox) {
        let name = &self.shared.targets[target].hook.url_env;
        self.metrics.set_pending(name, outbox.len(), outbox.bytes());
    }

    /// When the core says this account's next check is due (epoch ms), `None` while checks are
    /// paused (a rejected key) or for an unknown account. `history`: the account's (the
    /// adaptive interval follows its spend).
    pub fn next_check_at(&self, account: &str, now_ms: i64, history: &[Point]) -> Option<i64> {
        let &i = self.index.get(account)?;
        let watched = &self.shared.accounts[i];
        let mut monitor = lock(&self.shared.monitors[i]);
        monitor.history = watched.history(history, None);
        let due = monitor.next_check_at(&watched.settings, now_ms);
        monitor.history = Vec::new();
        due
    }

    /// What the memory read back from the data directory knows of this account's last check.
    pub fn known(&self, account: &str) -> Option<Known> {
        let &i = self.index.get(account)?;
        let monitor = lock(&self.shared.monitors[i]);
        Some(Known {
            last_good: monitor.last_good.as_ref().map(|r| (r.balance, r.at)),
            last_error: monitor.last_error.as_ref().map(|f| (f.error.clone(), f.at)),
            threads: monitor.threads.last().map(|r| (r.counts(), r.at)),
            threads_error: monitor
                .threads_failed
                .as_ref()
                .map(|f| (f.error.clone(), f.at)),
        })
    }

    /// The account as the core sees it (its settings and monitor, without the balance history,
    /// which the account keeps), for the core's views.
    fn core_account(&self, i: usize) -> CoreAccount {
        let watched = &self.shared.accounts[i];
        let mut core = CoreAccount::new(watched.settings.clone());
        core.monitor = lock(&self.shared.monitors[i]).clone();
        core
    }

    /// A thread plan's capacity as the core shows it (`"3 of 10 threads busy"`, `"No active
    /// plan"`, in English), `None` for another provider or before any `threadsinfo` answer.
    pub fn threads_view(&self, account: &str, now_ms: i64) -> Option<ThreadsView> {
        let &i = self.index.get(account)?;
        account_view(&self.core_account(i), now_ms, Lang::En, 0_i64).threads
    }

    /// What `code`, reported by a script of this account, means now (the core's
    /// `reported_error_view`, in English): for a thread plan whose money remains,
    /// `ERROR_ZERO_BALANCE` and `ERROR_NO_SLOT_AVAILABLE` are all threads busy or no active plan.
    pub fn reported_error(&self, account: &str, code: ErrorCode, now_ms: i64) -> Option<ErrorView> {
        let &i = self.index.get(account)?;
        Some(reported_error_view(
            &self.core_account(i),
            code,
            now_ms,
            Lang::En,
        ))
    }

    /// What `error`, the balance answer of a check at `now_ms`, means for a thread plan whose
    /// `threadsinfo` answer was folded just before ([`Alerts::observe_threads`]): the core's
    /// diagnosis (`MonitorState::diagnosis`) had the check failed with it, `None` when it means
    /// what it says (an empty account, or no thread plan).
    pub fn capacity(&self, account: &str, error: &ApiError, now_ms: i64) -> Option<Diagnosis> {
        let &i = self.index.get(account)?;
        let watched = &self.shared.accounts[i];
        let mut probe = lock(&self.shared.monitors[i]).clone();
        probe.last_error = Some(FailedCheck {
            error: error.clone(),
            at: now_ms,
            extra: Map::new(),
        });
        probe.diagnosis(&watched.settings)
    }

    /// Folds a check's `threadsinfo` answer into the account's monitor, before its balance (the
    /// core's order); a capacity alert it deserves goes to every target that wants it, as
    /// [`Alerts::observe`]'s alerts do.
    pub fn observe_threads(&self, account: &str, outcome: &ThreadsOutcome, now_ms: i64) {
        let Some(&i) = self.index.get(account) else {
            return;
        };
        let watched = &self.shared.accounts[i];
        let (event, state) = {
            let mut monitor = lock(&self.shared.monitors[i]);
            let before = std::mem::take(&mut *monitor);
            let (next, decision) = before.observe_threads(&watched.settings, outcome, now_ms);
            let event = event(watched, &next, decision, now_ms, None);
            let state = next.alerts.clone();
            *monitor = next;
            (event, state)
        };
        self.push(account, event, &state, now_ms);
        self.write(Job::Monitor(i));
    }

    /// Folds one upstream answer into the account's monitor; an alert it deserves is put in
    /// the outbox of every target that wants it (the oldest dropped when over the bound), and
    /// the delivery tasks are woken. `runway_seconds`: the server's forecast after the reading;
    /// `history`: the account's, the reading at `now_ms` included or not. Never waits for a
    /// disk: the account's new state and the messages are handed to the writer.
    pub fn observe(
        &self,
        account: &str,
        outcome: &Outcome,
        now_ms: i64,
        runway_seconds: Option<i64>,
        history: &[Point],
    ) {
        let Some(&i) = self.index.get(account) else {
            return;
        };
        let watched = &self.shared.accounts[i];
        let (event, state) = {
            let mut monitor = lock(&self.shared.monitors[i]);
            let mut before = std::mem::take(&mut *monitor);
            before.history = watched.history(history, Some(now_ms));
            let (mut next, decision) = before.observe(&watched.settings, outcome, now_ms);
            let event = event(watched, &next, decision, now_ms, runway_seconds);
            let state = next.alerts.clone();
            next.history = Vec::new();
            *monitor = next;
            (event, state)
        };
        self.push(account, event, &state, now_ms);
        self.write(Job::Monitor(i));
    }

    /// Puts an alert in the outbox of every target that wants it (the oldest dropped when over
    /// the bound) and wakes their delivery tasks. `state`: the account's alert memory after the
    /// decision, journalled with the message.
    fn push(&self, account: &str, event: Option<(Kind, Event)>, state: &AlertState, now_ms: i64) {
        let Some((kind, event)) = &event else {
            return;
        };
        let mut sent = 0;
        for (t, target) in self.shared.targets.iter().enumerate() {
            if !target.hook.wants(account, *kind) {
                continue;
            }
            sent += 1;
            let mut outbox = lock(&target.outbox);
            let seq = outbox.take_seq();
            let entry = Entry {
                seq,
                id: event.id.clone(),
                body: target.hook.body(event),
                at: now_ms,
                account: account.to_string(),
                alerts: Some(state.clone()),
            };
            let dropped = outbox.push(entry, self.writer.is_none(), self.limits);
            // Under the outbox's lock: the writer gets a target's jobs in `seq` order.
            self.write(Job::Add(t, seq));
            for gone in &dropped {
                self.write(Job::Settle(t, gone.seq, false));
            }
            self.count(t, &outbox);
            drop(outbox);
            if !dropped.is_empty() {
                let url_env = &target.hook.url_env;
                self.metrics
                    .record_deliveries(url_env, "dropped", dropped.len() as u64);
                warn!(
                    target = url_env,
                    dropped = dropped.len(),
                    "outbox full: the oldest pending alert messages are dropped"
                );
            }
            target.notify.notify_one();
        }
        info!(account, kind = kind.as_str(), targets = sent, "alert");
    }

    /// Removes a delivered (or given up) message and records why.
    fn settle(&self, t: usize, entry: &Entry, result: &'static str) {
        let target = &self.shared.targets[t];
        let mut outbox = lock(&target.outbox);
        if outbox.settle(entry.seq) {
            self.write(Job::Settle(t, entry.seq, result == "delivered"));
        }
        self.count(t, &outbox);
        drop(outbox);
        self.metrics.record_delivery(&target.hook.url_env, result);
    }

    /// One target's delivery loop: its oldest pending message (once on disk), until it is
    /// delivered or given up, then the next, at the delivery pace; asleep while there is none.
    async fn deliver(self: Arc<Self>, t: usize) {
        let Some(sender) = self.sender.clone() else {
            return;
        };
        let target = &self.shared.targets[t];
        let hook = &target.hook;
        let mut failures: u32 = 0;
        let mut pace = Pace::new();
        loop {
            let next = lock(&target.outbox).next_to_send();
            let Some(entry) = next else {
                target.notify.notified().await;
                continue;
            };
            pace.take().await;
            match sender.send(hook, &entry.body).await {
                Ok(()) => {
                    failures = 0;
                    self.settle(t, &entry, "delivered");
                    info!(target = hook.url_env, id = entry.id, "alert delivered");
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    self.metrics.record_delivery(&hook.url_env, "failed");
                    if self.clock.epoch_ms().saturating_sub(entry.at) >= GIVE_UP_MS {
                        warn!(target = hook.url_env, id = entry.id, error = %error, "alert not delivered for a day; dropped");
                        self.settle(t, &entry, "gave_up");
                        failures = 0;
                        continue;
                    }
                    lock(&target.outbox).release();
                    let wait = retry_delay(failures);
                    warn!(target = hook.url_env, error = %error, retry_in_seconds = wait.as_secs(), "alert delivery failed");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// The delivery pace of one target: a bucket of [`DELIVERY_BURST`] sends, refilled by one per
/// [`DELIVERY_INTERVAL`] (real time: pacing protects the receiver, whatever clock the server
/// runs on).
#[derive(Debug)]
struct Pace {
    tokens: u32,
    refilled: tokio::time::Instant,
}

impl Pace {
    fn new() -> Pace {
        Pace {
            tokens: DELIVERY_BURST,
            refilled: tokio::time::Instant::now(),
        }
    }

    /// Waits for a send's turn.
    async fn take(&mut self) {
        loop {
            let now = tokio::time::Instant::now();
            let earned = now.saturating_duration_since(self.refilled).as_millis()
                / DELIVERY_INTERVAL.as_millis().max(1);
            if earned > 0 {
                let earned = u32::try_from(earned).unwrap_or(u32::MAX);
                self.tokens = self.tokens.saturating_add(earned).min(DELIVERY_BURST);
                self.refilled += DELIVERY_INTERVAL * earned.min(DELIVERY_BURST);
                if self.tokens == DELIVERY_BURST {
                    self.refilled = now;
                }
            }
            if self.tokens > 0 {
                self.tokens -= 1;
                return;
            }
            tokio::time::sleep_until(self.refilled + DELIVERY_INTERVAL).await;
        }
    }
}

/// The wait after `failures` failed attempts in a row: [`FIRST_RETRY`] doubling, at most
/// [`MAX_RETRY`].
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
}

/// The core's decision as a message, with the extension's words (English).
fn event(
    watched: &Watched,
    monitor: &MonitorState,
    decision: AlertDecision,
    at: i64,
    runway_seconds: Option<i64>,
) -> Option<(Kind, Event)> {
    let kind = match decision {
        AlertDecision::None => return None,
        AlertDecision::Critical => Kind::Critical,
        AlertDecision::Warning => Kind::Warning,
        AlertDecision::Restored => Kind::Restored,
        AlertDecision::Predictive => Kind::Predictive,
        AlertDecision::Spike => Kind::Spike,
        AlertDecision::KeyError(_) => Kind::KeyRejected,
        AlertDecision::ThreadsSaturated => Kind::ThreadsSaturated,
        AlertDecision::PlanExpired => Kind::PlanExpired,
    };
    let mut core = CoreAccount::new(watched.settings.clone());
    core.monitor = monitor.clone();
    let view = alert_view(decision, &core, Lang::En)?;
    Some((
        kind,
        Event {
            id: format!("{}-{at}-{}", watched.name, kind.as_str()),
            account: watched.name.clone(),
            provider: watched.provider,
            kind: kind.as_str(),
            level: monitor.level(&watched.settings),
            balance: monitor.shown_balance(),
            threshold: watched.settings.threshold,
            runway_seconds,
            at,
            title: view.title,
            message: view.message,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const DELAYS: [(u32, u64); 6] = [
        (1,  5),
        (2,  10),
        (3,  20),
        (7,  320),
        (8,  600),
        (40, 600),
    ];

    #[test]
    fn retries_double_from_five_seconds_to_ten_minutes() {
        for (failures, seconds) in DELAYS {
            assert_eq!(
                retry_delay(failures),
                Duration::from_secs(seconds),
                "{failures}"
            );
        }
    }
}
