//! The toolbar badge (and the widget's level colour): one table, so both always agree.

use crate::i18n::Lang;
use crate::level::BalanceLevel;
use crate::money::Money;
use serde::Serialize;

/// Money is there.
pub const GREEN: &str = "#15803d";
/// Low or empty: act now.
pub const RED: &str = "#dc2626";
/// Money was there at the last good reading, but that reading is out of date.
pub const AMBER: &str = "#b45309";
/// Low or empty at the last good reading, which is out of date: still urgent, but not fresh.
pub const DARK_RED: &str = "#7f1d1d";
/// Nothing to say about the money (error, not read yet).
pub const GREY: &str = "#6b7280";

/// What the badge shows, apart from its localized tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeLook {
    /// At most four characters.
    pub text: String,
    /// `#rrggbb`.
    pub color: &'static str,
}

/// What the badge text is made of.
enum BadgeText {
    Short,
    Fixed(&'static str),
}

/// (level, stale) → (colour, text). A stale reading keeps its text (the last good balance is
/// still the best figure there is) but never the colour of a fresh one, so a glance at the
/// toolbar tells "read just now" from "could not check". A key rejected after a reading is
/// such a stale reading (its level from the last balance, the key problem told in words beside
/// it). `Unknown` splits into "not read yet" (`?`) and "error" (`!`): a key rejected before any
/// reading keeps `!`.
#[rustfmt::skip]
const LOOKS: [(BalanceLevel, bool, &str, BadgeText); 6] = [
    (BalanceLevel::Ok, false, GREEN, BadgeText::Short),
    (BalanceLevel::Ok, true, AMBER, BadgeText::Short),
    (BalanceLevel::Low, false, RED, BadgeText::Short),
    (BalanceLevel::Low, true, DARK_RED, BadgeText::Short),
    (BalanceLevel::Empty, false, RED, BadgeText::Fixed("0")),
    (BalanceLevel::Empty, true, DARK_RED, BadgeText::Fixed("0")),
];

/// The colour of an account's card, list row and level pill, with the widget's theme slot for
/// it (`--cab-<slot>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub struct Accent {
    /// `ok` / `low` / `empty` / `error` / `unknown`.
    pub slot: &'static str,
    /// `#rrggbb`.
    pub color: &'static str,
}

/// An account's accent: the badge's look, except for a thread plan that has expired. That
/// stops every job as an empty balance does while the money is fine, so it takes the empty
/// balance's look (fresh or out of date) rather than a reassuring green; the toolbar badge
/// itself stays about money.
pub fn accent(
    level: BalanceLevel,
    look: &BadgeLook,
    failed: bool,
    stale: bool,
    plan_expired: bool,
) -> Accent {
    if plan_expired {
        let (.., color, _) = &LOOKS[BalanceLevel::Empty as usize * 2 + usize::from(stale)];
        return Accent {
            slot: "empty",
            color,
        };
    }
    let slot = match level {
        BalanceLevel::Ok => "ok",
        BalanceLevel::Low => "low",
        BalanceLevel::Empty => "empty",
        BalanceLevel::Unknown if failed => "error",
        BalanceLevel::Unknown => "unknown",
    };
    Accent {
        slot,
        color: look.color,
    }
}

/// The badge for a level, the balance shown, whether it is stale, and whether the latest check
/// failed; the balance in `lang`'s decimal mark (`Money::short_in`).
pub fn badge_look(
    level: BalanceLevel,
    balance: Option<Money>,
    stale: bool,
    failed: bool,
    lang: Lang,
) -> BadgeLook {
    // Rows in level order, fresh then stale (tested): indexed, where a search measured
    // bigger; `Unknown` is past the end.
    let look = LOOKS.get(level as usize * 2 + usize::from(stale));
    match (look, balance) {
        (Some((.., color, BadgeText::Short)), Some(b)) => BadgeLook {
            text: b.short_in(lang),
            color,
        },
        (Some((.., color, BadgeText::Fixed(text))), _) => BadgeLook {
            text: (*text).into(),
            color,
        },
        _ if failed => BadgeLook {
            text: "!".into(),
            color: GREY,
        },
        _ => BadgeLook {
            text: "?".into(),
            color: GREY,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BalanceLevel::*;

    #[test]
    fn an_expired_plan_looks_like_an_empty_balance_beside_a_green_badge() {
        let look = badge_look(Ok, Some(Money::from_cents(1_234)), false, false, Lang::En);
        assert_eq!(look.color, GREEN, "the badge stays about money");
        assert_eq!(
            accent(Ok, &look, false, false, true),
            Accent {
                slot: "empty",
                color: RED
            }
        );
        let old = badge_look(Ok, Some(Money::from_cents(1_234)), true, false, Lang::En);
        assert_eq!(
            accent(Ok, &old, false, true, true),
            Accent {
                slot: "empty",
                color: DARK_RED
            }
        );
        // Without an expired plan the accent is the badge's.
        assert_eq!(
            accent(Ok, &look, false, false, false),
            Accent {
                slot: "ok",
                color: GREEN
            }
        );
        let failed = badge_look(Unknown, None, false, true, Lang::En);
        assert_eq!(
            accent(Unknown, &failed, true, false, false),
            Accent {
                slot: "error",
                color: GREY
            }
        );
        let unread = badge_look(Unknown, None, false, false, Lang::En);
        assert_eq!(
            accent(Unknown, &unread, false, false, false).slot,
            "unknown"
        );
    }

    #[test]
    fn looks_are_indexed_by_level_and_staleness() {
        for (i, (level, stale, ..)) in LOOKS.iter().enumerate() {
            assert_eq!(*level as usize * 2 + usize::from(*stale), i);
        }
    }

    #[test]
    #[rustfmt::skip]
    fn table() {
        let m = |s: &str| Some(Money::parse(s).unwrap());
        let cases = [
            // level, balance, stale, failed, text, colour
            (Ok, m("12.345"), false, false, "12.3", GREEN),
            (Ok, m("12.345"), true, true, "12.3", AMBER),
            (Ok, m("12.345"), true, false, "12.3", AMBER),
            (Low, m("0.42"), false, false, "0.42", RED),
            (Low, m("0.42"), true, true, "0.42", DARK_RED),
            (Empty, m("0"), false, false, "0", RED),
            (Empty, m("0"), true, true, "0", DARK_RED),
            (Empty, None, false, true, "0", RED),
            (Unknown, None, false, true, "!", GREY),
            (Unknown, None, false, false, "?", GREY),
            (Ok, None, false, false, "?", GREY),
        ];
        for (level, balance, stale, failed, text, color) in cases {
            assert_eq!(
                badge_look(level, balance, stale, failed, Lang::En),
                BadgeLook { text: text.into(), color },
                "{level:?} stale={stale}"
            );
        }
        // The language's decimal mark.
        assert_eq!(badge_look(Low, m("0.42"), false, false, Lang::Id).text, "0,42");
        assert_eq!(badge_look(Ok, m("12.345"), false, false, Lang::Id).text, "12,3");
    }
}
