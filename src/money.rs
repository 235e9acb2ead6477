//! Exact US-dollar amounts.
//!
//! Balances arrive as decimal strings ("12.345"); parsing them into `f64` would turn 0.1 + 0.2
//! into 0.30000000000000004 and make "covered solves" off by one. `Money` is a fixed-point
//! count of nano-dollars (10⁻⁹ USD) in an `i64`: exact for every balance the API reports.

use crate::json::{Json, ToJson};
use crate::wire::{FromJson, JsShape};
use std::fmt;

/// Nano-dollars per dollar.
const SCALE: i64 = 1_000_000_000;
/// Digits after the decimal point that `Money` keeps.
const SCALE_DIGITS: usize = 9;
/// The largest amount accepted (one billion dollars): anything bigger is not a balance.
const MAX_ABS_NANOS: i64 = 1_000_000_000 * SCALE;
/// Longer input is garbage, not a number (an HTML page, a runaway body).
const MAX_INPUT_LEN: usize = 64;

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

    /// Parses a decimal number such as `12.345`, `-0.5`, `+3`, `.25` or `1.5e-3`.
    ///
    /// Digits past the ninth decimal place are dropped (truncated toward zero): they are below a
    /// billionth of a dollar and only appear when a 2captcha clone prints a float like
    /// `12.340000000000002`. Exponents are accepted because some clones serialise floats that way.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if text.len() > MAX_INPUT_LEN {
            return Err(MoneyError::TooLong);
        }
        let (negative, rest) = match (text.strip_prefix('-'), text.strip_prefix('+')) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
            // i64 like every other integer parsed in the module: one parser in the binary.
            Some((mantissa, exp)) => (
                mantissa,
                exp.parse::<i64>().map_err(|_| MoneyError::NotANumber)?,
            ),
            None => (rest, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return Err(MoneyError::NotANumber);
        }
        Self::from_digits(int_part, frac_part, exponent, negative)
    }

    /// Builds the amount digit by digit: each digit's place value is a power of ten in
    /// nano-dollars, so the decimal point moves by the exponent without any rounding.
    fn from_digits(
        int_part: &str,
        frac_part: &str,
        exponent: i64,
        negative: bool,
    ) -> Result<Money, MoneyError> {
        if exponent.unsigned_abs() > 40 {
            // Either vanishingly small (truncates to zero) or far beyond range.
            let all_zero = int_part.bytes().chain(frac_part.bytes()).all(|b| b == b'0');
            return if all_zero || exponent < 0 {
                Ok(Money::ZERO)
            } else {
                Err(MoneyError::OutOfRange)
            };
        }
        let digits: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .map(|b| b - b'0')
            .collect();
        // Index in `digits` where the decimal point sits after applying the exponent.
        let point = int_part.len() as i64 + exponent;
        let mut nanos: i64 = 0;
        for (i, d) in digits.iter().enumerate() {
            // Place value of this digit in nano-dollars: 10^(point - 1 - i + 9).
            let power = point - 1 - i as i64 + SCALE_DIGITS as i64;
            if power < 0 {
                break; // below a nano-dollar: truncated
            }
            if *d == 0 {
                continue;
            }
            if power > 18 {
                return Err(MoneyError::OutOfRange);
            }
            let place = 10_i64.pow(power as u32);
            nanos = i64::from(*d)
                .checked_mul(place)
                .and_then(|v| nanos.checked_add(v))
                .ok_or(MoneyError::OutOfRange)?;
            if nanos > MAX_ABS_NANOS {
                return Err(MoneyError::OutOfRange);
            }
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

    /// The amount for people: `$12.3450`. At least four decimals (the source article's display),
    /// more when the amount has them, so the figure shown is always exact.
    pub fn display(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / SCALE as u64;
        let frac = format!("{:09}", abs % SCALE as u64);
        let frac = frac.trim_end_matches('0');
        let frac = format!("{frac:0<4}");
        format!("{sign}${}.{frac}", group_thousands(whole))
    }

    /// At most four characters for the toolbar badge: `0`, `.42`, `9.99`, `12.3`, `999`, `1.2k`,
    /// `12k`, `1.2M`. Always rounded down, so the badge never shows money that is not there.
    pub fn short(self) -> String {
        let cents_floor = |n: i64| n / (SCALE / 100);
        if self.0 < SCALE / 100 {
            return "0".into();
        }
        let cents = cents_floor(self.0);
        if cents < 100 {
            return format!(".{cents:02}");
        }
        if cents < 1_000 {
            return format!("{}.{:02}", cents / 100, cents % 100);
        }
        let dollars = self.0 / SCALE;
        if dollars < 100 {
            return format!("{}.{}", dollars, (cents % 100) / 10);
        }
        if dollars < 1_000 {
            return dollars.to_string();
        }
        for (unit, suffix) in [(1_000_i64, "k"), (1_000_000, "M"), (1_000_000_000, "B")] {
            let tenths = dollars / (unit / 10);
            if tenths < 100 {
                return format!("{}.{}{suffix}", tenths / 10, tenths % 10);
            }
            if tenths < 10_000 {
                return format!("{}{suffix}", tenths / 10);
            }
        }
        "1B+".into()
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The exact decimal, shortest form: `12.345`, `0`, `-0.5`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / SCALE as u64;
        let frac = abs % SCALE as u64;
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let frac = format!("{frac:09}");
            write!(f, "{sign}{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl std::str::FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Money {
    /// Reads an amount stored as a decimal string or written as a JSON number.
    pub fn from_json(value: &Json) -> Option<Money> {
        value.as_text().and_then(|t| Money::parse(t).ok())
    }
}

impl FromJson for Money {
    fn from_json(value: &Json) -> Option<Self> {
        Money::from_json(value)
    }
}

/// An exact decimal string (`"12.345"`), never a float.
impl JsShape for Money {
    fn js_shape() -> String {
        "decimal".to_string()
    }
}

/// Stored and sent to JS as the exact decimal string.
impl ToJson for Money {
    fn write_json(&self, out: &mut String) {
        self.to_string().write_json(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        let cases: &[(&str, i64)] = &[
            ("12.345", 12_345_000_000),
            ("0", 0),
            ("0.000", 0),
            ("-0.5", -500_000_000),
            ("+3", 3_000_000_000),
            (".25", 250_000_000),
            ("7.", 7_000_000_000),
            ("0.1", 100_000_000),
            ("0.000000001", 1),
            ("0.0000000019", 1),
            ("12.340000000000002", 12_340_000_000),
            ("1.5e-3", 1_500_000),
            ("1E2", 100_000_000_000),
            ("2.5e+1", 25_000_000_000),
            ("1e-50", 0),
            ("  4.20\n", 4_200_000_000),
            ("1000000000", 1_000_000_000_000_000_000),
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
        let cases: &[(&str, MoneyError)] = &[
            ("", MoneyError::Empty),
            ("   ", MoneyError::Empty),
            ("abc", MoneyError::NotANumber),
            ("NaN", MoneyError::NotANumber),
            ("Infinity", MoneyError::NotANumber),
            ("-Infinity", MoneyError::NotANumber),
            ("1.2.3", MoneyError::NotANumber),
            ("1,5", MoneyError::NotANumber),
            ("-", MoneyError::NotANumber),
            (".", MoneyError::NotANumber),
            ("1e", MoneyError::NotANumber),
            ("0x10", MoneyError::NotANumber),
            ("1 2", MoneyError::NotANumber),
            ("١٢", MoneyError::NotANumber),
            ("1e309", MoneyError::OutOfRange),
            ("1000000000.000000001", MoneyError::OutOfRange),
            ("99999999999999999999", MoneyError::OutOfRange),
        ];
        for (text, err) in cases {
            assert_eq!(Money::parse(text), Err(*err), "{text}");
        }
        assert_eq!(Money::parse(&"9".repeat(65)), Err(MoneyError::TooLong));
    }

    #[test]
    fn displays_with_four_places_or_more() {
        let cases = [
            ("12.345", "$12.3450"),
            ("0", "$0.0000"),
            ("1234567.5", "$1,234,567.5000"),
            ("0.123456", "$0.123456"),
            ("-0.5", "-$0.5000"),
        ];
        for (text, shown) in cases {
            assert_eq!(Money::parse(text).unwrap().display(), shown);
        }
    }

    #[test]
    fn shortens_for_the_badge() {
        let cases = [
            ("0", "0"),
            ("-3", "0"),
            ("0.009", "0"),
            ("0.01", ".01"),
            ("0.429", ".42"),
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
            let s = Money::parse(text).unwrap().short();
            assert_eq!(s, short, "{text}");
            assert!(s.chars().count() <= 4, "{text} -> {s}");
        }
    }

    #[test]
    fn round_trips_through_display_and_json() {
        for text in ["12.345", "0", "-0.5", "0.000000001", "1000000000"] {
            let m = Money::parse(text).unwrap();
            assert_eq!(m.to_string(), text);
            let json = m.to_json();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(Money::from_json(&Json::parse(&json).unwrap()), Some(m));
        }
        assert_eq!(Money::from_json(&Json::parse("true").unwrap()), None);
        assert_eq!(
            Money::from_json(&Json::parse("1.25").unwrap()),
            Some(Money::parse("1.25").unwrap())
        );
        assert_eq!(
            Money::from_json(&Json::parse("\"0.5\"").unwrap()),
            Some(Money::parse("0.5").unwrap())
        );
        assert_eq!(Money::from_json(&Json::parse("null").unwrap()), None);
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
