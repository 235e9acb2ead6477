//! The CAPTCHA services this monitor knows, as one table of data (docs/API.md, "Providers").
//!
//! A provider is a protocol family, a default endpoint, a key format, a politeness floor, an
//! add-funds page and default per-solve rates. Adding a service is one row; nothing else in the
//! code branches on a provider.

use serde::{Deserialize, Serialize};

/// How a service is asked for its balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub enum Family {
    /// `GET {endpoint}/res.php?key=…&action=getbalance&json=1`.
    #[serde(rename = "2captcha")]
    TwoCaptcha,
    /// `POST {endpoint}/getBalance` with `{"clientKey": KEY}`.
    #[serde(rename = "createtask")]
    CreateTask,
}

impl Family {
    /// The stable name (its serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::TwoCaptcha => "2captcha",
            Family::CreateTask => "createtask",
        }
    }
}

/// A provider's stable id: stored, used by the widget's `provider` attribute and the server's
/// `accounts.toml`. Its serialized form is the table's `name` (tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
pub enum ProviderId {
    /// CaptchaAI.
    #[serde(rename = "captchaai")]
    CaptchaAi,
    /// 2Captcha.
    #[serde(rename = "2captcha")]
    TwoCaptcha,
    /// RuCaptcha.
    #[serde(rename = "rucaptcha")]
    RuCaptcha,
    /// Anti-Captcha.
    #[serde(rename = "anticaptcha")]
    AntiCaptcha,
    /// CapMonster Cloud.
    #[serde(rename = "capmonster")]
    CapMonster,
    /// CapSolver.
    #[serde(rename = "capsolver")]
    CapSolver,
    /// Any 2captcha-compatible endpoint (a self-hosted proxy, this project's server).
    #[serde(rename = "custom-2captcha")]
    Custom2Captcha,
    /// Any createTask-compatible endpoint.
    #[serde(rename = "custom-createtask")]
    CustomCreateTask,
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
    /// The id's stable name (`captchaai`, `custom-2captcha` …).
    pub name: &'static str,
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
    /// Sells plans by concurrent threads: a check also reads `threadsinfo` (src/threads.rs).
    pub threads: bool,
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
    Provider { id: P::CaptchaAi,        name: "captchaai",         label: "CaptchaAI",        family: F::TwoCaptcha, endpoint: Some("https://ocr.captchaai.com"),     key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://captchaai.com/"),   rates: Some(CAPTCHAAI_RATES), threads: true },
    Provider { id: P::TwoCaptcha,       name: "2captcha",          label: "2Captcha",         family: F::TwoCaptcha, endpoint: Some("https://2captcha.com"),          key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://2captcha.com/"),    rates: None, threads: false },
    Provider { id: P::RuCaptcha,        name: "rucaptcha",         label: "RuCaptcha",        family: F::TwoCaptcha, endpoint: Some("https://rucaptcha.com"),         key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://rucaptcha.com/"),   rates: None, threads: false },
    Provider { id: P::AntiCaptcha,      name: "anticaptcha",       label: "Anti-Captcha",     family: F::CreateTask, endpoint: Some("https://api.anti-captcha.com"),  key: HEX32, min_gap_ms: MINUTE / 2, add_funds: Some("https://anti-captcha.com/"), rates: None, threads: false },
    Provider { id: P::CapMonster,       name: "capmonster",        label: "CapMonster Cloud", family: F::CreateTask, endpoint: Some("https://api.capmonster.cloud"),  key: HEX32, min_gap_ms: MINUTE,     add_funds: Some("https://capmonster.cloud/"), rates: None, threads: false },
    Provider { id: P::CapSolver,        name: "capsolver",         label: "CapSolver",        family: F::CreateTask, endpoint: Some("https://api.capsolver.com"),     key: TOKEN, min_gap_ms: MINUTE,     add_funds: Some("https://www.capsolver.com/"), rates: None, threads: false },
    Provider { id: P::Custom2Captcha,   name: "custom-2captcha",   label: "",                 family: F::TwoCaptcha, endpoint: None,                                   key: TOKEN, min_gap_ms: MINUTE,     add_funds: None,                             rates: None, threads: false },
    Provider { id: P::CustomCreateTask, name: "custom-createtask", label: "",                 family: F::CreateTask, endpoint: None,                                   key: TOKEN, min_gap_ms: MINUTE,     add_funds: None,                             rates: None, threads: false },
];

impl ProviderId {
    /// Every id, in the table's order.
    pub const ALL: [ProviderId; 8] = [
        P::CaptchaAi,
        P::TwoCaptcha,
        P::RuCaptcha,
        P::AntiCaptcha,
        P::CapMonster,
        P::CapSolver,
        P::Custom2Captcha,
        P::CustomCreateTask,
    ];

    /// The provider's row.
    pub fn info(self) -> &'static Provider {
        // The table lists the variants in declaration order, one row each (tested).
        &PROVIDERS[self as usize]
    }

    /// The stable name (`captchaai` …).
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// The id with this stable name.
    pub fn from_name(name: &str) -> Option<ProviderId> {
        PROVIDERS.iter().find(|p| p.name == name).map(|p| p.id)
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

/// An endpoint cut into its parts: `https://`, `host:port` and the path (`/cab`, or empty).
pub(crate) struct UrlParts<'a> {
    /// The scheme with its `://`, empty when there is none.
    pub scheme: &'a str,
    /// Host and port.
    pub authority: &'a str,
    /// Everything from the first `/` after the authority.
    pub path: &'a str,
}

impl<'a> UrlParts<'a> {
    /// The parts of `url`.
    pub fn of(url: &'a str) -> UrlParts<'a> {
        let (scheme, rest) = match url.find("://") {
            Some(i) => url.split_at(i + 3),
            None => ("", url),
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        UrlParts {
            scheme,
            authority,
            path,
        }
    }

    /// The host and the port with its `:` (empty when none). An IPv6 address in brackets
    /// keeps its colons.
    pub fn host_and_port(&self) -> (&'a str, &'a str) {
        match self.authority.rfind(':') {
            Some(i) if !self.authority.ends_with(']') => self.authority.split_at(i),
            _ => (self.authority, ""),
        }
    }
}

/// True for a loopback host (`localhost`, `127.0.0.1`, `[::1]`, any letter case).
pub fn is_loopback_host(host: &str) -> bool {
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
}

/// The origin pattern (`https://host/*`) the extension must be granted to reach a normalised
/// endpoint, or `None` when it needs no prompt: a known provider's API host or loopback (both
/// in the manifest's `host_permissions`).
pub fn permission_origin(endpoint: &str) -> Option<String> {
    let lower = endpoint.to_ascii_lowercase();
    let parts = UrlParts::of(&lower);
    if parts.scheme.is_empty() {
        return None;
    }
    let (host, _) = parts.host_and_port();
    let origin = &lower[..parts.scheme.len() + parts.authority.len()];
    let known = known_hosts().any(|k| k.eq_ignore_ascii_case(origin));
    // Chrome's match patterns take no port: the host's pattern covers every port.
    (!is_loopback_host(host) && !known).then(|| format!("{}{host}/*", parts.scheme))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_id_in_order() {
        assert_eq!(PROVIDERS.len(), ProviderId::ALL.len());
        for (row, id) in PROVIDERS.iter().zip(ProviderId::ALL) {
            assert_eq!(row.id, id);
            assert_eq!(id.info().id, id);
            assert_eq!(ProviderId::from_name(id.as_str()), Some(id));
            assert_eq!(
                serde_json::to_value(id).unwrap(),
                id.as_str(),
                "serde's name"
            );
            let family = id.info().family;
            assert_eq!(serde_json::to_value(family).unwrap(), family.as_str());
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
