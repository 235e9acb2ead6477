//! What a webhook target receives, and one HTTP delivery. The targets themselves (`[[webhook]]`
//! in the accounts file) are [`crate::config::webhook`]'s.
//!
//! Bodies: Slack `{"text": …}`, Discord `{"content": …}`, generic the whole event (account,
//! provider, kind, level, balance and threshold as exact decimal strings, runwaySeconds, at,
//! and an `id` a receiver can use to drop a redelivery). No body, error or log line holds a
//! target's URL: it is a secret, shown only as its variable's name.

use crate::config::webhook::{Format, Webhook};
use captchaai_balance::level::BalanceLevel;
use captchaai_balance::money::Money;
use captchaai_balance::provider::ProviderId;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// The bodies a target gets (the target is configuration; its messages are the alerts').
impl Webhook {
    /// The body of `event` for this target.
    pub fn body(&self, event: &Event) -> String {
        let text = || format!("{}\n{}", event.title, event.message);
        let value = match self.format {
            Format::Slack => serde_json::json!({ "text": text() }),
            Format::Discord => serde_json::json!({ "content": text() }),
            Format::Generic => serde_json::to_value(event).unwrap_or_default(),
        };
        value.to_string()
    }

    /// The body of the test message (`text`: its sentence).
    pub fn test_body(&self, text: &str, at: i64) -> String {
        let value = match self.format {
            Format::Slack => serde_json::json!({ "text": text }),
            Format::Discord => serde_json::json!({ "content": text }),
            Format::Generic => serde_json::json!({
                "kind": "test",
                "id": format!("test-{at}"),
                "at": at,
                "title": text,
                "message": text,
            }),
        };
        value.to_string()
    }
}

/// One alert as the generic target receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `{account}-{at}-{kind}`: the same for every target and every redelivery.
    pub id: String,
    /// Account name.
    pub account: String,
    /// Provider id.
    pub provider: ProviderId,
    /// [`crate::config::webhook::Kind::as_str`].
    pub kind: &'static str,
    /// The core's level after the reading (`ok`, `low`, `empty`, `unknown`).
    pub level: BalanceLevel,
    /// The balance shown, exact decimal (`null` when none is known).
    pub balance: Option<Money>,
    /// The low threshold, exact decimal.
    pub threshold: Money,
    /// Seconds until empty at the current spend (`null` when unknown or nothing is spent).
    pub runway_seconds: Option<i64>,
    /// When the reading was taken (epoch ms).
    pub at: i64,
    /// The notification title, as the extension shows it.
    pub title: String,
    /// The notification text, as the extension shows it.
    pub message: String,
}

/// Why a delivery failed, without the URL (reqwest's own errors print it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError(pub String);

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What every delivery sends through: the server's one HTTP client (the upstreams' too).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// Deliveries through `client` (its timeout is the one a target gets).
    pub fn new(client: reqwest::Client) -> Sender {
        Sender { client }
    }

    /// POSTs `body` (JSON) to the target; any 2xx is delivered.
    pub async fn send(&self, hook: &Webhook, body: &str) -> Result<(), SendError> {
        let response = self
            .client
            .post(hook.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| SendError(describe(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError(format!("HTTP {}", status.as_u16())))
        }
    }
}

/// A transport error in a few words, never reqwest's `Display` (which ends with the URL).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "cannot connect".into()
    } else {
        "request failed".into()
    }
}

/// The test message's sentence for a target (`accounts`: every account of the file, used when
/// the target takes them all).
pub fn test_text(hook: &Webhook, accounts: &[String]) -> String {
    let names = hook.accounts.as_deref().unwrap_or(accounts).join(", ");
    captchaai_balance::i18n::format(
        captchaai_balance::i18n::Lang::En,
        "test_alert_message",
        &[&names],
    )
}

/// `test-alert`: one test message to every target, concurrently; the result per target, in
/// config order.
pub async fn send_test(
    hooks: &[Webhook],
    accounts: &[String],
    timeout: Duration,
    at: i64,
) -> Vec<Result<(), SendError>> {
    let sender = match crate::http_client::http_client(timeout) {
        Ok(client) => Sender::new(client),
        Err(_) => {
            let failed = SendError("cannot create the HTTP client".into());
            return hooks.iter().map(|_| Err(failed.clone())).collect();
        }
    };
    // One task per target: a slow target does not hold up the others' answers.
    let tasks: Vec<_> = hooks
        .iter()
        .map(|hook| {
            let body = hook.test_body(&test_text(hook, accounts), at);
            let sender = sender.clone();
            let hook = hook.clone();
            tokio::spawn(async move { sender.send(&hook, &body).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|_| Err(SendError("internal error".into()))),
        );
    }
    results
}
