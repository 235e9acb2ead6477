//! The state every handler shares: the cache slot, the upstream, the metrics.

use crate::answer::Verdict;
use crate::cache::SingleFlight;
use crate::config::{Config, Mode};
use crate::metrics::Metrics;
use crate::mock::MockAccount;
use crate::proxy::Proxy;
use crate::source::Source;
use crate::AppError;
use captchaai_balance::error::ErrorCode;
use std::path::PathBuf;
use std::sync::Arc;

/// Shared, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The one cached reading.
    pub cache: Arc<SingleFlight<Arc<Verdict>>>,
    /// Real API or simulated account.
    pub source: Arc<Source>,
    /// The simulated account, in mock mode.
    pub mock: Option<Arc<MockAccount>>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Built widget files.
    pub static_dir: Arc<PathBuf>,
}

impl AppState {
    /// Everything for one configuration.
    pub fn new(config: Config) -> Result<AppState, AppError> {
        let (source, mock) = match config.mode {
            Mode::Proxy(key) => {
                let proxy = Proxy::new(&config.upstream, key, config.upstream_timeout)
                    .map_err(AppError::HttpClient)?;
                (Source::Proxy(proxy), None)
            }
            Mode::Mock => {
                let account = Arc::new(MockAccount::new(config.clock.clone()));
                (Source::Mock(Arc::clone(&account)), Some(account))
            }
        };
        Ok(AppState {
            cache: SingleFlight::new(config.cache_ttl, config.clock.clone()),
            source: Arc::new(source),
            mock,
            metrics: Arc::new(Metrics::new(config.clock)),
            static_dir: Arc::new(config.static_dir),
        })
    }

    /// The verdict on the balance: cached, or shared with the fetch in flight, or fetched now.
    pub async fn verdict(&self) -> Arc<Verdict> {
        let source = Arc::clone(&self.source);
        let metrics = Arc::clone(&self.metrics);
        let reading = self
            .cache
            .get(move || async move { Arc::new(source.fetch(&metrics).await) })
            .await;
        reading
            .unwrap_or_else(|| Arc::new(Verdict::failure(ErrorCode::ServerError, "internal error")))
    }
}
