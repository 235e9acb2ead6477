//! `accounts.toml` as serde reads it: the file's shape, declared once ([`AccountsFile`] with
//! its [`AccountTable`]s and [`WebhookTable`]s) and read by `toml`. What the values mean (a
//! name's characters, the environment variables, the endpoint, the webhook URL) is checked
//! after, by [`crate::config`] for the accounts and [`crate::config::webhook`] for the targets.
//!
//! A mistake serde finds (an unknown or missing field, a value of the wrong type, an unknown
//! provider, a float threshold …) comes with the place in the text toml saw it; [`read`] turns
//! it into the one line every config error is: the file, the line, the table (`account "name"`,
//! `account #N` while its name is missing or not a valid one, `webhook #N`) and the field.

use crate::config::error::{bare, cut_quoted, shown, ConfigError};
use crate::config::valid_name;
use crate::config::webhook::{Format, Kind};
use captchaai_balance::costs::{rate_of_price, CaptchaType, PriceError, MAX_RATE, PRICE_SOLVES};
use captchaai_balance::level::DEFAULT_LOW_THRESHOLD;
use captchaai_balance::money::Money;
use captchaai_balance::provider::ProviderId;
use captchaai_balance::settings::{DEFAULT_PREDICTIVE_HOURS, MAX_PREDICTIVE_HOURS, MAX_THRESHOLD};
use serde::{de, Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// The whole file: `[[account]]` and `[[webhook]]` tables, nothing else.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsFile {
    /// The `[[account]]` tables, in file order (at least one is required, by
    /// [`crate::config::parse_accounts`]).
    #[serde(default)]
    pub account: Vec<AccountTable>,
    /// The `[[webhook]]` tables, in file order.
    #[serde(default)]
    pub webhook: Vec<WebhookTable>,
}

/// One `[[account]]`. No `key` field: keys live only in the environment (`key_env`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [[account]] table")]
pub struct AccountTable {
    /// `[a-z0-9-]`, 1 to 64 characters, unique (checked after).
    pub name: String,
    /// The service, by its stable id (`captchaai`, `custom-2captcha` …).
    pub provider: ProviderId,
    /// The environment variable that holds the key.
    pub key_env: String,
    /// Below this the account is `low`: an exact decimal string or a whole number, from 0 to
    /// the settings' maximum; never a float (a TOML float is already rounded to binary).
    #[serde(default = "default_threshold", deserialize_with = "threshold")]
    pub threshold: Money,
    /// The API base URL; the provider's own host when not given (required for the custom
    /// providers).
    pub endpoint: Option<String>,
    /// The predictive alert's horizon in hours, 1 to 168.
    #[serde(
        default = "default_predictive_hours",
        deserialize_with = "predictive_hours"
    )]
    pub predictive_hours: u32,
    /// Lets `endpoint` be plain `http://` on a host other than loopback: the key then crosses
    /// the network unencrypted.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// What this account pays, in USD per 1,000 solves, by captcha type
    /// (`[account.price_per_1000]`, `recaptcha_v2 = "2.99"`): the unit providers publish. Each
    /// is a known type and a price that is an exact per-solve rate (`costs::rate_of_price`);
    /// a type left out keeps the provider's example rate, if it has one.
    #[serde(default, deserialize_with = "prices")]
    pub price_per_1000: BTreeMap<CaptchaType, Money>,
}

/// One `[[webhook]]`. No `url` field: the URL is a secret and lives in the environment
/// (`url_env`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[webhook]] table")]
pub struct WebhookTable {
    /// `slack`, `discord` or `generic`.
    pub format: Format,
    /// The environment variable that holds the URL.
    pub url_env: String,
    /// Only these accounts (names of `[[account]]`s of the file; checked after).
    pub accounts: Option<Vec<String>>,
    /// Only these kinds of alert.
    pub kinds: Option<Vec<Kind>>,
}

fn default_threshold() -> Money {
    DEFAULT_LOW_THRESHOLD
}

fn default_predictive_hours() -> u32 {
    DEFAULT_PREDICTIVE_HOURS
}

/// An exact decimal from 0 to the settings' maximum threshold, as typed.
fn threshold_of(text: &str) -> Result<Money, String> {
    match Money::parse(text.trim()) {
        Ok(amount) if amount >= Money::ZERO && amount <= MAX_THRESHOLD => Ok(amount),
        Ok(_) => Err(format!(
            "must be from 0 to {MAX_THRESHOLD}, got {}",
            shown(text)
        )),
        Err(_) => Err(format!("{} is not a decimal number", shown(text))),
    }
}

/// `threshold`: a decimal string or a TOML integer (read from its digits); a float is refused.
fn threshold<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
    struct Threshold;
    impl de::Visitor<'_> for Threshold {
        type Value = Money;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a decimal string such as \"5.50\" or a whole number")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Money, E> {
            threshold_of(text).map_err(E::custom)
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Money, E> {
            threshold_of(&n.to_string()).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Money, E> {
            threshold_of(&n.to_string()).map_err(E::custom)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Money, E> {
            Err(E::custom(
                "write it as a decimal string, e.g. threshold = \"5.50\"",
            ))
        }
    }
    deserializer.deserialize_any(Threshold)
}

/// `price_per_1000`: a table of captcha type to price, each a decimal string or a whole
/// number (a float is refused, as for `threshold`), each an exact per-solve rate once divided
/// by 1,000. A mistake names the type (the file's text, escaped and cut).
fn prices<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<CaptchaType, Money>, D::Error> {
    struct Prices;
    impl<'de> de::Visitor<'de> for Prices {
        type Value = BTreeMap<CaptchaType, Money>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a table of captcha type to USD per 1,000 solves, e.g. recaptcha_v2 = \"2.99\"",
            )
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut prices = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                let Some(kind) = CaptchaType::from_name(&name) else {
                    return Err(de::Error::custom(format!(
                        "unknown captcha type {}; the types are {}",
                        shown(&name),
                        type_names()
                    )));
                };
                let text = map.next_value::<PriceText>()?.0;
                let price = price_of(kind, text.as_deref()).map_err(de::Error::custom)?;
                prices.insert(kind, price);
            }
            Ok(prices)
        }
    }
    deserializer.deserialize_map(Prices)
}

/// `recaptcha_v2, recaptcha_v3, …`: every type's stable name, in display order.
fn type_names() -> String {
    CaptchaType::all()
        .map(CaptchaType::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A price as the file wrote it: the text of a decimal string or a whole number, `None` for a
/// float (already rounded to binary).
struct PriceText(Option<String>);

impl<'de> Deserialize<'de> for PriceText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PriceText, D::Error> {
        struct Text;
        impl de::Visitor<'_> for Text {
            type Value = PriceText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string such as \"2.99\" or a whole number")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<PriceText, E> {
                Ok(PriceText(Some(text.to_string())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<PriceText, E> {
                Ok(PriceText(Some(n.to_string())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<PriceText, E> {
                Ok(PriceText(Some(n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<PriceText, E> {
                Ok(PriceText(None))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

/// One type's price per 1,000 solves, checked: `kind: why` when it is not a usable one.
fn price_of(kind: CaptchaType, text: Option<&str>) -> Result<Money, String> {
    let name = kind.as_str();
    let Some(text) = text else {
        return Err(format!(
            "{name}: write it as a decimal string, e.g. {name} = \"2.99\""
        ));
    };
    let price = Money::parse(text.trim())
        .map_err(|_| format!("{name}: {} is not a decimal number", shown(text)))?;
    match rate_of_price(price) {
        Ok(_) => Ok(price),
        Err(PriceError::NotExact) => Err(format!(
            "{name}: {} has more than 6 decimals; the price per solve (a thousandth of it) would not be exact",
            shown(text)
        )),
        Err(PriceError::OutOfRange) => Err(format!(
            "{name}: must be above 0 and at most {} (USD per 1,000 solves), got {}",
            price_limit(),
            shown(text)
        )),
    }
}

/// The largest price per 1,000 solves: the core's largest per-solve rate, a thousand times.
fn price_limit() -> Money {
    MAX_RATE
        .checked_mul(PRICE_SOLVES.unsigned_abs())
        .unwrap_or(MAX_RATE)
}

/// `predictive_hours`: a TOML integer from 1 to [`MAX_PREDICTIVE_HOURS`].
fn predictive_hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    struct Hours;
    impl Hours {
        fn of<E: de::Error>(n: i128) -> Result<u32, E> {
            u32::try_from(n)
                .ok()
                .filter(|h| (1..=MAX_PREDICTIVE_HOURS).contains(h))
                .ok_or_else(|| E::custom(Hours))
        }
    }
    impl fmt::Display for Hours {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "a whole number of hours from 1 to {MAX_PREDICTIVE_HOURS}, e.g. predictive_hours = 24"
            )
        }
    }
    impl de::Visitor<'_> for Hours {
        type Value = u32;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Display::fmt(self, f)
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u32, E> {
            Hours::of(i128::from(n))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u32, E> {
            Hours::of(i128::from(n))
        }
    }
    deserializer.deserialize_any(Hours)
}

/// Reads the file's text (`file`: its name for messages). A mistake is one line: see the
/// module doc.
pub fn read(file: &str, text: &str) -> Result<AccountsFile, ConfigError> {
    toml::from_str(text).map_err(|error| ConfigError(describe(file, text, &error)))
}

/// The one line for a toml or serde error.
fn describe(file: &str, text: &str, error: &toml::de::Error) -> String {
    // toml and serde quote what the file said (a field's or a variant's name): cut long ones;
    // ConfigError escapes what is left when it is printed.
    let message = cut_quoted(&error.message().trim().replace('\n', " "));
    let Some(span) = error.span() else {
        return format!("{file}: {message}");
    };
    let line = line_of(text, span.start);
    // A syntax error has no tables to name (the text does not parse).
    let Some(place) = Place::of(text, &span) else {
        return format!("{file}: line {line}: {message}");
    };
    let what = match place.field.as_deref() {
        Some(field) => what_of(place.table.as_ref(), field, &message),
        None => match missing_field(&message) {
            Some(field) if place.table.is_some() => {
                format!("{field}: missing{}", missing_hint(field))
            }
            _ => message,
        },
    };
    match place.table {
        Some(table) => format!("{file}: line {line}: {table}: {what}"),
        None => format!("{file}: line {line}: {what}"),
    }
}

/// `field: message` with the hint the field deserves.
fn what_of(table: Option<&Table>, field: &str, message: &str) -> String {
    let unknown = message.starts_with("unknown field");
    let hint = match (table, field) {
        (Some(Table::Account { .. }), "key" | "api_key") if unknown => {
            "; keys never go in this file: name an environment variable with key_env"
        }
        (Some(Table::Webhook { .. }), "url") if unknown => {
            "; the URL is a secret: name the environment variable that holds it with url_env"
        }
        (None, "account") => "; write it as [[account]] tables",
        (None, "webhook") => "; write it as [[webhook]] tables",
        (None, _) if unknown => "; the file holds only [[account]] and [[webhook]] tables",
        _ => "",
    };
    // The field's name is the file's text: escaped and cut like any value.
    format!("{}: {message}{hint}", bare(field))
}

/// The field serde's "missing field `name`" names.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split_once('`')
        .map(|(field, _)| field)
}

fn missing_hint(field: &str) -> &'static str {
    match field {
        "key_env" => " (the environment variable that holds the key)",
        "url_env" => " (the environment variable that holds the webhook URL)",
        _ => "",
    }
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    let end = at.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A table of the file, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Table {
    /// The `index`th `[[account]]` (from 0), with its name when it is a valid one.
    Account { index: usize, name: Option<String> },
    /// The `index`th `[[webhook]]` (from 0).
    Webhook { index: usize },
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Table::Account {
                name: Some(name), ..
            } => write!(f, "account {name:?}"),
            Table::Account { index, name: None } => write!(f, "account #{}", index + 1),
            Table::Webhook { index } => write!(f, "webhook #{}", index + 1),
        }
    }
}

/// Where in the file an error's span falls: the table (none: the top level) and the field of
/// it (none: the table as a whole, such as its header for a missing field).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    table: Option<Table>,
    field: Option<String>,
}

impl Place {
    /// The place of `span` in `text`; `None` when the text does not parse as TOML.
    fn of(text: &str, span: &Range<usize>) -> Option<Place> {
        let doc = DeTable::parse(text).ok()?;
        let at = span.start;
        for (key, value) in doc.get_ref().iter() {
            let top = key.get_ref().as_ref();
            let items = match (top, value.get_ref()) {
                ("account" | "webhook", DeValue::Array(items)) => items.as_ref(),
                _ => &[],
            };
            for (index, item) in items.iter().enumerate() {
                let table = if top == "account" {
                    Table::Account {
                        index,
                        name: item
                            .get_ref()
                            .as_table()
                            .and_then(|t| t.iter().find(|(k, _)| k.get_ref() == "name"))
                            .and_then(|(_, v)| v.get_ref().as_str())
                            .filter(|name| valid_name(name))
                            .map(str::to_string),
                    }
                } else {
                    Table::Webhook { index }
                };
                // A field first: an inline table's span holds its fields too.
                let field = item.get_ref().as_table().and_then(|fields| {
                    fields
                        .iter()
                        .find(|(k, v)| within(&k.span(), at) || within(&v.span(), at))
                        .map(|(k, _)| k.get_ref().to_string())
                });
                if field.is_some() || within(&item.span(), at) {
                    return Some(Place {
                        table: Some(table),
                        field,
                    });
                }
            }
            if within(&key.span(), at) || within(&value.span(), at) {
                return Some(Place {
                    table: None,
                    field: Some(top.to_string()),
                });
            }
        }
        Some(Place {
            table: None,
            field: None,
        })
    }
}

/// True when `at` falls in `span` (an empty span holds its start).
fn within(span: &Range<usize>, at: usize) -> bool {
    span.contains(&at) || span.start == at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_name_the_table_and_the_field() {
        let text = "[[account]]\nname = \"prod\"\nprovider = \"x\"\n\n[[account]]\nname = \"Bad\"\ncolour = 1\n\n[[webhook]]\nformat = \"slack\"\naccounts = [1]\n";
        let at = |needle: &str| {
            let start = text.find(needle).expect("in the text");
            Place::of(text, &(start..start + needle.len())).expect("parses")
        };
        let account = |index, name: Option<&str>| {
            Some(Table::Account {
                index,
                name: name.map(str::to_string),
            })
        };
        assert_eq!(at("\"x\"").table, account(0, Some("prod")));
        assert_eq!(at("\"x\"").field.as_deref(), Some("provider"));
        assert_eq!(at("colour").table, account(1, None), "an invalid name");
        assert_eq!(at("colour").field.as_deref(), Some("colour"));
        assert_eq!(at("[1]").table, Some(Table::Webhook { index: 0 }));
        assert_eq!(at("1]").field.as_deref(), Some("accounts"));
        let header = text.rfind("[[webhook]]").expect("header");
        let place = Place::of(text, &(header..header + 11)).expect("parses");
        assert_eq!(
            (place.table, place.field),
            (Some(Table::Webhook { index: 0 }), None)
        );
        assert_eq!(line_of(text, header), 9);
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(Place::of("[[account]\n", &(0..1)), None);
    }

    #[test]
    fn a_good_table_with_defaults() {
        let file = read(
            "a.toml",
            "[[account]]\nname = \"a\"\nprovider = \"custom-createtask\"\nkey_env = \"K\"\n",
        )
        .expect("good");
        assert_eq!(
            file.account,
            [AccountTable {
                name: "a".into(),
                provider: ProviderId::CustomCreateTask,
                key_env: "K".into(),
                threshold: DEFAULT_LOW_THRESHOLD,
                endpoint: None,
                predictive_hours: DEFAULT_PREDICTIVE_HOURS,
                allow_plain_http: false,
                price_per_1000: BTreeMap::new(),
            }]
        );
        assert!(file.webhook.is_empty());
    }
}
