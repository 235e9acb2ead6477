//! The state every handler shares: the accounts (each with its cache and upstream), the
//! metrics, the static directory.

use crate::accounts::account::Account;
use crate::alerts::alerting::{AlertAccount, Alerts};
use crate::alerts::memory::Disk;
use crate::alerts::outbox::Limits;
use crate::alerts::webhook::Sender;
use crate::config::access::Access;
use crate::config::{Config, Mode};
use crate::floor::{self, Floors};
use crate::http_client::http_client;
use crate::metrics::Metrics;
use crate::store::{remove_stale_temp_files, Store};
use crate::upstream::mock::{MockAccount, MOCK_ACCOUNTS};
use crate::upstream::proxy::Proxy;
use crate::upstream::source::Source;
use captchaai_balance::money::Money;
use captchaai_balance::settings::DEFAULT_PREDICTIVE_HOURS;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// Why the app could not be built.
#[derive(Debug)]
pub enum AppError {
    /// The HTTP client for the upstream could not start (TLS set-up).
    HttpClient(reqwest::Error),
    /// Proxy mode with an empty account list.
    NoAccount,
    /// A file of the data directory that the server must not start without reading (an
    /// account's alert memory, a target's outbox journal, the legacy `_alerts.json`) cannot be
    /// read: the message names it and why.
    DataDir(String),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::HttpClient(e) => write!(f, "cannot create the upstream HTTP client: {e}"),
            AppError::NoAccount => f.write_str("no account to watch"),
            AppError::DataDir(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for AppError {}

/// Shared, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Every account, in configuration order; the first is the default (`/res.php`). Never
    /// empty.
    pub accounts: Arc<[Arc<Account>]>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Built widget files.
    pub static_dir: Arc<PathBuf>,
    /// True in mock mode (the control API exists).
    pub mock_mode: bool,
    /// The monitors and webhook outboxes.
    pub alerts: Arc<Alerts>,
    /// The tokens and the allowed origins.
    pub access: Arc<Access>,
    /// Account name -> its place in `accounts`.
    index: Arc<HashMap<String, usize>>,
    /// True once every account's kept state has been read.
    warm: watch::Receiver<bool>,
}

impl AppState {
    /// Everything for one configuration. Cheap for many accounts: one HTTP client for every
    /// upstream and webhook (one connection pool, one TLS set-up), and per account only its
    /// cache, memory and files.
    pub fn new(config: Config) -> Result<AppState, AppError> {
        // An alert memory or journal that exists but cannot be read would be replaced by an
        // empty one at the first alert, and every pending message and hysteresis with it:
        // refuse to start instead, naming the file (a FIFO, a device, a file too large to be
        // one, a file without read permission). Nothing is read here.
        if let Some(dir) = config.data_dir.as_ref().filter(|_| config.alert_memory) {
            let accounts: Vec<&str> = match &config.mode {
                Mode::Proxy(accounts) => accounts.iter().map(|a| a.name.as_str()).collect(),
                Mode::Mock => MOCK_ACCOUNTS.iter().map(|spec| spec.name).collect(),
            };
            let targets: Vec<&str> = config.webhooks.iter().map(|w| w.url_env.as_str()).collect();
            Disk::new(dir.clone())
                .check(&accounts, &targets)
                .map_err(AppError::DataDir)?;
        }
        let clock = config.clock.clone();
        let ttl = config.cache_ttl;
        let store = Store::new(config.data_dir.clone());
        let floors = Arc::new(Floors::new(config.data_dir.as_deref()));
        // The one client, when anything is sent (mock mode without webhooks sends nothing).
        let client = match (&config.mode, config.webhooks.is_empty()) {
            (Mode::Mock, true) => None,
            _ => Some(http_client(config.upstream_timeout).map_err(AppError::HttpClient)?),
        };
        let accounts: Vec<Arc<Account>> = match (&config.mode, &client) {
            (Mode::Proxy(accounts), Some(client)) => accounts
                .iter()
                .map(|a| {
                    let proxy = Proxy::new(
                        a.provider.info().family,
                        &a.endpoint,
                        a.key.clone(),
                        client.clone(),
                    );
                    Arc::new(
                        Account::new(
                            &a.name,
                            a.provider,
                            a.threshold,
                            Source::Proxy(proxy),
                            ttl,
                            clock.clone(),
                            store.clone(),
                            &floors,
                        )
                        .with_rates(a.rates.clone()),
                    )
                })
                .collect(),
            (Mode::Proxy(_), None) => Vec::new(),
            (Mode::Mock, _) => MOCK_ACCOUNTS
                .iter()
                .map(|spec| {
                    let mock = MockAccount::of_spec(clock.clone(), spec);
                    Arc::new(Account::new(
                        spec.name,
                        spec.provider,
                        Money::from_cents(spec.threshold_cents),
                        Source::Mock(Arc::new(mock)),
                        ttl,
                        clock.clone(),
                        store.clone(),
                        &floors,
                    ))
                })
                .collect(),
        };
        if accounts.is_empty() {
            return Err(AppError::NoAccount);
        }
        let series: Vec<_> = accounts.iter().map(|a| (a.labels(), a.threshold)).collect();
        let metrics = Arc::new(Metrics::new(clock, &series));
        // The horizon is a config file setting (the accounts are in its order); simulated
        // accounts keep the default.
        let horizons: Vec<u32> = match &config.mode {
            Mode::Proxy(configured) => configured.iter().map(|a| a.predictive_hours).collect(),
            Mode::Mock => Vec::new(),
        };
        let watched: Vec<_> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| AlertAccount {
                name: a.name.clone(),
                provider: a.provider,
                threshold: a.threshold,
                predictive_hours: horizons.get(i).copied().unwrap_or(DEFAULT_PREDICTIVE_HOURS),
            })
            .collect();
        let sender = match (&client, config.webhooks.is_empty()) {
            (Some(client), false) => Some(Sender::new(client.clone())),
            _ => None,
        };
        let alerts = Arc::new(Alerts::new(
            &watched,
            config.webhooks.clone(),
            config.data_dir.clone().filter(|_| config.alert_memory),
            Arc::clone(&metrics),
            config.clock.clone(),
            sender,
            Limits {
                max_messages: config.outbox_max_messages,
                max_bytes: config.outbox_max_bytes,
            },
        ));
        for account in &accounts {
            account.attach(Arc::clone(&alerts), Arc::clone(&metrics));
        }
        // What the data directory kept of each account (its history, the reading a restart
        // within the floor answers from, the forecast in the metrics) is read in the
        // background for a server's real accounts, so the socket serves at once (an account
        // used before its turn reads its own first). The four simulated accounts are read (and
        // their week filled in and written) at once; `check` reads the one account it checks
        // when it does.
        let (loaded, warm) = watch::channel(false);
        // Tasks need a runtime; built outside one (a unit test), the server only answers.
        let runtime = tokio::runtime::Handle::try_current().is_ok();
        match (&config.mode, config.alert_memory) {
            (Mode::Proxy(_), true) if runtime => {
                let all = accounts.clone();
                tokio::task::spawn_blocking(move || {
                    for account in &all {
                        account.ensure_loaded();
                    }
                    loaded.send_replace(true);
                });
            }
            (_, false) => {
                loaded.send_replace(true);
            }
            _ => {
                for account in &accounts {
                    account.ensure_loaded();
                }
                loaded.send_replace(true);
            }
        }
        if runtime {
            alerts.start_delivery();
            if config.watch {
                crate::accounts::watch::start(
                    &accounts,
                    &metrics,
                    &alerts,
                    &config.clock,
                    warm.clone(),
                );
            }
            // A crash's left-over temp files, off the start's path (a server only: a `check`
            // run leaves the directory as it found it).
            if let (Some(dir), true) = (config.data_dir.clone(), config.alert_memory) {
                tokio::task::spawn_blocking(move || {
                    remove_stale_temp_files(&dir);
                    remove_stale_temp_files(&dir.join(floor::FOLDER));
                });
            }
        }
        let index = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.clone(), i))
            .collect();
        Ok(AppState {
            alerts,
            metrics,
            accounts: accounts.into(),
            static_dir: Arc::new(config.static_dir),
            mock_mode: matches!(config.mode, Mode::Mock),
            access: Arc::new(config.access),
            index: Arc::new(index),
            warm,
        })
    }

    /// Waits until every account's kept state has been read (at once after the first seconds
    /// of a start): `/metrics` shows the forecasts from the first scrape.
    pub async fn loaded(&self) {
        let mut warm = self.warm.clone();
        let _ = warm.wait_for(|done| *done).await;
    }

    /// The default account (the first).
    pub fn default_account(&self) -> &Arc<Account> {
        &self.accounts[0]
    }

    /// The account with this name.
    pub fn account(&self, name: &str) -> Option<&Arc<Account>> {
        self.index.get(name).map(|&i| &self.accounts[i])
    }
}
