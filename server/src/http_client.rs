//! The HTTP client for every request this server sends: balance readings upstream and alert
//! messages to webhooks.

use std::time::Duration;

/// A client that gives up after `timeout` (connecting included), follows no redirect and names
/// this server in its user agent. No redirect: one would re-send what the request carries (a
/// key in a URL or body, an alert message) to wherever it points; an upstream or a webhook
/// that moved is a configuration to fix. Errors come without their URL (it may hold a secret).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "captchaai-balance-server/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(reqwest::Error::without_url)
}
