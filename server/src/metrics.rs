//! Prometheus metrics (`GET /metrics`, text format 0.0.4) with `prometheus-client`.
//!
//! - `captchaai_balance_usd`: the last good balance (NaN before the first one, so a
//!   "balance < 1" alert cannot fire on a server that has not read anything yet);
//! - `captchaai_seconds_since_last_good_reading`: counted from server start until the first
//!   good reading, so "no good reading for 10 min" alerts also cover a server that never got one;
//! - `captchaai_upstream_requests_total`, `captchaai_upstream_errors_total{code}` (the core's
//!   stable snake_case codes, every code pre-created at 0 so rates work from the start);
//! - `captchaai_requests_served_total{route,status}` (route is a fixed set, never the raw
//!   path, so scanners cannot blow up the series count).
//!
//! An `ERROR_ZERO_BALANCE` answer counts as an error *and* as a good reading of 0: the account
//! state is known, the monitor only has no money to report.

use crate::clock::Clock;
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::money::Money;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Instant;

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServedLabels {
    route: &'static str,
    status: u16,
}

/// All metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    balance: Gauge<f64, AtomicU64>,
    since_good: Gauge<f64, AtomicU64>,
    upstream_requests: Counter,
    upstream_errors: Family<CodeLabels, Counter>,
    served: Family<ServedLabels, Counter>,
    clock: Clock,
    started: Instant,
    last_good: Mutex<Option<Instant>>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new(clock: Clock) -> Metrics {
        let mut registry = Registry::default();
        let balance = Gauge::<f64, AtomicU64>::default();
        balance.set(f64::NAN);
        let since_good = Gauge::<f64, AtomicU64>::default();
        let upstream_requests = Counter::default();
        let upstream_errors = Family::<CodeLabels, Counter>::default();
        for code in ErrorCode::all() {
            let _ = upstream_errors.get_or_create(&CodeLabels {
                code: code.as_str(),
            });
        }
        let served = Family::<ServedLabels, Counter>::default();
        registry.register(
            "captchaai_balance_usd",
            "Last good CaptchaAI balance in USD (NaN before the first good reading)",
            balance.clone(),
        );
        registry.register(
            "captchaai_seconds_since_last_good_reading",
            "Seconds since the last good balance reading (since server start if none yet)",
            since_good.clone(),
        );
        registry.register(
            "captchaai_upstream_requests",
            "Balance requests sent upstream (in mock mode: to the simulated account)",
            upstream_requests.clone(),
        );
        registry.register(
            "captchaai_upstream_errors",
            "Upstream readings that were not a balance, by stable error code",
            upstream_errors.clone(),
        );
        registry.register(
            "captchaai_requests_served",
            "HTTP requests answered by this server, by route and status",
            served.clone(),
        );
        let started = clock.now();
        Metrics {
            registry,
            balance,
            since_good,
            upstream_requests,
            upstream_errors,
            served,
            clock,
            started,
            last_good: Mutex::new(None),
        }
    }

    /// Records one upstream reading.
    pub fn record_upstream(&self, outcome: &Result<Money, ApiError>) {
        self.upstream_requests.inc();
        let good = match outcome {
            Ok(balance) => Some(*balance),
            Err(error) => {
                self.upstream_errors
                    .get_or_create(&CodeLabels {
                        code: error.code.as_str(),
                    })
                    .inc();
                (error.code == ErrorCode::ZeroBalance).then_some(Money::ZERO)
            }
        };
        if let Some(balance) = good {
            self.balance.set(balance.to_f64());
            *self.last_good.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.clock.now());
        }
    }

    /// Records one answered HTTP request.
    pub fn record_served(&self, route: &'static str, status: u16) {
        self.served
            .get_or_create(&ServedLabels { route, status })
            .inc();
    }

    /// The text exposition, with the staleness gauge brought up to date.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let since = self
            .last_good
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(self.started);
        self.since_good.set(
            self.clock
                .now()
                .saturating_duration_since(since)
                .as_secs_f64(),
        );
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn exposes_balance_staleness_and_counters() {
        let clock = Clock::manual();
        let metrics = Metrics::new(clock.clone());
        let text = metrics.encode().expect("encode");
        assert!(text.contains("captchaai_balance_usd NaN"), "{text}");
        assert!(
            text.contains("captchaai_upstream_errors_total{code=\"timeout\"} 0"),
            "{text}"
        );
        clock.advance(Duration::from_secs(5));
        metrics.record_upstream(&Ok(Money::parse("12.345").expect("money")));
        metrics.record_upstream(&Err(ApiError::new(ErrorCode::Timeout, "timeout")));
        clock.advance(Duration::from_secs(7));
        metrics.record_served("res_php", 200);
        let text = metrics.encode().expect("encode");
        for line in [
            "captchaai_balance_usd 12.345",
            "captchaai_seconds_since_last_good_reading 7.0",
            "captchaai_upstream_requests_total 2",
            "captchaai_upstream_errors_total{code=\"timeout\"} 1",
            "captchaai_requests_served_total{route=\"res_php\",status=\"200\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
