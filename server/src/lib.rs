//! The small server behind the `<captchaai-balance>` widget.
//!
//! It serves the built widget files and answers `GET /res.php?action=getbalance&json=1` the way
//! CaptchaAI does, for the default account and, at `/accounts/{name}/res.php`, for any account
//! whatever its provider's protocol, either by asking the real APIs with keys that never leave
//! this process (proxy mode) or by playing simulated accounts (mock mode). `/v1/accounts` lists
//! every account with its level, `/v1/budget` whether one can pay for a batch. Each account's
//! answers go through its own 30-second cache with single-flight, so a hundred open dashboards
//! cost one upstream request per account.
//!
//! The binary (`main.rs`) only parses flags and binds a socket; [`app`] builds the whole
//! [`axum::Router`], so tests run it on a loopback port with a manual [`clock::Clock`].
#![cfg(not(target_arch = "wasm32"))]
#![deny(clippy::unwrap_used)]

pub mod account;
pub mod alerting;
pub mod answer;
pub mod api;
pub mod budget;
pub mod cache;
pub mod check;
pub mod clock;
pub mod config;
pub mod http_client;
pub mod logging;
pub mod metrics;
pub mod mock;
pub mod mock_api;
pub mod proxy;
pub mod routes;
pub mod secret;
pub mod serve;
pub mod source;
pub mod state;
pub mod static_files;
pub mod store;
pub mod watch;
pub mod webhook;

pub use config::{Cli, Config, Mode};

// A panicking request must cost one request, not the process (the cache's panic recovery and
// every other dashboard depend on it). Fails the build of any profile that sets panic = "abort"
// for the server (`make test` checks the release profile).
#[cfg(not(panic = "unwind"))]
compile_error!("captchaai-balance-server must be built with panic = \"unwind\" (see Cargo.toml's [profile.release])");

/// Why the app could not be built.
#[derive(Debug)]
pub enum AppError {
    /// The HTTP client for the upstream could not start (TLS set-up).
    HttpClient(reqwest::Error),
    /// Proxy mode with an empty account list.
    NoAccount,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::HttpClient(e) => write!(f, "cannot create the upstream HTTP client: {e}"),
            AppError::NoAccount => f.write_str("no account to watch"),
        }
    }
}

impl std::error::Error for AppError {}

/// Builds the whole server (routes, cache, metrics, mock account or upstream client) for one
/// configuration. Serve it with [`serve::serve`].
pub fn app(config: Config) -> Result<axum::Router, AppError> {
    let state = state::AppState::new(config)?;
    Ok(routes::router(state))
}
