//! When to ask the API next.
//!
//! Politeness rules from docs/API.md ("Politeness"): never more than one request per minute per key,
//! never again with a rejected key, at least 5 minutes after an IP ban, and transient failures
//! retried sooner than the interval but with a growing delay.

use crate::error::RetryPolicy;

/// The least time between two requests for one key.
pub const MIN_REQUEST_GAP_MS: i64 = 60_000;
/// A reading younger than this is reused when a view opens (the 5-minute cache of docs/API.md, "Defaults").
pub const CACHE_MS: i64 = 5 * 60_000;
/// Backoff never waits longer than this.
pub const MAX_BACKOFF_MS: i64 = 60 * 60_000;
/// Alarms may fire a little early; a check this close to its time counts as due.
pub const DUE_SLACK_MS: i64 = 2_000;
/// A request that gets no answer within this long is a `timeout` (both the extension and the
/// widget pass it to `fetchBalance`).
pub const FETCH_TIMEOUT_MS: u32 = 15_000;
/// A stored time further ahead of `now` than this was written by a clock that has since gone
/// back (or was set wrong): it says nothing about when the API was last asked. Small clock
/// corrections (NTP steps) stay within it; a wrong time beyond it would otherwise block
/// every check for the size of the skew.
pub const CLOCK_SKEW_TOLERANCE_MS: i64 = 60_000;

/// `at`, unless it lies further in the future than [`CLOCK_SKEW_TOLERANCE_MS`]: then unknown.
pub fn trusted_time(at: Option<i64>, now_ms: i64) -> Option<i64> {
    at.filter(|&at| at <= now_ms.saturating_add(CLOCK_SKEW_TOLERANCE_MS))
}

/// What asks for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The polling alarm or timer.
    Alarm,
    /// A popup or widget opened: reuse a fresh reading.
    Open,
    /// The user pressed Refresh.
    Refresh,
    /// Settings were saved.
    Settings,
}

impl Trigger {
    /// The trigger with this stable name.
    pub fn from_name(name: &str) -> Option<Trigger> {
        match name {
            "alarm" => Some(Trigger::Alarm),
            "open" => Some(Trigger::Open),
            "refresh" => Some(Trigger::Refresh),
            "settings" => Some(Trigger::Settings),
            _ => None,
        }
    }
}

/// The delay after a check with this outcome policy; `failures` counts consecutive failed
/// checks including this one; `floor_ms` is the provider's shortest gap between two requests
/// (`Provider::min_gap_ms`), which bounds the normal interval (30 s where a provider allows
/// it, not [`MIN_REQUEST_GAP_MS`]: adaptive polling plans down to it). `None` means "do not
/// poll again until settings change".
pub fn retry_delay_ms(
    policy: RetryPolicy,
    failures: u32,
    interval_ms: i64,
    floor_ms: i64,
) -> Option<i64> {
    let doubling =
        |base_ms: i64| base_ms.saturating_mul(1_i64 << failures.saturating_sub(1).min(20));
    match policy {
        RetryPolicy::Normal => Some(interval_ms.max(floor_ms)),
        RetryPolicy::RetryWithBackoff { base_secs } => Some(
            doubling(i64::from(base_secs) * 1000)
                .max(MIN_REQUEST_GAP_MS)
                .min(interval_ms.max(MIN_REQUEST_GAP_MS)),
        ),
        RetryPolicy::BackOff { min_secs } => {
            let min = i64::from(min_secs) * 1000;
            Some(doubling(min).min(MAX_BACKOFF_MS).max(min))
        }
        RetryPolicy::StopUntilSettingsChange => None,
    }
}

/// When the next check is due: right away when nothing was asked yet, otherwise the last
/// request time plus the policy's delay.
pub fn next_check_at(
    last_request_at: Option<i64>,
    policy: RetryPolicy,
    failures: u32,
    interval_ms: i64,
    floor_ms: i64,
    now_ms: i64,
) -> Option<i64> {
    match last_request_at {
        None => Some(now_ms),
        Some(at) => {
            retry_delay_ms(policy, failures, interval_ms, floor_ms).map(|d| at.saturating_add(d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const MIN: i64 = 60_000;

    #[test]
    fn delays() {
        let ten = 10 * MIN;
        let transient = RetryPolicy::RetryWithBackoff { base_secs: 5 };
        let ban = RetryPolicy::BackOff { min_secs: 300 };
        #[rustfmt::skip]
        let cases = [
            (RetryPolicy::Normal,                  0,  ten,    MIN,     Some(ten)),
            (RetryPolicy::Normal,                  0,  1_000,  MIN,     Some(MIN)),
            (RetryPolicy::Normal,                  0,  45_000, MIN / 2, Some(45_000)),
            (RetryPolicy::Normal,                  0,  1_000,  MIN / 2, Some(MIN / 2)),
            (transient,                            1,  ten,    MIN,     Some(MIN)),
            (transient,                            1,  ten,    MIN / 2, Some(MIN)),
            (transient,                            4,  ten,    MIN,     Some(MIN)),
            (transient,                            5,  ten,    MIN,     Some(80_000)),
            (transient,                            7,  ten,    MIN,     Some(320_000)),
            (transient,                            9,  ten,    MIN,     Some(ten)),
            (transient,                            60, ten,    MIN,     Some(ten)),
            (ban,                                  1,  ten,    MIN,     Some(5 * MIN)),
            (ban,                                  2,  ten,    MIN,     Some(10 * MIN)),
            (ban,                                  30, ten,    MIN,     Some(60 * MIN)),
            (RetryPolicy::StopUntilSettingsChange, 1,  ten,    MIN,     None),
        ];
        for (policy, failures, interval, floor, want) in cases {
            assert_eq!(
                retry_delay_ms(policy, failures, interval, floor),
                want,
                "{policy:?} {failures}"
            );
        }
    }

    #[test]
    fn future_times_are_not_trusted() {
        let now = 1_000_000;
        #[rustfmt::skip]
        let cases = [
            (None,                                    None),
            (Some(now - 5 * MIN),                     Some(now - 5 * MIN)),
            (Some(now),                               Some(now)),
            (Some(now + CLOCK_SKEW_TOLERANCE_MS),     Some(now + CLOCK_SKEW_TOLERANCE_MS)),
            (Some(now + CLOCK_SKEW_TOLERANCE_MS + 1), None),
            (Some(now + 7 * 60 * MIN),                None),
        ];
        for (at, want) in cases {
            assert_eq!(trusted_time(at, now), want, "{at:?}");
        }
    }

    #[test]
    fn next_check() {
        assert_eq!(
            next_check_at(None, RetryPolicy::Normal, 0, 600_000, MIN, 42),
            Some(42)
        );
        assert_eq!(
            next_check_at(Some(1_000), RetryPolicy::Normal, 0, 600_000, MIN, 5_000),
            Some(601_000)
        );
        assert_eq!(
            next_check_at(
                Some(1_000),
                RetryPolicy::StopUntilSettingsChange,
                1,
                600_000,
                MIN,
                5_000
            ),
            None
        );
    }
}
