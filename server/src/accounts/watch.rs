//! The watcher: every account is checked on its own schedule, not only when a page asks.
//!
//! One task per account asks the core when the next check is due (`MonitorState::
//! next_check_at`: the adaptive interval, the provider's politeness floor, the backoff after
//! errors, nothing while a rejected key pauses checks) and then reads the account through its
//! cache, like a page does. So the watcher and the pages share one upstream request per cache
//! period, and whichever fetched it, the answer goes through the same monitor
//! ([`crate::alerts::alerting`]). It also runs in mock mode, so the simulated accounts' readings and
//! metrics stay fresh without a page open.

use crate::accounts::account::Account;
use crate::alerts::alerting::Alerts;
use crate::clock::Clock;
use crate::metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;

/// The longest sleep between two looks at the schedule: a manual test clock (or a clock that
/// jumped) is noticed within this.
const TICK_MS: i64 = 1000;

/// How often an account whose key was rejected is read again.
pub const PAUSED_RETRY_MS: i64 = 3_600_000;

/// Starts one watcher task per account (call inside a tokio runtime).
pub fn start(
    accounts: &[Arc<Account>],
    metrics: &Arc<Metrics>,
    alerts: &Arc<Alerts>,
    clock: &Clock,
) {
    for account in accounts {
        tokio::spawn(watch(
            Arc::clone(account),
            Arc::clone(metrics),
            Arc::clone(alerts),
            clock.clone(),
        ));
    }
}

/// One account's loop: read it when due, otherwise wait (at most a tick) and look again. A
/// reading the cache answers is not observed, and the schedule stays as it was: the next look
/// reads the cache again, for free, until the cache lets the upstream be asked.
///
/// A rejected key pauses the core's schedule until the settings change, which on a server
/// means a restart with a corrected key variable: so a paused account is read once when the
/// watcher starts (the memory restored from the data directory may hold the pause), then once
/// every [`PAUSED_RETRY_MS`], politely, so a key fixed at the provider's side is noticed too.
async fn watch(account: Arc<Account>, metrics: Arc<Metrics>, alerts: Arc<Alerts>, clock: Clock) {
    // When this watcher last read the account (none yet: a pause restored from disk is tried
    // at once).
    let mut read_at: Option<i64> = None;
    loop {
        let now = clock.epoch_ms();
        let wait = match alerts.next_check_at(&account.name, now, &account.points()) {
            Some(due) if due <= now => {
                read_at = Some(now);
                account.verdict(&metrics).await;
                TICK_MS
            }
            Some(due) => due.saturating_sub(now).min(TICK_MS),
            None if read_at.is_none_or(|at| now.saturating_sub(at) >= PAUSED_RETRY_MS) => {
                read_at = Some(now);
                account.verdict(&metrics).await;
                TICK_MS
            }
            None => TICK_MS,
        };
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
    }
}
