//! Who may read what (server/README.md, "Access"): with a token (`--token-env`) every route but
//! `/healthz` and the widget's files needs it, as a bearer header or as the client's API key on
//! the balance routes, and a request without it learns nothing (not even which accounts
//! exist); CORS answers only the origins of `--allow-origin`; the mock control API refuses a
//! `Host` that could be a rebound DNS name. Without tokens (every other test file) the server
//! is open on loopback as before.

mod common;

use captchaai_balance::provider::{Family, ProviderId};
use captchaai_balance_server::config::access::Access;
use captchaai_balance_server::secret::Token;
use common::*;
use serde_json::json;

/// The server's token in these tests (32 hex digits: what `openssl rand -hex 16` gives, and
/// what every client's key setting accepts).
const TOKEN: &str = "c0ffee00c0ffee00c0ffee00c0ffee01";
/// A second token: either lets a client in.
const TOKEN2: &str = "another-token-for-the-dashboard";
/// A guess one character off.
const WRONG: &str = "c0ffee00c0ffee00c0ffee00c0ffee02";

fn tokens() -> Access {
    Access {
        tokens: vec![
            Token::new(TOKEN).expect("token"),
            Token::new(TOKEN2).expect("token"),
        ],
        allowed_origins: Vec::new(),
    }
}

async fn get_with(base: &str, path: &str, headers: &[(&str, &str)]) -> Got {
    let mut request = client().get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn assert_no_token(got: &Got, what: &str) {
    let text = got.everything();
    for token in [TOKEN, TOKEN2, WRONG] {
        assert!(
            !text.contains(token),
            "{what}: a token in the answer:\n{text}"
        );
    }
}

#[tokio::test]
async fn the_api_and_metrics_need_a_bearer_token() {
    let (production, staging) = (
        Upstream::start(Behaviour::Balance("12.5")).await,
        Upstream::start_family(Family::CreateTask, Behaviour::Balance("3.25")).await,
    );
    let mut config = accounts_config(vec![
        account_config("production", ProviderId::CaptchaAi, KEY, "5", &production),
        account_config("staging", ProviderId::AntiCaptcha, KEY2, "5", &staging),
    ]);
    config.access = tokens();
    let base = start(config).await;

    let guarded = [
        "/v1/accounts",
        "/v1/accounts/production",
        "/v1/accounts/nobody",
        "/v1/accounts/production/history",
        "/v1/history",
        "/v1/budget?type=recaptcha_v2&quantity=5",
        "/metrics",
    ];
    for path in guarded {
        for headers in [
            vec![],
            vec![("authorization", bearer(WRONG))],
            vec![("authorization", bearer(&TOKEN[..31]))],
            vec![("authorization", format!("Basic {TOKEN}"))],
            vec![("authorization", TOKEN.to_string())],
        ] {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let got = get_with(&base, path, &headers).await;
            assert_eq!(got.status, 401, "{path} {headers:?}: {}", got.body);
            assert_eq!(
                got.headers["www-authenticate"], "Bearer realm=\"captchaai-balance\"",
                "{path}"
            );
            assert!(
                got.body.contains("Authorization: Bearer"),
                "{path}: {}",
                got.body
            );
            assert!(!got.body.contains("production"), "{path}: {}", got.body);
            assert_no_token(&got, path);
        }
    }
    // Nothing was read for them.
    assert_eq!((production.hits(), staging.hits()), (0, 0));

    // The right token, either of the two, in any letter case of the scheme.
    for (path, status) in [
        ("/v1/accounts", 200),
        ("/v1/accounts/production", 200),
        ("/v1/accounts/nobody", 404),
        ("/v1/accounts/production/history", 200),
        ("/v1/history", 200),
        ("/v1/budget?type=recaptcha_v2&quantity=5", 200),
        ("/metrics", 200),
    ] {
        for token in [bearer(TOKEN), bearer(TOKEN2), format!("bearer {TOKEN}")] {
            let got = get_with(&base, path, &[("authorization", &token)]).await;
            assert_eq!(got.status, status, "{path}: {}", got.body);
            assert_no_token(&got, path);
        }
    }
    let metrics = get_with(&base, "/metrics", &[("authorization", &bearer(TOKEN))]).await;
    assert!(metrics
        .body
        .contains("captcha_balance_usd{account=\"production\""));
    // Open: the health check and the widget's files (they hold no account data).
    assert_eq!(get(&base, "/healthz").await.body, "ok");
    assert_eq!(get(&base, "/index.html").await.status, 404);
}

#[tokio::test]
async fn balance_routes_take_the_token_as_the_clients_key() {
    let (base, production, staging) = {
        let production = Upstream::start(Behaviour::Balance("12.5")).await;
        let staging = Upstream::start_family(Family::CreateTask, Behaviour::Balance("3.25")).await;
        let mut config = accounts_config(vec![
            account_config("production", ProviderId::CaptchaAi, KEY, "5", &production),
            account_config("staging", ProviderId::AntiCaptcha, KEY2, "5", &staging),
        ]);
        config.access = tokens();
        (start(config).await, production, staging)
    };
    let key_error_json =
        r#"{"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST","error":"key_not_found"}"#;
    let key_error_task = r#"{"errorId":1,"errorCode":"ERROR_KEY_DOES_NOT_EXIST","errorDescription":"key_not_found"}"#;

    // No key, a wrong one, the server's account key, a token's prefix: the protocol's key
    // error, never a balance, and an unknown account looks the same (no list of names for
    // whoever guesses).
    for key in [
        "",
        "&key=",
        &format!("&key={WRONG}"),
        &format!("&key={KEY}"),
        &format!("&key={}", &TOKEN[..16]),
    ] {
        for path in [
            "/res.php",
            "/accounts/production/res.php",
            "/accounts/staging/res.php",
            "/accounts/nobody/res.php",
        ] {
            let got = get(&base, &format!("{path}?action=getbalance&json=1{key}")).await;
            assert_eq!(
                (got.status, got.body.as_str()),
                (200, key_error_json),
                "{path} {key}"
            );
            assert_no_token(&got, path);
            let got = get(&base, &format!("{path}?action=getbalance{key}")).await;
            assert_eq!(
                (got.status, got.body.as_str()),
                (200, "ERROR_KEY_DOES_NOT_EXIST"),
                "{path} {key}"
            );
        }
    }
    for body in [
        String::new(),
        "not json".to_string(),
        format!(r#"{{"clientKey":"{WRONG}"}}"#),
        format!(r#"{{"clientKey":"{KEY2}"}}"#),
        format!(r#"{{"clientKey":{{"x":"{TOKEN}"}}}}"#),
        format!(r#"{{"key":"{TOKEN}"}}"#),
    ] {
        for path in [
            "/getBalance",
            "/accounts/staging/getBalance",
            "/accounts/nobody/getBalance",
        ] {
            let got = post(&base, path, &body).await;
            assert_eq!(
                (got.status, got.body.as_str()),
                (200, key_error_task),
                "{path} {body}"
            );
            assert_no_token(&got, path);
        }
    }
    assert_eq!(
        (production.hits(), staging.hits()),
        (0, 0),
        "nothing was read"
    );

    // The token as the key: what a client library sends (2captcha-python: `key` in the query;
    // anticaptchaofficial: `clientKey` in the body), or as a bearer header.
    let got = get(
        &base,
        &format!("/res.php?key={TOKEN}&action=getbalance&json=1"),
    )
    .await;
    assert_eq!(got.body, r#"{"status":1,"request":"12.5"}"#);
    let got = get(
        &base,
        &format!("/accounts/staging/res.php?action=getbalance&key={TOKEN2}"),
    )
    .await;
    assert_eq!(got.body, "3.25");
    // Percent-encoded as a client encodes it.
    let got = get(
        &base,
        "/res.php?action=getbalance&key=another%2Dtoken%2Dfor%2Dthe%2Ddashboard",
    )
    .await;
    assert_eq!(got.body, "12.5");
    let got = get_with(&base, BALANCE, &[("authorization", &bearer(TOKEN))]).await;
    assert_eq!(got.body, r#"{"status":1,"request":"12.5"}"#);
    let got = post(
        &base,
        "/getBalance",
        &format!(r#"{{"clientKey":"{TOKEN}"}}"#),
    )
    .await;
    assert_eq!(got.body, r#"{"errorId":0,"balance":12.5}"#);
    let got = post(
        &base,
        "/accounts/staging/getBalance",
        &format!(r#"{{"clientKey":"{TOKEN2}","soft":1}}"#),
    )
    .await;
    assert_eq!(got.body, r#"{"errorId":0,"balance":3.25}"#);
    let got = send(
        client()
            .post(format!("{base}/accounts/staging/getBalance"))
            .header("authorization", bearer(TOKEN))
            .body("{}"),
    )
    .await;
    assert_eq!(got.body, r#"{"errorId":0,"balance":3.25}"#);
    // With the token, an unknown account is the 404 again.
    let got = get(
        &base,
        &format!("/accounts/nobody/res.php?key={TOKEN}&action=getbalance&json=1"),
    )
    .await;
    assert_eq!(got.status, 404);
    // The upstreams saw the accounts' keys, never a token.
    assert_eq!((production.hits(), staging.hits()), (1, 1));
    for seen in production.queries().iter().chain(staging.bodies().iter()) {
        assert!(!seen.contains(TOKEN) && !seen.contains(TOKEN2), "{seen}");
    }
    // A preflight needs no token (a browser sends none).
    let got = send(client().request(reqwest::Method::OPTIONS, format!("{base}/getBalance"))).await;
    assert_eq!(got.status, 204);
}

#[tokio::test]
async fn cors_answers_only_the_allowed_origins() {
    let upstream = Upstream::start(Behaviour::Balance("12.5")).await;
    let mut config = proxy_config(&upstream);
    config.access = Access {
        tokens: Vec::new(),
        allowed_origins: vec!["https://dash.example.com".into()],
    };
    let base = start(config).await;
    let acao = |got: &Got| {
        got.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().expect("ascii").to_string())
    };
    let vary = |got: &Got| {
        got.headers.get_all("vary").iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("origin"))
        })
    };
    for path in [
        BALANCE,
        "/v1/accounts",
        "/v1/history",
        "/metrics",
        "/healthz",
    ] {
        let allowed = get_with(&base, path, &[("origin", "https://dash.example.com")]).await;
        assert_eq!(
            acao(&allowed).as_deref(),
            Some("https://dash.example.com"),
            "{path}"
        );
        assert!(vary(&allowed), "{path}");
        // The control: another origin, a look-alike, and the protocol's header_acao=1.
        for origin in [
            "https://evil.example",
            "https://dash.example.com.evil.example",
            "null",
        ] {
            let other = get_with(&base, path, &[("origin", origin)]).await;
            assert_eq!(other.status, allowed.status, "{path}");
            assert_eq!(acao(&other), None, "{path} {origin}");
            assert!(vary(&other), "{path}");
        }
    }
    let acao_asked = get_with(
        &base,
        &format!("{BALANCE}&header_acao=1"),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(acao(&acao_asked), None);

    // Preflights: an allowed origin may send a token and JSON to any route; another gets no
    // CORS header at all.
    let preflight = |origin: &'static str, path: &'static str| {
        send(
            client()
                .request(reqwest::Method::OPTIONS, format!("{base}{path}"))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization"),
        )
    };
    for path in ["/v1/accounts", "/getBalance", "/res.php", "/metrics"] {
        let ok = preflight("https://dash.example.com", path).await;
        assert_eq!(ok.status, 204, "{path}");
        assert_eq!(acao(&ok).as_deref(), Some("https://dash.example.com"));
        assert!(ok.headers["access-control-allow-headers"]
            .to_str()
            .expect("ascii")
            .contains("authorization"));
        let refused = preflight("https://evil.example", path).await;
        assert_eq!(acao(&refused), None, "{path}");
        assert!(
            !refused.headers.contains_key("access-control-allow-headers") || path != "/v1/accounts"
        );
    }

    // Without --allow-origin: no CORS header, whatever the request says.
    let base = start(proxy_config(&upstream)).await;
    for path in [BALANCE, &format!("{BALANCE}&header_acao=1"), "/v1/accounts"] {
        let got = get_with(&base, path, &[("origin", "https://dash.example.com")]).await;
        assert_eq!(acao(&got), None, "{path}");
    }
}

#[tokio::test]
async fn the_mock_api_refuses_a_rebound_host() {
    let base = start(mock_config()).await;
    let port = base.rsplit(':').next().expect("port").to_string();
    let scenario = json!({"scenario": "zero"}).to_string();
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "localhost.evil.example",
        "127.0.0.1.nip.io",
    ] {
        let got = get_with(&base, "/mock/state", &[("host", host)]).await;
        assert_eq!(got.status, 403, "{host}: {}", got.body);
        let got = send(
            client()
                .post(format!("{base}/mock/scenario"))
                .header("host", host)
                .header("content-type", "application/json")
                .body(scenario.clone()),
        )
        .await;
        assert_eq!(got.status, 403, "{host}: {}", got.body);
    }
    // Nothing changed; the machine's own names still work.
    for host in [
        "localhost".to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let got = get_with(&base, "/mock/state", &[("host", &host)]).await;
        assert_eq!(got.status, 200, "{host}");
        assert_eq!(got.json()["scenario"], "ok", "{host}");
    }

    // With a token, the mock API needs it too.
    let mut config = mock_config();
    config.access = tokens();
    let base = start(config).await;
    assert_eq!(get(&base, "/mock/state").await.status, 401);
    let got = get_with(&base, "/mock/state", &[("authorization", &bearer(TOKEN))]).await;
    assert_eq!(got.status, 200);
    assert_eq!(post(&base, "/mock/reset", "").await.status, 401);
}
