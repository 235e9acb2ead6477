//! Every real-shaped answer in tests/fixtures/api-bodies.json through `classify`: balances come
//! out exact, everything else as the documented error code, never a panic, never a balance.

use captchaai_balance::money::Money;
use captchaai_balance::protocol::classify;
use serde_json::Value;

/// Bodies too large to write in the fixture file by hand.
fn expand(body: &str) -> String {
    match body {
        "DEEP" => "{\"a\":".repeat(100) + "1" + &"}".repeat(100),
        "LONGNUMBER" => "9".repeat(200),
        "LONGBODY" => format!(
            "{{\"status\":1,\"request\":\"1\",\"pad\":\"{}\"}}",
            "x".repeat(10_000)
        ),
        "LONGHTML" => format!("<html>{}</html>", "<p>busy</p>".repeat(5_000)),
        other => other.to_string(),
    }
}

#[test]
fn every_fixture_classifies_as_documented() {
    let fixtures: Vec<Value> =
        serde_json::from_str(include_str!("fixtures/api-bodies.json")).unwrap();
    assert!(fixtures.len() >= 50);
    for f in &fixtures {
        let name = f["name"].as_str().unwrap();
        let status = f["status"].as_u64().unwrap() as u16;
        let body = expand(f["body"].as_str().unwrap());
        let got = classify(status, f["type"].as_str(), &body);
        match (f.get("balance"), got) {
            (Some(want), Ok(balance)) => {
                assert_eq!(
                    balance,
                    Money::parse(want.as_str().unwrap()).unwrap(),
                    "{name}"
                );
            }
            (None, Err(error)) => {
                assert_eq!(error.code.as_str(), f["code"].as_str().unwrap(), "{name}");
                if let Some(raw) = f.get("detail") {
                    assert_eq!(error.detail, raw.as_str().unwrap(), "{name}");
                }
                assert!(
                    error.detail.len() <= 80 && !error.detail.contains('<'),
                    "{name}: raw echoes the body: {}",
                    error.detail
                );
            }
            (want, got) => panic!("{name}: wanted {want:?}, got {got:?}"),
        }
    }
}
