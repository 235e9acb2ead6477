//! What the user configured, and the checks on what they type.

use crate::costs::{CaptchaType, RateTable, MAX_RATE};
use crate::level::DEFAULT_LOW_THRESHOLD;
use crate::money::Money;
use crate::protocol::normalize_endpoint;
use crate::provider::{is_loopback_host, Family, KeyFormat, Provider, ProviderId, UrlParts};
use crate::stored;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The default time between two checks (ten minutes).
pub const DEFAULT_INTERVAL_SECS: u32 = 10 * 60;
/// The shortest interval: the API's per-key politeness floor.
pub const MIN_INTERVAL_SECS: u32 = 60;
/// The longest interval (a day).
pub const MAX_INTERVAL_SECS: u32 = 24 * 60 * 60;
/// The highest low-balance threshold accepted.
pub const MAX_THRESHOLD: Money = Money::from_cents(100_000_000);
/// The 2captcha family's, Anti-Captcha's and CapMonster's keys are 32 characters.
pub const KEY_LEN: usize = 32;
/// The default horizon of the "runs out within N hours" alert.
pub const DEFAULT_PREDICTIVE_HOURS: u32 = 24;
/// The longest horizon (a week).
pub const MAX_PREDICTIVE_HOURS: u32 = 7 * 24;
/// The longest account name.
pub const MAX_NAME_CHARS: usize = 40;

/// The monitor's settings. Stored settings are read member by member ([`Settings::from_stored`]):
/// each field that is missing or unreadable keeps its default, so one bad value never loses the
/// others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// What the user calls this account ("Production").
    #[serde(deserialize_with = "read_name")]
    pub name: String,
    /// The service.
    pub provider: ProviderId,
    /// The API key (stored locally; never shown in full).
    #[serde(deserialize_with = "read_key")]
    pub api_key: String,
    /// Below this the level is `low`.
    #[serde(deserialize_with = "read_threshold")]
    pub threshold: Money,
    /// Seconds between checks.
    #[serde(deserialize_with = "read_interval_seconds")]
    pub interval_seconds: u32,
    /// API base URL, normalised: the provider's own unless overridden.
    #[serde(deserialize_with = "read_endpoint")]
    pub endpoint: String,
    /// Per-type prices (the provider's defaults where it has them).
    pub rates: RateTable,
    /// Show browser notifications.
    pub notifications: bool,
    /// Show "Solves remaining" and the cost calculator. Off for thread plans, where a monthly
    /// fee buys threads and per-solve counts mean little.
    pub show_solves: bool,
    /// Warn when the balance runs out within this many hours at the current spend.
    #[serde(deserialize_with = "read_predictive_hours")]
    pub predictive_hours: u32,
    /// Warn of unusual spending (a leaked key, a runaway job).
    pub spike_alerts: bool,
    /// The user chose to send this account's key over plain `http://` to a host other than
    /// loopback (a self-hosted proxy without TLS); refused otherwise.
    pub allow_plain_http: bool,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::for_provider(ProviderId::CaptchaAi)
    }
}

impl Settings {
    /// A fresh account of a provider, named after it, with its endpoint and rates.
    pub fn for_provider(id: ProviderId) -> Settings {
        let provider = id.info();
        Settings {
            name: provider.label.to_string(),
            provider: id,
            api_key: String::new(),
            threshold: DEFAULT_LOW_THRESHOLD,
            interval_seconds: DEFAULT_INTERVAL_SECS,
            endpoint: provider.endpoint.unwrap_or_default().to_string(),
            rates: RateTable::from_nanos(provider.rates),
            notifications: true,
            show_solves: true,
            predictive_hours: DEFAULT_PREDICTIVE_HOURS,
            spike_alerts: true,
            allow_plain_http: false,
            extra: Map::new(),
        }
    }
}

/// A stored key, if it passes the loosest local check (the provider's own format is checked
/// once the provider is known, in [`Settings::from_stored`]).
fn read_key<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let key = String::deserialize(d)?;
    check_key(&key, KeyFormat::Token { min: 1, max: 128 })
        .map(|()| key)
        .map_err(|_| D::Error::custom("not a key"))
}

fn read_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    check_name(&String::deserialize(d)?).map_err(|_| D::Error::custom("not a name"))
}

/// A stored value checked like the form's field of the same name.
fn checked<'de, D, T>(d: D, check: impl Fn(&Value) -> Result<T, FieldError>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(d)?;
    check(&value).map_err(|_| D::Error::custom("not a valid value for this setting"))
}

fn read_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
    checked(d, |v| parse_amount(v, Money::ZERO, MAX_THRESHOLD))
}

fn read_interval_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    checked(d, |v| parse_whole(v, MIN_INTERVAL_SECS, MAX_INTERVAL_SECS))
}

fn read_predictive_hours<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    checked(d, |v| parse_whole(v, 1, MAX_PREDICTIVE_HOURS))
}

fn read_endpoint<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |v| match v.as_str() {
        Some(e) if !e.trim().is_empty() => {
            normalize_endpoint(e).map_err(|_| FieldError::BadEndpoint)
        }
        _ => Err(FieldError::BadEndpoint),
    })
}

/// Why one field's value was refused. Each maps to a locale key (`field_error_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// The provider's own endpoint needs a key.
    KeyMissing,
    /// Not a key of the provider's format (length outside min..=max, or spaces).
    KeyToken(usize, usize),
    /// A custom provider needs an endpoint.
    EndpointMissing,
    /// An empty name or one over [`MAX_NAME_CHARS`].
    BadName,
    /// Another account has this name (case-insensitive); holds it.
    DuplicateName(String),
    /// Another account has this provider, endpoint and key; holds its name.
    DuplicateAccount(String),
    /// Not a known provider.
    UnknownProvider,
    /// No account left: at least one is needed.
    NoAccounts,
    /// Not 32 characters; holds the length typed.
    KeyLength(usize),
    /// 32 characters but not hex.
    KeyCharacters,
    /// Not a decimal amount.
    NotAnAmount,
    /// Amount outside the allowed range (min, max).
    AmountRange(Money, Money),
    /// A price must be above zero and at most this.
    PriceRange(Money),
    /// Not a whole number.
    NotAWholeNumber,
    /// Whole number outside the allowed range (min, max).
    NumberRange(u32, u32),
    /// Not an http(s) URL without query or credentials.
    BadEndpoint,
    /// Plain `http://` to a host other than loopback, without the account's consent
    /// (`allowPlainHttp`): the key would travel unencrypted.
    PlainHttp,
    /// Not true/false.
    NotABoolean,
    /// The form was filled from settings that have changed since (a save from another tab or
    /// window): saving it would undo that change.
    ChangedElsewhere,
}

impl FieldError {
    /// The locale key and its arguments.
    pub fn message_key(&self) -> (&'static str, Vec<String>) {
        match self {
            FieldError::KeyMissing => ("field_error_key_missing", vec![]),
            FieldError::KeyToken(lo, hi) => (
                "field_error_key_token",
                vec![lo.to_string(), hi.to_string()],
            ),
            FieldError::EndpointMissing => ("field_error_endpoint_missing", vec![]),
            FieldError::BadName => ("field_error_name", vec![MAX_NAME_CHARS.to_string()]),
            FieldError::DuplicateName(n) => ("field_error_duplicate_name", vec![n.clone()]),
            FieldError::DuplicateAccount(n) => ("field_error_duplicate_account", vec![n.clone()]),
            FieldError::UnknownProvider => ("field_error_provider", vec![]),
            FieldError::NoAccounts => ("field_error_no_accounts", vec![]),
            FieldError::KeyLength(n) => (
                "field_error_key_length",
                vec![KEY_LEN.to_string(), n.to_string()],
            ),
            FieldError::KeyCharacters => ("field_error_key_characters", vec![]),
            FieldError::NotAnAmount => ("field_error_not_amount", vec![]),
            FieldError::AmountRange(lo, hi) => (
                "field_error_amount_range",
                vec![lo.decimal_text(), hi.decimal_text()],
            ),
            FieldError::PriceRange(hi) => ("field_error_price_range", vec![hi.decimal_text()]),
            FieldError::NotAWholeNumber => ("field_error_not_whole", vec![]),
            FieldError::NumberRange(lo, hi) => (
                "field_error_number_range",
                vec![lo.to_string(), hi.to_string()],
            ),
            FieldError::BadEndpoint => ("field_error_endpoint", vec![]),
            FieldError::PlainHttp => ("field_error_plain_http", vec![]),
            FieldError::NotABoolean => ("field_error_boolean", vec![]),
            FieldError::ChangedElsewhere => ("field_error_changed_elsewhere", vec![]),
        }
    }
}

/// Masks a key for display: `abcd…wxyz` for a key of 32 characters or more, `…wxyz` for a
/// shorter one; very short or non-ASCII text shows only its length.
pub fn mask_key(key: &str) -> String {
    let key = key.trim();
    let n = key.chars().count();
    match (key.get(..4), key.get(n.saturating_sub(4)..)) {
        _ if n == 0 => String::new(),
        // Both ends only of a long key: of a 16-character custom token they would be half of it.
        (Some(head), Some(tail)) if n >= KEY_LEN && key.is_ascii() => format!("{head}…{tail}"),
        (_, Some(tail)) if n >= 12 && key.is_ascii() => format!("…{tail}"),
        _ => format!("…({n} chars)"),
    }
}

/// Checks an account name: not blank, at most [`MAX_NAME_CHARS`]; returns it trimmed.
pub fn check_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(FieldError::BadName);
    }
    Ok(name.to_string())
}

/// Checks a key locally, in a provider's format, before it is ever sent (bad keys get the IP
/// banned).
pub fn check_key(key: &str, format: KeyFormat) -> Result<(), FieldError> {
    let len = key.chars().count();
    if let KeyFormat::Token { min, max } = format {
        if !(min..=max).contains(&len) || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::KeyToken(min, max));
        }
        return Ok(());
    }
    if len != KEY_LEN {
        return Err(FieldError::KeyLength(len));
    }
    if !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::KeyCharacters);
    }
    Ok(())
}

impl Settings {
    /// Interval in milliseconds.
    pub fn interval_ms(&self) -> i64 {
        i64::from(self.interval_seconds) * 1000
    }

    /// The provider's row.
    pub fn provider(&self) -> &'static Provider {
        self.provider.info()
    }

    /// The predictive alert's horizon (ms).
    pub fn predictive_horizon_ms(&self) -> i64 {
        i64::from(self.predictive_hours) * 3_600_000
    }

    /// The shortest time between two balance requests for this key (the provider's
    /// politeness floor).
    pub fn min_gap_ms(&self) -> i64 {
        self.provider().min_gap_ms
    }

    /// True when the endpoint is the provider's own API host, which needs a key (a proxy or
    /// custom endpoint may add it server-side).
    fn needs_key(&self) -> bool {
        self.provider().is_own_endpoint(&self.endpoint) || self.endpoint.is_empty()
    }

    /// True when a request may be sent: a valid key, or none on a proxy endpoint, and an
    /// endpoint the key may travel to ([`Settings::sends_key_in_clear`]).
    pub fn can_request(&self) -> bool {
        if self.sends_key_in_clear() {
            return false;
        }
        if self.api_key.is_empty() {
            !self.needs_key()
        } else {
            !self.endpoint.is_empty() && check_key(&self.api_key, self.provider().key).is_ok()
        }
    }

    /// True when the endpoint is plain `http://` on a host other than loopback and the user
    /// has not allowed it: the key (or, with none, the request a proxy answers) would cross
    /// the network unencrypted.
    pub fn sends_key_in_clear(&self) -> bool {
        is_plain_http_off_loopback(&self.endpoint) && !self.allow_plain_http
    }

    /// Where the server at this account's endpoint keeps the account's history
    /// (`protocol::server_history_url`), in server mode only: no key here, the endpoint adds it
    /// (captchaai-balance-server). `None` with a key: a provider's API, or a proxy that is
    /// given the key, keeps no history for us and is asked for nothing but the balance.
    pub fn server_history_url(&self) -> Option<String> {
        if !self.api_key.is_empty() || !self.can_request() {
            return None;
        }
        crate::protocol::server_history_url(&self.endpoint)
    }

    /// The endpoint as the options form shows it: empty when it is the provider's own.
    pub fn endpoint_override(&self) -> &str {
        if self.provider().is_own_endpoint(&self.endpoint) {
            ""
        } else {
            &self.endpoint
        }
    }

    /// A short, non-reversible name for the account (endpoint + key), used to notice that the
    /// account changed without storing the key twice. The endpoint is compared in its
    /// canonical spelling ([`canonical_endpoint`]): `localhost:8080/` and `127.0.0.1:8080` are
    /// one account, so re-typing it keeps the readings, the request floor and the alert memory.
    /// A createTask account is named with its family too: the same host and key spoken to in
    /// the other protocol is another account (the 2captcha family keeps the ids earlier builds
    /// gave, so nothing stored needs renaming).
    pub fn account_id(&self) -> String {
        let endpoint = canonical_endpoint(&self.endpoint);
        let key = self.api_key.to_ascii_lowercase();
        match self.provider().family {
            Family::TwoCaptcha => short_hash(&[&endpoint, &key]),
            Family::CreateTask => short_hash(&[Family::CreateTask.as_str(), &endpoint, &key]),
        }
    }

    /// The ids earlier builds gave this account (the endpoint only lower-cased, the key as
    /// typed), so a migration can keep its readings and alert memory under the new id.
    pub fn former_account_ids(&self) -> [String; 2] {
        [
            short_hash(&[&self.endpoint.to_ascii_lowercase(), &self.api_key]),
            short_hash(&[&canonical_endpoint(&self.endpoint), &self.api_key]),
        ]
    }

    /// A short, non-reversible name for whatever the API counts requests against: the key
    /// (at any endpoint: the same key behind two spellings or a proxy is still one key), or,
    /// with no key, the proxy endpoint that adds one. The one-request-a-minute floor is kept
    /// per requester, so switching keys back and forth never asks for one key twice a minute.
    pub fn requester_id(&self) -> String {
        if self.api_key.is_empty() {
            short_hash(&["endpoint", &canonical_endpoint(&self.endpoint)])
        } else {
            // Hex keys are one key in any letter case (the API and the server read them so).
            short_hash(&["key", &self.api_key.to_ascii_lowercase()])
        }
    }

    /// Applies a form's values (strings or JSON values; missing fields keep their current
    /// value; an empty key keeps the stored key). All fields are checked; on any error nothing
    /// changes and every bad field is reported.
    pub fn apply(&self, input: &Value) -> Result<Settings, Vec<(String, FieldError)>> {
        let mut next = self.clone();
        let mut errors = Vec::new();
        let mut field = |name: &str, result: Result<(), FieldError>| {
            if let Err(e) = result {
                errors.push((name.to_string(), e));
            }
        };

        if let Some(v) = present(input, "provider") {
            match v.as_str().and_then(ProviderId::from_name) {
                Some(id) if id != next.provider => {
                    let old = next.provider();
                    // The old provider's host and example rates mean nothing for the new one.
                    if old.is_own_endpoint(&next.endpoint) {
                        next.endpoint = id.info().endpoint.unwrap_or_default().to_string();
                    }
                    if next.rates == RateTable::from_nanos(old.rates) {
                        next.rates = RateTable::from_nanos(id.info().rates);
                    }
                    if next.name == old.label && !id.info().label.is_empty() {
                        next.name = id.info().label.to_string();
                    }
                    next.provider = id;
                }
                Some(_) => {}
                None => field("provider", Err(FieldError::UnknownProvider)),
            }
        }
        if let Some(v) = present(input, "name") {
            field("name", check_name(&as_text(v)).map(|n| next.name = n));
        }
        if let Some(v) = present(input, "apiKey") {
            let key = as_text(v).trim().to_string();
            if !key.is_empty() {
                let format = next.provider().key;
                field(
                    "apiKey",
                    check_key(&key, format).map(|_| next.api_key = key),
                );
            }
        }
        if let Some(v) = present(input, "threshold") {
            field(
                "threshold",
                parse_amount(v, Money::ZERO, MAX_THRESHOLD).map(|m| next.threshold = m),
            );
        }
        if let Some((name, secs)) = parse_interval(input) {
            field(name, secs.map(|s| next.interval_seconds = s));
        }
        if let Some(v) = present(input, "endpoint") {
            let typed = as_text(v);
            let result = match next.provider().endpoint {
                // Empty means the provider's own host.
                Some(own) if typed.trim().is_empty() => Ok(own.to_string()),
                None if typed.trim().is_empty() => Err(FieldError::EndpointMissing),
                _ => normalize_endpoint(&typed).map_err(|_| FieldError::BadEndpoint),
            };
            field("endpoint", result.map(|e| next.endpoint = e));
        }
        if let Some(rates) = input.get("rates").and_then(Value::as_object) {
            for kind in CaptchaType::all() {
                let Some(v) = rates.get(kind.as_str()).filter(|v| !v.is_null()) else {
                    continue;
                };
                if v.as_str().is_some_and(|t| t.trim().is_empty()) {
                    // A cleared field: no rate for this type.
                    next.rates.set(kind, None);
                } else {
                    field(
                        &format!("rates.{}", kind.as_str()),
                        parse_rate(v).map(|r| next.rates.set(kind, Some(r))),
                    );
                }
            }
        }
        if let Some(v) = present(input, "predictiveHours") {
            field(
                "predictiveHours",
                parse_whole(v, 1, MAX_PREDICTIVE_HOURS).map(|h| next.predictive_hours = h),
            );
        }
        for (name, slot) in [
            ("notifications", &mut next.notifications),
            ("showSolves", &mut next.show_solves),
            ("spikeAlerts", &mut next.spike_alerts),
            ("allowPlainHttp", &mut next.allow_plain_http),
        ] {
            if let Some(v) = present(input, name) {
                field(
                    name,
                    v.as_bool()
                        .map(|b| *slot = b)
                        .ok_or(FieldError::NotABoolean),
                );
            }
        }
        // A custom provider has no endpoint of its own.
        if errors.is_empty() && next.endpoint.is_empty() {
            errors.push(("endpoint".to_string(), FieldError::EndpointMissing));
        }
        // The key never crosses the network in clear text unless the user said so.
        if errors.is_empty() && next.sends_key_in_clear() {
            errors.push(("endpoint".to_string(), FieldError::PlainHttp));
        }
        // The key is needed unless a proxy endpoint adds it server-side.
        if errors.is_empty() && next.api_key.is_empty() && next.needs_key() {
            errors.push(("apiKey".to_string(), FieldError::KeyMissing));
        }
        // A key typed for another provider may not fit this one (the provider changed).
        if errors.is_empty() && !next.api_key.is_empty() {
            if let Err(e) = check_key(&next.api_key, next.provider().key) {
                errors.push(("apiKey".to_string(), e));
            }
        }
        if errors.is_empty() {
            Ok(next)
        } else {
            Err(errors)
        }
    }

    /// What [`Settings::from_stored`] had to reset in stored settings `value` to make `read`:
    /// each member that is there but could not be read (a threshold stored as an object, a
    /// key that is not a key of its provider's format, a price that is not one), named as the
    /// form names it (`threshold`, `apiKey`, `rates.image` …), with the value it has now in
    /// its stored form (`"1"`, `"true"`, a provider's id), or `None` when it is empty now;
    /// `settings` alone when `value` is not settings at all. Missing members are not reset:
    /// they take their defaults as they always did.
    pub fn reset_members(value: &Value, read: &Settings) -> Vec<(String, Option<String>)> {
        let Some(members) = value.as_object() else {
            return if value.is_null() {
                Vec::new()
            } else {
                vec![("settings".to_string(), None)]
            };
        };
        let shown = |name: &str| -> Option<String> {
            let text = match name {
                "name" => read.name.clone(),
                "provider" => read.provider.as_str().to_string(),
                "threshold" => read.threshold.decimal_text(),
                "intervalSeconds" => read.interval_seconds.to_string(),
                "endpoint" => read.endpoint.clone(),
                "notifications" => read.notifications.to_string(),
                "showSolves" => read.show_solves.to_string(),
                "predictiveHours" => read.predictive_hours.to_string(),
                "spikeAlerts" => read.spike_alerts.to_string(),
                "allowPlainHttp" => read.allow_plain_http.to_string(),
                _ => String::new(),
            };
            (!text.is_empty()).then_some(text)
        };
        let mut reset: Vec<(String, Option<String>)> = stored::unreadable::<Settings>(value)
            .into_iter()
            // No key is no key (a server adds it), not a key that could not be read.
            .filter(|name| name != "apiKey" || members.get("apiKey") != Some(&Value::from("")))
            .map(|name| {
                let now = match name.as_str() {
                    // Never the key itself (a key that was not readable is empty now anyway).
                    "apiKey" => None,
                    // The provider's example prices, if it has any.
                    "rates" => (read.rates.iter().next().is_some()).then(|| "examples".into()),
                    _ => shown(&name),
                };
                (name, now)
            })
            .collect();
        // A key of another format than the provider's is cleared (it could never be sent).
        let key_cleared = members
            .get("apiKey")
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty())
            && read.api_key.is_empty();
        if key_cleared && reset.iter().all(|(name, _)| name != "apiKey") {
            reset.push(("apiKey".to_string(), None));
        }
        // Each price on its own: one that is not a price takes the provider's example, or none.
        if let Some(Value::Object(rates)) = members.get("rates") {
            for (name, rate) in rates {
                let Some(kind) = CaptchaType::from_name(name) else {
                    continue;
                };
                if Money::deserialize(rate)
                    .ok()
                    .filter(crate::costs::is_rate)
                    .is_none()
                {
                    let now = read.rates.rate(kind).map(Money::decimal_text);
                    reset.push((format!("rates.{name}"), now));
                }
            }
        }
        reset
    }

    /// Reads stored settings member by member (`stored::read`); anything that is not an
    /// object reads as the defaults. What depends on the provider is settled once it is
    /// known: a missing name, endpoint or rate table is the provider's, a key of another
    /// format is dropped.
    pub fn from_stored(value: &Value) -> Settings {
        let mut settings: Settings = stored::read(value);
        let provider = settings.provider();
        // What could not be read is as if it were not stored: the provider's, not CaptchaAI's
        // (an Anti-Captcha key must never go to CaptchaAI's host for want of an endpoint).
        let unreadable = stored::unreadable::<Settings>(value);
        let stored =
            |name: &str| present(value, name).filter(|_| !unreadable.iter().any(|u| u == name));
        // Earlier builds (and a hand-written configuration) name no provider: CaptchaAI, and
        // its own name and rates where none were stored.
        if stored("name").is_none() && !provider.label.is_empty() {
            settings.name = provider.label.to_string();
        }
        let defaults = RateTable::from_nanos(provider.rates);
        let stored_rates = stored("rates");
        for kind in CaptchaType::all() {
            // None stored: the provider's default. One stored but unreadable: the default too,
            // rather than no rate (only a cleared field stores none).
            let member = stored_rates.and_then(|r| r.get(kind.as_str()));
            if stored_rates.is_none() || member.is_some() && settings.rates.rate(kind).is_none() {
                settings.rates.set(kind, defaults.rate(kind));
            }
        }
        if stored("endpoint").is_none() {
            settings.endpoint = provider.endpoint.unwrap_or_default().to_string();
        }
        if check_key(&settings.api_key, provider.key).is_err() {
            settings.api_key.clear();
        }
        // A hand-written configuration may give the interval in minutes only; earlier builds
        // also wrote `intervalMinutes` beside the seconds (read here, never written back).
        if present(value, "intervalSeconds").is_none() {
            if let Some((_, Ok(seconds))) = parse_interval(value) {
                settings.interval_seconds = seconds;
            }
        }
        settings.extra.remove("intervalMinutes");
        settings
    }
}

/// FNV-1a over the parts (separated by NUL), top 32 bits as 8 hex digits: stable across builds,
/// and too short to recover a key from.
pub(crate) fn short_hash(parts: &[&str]) -> String {
    const FNV_PRIME: u64 = 0x0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        // The NUL separator (xor 0 changes nothing, so only its multiply), then the bytes: a
        // `chain` of the two measured bigger.
        if i > 0 {
            hash = hash.wrapping_mul(FNV_PRIME);
        }
        for &b in part.as_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(8);
    for i in (0..8).rev() {
        out.push(char::from(HEX[((hash >> (32 + 4 * i)) & 15) as usize]));
    }
    out
}

/// How an endpoint is compared (never shown or requested): lower case (as before hosts were
/// compared at all), `localhost` as `127.0.0.1`, the scheme's default port dropped, no
/// trailing slash.
pub fn canonical_endpoint(endpoint: &str) -> String {
    let lower = endpoint.trim().trim_end_matches('/').to_ascii_lowercase();
    let parts = UrlParts::of(&lower);
    let (host, port) = parts.host_and_port();
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    let port = match (parts.scheme, port) {
        ("http://", ":80") | ("https://", ":443") => "",
        _ => port,
    };
    format!("{}{host}{port}{}", parts.scheme, parts.path)
}

/// True for a plain `http://` endpoint on a host other than loopback.
pub fn is_plain_http_off_loopback(endpoint: &str) -> bool {
    let lower = endpoint.trim().to_ascii_lowercase();
    let parts = UrlParts::of(&lower);
    parts.scheme == "http://" && !is_loopback_host(parts.host_and_port().0)
}

/// The member `name` of a form or stored object, unless it is missing or `null`.
fn present<'a>(input: &'a Value, name: &str) -> Option<&'a Value> {
    input.get(name).filter(|v| !v.is_null())
}

/// A form field's text: a string as typed, or a number's digits.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn parse_amount(v: &Value, min: Money, max: Money) -> Result<Money, FieldError> {
    let text = as_text(v);
    // People type "1,50" in Indonesian; a comma as the only separator is a decimal comma.
    let text = if text.contains(',') && !text.contains('.') {
        text.replace(',', ".")
    } else {
        text
    };
    let amount = Money::parse(&text).map_err(|_| FieldError::NotAnAmount)?;
    if amount < min || amount > max {
        return Err(FieldError::AmountRange(min, max));
    }
    Ok(amount)
}

/// The interval from `intervalSeconds` or, for forms that ask in minutes, `intervalMinutes`:
/// the field it came from and its value in seconds.
fn parse_interval(input: &Value) -> Option<(&'static str, Result<u32, FieldError>)> {
    if let Some(v) = present(input, "intervalSeconds") {
        Some((
            "intervalSeconds",
            parse_whole(v, MIN_INTERVAL_SECS, MAX_INTERVAL_SECS),
        ))
    } else {
        present(input, "intervalMinutes").map(|v| {
            let minutes = parse_whole(v, MIN_INTERVAL_SECS / 60, MAX_INTERVAL_SECS / 60);
            ("intervalMinutes", minutes.map(|m| m * 60))
        })
    }
}

/// A per-solve price: above zero, at most [`MAX_RATE`].
fn parse_rate(v: &Value) -> Result<Money, FieldError> {
    parse_amount(v, Money::from_nanos(1), MAX_RATE).map_err(|e| match e {
        FieldError::AmountRange(..) => FieldError::PriceRange(MAX_RATE),
        other => other,
    })
}

fn parse_whole(v: &Value, min: u32, max: u32) -> Result<u32, FieldError> {
    let n: i64 = as_text(v)
        .trim()
        .parse()
        .map_err(|_| FieldError::NotAWholeNumber)?;
    if n < i64::from(min) || n > i64::from(max) {
        return Err(FieldError::NumberRange(min, max));
    }
    Ok(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const KEY: &str = "0123456789abcdef0123456789ABCDEF";

    fn j(v: Value) -> Value {
        v
    }

    fn apply(input: Value) -> Result<Settings, Vec<(String, FieldError)>> {
        Settings::default().apply(&j(input))
    }

    #[test]
    #[rustfmt::skip]
    fn short_hashes_are_stable_fnv_1a() {
        // Stored ids depend on these: FNV-1a 64 over the parts joined by NUL, top 32 bits.
        let cases: [(&[&str], &str); 4] = [
            (&["key", "0123456789abcdef0123456789abcdef"], "4c3a3589"),
            (&[],                                           "cbf29ce4"),
            (&[""],                                         "cbf29ce4"),
            (&["a", "", "b"],                               "ac7fed82"),
        ];
        for (parts, want) in cases {
            assert_eq!(short_hash(parts), want, "{parts:?}");
        }
    }

    #[test]
    fn short_hashes_are_eight_hex_digits_as_before() {
        // The ids are stored: the hand-written hex must equal what `{:08x}` wrote.
        let fnv = |text: &str| {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for b in text.bytes() {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            format!("{:08x}", (hash >> 32) as u32)
        };
        let mut leading_zero = false;
        for i in 0..2_000 {
            let part = i.to_string();
            let id = short_hash(&["x", &part]);
            assert_eq!(id, fnv(&format!("x\0{part}")), "{part}");
            leading_zero |= id.starts_with('0');
        }
        assert!(leading_zero);
    }

    #[test]
    fn masks_keys() {
        assert_eq!(mask_key(KEY), "0123…CDEF");
        assert_eq!(mask_key(""), "");
        assert_eq!(mask_key("short"), "…(5 chars)");
        assert_eq!(mask_key(" ééééééééééééééé "), "…(15 chars)");
        assert_eq!(
            mask_key("short-token-1234"),
            "…1234",
            "never half of a short key"
        );
        assert_eq!(
            mask_key("CAP-0123456789ABCDEF0123456789ABCDEF"),
            "CAP-…CDEF"
        );
    }

    #[test]
    fn accepts_a_full_form() {
        let s = apply(json!({"apiKey": format!(" {KEY} "), "threshold": "2,50", "intervalMinutes": "5",
            "endpoint": "http://127.0.0.1:9/", "rates": {"image": "0.0008"}, "notifications": false}))
        .unwrap();
        assert_eq!(s.api_key, KEY);
        assert_eq!(s.threshold, Money::parse("2.5").unwrap());
        assert_eq!(s.interval_seconds, 300);
        assert_eq!(s.endpoint, "http://127.0.0.1:9");
        assert_eq!(
            s.rates.rate(CaptchaType::Image),
            Money::parse("0.0008").ok()
        );
        assert!(!s.notifications);
        let json =
            serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(json.get("intervalSeconds"), Some(&Value::from(300)));
        assert_eq!(
            json.get("intervalMinutes"),
            None,
            "minutes are the form's unit only"
        );
        assert_eq!(json.get("threshold"), Some(&Value::from("2.5")));
    }

    #[test]
    fn reports_every_bad_field_and_changes_nothing() {
        type Case = (Value, Vec<(&'static str, FieldError)>);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            (json!({"apiKey": "abc"}),                                 vec![("apiKey", FieldError::KeyLength(3))]),
            (json!({"apiKey": "g123456789abcdef0123456789abcdef"}),    vec![("apiKey", FieldError::KeyCharacters)]),
            (json!({"threshold": "lots"}),                             vec![("threshold", FieldError::NotAnAmount)]),
            (json!({"apiKey": KEY, "threshold": "-1"}),                vec![("threshold", FieldError::AmountRange(Money::ZERO, MAX_THRESHOLD))]),
            (json!({"apiKey": KEY, "intervalMinutes": "0"}),           vec![("intervalMinutes", FieldError::NumberRange(1, 1440))]),
            (json!({"apiKey": KEY, "intervalMinutes": "2.5"}),         vec![("intervalMinutes", FieldError::NotAWholeNumber)]),
            (json!({"apiKey": KEY, "intervalSeconds": 30}),            vec![("intervalSeconds", FieldError::NumberRange(60, 86400))]),
            (json!({"apiKey": KEY, "endpoint": "ocr.captchaai.com"}),  vec![("endpoint", FieldError::BadEndpoint)]),
            (json!({"apiKey": KEY, "rates": {"image": "0"}}),          vec![("rates.image", FieldError::PriceRange(MAX_RATE))]),
            (json!({"apiKey": KEY, "notifications": "yes"}),           vec![("notifications", FieldError::NotABoolean)]),
            (json!({}),                                                vec![("apiKey", FieldError::KeyMissing)]),
            (json!({"apiKey": "x", "threshold": "y"}),                 vec![("apiKey", FieldError::KeyLength(1)), ("threshold", FieldError::NotAnAmount)]),
        ];
        for (input, want) in cases {
            let got = apply(input.clone()).unwrap_err();
            let want: Vec<(String, FieldError)> =
                want.into_iter().map(|(f, e)| (f.to_string(), e)).collect();
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn proxy_endpoint_needs_no_key_and_empty_key_keeps_stored() {
        let s = apply(json!({"endpoint": "http://localhost:8080"})).unwrap();
        assert!(s.api_key.is_empty() && s.can_request());
        let with_key = apply(json!({"apiKey": KEY})).unwrap();
        let again = with_key
            .apply(&j(json!({"apiKey": "", "threshold": "3"})))
            .unwrap();
        assert_eq!(again.api_key, KEY);
    }

    #[test]
    fn stored_settings_survive_bad_parts() {
        let s = Settings::from_stored(&j(
            json!({"apiKey": KEY, "threshold": "nonsense", "intervalMinutes": 3,
            "endpoint": 5, "rates": {"bls": "0.01"}, "notifications": false}),
        ));
        assert_eq!(s.api_key, KEY);
        assert_eq!(s.threshold, DEFAULT_LOW_THRESHOLD);
        assert_eq!(s.interval_seconds, 180);
        assert_eq!(s.endpoint, crate::protocol::DEFAULT_ENDPOINT);
        assert_eq!(s.rates.rate(CaptchaType::Bls), Money::parse("0.01").ok());
        assert!(!s.notifications);
        assert_eq!(
            Settings::from_stored(&j(json!("garbage"))),
            Settings::default()
        );
        let round = Settings::from_stored(
            &serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&s).unwrap())
                .unwrap(),
        );
        assert_eq!(round, s);
    }

    #[test]
    fn stored_rates_keep_good_overrides() {
        let s = Settings::from_stored(&j(json!({"rates":
            {"image":"0.0005","bls":"abc","turnstile":"-1","nope":"1","geetest":0.01,"other":"101"}})));
        let m = |t: &str| Money::parse(t).unwrap();
        assert_eq!(s.rates.rate(CaptchaType::Image), Some(m("0.0005")));
        assert_eq!(s.rates.rate(CaptchaType::Bls), Some(m("0.002")));
        assert_eq!(s.rates.rate(CaptchaType::Turnstile), Some(m("0.002")));
        assert_eq!(
            s.rates.rate(CaptchaType::Geetest),
            Some(m("0.003")),
            "a number is not a stored rate: the default"
        );
        assert_eq!(s.rates.rate(CaptchaType::Other), Some(m("0.003")));
        let back = Settings::from_stored(
            &serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&s).unwrap())
                .unwrap(),
        );
        assert_eq!(back.rates, s.rates);
    }

    #[test]
    #[rustfmt::skip]
    fn endpoints_compare_in_one_spelling() {
        let cases = [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://localhost:8080/", "http://127.0.0.1:8080"),
            ("HTTP://LocalHost:8080//", "http://127.0.0.1:8080"),
            ("https://OCR.CaptchaAI.com:443", "https://ocr.captchaai.com"),
            ("http://example.test:80/Proxy/", "http://example.test/proxy"),
            ("https://example.test:80", "https://example.test:80"),
        ];
        for (endpoint, want) in cases {
            assert_eq!(canonical_endpoint(endpoint), want, "{endpoint}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn identities() {
        let at = |key: &str, endpoint: &str| apply(json!({"apiKey": key, "endpoint": endpoint})).unwrap();
        let other = "ffffffffffffffffffffffffffffffff";
        let a = at(KEY, "http://localhost:8080");
        // (other settings, same account as `a`, same requester as `a`)
        let cases = [
            (at(KEY, "http://127.0.0.1:8080/"), true, true),
            (at(KEY, "HTTP://LOCALHOST:8080"), true, true),
            (at(KEY, "http://127.0.0.1:9090"), false, true),
            (at(other, "http://localhost:8080"), false, false),
            (at("", "http://localhost:8080"), false, false),
        ];
        for (b, account, requester) in cases {
            assert_eq!(a.account_id() == b.account_id(), account, "{}", b.endpoint);
            assert_eq!(a.requester_id() == b.requester_id(), requester, "{}", b.endpoint);
        }
        let proxy = at("", "http://localhost:8080");
        assert_eq!(proxy.requester_id(), at("", "http://127.0.0.1:8080/").requester_id());
        assert!(!a.requester_id().contains(&KEY[..4]) && a.requester_id().len() == 8);
    }

    #[test]
    fn unknown_fields_are_kept() {
        let stored = j(
            json!({"apiKey": KEY, "threshold": "2", "intervalMinutes": 3,
            "futureOption": {"a": [1, 2]}, "theme": "dark"}),
        );
        let s = Settings::from_stored(&stored);
        let back: Value = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back["futureOption"], json!({"a": [1, 2]}));
        assert_eq!(back["theme"], "dark");
        assert_eq!(
            back["intervalSeconds"], 180,
            "an interval in minutes is read"
        );
        assert_eq!(
            back.get("intervalMinutes"),
            None,
            "and written as seconds only"
        );
        let saved = s.apply(&j(json!({"threshold": "5"}))).unwrap();
        assert_eq!(saved.extra, s.extra, "a save keeps them");
    }

    #[test]
    fn plain_http_off_loopback_needs_the_users_consent() {
        let custom = |endpoint: &str, allow: Option<bool>| {
            let mut form = json!({"provider": "custom-2captcha", "apiKey": "ab&c+d#e/f=g-token", "endpoint": endpoint});
            if let Some(allow) = allow {
                form["allowPlainHttp"] = json!(allow);
            }
            apply(form)
        };
        #[rustfmt::skip]
        let cases = [
            ("http://proxy.lan:8080",  None,        Err(vec![("endpoint".to_string(), FieldError::PlainHttp)])),
            ("http://proxy.lan:8080",  Some(false), Err(vec![("endpoint".to_string(), FieldError::PlainHttp)])),
            ("http://proxy.lan:8080",  Some(true),  Ok(())),
            ("https://proxy.lan:8080", None,        Ok(())),
            ("http://127.0.0.1:8080",  None,        Ok(())),
            ("http://LOCALHOST:9",     None,        Ok(())),
            ("http://[::1]:9/x",       None,        Ok(())),
        ];
        for (endpoint, allow, want) in cases {
            assert_eq!(
                custom(endpoint, allow).map(|_| ()),
                want,
                "{endpoint} {allow:?}"
            );
        }
        // Stored by an earlier build, which allowed it: kept, but nothing is sent until the
        // user allows it or moves to https.
        let stored = Settings::from_stored(&json!({"provider": "custom-2captcha",
            "apiKey": "ab&c+d#e/f=g-token", "endpoint": "http://proxy.lan:8080"}));
        assert_eq!(stored.endpoint, "http://proxy.lan:8080");
        assert!(stored.sends_key_in_clear() && !stored.can_request());
        let allowed = stored.apply(&json!({"allowPlainHttp": true})).unwrap();
        assert!(allowed.can_request());
        let text = serde_json::to_value(&allowed).unwrap();
        assert_eq!(text["allowPlainHttp"], true);
        assert!(
            Settings::from_stored(&text).can_request(),
            "the consent is stored"
        );
    }

    #[test]
    fn account_id_changes_with_key_or_endpoint() {
        let a = apply(json!({"apiKey": KEY})).unwrap();
        let b = a
            .apply(&j(json!({"endpoint": "http://127.0.0.1:1"})))
            .unwrap();
        assert_ne!(a.account_id(), b.account_id());
        assert_eq!(a.account_id(), a.clone().account_id());
        assert!(!a.account_id().contains("0123"));
    }
}
