//! A thread plan's capacity. CaptchaAI sells plans by concurrent threads: beside the balance, a
//! check of a provider that sells them (`Provider::threads`) reads `threadsinfo` (docs/API.md,
//! "CaptchaAI threads"). This file owns what such a reading means: how busy the plan is, the
//! two capacity alerts (every thread busy for a while; no active plan) and what
//! `ERROR_ZERO_BALANCE` or `ERROR_NO_SLOT_AVAILABLE` mean while money remains.

use crate::alerts::{AlertDecision, AlertState};
use crate::error::{ApiError, ErrorCode};
use crate::money::Money;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every thread busy in this many readings in a row is a saturation …
pub const SATURATED_READINGS: u32 = 3;
/// … and so is every thread busy for this long (ms), however few readings saw it.
pub const SATURATED_MS: i64 = 10 * 60_000;
/// Readings kept for the busy share: a day at the default 10-minute interval.
pub const THREADS_HISTORY_LIMIT: usize = 144;
/// The busy share counts the readings of this window (ms).
pub const SHARE_WINDOW_MS: i64 = 24 * 3_600_000;

/// What `threadsinfo` said: the plan's threads and how many are busy. Serialized as the API and
/// the server name them (`threads`, `workingThreads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Threads {
    /// The plan's threads (0: no active plan).
    pub threads: u32,
    /// Threads busy now.
    pub working_threads: u32,
}

/// What one `threadsinfo` request produced.
pub type ThreadsOutcome = Result<Threads, ApiError>;

/// How a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    /// At least one thread is free.
    Free,
    /// Every thread is busy: new jobs wait or are refused (`ERROR_NO_SLOT_AVAILABLE`).
    AllBusy,
    /// Zero threads: the plan expired or was never bought.
    NoPlan,
}

impl Threads {
    /// Threads free now (an API that reports more busy than it has counts none free).
    pub fn free(self) -> u32 {
        self.threads.saturating_sub(self.working_threads)
    }

    /// How the plan stands.
    pub fn capacity(self) -> Capacity {
        if self.threads == 0 {
            Capacity::NoPlan
        } else if self.working_threads >= self.threads {
            Capacity::AllBusy
        } else {
            Capacity::Free
        }
    }
}

/// One reading kept with the monitor state, newest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct ThreadsReading {
    /// The plan's threads.
    pub threads: u32,
    /// Busy then.
    pub working_threads: u32,
    /// When (epoch ms).
    pub at: i64,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

impl ThreadsReading {
    /// A reading of `threads` at `at`.
    pub fn new(threads: Threads, at: i64) -> ThreadsReading {
        ThreadsReading {
            threads: threads.threads,
            working_threads: threads.working_threads,
            at,
            extra: Map::new(),
        }
    }

    /// The counts.
    pub fn counts(&self) -> Threads {
        Threads {
            threads: self.threads,
            working_threads: self.working_threads,
        }
    }
}

/// How often every thread was busy: `busy` of the `readings` of the last [`SHARE_WINDOW_MS`]
/// before `now_ms` (a plan with no threads counts in neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyShare {
    /// Readings with every thread busy.
    pub busy: usize,
    /// Readings of an active plan.
    pub readings: usize,
}

impl BusyShare {
    /// The share in whole percent, rounded to nearest.
    pub fn percent(self) -> u32 {
        if self.readings == 0 {
            return 0;
        }
        ((self.busy * 200 + self.readings) / (self.readings * 2)) as u32
    }
}

/// The busy share of `history` (oldest first) at `now_ms`; `None` without a reading of an
/// active plan in the window.
pub fn busy_share(history: &[ThreadsReading], now_ms: i64) -> Option<BusyShare> {
    let since = now_ms.saturating_sub(SHARE_WINDOW_MS);
    let active = history
        .iter()
        .filter(|r| r.at > since && r.at <= now_ms)
        .map(ThreadsReading::counts)
        .filter(|t| t.capacity() != Capacity::NoPlan);
    let (mut busy, mut readings) = (0, 0);
    for t in active {
        readings += 1;
        busy += usize::from(t.capacity() == Capacity::AllBusy);
    }
    (readings > 0).then_some(BusyShare { busy, readings })
}

/// The capacity alert a reading deserves, and the alert memory after it. Once per episode:
/// `threads_saturated` when every thread was busy in [`SATURATED_READINGS`] readings in a row
/// or for [`SATURATED_MS`], re-armed by a reading with a free thread; `plan_expired` when the
/// plan has zero threads, re-armed by a reading of an active plan. A failed reading changes
/// nothing (the caller does not call this).
pub fn decide(alerts: &AlertState, reading: Threads, now_ms: i64) -> (AlertDecision, AlertState) {
    let mut next = alerts.clone();
    let decision = match reading.capacity() {
        Capacity::NoPlan => {
            // No threads, so none can be busy: a saturation episode ends here.
            next.threads_busy_readings = 0;
            next.threads_busy_since = None;
            next.saturated_fired = false;
            if alerts.plan_expired_fired {
                AlertDecision::None
            } else {
                next.plan_expired_fired = true;
                AlertDecision::PlanExpired
            }
        }
        Capacity::AllBusy => {
            next.plan_expired_fired = false;
            next.threads_busy_readings = alerts.threads_busy_readings.saturating_add(1);
            let since = *next.threads_busy_since.get_or_insert(now_ms);
            let saturated = next.threads_busy_readings >= SATURATED_READINGS
                || now_ms.saturating_sub(since) >= SATURATED_MS;
            if saturated && !alerts.saturated_fired {
                next.saturated_fired = true;
                AlertDecision::ThreadsSaturated
            } else {
                AlertDecision::None
            }
        }
        Capacity::Free => {
            next.plan_expired_fired = false;
            next.threads_busy_readings = 0;
            next.threads_busy_since = None;
            next.saturated_fired = false;
            AlertDecision::None
        }
    };
    (decision, next)
}

/// What a "no money" or "no slot" answer means for a thread plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Diagnosis {
    /// Every thread was busy: wait and retry, or a plan with more threads.
    AllThreadsBusy,
    /// The account has money but no active plan: renew it.
    NoActivePlan,
}

/// What `code` means for an account of a thread plan with `balance` (the last known) and its
/// latest `threads` reading: `None` when the usual meaning stands (a real empty balance, or
/// nothing known to tell). `ERROR_ZERO_BALANCE` while money remains is all threads busy or no
/// active plan, as the provider's own SDK tells them apart; `ERROR_NO_SLOT_AVAILABLE` is all
/// threads busy unless the plan has none.
pub fn diagnose(
    code: ErrorCode,
    balance: Option<Money>,
    threads: Option<Threads>,
) -> Option<Diagnosis> {
    let capacity = threads.map(Threads::capacity);
    match code {
        ErrorCode::NoSlotAvailable => Some(match capacity {
            Some(Capacity::NoPlan) => Diagnosis::NoActivePlan,
            _ => Diagnosis::AllThreadsBusy,
        }),
        ErrorCode::ZeroBalance if balance.is_some_and(Money::is_positive) => match capacity? {
            Capacity::AllBusy => Some(Diagnosis::AllThreadsBusy),
            Capacity::NoPlan | Capacity::Free => Some(Diagnosis::NoActivePlan),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(threads: u32, working_threads: u32) -> Threads {
        Threads {
            threads,
            working_threads,
        }
    }

    /// Replays readings (`None`: a failed one, skipped as the monitor skips it) a minute apart.
    fn run(readings: &[Option<Threads>]) -> Vec<AlertDecision> {
        let mut alerts = AlertState::default();
        let mut out = Vec::new();
        for (i, reading) in readings.iter().enumerate() {
            let Some(reading) = reading else {
                out.push(AlertDecision::None);
                continue;
            };
            let (d, next) = decide(&alerts, *reading, i as i64 * 60_000);
            alerts = next;
            out.push(d);
        }
        out
    }

    #[test]
    fn capacity_and_free_threads() {
        assert_eq!(t(10, 3).capacity(), Capacity::Free);
        assert_eq!(t(10, 3).free(), 7);
        assert_eq!(t(10, 10).capacity(), Capacity::AllBusy);
        assert_eq!(t(10, 12).free(), 0, "more busy than it has: none free");
        assert_eq!(t(0, 0).capacity(), Capacity::NoPlan);
    }

    #[test]
    fn saturation_and_expiry_once_per_episode() {
        use AlertDecision as D;
        let busy = Some(t(10, 10));
        let free = Some(t(10, 9));
        let none = Some(t(0, 0));
        #[rustfmt::skip]
        type Case = (&'static str, Vec<Option<Threads>>, Vec<AlertDecision>);
        let cases: Vec<Case> = vec![
            (
                "three busy readings in a row",
                vec![busy, busy, busy, busy],
                vec![D::None, D::None, D::ThreadsSaturated, D::None],
            ),
            (
                "a free thread breaks the run",
                vec![busy, busy, free, busy, busy],
                vec![D::None; 5],
            ),
            (
                "a failed reading neither breaks nor counts",
                vec![busy, busy, None, busy],
                vec![D::None, D::None, D::None, D::ThreadsSaturated],
            ),
            (
                "re-armed by a free thread",
                vec![busy, busy, busy, free, busy, busy, busy],
                vec![
                    D::None,
                    D::None,
                    D::ThreadsSaturated,
                    D::None,
                    D::None,
                    D::None,
                    D::ThreadsSaturated,
                ],
            ),
            (
                "flapping at capacity never alerts",
                vec![busy, free, busy, free, busy, free],
                vec![D::None; 6],
            ),
            (
                "expired once",
                vec![free, none, none, none],
                vec![D::None, D::PlanExpired, D::None, D::None],
            ),
            (
                "renewed, then expired again",
                vec![none, free, none],
                vec![D::PlanExpired, D::None, D::PlanExpired],
            ),
            (
                "busy, then expired",
                vec![busy, busy, busy, none, busy, busy, busy],
                vec![
                    D::None,
                    D::None,
                    D::ThreadsSaturated,
                    D::PlanExpired,
                    D::None,
                    D::None,
                    D::ThreadsSaturated,
                ],
            ),
        ];
        for (name, readings, want) in cases {
            assert_eq!(run(&readings), want, "{name}");
        }
    }

    #[test]
    fn ten_minutes_busy_is_a_saturation_with_fewer_readings() {
        let busy = t(5, 5);
        let (first, alerts) = decide(&AlertState::default(), busy, 0);
        assert_eq!(first, AlertDecision::None);
        let (early, _) = decide(&alerts, busy, SATURATED_MS - 1);
        assert_eq!(early, AlertDecision::None);
        let (second, _) = decide(&alerts, busy, SATURATED_MS);
        assert_eq!(
            second,
            AlertDecision::ThreadsSaturated,
            "two readings ten minutes apart"
        );
    }

    #[test]
    fn busy_share_of_the_last_day() {
        let at = |min: i64, threads: Threads| ThreadsReading::new(threads, min * 60_000);
        let now = 48 * 60 * 60_000;
        let history = [
            at(0, t(10, 10)), // more than a day old: not counted
            at(24 * 60 + 10, t(10, 10)),
            at(24 * 60 + 20, t(10, 4)),
            at(24 * 60 + 30, t(0, 0)), // no plan: counted in neither
            at(24 * 60 + 40, t(10, 10)),
            at(24 * 60 + 50, t(10, 1)),
        ];
        let share = busy_share(&history, now).unwrap();
        assert_eq!(
            share,
            BusyShare {
                busy: 2,
                readings: 4
            }
        );
        assert_eq!(share.percent(), 50);
        assert_eq!(
            BusyShare {
                busy: 1,
                readings: 3
            }
            .percent(),
            33
        );
        assert_eq!(
            BusyShare {
                busy: 2,
                readings: 3
            }
            .percent(),
            67
        );
        assert!(busy_share(&history[..1], now).is_none());
    }

    #[test]
    fn zero_balance_and_no_slot_while_money_remains() {
        use Diagnosis::*;
        let money = Some(Money::parse("24.50").unwrap());
        let broke = Some(Money::ZERO);
        #[rustfmt::skip]
        let cases = [
            (ErrorCode::ZeroBalance,     money, Some(t(10, 10)), Some(AllThreadsBusy)),
            (ErrorCode::ZeroBalance,     money, Some(t(10, 3)),  Some(NoActivePlan)),
            (ErrorCode::ZeroBalance,     money, Some(t(0, 0)),   Some(NoActivePlan)),
            // Nothing known of the threads: the usual meaning stands.
            (ErrorCode::ZeroBalance,     money, None,            None),
            // No money: it is the money.
            (ErrorCode::ZeroBalance,     broke, Some(t(10, 10)), None),
            (ErrorCode::ZeroBalance,     None,  Some(t(10, 10)), None),
            (ErrorCode::NoSlotAvailable, money, Some(t(10, 10)), Some(AllThreadsBusy)),
            (ErrorCode::NoSlotAvailable, money, None,            Some(AllThreadsBusy)),
            (ErrorCode::NoSlotAvailable, broke, Some(t(0, 0)),   Some(NoActivePlan)),
            (ErrorCode::ServerError,     money, Some(t(10, 10)), None),
        ];
        for (code, balance, threads, want) in cases {
            assert_eq!(
                diagnose(code, balance, threads),
                want,
                "{code:?} {balance:?} {threads:?}"
            );
        }
    }
}
