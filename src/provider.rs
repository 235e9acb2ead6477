//! The CAPTCHA services this monitor knows, as one table of data (docs/API.md, "Providers").
//!
//! A provider is a protocol family, a default endpoint, a key format, a politeness floor, an
//! add-funds page and default per-solve rates. Adding a service is one row; nothing else in the
//! code branches on a provider.

use crate::json::cat;
use crate::prelude::*;
use crate::wire_enum;

wire_enum! {
    /// How a service is asked for its balance.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Family {
        /// `GET {endpoint}/res.php?key=…&action=getbalance&json=1`.
        TwoCaptcha = "2captcha",
        /// `POST {endpoint}/getBalance` with `{"clientKey": KEY}`.
        CreateTask = "createtask",
    }
}

wire_enum! {
    /// A provider's stable id: stored, used by the widget's `provider` attribute and the
    /// server's `accounts.toml`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ProviderId {
        /// CaptchaAI.
        CaptchaAi = "captchaai",
        /// 2Captcha.
        TwoCaptcha = "2captcha",
        /// RuCaptcha.
        RuCaptcha = "rucaptcha",
        /// Anti-Captcha.
        AntiCaptcha = "anticaptcha",
        /// CapMonster Cloud.
        CapMonster = "capmonster",
        /// CapSolver.
        CapSolver = "capsolver",
        /// Any 2captcha-compatible endpoint (a self-hosted proxy, this project's server).
        Custom2Captcha = "custom-2captcha",
        /// Any createTask-compatible endpoint.
        CustomCreateTask = "custom-createtask",
    }
}

/// What a key must look like before it is sent (a malformed key sent repeatedly gets the IP
/// banned, so it is refused locally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// 32 hexadecimal characters (the 2captcha family, Anti-Captcha, CapMonster).
    Hex32,
    /// Printable ASCII without spaces, of a length in this range (CapSolver's `CAP-…` keys,
    /// custom endpoints whose key format is not known).
    Token {
        /// Shortest accepted.
        min: usize,
        /// Longest accepted.
        max: usize,
    },
}

/// One service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    /// Stable id.
    pub id: ProviderId,
    /// Name shown in the provider select (a brand, the same in every language; the two custom
    /// rows are labelled through the locale files instead, see [`Provider::label_key`]).
    pub label: &'static str,
    /// Protocol family.
    pub family: Family,
    /// The API host; `None` for the custom rows, which need an endpoint.
    pub endpoint: Option<&'static str>,
    /// Key format.
    pub key: KeyFormat,
    /// The shortest time between two balance requests for one key (ms).
    pub min_gap_ms: i64,
    /// Where to add funds, where known.
    pub add_funds: Option<&'static str>,
    /// Default USD per solve (nano-dollars, in `CaptchaType` order: recaptcha_v2, recaptcha_v3,
    /// turnstile, geetest, image, bls, other), where known.
    pub rates: Option<[i64; 7]>,
}

const HEX32: KeyFormat = KeyFormat::Hex32;
const TOKEN: KeyFormat = KeyFormat::Token { min: 16, max: 128 };
const MINUTE: i64 = 60_000;

/// CaptchaAI's published prices (docs/API.md, "Defaults").
const CAPTCHAAI_RATES: [i64; 7] = [
    3_000_000, 4_000_000, 2_000_000, 3_000_000, 1_000_000, 2_000_000, 3_000_000,
];

use Family as F;
use ProviderId as P;

/// Every provider, in the order the provider select lists them. Politeness floors: one balance
/// call a minute per key for every service, 30 s where a service documents its own limit
/// (Anti-Captcha: "not more than once every 30 seconds"); docs/API.md, "Politeness".
#[rustfmt::skip]
pub const PROVIDERS: [Provider; 8] = [
    Provider { id: P::CaptchaAi,        label: "CaptchaAI",        family: F::TwoCaptcha, endpoint: Some("https://ocr.captchaai.com"),     key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://captchaai.com/"),   rates: Some(CAPTCHAAI_RATES) },
    Provider { id: P::TwoCaptcha,       label: "2Captcha",         family: F::TwoCaptcha, endpoint: Some("https://2captcha.com"),          key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://2captcha.com/"),    rates: None },
    Provider { id: P::RuCaptcha,        label: "RuCaptcha",        family: F::TwoCaptcha, endpoint: Some("https://rucaptcha.com"),         key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://rucaptcha.com/"),   rates: None },
    Provider { id: P::AntiCaptcha,      label: "Anti-Captcha",     family: F::CreateTask, endpoint: Some("https://api.anti-captcha.com"),  key: HEX32, min_gap_ms: MINUTE / 2, add_funds: Some("https://anti-captcha.com/"), rates: None },
    Provider { id: P::CapMonster,       label: "CapMonster Cloud", family: F::CreateTask, endpoint: Some("https://api.capmonster.cloud"),  key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://capmonster.cloud/"), rates: None },
    Provider { id: P::CapSolver,        label: "CapSolver",        family: F::CreateTask, endpoint: Some("https://api.capsolver.com"),     key: TOKEN, min_gap_ms: MINUTE,     add_funds: Some("https://www.capsolver.com/"), rates: None },
    Provider { id: P::Custom2Captcha,   label: "",                 family: F::TwoCaptcha, endpoint: None,                                   key: TOKEN, min_gap_ms: MINUTE,     add_funds: None,                             rates: None },
    Provider { id: P::CustomCreateTask, label: "",                 family: F::CreateTask, endpoint: None,                                   key: TOKEN, min_gap_ms: MINUTE,     add_funds: None,                             rates: None },
];

impl ProviderId {
    /// The provider's row.
    pub fn info(self) -> &'static Provider {
        // The table lists the variants in declaration order, one row each (tested).
        &PROVIDERS[self as usize]
    }
}

impl Provider {
    /// Locale key of the name shown in lists (`provider_custom-2captcha` is not a valid
    /// message name, hence the underscores): brands are not translated, so only the custom
    /// rows have one; [`Provider::label`] is used for the others.
    pub fn label_key(&self) -> Option<&'static str> {
        match self.endpoint {
            None if self.family == Family::TwoCaptcha => Some("provider_custom_2captcha"),
            None => Some("provider_custom_createtask"),
            Some(_) => None,
        }
    }

    /// True for the rows without a default endpoint.
    pub fn is_custom(&self) -> bool {
        self.endpoint.is_none()
    }

    /// True when `endpoint` (normalised) is this provider's own API host: a key is then
    /// required (nothing in between adds one).
    pub fn is_own_endpoint(&self, endpoint: &str) -> bool {
        self.endpoint
            .is_some_and(|e| e.eq_ignore_ascii_case(endpoint))
    }
}

/// Every provider's API host, for the extension's host permissions (no prompt for them).
pub fn known_hosts() -> impl Iterator<Item = &'static str> {
    PROVIDERS.iter().filter_map(|p| p.endpoint)
}

/// Where a URL's authority starts (after `://`, if there is one) and ends (at the first `/`
/// after it, or the end): one byte scan for [`permission_origin`] and
/// `settings::canonical_endpoint`, which each had their own copy.
pub(crate) fn authority_bounds(url: &str) -> (Option<usize>, usize) {
    let bytes = url.as_bytes();
    let scheme_end = bytes.windows(3).position(|w| w == b"://").map(|i| i + 3);
    let start = scheme_end.unwrap_or(0);
    let end = bytes
        .iter()
        .skip(start)
        .position(|&b| b == b'/')
        .map_or(bytes.len(), |i| start + i);
    (scheme_end, end)
}

/// The origin pattern (`https://host:port/*`) the extension must be granted to reach a
/// normalised endpoint, or `None` when it needs no prompt: a known provider's API host or
/// loopback (both in the manifest's `host_permissions`).
pub fn permission_origin(endpoint: &str) -> Option<String> {
    let (scheme_end, end) = authority_bounds(endpoint);
    let start = scheme_end?;
    let origin = endpoint.get(..end)?.to_ascii_lowercase();
    let authority = origin.get(start..)?;
    let host = match authority.as_bytes().iter().rposition(|&b| b == b':') {
        // A port (not part of an IPv6 address in brackets).
        Some(i) if !authority.ends_with(']') => authority.get(..i)?,
        _ => authority,
    };
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let known = known_hosts().any(|k| k.eq_ignore_ascii_case(&origin));
    // Chrome's match patterns take no port: the host's pattern covers every port.
    let scheme = origin.get(..start)?;
    (!loopback && !known).then(|| cat(&[scheme, host, "/*"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_id_in_order() {
        assert_eq!(PROVIDERS.len(), ProviderId::ALL.len());
        for (row, id) in PROVIDERS.iter().zip(ProviderId::ALL) {
            assert_eq!(row.id, *id);
            assert_eq!(id.info().id, *id);
            assert_eq!(ProviderId::from_name(id.as_str()), Some(*id));
            // Either a brand label or a translated one, never both, never neither.
            assert_ne!(row.label.is_empty(), row.label_key().is_none(), "{id:?}");
            assert_eq!(row.is_custom(), row.endpoint.is_none());
        }
    }

    #[test]
    fn families_and_floors_are_data() {
        #[rustfmt::skip]
        let cases = [
            (ProviderId::CaptchaAi,        Family::TwoCaptcha, 60_000),
            (ProviderId::TwoCaptcha,       Family::TwoCaptcha, 60_000),
            (ProviderId::RuCaptcha,        Family::TwoCaptcha, 60_000),
            (ProviderId::AntiCaptcha,      Family::CreateTask, 30_000),
            (ProviderId::CapMonster,       Family::CreateTask, 60_000),
            (ProviderId::CapSolver,        Family::CreateTask, 60_000),
            (ProviderId::Custom2Captcha,   Family::TwoCaptcha, 60_000),
            (ProviderId::CustomCreateTask, Family::CreateTask, 60_000),
        ];
        for (id, family, gap) in cases {
            assert_eq!(id.info().family, family, "{id:?}");
            assert_eq!(id.info().min_gap_ms, gap, "{id:?}");
        }
        assert!(ProviderId::CaptchaAi
            .info()
            .is_own_endpoint("https://OCR.captchaai.com"));
        assert!(!ProviderId::CaptchaAi
            .info()
            .is_own_endpoint("http://127.0.0.1:8080"));
        assert_eq!(known_hosts().count(), 6);
    }

    #[test]
    fn custom_hosts_need_a_permission_known_ones_do_not() {
        #[rustfmt::skip]
        let cases = [
            ("https://ocr.captchaai.com",          None),
            ("https://api.anti-captcha.com",       None),
            ("http://127.0.0.1:9000/proxy",        None),
            ("http://localhost:8080",              None),
            ("http://[::1]:8080",                  None),
            ("https://proxy.example.com:8443/cab", Some("https://proxy.example.com/*")),
            ("http://Balance.Internal",            Some("http://balance.internal/*")),
            ("https://ocr.captchaai.com.evil.io",  Some("https://ocr.captchaai.com.evil.io/*")),
        ];
        for (endpoint, want) in cases {
            assert_eq!(permission_origin(endpoint).as_deref(), want, "{endpoint}");
        }
    }
}
