//! Many accounts on one server: one HTTP client (one connection pool) for all of them, and the
//! first readings after a start spread over the provider's politeness floor instead of all
//! going to one API host at once. The figures at 10,000 accounts (time to serve, memory, file
//! descriptors, requests per key) are `make bench`'s (scripts/bench-scale.mjs), not a timed
//! test's.

mod common;

use captchaai_balance::provider::ProviderId;
use captchaai_balance_server::clock::Clock;
use captchaai_balance_server::config::AccountConfig;
use common::*;
use std::time::Duration;

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

/// Twelve accounts of one API host, watched from a fresh start: the first is read at once,
/// the others at even steps over CaptchaAI's one-minute floor (each with a jitter of its own
/// within its step), not all in the first second; by the end of the floor each was read once.
#[tokio::test]
async fn first_readings_are_spread_over_the_floor() {
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    let clock = Clock::manual_at(1_800_000_000_000);
    let mut config = accounts_config(many(12, &upstream));
    config.clock = clock.clone();
    config.watch = true;
    let _base = start(config).await;

    eventually("the first account's reading", || upstream.hits() >= 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(upstream.hits(), 1, "more than one account read at start");
    // Half the floor: the accounts whose step (5 s each) began by then.
    clock.advance(Duration::from_secs(30));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let half = upstream.hits();
    assert!(
        (6..=7).contains(&half),
        "{half} accounts read in half the floor"
    );
    // The end of the floor: every account once, none twice.
    clock.advance(Duration::from_millis(29_999));
    eventually("every account's first reading", || upstream.hits() == 12).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(upstream.hits(), 12);
}
