//! Webhook targets (`[[webhook]]` in the accounts file): what they are and what a declared one
//! must hold (the table's shape is [`crate::config::file::WebhookTable`]). What a target
//! receives, and its delivery, are [`crate::alerts::webhook`]'s.
//!
//! A webhook URL is a secret (whoever has it can post to the channel), so, like a key, it lives
//! only in an environment variable the file names (`url_env`). It never appears in a log line,
//! an error, a metric or the banner: those name the variable, at most with the URL's scheme
//! and host ([`Webhook::shown`]).

use crate::config::error::{bare, shown, ConfigError};
use crate::config::file::{self, WebhookTable};
use reqwest::Url;
use serde::Deserialize;
use std::fmt;

/// How a target wants its messages (`format = "slack"` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Slack incoming webhook: `{"text": …}`.
    Slack,
    /// Discord webhook: `{"content": …}`.
    Discord,
    /// The whole event as JSON.
    Generic,
}

/// The alert kinds a target can ask for (the core's alert decisions, by their config names;
/// serde's names are [`Kind::as_str`]'s, tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Every thread of a thread plan has been busy for a while.
    ThreadsSaturated,
    /// A thread plan has no threads (expired, or none bought).
    PlanExpired,
}

#[rustfmt::skip]
const KINDS: [(&str, Kind); 8] = [
    ("critical",     Kind::Critical),
    ("warning",      Kind::Warning),
    ("restored",     Kind::Restored),
    ("predictive",   Kind::Predictive),
    ("spike",        Kind::Spike),
    ("key_rejected", Kind::KeyRejected),
    ("threads_saturated", Kind::ThreadsSaturated),
    ("plan_expired", Kind::PlanExpired),
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
}

/// Reads the `[[webhook]]` tables of an accounts file's text (`file`: its name for messages);
/// `account_names`: the file's accounts. Every problem is one line naming the file, the webhook
/// (`webhook #N`, from 1) and the field, never the URL.
pub fn parse_webhooks(
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    account_names: &[&str],
) -> Result<Vec<Webhook>, ConfigError> {
    webhooks_of(file, &file::read(file, text)?.webhook, env, account_names)
}

/// The targets of the `[[webhook]]` tables serde read, checked (see [`parse_webhooks`]).
pub fn webhooks_of(
    file: &str,
    tables: &[WebhookTable],
    env: &dyn Fn(&str) -> Option<String>,
    account_names: &[&str],
) -> Result<Vec<Webhook>, ConfigError> {
    let mut hooks: Vec<Webhook> = Vec::with_capacity(tables.len());
    for (index, table) in tables.iter().enumerate() {
        let at = |e: String| ConfigError(format!("{file}: webhook #{}: {e}", index + 1));
        let hook = webhook_of(table, env, account_names).map_err(at)?;
        if hooks.iter().any(|h| h.url_env == hook.url_env) {
            return Err(at(format!(
                "url_env: {} is used by an earlier webhook; one variable, one target",
                bare(&hook.url_env)
            )));
        }
        hooks.push(hook);
    }
    Ok(hooks)
}

fn webhook_of(
    table: &WebhookTable,
    env: &dyn Fn(&str) -> Option<String>,
    account_names: &[&str],
) -> Result<Webhook, String> {
    let url_env = table.url_env.as_str();
    if url_env.is_empty()
        || !url_env
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!(
            "url_env: {} is not an environment variable name (A-Z, 0-9 and _)",
            shown(url_env)
        ));
    }
    let value = env(url_env)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            format!(
                "url_env: {} is not set; put the webhook URL in it",
                bare(url_env)
            )
        })?;
    // The message never quotes the value: it is the secret.
    let url = Url::parse(value.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| format!("url_env: {} does not hold an http(s) URL", bare(url_env)))?;

    let non_empty = |field: &str, list: Option<usize>| match list {
        Some(0) => Err(format!("{field}: must be a non-empty list of strings")),
        _ => Ok(()),
    };
    non_empty("accounts", table.accounts.as_ref().map(Vec::len))?;
    non_empty("kinds", table.kinds.as_ref().map(Vec::len))?;
    if let Some(unknown) = table
        .accounts
        .iter()
        .flatten()
        .find(|a| !account_names.contains(&a.as_str()))
    {
        return Err(format!(
            "accounts: {} is not an account of this file (accounts: {})",
            shown(unknown),
            account_names.join(", ")
        ));
    }
    Ok(Webhook {
        format: table.format,
        url_env: url_env.to_string(),
        url,
        accounts: table.accounts.clone(),
        kinds: table.kinds.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer;

    #[test]
    fn serde_names_are_the_config_names() {
        for (name, kind) in KINDS {
            let de: StrDeserializer<'_, Error> = name.into_deserializer();
            assert_eq!(Kind::deserialize(de), Ok(kind), "{name}");
            assert_eq!(kind.as_str(), name);
        }
    }
}
