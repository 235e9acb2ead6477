//! Everything the server logs (at TRACE, without the writer's masking) during proxy failures
//! never contains the key, in any letter case, nor a client's key, nor a webhook URL (a failed
//! alert delivery names the target's variable): the code itself must not log them, even when
//! the upstream echoes the key back.
//!
//! One test in its own file: it installs a global subscriber.

mod common;

use captchaai_balance_server::config::webhook::{Format, Webhook};
use captchaai_balance_server::Mode;
use common::*;
use std::time::Duration;

/// The secret path of the webhook URLs: never logged.
const HOOK_SECRET: &str = "T0HOOK/B0HOOK/hookSecretToken42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_is_never_logged() {
    let logs = LogBuffer::install();

    let escaped: String = KEY
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let upper = KEY.to_ascii_uppercase();
    let upstream = Upstream::start(Behaviour::Balance("1.5")).await;
    let mut config = proxy_config(&upstream);
    config.cache_ttl = Duration::ZERO;
    // Webhook targets whose URLs carry a secret path: one refuses connections, one is the
    // upstream stand-in (answering whatever it answers at the time). The rejected key below
    // is an alert for both.
    let refusing = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let refused_at = refusing.local_addr().expect("addr");
    drop(refusing);
    let hook = |url_env: &str, url: String| Webhook {
        format: Format::Generic,
        url_env: url_env.into(),
        url: reqwest::Url::parse(&url).expect("url"),
        accounts: None,
        kinds: None,
    };
    config.webhooks = vec![
        hook(
            "REFUSED_HOOK",
            format!("http://{refused_at}/services/{HOOK_SECRET}"),
        ),
        hook(
            "UPSTREAM_HOOK",
            format!("{}services/{HOOK_SECRET}", upstream.url),
        ),
    ];
    let clock = config.clock.clone();
    let base = start(config).await;
    let balance = format!("/res.php?key={CLIENT_KEY}&action=getbalance&json=1");
    #[rustfmt::skip]
    let behaviours = [
        Behaviour::Balance("1.5"),
        Behaviour::Hang,
        Behaviour::Raw(502, "text/html", "<html>502</html>"),
        Behaviour::Raw(500, "application/json", r#"{"status":0,"request":"ERROR_SERVER_ERROR"}"#),
        Behaviour::Raw(200, "text/plain", "garbage"),
        Behaviour::Raw(200, "application/json", r#"{"status":0,"request":"ERROR_WRONG_USER_KEY"}"#),
        // The key echoed with JSON escapes, in upper case (an "unknown code" that is logged),
        // and as plain text.
        Behaviour::Owned(200, "application/json", format!(r#"{{"status":0,"request":"{escaped}"}}"#)),
        Behaviour::Owned(200, "application/json", format!(r#"{{"status":0,"request":"{upper}"}}"#)),
        Behaviour::Owned(200, "text/plain", format!("ERROR_{upper}")),
    ];
    for behaviour in behaviours {
        // Past the politeness floor: every behaviour is asked for.
        clock.advance(Duration::from_secs(60));
        upstream.set(behaviour);
        get(&base, &balance).await;
    }
    get(&base, &format!("/res.php?key={CLIENT_KEY}&action=get&id=1")).await;

    // And a connection that is refused outright.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut config = proxy_config(&upstream);
    if let Mode::Proxy(accounts) = &mut config.mode {
        accounts[0].endpoint =
            reqwest::Url::parse(&format!("http://{}", listener.local_addr().expect("addr")))
                .expect("url");
    }
    drop(listener);
    get(&start(config).await, &balance).await;

    let logged = |what: &str| logs.text().contains(what);
    eventually("a failed alert delivery", || {
        logged("alert delivery failed")
    })
    .await;

    let text = logs.text();
    println!("{text}");
    assert!(
        text.contains("REFUSED_HOOK") && text.contains("cannot connect"),
        "the failed delivery names its target and why:\n{text}"
    );
    assert!(
        !text.contains(HOOK_SECRET) && !text.contains("/services/"),
        "a webhook URL was logged:\n{text}"
    );
    assert!(
        text.contains("upstream request failed"),
        "the failures were logged:\n{text}"
    );
    assert!(
        text.contains("code=\"timeout\"") || text.contains("code=timeout"),
        "{text}"
    );
    assert!(text.contains("network"), "{text}");
    assert!(text.contains("served"), "requests were logged:\n{text}");
    assert!(
        text.contains("code=\"unknown\"") || text.contains("code=unknown"),
        "the upper-case key was classified and logged as an unknown code:\n{text}"
    );
    assert!(
        !text.to_ascii_lowercase().contains(KEY),
        "the server's key was logged (in some letter case):\n{text}"
    );
    assert!(
        !text.contains(CLIENT_KEY),
        "a client's key was logged:\n{text}"
    );
    assert!(
        !text.contains("action=getbalance"),
        "a URL with its query was logged:\n{text}"
    );
}
