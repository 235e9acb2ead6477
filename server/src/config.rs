//! Command-line flags and the configuration the app is built from.
//!
//! The key comes only from the `CAPTCHAAI_API_KEY` environment variable, never from a flag:
//! flags show up in `ps` output and shell history.

use crate::clock::Clock;
use crate::secret::{ApiKey, KeyError};
use crate::serve::Limits;
use captchaai_balance::protocol::{normalize_endpoint, DEFAULT_ENDPOINT};
use clap::Parser;
use reqwest::Url;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The environment variable that switches on proxy mode.
pub const KEY_ENV: &str = "CAPTCHAAI_API_KEY";

/// `captchaai-balance-server` flags.
#[derive(Debug, Parser)]
#[command(
    name = "captchaai-balance-server",
    version,
    about = "Serves the CaptchaAI balance widget and answers its balance requests.",
    after_help = "Proxy mode when CAPTCHAAI_API_KEY is set (the key stays on the server); \
                  otherwise mock mode with a simulated account (see /mock/state)."
)]
pub struct Cli {
    /// Address to listen on. Loopback by default: put a reverse proxy in front for other hosts.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The CaptchaAI API base URL (proxy mode).
    #[arg(long, default_value = DEFAULT_ENDPOINT, value_parser = parse_upstream)]
    pub upstream: Url,

    /// Directory with the built widget (captchaai-balance.js, the wasm glue, index.html).
    #[arg(long, default_value = "dist/www")]
    pub static_dir: PathBuf,

    /// How long one upstream reading is reused (0 = only share concurrent requests).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub cache_seconds: u64,

    /// Give up on the upstream after this many seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub upstream_timeout_seconds: u64,

    /// Close a connection whose client takes longer than this to send its request headers or
    /// body, stays idle between requests this long, or stops reading its response.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub client_timeout_seconds: u64,

    /// Open connections at most; more wait until one closes.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_connections: u64,
}

impl Cli {
    /// The connection limits these flags ask for.
    pub fn limits(&self) -> Limits {
        Limits {
            client_timeout: Duration::from_secs(self.client_timeout_seconds),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            ..Limits::default()
        }
    }
}

/// Checks `--upstream` with the same rules as the widget's endpoint setting.
fn parse_upstream(text: &str) -> Result<Url, String> {
    let normalized = normalize_endpoint(text).map_err(|_| {
        "expected http(s)://host[:port][/path] without query or credentials".to_string()
    })?;
    Url::parse(&normalized).map_err(|e| e.to_string())
}

/// Where balances come from.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Ask the real API with this key.
    Proxy(ApiKey),
    /// Play a simulated account.
    Mock,
}

/// Everything [`crate::app`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Proxy or mock.
    pub mode: Mode,
    /// API base URL (used in proxy mode).
    pub upstream: Url,
    /// Built widget files.
    pub static_dir: PathBuf,
    /// How long a reading is reused.
    pub cache_ttl: Duration,
    /// Upstream request time limit.
    pub upstream_timeout: Duration,
    /// Time source (manual in tests).
    pub clock: Clock,
}

impl Config {
    /// The configuration for the flags and the (optional) value of `CAPTCHAAI_API_KEY`. An
    /// empty value means "not set"; a malformed key is an error rather than a silent fallback
    /// to mock mode.
    pub fn from_cli(cli: &Cli, key: Option<&str>) -> Result<Config, KeyError> {
        let mode = match key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(key) => Mode::Proxy(ApiKey::new(key)?),
            None => Mode::Mock,
        };
        Ok(Config {
            mode,
            upstream: cli.upstream.clone(),
            static_dir: cli.static_dir.clone(),
            cache_ttl: Duration::from_secs(cli.cache_seconds),
            upstream_timeout: Duration::from_secs(cli.upstream_timeout_seconds),
            clock: Clock::system(),
        })
    }

    /// Mock mode with the defaults (handy for tests and embedding).
    pub fn mock(static_dir: impl Into<PathBuf>) -> Config {
        Config {
            mode: Mode::Mock,
            upstream: Url::parse(DEFAULT_ENDPOINT).unwrap_or_else(|_| unreachable!("constant URL")),
            static_dir: static_dir.into(),
            cache_ttl: Duration::from_secs(30),
            upstream_timeout: Duration::from_secs(10),
            clock: Clock::system(),
        }
    }

    /// Proxy mode for `key` against `upstream`, other settings default.
    pub fn proxy(key: ApiKey, upstream: Url) -> Config {
        Config {
            mode: Mode::Proxy(key),
            upstream,
            ..Config::mock("dist/www")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_key_pick_the_mode() {
        let cli = Cli::try_parse_from([
            "x",
            "--upstream",
            "http://127.0.0.1:9/",
            "--cache-seconds",
            "5",
        ])
        .expect("valid flags");
        assert_eq!(cli.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.upstream.as_str(), "http://127.0.0.1:9/");
        let config = Config::from_cli(&cli, None).expect("mock");
        assert!(matches!(config.mode, Mode::Mock));
        assert_eq!(config.cache_ttl, Duration::from_secs(5));
        let config = Config::from_cli(&cli, Some("   ")).expect("blank means unset");
        assert!(matches!(config.mode, Mode::Mock));
        let config =
            Config::from_cli(&cli, Some("0123456789abcdef0123456789abcdef")).expect("proxy");
        assert!(matches!(config.mode, Mode::Proxy(_)));
        assert!(Config::from_cli(&cli, Some("short")).is_err());
        for bad in ["ftp://x", "https://a.b/?key=1", "https://u:p@a.b"] {
            assert!(
                Cli::try_parse_from(["x", "--upstream", bad]).is_err(),
                "{bad}"
            );
        }
    }
}
