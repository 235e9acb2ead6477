//! The state every handler shares: the accounts (each with its cache and upstream), the
//! metrics, the static directory.

use crate::accounts::account::Account;
use crate::alerts::alerting::{self, AlertAccount, Alerts};
use crate::config::access::Access;
use crate::config::{Config, Mode};
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
    /// A file of the data directory that the server must not start without reading (the
    /// alert memory) cannot be read: the message names it and why.
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
}

impl AppState {
    /// Everything for one configuration.
    pub fn new(config: Config) -> Result<AppState, AppError> {
        // An alert memory that exists but cannot be read would be replaced by an empty one at
        // the first alert, and every pending message and hysteresis with it: refuse to start
        // instead, naming the file (store::check_readable: a FIFO, a device, a file too large
        // to be one, a file without read permission).
        if let Some(dir) = config.data_dir.as_ref().filter(|_| config.alert_memory) {
            let path = dir.join(alerting::FILE_NAME);
            crate::store::check_readable(&path, crate::store::MAX_ALERT_FILE_BYTES).map_err(
                |why| {
                    AppError::DataDir(format!(
                        "the alert memory {} {why}; fix it or move it away (the server never overwrites it)",
                        crate::config::error::bare(&path.display().to_string())
                    ))
                },
            )?;
        }
        let clock = config.clock.clone();
        let ttl = config.cache_ttl;
        let store = Store::new(config.data_dir.clone());
        let accounts: Vec<Arc<Account>> = match &config.mode {
            Mode::Proxy(accounts) => accounts
                .iter()
                .map(|a| {
                    let proxy = Proxy::new(
                        a.provider.info().family,
                        &a.endpoint,
                        a.key.clone(),
                        config.upstream_timeout,
                    )
                    .map_err(AppError::HttpClient)?;
                    Ok(Arc::new(Account::new(
                        &a.name,
                        a.provider,
                        a.threshold,
                        Source::Proxy(proxy),
                        ttl,
                        clock.clone(),
                        store.clone(),
                    )))
                })
                .collect::<Result<_, AppError>>()?,
            Mode::Mock => MOCK_ACCOUNTS
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
        let alerts = Arc::new(Alerts::new(
            &watched,
            config.webhooks.clone(),
            config.data_dir.clone().filter(|_| config.alert_memory),
            Arc::clone(&metrics),
            config.clock.clone(),
            config.upstream_timeout,
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
            access: Arc::new(config.access),
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
