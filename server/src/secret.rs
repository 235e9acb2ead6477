//! An API key, wrapped so it cannot be printed by accident.
//!
//! `ApiKey` has no `Display`, and its `Debug` shows only the masked form, so a stray `{:?}` in a
//! log line or an error cannot leak it. The only way to the real text is [`ApiKey::expose`],
//! used in exactly one place: building the upstream URL (upstream/proxy.rs).

use captchaai_balance::provider::KeyFormat;
use captchaai_balance::settings::{check_key, mask_key, FieldError, KEY_LEN};
use std::fmt;
use std::sync::Arc;

/// A validated API key.
#[derive(Clone)]
pub struct ApiKey(Arc<str>);

/// Why `CAPTCHAAI_API_KEY` was refused (the message never contains the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

impl ApiKey {
    /// Checks the key locally (32 hex characters, like the core's settings check) before it is
    /// ever sent: CaptchaAI bans an IP that keeps sending bad keys. For `CAPTCHAAI_API_KEY`.
    pub fn new(key: &str) -> Result<ApiKey, KeyError> {
        ApiKey::for_format(key, KeyFormat::Hex32)
            .map_err(|KeyError(why)| KeyError(format!("CAPTCHAAI_API_KEY {why}")))
    }

    /// Checks the key against a provider's key format (the provider table's `key`). The error
    /// says what is wrong ("must be …") and never quotes the key.
    pub fn for_format(key: &str, format: KeyFormat) -> Result<ApiKey, KeyError> {
        let key = key.trim();
        // The core's check, so the server and the extension accept the same keys.
        match check_key(key, format) {
            Ok(()) => Ok(ApiKey(Arc::from(key))),
            Err(FieldError::KeyLength(n)) => Err(KeyError(format!(
                "must be {KEY_LEN} characters, it has {n}"
            ))),
            Err(FieldError::KeyToken(min, max)) => Err(KeyError(format!(
                "must be {min} to {max} printable characters without spaces, it has {}",
                key.chars().count()
            ))),
            Err(_) => Err(KeyError("must be hexadecimal (0-9, a-f)".into())),
        }
    }

    /// The real key. Only for the upstream request; never format or log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `abcd…wxyz`: safe to print.
    pub fn masked(&self) -> String {
        mask_key(&self.0)
    }

    /// `text` with every occurrence of the key, in any letter case, replaced by its masked
    /// form. Applied to decoded text (a JSON string's escapes already resolved), so neither
    /// `\u0030…` nor `A1B2…` can carry the key past it.
    pub fn scrub(&self, text: &str) -> String {
        let key = self.0.as_bytes();
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while i + key.len() <= bytes.len() {
            if bytes[i..i + key.len()].eq_ignore_ascii_case(key) {
                // The key is ASCII, so both ends of a match are character boundaries.
                out.push_str(&text[copied..i]);
                out.push_str(&self.masked());
                i += key.len();
                copied = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&text[copied..]);
        out
    }

    /// True when `bytes` hold the key in any letter case.
    pub fn appears_in(&self, bytes: &[u8]) -> bool {
        let key = self.0.as_bytes();
        bytes
            .windows(key.len())
            .any(|w| w.eq_ignore_ascii_case(key))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn debug_and_errors_never_show_the_key() {
        let key = ApiKey::new(&format!("  {KEY}\n")).expect("valid key");
        assert_eq!(key.expose(), KEY);
        let debug = format!("{key:?}");
        assert!(!debug.contains(KEY), "{debug}");
        assert!(debug.contains("0123…cdef"), "{debug}");
        let err = ApiKey::new("zz23456789abcdef0123456789abcdef").expect_err("not hex");
        assert!(!err.to_string().contains("zz23"));
        assert_eq!(
            key.scrub("a 0123456789ABCDEF0123456789abcdef b 0123456789abcdef0123456789abcdef é"),
            "a 0123…cdef b 0123…cdef é"
        );
        assert!(key.appears_in(b"x0123456789abcdef0123456789ABCDEFx"));
        assert!(!key.appears_in(b"0123456789abcdef0123456789abcde"));
        assert_eq!(
            ApiKey::new("abc").expect_err("short").to_string(),
            "CAPTCHAAI_API_KEY must be 32 characters, it has 3"
        );
    }

    #[test]
    fn each_key_format_is_checked_without_quoting_the_key() {
        let token = KeyFormat::Token { min: 16, max: 128 };
        #[rustfmt::skip]
        let cases: &[(&str, KeyFormat, Result<(), &str>)] = &[
            (KEY,                                   KeyFormat::Hex32, Ok(())),
            ("0123456789abcdef0123456789abcdeX",    KeyFormat::Hex32, Err("must be hexadecimal (0-9, a-f)")),
            ("0123456789abcdef",                    KeyFormat::Hex32, Err("must be 32 characters, it has 16")),
            ("CAP-0123456789ABCDEF0123456789ABCDEF", token,           Ok(())),
            ("CAP-0123456789",                      token,           Err("must be 16 to 128 printable characters without spaces, it has 14")),
            ("CAP-0123456789 ABCDEF",               token,           Err("must be 16 to 128 printable characters without spaces, it has 21")),
            ("CAP-0123456789\u{e9}ABCDEF",           token,           Err("must be 16 to 128 printable characters without spaces, it has 21")),
        ];
        for (key, format, want) in cases {
            let got = ApiKey::for_format(key, *format)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{key}");
        }
    }
}
