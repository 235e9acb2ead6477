//! Which notification a new check deserves: one alert per event, never a flood.
//!
//! Critical when the account becomes empty; a low-balance warning once when the balance falls
//! below the threshold; "restored" when a top-up brings it clearly back above it; a key problem
//! once until a check succeeds again.
//!
//! Hysteresis: a balance that hovers at a boundary (0.99 <-> 1.00 against a $1.00 threshold,
//! a job spending while small top-ups arrive) must not notify on every check. A warning is
//! re-armed, and "restored" said, only once the balance is at least [`band`] above the
//! boundary: `threshold + max(10 % of threshold, $0.05)`, so $1.10 for the default $1.00. The
//! critical alert re-arms the same way above the empty floor ($0.01 + $0.05). Inside the band
//! the level shown is still the plain one (ok at $1.00); only notifications wait.

use crate::error::{ErrorCode, ErrorKind};
use crate::level::{BalanceLevel, EMPTY_FLOOR};
use crate::money::Money;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The smallest hysteresis band: five cents.
pub const MIN_BAND: Money = Money::from_cents(5);

/// How far above `boundary` a balance must be to re-arm its alert: 10 % of the boundary, at
/// least [`MIN_BAND`].
pub fn band(boundary: Money) -> Money {
    Money::from_nanos(boundary.nanos() / 10).max(MIN_BAND)
}

/// True when `balance` is clearly above `boundary` (at or above boundary + [`band`]).
fn clearly_above(balance: Money, boundary: Money) -> bool {
    boundary
        .checked_add(band(boundary))
        .is_some_and(|line| balance >= line)
}

/// What the alert machine remembers between checks (stored with the monitor state); a flag
/// that is missing or unreadable is off (read with `stored::read`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(default, rename_all = "camelCase")]
pub struct AlertState {
    /// The low warning (or critical) has fired and not been re-armed.
    pub warned_low: bool,
    /// The critical alert has fired since the balance was last above empty.
    pub empty_notified: bool,
    /// A key problem was notified since the last successful check.
    pub key_error_notified: bool,
    /// "Runs out within N hours" was said and not re-armed (`forecast::PredictiveState`).
    pub predictive_fired: bool,
    /// "Unusual spending" was said and not re-armed (`forecast::SpikeState`).
    pub spike_fired: bool,
    /// Since when spend has been normal again after a spike (epoch ms).
    pub spike_calm_since: Option<i64>,
    /// Thread-plan readings in a row with every thread busy (src/threads.rs).
    pub threads_busy_readings: u32,
    /// Since when every thread has been busy (epoch ms), while it is.
    pub threads_busy_since: Option<i64>,
    /// "All threads busy" was said and not re-armed by a free thread.
    pub saturated_fired: bool,
    /// "No active plan" was said and not re-armed by an active plan.
    pub plan_expired_fired: bool,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// What one check means for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertInput {
    /// A balance was read, and the low threshold it is compared with.
    Reading(Money, Money),
    /// The check failed.
    Failed(ErrorCode),
}

/// The notification to show, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertDecision {
    /// Nothing to say.
    None,
    /// The account just became empty.
    Critical,
    /// The balance just fell below the low threshold.
    Warning,
    /// A top-up brought the balance back to ok.
    Restored,
    /// The key was rejected.
    KeyError(ErrorCode),
    /// Spend over the last hour is far above the account's own baseline.
    Spike,
    /// At the current spend the balance runs out within the horizon.
    Predictive,
    /// Every thread of the plan has been busy for a while (src/threads.rs).
    ThreadsSaturated,
    /// The plan has no threads: expired or never bought.
    PlanExpired,
}

impl AlertState {
    /// After the user changed the threshold: a low warning given for the old one is re-armed
    /// quietly when the last balance is clearly above the new one. Nothing was topped up, so
    /// there is no "restored"; the next fall below the new threshold warns again.
    pub fn for_threshold(mut self, last_balance: Option<Money>, threshold: Money) -> AlertState {
        if last_balance.is_some_and(|b| clearly_above(b, threshold)) {
            self.warned_low = false;
        }
        self
    }

    /// The decision for one check, and the state after it. Pure: same inputs, same decisions.
    pub fn decide(&self, input: AlertInput) -> (AlertDecision, AlertState) {
        use AlertDecision as D;
        let mut next = self.clone();
        let reading = match input {
            AlertInput::Reading(balance, threshold) => {
                Some((balance, BalanceLevel::of(balance, threshold), threshold))
            }
            AlertInput::Failed(_) => None,
        };
        let empty = matches!(reading, Some((_, BalanceLevel::Empty, _)))
            || input == AlertInput::Failed(ErrorCode::ZeroBalance);
        if empty || reading.is_some() {
            // The API answered about the account, so the key works again.
            next.key_error_notified = false;
        }
        let decision = if empty {
            // Empty implies low: no separate low warning on the way back up through "low".
            next.warned_low = true;
            if self.empty_notified {
                D::None
            } else {
                next.empty_notified = true;
                D::Critical
            }
        } else {
            match (reading, input) {
                (Some((balance, level, threshold)), _) => {
                    // Re-arm critical once clearly payable again: a partial top-up followed
                    // by a new drain is a new event, a balance hovering at a cent is not.
                    if clearly_above(balance, EMPTY_FLOOR) {
                        next.empty_notified = false;
                    }
                    if level == BalanceLevel::Low {
                        if self.warned_low {
                            D::None
                        } else {
                            next.warned_low = true;
                            D::Warning
                        }
                    } else if clearly_above(balance, threshold) {
                        next.warned_low = false;
                        next.empty_notified = false;
                        if self.warned_low || self.empty_notified {
                            D::Restored
                        } else {
                            D::None
                        }
                    } else {
                        // Ok, but inside the band: nothing said, nothing re-armed.
                        D::None
                    }
                }
                (None, AlertInput::Failed(code)) if code.kind() == ErrorKind::KeyProblem => {
                    if self.key_error_notified {
                        D::None
                    } else {
                        next.key_error_notified = true;
                        D::KeyError(code)
                    }
                }
                _ => D::None,
            }
        };
        (decision, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertDecision as D;
    use AlertInput::*;

    /// A reading against the default $1.00 threshold.
    fn r(balance: &str) -> AlertInput {
        Reading(Money::parse(balance).unwrap(), Money::from_cents(100))
    }

    /// Runs a sequence of checks from a fresh state and returns the decisions.
    fn run(inputs: &[AlertInput]) -> Vec<AlertDecision> {
        let mut state = AlertState::default();
        inputs
            .iter()
            .map(|i| {
                let (d, next) = state.decide(*i);
                state = next;
                d
            })
            .collect()
    }

    #[test]
    fn sequences() {
        let zero = Failed(ErrorCode::ZeroBalance);
        let wrong = Failed(ErrorCode::WrongKey);
        let down = Failed(ErrorCode::ServerError);
        let key = D::KeyError(ErrorCode::WrongKey);
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<AlertInput>, Vec<AlertDecision>)> = vec![
            ("quiet while ok",                               vec![r("5"), r("5")], vec![D::None, D::None]),
            ("warn once while low",                          vec![r("5"), r("0.5"), r("0.4"), r("0.3")], vec![D::None, D::Warning, D::None, D::None]),
            ("first reading low warns",                      vec![r("0.5")], vec![D::Warning]),
            ("critical on entering empty, once",             vec![r("0.5"), r("0"), r("0")], vec![D::Warning, D::Critical, D::None]),
            ("zero balance error is critical",               vec![r("5"), zero, zero], vec![D::None, D::Critical, D::None]),
            ("restored and re-armed",                        vec![r("0.5"), r("5"), r("0.5")], vec![D::Warning, D::Restored, D::Warning]),
            ("restored from empty",                          vec![r("0"), r("5")], vec![D::Critical, D::Restored]),
            ("empty to low: no extra warning",               vec![r("0"), r("0.5"), r("0.4")], vec![D::Critical, D::None, D::None]),
            ("low after partial top-up re-arms critical",    vec![r("0"), r("0.5"), r("0")], vec![D::Critical, D::None, D::Critical]),
            ("transient errors say nothing and keep state",  vec![r("0.5"), down, down, r("0.5")], vec![D::Warning, D::None, D::None, D::None]),
            ("key error once",                               vec![wrong, wrong, wrong], vec![key, D::None, D::None]),
            ("key error again after recovery",               vec![wrong, r("5"), wrong], vec![key, D::None, key]),
            ("flapping at the threshold warns once",         vec![r("0.99"), r("1.00"), r("0.99"), r("1.00"), r("0.99"), r("1.09"), r("0.99")], vec![D::Warning, D::None, D::None, D::None, D::None, D::None, D::None]),
            ("restored only past the band",                  vec![r("0.99"), r("1.05"), r("1.10"), r("0.99")], vec![D::Warning, D::None, D::Restored, D::Warning]),
            ("first reading inside the band is quiet",       vec![r("1.00"), r("1.01")], vec![D::None, D::None]),
            ("flapping at the empty floor is critical once", vec![r("0.009"), r("0.011"), r("0.009"), r("0.05"), r("0.009")], vec![D::Critical, D::None, D::None, D::None, D::None]),
            ("critical re-armed past the floor's band",      vec![r("0.009"), r("0.06"), r("0.009")], vec![D::Critical, D::None, D::Critical]),
        ];
        for (name, inputs, want) in cases {
            assert_eq!(run(&inputs), want, "{name}");
        }
    }

    #[test]
    fn bands() {
        let m = |s: &str| Money::parse(s).unwrap();
        #[rustfmt::skip]
        let cases = [
            ("0",    "0.05"),
            ("0.01", "0.05"),
            ("1",    "0.10"),
            ("0.30", "0.05"),
            ("0.60", "0.06"),
            ("50",   "5"),
        ];
        for (boundary, want) in cases {
            assert_eq!(band(m(boundary)), m(want), "{boundary}");
        }
    }

    #[test]
    fn same_inputs_same_decisions() {
        let s = AlertState {
            warned_low: true,
            ..AlertState::default()
        };
        assert_eq!(s.decide(r("0")), s.decide(r("0")));
    }
}
