//! Which notification a new check deserves: one alert per event, never a flood.
//!
//! Critical when the account becomes empty; a low-balance warning once when the balance falls
//! below the threshold, re-armed only when it is back at or above it; "restored" when a top-up
//! brings it back to ok; a key problem once until a check succeeds again.

use crate::error::{ErrorCode, ErrorKind};
use crate::json::{object, Json, ToJson};
use crate::level::BalanceLevel;

/// What the alert machine remembers between checks (stored with the monitor state).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertState {
    /// The low warning (or critical) has fired and not been re-armed.
    pub warned_low: bool,
    /// The critical alert has fired since the balance was last above empty.
    pub empty_notified: bool,
    /// A key problem was notified since the last successful check.
    pub key_error_notified: bool,
}

/// What one check means for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertInput {
    /// A balance was read; its level.
    Reading(BalanceLevel),
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
}

impl ToJson for AlertState {
    fn write_json(&self, out: &mut String) {
        object(out)
            .field("warnedLow", &self.warned_low)
            .field("emptyNotified", &self.empty_notified)
            .field("keyErrorNotified", &self.key_error_notified)
            .end();
    }
}

impl AlertState {
    /// Reads a stored alert state; missing flags are off.
    pub fn from_json(value: &Json) -> AlertState {
        let flag = |name: &str| value.get(name).as_bool().unwrap_or(false);
        AlertState {
            warned_low: flag("warnedLow"),
            empty_notified: flag("emptyNotified"),
            key_error_notified: flag("keyErrorNotified"),
        }
    }

    /// The decision for one check, and the state after it. Pure: same inputs, same decisions.
    pub fn decide(&self, input: AlertInput) -> (AlertDecision, AlertState) {
        use AlertDecision as D;
        let mut next = self.clone();
        let empty = matches!(
            input,
            AlertInput::Reading(BalanceLevel::Empty) | AlertInput::Failed(ErrorCode::ZeroBalance)
        );
        let decision = if empty {
            // Empty implies low: no separate low warning on the way back up through "low".
            next.warned_low = true;
            // The API answered about the account, so the key works again.
            next.key_error_notified = false;
            if self.empty_notified {
                D::None
            } else {
                next.empty_notified = true;
                D::Critical
            }
        } else {
            match input {
                AlertInput::Reading(BalanceLevel::Low) => {
                    next.key_error_notified = false;
                    // Re-arm critical: a partial top-up followed by a new drain is a new event.
                    next.empty_notified = false;
                    if self.warned_low {
                        D::None
                    } else {
                        next.warned_low = true;
                        D::Warning
                    }
                }
                AlertInput::Reading(BalanceLevel::Ok) => {
                    next = AlertState::default();
                    if self.warned_low || self.empty_notified {
                        D::Restored
                    } else {
                        D::None
                    }
                }
                AlertInput::Failed(code) if code.kind() == ErrorKind::KeyProblem => {
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
    use BalanceLevel::*;

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
        let cases: Vec<(&str, Vec<AlertInput>, Vec<AlertDecision>)> = vec![
            (
                "quiet while ok",
                vec![Reading(Ok), Reading(Ok)],
                vec![D::None, D::None],
            ),
            (
                "warn once while low",
                vec![Reading(Ok), Reading(Low), Reading(Low), Reading(Low)],
                vec![D::None, D::Warning, D::None, D::None],
            ),
            (
                "first reading low warns",
                vec![Reading(Low)],
                vec![D::Warning],
            ),
            (
                "critical on entering empty, once",
                vec![Reading(Low), Reading(Empty), Reading(Empty)],
                vec![D::Warning, D::Critical, D::None],
            ),
            (
                "zero balance error is critical",
                vec![Reading(Ok), zero, zero],
                vec![D::None, D::Critical, D::None],
            ),
            (
                "restored and re-armed",
                vec![Reading(Low), Reading(Ok), Reading(Low)],
                vec![D::Warning, D::Restored, D::Warning],
            ),
            (
                "restored from empty",
                vec![Reading(Empty), Reading(Ok)],
                vec![D::Critical, D::Restored],
            ),
            (
                "empty to low: no extra warning",
                vec![Reading(Empty), Reading(Low), Reading(Low)],
                vec![D::Critical, D::None, D::None],
            ),
            (
                "low after partial top-up re-arms critical",
                vec![Reading(Empty), Reading(Low), Reading(Empty)],
                vec![D::Critical, D::None, D::Critical],
            ),
            (
                "transient errors say nothing and keep state",
                vec![Reading(Low), down, down, Reading(Low)],
                vec![D::Warning, D::None, D::None, D::None],
            ),
            (
                "key error once",
                vec![wrong, wrong, wrong],
                vec![D::KeyError(ErrorCode::WrongKey), D::None, D::None],
            ),
            (
                "key error again after recovery",
                vec![wrong, Reading(Ok), wrong],
                vec![
                    D::KeyError(ErrorCode::WrongKey),
                    D::None,
                    D::KeyError(ErrorCode::WrongKey),
                ],
            ),
            (
                "unknown reading says nothing",
                vec![Reading(Unknown)],
                vec![D::None],
            ),
        ];
        for (name, inputs, want) in cases {
            assert_eq!(run(&inputs), want, "{name}");
        }
    }

    #[test]
    fn same_inputs_same_decisions() {
        let s = AlertState {
            warned_low: true,
            empty_notified: false,
            key_error_notified: false,
        };
        assert_eq!(s.decide(Reading(Empty)), s.decide(Reading(Empty)));
    }
}
