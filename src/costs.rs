//! What solves cost, what a batch will cost, and how many solves the balance still pays for.

use crate::money::Money;
use crate::provider::ProviderId;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of CAPTCHA with its own per-solve price; serialized as its stable name (tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum CaptchaType {
    /// reCAPTCHA v2.
    RecaptchaV2,
    /// reCAPTCHA v3.
    RecaptchaV3,
    /// Cloudflare Turnstile.
    Turnstile,
    /// GeeTest.
    Geetest,
    /// Image / text CAPTCHA.
    Image,
    /// BLS.
    Bls,
    /// Any other type.
    Other,
}

/// Every type with its stable name, in display order (the order of a provider's rates).
#[rustfmt::skip]
const TYPES: [(CaptchaType, &str); 7] = [
    (CaptchaType::RecaptchaV2, "recaptcha_v2"),
    (CaptchaType::RecaptchaV3, "recaptcha_v3"),
    (CaptchaType::Turnstile, "turnstile"),
    (CaptchaType::Geetest, "geetest"),
    (CaptchaType::Image, "image"),
    (CaptchaType::Bls, "bls"),
    (CaptchaType::Other, "other"),
];

/// The largest batch an estimate accepts; bigger is a typo.
pub const MAX_QUANTITY: u64 = 100_000_000;

/// The largest per-solve rate accepted, in USD (prices are fractions of a cent).
pub const MAX_RATE: Money = Money::from_cents(10_000);

impl CaptchaType {
    /// Every type, in display order.
    pub fn all() -> impl Iterator<Item = CaptchaType> {
        TYPES.iter().map(|(t, _)| *t)
    }

    /// The stable name (`recaptcha_v2` …), also the locale key suffix (`type_recaptcha_v2`).
    pub fn as_str(self) -> &'static str {
        // The rows are in declaration order (tested).
        TYPES[self as usize].1
    }

    /// The type with this stable name.
    pub fn from_name(name: &str) -> Option<CaptchaType> {
        TYPES.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }
}

/// Per-type rates: a provider's defaults (where it has them) with the user's overrides
/// applied. A type without a rate has no "solves remaining" and no estimate. Serialised as
/// `{ "recaptcha_v2": "0.003", … }` with the types that have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTable {
    rates: [(CaptchaType, Option<Money>); 7],
}

/// CaptchaAI's published prices (docs/API.md, "Defaults"), the first provider's.
impl Default for RateTable {
    fn default() -> Self {
        RateTable::from_nanos(ProviderId::CaptchaAi.info().rates)
    }
}

impl RateTable {
    /// No rate for any type.
    pub fn none() -> RateTable {
        RateTable {
            rates: TYPES.map(|(t, _)| (t, None)),
        }
    }

    /// A table from per-type nano-dollar rates in `CaptchaType` order (a provider's row), or
    /// none.
    pub fn from_nanos(rates: Option<[i64; 7]>) -> RateTable {
        let mut table = RateTable::none();
        if let Some(rates) = rates {
            for (entry, nanos) in table.rates.iter_mut().zip(&rates) {
                entry.1 = Some(Money::from_nanos(*nanos));
            }
        }
        table
    }

    /// The rate for a type, if one is set.
    pub fn rate(&self, kind: CaptchaType) -> Option<Money> {
        // The rows are `TYPES`'s, in declaration order.
        self.rates[kind as usize].1
    }

    /// Sets or clears one rate (already validated).
    pub fn set(&mut self, kind: CaptchaType, rate: Option<Money>) {
        self.rates[kind as usize].1 = rate;
    }

    /// The (type, rate) pairs that have a rate, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (CaptchaType, Money)> + '_ {
        self.rates.iter().filter_map(|(t, r)| r.map(|r| (*t, r)))
    }
}

/// `{ "recaptcha_v2": "0.003", … }`: the types that have a rate.
impl Serialize for RateTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Each rate on its own: a member that names no type this build knows, or whose value is not
/// an amount above zero and at most [`MAX_RATE`], is left out (not the others).
impl<'de> Deserialize<'de> for RateTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RateTable, D::Error> {
        struct Rates;
        impl<'de> Visitor<'de> for Rates {
            type Value = RateTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of captcha type to price per solve")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RateTable, A::Error> {
                let mut rates = RateTable::none();
                while let Some((name, value)) = map.next_entry::<String, serde_json::Value>()? {
                    let kind = CaptchaType::from_name(&name);
                    let rate = Money::deserialize(&value).ok().filter(is_rate);
                    if let (Some(kind), Some(rate)) = (kind, rate) {
                        rates.set(kind, Some(rate));
                    }
                }
                Ok(rates)
            }
        }
        deserializer.deserialize_map(Rates)
    }
}

/// A usable per-solve price: above zero, at most [`MAX_RATE`].
pub fn is_rate(rate: &Money) -> bool {
    rate.is_positive() && *rate <= MAX_RATE
}

/// The solves a published price is for: providers quote "USD per 1,000 solves".
pub const PRICE_SOLVES: i64 = 1000;

/// Why a price per [`PRICE_SOLVES`] solves is not a per-solve rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    /// Divided by 1,000 it falls below a nano-dollar (more than six decimals): the rate would
    /// be rounded, and every budget computed from it would disagree with the price as written.
    NotExact,
    /// Not above zero, or more than [`MAX_RATE`] per solve.
    OutOfRange,
}

/// The per-solve rate of a price per [`PRICE_SOLVES`] solves, exactly (`2.99` is `0.00299`), or
/// why there is none. Exact or refused, never rounded: money is nano-dollars, so a price of up
/// to six decimals divides exactly, which every published price does (they have at most four).
pub fn rate_of_price(price_per_1000: Money) -> Result<Money, PriceError> {
    let nanos = price_per_1000.nanos();
    if nanos % PRICE_SOLVES != 0 {
        return Err(PriceError::NotExact);
    }
    Some(Money::from_nanos(nanos / PRICE_SOLVES))
        .filter(is_rate)
        .ok_or(PriceError::OutOfRange)
}

/// What a batch costs against a balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Price of the batch.
    pub cost: Money,
    /// Solves of this type the balance pays for (floor(balance / rate)).
    pub covered: u64,
    /// Money missing for the batch (zero when the balance is enough).
    pub shortfall: Money,
    /// The balance pays for the whole batch.
    pub enough: bool,
}

/// The price of `quantity` solves at `rate`, or `None` if it overflows.
pub fn estimate(rate: Money, quantity: u64) -> Option<Money> {
    rate.checked_mul(quantity)
}

/// The batch against the balance. A negative balance counts as zero for covering solves but
/// its debt is part of the shortfall.
pub fn budget(balance: Money, rate: Money, quantity: u64) -> Option<Budget> {
    let cost = estimate(rate, quantity)?;
    let missing = cost.checked_sub(balance)?;
    let enough = !missing.is_positive();
    Some(Budget {
        cost,
        covered: balance.whole_multiples_of(rate),
        shortfall: if enough { Money::ZERO } else { missing },
        enough,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn types_are_listed_in_declaration_order() {
        for (i, kind) in CaptchaType::all().enumerate() {
            assert_eq!(kind as usize, i, "{kind:?}");
        }
        assert_eq!(CaptchaType::all().count(), 7);
        let mut t = RateTable::none();
        for kind in CaptchaType::all() {
            assert_eq!(CaptchaType::from_name(kind.as_str()), Some(kind));
            t.set(kind, Some(Money::from_nanos(kind as i64 + 1)));
        }
        let set: Vec<_> = t.iter().collect();
        for (i, kind) in CaptchaType::all().enumerate() {
            assert_eq!(t.rate(kind), Some(Money::from_nanos(i as i64 + 1)));
            assert_eq!(set[i], (kind, Money::from_nanos(i as i64 + 1)));
        }
    }

    #[test]
    fn rate_tables_round_trip_and_keep_good_rates() {
        let table = RateTable::default();
        let text = serde_json::to_string(&table).unwrap();
        assert!(text.starts_with(r#"{"recaptcha_v2":"0.003","#), "{text}");
        assert_eq!(serde_json::from_str::<RateTable>(&text).unwrap(), table);
        let read: RateTable = serde_json::from_value(serde_json::json!({
            "image": "0.0008", "bls": "x", "turnstile": "0", "geetest": "0.002", "other": 0.003,
            "future_type": "1",
        }))
        .unwrap();
        let set: Vec<_> = read.iter().collect();
        assert_eq!(
            set,
            [
                (CaptchaType::Geetest, m("0.002")),
                (CaptchaType::Image, m("0.0008"))
            ]
        );
        for kind in CaptchaType::all() {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn defaults_match_the_guide() {
        let t = RateTable::default();
        #[rustfmt::skip]
        let want = [
            ("recaptcha_v2", "0.003"),
            ("recaptcha_v3", "0.004"),
            ("turnstile",    "0.002"),
            ("geetest",      "0.003"),
            ("image",        "0.001"),
            ("bls",          "0.002"),
            ("other",        "0.003"),
        ];
        for (name, rate) in want {
            assert_eq!(
                t.rate(CaptchaType::from_name(name).unwrap()),
                Some(m(rate)),
                "{name}"
            );
        }
    }

    #[test]
    fn prices_per_1000_are_exact_rates_or_refused() {
        #[rustfmt::skip]
        let cases: [(&str, Result<&str, PriceError>); 9] = [
            ("2.99",        Ok("0.00299")),
            ("0.5",         Ok("0.0005")),
            ("3",           Ok("0.003")),
            ("0.000001",    Ok("0.000000001")),
            ("100000",      Ok("100")),
            ("0.0000001",   Err(PriceError::NotExact)),
            ("2.9999995",   Err(PriceError::NotExact)),
            ("0",           Err(PriceError::OutOfRange)),
            ("100000.001",  Err(PriceError::OutOfRange)),
        ];
        for (price, want) in cases {
            assert_eq!(rate_of_price(m(price)), want.map(m), "{price}");
        }
        assert_eq!(rate_of_price(m("-1")), Err(PriceError::OutOfRange));
        // Exact: a thousand solves at the rate cost the price again.
        let rate = rate_of_price(m("2.99")).unwrap();
        assert_eq!(estimate(rate, 1000), Some(m("2.99")));
    }

    #[test]
    fn budgets() {
        #[rustfmt::skip]
        let cases = [
            // balance, rate,   qty,  cost,   covered, shortfall, enough
            ("12.345", "0.003", 1000, "3",    4115,    "0",       true),
            ("1.00",   "0.004", 500,  "2",    250,     "1",       false),
            ("0",      "0.001", 10,   "0.01", 0,       "0.01",    false),
            ("-0.5",   "0.002", 0,    "0",    0,       "0.5",     false),
            ("0.3",    "0.1",   3,    "0.3",  3,       "0",       true),
        ];
        for (bal, rate, qty, cost, covered, short, enough) in cases {
            let b = budget(m(bal), m(rate), qty).unwrap();
            assert_eq!(
                b,
                Budget {
                    cost: m(cost),
                    covered,
                    shortfall: m(short),
                    enough
                },
                "{bal} {rate} {qty}"
            );
        }
        assert_eq!(budget(m("1"), Money::from_nanos(i64::MAX / 2), 10), None);
    }
}
