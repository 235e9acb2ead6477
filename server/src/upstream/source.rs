//! Where a reading comes from: the real API (proxy mode) or the simulated account (mock mode).
//! Both give a [`Verdict`], so everything after this point (cache, metrics, answer) is shared.
//!
//! One check of a thread plan (CaptchaAI) is two requests: the balance, then `threadsinfo`
//! (docs/API.md, "CaptchaAI threads"), one after the other on the same connection, both within
//! the check's one pass of the politeness floor. The second is not sent when the first found the
//! key rejected, the caller banned or rate limited, or the host failing ([`asks_threads`]): a
//! second request with a rejected key counts toward an IP ban, and a host that is down fails
//! it too; the check's threads outcome is then the balance's error.

use crate::upstream::answer::Verdict;
use crate::upstream::mock::MockAccount;
use crate::upstream::proxy::Proxy;
use captchaai_balance::error::{ApiError, ErrorKind};
use captchaai_balance::money::Money;
use captchaai_balance::protocol::{classify_for, classify_threads};
use captchaai_balance::threads::ThreadsOutcome;
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

/// True when a check whose balance request ended in `outcome` goes on to ask `threadsinfo`: a
/// balance, `ERROR_ZERO_BALANCE` and `ERROR_NO_SLOT_AVAILABLE` (which the threads explain), or a
/// code this server does not know; not a key problem, a ban, a rate limit or a transient
/// failure.
pub fn asks_threads(outcome: &Result<Money, ApiError>) -> bool {
    match outcome {
        Ok(_) => true,
        Err(error) => !matches!(
            error.code.kind(),
            ErrorKind::KeyProblem
                | ErrorKind::Banned
                | ErrorKind::RateLimited
                | ErrorKind::Transient
        ),
    }
}

impl Source {
    /// One upstream check for `account`: the balance and, with `threads` (a provider that sells
    /// thread plans), the plan's threads.
    pub async fn fetch(&self, account: &str, threads: bool) -> Verdict {
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
        match &reading.outcome {
            Ok(balance) => info!(account, balance = %balance, "upstream reading"),
            // `detail` is the core's key-free description ("HTTP 502", "ERROR_WRONG_USER_KEY"),
            // scrubbed of the key by the proxy.
            Err(error) => {
                warn!(account, code = error.code.as_str(), detail = %error.detail, "upstream reading is not a balance")
            }
        }
        if !threads {
            return reading;
        }
        let counts = match &reading.outcome {
            Err(error) if !asks_threads(&reading.outcome) => Err(error.clone()),
            _ => self.fetch_threads().await,
        };
        match &counts {
            Ok(t) => info!(
                account,
                threads = t.threads,
                working_threads = t.working_threads,
                "upstream threads"
            ),
            Err(error) => {
                warn!(account, code = error.code.as_str(), detail = %error.detail, "upstream threads not read")
            }
        }
        reading.with_threads(counts)
    }

    async fn fetch_threads(&self) -> ThreadsOutcome {
        match self {
            Source::Proxy(proxy) => proxy.fetch_threads().await,
            Source::Mock(mock) => {
                let reply = mock.threads_answer();
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                classify_threads(reply.status, Some(reply.content_type), &reply.body)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use captchaai_balance::error::ErrorCode;

    #[test]
    fn threads_are_asked_unless_the_balance_request_says_not_to() {
        #[rustfmt::skip]
        let cases = [
            (ErrorCode::ZeroBalance,     true),
            (ErrorCode::NoSlotAvailable, true),
            (ErrorCode::Unknown,         true),
            (ErrorCode::WrongKey,        false),
            (ErrorCode::KeyNotFound,     false),
            (ErrorCode::IpBanned,        false),
            (ErrorCode::IpNotAllowed,    false),
            (ErrorCode::RateLimited,     false),
            (ErrorCode::ServerError,     false),
            (ErrorCode::Timeout,         false),
            (ErrorCode::Malformed,       false),
        ];
        assert!(asks_threads(&Ok(Money::ZERO)));
        for (code, asks) in cases {
            assert_eq!(
                asks_threads(&Err(ApiError::new(code, ""))),
                asks,
                "{code:?}"
            );
        }
    }
}
