//! How worrying a balance is.

use crate::error::{ApiError, ErrorCode};
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Below this the account cannot pay for a single solve: a solver refuses to submit (the
/// 0.01 floor of docs/API.md, "Defaults").
pub const EMPTY_FLOOR: Money = Money::from_cents(1);

/// The default low-balance threshold (docs/API.md, "Defaults").
pub const DEFAULT_LOW_THRESHOLD: Money = Money::from_cents(100);

/// The level shown by the badge and the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum BalanceLevel {
    /// At or above the low threshold.
    Ok,
    /// Below the low threshold, but still able to pay.
    Low,
    /// Below the 0.01 floor, at or below zero, or ERROR_ZERO_BALANCE.
    Empty,
    /// Nothing read yet, or an error with no usable last reading.
    Unknown,
}

impl BalanceLevel {
    /// Every level, best first.
    pub const ALL: [BalanceLevel; 4] = [
        BalanceLevel::Ok,
        BalanceLevel::Low,
        BalanceLevel::Empty,
        BalanceLevel::Unknown,
    ];

    /// The stable name (its serialized form, tested).
    pub fn as_str(self) -> &'static str {
        match self {
            BalanceLevel::Ok => "ok",
            BalanceLevel::Low => "low",
            BalanceLevel::Empty => "empty",
            BalanceLevel::Unknown => "unknown",
        }
    }

    /// The level of a balance.
    pub fn of(balance: Money, threshold: Money) -> BalanceLevel {
        if balance < EMPTY_FLOOR {
            BalanceLevel::Empty
        } else if balance < threshold {
            BalanceLevel::Low
        } else {
            BalanceLevel::Ok
        }
    }

    /// The level given the last good balance and the latest error (if the latest check failed).
    pub fn current(
        last_good: Option<Money>,
        error: Option<&ApiError>,
        threshold: Money,
    ) -> BalanceLevel {
        match (last_good, error) {
            (_, Some(e)) if e.code == ErrorCode::ZeroBalance => BalanceLevel::Empty,
            (Some(balance), Some(e)) if e.code.keeps_last_balance() => {
                BalanceLevel::of(balance, threshold)
            }
            (_, Some(_)) => BalanceLevel::Unknown,
            (Some(balance), None) => BalanceLevel::of(balance, threshold),
            (None, None) => BalanceLevel::Unknown,
        }
    }
}

/// True when the last good reading is older than two check intervals: the figure may no longer
/// be true even if no check failed (the browser slept, alarms were throttled).
pub fn is_stale(last_good_at_ms: i64, now_ms: i64, interval_ms: i64) -> bool {
    now_ms.saturating_sub(last_good_at_ms) > interval_ms.saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use BalanceLevel::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn levels_by_balance() {
        let t = m("1.00");
        #[rustfmt::skip]
        let cases = [
            ("25",    Ok),
            ("1.00",  Ok),
            ("0.999", Low),
            ("0.42",  Low),
            ("0.01",  Low),
            ("0.009", Empty),
            ("0",     Empty),
            ("-2",    Empty),
        ];
        for (b, want) in cases {
            assert_eq!(BalanceLevel::of(m(b), t), want, "{b}");
        }
        // A threshold below the floor: anything payable is ok.
        assert_eq!(BalanceLevel::of(m("0.01"), m("0")), Ok);
    }

    #[test]
    fn levels_with_errors() {
        let t = m("1");
        let e = |c| ApiError::new(c, "x");
        #[rustfmt::skip]
        let cases = [
            (None,        None,                            Unknown),
            (Some("5"),   None,                            Ok),
            (None,        Some(e(ErrorCode::ZeroBalance)), Empty),
            (Some("5"),   Some(e(ErrorCode::ZeroBalance)), Empty),
            (Some("5"),   Some(e(ErrorCode::ServerError)), Ok),
            (Some("0.5"), Some(e(ErrorCode::Timeout)),     Low),
            (None,        Some(e(ErrorCode::ServerError)), Unknown),
            (Some("5"),   Some(e(ErrorCode::WrongKey)),    Unknown),
            (Some("5"),   Some(e(ErrorCode::IpBanned)),    Ok),
        ];
        for (good, err, want) in cases {
            assert_eq!(
                BalanceLevel::current(good.map(m), err.as_ref(), t),
                want,
                "{good:?} {err:?}"
            );
        }
    }

    #[test]
    fn names_are_serdes() {
        for level in BalanceLevel::ALL {
            assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
        }
    }

    #[test]
    fn staleness_after_two_intervals() {
        let min = 60_000;
        assert!(!is_stale(0, 20 * min, 10 * min));
        assert!(is_stale(0, 20 * min + 1, 10 * min));
    }
}
