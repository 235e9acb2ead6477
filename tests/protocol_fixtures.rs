//! Every real-shaped answer in tests/fixtures/ through the reader of its protocol family
//! (api-bodies.json: 2captcha family; createtask-bodies.json: createTask family): balances come
//! out exact, everything else as the documented error code, never a panic, never a balance.

use captchaai_balance::money::Money;
use captchaai_balance::protocol::classify_for;
use captchaai_balance::provider::Family;
use serde_json::Value;

/// Bodies too large to write in the fixture file by hand.
fn expand(body: &str) -> String {
    match body {
        "DEEP" => "{\"a\":".repeat(100) + "1" + &"}".repeat(100),
        "LONGNUMBER" => "9".repeat(200),
        "LONGBODY" => format!(
            "{{\"errorId\":0,\"balance\":1,\"pad\":\"{}\"}}",
            "x".repeat(10_000)
        ),
        "LONGBODY2CAPTCHA" => format!(
            "{{\"status\":1,\"request\":\"1\",\"pad\":\"{}\"}}",
            "x".repeat(10_000)
        ),
        "LONGHTML" => format!("<html>{}</html>", "<p>busy</p>".repeat(5_000)),
        other => other.to_string(),
    }
}

#[test]
fn every_2captcha_fixture_classifies_as_documented() {
    check(
        Family::TwoCaptcha,
        include_str!("fixtures/api-bodies.json"),
        50,
    );
}

#[test]
fn every_createtask_fixture_classifies_as_documented() {
    check(
        Family::CreateTask,
        include_str!("fixtures/createtask-bodies.json"),
        40,
    );
}

fn check(family: Family, file: &str, at_least: usize) {
    let fixtures: Vec<Value> = serde_json::from_str(file).unwrap();
    assert!(fixtures.len() >= at_least);
    for f in &fixtures {
        let name = f["name"].as_str().unwrap();
        let status = f["status"].as_u64().unwrap() as u16;
        let body = expand(f["body"].as_str().unwrap());
        let got = classify_for(family, status, f["type"].as_str(), &body);
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
