//! Proxy mode: one `getbalance` request to the real API, with the key added here.
//!
//! The upstream URL holds the key, and reqwest errors carry their URL in `Display`: every
//! error is stripped with `without_url()` before it is logged or mapped, and the URL itself is
//! never logged. The upstream's body never reaches a client (the answer is built from the core's
//! classification, see answer.rs), and the classification's description of what was seen is
//! scrubbed of the key, in any letter case, after decoding, before metrics or logs see it.

use crate::answer::Verdict;
use crate::secret::ApiKey;
use captchaai_balance::error::ErrorCode;
use captchaai_balance::protocol::{classify, MAX_ANSWER_LEN};
use reqwest::{header, Client, Url};
use std::time::Duration;
use tracing::{debug, warn};

/// Bytes of upstream body read at most: one more than the core accepts, so a cut body is still
/// too long for the core and gets the verdict the whole body would get (a real answer is ~40
/// bytes).
const MAX_BODY: usize = MAX_ANSWER_LEN + 1;

/// The upstream client for one key.
#[derive(Debug, Clone)]
pub struct Proxy {
    client: Client,
    key: ApiKey,
    /// `{upstream}/res.php` without a query: safe to log.
    endpoint: Url,
}

impl Proxy {
    /// A client for `upstream` (its path is kept: `https://host/prefix` → `/prefix/res.php`).
    pub fn new(upstream: &Url, key: ApiKey, timeout: Duration) -> Result<Proxy, reqwest::Error> {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would re-send the key to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "captchaai-balance-server/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(reqwest::Error::without_url)?;
        let mut endpoint = upstream.clone();
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        let path = format!("{}/res.php", endpoint.path().trim_end_matches('/'));
        endpoint.set_path(&path);
        Ok(Proxy {
            client,
            key,
            endpoint,
        })
    }

    /// `{upstream}/res.php`, for the start-up banner and logs.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Asks the API for the balance. Never fails: every failure is a [`Verdict`] too.
    pub async fn fetch(&self) -> Verdict {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("key", self.key.expose())
            .append_pair("action", "getbalance")
            .append_pair("json", "1");
        debug!(endpoint = %self.endpoint, "asking upstream for the balance");
        let response = match self.client.get(url).send().await {
            Ok(response) => response,
            Err(error) => return self.failure(error),
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match read_body(response).await {
            Ok(body) => body,
            Err(error) => return self.failure(error),
        };
        debug!(status, "upstream answered");
        let outcome = classify(status, content_type.as_deref(), &body).map_err(|mut error| {
            // An unknown code is kept as seen (for the log); the key in upper case is one.
            error.detail = self.key.scrub(&error.detail);
            error
        });
        Verdict::from_outcome(outcome)
    }

    fn failure(&self, error: reqwest::Error) -> Verdict {
        let error = error.without_url();
        let code = if error.is_timeout() {
            ErrorCode::Timeout
        } else {
            ErrorCode::Network
        };
        let description = self.key.scrub(&describe(&error));
        warn!(endpoint = %self.endpoint, code = code.as_str(), error = %description, "upstream request failed");
        Verdict::failure(code, code.as_str())
    }
}

/// Reads at most [`MAX_BODY`] bytes; the rest of an oversized body is not waited for (the core
/// already calls it too long).
async fn read_body(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The error and its causes on one line ("error sending request: connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_upstream_path() {
        let key = ApiKey::new("0123456789abcdef0123456789abcdef").expect("key");
        #[rustfmt::skip]
        let cases = [
            ("https://ocr.captchaai.com",     "https://ocr.captchaai.com/res.php"),
            ("http://127.0.0.1:9/",           "http://127.0.0.1:9/res.php"),
            ("https://proxy.example/captcha", "https://proxy.example/captcha/res.php"),
        ];
        for (upstream, want) in cases {
            let url = Url::parse(upstream).expect("url");
            let proxy = Proxy::new(&url, key.clone(), Duration::from_secs(1)).expect("client");
            assert_eq!(proxy.endpoint().as_str(), want);
        }
    }
}
