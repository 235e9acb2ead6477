//! Prometheus metrics (`GET /metrics`, text format 0.0.4) with `prometheus-client`, under the
//! provider-neutral prefix `captcha_balance_`. Every account series carries `account` (its
//! name) and `provider` (the provider id):
//!
//! - `captcha_balance_usd`: the last good balance (NaN before the first one, so a
//!   "balance < 1" alert cannot fire on a server that has not read anything yet);
//! - `captcha_balance_threshold_usd`: the account's low-balance threshold, so one alert rule
//!   (`captcha_balance_usd < captcha_balance_threshold_usd`) covers every account;
//! - `captcha_balance_seconds_since_last_good_reading`: counted from server start until the
//!   first good reading, so "no good reading for 10 min" alerts also cover an account that
//!   never got one;
//! - `captcha_balance_runway_seconds`: seconds from the last good reading until the balance
//!   falls below the empty floor at the current spend rate (the core's forecast); NaN while the
//!   rate is unknown (not enough history yet), `+Inf` when nothing is spent, so a
//!   "runway < 1 day" alert neither fires on an idle account nor on a server that has not
//!   learnt the rate yet;
//! - `captcha_spend_usd_per_hour`: that spend rate (positive while the balance falls; NaN
//!   while unknown), from the exact decimal like the balance;
//! - `captcha_threads` and `captcha_threads_working`: a thread plan's threads and busy threads
//!   (CaptchaAI), from the latest `threadsinfo` reading; only for an account that has had one
//!   (a series that never existed cannot read as an expired plan of zero threads);
//!   `captcha_threads_upstream_requests_total`: the `threadsinfo` requests sent beside the
//!   balance's, so that every request a key costs upstream is counted;
//! - `captcha_balance_upstream_requests_total`, `captcha_balance_upstream_errors_total{code}`
//!   (the core's stable snake_case codes, every code pre-created at 0 so rates work from the
//!   start);
//! - `captcha_balance_requests_served_total{route,status}`: about this server's HTTP routes,
//!   not an account, so it has no account labels (route is a fixed set, never the raw path, so
//!   scanners cannot blow up the series count);
//! - `captcha_balance_webhook_deliveries_total{target,result}`: alert messages per webhook
//!   target (`target` is the name of the variable that holds its URL, never the URL) and
//!   `result` (`delivered`, `failed` for each failed attempt, `gave_up` when a message was
//!   dropped after retrying for a day, `dropped` when the outbox bound pushed it out, oldest
//!   first); `captcha_balance_webhook_pending{target}`: messages decided and not delivered yet,
//!   and `captcha_balance_webhook_pending_bytes{target}` the bytes of their bodies.
//!
//! Every account's series exist from the start (created from the configured list, never from a
//! request), so the label sets are bounded by the config file.
//!
//! An `ERROR_ZERO_BALANCE` answer counts as an error *and* as a good reading of 0: the account
//! state is known, the monitor only has no money to report. Not from a thread plan whose money
//! remains: there it means every thread busy or no active plan (the core's diagnosis), and the
//! caller passes no reading.

use crate::clock::Clock;
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::forecast::Runway;
use captchaai_balance::money::Money;
use captchaai_balance::threads::Threads;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The labels of every account series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountLabels {
    /// The account's name.
    pub account: String,
    /// The provider id (`captchaai`, `anticaptcha` …).
    pub provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    account: String,
    provider: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    target: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

/// The results of [`Metrics::record_delivery`].
pub const DELIVERY_RESULTS: [&str; 4] = ["delivered", "failed", "gave_up", "dropped"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServedLabels {
    route: &'static str,
    status: u16,
}

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Debug)]
struct AccountSeries {
    labels: AccountLabels,
    last_good: Mutex<Option<Instant>>,
}

/// All metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    balance: Family<AccountLabels, FloatGauge>,
    since_good: Family<AccountLabels, FloatGauge>,
    runway: Family<AccountLabels, FloatGauge>,
    spend: Family<AccountLabels, FloatGauge>,
    threads: Family<AccountLabels, Gauge>,
    threads_working: Family<AccountLabels, Gauge>,
    threads_requests: Family<AccountLabels, Counter>,
    upstream_requests: Family<AccountLabels, Counter>,
    upstream_errors: Family<ErrorLabels, Counter>,
    served: Family<ServedLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    pending: Family<TargetLabels, Gauge>,
    pending_bytes: Family<TargetLabels, Gauge>,
    accounts: Vec<AccountSeries>,
    /// Account name -> its place in `accounts`.
    index: HashMap<String, usize>,
    clock: Clock,
    started: Instant,
}

impl Metrics {
    /// Registers every metric, with the series of each account (labels, threshold).
    pub fn new(clock: Clock, accounts: &[(AccountLabels, Money)]) -> Metrics {
        let mut registry = Registry::default();
        let balance = Family::<AccountLabels, FloatGauge>::default();
        let threshold = Family::<AccountLabels, FloatGauge>::default();
        let since_good = Family::<AccountLabels, FloatGauge>::default();
        let runway = Family::<AccountLabels, FloatGauge>::default();
        let spend = Family::<AccountLabels, FloatGauge>::default();
        let upstream_requests = Family::<AccountLabels, Counter>::default();
        let upstream_errors = Family::<ErrorLabels, Counter>::default();
        for (labels, low) in accounts {
            balance.get_or_create(labels).set(f64::NAN);
            threshold.get_or_create(labels).set(low.to_f64());
            let _ = since_good.get_or_create(labels);
            runway.get_or_create(labels).set(f64::NAN);
            spend.get_or_create(labels).set(f64::NAN);
            let _ = upstream_requests.get_or_create(labels);
            for code in ErrorCode::all() {
                let _ = upstream_errors.get_or_create(&error_labels(labels, code));
            }
        }
        let served = Family::<ServedLabels, Counter>::default();
        let threads = Family::<AccountLabels, Gauge>::default();
        let threads_working = Family::<AccountLabels, Gauge>::default();
        let threads_requests = Family::<AccountLabels, Counter>::default();
        registry.register(
            "captcha_threads_upstream_requests",
            "threadsinfo requests sent upstream beside the balance's (thread plans only; in mock mode: to the simulated account)",
            threads_requests.clone(),
        );
        registry.register(
            "captcha_threads",
            "A thread plan's threads from the latest threadsinfo reading (0: no active plan); only for accounts with a reading",
            threads.clone(),
        );
        registry.register(
            "captcha_threads_working",
            "A thread plan's busy threads from the latest threadsinfo reading; only for accounts with a reading",
            threads_working.clone(),
        );
        registry.register(
            "captcha_balance_usd",
            "Last good balance in USD (NaN before the first good reading)",
            balance.clone(),
        );
        registry.register(
            "captcha_balance_threshold_usd",
            "The account's low-balance threshold in USD",
            threshold,
        );
        registry.register(
            "captcha_balance_seconds_since_last_good_reading",
            "Seconds since the last good balance reading (since server start if none yet)",
            since_good.clone(),
        );
        registry.register(
            "captcha_balance_runway_seconds",
            "Seconds from the last good reading until the balance is empty at the current spend rate (NaN while unknown, +Inf when nothing is spent)",
            runway.clone(),
        );
        registry.register(
            "captcha_spend_usd_per_hour",
            "Spend rate in USD per hour from the balance history (NaN until enough history)",
            spend.clone(),
        );
        registry.register(
            "captcha_balance_upstream_requests",
            "Balance requests sent upstream (in mock mode: to the simulated account)",
            upstream_requests.clone(),
        );
        registry.register(
            "captcha_balance_upstream_errors",
            "Upstream readings that were not a balance, by stable error code",
            upstream_errors.clone(),
        );
        registry.register(
            "captcha_balance_requests_served",
            "HTTP requests answered by this server, by route and status",
            served.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let pending = Family::<TargetLabels, Gauge>::default();
        let pending_bytes = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "captcha_balance_webhook_deliveries",
            "Alert messages to webhook targets, by target (the URL's variable name) and result",
            deliveries.clone(),
        );
        registry.register(
            "captcha_balance_webhook_pending",
            "Alert messages decided and not delivered yet, by webhook target",
            pending.clone(),
        );
        registry.register(
            "captcha_balance_webhook_pending_bytes",
            "Bytes of the alert messages decided and not delivered yet, by webhook target",
            pending_bytes.clone(),
        );
        let started = clock.now();
        Metrics {
            deliveries,
            pending,
            pending_bytes,
            registry,
            balance,
            since_good,
            runway,
            spend,
            threads,
            threads_working,
            threads_requests,
            upstream_requests,
            upstream_errors,
            served,
            accounts: accounts
                .iter()
                .map(|(labels, _)| AccountSeries {
                    labels: labels.clone(),
                    last_good: Mutex::new(None),
                })
                .collect(),
            index: accounts
                .iter()
                .enumerate()
                .map(|(i, (labels, _))| (labels.account.clone(), i))
                .collect(),
            clock,
            started,
        }
    }

    fn series(&self, account: &str) -> Option<&AccountSeries> {
        self.index.get(account).map(|&i| &self.accounts[i])
    }

    /// Shows a balance read before this start (kept in the data directory), `age` ago, as the
    /// last good reading: a restart within the politeness floor answers from it instead of
    /// asking again, and the gauges say so. Not an upstream request.
    pub fn restore_balance(&self, account: &str, balance: Money, age: Duration) {
        let Some(series) = self.series(account) else {
            return;
        };
        self.balance
            .get_or_create(&series.labels)
            .set(balance.to_f64());
        let at = self.clock.now().checked_sub(age).unwrap_or(self.started);
        *series.last_good.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    /// Records one upstream reading of a configured account (others are ignored: the label
    /// sets stay those of the config): the request, its error, and `reading`, the balance it
    /// gave (the account's: a balance, 0 for `ERROR_ZERO_BALANCE` unless a thread plan's money
    /// remains).
    pub fn record_upstream(
        &self,
        account: &str,
        outcome: &Result<Money, ApiError>,
        reading: Option<Money>,
    ) {
        let Some(series) = self.series(account) else {
            return;
        };
        let labels = &series.labels;
        self.upstream_requests.get_or_create(labels).inc();
        if let Err(error) = outcome {
            self.upstream_errors
                .get_or_create(&error_labels(labels, error.code))
                .inc();
        }
        if let Some(balance) = reading {
            self.balance.get_or_create(labels).set(balance.to_f64());
            *series.last_good.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.clock.now());
        }
    }

    /// Counts one `threadsinfo` request sent upstream, whatever it answered. Unknown accounts
    /// are ignored.
    pub fn record_threads_request(&self, account: &str) {
        if let Some(series) = self.series(account) {
            self.threads_requests.get_or_create(&series.labels).inc();
        }
    }

    /// Records a thread plan's reading (a failed one changes nothing: the last reading stands,
    /// as the balance's does). Unknown accounts are ignored.
    pub fn record_threads(&self, account: &str, counts: Threads) {
        let Some(series) = self.series(account) else {
            return;
        };
        self.threads
            .get_or_create(&series.labels)
            .set(i64::from(counts.threads));
        self.threads_working
            .get_or_create(&series.labels)
            .set(i64::from(counts.working_threads));
    }

    /// Records an account's forecast: the spend rate (`None`: not enough history) and the
    /// runway at it (`None` with a rate: nothing is spent). Unknown accounts are ignored.
    pub fn record_forecast(&self, account: &str, spend: Option<Money>, runway: Option<Runway>) {
        let Some(series) = self.series(account) else {
            return;
        };
        let (spend, runway) = match (spend, runway) {
            (None, _) => (f64::NAN, f64::NAN),
            (Some(rate), None) => (rate.to_f64(), f64::INFINITY),
            // Whole seconds, as `/v1/accounts` gives them (exact in an f64 up to 2^53 s).
            (Some(rate), Some(r)) => (rate.to_f64(), (r.to_empty_ms / 1000) as f64),
        };
        self.spend.get_or_create(&series.labels).set(spend);
        self.runway.get_or_create(&series.labels).set(runway);
    }

    /// Creates the series of these webhook targets (their `url_env` names) at 0, so rates work
    /// from the start.
    pub fn add_targets(&self, targets: &[&str]) {
        for target in targets {
            for result in DELIVERY_RESULTS {
                let _ = self.deliveries.get_or_create(&DeliveryLabels {
                    target: (*target).to_string(),
                    result,
                });
            }
            let labels = TargetLabels {
                target: (*target).to_string(),
            };
            let _ = self.pending.get_or_create(&labels);
            let _ = self.pending_bytes.get_or_create(&labels);
        }
    }

    /// Counts one delivery attempt's `result` (one of [`DELIVERY_RESULTS`]) for a target.
    pub fn record_delivery(&self, target: &str, result: &'static str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                target: target.to_string(),
                result,
            })
            .inc();
    }

    /// Counts `n` messages of a target with `result` (`dropped` at start: a migrated or
    /// restored outbox over its bound).
    pub fn record_deliveries(&self, target: &str, result: &'static str, n: u64) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                target: target.to_string(),
                result,
            })
            .inc_by(n);
    }

    /// Sets how many messages, and how many bytes of bodies, wait for a target.
    pub fn set_pending(&self, target: &str, count: usize, bytes: usize) {
        let labels = TargetLabels {
            target: target.to_string(),
        };
        self.pending
            .get_or_create(&labels)
            .set(i64::try_from(count).unwrap_or(i64::MAX));
        self.pending_bytes
            .get_or_create(&labels)
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Records one answered HTTP request.
    pub fn record_served(&self, route: &'static str, status: u16) {
        self.served
            .get_or_create(&ServedLabels { route, status })
            .inc();
    }

    /// The text exposition, with the staleness gauges brought up to date.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let now = self.clock.now();
        for series in &self.accounts {
            let since = series
                .last_good
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or(self.started);
            self.since_good
                .get_or_create(&series.labels)
                .set(now.saturating_duration_since(since).as_secs_f64());
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn error_labels(labels: &AccountLabels, code: ErrorCode) -> ErrorLabels {
    ErrorLabels {
        account: labels.account.clone(),
        provider: labels.provider,
        code: code.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn labels(account: &str, provider: &'static str) -> AccountLabels {
        AccountLabels {
            account: account.into(),
            provider,
        }
    }

    #[test]
    fn exposes_balance_staleness_and_counters_per_account() {
        let clock = Clock::manual();
        let metrics = Metrics::new(
            clock.clone(),
            &[
                (labels("prod", "captchaai"), Money::from_cents(500)),
                (labels("staging", "anticaptcha"), Money::from_cents(100)),
            ],
        );
        let text = metrics.encode().expect("encode");
        assert!(
            text.contains(r#"captcha_balance_usd{account="prod",provider="captchaai"} NaN"#),
            "{text}"
        );
        assert!(
            text.contains(r#"captcha_balance_upstream_errors_total{account="staging",provider="anticaptcha",code="timeout"} 0"#),
            "{text}"
        );
        clock.advance(Duration::from_secs(5));
        let read = Money::parse("12.345").expect("money");
        metrics.record_upstream("prod", &Ok(read), Some(read));
        metrics.record_upstream(
            "staging",
            &Err(ApiError::new(ErrorCode::Timeout, "timeout")),
            None,
        );
        metrics.record_upstream("nobody", &Ok(Money::ZERO), Some(Money::ZERO));
        assert!(
            !metrics
                .encode()
                .expect("encode")
                .contains("captcha_threads{"),
            "no series before a reading"
        );
        metrics.record_threads_request("prod");
        metrics.record_threads(
            "prod",
            Threads {
                threads: 10,
                working_threads: 3,
            },
        );
        clock.advance(Duration::from_secs(7));
        metrics.record_served("res_php", 200);
        let text = metrics.encode().expect("encode");
        #[rustfmt::skip]
        let lines = [
            r#"captcha_balance_usd{account="prod",provider="captchaai"} 12.345"#,
            r#"captcha_balance_usd{account="staging",provider="anticaptcha"} NaN"#,
            r#"captcha_balance_threshold_usd{account="prod",provider="captchaai"} 5.0"#,
            r#"captcha_balance_seconds_since_last_good_reading{account="prod",provider="captchaai"} 7.0"#,
            r#"captcha_balance_seconds_since_last_good_reading{account="staging",provider="anticaptcha"} 12.0"#,
            r#"captcha_balance_upstream_requests_total{account="prod",provider="captchaai"} 1"#,
            r#"captcha_balance_upstream_requests_total{account="staging",provider="anticaptcha"} 1"#,
            r#"captcha_balance_upstream_errors_total{account="staging",provider="anticaptcha",code="timeout"} 1"#,
            r#"captcha_balance_requests_served_total{route="res_php",status="200"} 1"#,
            r#"captcha_threads{account="prod",provider="captchaai"} 10"#,
            r#"captcha_threads_working{account="prod",provider="captchaai"} 3"#,
            r#"captcha_threads_upstream_requests_total{account="prod",provider="captchaai"} 1"#,
        ];
        for line in lines {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("nobody"), "{text}");
        assert!(
            !text.contains(r#"captcha_threads{account="staging""#),
            "{text}"
        );
        assert!(
            !text.contains("captchaai_"),
            "no series keeps the old prefix:\n{text}"
        );
    }
}
