//! Secrets, wrapped so they cannot be printed by accident: an account's API key ([`ApiKey`])
//! and a token clients show this server ([`Token`], `--token-env`); and [`shown_url`], an
//! endpoint as it may be printed (its path may hold a token).
//!
//! `ApiKey` has no `Display`, and its `Debug` shows only the masked form, so a stray `{:?}` in a
//! log line or an error cannot leak it. The only way to the real text is [`ApiKey::expose`],
//! used in exactly one place: building the upstream URL (upstream/proxy.rs). A `Token` has no
//! way to its text at all: it can only be compared ([`Token::matches`], in constant time) and
//! scrubbed from a log line.

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
        replace_ignoring_case(text, &self.0, &self.masked())
    }

    /// True when `bytes` hold the key in any letter case.
    pub fn appears_in(&self, bytes: &[u8]) -> bool {
        appears_ignoring_case(bytes, &self.0)
    }
}

/// `text` with every occurrence of the ASCII `secret`, in any letter case, replaced.
fn replace_ignoring_case(text: &str, secret: &str, replacement: &str) -> String {
    let key = secret.as_bytes();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while !key.is_empty() && i + key.len() <= bytes.len() {
        if bytes[i..i + key.len()].eq_ignore_ascii_case(key) {
            // The secret is ASCII, so both ends of a match are character boundaries.
            out.push_str(&text[copied..i]);
            out.push_str(replacement);
            i += key.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn appears_ignoring_case(bytes: &[u8], secret: &str) -> bool {
    let key = secret.as_bytes();
    !key.is_empty()
        && bytes
            .windows(key.len())
            .any(|w| w.eq_ignore_ascii_case(key))
}

/// The shortest and longest token `--token-env` accepts (a custom provider's key has the same
/// bounds, so a token can stand in a client's key setting).
pub const TOKEN_LEN: (usize, usize) = (16, 128);

/// A bearer token of this server (`--token-env`): what a client shows to be let in. It has no
/// `Display`, its `Debug` shows nothing of it, and nothing gives its text back: it is compared
/// ([`Token::matches`]) and scrubbed from log lines ([`Token::scrub`]), nothing else.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    /// Checks a token read from the environment: 16 to 128 printable ASCII characters without
    /// spaces (`openssl rand -hex 16` gives 32 hex digits, which every client's key setting
    /// accepts). The error never quotes it.
    pub fn new(text: &str) -> Result<Token, KeyError> {
        let text = text.trim();
        let (min, max) = TOKEN_LEN;
        match check_key(text, KeyFormat::Token { min, max }) {
            Ok(()) => Ok(Token(Arc::from(text))),
            Err(_) => Err(KeyError(format!(
                "must be {min} to {max} printable characters without spaces, it has {}",
                text.chars().count()
            ))),
        }
    }

    /// True when `candidate` is this token. The bytes are compared in constant time (`subtle`),
    /// so the time taken says nothing of how much of a guess was right; only a difference in
    /// length ends early.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(candidate).into()
    }

    /// True when `candidate` is any of `tokens`: every token is compared (no early exit on a
    /// match either).
    pub fn any_matches(tokens: &[Token], candidate: &[u8]) -> bool {
        tokens
            .iter()
            .fold(false, |found, token| found | token.matches(candidate))
    }

    /// `text` with the token, in any letter case, replaced by `[token]` (the log's second line
    /// of defence; nothing logs a token).
    pub fn scrub(&self, text: &str) -> String {
        replace_ignoring_case(text, &self.0, "[token]")
    }

    /// True when `bytes` hold the token in any letter case.
    pub fn appears_in(&self, bytes: &[u8]) -> bool {
        appears_ignoring_case(bytes, &self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// An endpoint as the banner and the logs may show it: `scheme://host[:port]`, and its path
/// only when that is a provider's own (`/res.php`, `/getBalance`, or none). Any other path is
/// shown as `/…` (a proxy or a custom provider may put a token there, as in
/// `https://proxy.example/t/SECRET/`), keeping the protocol's file name at its end.
pub fn shown_url(url: &reqwest::Url) -> String {
    let mut shown = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        shown.push_str(host);
    }
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    let path = url.path();
    let file = ["/res.php", "/getBalance"]
        .into_iter()
        .find(|file| path.ends_with(file));
    match (path, file) {
        ("" | "/", _) => {}
        (path, Some(file)) if path == file => shown.push_str(file),
        (_, Some(file)) => {
            shown.push_str("/…");
            shown.push_str(file);
        }
        (_, None) => shown.push_str("/…"),
    }
    shown
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
    fn tokens_compare_and_never_show() {
        let token = Token::new(" 00112233445566778899aabbccddeeff\n").expect("token");
        assert!(token.matches(b"00112233445566778899aabbccddeeff"));
        assert!(!token.matches(b"00112233445566778899aabbccddeefe"));
        assert!(
            !token.matches(b"00112233445566778899AABBCCDDEEFF"),
            "case matters"
        );
        assert!(!token.matches(b"00112233445566778899aabbccddeef"));
        assert!(!token.matches(b""));
        let other = Token::new("another-token-of-this-server").expect("token");
        let both = [other, token.clone()];
        assert!(Token::any_matches(
            &both,
            b"00112233445566778899aabbccddeeff"
        ));
        assert!(Token::any_matches(&both, b"another-token-of-this-server"));
        assert!(!Token::any_matches(&both, b"x"));
        assert!(!Token::any_matches(&[], b""));
        assert_eq!(format!("{token:?}"), "Token(…)");
        assert_eq!(
            token.scrub("key=00112233445566778899AABBCCDDEEFF&x"),
            "key=[token]&x"
        );
        for bad in ["short", "with a space in the middle", &"x".repeat(129)] {
            let error = Token::new(bad).expect_err(bad).to_string();
            assert!(!error.contains(bad), "{error}");
            assert!(error.starts_with("must be 16 to 128"), "{error}");
        }
    }

    #[test]
    fn endpoints_are_shown_without_their_path() {
        #[rustfmt::skip]
        let cases = [
            ("https://ocr.captchaai.com/",                      "https://ocr.captchaai.com"),
            ("https://ocr.captchaai.com/res.php",               "https://ocr.captchaai.com/res.php"),
            ("https://api.anti-captcha.com/getBalance",         "https://api.anti-captcha.com/getBalance"),
            ("http://127.0.0.1:9000",                           "http://127.0.0.1:9000"),
            ("https://proxy.example/t/SECRET/",                 "https://proxy.example/…"),
            ("https://proxy.example:8443/t/SECRET/res.php",     "https://proxy.example:8443/…/res.php"),
            ("https://proxy.example/SECRET/getBalance",         "https://proxy.example/…/getBalance"),
            ("http://[::1]:81/SECRET",                          "http://[::1]:81/…"),
        ];
        for (url, shown) in cases {
            let url = reqwest::Url::parse(url).expect("url");
            assert_eq!(shown_url(&url), shown, "{url}");
        }
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
