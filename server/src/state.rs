//! The state every handler shares: the accounts (each with its cache and upstream), the
//! metrics, the static directory.

use crate::accounts::account::Account;
use crate::alerts::alerting::{AlertAccount, Alerts};
use crate::alerts::outbox::Limits;
use crate::alerts::webhook::Sender;
use crate::config::{Config, Mode};
use crate::http_client::http_client;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::upstream::mock::{MockAccount, MOCK_ACCOUNTS};
use crate::upstream::proxy::Proxy;
use crate::upstream::source::Source;
use captchaai_balance::money::Money;
use captchaai_balance::settings::DEFAULT_PREDICTIVE_HOURS;
use std::path::PathBuf;
use std::sync::Arc;

/// Why the app could not be built.
#[derive(Debug)]
pub enum AppError {
    /// The HTTP client for the upstream could not start (TLS set-up).
    HttpClient(reqwest::Error),
    /// Proxy mode with an empty account list.
    NoAccount,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::HttpClient(e) => write!(f, "cannot create the upstream HTTP client: {e}"),
            AppError::NoAccount => f.write_str("no account to watch"),
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
}

impl AppState {
    /// Everything for one configuration: one HTTP client for every upstream and webhook (one
    /// connection pool, one TLS set-up), and per account only its cache and memory.
    pub fn new(config: Config) -> Result<AppState, AppError> {
        let clock = config.clock.clone();
        let ttl = config.cache_ttl;
        let store = Store::new(config.data_dir.clone());
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
                    Arc::new(Account::new(
                        &a.name,
                        a.provider,
                        a.threshold,
                        Source::Proxy(proxy),
                        ttl,
                        clock.clone(),
                        store.clone(),
                    ))
                })
                .collect(),
            (Mode::Proxy(_), None) => Vec::new(),
            (Mode::Mock, _) => MOCK_ACCOUNTS
                .iter()
                .map(|spec| {
                    let mock =
                        MockAccount::with(clock.clone(), spec.provider.info().family, spec.preset);
                    Arc::new(Account::new(
                        spec.name,
                        spec.provider,
                        Money::from_cents(spec.threshold_cents),
                        Source::Mock(Arc::new(mock)),
                        ttl,
                        clock.clone(),
                        store.clone(),
                    ))
                })
                .collect(),
        };
        if accounts.is_empty() {
            return Err(AppError::NoAccount);
        }
        let series: Vec<_> = accounts.iter().map(|a| (a.labels(), a.threshold)).collect();
        let metrics = Arc::new(Metrics::new(clock, &series));
        // A history read back from the data directory speaks at once, before the first reading.
        for account in &accounts {
            let forecast = account.forecast();
            metrics.record_forecast(&account.name, forecast.spend_per_hour, forecast.runway);
        }
        // The horizon is a config file setting; simulated accounts keep the default.
        let predictive_hours = |name: &str| match &config.mode {
            Mode::Proxy(configured) => configured
                .iter()
                .find(|a| a.name == name)
                .map_or(DEFAULT_PREDICTIVE_HOURS, |a| a.predictive_hours),
            Mode::Mock => DEFAULT_PREDICTIVE_HOURS,
        };
        let watched: Vec<_> = accounts
            .iter()
            .map(|a| AlertAccount {
                name: a.name.clone(),
                provider: a.provider,
                threshold: a.threshold,
                predictive_hours: predictive_hours(&a.name),
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
            account.set_alerts(Arc::clone(&alerts));
        }
        // Tasks need a runtime; built outside one (a unit test), the server only answers.
        if tokio::runtime::Handle::try_current().is_ok() {
            alerts.start_delivery();
            if config.watch {
                crate::accounts::watch::start(&accounts, &metrics, &alerts, &config.clock);
            }
        }
        Ok(AppState {
            alerts,
            metrics,
            accounts: accounts.into(),
            static_dir: Arc::new(config.static_dir),
            mock_mode: matches!(config.mode, Mode::Mock),
        })
    }

    /// The default account (the first).
    pub fn default_account(&self) -> &Arc<Account> {
        &self.accounts[0]
    }

    /// The account with this name.
    pub fn account(&self, name: &str) -> Option<&Arc<Account>> {
        self.accounts.iter().find(|a| a.name == name)
    }
}
