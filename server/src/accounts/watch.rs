//! The watcher: every account is checked on its own schedule, not only when a page asks.
//!
//! One task per account asks the core when the next check is due (`MonitorState::
//! next_check_at`: the adaptive interval, the provider's politeness floor, the backoff after
//! errors, nothing while a rejected key pauses checks) and then reads the account through its
//! cache, like a page does. So the watcher and the pages share one upstream request per cache
//! period, and whichever fetched it, the answer goes through the same monitor
//! ([`crate::alerts::alerting`]). It also runs in mock mode, so the simulated accounts' readings and
//! metrics stay fresh without a page open.
//!
//! A task sleeps until its account is due (woken early when a page's reading changed the
//! schedule), so ten thousand idle accounts cost no CPU between their checks. The first checks
//! after a start are spread over the politeness floor instead of all going out at once: the
//! accounts of one API host take turns, the first at once and the others at even steps over the
//! floor, each with a jitter of its own (a hash of its name, so a restart keeps the order). The
//! request times kept in the data directory ([`crate::floor`]) hold too: a key asked just before
//! a restart is not asked again before its floor has passed.

use crate::accounts::account::Account;
use crate::alerts::alerting::Alerts;
use crate::clock::Clock;
use crate::metrics::Metrics;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch as flag;

/// The longest sleep between two looks at the schedule with a manual test clock (a clock the
/// tests move by hand is noticed within this).
const TICK_MS: i64 = 1000;

/// The longest sleep with the system clock (a wall clock that jumped is noticed within this).
const LONGEST_SLEEP_MS: i64 = 60_000;

/// How often an account whose key was rejected is read again.
pub const PAUSED_RETRY_MS: i64 = 3_600_000;

/// Starts one watcher task per account (call inside a tokio runtime); each begins once `warm`
/// says every account's kept state is read (the watchers do not read ten thousand files on
/// the threads that answer requests).
pub fn start(
    accounts: &[Arc<Account>],
    metrics: &Arc<Metrics>,
    alerts: &Arc<Alerts>,
    clock: &Clock,
    warm: flag::Receiver<bool>,
) {
    let started = clock.epoch_ms();
    for (account, offset) in accounts.iter().zip(first_check_offsets(accounts)) {
        let (account, metrics, alerts, clock) = (
            Arc::clone(account),
            Arc::clone(metrics),
            Arc::clone(alerts),
            clock.clone(),
        );
        let mut warm = warm.clone();
        tokio::spawn(async move {
            let _ = warm.wait_for(|done| *done).await;
            watch(
                account,
                metrics,
                alerts,
                clock,
                started.saturating_add(offset),
            )
            .await;
        });
    }
}

/// How long after the start each account's first check waits (ms), in the accounts' order.
/// Accounts of one API host are spread over their provider's floor: the k-th of n at
/// `floor × k / n`, plus a jitter below one step (`floor / n`) from a hash of its name; the
/// first of each host at once. Simulated accounts protect no API: at once.
pub fn first_check_offsets(accounts: &[Arc<Account>]) -> Vec<i64> {
    let mut hosts: HashMap<String, (i64, i64)> = HashMap::new();
    for account in accounts {
        if let Some(origin) = account.origin() {
            hosts.entry(origin).or_default().1 += 1;
        }
    }
    accounts
        .iter()
        .map(|account| {
            let (Some(origin), Some(floor)) = (account.origin(), account.floor_ms()) else {
                return 0;
            };
            let Some((seen, total)) = hosts.get_mut(&origin) else {
                return 0;
            };
            let k = *seen;
            *seen += 1;
            if k == 0 || floor <= 0 {
                return 0;
            }
            let step = (floor / *total).max(1);
            let jitter = i64::try_from(name_hash(&account.name) % step.unsigned_abs()).unwrap_or(0);
            (floor * k / *total + jitter).min(floor - 1)
        })
        .collect()
}

/// FNV-1a 64 of a name: a stable jitter, the same at every start.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One account's loop: read it when due, otherwise sleep until it is (or until a reading a
/// page caused changes its schedule) and look again. A reading the cache answers is not
/// observed, and the schedule stays as it was: the next look reads the cache again, for free,
/// until the cache lets the upstream be asked.
///
/// The first check waits for `first` (the spread over the floor) and for the key's
/// politeness floor.
///
/// A rejected key pauses the core's schedule until the settings change, which on a server
/// means a restart with a corrected key variable: so a paused account is read once when the
/// watcher starts (the memory restored from the data directory may hold the pause), then once
/// every [`PAUSED_RETRY_MS`], politely, so a key fixed at the provider's side is noticed too.
async fn watch(
    account: Arc<Account>,
    metrics: Arc<Metrics>,
    alerts: Arc<Alerts>,
    clock: Clock,
    first: i64,
) {
    // When this watcher last read the account (none yet: a pause restored from disk is tried
    // at once).
    let mut read_at: Option<i64> = None;
    let longest = if clock.is_manual() {
        TICK_MS
    } else {
        LONGEST_SLEEP_MS
    };
    loop {
        let now = clock.epoch_ms();
        // Not before the start's spread, nor before the key's floor.
        let earliest = account
            .floor_allows_at(now)
            .unwrap_or(now)
            .max(if read_at.is_none() { first } else { now });
        let due = match alerts.next_check_at(&account.name, now, &account.points()) {
            Some(due) => Some(due.max(earliest)),
            None if read_at.is_none_or(|at| now.saturating_sub(at) >= PAUSED_RETRY_MS) => {
                Some(earliest.max(read_at.map_or(now, |at| at + PAUSED_RETRY_MS)))
            }
            None => read_at.map(|at| at + PAUSED_RETRY_MS),
        };
        let wait = match due {
            Some(due) if due <= now => {
                read_at = Some(now);
                account.verdict(&metrics).await;
                // A reading the monitor observed rings `observed` and the schedule is looked
                // at again at once; one the cache answered waits a tick.
                TICK_MS
            }
            Some(due) => due.saturating_sub(now),
            None => longest,
        };
        let wait = Duration::from_millis(u64::try_from(wait.clamp(1, longest)).unwrap_or(1));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = account.observed().notified() => {}
        }
    }
}
