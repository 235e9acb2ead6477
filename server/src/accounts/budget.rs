//! `GET /v1/budget?account=NAME&type=recaptcha_v2&quantity=500`: can the account pay for a
//! batch? The preflight a script asks before it submits one.
//!
//! The figures are the core's (`costs::budget`: `covered` = floor(balance / rate), `shortfall`
//! = cost − balance when positive), so the server and the extension compute alike. The rates
//! are the account's ([`crate::accounts::account::Account::rates`]): its `price_per_1000` in
//! accounts.toml, each a thousandth of its price, over the provider's example rates. A type
//! with neither (most providers publish no examples here) is refused, naming `type` and the
//! setting that would give it a rate.
//!
//! The balance is the account's last good reading, read through its cache (at most one
//! upstream request per cache period, like `/v1/accounts`). Without any good reading the
//! answer is 503: a made-up balance would let a batch run that cannot be paid for.

use crate::accounts::account::Standing;
use crate::config::cli::MAX_QUANTITY;
use captchaai_balance::costs::{budget, Budget, CaptchaType, RateTable};
use captchaai_balance::level::BalanceLevel;
use captchaai_balance::money::Money;
use serde::Serialize;

/// The parameters of one preflight, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The account's name (`None`: the default account).
    pub account: Option<String>,
    /// The CAPTCHA type.
    pub kind: CaptchaType,
    /// Solves in the batch, 1..=[`MAX_QUANTITY`].
    pub quantity: u64,
}

/// A refused parameter: which one and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadParameter {
    /// What is wrong, for people.
    pub error: &'static str,
    /// The parameter's name (`type`, `quantity`, `account`).
    pub parameter: &'static str,
}

#[rustfmt::skip]
const MISSING_TYPE: BadParameter = BadParameter { error: "type is required (recaptcha_v2, recaptcha_v3, turnstile, geetest, image, bls, other)", parameter: "type" };
#[rustfmt::skip]
const UNKNOWN_TYPE: BadParameter = BadParameter { error: "unknown type (recaptcha_v2, recaptcha_v3, turnstile, geetest, image, bls, other)", parameter: "type" };
#[rustfmt::skip]
const NO_RATE: BadParameter = BadParameter { error: "no price for this type on this account: set it in accounts.toml ([account.price_per_1000])", parameter: "type" };
#[rustfmt::skip]
const BAD_QUANTITY: BadParameter = BadParameter { error: "quantity must be a whole number from 1 to 1000000", parameter: "quantity" };

fn twice(parameter: &'static str) -> BadParameter {
    BadParameter {
        error: "a parameter is given more than once",
        parameter,
    }
}

/// Reads the query. Other parameters (cache busters) are ignored; each known one at most once.
pub fn parse(query: &str) -> Result<Request, BadParameter> {
    let (mut account, mut kind, mut quantity) = (None, None, None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let (slot, parameter) = match name.as_ref() {
            "account" => (&mut account, "account"),
            "type" => (&mut kind, "type"),
            "quantity" => (&mut quantity, "quantity"),
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(twice(parameter));
        }
    }
    let kind = kind.ok_or(MISSING_TYPE)?;
    let kind = CaptchaType::from_name(&kind).ok_or(UNKNOWN_TYPE)?;
    let quantity = quantity
        .as_deref()
        .and_then(whole_number)
        .filter(|q| (1..=MAX_QUANTITY).contains(q))
        .ok_or(BAD_QUANTITY)?;
    Ok(Request {
        account,
        kind,
        quantity,
    })
}

/// Digits only (no sign, no point, no exponent, no spaces): `u64::from_str` takes a `+`.
fn whole_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The answer: money as exact decimal strings. The batch's figures are the core's
/// [`Budget`] as it serializes (`cost`, `covered`, `shortfall`, `enough`), inline among the
/// account's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetView {
    /// Account name.
    pub account: String,
    /// The last good balance.
    pub balance: Money,
    /// Price of one solve of the type.
    pub rate: Money,
    /// The batch against the balance: its cost, the solves the balance pays for, the money
    /// missing (`"0"` when enough), and whether the balance pays for it all.
    #[serde(flatten)]
    pub budget: Budget,
    /// The account's level (`ok`, `low`, `empty`, `unknown`), as `/v1/accounts` shows it.
    pub level: BalanceLevel,
    /// Seconds until the balance is empty at the current spend rate (`null` when unknown).
    pub runway_seconds: Option<i64>,
}

/// Why a preflight has no answer for a good request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The type has no rate on this account (a 400 naming `type`).
    BadParameter(BadParameter),
    /// No good reading of the account yet (503).
    NoReading,
}

/// The preflight for an account's standing at its rates. `None` balance:
/// [`Refusal::NoReading`].
pub fn answer(
    name: &str,
    rates: &RateTable,
    standing: &Standing,
    kind: CaptchaType,
    quantity: u64,
) -> Result<BudgetView, Refusal> {
    let rate = rates.rate(kind).ok_or(Refusal::BadParameter(NO_RATE))?;
    let balance = standing.balance.ok_or(Refusal::NoReading)?;
    // Only overflows past the core's money range, which the quantity and rate limits exclude.
    let budget = budget(balance, rate, quantity).ok_or(Refusal::BadParameter(BAD_QUANTITY))?;
    Ok(BudgetView {
        account: name.to_string(),
        balance,
        rate,
        budget,
        level: standing.level,
        runway_seconds: standing.runway_seconds,
    })
}
