//! The configuration the app is built from: the flags ([`cli`]), `accounts.toml` (its shape in
//! [`file`], read by serde; what its `[[account]]` tables must hold here, its `[[webhook]]`
//! tables' in [`webhook`]) and the environment.
//!
//! Keys come only from environment variables, never from a flag or the config file: flags show
//! up in `ps` output and shell history, and config files get committed and pasted. An account
//! names the variable that holds its key (`key_env`); `CAPTCHAAI_API_KEY` alone (no
//! `--config`) is one account named `default`, as before accounts existed.
//!
//! A config file with any mistake stops the start with one line that names the file, the
//! account and the field (never the key): a server that quietly skips an account would leave
//! that account unwatched.

pub mod access;
pub mod cli;
pub mod error;
pub mod file;
pub mod webhook;

pub use error::ConfigError;

use crate::clock::Clock;
use crate::config::access::Access;
use crate::config::cli::{endpoint_url, Cli, Command};
use crate::config::error::{bare, shown};
use crate::config::file::AccountTable;
use crate::config::webhook::{webhooks_of, Webhook};
use crate::secret::ApiKey;
use captchaai_balance::costs::{rate_of_price, RateTable};
use captchaai_balance::level::DEFAULT_LOW_THRESHOLD;
use captchaai_balance::money::Money;
use captchaai_balance::provider::ProviderId;
use captchaai_balance::settings::{is_plain_http_off_loopback, DEFAULT_PREDICTIVE_HOURS};
use reqwest::Url;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that switches on proxy mode without a config file.
pub const KEY_ENV: &str = "CAPTCHAAI_API_KEY";

/// The name of the account `CAPTCHAAI_API_KEY` starts.
pub const DEFAULT_ACCOUNT: &str = "default";

/// The longest account name (it appears in URLs and metric labels).
pub const MAX_NAME_LEN: usize = 64;

/// `--outbox-max-messages`'s default: messages one webhook target's outbox holds at most.
pub const DEFAULT_OUTBOX_MESSAGES: usize = 1000;
/// `--outbox-max-bytes`'s default: bytes of bodies one target's outbox holds at most (1 MiB).
pub const DEFAULT_OUTBOX_BYTES: usize = 1 << 20;

/// One watched account.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// `[a-z0-9-]`, unique: the URL segment (`/accounts/{name}/res.php`) and metric label.
    pub name: String,
    /// The service.
    pub provider: ProviderId,
    /// Its key (from the environment).
    pub key: ApiKey,
    /// Below this the account is `low`.
    pub threshold: Money,
    /// API base URL (the provider's own host unless overridden).
    pub endpoint: Url,
    /// Where the key came from (for the banner; the variable's name, never its value).
    pub key_env: String,
    /// The predictive alert's horizon: "runs out within N hours" (the extension's setting of
    /// the same name, and its default).
    pub predictive_hours: u32,
    /// Per-solve rates for `/v1/budget` and `check --type`: the provider's example rates (none
    /// for most), overridden by the account's `price_per_1000`, each a thousandth of its price.
    pub rates: RateTable,
}

impl AccountConfig {
    /// An account with the provider's own endpoint and the default threshold.
    pub fn new(name: &str, provider: ProviderId, key: ApiKey, endpoint: Url) -> AccountConfig {
        AccountConfig {
            name: name.to_string(),
            provider,
            key,
            threshold: DEFAULT_LOW_THRESHOLD,
            endpoint,
            key_env: KEY_ENV.to_string(),
            predictive_hours: DEFAULT_PREDICTIVE_HOURS,
            rates: RateTable::from_nanos(provider.info().rates),
        }
    }
}

/// Where balances come from.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Ask the real APIs for these accounts (at least one; the first is the default).
    Proxy(Vec<AccountConfig>),
    /// Play simulated accounts.
    Mock,
}

/// Everything [`crate::app`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Proxy or mock.
    pub mode: Mode,
    /// Built widget files.
    pub static_dir: PathBuf,
    /// How long a reading is reused (at least the provider's floor in proxy mode).
    pub cache_ttl: Duration,
    /// Upstream request time limit.
    pub upstream_timeout: Duration,
    /// Time source (manual in tests).
    pub clock: Clock,
    /// Where the balance histories are kept (`None`: memory only).
    pub data_dir: Option<PathBuf>,
    /// Where alerts go (`[[webhook]]` of the config file).
    pub webhooks: Vec<Webhook>,
    /// Check every account on its own schedule (`crate::accounts::watch`). The binary always does; the
    /// library's helpers ([`Config::mock`], [`Config::accounts`]) leave it off so a test
    /// decides when the upstream is asked.
    pub watch: bool,
    /// Keep the alert memory (monitor states, undelivered messages) in `data_dir`. Off for
    /// `check`, which must neither read nor rewrite a server's memory.
    pub alert_memory: bool,
    /// Who may read what: the tokens (`--token-env`) and the origins whose pages may read the
    /// API (`--allow-origin`). [`Access::open`] (the helpers' default): no token, same-origin.
    pub access: Access,
    /// Messages one webhook target's outbox holds at most (the oldest are dropped first).
    pub outbox_max_messages: usize,
    /// Bytes of bodies one webhook target's outbox holds at most.
    pub outbox_max_bytes: usize,
}

impl Config {
    /// The configuration for the flags, reading the config file (if any) and the environment
    /// through `env` (a missing variable and an empty one are the same). Without `--config`, an
    /// empty `CAPTCHAAI_API_KEY` means mock mode; a malformed one is an error rather than a
    /// silent fallback to mock mode. `check` reads no `[[webhook]]` (it alerts through the
    /// monitoring system that runs it), so their variables need not be set for it.
    pub fn from_cli(
        cli: &Cli,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut webhooks = Vec::new();
        let mut accounts = match &cli.config {
            Some(path) => {
                let name = bare(&path.display().to_string());
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("cannot read {name}: {e}")))?;
                let doc = file::read(&name, &text)?;
                let accounts = accounts_of(&name, &doc.account, &env)?;
                if !matches!(cli.command, Some(Command::Check(_))) {
                    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
                    webhooks = webhooks_of(&name, &doc.webhook, &env, &names)?;
                }
                accounts
            }
            None => match env(KEY_ENV).filter(|k| !k.trim().is_empty()) {
                Some(key) => vec![AccountConfig::new(
                    DEFAULT_ACCOUNT,
                    ProviderId::CaptchaAi,
                    ApiKey::new(&key)?,
                    provider_endpoint(ProviderId::CaptchaAi),
                )],
                None => Vec::new(),
            },
        };
        if let (Some(upstream), Some(first)) = (&cli.upstream, accounts.first_mut()) {
            first.endpoint = upstream.clone();
        }
        let mode = if accounts.is_empty() {
            Mode::Mock
        } else {
            Mode::Proxy(accounts)
        };
        Ok(Config {
            mode,
            static_dir: cli.static_dir.clone(),
            cache_ttl: Duration::from_secs(cli.cache_seconds),
            upstream_timeout: Duration::from_secs(cli.upstream_timeout_seconds),
            clock: Clock::system(),
            data_dir: cli.data_dir.clone(),
            webhooks,
            watch: true,
            alert_memory: true,
            access: Access::of_cli(cli, &env)?,
            outbox_max_messages: usize::try_from(cli.outbox_max_messages)
                .unwrap_or(DEFAULT_OUTBOX_MESSAGES),
            outbox_max_bytes: usize::try_from(cli.outbox_max_bytes).unwrap_or(DEFAULT_OUTBOX_BYTES),
        })
    }

    /// Mock mode with the defaults (handy for tests and embedding).
    pub fn mock(static_dir: impl Into<PathBuf>) -> Config {
        Config {
            mode: Mode::Mock,
            static_dir: static_dir.into(),
            cache_ttl: Duration::from_secs(30),
            upstream_timeout: Duration::from_secs(10),
            clock: Clock::system(),
            data_dir: None,
            webhooks: Vec::new(),
            watch: false,
            alert_memory: true,
            access: Access::open(),
            outbox_max_messages: DEFAULT_OUTBOX_MESSAGES,
            outbox_max_bytes: DEFAULT_OUTBOX_BYTES,
        }
    }

    /// Proxy mode for one CaptchaAI account named `default` against `upstream`, other
    /// settings default.
    pub fn proxy(key: ApiKey, upstream: Url) -> Config {
        Config::accounts(vec![AccountConfig::new(
            DEFAULT_ACCOUNT,
            ProviderId::CaptchaAi,
            key,
            upstream,
        )])
    }

    /// Proxy mode for these accounts, other settings default.
    pub fn accounts(accounts: Vec<AccountConfig>) -> Config {
        Config {
            mode: Mode::Proxy(accounts),
            ..Config::mock("dist/www")
        }
    }
}

/// A provider's own API host. The custom rows have none; callers only ask for the others.
fn provider_endpoint(provider: ProviderId) -> Url {
    provider
        .info()
        .endpoint
        .and_then(endpoint_url)
        .unwrap_or_else(|| unreachable!("the provider table's endpoints are valid URLs"))
}

/// Reads `accounts.toml` (its text; `path` is only for messages): its `[[account]]` tables as
/// accounts, keys from `env`. Every problem is one line naming the file, the account and the
/// field.
pub fn parse_accounts(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<AccountConfig>, ConfigError> {
    let name = bare(&path.display().to_string());
    accounts_of(&name, &file::read(&name, text)?.account, env)
}

/// The accounts of the `[[account]]` tables serde read, checked (`file`: the file's name for
/// messages).
fn accounts_of(
    file: &str,
    tables: &[AccountTable],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<AccountConfig>, ConfigError> {
    if tables.is_empty() {
        return Err(ConfigError(format!(
            "{file}: no [[account]]; add at least one (server/README.md shows the shape)"
        )));
    }
    let mut accounts: Vec<AccountConfig> = Vec::with_capacity(tables.len());
    // Looked up, not searched: a file of ten thousand accounts is checked in linear time.
    let mut names: HashSet<String> = HashSet::with_capacity(tables.len());
    let mut same_keys: HashMap<(ProviderId, String, String), usize> =
        HashMap::with_capacity(tables.len());
    for (index, table) in tables.iter().enumerate() {
        let account =
            account_of(table, index, env).map_err(|e| ConfigError(format!("{file}: {e}")))?;
        if !names.insert(account.name.clone()) {
            return Err(ConfigError(format!(
                "{file}: account {:?}: name: used by an earlier account; names must be unique",
                account.name
            )));
        }
        let identity = (
            account.provider,
            account.endpoint.as_str().to_string(),
            account.key.expose().to_string(),
        );
        if let Some(&same) = same_keys.get(&identity) {
            return Err(ConfigError(format!(
                "{file}: account {:?}: key_env: same provider, endpoint and key as account {:?} (one account, one name)",
                account.name, accounts[same].name
            )));
        }
        same_keys.insert(identity, accounts.len());
        accounts.push(account);
    }
    Ok(accounts)
}

/// One `[[account]]` table (the `index`th, from 0), checked: the name's characters, the
/// endpoint, the key's variable and the key itself.
fn account_of(
    table: &AccountTable,
    index: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AccountConfig, String> {
    let name = table.name.as_str();
    // Until the name is known good, messages say which table it is.
    if !valid_name(name) {
        return Err(format!(
            "account #{}: name: {} must be 1 to {MAX_NAME_LEN} of a-z, 0-9 and -",
            index + 1,
            shown(name)
        ));
    }
    let at = |e: String| format!("account {name:?}: {e}");
    let provider = table.provider;

    let endpoint = match table.endpoint.as_deref() {
        Some(text) => {
            let url = endpoint_url(text)
                .filter(|_| !text.trim().is_empty())
                .ok_or_else(|| {
                    at(
                        "endpoint: expected http(s)://host[:port][/path] without query or credentials"
                            .into(),
                    )
                })?;
            // The URL is not quoted: a custom endpoint may carry a token in its path.
            if is_plain_http_off_loopback(url.as_str()) && !table.allow_plain_http {
                return Err(at("endpoint: plain http:// to a host other than loopback would send the key unencrypted; use https://, or set allow_plain_http = true on this account".into()));
            }
            url
        }
        None if provider.info().is_custom() => {
            return Err(at(format!(
                "endpoint: required for provider {:?}",
                provider.as_str()
            )))
        }
        None => provider_endpoint(provider),
    };

    let key_env = table.key_env.as_str();
    if key_env.is_empty() || key_env.contains(['=', '\0']) {
        return Err(at("key_env: not an environment variable name".into()));
    }
    // The variable's name as the file wrote it, escaped and cut (it is not checked further).
    let var = bare(key_env);
    let key = env(key_env)
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| at(format!("key_env: {var} is not set or empty")))?;
    let key = ApiKey::for_format(&key, provider.info().key)
        .map_err(|e| at(format!("key_env: the key in {var} {e}")))?;

    let mut rates = RateTable::from_nanos(provider.info().rates);
    for (&kind, &price) in &table.price_per_1000 {
        // The file's reader let only exact rates through; a refusal here is that check's.
        let rate = rate_of_price(price).map_err(|_| {
            at(format!(
                "price_per_1000: {}: not an exact per-solve price",
                kind.as_str()
            ))
        })?;
        rates.set(kind, Some(rate));
    }

    Ok(AccountConfig {
        name: name.to_string(),
        provider,
        key,
        threshold: table.threshold,
        endpoint,
        key_env: key_env.to_string(),
        predictive_hours: table.predictive_hours,
        rates,
    })
}

/// `[a-z0-9-]`, 1 to [`MAX_NAME_LEN`] characters.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
        assert_eq!(
            cli.upstream.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:9/")
        );
        let config = Config::from_cli(&cli, |_| None).expect("mock");
        assert!(matches!(config.mode, Mode::Mock));
        assert_eq!(config.cache_ttl, Duration::from_secs(5));
        let config = Config::from_cli(&cli, |_| Some("   ".into())).expect("blank means unset");
        assert!(matches!(config.mode, Mode::Mock));
        let key = |name: &str| (name == KEY_ENV).then(|| "0123456789abcdef0123456789abcdef".into());
        let config = Config::from_cli(&cli, key).expect("proxy");
        let Mode::Proxy(accounts) = config.mode else {
            panic!("proxy mode")
        };
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].name, "default");
        assert_eq!(accounts[0].provider, ProviderId::CaptchaAi);
        assert_eq!(accounts[0].endpoint.as_str(), "http://127.0.0.1:9/");
        assert!(Config::from_cli(&cli, |_| Some("short".into())).is_err());
        for bad in ["ftp://x", "https://a.b/?key=1", "https://u:p@a.b", ""] {
            assert!(
                Cli::try_parse_from(["x", "--upstream", bad]).is_err(),
                "{bad}"
            );
        }
        // Plain http only to loopback: elsewhere the key would cross the network in clear.
        for plain in [
            "http://api.example",
            "http://10.0.0.7:8080/",
            "HTTP://Example.com",
        ] {
            let error = Cli::try_parse_from(["x", "--upstream", plain])
                .expect_err(plain)
                .to_string();
            assert!(
                error.contains("unencrypted") && error.contains("allow_plain_http = true"),
                "{plain}: {error}"
            );
        }
        for fine in [
            "http://localhost:9",
            "http://[::1]:9/",
            "http://127.0.0.1:9",
            "https://api.example",
        ] {
            assert!(
                Cli::try_parse_from(["x", "--upstream", fine]).is_ok(),
                "{fine}"
            );
        }
        let cli = Cli::try_parse_from(["x"]).expect("no flags");
        let Mode::Proxy(accounts) = Config::from_cli(&cli, key).expect("proxy").mode else {
            panic!("proxy mode")
        };
        assert_eq!(accounts[0].endpoint.as_str(), "https://ocr.captchaai.com/");
    }
}
