//! The command line: the server's flags and its subcommands (`check`, `test-alert`) with their
//! own flags, as clap reads them. Nothing else of the server is needed to read them: what the
//! flags mean is [`crate::config`]'s (the configuration built from them) and the commands'.

use captchaai_balance::costs::CaptchaType;
use captchaai_balance::money::Money;
use captchaai_balance::protocol::normalize_endpoint;
use captchaai_balance::settings::is_plain_http_off_loopback;
use clap::Parser;
use reqwest::Url;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The largest batch `check --quantity` and `GET /v1/budget` accept.
pub const MAX_QUANTITY: u64 = 1_000_000;

/// `captchaai-balance-server` flags.
#[derive(Debug, Parser)]
#[command(
    name = "captchaai-balance-server",
    version,
    about = "Serves the captcha balance widget and answers its balance requests for one or more accounts.",
    after_help = "Proxy mode with --config accounts.toml (keys in the environment variables it \
                  names) or with CAPTCHAAI_API_KEY alone (one account, \"default\"); otherwise \
                  mock mode with simulated accounts (see /v1/accounts and /mock/state)."
)]
pub struct Cli {
    /// Address to listen on. Loopback by default; any other address needs --token-env (or
    /// --public-without-auth behind a reverse proxy that checks who comes in).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Require a token: the environment variable NAME holds it (repeatable; any of them lets a
    /// client in). Clients send it as `Authorization: Bearer TOKEN` (/v1/*, /metrics, the mock
    /// API) or as their API key (`key` of /res.php, `clientKey` of /getBalance).
    #[arg(long, value_name = "NAME")]
    pub token_env: Vec<String>,

    /// Listen off loopback without any token: whoever reaches the port reads every account.
    /// Only behind a reverse proxy (or a firewall) that decides who comes in.
    #[arg(long, conflicts_with = "token_env")]
    pub public_without_auth: bool,

    /// Let pages of this origin (`https://dash.example.com`) read the API from the browser
    /// (CORS); repeatable. Without it the API is same-origin only.
    #[arg(long, value_name = "ORIGIN", value_parser = parse_origin)]
    pub allow_origin: Vec<String>,

    /// The accounts to watch (TOML, see server/README.md). Keys stay in environment variables.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// The default account's API base URL (the first account of --config, or the
    /// CAPTCHAAI_API_KEY one); its provider's own host when not given.
    #[arg(long, value_parser = parse_upstream, global = true)]
    pub upstream: Option<Url>,

    /// Directory with the built widget (captchaai-balance.js, the wasm glue, index.html).
    #[arg(long, default_value = "dist/www")]
    pub static_dir: PathBuf,

    /// How long one upstream reading is reused (0 = only share concurrent requests). A
    /// provider's politeness floor lengthens it for real upstreams (server/README.md).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400), global = true)]
    pub cache_seconds: u64,

    /// Give up on the upstream after this many seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub upstream_timeout_seconds: u64,

    /// Close a connection whose client takes longer than this to send its request headers or
    /// body, stays idle between requests this long, or stops reading its response.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub client_timeout_seconds: u64,

    /// Open connections at most. At the cap a new client takes the place of the connection
    /// idle the longest; when none is idle it waits until one closes or goes idle.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_connections: u64,

    /// Open connections from one client address at most (IPv6: one /64). Past it the client's
    /// own idle connection makes room, else the new one is refused (503). 127.0.0.1 and ::1 (a
    /// reverse proxy on this machine) are not capped; a proxy elsewhere: raise it.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_connections_per_address: u64,

    /// The largest request head (request line and headers) in bytes; a larger one, or more
    /// than 100 headers, is answered 431 and the connection closed.
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(1_024..=1_048_576))]
    pub max_header_bytes: u64,

    /// Keep each account's balance history in this directory (one JSON file per account, no
    /// key), so a restart keeps the spend rate and runway. Without it the history lives in
    /// memory only.
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Alert messages one webhook target's outbox holds at most while the target is down or
    /// slow; a new message drops the oldest first (counted as result="dropped").
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub outbox_max_messages: u64,

    /// Bytes of message bodies one webhook target's outbox holds at most (default 1 MiB); a
    /// new message drops the oldest first.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(4096..=1 << 30))]
    pub outbox_max_bytes: u64,

    /// Without a subcommand: serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does instead of serving.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// One balance reading as a monitoring plugin (Nagios, Icinga, Zabbix, cron): one status
    /// line, exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Check(CheckArgs),
    /// Send one clearly marked test message to every [[webhook]] of --config, print one line
    /// per target; exit 0 when all got it, 1 otherwise, 2 for a config error.
    TestAlert,
}

/// `check` flags (the server's `--config`, `--upstream`, `--data-dir`, `--cache-seconds` and
/// `--upstream-timeout-seconds` work here too).
#[derive(Debug, Clone, clap::Args)]
#[command(
    about = "One balance reading as a monitoring plugin: one line, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    after_help = "The accounts and keys are the server's: --config accounts.toml, or \
                  CAPTCHAAI_API_KEY alone (account \"default\"); with neither, mock mode checks \
                  the simulated account \"production\" (for demos and tests). A reading younger \
                  than the cache period (at least the provider's politeness floor) is reused \
                  from the history kept in --data-dir (default: \
                  $XDG_STATE_HOME/captchaai-balance/check/ID, else ~/.local/state/…), so a \
                  check run every minute never asks the upstream more often than the server \
                  would; the runway comes from that history."
)]
pub struct CheckArgs {
    /// The account to check (its name in accounts.toml); the first one when not given.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// WARNING below this balance (exact decimal); the account's low threshold when not given.
    #[arg(long, value_name = "AMOUNT", value_parser = amount)]
    pub warning: Option<Money>,

    /// CRITICAL below this balance (exact decimal, default 0); below 0.01 is always
    /// CRITICAL. Must not be above --warning.
    #[arg(long, value_name = "AMOUNT", value_parser = amount)]
    pub critical: Option<Money>,

    /// With --quantity: CRITICAL when the balance cannot pay for this batch (recaptcha_v2,
    /// recaptcha_v3, turnstile, geetest, image, bls, other), at the provider's default rates.
    #[arg(long = "type", value_name = "TYPE", value_parser = kind, requires = "quantity")]
    pub kind: Option<CaptchaType>,

    /// With --type: the number of solves in the batch.
    #[arg(long, value_name = "N", requires = "kind",
          value_parser = clap::value_parser!(u64).range(1..=MAX_QUANTITY))]
    pub quantity: Option<u64>,

    /// A thread plan (CaptchaAI): WARNING when this many threads or more are busy.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads_warning: Option<u32>,
}

/// A threshold flag: an exact decimal, never through a float.
fn amount(text: &str) -> Result<Money, String> {
    Money::parse(text.trim()).map_err(|_| "expected a decimal amount such as 5 or 2.50".into())
}

/// A CAPTCHA type by its stable name.
fn kind(text: &str) -> Result<CaptchaType, String> {
    CaptchaType::from_name(text).ok_or_else(|| {
        "expected recaptcha_v2, recaptcha_v3, turnstile, geetest, image, bls or other".into()
    })
}

/// Checks `--upstream` with the same rules as the widget's endpoint setting. Plain `http://` is
/// for loopback only (a stand-in on this machine): elsewhere the key would cross the network
/// unencrypted, and a flag has no `allow_plain_http` of its own.
fn parse_upstream(text: &str) -> Result<Url, String> {
    if text.trim().is_empty() {
        return Err("expected http(s)://host[:port][/path]".into());
    }
    let url = endpoint_url(text).ok_or_else(|| {
        "expected http(s)://host[:port][/path] without query or credentials".to_string()
    })?;
    if is_plain_http_off_loopback(url.as_str()) {
        return Err("plain http:// to a host other than loopback would send the key unencrypted; use https://, or an accounts.toml account with allow_plain_http = true".into());
    }
    Ok(url)
}

/// `--allow-origin`: an origin as browsers send it in `Origin` (`https://host[:port]`, no path),
/// lower case, the default port left out.
fn parse_origin(text: &str) -> Result<String, String> {
    let expected = || {
        "expected an origin such as https://dash.example.com (scheme, host and port only)"
            .to_string()
    };
    let url = Url::parse(text.trim()).map_err(|_| expected())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !text.trim().ends_with(['?', '#']);
    if !plain {
        return Err(expected());
    }
    Ok(url.origin().ascii_serialization())
}

/// An endpoint checked and normalised by the core, as a URL. `None` when unusable.
pub(crate) fn endpoint_url(text: &str) -> Option<Url> {
    normalize_endpoint(text)
        .ok()
        .and_then(|normalized| Url::parse(&normalized).ok())
}
