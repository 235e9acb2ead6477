//! Webhook targets (`[[webhook]]` in the accounts file): what they are and how the file declares
//! them. What a target receives, and its delivery, are [`crate::alerts::webhook`]'s.
//!
//! A webhook URL is a secret (whoever has it can post to the channel), so, like a key, it lives
//! only in an environment variable the file names (`url_env`). It never appears in a log line,
//! an error, a metric or the banner: those name the variable, at most with the URL's scheme
//! and host ([`Webhook::shown`]).

use crate::config::error::ConfigError;
use reqwest::Url;
use std::fmt;

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
