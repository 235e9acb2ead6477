//! The URL map and what every response gets on the way out.
//!
//! Which routes need a token is decided here, by the routes themselves rather than by their
//! paths: `/v1/*` and `/metrics` carry [`access::require_token`], the mock control API
//! [`access::guard_mock`]; the balance routes check their key themselves (it may be in the
//! query or the body), `/healthz` and the widget's files are open.
//!
//! Every response gets the CORS headers of [`access::cors`] (none unless the request's
//! `Origin` is one of `--allow-origin`) and, unless a handler chose otherwise (static files
//! revalidate), `Cache-Control: no-store` (a balance must never come from a browser or CDN
//! cache; our own 30-second cache is the only one). Each request is counted by route and logged
//! with its path only: the query may hold a client's key or token.

use crate::http::access;
use crate::http::api;
use crate::http::mock_api;
use crate::http::static_files;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use std::time::Instant;
use tracing::debug;

/// The whole router.
pub fn router(state: AppState) -> Router {
    // With --token-env: `Authorization: Bearer` (a layer on these routes only).
    let with_token = Router::new()
        .route("/v1/accounts", get(api::list_accounts))
        .route("/v1/accounts/{name}", get(api::get_account))
        .route("/v1/accounts/{name}/history", get(api::get_history))
        .route("/v1/accounts/{name}/diagnose", get(api::get_diagnose))
        .route("/v1/history", get(api::get_default_history))
        .route("/v1/diagnose", get(api::get_default_diagnose))
        .route("/v1/budget", get(api::get_budget))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_token,
        ));
    // Host (DNS rebinding) and, with --token-env, the bearer token.
    let mock = Router::new()
        .route("/mock/state", get(mock_api::get_state))
        .route("/mock/scenario", post(mock_api::post_scenario))
        .route("/mock/topup", post(mock_api::post_topup))
        .route("/mock/reset", post(mock_api::post_reset))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            access::guard_mock,
        ));
    Router::new()
        // The token as the client's API key, or a bearer header: checked by the handlers.
        .route("/res.php", any(api::res_php))
        .route("/accounts/{name}/res.php", any(api::account_res_php))
        .route("/getBalance", any(api::get_balance))
        .route("/accounts/{name}/getBalance", any(api::account_get_balance))
        .route("/healthz", get(healthz))
        .merge(with_token)
        .merge(mock)
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            common_headers,
        ))
        .with_state(state)
}

/// The metrics label for a path: a fixed set, never the raw path.
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/res.php" => "res_php",
        p if p.starts_with("/accounts/") && p.ends_with("/res.php") => "account_res_php",
        // Both createTask routes, the default account's and any account's.
        "/getBalance" => "get_balance",
        p if p.starts_with("/accounts/") && p.ends_with("/getBalance") => "get_balance",
        // The default account's history and diagnosis are account routes too (no new label
        // for dashboards).
        p if p == "/v1/accounts"
            || p.starts_with("/v1/accounts/")
            || p == "/v1/history"
            || p == "/v1/diagnose" =>
        {
            "v1_accounts"
        }
        "/v1/budget" => "v1_budget",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        p if p.starts_with("/mock/") => "mock",
        p if p.ends_with(".php") => "refused",
        _ => "static",
    }
}

async fn common_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // Only the request's Origin is kept for the answer's CORS headers.
    let mut origin = axum::http::HeaderMap::new();
    if let Some(value) = request.headers().get(header::ORIGIN) {
        origin.insert(header::ORIGIN, value.clone());
    }
    let mut response = match access::preflight(&state, &request) {
        Some(preflight) => preflight,
        None => next.run(request).await,
    };
    access::cors(&state, &origin, &mut response);
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let status = response.status().as_u16();
    state.metrics.record_served(route_label(&path), status);
    debug!(%method, path = %path, status, ms = started.elapsed().as_millis() as u64, "served");
    response
}

/// `GET /healthz`: the process answers (it does not ask the upstream).
async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`.
async fn metrics(State(state): State<AppState>) -> Response {
    // The forecasts of the histories kept in the data directory, from the first scrape.
    state.loaded().await;
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode metrics",
        )
            .into_response(),
    }
}

/// Other API paths are refused; everything else is a static file.
async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    if request.uri().path().ends_with(".php") {
        return api::other_api_path(request.uri().query());
    }
    static_files::serve(&state.static_dir, request).await
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn every_path_gets_a_fixed_label() {
        #[rustfmt::skip]
        let cases = [
            ("/res.php",                       "res_php"),
            ("/accounts/staging/res.php",      "account_res_php"),
            ("/getBalance",                    "get_balance"),
            ("/accounts/staging/getBalance",   "get_balance"),
            ("/v1/accounts/staging",           "v1_accounts"),
            ("/v1/budget",                     "v1_budget"),
            ("/v1/diagnose",                   "v1_accounts"),
            ("/in.php",                        "refused"),
            ("/createTask",                    "static"),
            ("/widget.js",                     "static"),
        ];
        for (path, label) in cases {
            assert_eq!(route_label(path), label, "{path}");
        }
    }
}
