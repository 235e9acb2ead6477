//! `GET /v1/budget`: the preflight a script asks before a batch. The core's figures from the
//! account's last good reading, exact decimals, a 400 naming each bad parameter, the 404 of
//! `/v1/accounts/{name}`, a 503 before any good reading, and the headers of every /v1 route.

mod common;

use captchaai_balance::provider::{Family, ProviderId};
use captchaai_balance_server::config::parse_accounts;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn answers_enough_and_not_enough_in_exact_decimals() {
    let production = Upstream::start(Behaviour::Balance("12.345")).await;
    let small = Upstream::start(Behaviour::Balance("1.00")).await;
    let base = start(accounts_config(vec![
        account_config("production", ProviderId::CaptchaAi, KEY, "5", &production),
        account_config("small", ProviderId::CaptchaAi, KEY2, "5", &small),
    ]))
    .await;

    // Without `account`: the default (first) account.
    let got = get(&base, "/v1/budget?type=recaptcha_v2&quantity=1000").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["cache-control"], "no-store");
    assert!(
        !got.headers.contains_key("access-control-allow-origin"),
        "same-origin only by default"
    );
    assert_eq!(
        got.json(),
        json!({"account": "production", "balance": "12.345", "rate": "0.003", "cost": "3", "covered": 4115, "shortfall": "0", "enough": true, "level": "ok", "runwaySeconds": null})
    );

    let got = get(
        &base,
        "/v1/budget?account=small&type=recaptcha_v3&quantity=500",
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.json(),
        json!({"account": "small", "balance": "1", "rate": "0.004", "cost": "2", "covered": 250, "shortfall": "1", "enough": false, "level": "low", "runwaySeconds": null})
    );

    // Exact to the nano-dollar: 0.003 × 999,999 against 12.345.
    let got = get(&base, "/v1/budget?type=image&quantity=1000000").await;
    assert_eq!(
        (
            got.json()["cost"].clone(),
            got.json()["shortfall"].clone(),
            got.json()["covered"].clone()
        ),
        (json!("1000"), json!("987.655"), json!(12345))
    );
    let got = get(&base, "/v1/budget?type=recaptcha_v2&quantity=4115").await;
    assert_eq!(
        (got.json()["cost"].clone(), got.json()["enough"].clone()),
        (json!("12.345"), json!(true))
    );
    let got = get(&base, "/v1/budget?type=recaptcha_v2&quantity=4116").await;
    assert_eq!(
        (
            got.json()["shortfall"].clone(),
            got.json()["enough"].clone()
        ),
        (json!("0.003"), json!(false))
    );

    // Read through each account's cache: one upstream request each, whatever was asked.
    assert_eq!((production.hits(), small.hits()), (1, 1));
    let metrics = get(&base, "/metrics").await.body;
    assert_eq!(
        metric(
            &metrics,
            "captcha_balance_requests_served_total{route=\"v1_budget\",status=\"200\"}"
        )
        .as_deref(),
        Some("5")
    );
}

#[tokio::test]
async fn every_bad_parameter_is_a_400_that_names_it() {
    let upstream = Upstream::start(Behaviour::Balance("12.345")).await;
    let other = Upstream::start_family(Family::CreateTask, Behaviour::Balance("3")).await;
    let base = start(accounts_config(vec![
        account_config("production", ProviderId::CaptchaAi, KEY, "5", &upstream),
        account_config("anti", ProviderId::AntiCaptcha, KEY2, "5", &other),
    ]))
    .await;
    #[rustfmt::skip]
    let cases = [
        ("/v1/budget?quantity=5",                                  "type"),
        ("/v1/budget?type=&quantity=5",                            "type"),
        ("/v1/budget?type=hcaptcha&quantity=5",                    "type"),
        ("/v1/budget?type=RECAPTCHA_V2&quantity=5",                "type"),
        ("/v1/budget?type=image&type=bls&quantity=5",              "type"),
        ("/v1/budget?account=anti&type=image&quantity=5",          "type"),
        ("/v1/budget?type=image",                                  "quantity"),
        ("/v1/budget?type=image&quantity=",                        "quantity"),
        ("/v1/budget?type=image&quantity=0",                       "quantity"),
        ("/v1/budget?type=image&quantity=1000001",                 "quantity"),
        ("/v1/budget?type=image&quantity=-1",                      "quantity"),
        ("/v1/budget?type=image&quantity=%2B5",                    "quantity"),
        ("/v1/budget?type=image&quantity=1.5",                     "quantity"),
        ("/v1/budget?type=image&quantity=1e3",                     "quantity"),
        ("/v1/budget?type=image&quantity=99999999999999999999999", "quantity"),
        ("/v1/budget?type=image&quantity=5&quantity=6",            "quantity"),
        ("/v1/budget?account=production&account=anti&type=image&quantity=5", "account"),
    ];
    for (path, parameter) in cases {
        let got = get(&base, path).await;
        assert_eq!(got.status, 400, "{path}: {}", got.body);
        assert_eq!(got.headers["content-type"], "application/json", "{path}");
        assert!(
            !got.headers.contains_key("access-control-allow-origin"),
            "{path}"
        );
        assert_eq!(got.json()["parameter"], parameter, "{path}");
        assert!(
            got.json()["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}"
        );
    }
    // The edges are accepted.
    for quantity in ["1", "1000000"] {
        let path = format!("/v1/budget?type=image&quantity={quantity}&_=17");
        assert_eq!(get(&base, &path).await.status, 200, "{path}");
    }
}

/// An account's own prices per 1,000 solves (accounts.toml, `price_per_1000`) are its rates,
/// a thousandth each: for a provider with no example rates (Anti-Captcha, a custom endpoint)
/// they are what makes an answer possible, and for CaptchaAI they replace the examples of the
/// types they name and leave the others.
#[tokio::test]
async fn the_accounts_own_prices_are_its_rates() {
    let captchaai = Upstream::start(Behaviour::Balance("12.345")).await;
    let anti = Upstream::start_family(Family::CreateTask, Behaviour::Balance("3")).await;
    let own = Upstream::start(Behaviour::Balance("1")).await;
    let text = format!(
        r#"
[[account]]
name = "production"
provider = "captchaai"
key_env = "KEY_A"
endpoint = "{}"

[account.price_per_1000]
recaptcha_v2 = "2.99"

[[account]]
name = "anti"
provider = "anticaptcha"
key_env = "KEY_B"
endpoint = "{}"
price_per_1000 = {{ image = "0.7" }}

[[account]]
name = "own"
provider = "custom-2captcha"
key_env = "KEY_C"
endpoint = "{}"
price_per_1000 = {{ turnstile = "1.2345" }}
"#,
        captchaai.url, anti.url, own.url
    );
    let env = |name: &str| match name {
        "KEY_A" => Some(KEY.to_string()),
        "KEY_B" => Some(KEY2.to_string()),
        "KEY_C" => Some(CLIENT_KEY.to_string()),
        _ => None,
    };
    let accounts =
        parse_accounts(std::path::Path::new("accounts.toml"), &text, &env).expect("valid");
    let base = start(accounts_config(accounts)).await;

    #[rustfmt::skip]
    let cases = [
        ("account=production&type=recaptcha_v2&quantity=1000", json!({"account": "production", "balance": "12.345", "rate": "0.00299", "cost": "2.99", "covered": 4128, "shortfall": "0", "enough": true, "level": "ok", "runwaySeconds": null})),
        // A type the account names no price for: CaptchaAI's example rate.
        ("account=production&type=recaptcha_v3&quantity=1000", json!({"account": "production", "balance": "12.345", "rate": "0.004", "cost": "4", "covered": 3086, "shortfall": "0", "enough": true, "level": "ok", "runwaySeconds": null})),
        ("account=anti&type=image&quantity=5000",              json!({"account": "anti", "balance": "3", "rate": "0.0007", "cost": "3.5", "covered": 4285, "shortfall": "0.5", "enough": false, "level": "ok", "runwaySeconds": null})),
        ("account=own&type=turnstile&quantity=810",            json!({"account": "own", "balance": "1", "rate": "0.0012345", "cost": "0.999945", "covered": 810, "shortfall": "0", "enough": true, "level": "ok", "runwaySeconds": null})),
    ];
    for (query, want) in cases {
        let got = get(&base, &format!("/v1/budget?{query}")).await;
        assert_eq!(got.status, 200, "{query}: {}", got.body);
        assert_eq!(got.json(), want, "{query}");
    }
    // Neither a price nor an example: a 400 naming `type` and where a price goes.
    for query in [
        "account=anti&type=turnstile&quantity=5",
        "account=own&type=image&quantity=5",
    ] {
        let got = get(&base, &format!("/v1/budget?{query}")).await;
        assert_eq!(got.status, 400, "{query}: {}", got.body);
        assert_eq!(got.json()["parameter"], "type", "{query}");
        assert!(
            got.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("price_per_1000")),
            "{query}: {}",
            got.body
        );
    }
}

#[tokio::test]
async fn an_unknown_account_is_the_404_of_v1_accounts() {
    let upstream = Upstream::start(Behaviour::Balance("12.345")).await;
    let base = start(proxy_config(&upstream)).await;
    let got = get(&base, "/v1/budget?account=nobody&type=image&quantity=5").await;
    assert_eq!(got.status, 404);
    assert_eq!(got.json(), get(&base, "/v1/accounts/nobody").await.json());
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test]
async fn no_reading_yet_is_a_503_never_a_made_up_balance() {
    let upstream = Upstream::start(Behaviour::Raw(
        200,
        "text/plain",
        "ERROR_KEY_DOES_NOT_EXIST",
    ))
    .await;
    let base = start(proxy_config(&upstream)).await;
    let got = get(&base, "/v1/budget?type=image&quantity=5").await;
    assert_eq!(got.status, 503, "{}", got.body);
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["cache-control"], "no-store");
    let body = got.json();
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("no balance")),
        "{body}"
    );
    assert!(body.get("balance").is_none(), "{body}");
    assert!(!got.everything().contains(KEY));
}

/// `ERROR_ZERO_BALANCE` is a reading of zero (as in `/v1/accounts`), not a missing one.
#[tokio::test]
async fn zero_balance_is_a_reading_of_zero() {
    let upstream = Upstream::start(Behaviour::Raw(200, "text/plain", "ERROR_ZERO_BALANCE")).await;
    let base = start(proxy_config(&upstream)).await;
    let got = get(&base, "/v1/budget?type=turnstile&quantity=10").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.json(),
        json!({"account": "default", "balance": "0", "rate": "0.002", "cost": "0.02", "covered": 0, "shortfall": "0.02", "enough": false, "level": "empty", "runwaySeconds": null})
    );
}

/// With enough history the answer carries the account's runway, the same figure as
/// `/v1/accounts/{name}`: $9.70 at $0.30/h.
#[tokio::test]
async fn carries_the_runway_of_v1_accounts() {
    let upstream = Upstream::start(Behaviour::Balance("10")).await;
    let config = proxy_config(&upstream);
    let clock = config.clock.clone();
    let base = start(config).await;
    for (i, balance) in ["10.00", "9.90", "9.80", "9.70"].into_iter().enumerate() {
        if i > 0 {
            clock.advance(Duration::from_secs(20 * 60));
        }
        upstream.set(Behaviour::Balance(balance));
        assert_eq!(get(&base, BALANCE).await.status, 200);
    }
    let got = get(&base, "/v1/budget?type=recaptcha_v2&quantity=500").await;
    assert_eq!(
        got.json(),
        json!({"account": "default", "balance": "9.7", "rate": "0.003", "cost": "1.5", "covered": 3233, "shortfall": "0", "enough": true, "level": "ok", "runwaySeconds": 116_280})
    );
    assert_eq!(
        got.json()["runwaySeconds"],
        get(&base, "/v1/accounts/default").await.json()["runwaySeconds"]
    );
}
