//! Where a reading comes from: the real API (proxy mode) or the simulated account (mock mode).
//! Both give a [`Verdict`], so everything after this point (cache, metrics, answer) is shared.

use crate::metrics::Metrics;
use crate::upstream::answer::Verdict;
use crate::upstream::mock::MockAccount;
use crate::upstream::proxy::Proxy;
use captchaai_balance::protocol::classify_for;
use std::sync::Arc;
use tracing::{info, warn};

/// The upstream of this server.
#[derive(Debug, Clone)]
pub enum Source {
    /// The real API.
    Proxy(Proxy),
    /// The simulated account.
    Mock(Arc<MockAccount>),
}

impl Source {
    /// One upstream reading for `account`, recorded in the metrics.
    pub async fn fetch(&self, metrics: &Metrics, account: &str) -> Verdict {
        let reading = match self {
            Source::Proxy(proxy) => proxy.fetch().await,
            Source::Mock(mock) => {
                let reply = mock.answer();
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                Verdict::from_outcome(classify_for(
                    mock.family(),
                    reply.status,
                    Some(reply.content_type),
                    &reply.body,
                ))
            }
        };
        metrics.record_upstream(account, &reading.outcome);
        match &reading.outcome {
            Ok(balance) => info!(account, balance = %balance, "upstream reading"),
            // `detail` is the core's key-free description ("HTTP 502", "ERROR_WRONG_USER_KEY"),
            // scrubbed of the key by the proxy.
            Err(error) => {
                warn!(account, code = error.code.as_str(), detail = %error.detail, "upstream reading is not a balance")
            }
        }
        reading
    }
}
