//! The toolbar badge (and the widget's level colour): one table, so both always agree.

use crate::level::BalanceLevel;
use crate::money::Money;

/// Money is there.
pub const GREEN: &str = "#15803d";
/// Low or empty: act now.
pub const RED: &str = "#dc2626";
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

/// Level → (colour, text). `Unknown` splits into "not read yet" (`?`) and "error" (`!`).
const LOOKS: [(BalanceLevel, &str, BadgeText); 3] = [
    (BalanceLevel::Ok, GREEN, BadgeText::Short),
    (BalanceLevel::Low, RED, BadgeText::Short),
    (BalanceLevel::Empty, RED, BadgeText::Fixed("0")),
];

/// The badge for a level, the balance shown, and whether the latest check failed.
pub fn badge_look(level: BalanceLevel, balance: Option<Money>, failed: bool) -> BadgeLook {
    let look = LOOKS.iter().find(|(l, _, _)| *l == level);
    match (look, balance) {
        (Some((_, color, BadgeText::Short)), Some(b)) => BadgeLook {
            text: b.short(),
            color,
        },
        (Some((_, color, BadgeText::Fixed(text))), _) => BadgeLook {
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
    fn table() {
        let m = |s: &str| Some(Money::parse(s).unwrap());
        let cases = [
            (Ok, m("12.345"), false, "12.3", GREEN),
            (Ok, m("12.345"), true, "12.3", GREEN),
            (Low, m("0.42"), false, ".42", RED),
            (Empty, m("0"), false, "0", RED),
            (Empty, None, true, "0", RED),
            (Unknown, None, true, "!", GREY),
            (Unknown, None, false, "?", GREY),
            (Ok, None, false, "?", GREY),
        ];
        for (level, balance, failed, text, color) in cases {
            assert_eq!(
                badge_look(level, balance, failed),
                BadgeLook {
                    text: text.into(),
                    color
                },
                "{level:?}"
            );
        }
    }
}
