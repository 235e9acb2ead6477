//! Alerts outside the browser: the core's monitor per account, and an outbox per webhook target.
//!
//! Every upstream answer (whether the watcher asked or a page did) is folded into the account's
//! `monitor::MonitorState` with the core's `observe`, exactly as the extension does, so the
//! alerts (critical, warning, restored, predictive, spike, key rejected) and their words
//! (`view::alert_view`, from the locale files) are the extension's. A cached reading is never
//! observed: only the fetch that asked the upstream reaches [`Alerts::observe`].
//!
//! Memory on disk (`--data-dir`): `DIR/_alerts.json` holds every account's monitor state and
//! the outbox (the messages decided and not delivered yet, one entry per target). The decision
//! and its outbox entries are written together, atomically (temp file, fsync, rename, fsync of
//! the directory), before anything is sent; an entry leaves the outbox once its target
//! answered 2xx. So a crash before the write leaves the old state, and the next reading
//! decides the same alert again; a crash after it finds the entry pending on start and sends
//! it. A crash between a target's 2xx and the write that removes the entry re-sends it once:
//! the generic body's `id` lets a receiver drop that. (`_` is not allowed in account names, so
//! the file never meets a history file.) Without a data directory all of this lives in memory.
//!
//! Each target has its own delivery task: a target that fails is retried with backoff (5 s
//! doubling to 10 min; after a day the message is dropped and counted as `gave_up`), and it
//! never holds up another target or a balance check.

use crate::alerts::webhook::{Event, Sender};
use crate::clock::Clock;
use crate::config::webhook::{Kind, Webhook};
use crate::metrics::Metrics;
use crate::store::write_atomically;
use captchaai_balance::alerts::AlertDecision;
use captchaai_balance::i18n::Lang;
use captchaai_balance::money::Money;
use captchaai_balance::monitor::{MonitorState, Outcome};
use captchaai_balance::provider::ProviderId;
use captchaai_balance::settings::Settings;
use captchaai_balance::state::Account as CoreAccount;
use captchaai_balance::stored;
use captchaai_balance::view::alert_view;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{info, warn};

/// The alert memory's file in the data directory.
pub const FILE_NAME: &str = "_alerts.json";
/// The format of that file; another version is set aside like a corrupt file.
pub const FORMAT_VERSION: u32 = 1;
/// The first retry of a failed delivery.
pub const FIRST_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(600);
/// A message still not delivered this long after its decision is dropped (`gave_up`).
pub const GIVE_UP_MS: i64 = 24 * 3_600_000;

/// One message waiting for its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// The event's id (the same for every target).
    id: String,
    /// The target's `url_env`.
    target: String,
    /// The body, fixed when decided.
    body: String,
    /// When it was decided (epoch ms).
    at: i64,
}

/// `_alerts.json`. Borrowed when written, owned when read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertFile<'a> {
    version: u32,
    /// Account name -> the core's monitor state, each read on its own (`stored::read`: one
    /// damaged state costs only itself, and only its damaged parts).
    #[serde(deserialize_with = "read_monitors")]
    accounts: Cow<'a, BTreeMap<String, MonitorState>>,
    outbox: Cow<'a, [Entry]>,
}

fn read_monitors<'de, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Cow<'a, BTreeMap<String, MonitorState>>, D::Error> {
    let raw = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    Ok(Cow::Owned(
        raw.into_iter()
            .map(|(name, value)| (name, stored::read(&value)))
            .collect(),
    ))
}

#[derive(Debug, Default)]
struct Inner {
    monitors: BTreeMap<String, MonitorState>,
    outbox: Vec<Entry>,
}

/// An account as the monitor sees it.
#[derive(Debug)]
struct Watched {
    name: String,
    provider: ProviderId,
    settings: Settings,
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

/// The alert machinery of one server.
#[derive(Debug)]
pub struct Alerts {
    accounts: Vec<Watched>,
    targets: Vec<(Webhook, Notify)>,
    inner: Mutex<Inner>,
    dir: Option<PathBuf>,
    metrics: Arc<Metrics>,
    clock: Clock,
    sender: Option<Sender>,
}

impl Alerts {
    /// The monitors of these accounts and the outboxes of these targets (delivered through
    /// `sender`, the server's one HTTP client), read back from `dir` when there is one.
    pub fn new(
        accounts: &[AlertAccount],
        targets: Vec<Webhook>,
        dir: Option<PathBuf>,
        metrics: Arc<Metrics>,
        clock: Clock,
        sender: Option<Sender>,
    ) -> Alerts {
        let names: Vec<&str> = targets.iter().map(|t| t.url_env.as_str()).collect();
        metrics.add_targets(&names);
        let mut inner = dir.as_deref().map(load).unwrap_or_default();
        let before = inner.outbox.len();
        inner.outbox.retain(|e| names.contains(&e.target.as_str()));
        if inner.outbox.len() < before {
            warn!(
                dropped = before - inner.outbox.len(),
                "pending alert messages for webhooks no longer configured are dropped"
            );
        }
        let alerts = Alerts {
            accounts: accounts
                .iter()
                .map(|account| Watched {
                    name: account.name.clone(),
                    provider: account.provider,
                    settings: settings_for(account),
                })
                .collect(),
            targets: targets.into_iter().map(|t| (t, Notify::new())).collect(),
            inner: Mutex::new(inner),
            dir,
            metrics,
            clock,
            sender,
        };
        alerts.count_pending(&alerts.lock());
        alerts
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts one delivery task per target (call inside a tokio runtime). Pending messages
    /// read back from disk go out at once.
    pub fn start_delivery(self: &Arc<Self>) {
        for index in 0..self.targets.len() {
            tokio::spawn(Arc::clone(self).deliver(index));
        }
    }

    /// When the core says this account's next check is due (epoch ms), `None` while checks are
    /// paused (a rejected key) or for an unknown account.
    pub fn next_check_at(&self, account: &str, now_ms: i64) -> Option<i64> {
        let watched = self.accounts.iter().find(|a| a.name == account)?;
        let inner = self.lock();
        match inner.monitors.get(account) {
            Some(monitor) => monitor.next_check_at(&watched.settings, now_ms),
            None => MonitorState::default().next_check_at(&watched.settings, now_ms),
        }
    }

    /// Folds one upstream answer into the account's monitor; an alert it deserves is put in
    /// the outbox of every target that wants it, written to disk with the new state, then
    /// handed to the delivery tasks. `runway_seconds`: the server's forecast after the reading.
    pub fn observe(
        &self,
        account: &str,
        outcome: &Outcome,
        now_ms: i64,
        runway_seconds: Option<i64>,
    ) {
        let Some(watched) = self.accounts.iter().find(|a| a.name == account) else {
            return;
        };
        let mut inner = self.lock();
        let monitor = inner.monitors.remove(account).unwrap_or_default();
        let (next, decision) = monitor.observe(&watched.settings, outcome, now_ms);
        let event = event(watched, &next, decision, now_ms, runway_seconds);
        inner.monitors.insert(account.to_string(), next);
        let mut wake = Vec::new();
        if let Some((kind, event)) = &event {
            for (index, (hook, _)) in self.targets.iter().enumerate() {
                if hook.wants(account, *kind) {
                    inner.outbox.push(Entry {
                        id: event.id.clone(),
                        target: hook.url_env.clone(),
                        body: hook.body(event),
                        at: now_ms,
                    });
                    wake.push(index);
                }
            }
            info!(account, kind = kind.as_str(), targets = wake.len(), "alert");
        }
        self.save(&inner);
        self.count_pending(&inner);
        drop(inner);
        for index in wake {
            self.targets[index].1.notify_one();
        }
    }

    /// Writes the whole memory (a failure is logged; the memory still holds it).
    fn save(&self, inner: &Inner) {
        let Some(dir) = &self.dir else {
            return;
        };
        if let Err(error) = save(dir, inner) {
            warn!(error = %error, "cannot write the alert memory; it is kept in memory");
        }
    }

    fn count_pending(&self, inner: &Inner) {
        for (hook, _) in &self.targets {
            let count = inner
                .outbox
                .iter()
                .filter(|e| e.target == hook.url_env)
                .count();
            self.metrics.set_pending(&hook.url_env, count);
        }
    }

    /// Removes a delivered (or given up) entry and writes the memory.
    fn settle(&self, entry: &Entry, result: &'static str) {
        let mut inner = self.lock();
        inner
            .outbox
            .retain(|e| !(e.id == entry.id && e.target == entry.target));
        self.save(&inner);
        self.count_pending(&inner);
        drop(inner);
        self.metrics.record_delivery(&entry.target, result);
    }

    /// One target's delivery loop: its oldest pending message, until it is delivered or given
    /// up, then the next; asleep while there is none.
    async fn deliver(self: Arc<Self>, index: usize) {
        let (hook, notify) = &self.targets[index];
        let Some(sender) = &self.sender else {
            return;
        };
        let mut failures: u32 = 0;
        loop {
            let next = self
                .lock()
                .outbox
                .iter()
                .find(|e| e.target == hook.url_env)
                .cloned();
            let Some(entry) = next else {
                notify.notified().await;
                continue;
            };
            match sender.send(hook, &entry.body).await {
                Ok(()) => {
                    failures = 0;
                    self.settle(&entry, "delivered");
                    info!(target = hook.url_env, id = entry.id, "alert delivered");
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    self.metrics.record_delivery(&hook.url_env, "failed");
                    if self.clock.epoch_ms().saturating_sub(entry.at) >= GIVE_UP_MS {
                        warn!(target = hook.url_env, id = entry.id, error = %error, "alert not delivered for a day; dropped");
                        self.settle(&entry, "gave_up");
                        failures = 0;
                        continue;
                    }
                    let wait = retry_delay(failures);
                    warn!(target = hook.url_env, error = %error, retry_in_seconds = wait.as_secs(), "alert delivery failed");
                    tokio::time::sleep(wait).await;
                }
            }
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

/// The stored memory; none, or unusable (logged, set aside as `_alerts.json.corrupt`): empty.
fn load(dir: &Path) -> Inner {
    let path = dir.join(FILE_NAME);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Inner::default(),
        Err(error) => {
            warn!(file = %path.display(), error = %error, "cannot read the alert memory; alerts start afresh");
            return Inner::default();
        }
    };
    let file = serde_json::from_slice::<AlertFile>(&bytes)
        .ok()
        .filter(|f| f.version == FORMAT_VERSION);
    let Some(file) = file else {
        let kept = fs::rename(&path, path.with_extension("json.corrupt")).is_ok();
        warn!(file = %path.display(), set_aside = kept, "alert memory not usable; alerts start afresh");
        return Inner::default();
    };
    Inner {
        monitors: file.accounts.into_owned(),
        outbox: file.outbox.into_owned(),
    }
}

/// Writes the memory atomically (`store::write_atomically`).
fn save(dir: &Path, inner: &Inner) -> io::Result<()> {
    let file = AlertFile {
        version: FORMAT_VERSION,
        accounts: Cow::Borrowed(&inner.monitors),
        outbox: Cow::Borrowed(&inner.outbox),
    };
    let bytes = serde_json::to_vec(&file).map_err(io::Error::other)?;
    write_atomically(dir, FILE_NAME, &bytes)
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
