//! Proxy mode: one balance request to an account's API, with its key added here, in the
//! account's protocol family (the core's `balance_request` and `classify_for`: no protocol code
//! in the server), and for a thread plan its `threadsinfo` request (the core's
//! `threads_request` and `classify_threads`).
//!
//! A 2captcha-family URL holds the key (a createTask one sends it in the body), and reqwest errors carry their URL in `Display`: every
//! error is stripped with `without_url()` before it is logged or mapped, and the URL itself is
//! never logged; the `threadsinfo` form holds the key in the body, which no error carries. The upstream's body never reaches a client (the answer is built from the core's
//! classification, see answer.rs), and the classification's description of what was seen is
//! scrubbed of the key, in any letter case, after decoding, before metrics or logs see it.

use crate::secret::ApiKey;
use crate::upstream::answer::Verdict;
use captchaai_balance::error::ApiError;
use captchaai_balance::error::ErrorCode;
use captchaai_balance::protocol::{
    balance_request, classify_for, classify_threads, threads_request, ApiRequest, MAX_ANSWER_LEN,
};
use captchaai_balance::provider::Family;
use captchaai_balance::threads::ThreadsOutcome;
use reqwest::{header, Client, Url};
use tracing::{debug, warn};

/// Bytes of upstream body read at most: one more than the core accepts, so a cut body is still
/// too long for the core and gets the verdict the whole body would get (a real answer is ~40
/// bytes).
const MAX_BODY: usize = MAX_ANSWER_LEN + 1;

/// The upstream of one account. Every account's requests go through one HTTP client (one
/// connection pool, one TLS set-up) that the server builds once ([`crate::http_client`]).
#[derive(Debug, Clone)]
pub struct Proxy {
    client: Client,
    key: ApiKey,
    family: Family,
    /// The API base URL, normalised by the core (`https://host[/prefix]`, no trailing slash).
    base: String,
    /// The request URL without query or key (`{upstream}/res.php`, `{upstream}/getBalance`).
    endpoint: Url,
    /// `endpoint` as logs show it: its path (which may hold a proxy's token) left out
    /// ([`crate::secret::shown_url`]).
    shown: String,
}

impl Proxy {
    /// The upstream at `upstream` in `family`'s protocol (its path is kept:
    /// `https://host/prefix` → `/prefix/res.php`), asked through `client` (the server's one
    /// client, shared: cloning a `reqwest::Client` shares its pool).
    pub fn new(family: Family, upstream: &Url, key: ApiKey, client: Client) -> Proxy {
        let mut base = upstream.clone();
        base.set_query(None);
        base.set_fragment(None);
        let base = base.as_str().trim_end_matches('/').to_string();
        // The keyless request (what a same-origin proxy in front of the API would be sent)
        // names the endpoint without the key.
        let endpoint = balance_request(family, &base, "", false)
            .ok()
            .and_then(|request| Url::parse(&request.url).ok())
            .map_or_else(
                || upstream.clone(),
                |mut url| {
                    url.set_query(None);
                    url
                },
            );
        let shown = crate::secret::shown_url(&endpoint);
        Proxy {
            client,
            key,
            family,
            base,
            endpoint,
            shown,
        }
    }

    /// The account's key (for the politeness floor's hash of it; never shown).
    pub fn key(&self) -> &ApiKey {
        &self.key
    }

    /// The API's origin, `scheme://host:port`: the host the requests go to.
    pub fn origin(&self) -> String {
        self.endpoint.origin().ascii_serialization()
    }

    /// The request URL without query (print [`crate::secret::shown_url`] of it, never the URL).
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Asks the API for the balance. Never fails: every failure is a [`Verdict`] too.
    pub async fn fetch(&self) -> Verdict {
        // The core describes the request of either family; it holds the key (URL or body).
        let request = match balance_request(self.family, &self.base, self.key.expose(), false) {
            Ok(request) => request,
            Err(_) => return Verdict::failure(ErrorCode::ServerError, "bad endpoint"),
        };
        debug!(endpoint = %self.shown, "asking upstream for the balance");
        let outcome = match self.send(request).await {
            Ok((status, content_type, body)) => {
                classify_for(self.family, status, content_type.as_deref(), &body)
                    .map_err(|error| self.scrubbed(error))
            }
            Err(error) => Err(error),
        };
        Verdict::from_outcome(outcome)
    }

    /// Asks the API for the threads of the key's plan (CaptchaAI's `threadsinfo`). Never fails:
    /// every failure is an outcome too, scrubbed of the key like the balance's.
    pub async fn fetch_threads(&self) -> ThreadsOutcome {
        let request = match threads_request(&self.base, self.key.expose(), false) {
            Ok(request) => request,
            Err(_) => return Err(ApiError::new(ErrorCode::ServerError, "bad endpoint")),
        };
        debug!(endpoint = %self.shown, "asking upstream for the plan's threads");
        let (status, content_type, body) = self.send(request).await?;
        classify_threads(status, content_type.as_deref(), &body)
            .map_err(|error| self.scrubbed(error))
    }

    /// Sends one request the core described (its body with the media type it names) and reads
    /// the answer: status, content type and at most [`MAX_BODY`] bytes; a request that got no
    /// answer is a `timeout` or `network` error.
    async fn send(&self, request: ApiRequest) -> Result<(u16, Option<String>, String), ApiError> {
        let builder = match request.body {
            Some(body) => self
                .client
                .post(request.url)
                .header(header::CONTENT_TYPE, request.content_type)
                .body(body),
            None => self.client.get(request.url),
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => return Err(self.failure(error)),
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match read_body(response).await {
            Ok(body) => body,
            Err(error) => return Err(self.failure(error)),
        };
        debug!(status, "upstream answered");
        Ok((status, content_type, body))
    }

    /// An unknown code is kept as seen (for the log); the key in upper case is one.
    fn scrubbed(&self, mut error: ApiError) -> ApiError {
        error.detail = self.key.scrub(&error.detail);
        error
    }

    fn failure(&self, error: reqwest::Error) -> ApiError {
        let error = error.without_url();
        let code = if error.is_timeout() {
            ErrorCode::Timeout
        } else {
            ErrorCode::Network
        };
        let description = self.key.scrub(&describe(&error));
        warn!(endpoint = %self.shown, code = code.as_str(), error = %description, "upstream request failed");
        ApiError::new(code, code.as_str())
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
    use std::time::Duration;

    #[test]
    fn keeps_the_upstream_path() {
        let client = crate::http_client::http_client(Duration::from_secs(1)).expect("client");
        let key = ApiKey::new("0123456789abcdef0123456789abcdef").expect("key");
        #[rustfmt::skip]
        let cases = [
            (Family::TwoCaptcha, "https://ocr.captchaai.com",     "https://ocr.captchaai.com/res.php"),
            (Family::TwoCaptcha, "http://127.0.0.1:9/",           "http://127.0.0.1:9/res.php"),
            (Family::TwoCaptcha, "https://proxy.example/captcha", "https://proxy.example/captcha/res.php"),
            (Family::CreateTask, "https://api.anti-captcha.com",  "https://api.anti-captcha.com/getBalance"),
            (Family::CreateTask, "http://127.0.0.1:9/prefix/",    "http://127.0.0.1:9/prefix/getBalance"),
        ];
        for (family, upstream, want) in cases {
            let url = Url::parse(upstream).expect("url");
            let proxy = Proxy::new(family, &url, key.clone(), client.clone());
            assert_eq!(proxy.endpoint().as_str(), want);
            assert_eq!(proxy.origin(), url.origin().ascii_serialization());
        }
    }
}
