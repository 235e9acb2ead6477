//! Webhook targets (`[[webhook]]` in the accounts file): what they are, the message bodies they
//! get, and one HTTP delivery.
//!
//! A webhook URL is a secret (whoever has it can post to the channel), so, like a key, it lives
//! only in an environment variable the file names (`url_env`). It never appears in a log line,
//! an error, a metric or the banner: those name the variable, at most with the URL's scheme
//! and host ([`Webhook::shown`]).
//!
//! Bodies: Slack `{"text": …}`, Discord `{"content": …}`, generic the whole event (account,
//! provider, kind, level, balance and threshold as exact decimal strings, runwaySeconds, at,
//! and an `id` a receiver can use to drop a redelivery).

use crate::config::ConfigError;
use reqwest::Url;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// How a target wants its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Slack incoming webhook: `{"text": …}`.
    Slack,
    /// Discord webhook: `{"content": …}`.
    Discord,
    /// The whole event as JSON.
    Generic,
}

#[rustfmt::skip]
const FORMATS: [(&str, Format); 3] = [
    ("slack",   Format::Slack),
    ("discord", Format::Discord),
    ("generic", Format::Generic),
];

/// The alert kinds a target can ask for (the core's alert decisions, by their config names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The account became empty.
    Critical,
    /// The balance fell below the threshold.
    Warning,
    /// A top-up brought it back.
    Restored,
    /// At the current spend it runs out within the horizon.
    Predictive,
    /// Spend far above the account's usual.
    Spike,
    /// The provider rejected the key.
    KeyRejected,
}

#[rustfmt::skip]
const KINDS: [(&str, Kind); 6] = [
    ("critical",     Kind::Critical),
    ("warning",      Kind::Warning),
    ("restored",     Kind::Restored),
    ("predictive",   Kind::Predictive),
    ("spike",        Kind::Spike),
    ("key_rejected", Kind::KeyRejected),
];

impl Kind {
    /// Its name in the config file and in the generic body.
    pub fn as_str(self) -> &'static str {
        KINDS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(name, _)| name)
    }
}

/// One target. Its `Debug` never shows the URL.
#[derive(Clone)]
pub struct Webhook {
    /// Body shape.
    pub format: Format,
    /// The variable that holds the URL: the target's name in logs, metrics and output.
    pub url_env: String,
    /// The secret URL.
    pub url: Url,
    /// Only these accounts (`None`: all).
    pub accounts: Option<Vec<String>>,
    /// Only these kinds (`None`: all).
    pub kinds: Option<Vec<Kind>>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("format", &self.format)
            .field("url_env", &self.url_env)
            .field("accounts", &self.accounts)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// True when this target wants alerts of `kind` about `account`.
    pub fn wants(&self, account: &str, kind: Kind) -> bool {
        self.accounts
            .as_ref()
            .is_none_or(|a| a.iter().any(|n| n == account))
            && self.kinds.as_ref().is_none_or(|k| k.contains(&kind))
    }

    /// The target as the banner shows it: the variable and the URL's scheme and host, never its
    /// path (Slack and Discord put the secret there).
    pub fn shown(&self) -> String {
        format!(
            "{} ({}://{})",
            self.url_env,
            self.url.scheme(),
            self.url.host_str().unwrap_or("")
        )
    }

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
    pub provider: &'static str,
    /// [`Kind::as_str`].
    pub kind: &'static str,
    /// The core's level after the reading (`ok`, `low`, `empty`, `unknown`).
    pub level: &'static str,
    /// The balance shown, exact decimal (`null` when none is known).
    pub balance: Option<String>,
    /// The low threshold, exact decimal.
    pub threshold: String,
    /// Seconds until empty at the current spend (`null` when unknown or nothing is spent).
    pub runway_seconds: Option<i64>,
    /// When the reading was taken (epoch ms).
    pub at: i64,
    /// The notification title, as the extension shows it.
    pub title: String,
    /// The notification text, as the extension shows it.
    pub message: String,
}

/// The fields a `[[webhook]]` may have.
const FIELDS: [&str; 4] = ["format", "url_env", "accounts", "kinds"];

/// Reads the `[[webhook]]` tables of a parsed accounts file (`file`: its name for messages).
/// Every problem is one line naming the file, the webhook (`webhook #N`, from 1) and the field,
/// never the URL.
pub fn parse_webhooks(
    file: &str,
    doc: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    account_names: &[&str],
) -> Result<Vec<Webhook>, ConfigError> {
    let Some(list) = doc.get("webhook") else {
        return Ok(Vec::new());
    };
    let Some(list) = list
        .as_array()
        .filter(|l| l.iter().all(toml::Value::is_table))
    else {
        return Err(ConfigError(format!(
            "{file}: webhook must be written as [[webhook]] tables"
        )));
    };
    let mut hooks: Vec<Webhook> = Vec::with_capacity(list.len());
    for (index, table) in list.iter().filter_map(toml::Value::as_table).enumerate() {
        let at = |e: String| ConfigError(format!("{file}: webhook #{}: {e}", index + 1));
        let hook = parse_webhook(table, env, account_names).map_err(at)?;
        if hooks.iter().any(|h| h.url_env == hook.url_env) {
            return Err(at(format!(
                "url_env: {} is used by an earlier webhook; one variable, one target",
                hook.url_env
            )));
        }
        hooks.push(hook);
    }
    Ok(hooks)
}

fn parse_webhook(
    table: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    account_names: &[&str],
) -> Result<Webhook, String> {
    if let Some(field) = table.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        let hint = if field == "url" {
            "; the URL is a secret: name the environment variable that holds it with url_env"
        } else {
            ""
        };
        return Err(format!(
            "{field}: unknown field (allowed: {}){hint}",
            FIELDS.join(", ")
        ));
    }
    let string = |field: &str| -> Result<&str, String> {
        match table.get(field) {
            None => Err(format!("{field}: missing")),
            Some(toml::Value::String(text)) => Ok(text.as_str()),
            Some(_) => Err(format!("{field}: must be a string")),
        }
    };
    let names = |field: &str| -> Result<Option<Vec<String>>, String> {
        let Some(value) = table.get(field) else {
            return Ok(None);
        };
        let list = value
            .as_array()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| format!("{field}: must be a non-empty list of strings"))?;
        list.iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{field}: must be a non-empty list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };

    let format_name = string("format")?;
    let format = FORMATS
        .iter()
        .find(|(n, _)| *n == format_name)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            format!("format: unknown {format_name:?}; expected one of slack, discord, generic")
        })?;

    let url_env = string("url_env")?;
    if url_env.is_empty()
        || !url_env
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!(
            "url_env: {url_env:?} is not an environment variable name (A-Z, 0-9 and _)"
        ));
    }
    let value = env(url_env)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("url_env: {url_env} is not set; put the webhook URL in it"))?;
    // The message never quotes the value: it is the secret.
    let url = Url::parse(value.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| format!("url_env: {url_env} does not hold an http(s) URL"))?;

    let accounts = names("accounts")?;
    if let Some(unknown) = accounts
        .iter()
        .flatten()
        .find(|a| !account_names.contains(&a.as_str()))
    {
        return Err(format!(
            "accounts: {unknown:?} is not an account of this file (accounts: {})",
            account_names.join(", ")
        ));
    }
    let kinds = match names("kinds")? {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|name| {
                    KINDS
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, k)| *k)
                        .ok_or_else(|| {
                            let known: Vec<_> = KINDS.iter().map(|(n, _)| *n).collect();
                            format!(
                                "kinds: unknown {name:?}; expected some of {}",
                                known.join(", ")
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Webhook {
        format,
        url_env: url_env.to_string(),
        url,
        accounts,
        kinds,
    })
}

/// Why a delivery failed, without the URL (reqwest's own errors print it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError(pub String);

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The HTTP client every delivery shares.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A client giving up on a target after `timeout`.
    pub fn new(timeout: Duration) -> Result<Sender, reqwest::Error> {
        let client = crate::http_client::http_client(timeout)?;
        Ok(Sender { client })
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
    let sender = match Sender::new(timeout) {
        Ok(sender) => sender,
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
