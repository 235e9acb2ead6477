//! Exact US-dollar amounts.
//!
//! Balances arrive as decimal strings ("12.345"); parsing them into `f64` would turn 0.1 + 0.2
//! into 0.30000000000000004 and make "covered solves" off by one. `Money` is a fixed-point
//! count of nano-dollars (10⁻⁹ USD) in an `i64`: exact for every balance the API reports.
//!
//! What [`Money::parse`] accepts (docs/API.md, "Balance numbers"): the balance APIs send a
//! decimal string (`"12.345"`) or a JSON number (`12.3456`, and from float serialisers
//! `1.2e-5`), so the JSON number grammar is read exactly, at any exponent. The same parser
//! reads amounts people type in the options, so three forms that cannot change a value's
//! meaning are accepted too: a leading `+`, no digit before the point (`.5`), no digit after it
//! (`7.`). Refused: every Unicode space other than ASCII white space around the number (a
//! no-break space is page text, not an API answer), digit grouping (`1,000`, `1 000`, `1_000`),
//! hex, `NaN`, `Infinity`, more than 64 characters, and anything beyond ±1 000 000 000 USD.

use crate::i18n::{count, decimal_mark, Lang};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Nano-dollars per dollar.
const SCALE: i64 = 1_000_000_000;
/// Digits after the decimal point that `Money` keeps.
const SCALE_DIGITS: usize = 9;
/// The largest amount accepted (one billion dollars): anything bigger is not a balance.
const MAX_ABS_NANOS: i64 = 1_000_000_000 * SCALE;
/// Longer input is garbage, not a number (an HTML page, a runaway body).
const MAX_INPUT_LEN: usize = 64;
/// The place value of [`MAX_ABS_NANOS`]: no digit may sit higher than 10^18 nano-dollars.
const MAX_POWER: i64 = 18;
/// Exponents are clamped to this size (see [`parse_exponent`]).
const MAX_EXPONENT: i64 = 1_000;
/// Nano-dollars per unit of the fourth decimal, the last digit any amount is shown with.
const STEP: i64 = SCALE / 10_000;

/// An exact amount of US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a text is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// Nothing to parse.
    Empty,
    /// Longer than any real amount.
    TooLong,
    /// Not a plain decimal number (letters, NaN, Infinity, two dots …).
    NotANumber,
    /// A number, but beyond ±1 000 000 000 USD (1e309 and friends).
    OutOfRange,
}

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(0);

    /// An amount from nano-dollars.
    pub const fn from_nanos(nanos: i64) -> Money {
        Money(nanos)
    }

    /// An amount from whole cents (handy for constants and tests).
    pub const fn from_cents(cents: i64) -> Money {
        Money(cents * (SCALE / 100))
    }

    /// The amount in nano-dollars.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Parses a decimal number: `12.345`, `-0.5`, `1.5e-3`, and the lenient forms `+3`, `.25`,
    /// `7.` (see the module doc for what is accepted and why).
    ///
    /// Every value within ±1 000 000 000 USD is read exactly, whatever its exponent (`1` with 44
    /// zeros and `e-41` is 1000); a larger one is [`MoneyError::OutOfRange`]. Digits past the
    /// ninth decimal place are dropped (truncated toward zero): they are below a billionth of a
    /// dollar and only appear when a 2captcha clone prints a float like `12.340000000000002`.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        // ASCII white space only (what a plain-text answer or a JSON document can hold around a
        // number); a no-break space or any other Unicode space is not part of a number.
        let text = text.trim_ascii();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if text.len() > MAX_INPUT_LEN {
            return Err(MoneyError::TooLong);
        }
        let (negative, rest) = split_sign(text);
        let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
            Some((mantissa, exp)) => (mantissa, parse_exponent(exp)?),
            None => (rest, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return Err(MoneyError::NotANumber);
        }
        Self::from_digits(mantissa, int_part.len(), exponent, negative)
    }

    /// Builds the amount digit by digit: each digit's place value is a power of ten in
    /// nano-dollars, so the decimal point moves by the exponent without any rounding. Only
    /// the digits' positions matter, never the exponent alone, so `1` with 44 zeros and
    /// `e-41` lands on 1000 exactly.
    ///
    /// `mantissa` is digits with at most one `.`, after the first `int_len` digits.
    fn from_digits(
        mantissa: &str,
        int_len: usize,
        exponent: i64,
        negative: bool,
    ) -> Result<Money, MoneyError> {
        // Index in the digits where the decimal point sits after applying the exponent. The
        // exponent is clamped to ±MAX_EXPONENT and there are at most 64 digits: no overflow.
        let point = int_len as i64 + exponent;
        let mut nanos: i64 = 0;
        // Place value of the next digit in nano-dollars: 10^power.
        let mut power = point - 1 + SCALE_DIGITS as i64;
        for d in mantissa.bytes().filter(|b| *b != b'.') {
            let d = i64::from(d - b'0');
            if d != 0 {
                if power < 0 {
                    break; // this digit and all after it are below a nano-dollar: truncated
                }
                if power > MAX_POWER {
                    return Err(MoneyError::OutOfRange);
                }
                // At most 9 × 10^18: within i64.
                let value = d * 10_i64.pow(power as u32);
                nanos = nanos
                    .checked_add(value)
                    .filter(|n| *n <= MAX_ABS_NANOS)
                    .ok_or(MoneyError::OutOfRange)?;
            }
            power -= 1;
        }
        Ok(Money(if negative { -nanos } else { nanos }))
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// `self × quantity`, or `None` on overflow.
    pub fn checked_mul(self, quantity: u64) -> Option<Money> {
        i64::try_from(quantity)
            .ok()
            .and_then(|q| self.0.checked_mul(q))
            .map(Money)
    }

    /// How many whole `unit`s fit in `self` (floor); 0 when either is not positive.
    pub fn whole_multiples_of(self, unit: Money) -> u64 {
        if self.0 <= 0 || unit.0 <= 0 {
            0
        } else {
            (self.0 / unit.0) as u64
        }
    }

    /// True when the amount is above zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// An approximation for charts and Prometheus gauges only; never for arithmetic.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// The amount for people in English: `$12.3450` (see [`Money::display_in`]).
    pub fn display(self) -> String {
        self.display_in(Lang::En)
    }

    /// What is asked for, for people in English: `$12.3450` (see [`Money::display_cost_in`]).
    pub fn display_cost(self) -> String {
        self.display_cost_in(Lang::En)
    }

    /// An amount the account holds (a balance, a top-up) for people: `$1,234.4900` (en),
    /// `$1.234,4900` (id). Exactly four decimals (as CaptchaAI's own dashboard shows it),
    /// rounded down, so it never shows money that is not there: `$3.49999` is `$3.4999`.
    /// Grouped and separated like every other number of the language. Only the text rounds;
    /// the amount stays exact (docs/ARCHITECTURE.md, "Numbers and times").
    pub fn display_in(self, lang: Lang) -> String {
        four_decimals(self.0.div_euclid(STEP), lang)
    }

    /// An amount asked for (a cost, a price, a shortfall, spend, a threshold to stay above)
    /// for people: four decimals like [`Money::display_in`], rounded up, so it never
    /// understates what is asked: `$0.00055` per solve is `$0.0006`.
    pub fn display_cost_in(self, lang: Lang) -> String {
        four_decimals(
            self.0.div_euclid(STEP) + i64::from(self.0.rem_euclid(STEP) != 0),
            lang,
        )
    }

    /// Rounded half away from zero to four decimals: rates computed from the history
    /// (spend per hour) carry nano-dollar digits that mean nothing to a reader.
    pub fn to_four_decimals(self) -> Money {
        let half = if self.0 < 0 { -STEP / 2 } else { STEP / 2 };
        Money(self.0.saturating_add(half) / STEP * STEP)
    }

    /// At most four characters for the toolbar badge: the figure [`Money::display_in`] shows
    /// (rounded down) cut to four characters, in the language's decimal mark: `0.42`, `3.49`,
    /// `12.3`, `999` (`0,42`, `3,49` in Indonesian); from $1,000 in thousands, millions and
    /// billions, rounded down the same way: `1.2k`, `12k`, `1.2M` (`1,2k`). Below a cent (the
    /// empty level, whose badge says `0` anyway) `0`.
    pub fn short_in(self, lang: Lang) -> String {
        if self.0 < SCALE / 100 {
            return "0".into();
        }
        let dollars = self.0 / SCALE;
        if dollars < 1_000 {
            // "$999.9999" -> "999." -> "999"; "$0.4200" -> "0.42".
            let shown = self.display_in(lang);
            let cut: String = shown.trim_start_matches('$').chars().take(4).collect();
            return cut.trim_end_matches(decimal_mark(lang)).to_string();
        }
        for (unit, suffix) in [(1_000_i64, "k"), (1_000_000, "M"), (1_000_000_000, "B")] {
            let tenths = dollars / (unit / 10);
            if tenths < 100 {
                return format!(
                    "{}{}{}{suffix}",
                    tenths / 10,
                    decimal_mark(lang),
                    tenths % 10
                );
            }
            if tenths < 10_000 {
                return format!("{}{suffix}", tenths / 10);
            }
        }
        "1B+".into()
    }

    /// The exact decimal, shortest form: `12.345`, `0`, `-0.5` (also its `Display`).
    pub fn decimal_text(self) -> String {
        let abs = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        let whole = abs / SCALE as u64;
        match abs % SCALE as u64 {
            0 => format!("{sign}{whole}"),
            fraction => {
                let fraction = format!("{fraction:09}");
                format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
            }
        }
    }
}

/// The exponent of `1e-3`: an optional sign and digits. Beyond ±[`MAX_EXPONENT`] it is
/// clamped: with at most 64 digits, such a number is either far out of range or far below a
/// nano-dollar, whichever way it is clamped.
fn parse_exponent(text: &str) -> Result<i64, MoneyError> {
    let (negative, digits) = split_sign(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::NotANumber);
    }
    let value = digits.bytes().fold(0_i64, |acc, b| {
        (acc * 10 + i64::from(b - b'0')).min(MAX_EXPONENT)
    });
    Ok(if negative { -value } else { value })
}

/// Whether `text` starts with `-`, and the text after a `-` or `+`.
fn split_sign(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    }
}

/// `$12.3450` from a count of $0.0001 units (signed), grouped and separated per language.
fn four_decimals(units: i64, lang: Lang) -> String {
    let abs = units.unsigned_abs();
    let sign = if units < 0 { "-" } else { "" };
    format!(
        "{sign}${}{}{:04}",
        count(lang, abs / 10_000),
        decimal_mark(lang),
        abs % 10_000
    )
}

/// The exact decimal, shortest form: `12.345`, `0`, `-0.5`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.decimal_text())
    }
}

impl std::str::FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

/// Stored and sent as the exact decimal string (`"12.345"`), never a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read from a decimal string only: money is a decimal string on every wire this project
/// writes, so a number there is not ours (a float would already have lost digits). An API's
/// JSON number is read from its exact text instead (src/protocol.rs), and a form's field from
/// its text (src/settings.rs).
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        struct Amount;
        impl de::Visitor<'_> for Amount {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of money as a decimal string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Money, E> {
                Money::parse(text).map_err(|e| E::custom(format!("{text:?}: {e}")))
            }
        }
        deserializer.deserialize_str(Amount)
    }
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoneyError::Empty => "empty",
            MoneyError::TooLong => "too long for an amount",
            MoneyError::NotANumber => "not a decimal number",
            MoneyError::OutOfRange => "beyond ±1,000,000,000",
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn four_decimals_round_half_away_from_zero() {
        #[rustfmt::skip]
        let cases = [
            ("0.170495049", "0.1705"),
            ("0.17044999",  "0.1704"),
            ("4.09188117",  "4.0919"),
            ("0.00005",     "0.0001"),
            ("0.00004999",  "0"),
            ("-0.00005",    "-0.0001"),
            ("12",          "12"),
        ];
        for (text, want) in cases {
            let got = Money::parse(text).unwrap().to_four_decimals();
            assert_eq!(got, Money::parse(want).unwrap(), "{text}");
        }
    }

    use super::*;

    #[test]
    fn parses_exactly() {
        let forty_four_zeros = "0".repeat(44);
        let big_mantissa = format!("1{forty_four_zeros}e-41");
        let tiny_mantissa = format!("0.{}1e41", "0".repeat(40));
        let long_fraction = format!("1.{}", "0".repeat(60));
        #[rustfmt::skip]
        let cases: &[(&str, i64)] = &[
            ("12.345", 12_345_000_000),
            ("0", 0),
            ("0.000", 0),
            ("-0.5", -500_000_000),
            ("-0", 0),
            ("+3", 3_000_000_000),
            ("+5e2", 500_000_000_000),
            (".25", 250_000_000),
            ("7.", 7_000_000_000),
            ("0.1", 100_000_000),
            ("0.000000001", 1),
            ("0.0000000019", 1),
            ("12.340000000000002", 12_340_000_000),
            ("999999999.999999999", 999_999_999_999_999_999),
            ("1000000000", 1_000_000_000_000_000_000),
            ("-1000000000", -1_000_000_000_000_000_000),
            ("1.5e-3", 1_500_000),
            ("1E2", 100_000_000_000),
            ("2.5e+1", 25_000_000_000),
            ("1e9", 1_000_000_000_000_000_000),
            ("1e-9", 1),
            ("1e-10", 0),
            ("1e-50", 0),
            ("0e999999", 0),
            ("0.0e-99999999999999999999", 0),
            ("1e-99999999999999999999", 0),
            (&big_mantissa, 1_000_000_000_000),
            (&tiny_mantissa, 1_000_000_000),
            (&long_fraction, 1_000_000_000),
            ("0000000000000000000000000000000000000000012.5", 12_500_000_000),
            ("  4.20\n", 4_200_000_000),
            ("\t7\r\n", 7_000_000_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(Money::parse(text), Ok(Money::from_nanos(*nanos)), "{text}");
        }
    }

    #[test]
    fn no_float_drift() {
        let a = Money::parse("0.1").unwrap();
        let b = Money::parse("0.2").unwrap();
        assert_eq!(a.checked_add(b), Some(Money::parse("0.3").unwrap()));
        assert_eq!(
            Money::parse("0.3")
                .unwrap()
                .whole_multiples_of(Money::parse("0.1").unwrap()),
            3
        );
    }

    #[test]
    fn rejects_garbage() {
        let huge_mantissa = format!("1{}e-30", "0".repeat(44));
        #[rustfmt::skip]
        let cases: &[(&str, MoneyError)] = &[
            ("", MoneyError::Empty),
            ("   ", MoneyError::Empty),
            ("abc", MoneyError::NotANumber),
            ("NaN", MoneyError::NotANumber),
            ("Infinity", MoneyError::NotANumber),
            ("-Infinity", MoneyError::NotANumber),
            ("1.2.3", MoneyError::NotANumber),
            ("1,5", MoneyError::NotANumber),
            ("1,000", MoneyError::NotANumber),
            ("1_000", MoneyError::NotANumber),
            ("-", MoneyError::NotANumber),
            ("+", MoneyError::NotANumber),
            ("--1", MoneyError::NotANumber),
            ("+-1", MoneyError::NotANumber),
            (".", MoneyError::NotANumber),
            ("1e", MoneyError::NotANumber),
            ("1e+", MoneyError::NotANumber),
            ("1e--2", MoneyError::NotANumber),
            ("1e2.5", MoneyError::NotANumber),
            ("e5", MoneyError::NotANumber),
            ("0x10", MoneyError::NotANumber),
            ("1 2", MoneyError::NotANumber),
            ("1\u{a0}000", MoneyError::NotANumber),
            ("\u{a0}12.5", MoneyError::NotANumber),
            ("12.5\u{a0}", MoneyError::NotANumber),
            ("\u{2009}12.5", MoneyError::NotANumber),
            ("١٢", MoneyError::NotANumber),
            ("1e309", MoneyError::OutOfRange),
            ("1e10", MoneyError::OutOfRange),
            ("1e99999999999999999999", MoneyError::OutOfRange),
            (&huge_mantissa, MoneyError::OutOfRange),
            ("1000000000.000000001", MoneyError::OutOfRange),
            ("-1000000000.000000001", MoneyError::OutOfRange),
            ("99999999999999999999", MoneyError::OutOfRange),
        ];
        for (text, err) in cases {
            assert_eq!(Money::parse(text), Err(*err), "{text:?}");
        }
        assert_eq!(Money::parse(&"9".repeat(65)), Err(MoneyError::TooLong));
        assert_eq!(Money::parse(&"1".repeat(80)), Err(MoneyError::TooLong));
    }

    #[test]
    #[rustfmt::skip]
    fn displays_with_four_places() {
        let cases = [
            (Lang::En, "12.345", "$12.3450"),
            (Lang::En, "0", "$0.0000"),
            (Lang::En, "1234567.5", "$1,234,567.5000"),
            (Lang::En, "1234.49", "$1,234.4900"),
            (Lang::En, "0.123456", "$0.1234"),
            (Lang::En, "-0.5", "-$0.5000"),
            (Lang::Id, "12.345", "$12,3450"),
            (Lang::Id, "1234.49", "$1.234,4900"),
            (Lang::Id, "1234567.5", "$1.234.567,5000"),
            (Lang::Id, "-0.5", "-$0,5000"),
        ];
        for (lang, text, shown) in cases {
            assert_eq!(Money::parse(text).unwrap().display_in(lang), shown, "{lang:?} {text}");
        }
        assert_eq!(Money::parse("1234.49").unwrap().display(), "$1,234.4900");
    }

    #[test]
    fn shortens_for_the_badge() {
        let cases = [
            ("0", "0"),
            ("-3", "0"),
            ("0.009", "0"),
            ("0.01", "0.01"),
            ("0.429", "0.42"),
            ("1", "1.00"),
            ("9.999", "9.99"),
            ("12.345", "12.3"),
            ("99.99", "99.9"),
            ("100", "100"),
            ("999.99", "999"),
            ("1234", "1.2k"),
            ("9999", "9.9k"),
            ("12345", "12k"),
            ("999999", "999k"),
            ("1500000", "1.5M"),
            ("250000000", "250M"),
            ("1000000000", "1.0B"),
        ];
        for (text, short) in cases {
            let s = Money::parse(text).unwrap().short_in(Lang::En);
            assert_eq!(s, short, "{text}");
            assert!(s.chars().count() <= 4, "{text} -> {s}");
        }
    }

    /// The rule (docs/ARCHITECTURE.md, "Numbers and times"): exactly four decimals; what the
    /// account holds rounded down, what it is asked for rounded up; the badge the held figure
    /// cut to four characters, in the language's marks.
    #[test]
    #[rustfmt::skip]
    fn one_way_to_write_an_amount() {
        let cases = [
            // amount,        held (en),               asked (en),              held (id),               badge (en, id)
            ("12.345",        "$12.3450",              "$12.3450",              "$12,3450",              "12.3", "12,3"),
            ("3.49999",       "$3.4999",               "$3.5000",               "$3,4999",               "3.49", "3,49"),
            ("3.5",           "$3.5000",               "$3.5000",               "$3,5000",               "3.50", "3,50"),
            ("0.42",          "$0.4200",               "$0.4200",               "$0,4200",               "0.42", "0,42"),
            ("0.01",          "$0.0100",               "$0.0100",               "$0,0100",               "0.01", "0,01"),
            ("0.009",         "$0.0090",               "$0.0090",               "$0,0090",               "0",    "0"),
            ("0.00005",       "$0.0000",               "$0.0001",               "$0,0000",               "0",    "0"),
            ("0.000000001",   "$0.0000",               "$0.0001",               "$0,0000",               "0",    "0"),
            ("0",             "$0.0000",               "$0.0000",               "$0,0000",               "0",    "0"),
            ("-0.5",          "-$0.5000",              "-$0.5000",              "-$0,5000",              "0",    "0"),
            ("-0.00005",      "-$0.0001",              "$0.0000",               "-$0,0001",              "0",    "0"),
            ("1",             "$1.0000",               "$1.0000",               "$1,0000",               "1.00", "1,00"),
            ("9.999",         "$9.9990",               "$9.9990",               "$9,9990",               "9.99", "9,99"),
            ("99.99",         "$99.9900",              "$99.9900",              "$99,9900",              "99.9", "99,9"),
            ("100",           "$100.0000",             "$100.0000",             "$100,0000",             "100",  "100"),
            ("999.99999",     "$999.9999",             "$1,000.0000",           "$999,9999",             "999",  "999"),
            ("1234.49",       "$1,234.4900",           "$1,234.4900",           "$1.234,4900",           "1.2k", "1,2k"),
            ("9999.99",       "$9,999.9900",           "$9,999.9900",           "$9.999,9900",           "9.9k", "9,9k"),
            ("99975.00001",   "$99,975.0000",          "$99,975.0001",          "$99.975,0000",          "99k",  "99k"),
            ("100000",        "$100,000.0000",         "$100,000.0000",         "$100.000,0000",         "100k", "100k"),
            ("1500000",       "$1,500,000.0000",       "$1,500,000.0000",       "$1.500.000,0000",       "1.5M", "1,5M"),
            ("1000000000",    "$1,000,000,000.0000",   "$1,000,000,000.0000",   "$1.000.000.000,0000",   "1.0B", "1,0B"),
        ];
        for (text, held, asked, held_id, badge, badge_id) in cases {
            let m = Money::parse(text).unwrap();
            assert_eq!(
                (m.display_in(Lang::En).as_str(), m.display_cost_in(Lang::En).as_str(), m.display_in(Lang::Id).as_str()),
                (held, asked, held_id),
                "{text}"
            );
            assert_eq!(m.display(), held, "{text}");
            assert_eq!((m.short_in(Lang::En).as_str(), m.short_in(Lang::Id).as_str()), (badge, badge_id), "{text}");
            for (lang, shown) in [(Lang::En, held), (Lang::Id, held_id)] {
                let short = m.short_in(lang);
                assert!(short.chars().count() <= 4, "{text}: {short}");
                // Under $1,000 the badge is the held figure cut to four characters (without a
                // dangling decimal mark); above, its value in thousands, millions …, rounded
                // down the same way. Below a cent (the empty level) it says 0.
                if m >= Money::from_cents(1) && m < Money::from_cents(100_000) {
                    let cut: String = shown.trim_start_matches('$').chars().take(4).collect();
                    assert_eq!(short, cut.trim_end_matches(decimal_mark(lang)), "{text} {lang:?}");
                }
            }
        }
    }

    #[test]
    fn round_trips_through_display_and_json() {
        for text in ["12.345", "0", "-0.5", "0.000000001", "1000000000"] {
            let m = Money::parse(text).unwrap();
            assert_eq!(m.to_string(), text);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        }
        let read = |json: &str| serde_json::from_str::<Money>(json).ok();
        assert_eq!(read("true"), None);
        assert_eq!(read("null"), None);
        assert_eq!(read("\"abc\""), None);
        assert_eq!(read("1.25"), None, "a number is not this project's money");
        assert_eq!(read("\"0.5\""), Money::parse("0.5").ok());
    }

    #[test]
    fn multiplies_and_divides() {
        let rate = Money::parse("0.003").unwrap();
        assert_eq!(rate.checked_mul(1000), Some(Money::parse("3").unwrap()));
        assert_eq!(
            Money::parse("12.345").unwrap().whole_multiples_of(rate),
            4115
        );
        assert_eq!(Money::ZERO.whole_multiples_of(rate), 0);
        assert_eq!(rate.whole_multiples_of(Money::ZERO), 0);
        assert_eq!(Money::from_nanos(i64::MAX).checked_mul(2), None);
    }
}
