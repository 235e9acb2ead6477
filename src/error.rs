//! Everything that can go wrong with a balance check, as one table.
//!
//! Each [`ErrorCode`] is a stable snake_case code (stored, sent to JS, used in metrics) with the
//! API texts that map to it, its kind, what the monitor must do next (retry policy) and the
//! locale keys of its cause and fix sentences (docs/API.md: "Error codes" and the
//! troubleshooting list under "Defaults").

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A stable error code. Its serialized name is the table's `name` (a test keeps the two equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// ERROR_WRONG_USER_KEY: the key is malformed.
    WrongKey,
    /// ERROR_KEY_DOES_NOT_EXIST: unknown key or no active plan.
    KeyNotFound,
    /// ERROR_ZERO_BALANCE: no funds (or no free threads).
    ZeroBalance,
    /// IP_BANNED and friends: too many bad requests from this IP.
    IpBanned,
    /// ERROR_IP_NOT_ALLOWED: the key is restricted to other IPs.
    IpNotAllowed,
    /// ERROR_TOO_MUCH_REQUESTS or HTTP 429.
    RateLimited,
    /// ERROR_SERVER_ERROR, 5xx, an HTML error page.
    ServerError,
    /// The request never got an answer (offline, DNS, CORS, refused).
    Network,
    /// No answer within the time limit.
    Timeout,
    /// An answer that is not a balance nor a known error (truncated JSON, "abc", NaN …).
    Malformed,
    /// A well-formed error code this monitor does not know.
    Unknown,
    /// The key failed the local check (not 32 hex characters): never sent.
    InvalidKey,
    /// ERROR_NO_SUCH_ACCOUNT: a captchaai-balance-server has no account of that name.
    NoSuchAccount,
    /// The browser has not granted the extension access to the endpoint's host (refused at
    /// Save, or taken back later): never sent. The detail names the origin to grant.
    PermissionMissing,
    /// ERROR_NO_SLOT_AVAILABLE: every thread of a thread plan is busy (src/threads.rs).
    NoSlotAvailable,
}

/// What sort of problem an error is, for grouping in the UI and in alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The key or its permissions are wrong: the user must act.
    KeyProblem,
    /// The account has no money.
    EmptyAccount,
    /// This IP is banned for a while.
    Banned,
    /// Too many requests.
    RateLimited,
    /// The server or network failed; the last good balance still stands.
    Transient,
    /// An answer nobody documented.
    Unknown,
    /// A thread plan has no free thread: the money is not the problem.
    Capacity,
}

/// What the scheduler does after an error of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Keep the normal interval.
    Normal,
    /// Retry sooner than the interval, doubling from `base_secs` (the API docs: wait ≥ 5 s).
    RetryWithBackoff {
        /// First delay.
        base_secs: u32,
    },
    /// Wait at least `min_secs`, doubling on repeats.
    BackOff {
        /// First delay.
        min_secs: u32,
    },
    /// Never poll again with these settings: a rejected key stays rejected and repeating it
    /// gets the IP banned.
    StopUntilSettingsChange,
}

struct ErrorInfo {
    code: ErrorCode,
    name: &'static str,
    /// API texts that mean this code; the first is the canonical one.
    api_codes: &'static [&'static str],
    kind: ErrorKind,
    retry: RetryPolicy,
}

use ErrorCode as C;
use ErrorKind as K;
use RetryPolicy as R;

const TRANSIENT: RetryPolicy = R::RetryWithBackoff { base_secs: 5 };

#[rustfmt::skip]
const ERRORS: &[ErrorInfo] = &[
    ErrorInfo { code: C::WrongKey, name: "wrong_key", api_codes: &["ERROR_WRONG_USER_KEY"], kind: K::KeyProblem, retry: R::StopUntilSettingsChange },
    ErrorInfo { code: C::KeyNotFound, name: "key_not_found", api_codes: &["ERROR_KEY_DOES_NOT_EXIST", "ERROR_KEY_DENIED_ACCESS"], kind: K::KeyProblem, retry: R::StopUntilSettingsChange },
    ErrorInfo { code: C::ZeroBalance, name: "zero_balance", api_codes: &["ERROR_ZERO_BALANCE"], kind: K::EmptyAccount, retry: R::Normal },
    ErrorInfo { code: C::IpBanned, name: "ip_banned", api_codes: &["ERROR_IP_BANNED", "IP_BANNED", "ERROR_IP_BLOCKED"], kind: K::Banned, retry: R::BackOff { min_secs: 300 } },
    ErrorInfo { code: C::IpNotAllowed, name: "ip_not_allowed", api_codes: &["ERROR_IP_NOT_ALLOWED"], kind: K::KeyProblem, retry: R::StopUntilSettingsChange },
    ErrorInfo { code: C::RateLimited, name: "rate_limited", api_codes: &["ERROR_TOO_MUCH_REQUESTS", "ERROR_RATE_LIMIT", "ERROR_KEY_TEMP_BLOCKED"], kind: K::RateLimited, retry: R::BackOff { min_secs: 120 } },
    ErrorInfo { code: C::ServerError, name: "server_error", api_codes: &["ERROR_SERVER_ERROR", "ERROR_INTERNAL_SERVER_ERROR", "ERROR_SERVICE_UNAVALIABLE", "ERROR_SERVICE_UNAVAILABLE"], kind: K::Transient, retry: TRANSIENT },
    ErrorInfo { code: C::Network, name: "network", api_codes: &[], kind: K::Transient, retry: TRANSIENT },
    ErrorInfo { code: C::Timeout, name: "timeout", api_codes: &[], kind: K::Transient, retry: TRANSIENT },
    ErrorInfo { code: C::Malformed, name: "malformed", api_codes: &[], kind: K::Transient, retry: TRANSIENT },
    ErrorInfo { code: C::Unknown, name: "unknown", api_codes: &[], kind: K::Unknown, retry: TRANSIENT },
    ErrorInfo { code: C::InvalidKey, name: "invalid_key", api_codes: &[], kind: K::KeyProblem, retry: R::StopUntilSettingsChange },
    ErrorInfo { code: C::NoSuchAccount, name: "no_such_account", api_codes: &["ERROR_NO_SUCH_ACCOUNT"], kind: K::KeyProblem, retry: R::StopUntilSettingsChange },
    ErrorInfo { code: C::PermissionMissing, name: "permission_missing", api_codes: &[], kind: K::KeyProblem, retry: R::StopUntilSettingsChange },
    ErrorInfo { code: C::NoSlotAvailable, name: "no_slot_available", api_codes: &["ERROR_NO_SLOT_AVAILABLE"], kind: K::Capacity, retry: R::Normal },
];

impl ErrorCode {
    /// Every code, in table order.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        ERRORS.iter().map(|e| e.code)
    }

    fn info(self) -> &'static ErrorInfo {
        // The table lists the variants in declaration order, one row each (tested).
        &ERRORS[self as usize]
    }

    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// The code with this stable name (`"wrong_key"` …).
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ERRORS.iter().find(|e| e.name == name).map(|e| e.code)
    }

    /// The code for an API error text such as `ERROR_ZERO_BALANCE`, if known.
    pub fn from_api(text: &str) -> Option<ErrorCode> {
        ERRORS
            .iter()
            .find(|e| e.api_codes.iter().any(|c| c.eq_ignore_ascii_case(text)))
            .map(|e| e.code)
    }

    /// The canonical 2captcha text for this code (what a proxy answers in `request`).
    /// Codes the API never sends map to `ERROR_SERVER_ERROR`, which every client treats as
    /// "try again later".
    pub fn api_code(self) -> &'static str {
        self.info()
            .api_codes
            .first()
            .copied()
            .unwrap_or("ERROR_SERVER_ERROR")
    }

    /// The kind of problem.
    pub fn kind(self) -> ErrorKind {
        self.info().kind
    }

    /// What to do next.
    pub fn retry_policy(self) -> RetryPolicy {
        self.info().retry
    }

    /// True when the failure was on the way to the account, not about it (an outage): the last
    /// good balance stands and the error is a warning. A key problem needs the user, so it is
    /// never a mere warning, although the monitor still shows the last balance out of date
    /// (`MonitorState::shown_balance`).
    pub fn keeps_last_balance(self) -> bool {
        matches!(
            self.kind(),
            K::Transient | K::RateLimited | K::Banned | K::Unknown | K::Capacity
        )
    }

    /// Locale key of the short title, e.g. `err_wrong_key`.
    pub fn title_key(self) -> String {
        format!("err_{}", self.as_str())
    }

    /// Locale key of the cause sentence.
    pub fn cause_key(self) -> String {
        format!("err_{}_cause", self.as_str())
    }

    /// Locale key of the fix sentence.
    pub fn fix_key(self) -> String {
        format!("err_{}_fix", self.as_str())
    }
}

/// One failed check: the code and a short, key-free description of what was seen
/// (the API's error text, `HTTP 502`, `timeout` …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify), tsify(missing_as_null))]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// A short, key-free description of what was seen (the API's error text, `HTTP 502`,
    /// `timeout` …), safe to show and to log. Cut to 80 characters when read.
    #[serde(default, deserialize_with = "short_detail_of")]
    pub detail: String,
    /// Members written by a newer build, kept and written back.
    #[serde(flatten)]
    #[cfg_attr(target_arch = "wasm32", tsify(type = "Record<string, unknown>"))]
    pub extra: Map<String, Value>,
}

/// A stored or passed-in description, cut ([`short_detail`]); anything but a string is an
/// empty one.
fn short_detail_of<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = Value::deserialize(deserializer)?;
    Ok(short_detail(text.as_str().unwrap_or_default()))
}

/// A description that came in from outside (storage, JS), cut to 80 characters: enough for
/// any API code or `HTTP 502`, too short for a page of markup.
pub fn short_detail(text: &str) -> String {
    text.chars().take(80).collect()
}

impl ApiError {
    /// The same error with every copy of `secret` in its detail, in any letter case, cut out
    /// (`…`): an API that echoes the key must never put it on screen, in a notification or in
    /// storage.
    pub fn without_secret(mut self, secret: &str) -> ApiError {
        let key = secret.as_bytes();
        if key.is_empty() || self.detail.len() < key.len() {
            return self;
        }
        let bytes = self.detail.as_bytes();
        let mut out = String::with_capacity(self.detail.len());
        let (mut copied, mut i) = (0, 0);
        while i + key.len() <= bytes.len() {
            if bytes[i..i + key.len()].eq_ignore_ascii_case(key) {
                // A match of valid UTF-8 in valid UTF-8 starts and ends on char boundaries.
                out.push_str(&self.detail[copied..i]);
                out.push('…');
                i += key.len();
                copied = i;
            } else {
                i += 1;
            }
        }
        if copied > 0 {
            out.push_str(&self.detail[copied..]);
            self.detail = out;
        }
        self
    }

    /// An error with its description.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: detail.into(),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_api_code_maps() {
        #[rustfmt::skip]
        let cases = [
            ("ERROR_WRONG_USER_KEY",        C::WrongKey),
            ("ERROR_KEY_DOES_NOT_EXIST",    C::KeyNotFound),
            ("ERROR_ZERO_BALANCE",          C::ZeroBalance),
            ("IP_BANNED",                   C::IpBanned),
            ("ERROR_IP_BANNED",             C::IpBanned),
            ("ERROR_IP_BLOCKED",            C::IpBanned),
            ("ERROR_IP_NOT_ALLOWED",        C::IpNotAllowed),
            ("ERROR_TOO_MUCH_REQUESTS",     C::RateLimited),
            ("ERROR_SERVER_ERROR",          C::ServerError),
            ("ERROR_INTERNAL_SERVER_ERROR", C::ServerError),
            ("error_zero_balance",          C::ZeroBalance),
            ("ERROR_NO_SLOT_AVAILABLE",     C::NoSlotAvailable),
        ];
        for (text, code) in cases {
            assert_eq!(ErrorCode::from_api(text), Some(code), "{text}");
        }
        assert_eq!(ErrorCode::from_api("ERROR_CAPTCHA_UNSOLVABLE"), None);
    }

    #[test]
    fn policies_follow_the_api_facts() {
        #[rustfmt::skip]
        let cases = [
            (C::WrongKey,     R::StopUntilSettingsChange),
            (C::KeyNotFound,  R::StopUntilSettingsChange),
            (C::IpNotAllowed, R::StopUntilSettingsChange),
            (C::InvalidKey,   R::StopUntilSettingsChange),
            (C::NoSuchAccount, R::StopUntilSettingsChange),
            (C::PermissionMissing, R::StopUntilSettingsChange),
            (C::ZeroBalance,  R::Normal),
            (C::NoSlotAvailable, R::Normal),
            (C::IpBanned,     R::BackOff { min_secs: 300 }),
            (C::RateLimited,  R::BackOff { min_secs: 120 }),
            (C::ServerError,  R::RetryWithBackoff { base_secs: 5 }),
            (C::Timeout,      R::RetryWithBackoff { base_secs: 5 }),
            (C::Network,      R::RetryWithBackoff { base_secs: 5 }),
            (C::Malformed,    R::RetryWithBackoff { base_secs: 5 }),
        ];
        for (code, policy) in cases {
            assert_eq!(code.retry_policy(), policy, "{code:?}");
        }
    }

    #[test]
    fn table_is_complete_and_names_round_trip() {
        let all: Vec<_> = ErrorCode::all().collect();
        assert_eq!(all.len(), 15);
        for (i, code) in all.iter().enumerate() {
            assert_eq!(
                *code as usize, i,
                "ERRORS row {i} is out of declaration order"
            );
        }
        for code in all {
            let error = ApiError::new(code, "x");
            let text = serde_json::to_string(&error).unwrap();
            assert_eq!(
                text,
                format!(r#"{{"code":"{}","detail":"x"}}"#, code.as_str())
            );
            assert_eq!(serde_json::from_str::<ApiError>(&text).unwrap(), error);
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
            assert!(code.api_code().starts_with("ERROR_"));
        }
        let long: ApiError = serde_json::from_value(
            serde_json::json!({"code": "malformed", "detail": "x".repeat(500)}),
        )
        .unwrap();
        assert_eq!(long.detail.len(), 80, "a passed-in description is cut");
        let none: ApiError =
            serde_json::from_value(serde_json::json!({"code": "timeout", "detail": null})).unwrap();
        assert_eq!(none.detail, "");
    }
}
