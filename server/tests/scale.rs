//! Many accounts on one server: one HTTP client (one connection pool) for all of them. The
//! figures at 10,000 accounts (time to serve, memory, file descriptors, requests per key) are
//! `make bench`'s (scripts/bench-scale.mjs), not a timed test's.

mod common;

use captchaai_balance::provider::ProviderId;
use captchaai_balance_server::config::AccountConfig;
use common::*;

/// `n` CaptchaAI accounts `acct-0` … on `upstream`, each with a key of its own.
fn many(n: usize, upstream: &Upstream) -> Vec<AccountConfig> {
    (0..n)
        .map(|i| {
            let key = format!("{:032x}", 0xcafe_0000_u64 + i as u64);
            account_config(
                &format!("acct-{i}"),
                ProviderId::CaptchaAi,
                &key,
                "1",
                upstream,
            )
        })
        .collect()
}

/// Thirty accounts read one after another reach their API over one kept-alive connection: the
/// server has one HTTP client and so one connection pool. (A client per account kept a
/// connection, and a file descriptor, open per account: thirty here.)
#[tokio::test]
async fn every_account_goes_through_one_client() {
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    let base = start(accounts_config(many(30, &upstream))).await;
    for i in 0..30 {
        let got = get(
            &base,
            &format!("/accounts/acct-{i}/res.php?action=getbalance&json=1"),
        )
        .await;
        assert_eq!(got.body, r#"{"status":1,"request":"3.21"}"#);
    }
    assert_eq!(upstream.hits(), 30);
    assert!(
        upstream.connections() <= 2,
        "{} connections for 30 accounts read one after another",
        upstream.connections()
    );
}
