//! The balance request (and a thread plan's `threadsinfo`), sent from the module with gloo-net:
//! in the extension's service worker and on the widget's page alike (gloo-net uses the global
//! `fetch`, never `window`).
//!
//! The core describes the request (`protocol::balance_request`, `protocol::threads_request`)
//! and reads the answer (`protocol::classify_for`, `protocol::classify_threads`); this file
//! only moves bytes. The request holds the key, so
//! neither it nor a browser error (which may name the URL) is ever logged or passed on: a
//! failure becomes a `timeout` or `network` outcome.

use crate::error::{ApiError, ErrorCode};
use crate::history::{HistoryView, Point};
use crate::monitor::Outcome;
use crate::protocol::{classify_for, classify_threads, ApiRequest, MAX_ANSWER_LEN};
use crate::provider::Family;
use crate::schedule::FETCH_TIMEOUT_MS;
use crate::threads::ThreadsOutcome;
use gloo_net::http::Request;
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, ReadableStream, ReadableStreamDefaultReader, ReadableStreamReadResult,
    RequestCache, RequestCredentials,
};

/// Sends a balance `request` and reads its answer in `family`'s protocol. Never fails: every
/// problem is an outcome.
pub async fn fetch_outcome(family: Family, request: &ApiRequest) -> Outcome {
    let answer = send(request).await?;
    classify_for(
        family,
        answer.status,
        answer.content_type.as_deref(),
        &answer.body,
    )
}

/// Sends a `threadsinfo` request and reads its answer. Never fails: every problem is an
/// outcome.
pub async fn fetch_threads(request: &ApiRequest) -> ThreadsOutcome {
    let answer = send(request).await?;
    classify_threads(answer.status, answer.content_type.as_deref(), &answer.body)
}

/// What came back: the status, the media type and the text.
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: String,
}

/// Sends `request`. Gives up after [`FETCH_TIMEOUT_MS`] (an `AbortSignal.timeout` covers the
/// headers and the body) and reads at most one byte more than an answer may have
/// ([`MAX_ANSWER_LEN`]: a longer one is still seen as too long, and an endpoint that answers
/// without end costs one small read). A failure is a `timeout` or `network` error, never the
/// browser's message (it may name the URL, and the URL may hold the key).
async fn send(request: &ApiRequest) -> Result<Answer, ApiError> {
    let signal = AbortSignal::timeout_with_u32(FETCH_TIMEOUT_MS);
    let failed = |signal: &AbortSignal| {
        if signal.aborted() {
            ApiError::new(ErrorCode::Timeout, "timeout")
        } else {
            ApiError::new(ErrorCode::Network, "network error")
        }
    };
    let builder = match request.method {
        "POST" => Request::post(&request.url),
        _ => Request::get(&request.url),
    }
    .cache(RequestCache::NoStore)
    .credentials(RequestCredentials::Omit)
    .abort_signal(Some(&signal));
    let sent = match &request.body {
        Some(body) => match builder
            .header("Content-Type", request.content_type)
            .body(body.as_str())
        {
            Ok(request) => request.send().await,
            Err(_) => return Err(failed(&signal)),
        },
        None => builder.send().await,
    };
    let Ok(response) = sent else {
        return Err(failed(&signal));
    };
    let body = match response.body() {
        Some(stream) => read_capped(stream, MAX_ANSWER_LEN + 1).await,
        None => Ok(Vec::new()),
    };
    let Ok(body) = body else {
        return Err(failed(&signal));
    };
    Ok(Answer {
        status: response.status(),
        content_type: response.headers().get("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The most bytes of a server's history answer read: 500 points are about 30 KB.
const HISTORY_READ_LIMIT: usize = 1 << 20;

/// The points of a captchaai-balance-server's history answer at `url` (`HistoryView`), or
/// `None` when there is none to read: not a server (404), a failure, or an answer that is not
/// one. With the page's own credentials: the widget's server is its page's origin.
pub async fn fetch_history(url: &str) -> Option<Vec<Point>> {
    let signal = AbortSignal::timeout_with_u32(FETCH_TIMEOUT_MS);
    let response = Request::get(url)
        .cache(RequestCache::NoStore)
        .credentials(RequestCredentials::SameOrigin)
        .abort_signal(Some(&signal))
        .send()
        .await
        .ok()
        .filter(|r| r.ok())?;
    let body = read_capped(response.body()?, HISTORY_READ_LIMIT + 1)
        .await
        .ok()?;
    if body.len() > HISTORY_READ_LIMIT {
        return None;
    }
    serde_json::from_slice::<HistoryView>(&body)
        .ok()
        .map(|history| history.points)
}

/// The stream's first `limit` bytes; the rest is never read (the stream is cancelled).
async fn read_capped(stream: ReadableStream, limit: usize) -> Result<Vec<u8>, ()> {
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        let chunk: ReadableStreamReadResult = JsFuture::from(reader.read())
            .await
            .map_err(drop)?
            .unchecked_into();
        if chunk.get_done().unwrap_or(true) {
            break;
        }
        let chunk = Uint8Array::new(&chunk.get_value()).to_vec();
        let room = limit - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    // Whatever is left is not wanted. The cancel's promise is awaited off this path, so a
    // failed cancel is handled rather than reported as an unhandled rejection.
    let cancelled = JsFuture::from(reader.cancel());
    wasm_bindgen_futures::spawn_local(async move {
        let _ = cancelled.await;
    });
    Ok(bytes)
}
