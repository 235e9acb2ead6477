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

// The layers, bottom-up: a module uses only modules listed before it (tests/layout.rs fails
// on any circle between them; server/README.md, "Source layout", has the picture).

// Leaves: nothing of this crate.
pub mod clock;
pub mod http_client;
pub mod secret;
pub mod store;

// The politeness floor's request times (over the store's file writes).
pub mod floor;

// Over the leaves: the log's key redaction, the Prometheus registry.
pub mod logging;
pub mod metrics;

// The flags and accounts.toml -> Config.
pub mod config;

// Readings: the real APIs, the simulated accounts, the verdict on an answer.
pub mod upstream;

// Monitors, outboxes and deliveries.
pub mod alerts;

// The accounts: cache, history, forecast, budget, and the watcher.
pub mod accounts;

// What every handler and command shares, built from a Config.
pub mod state;

// Routes, handlers and the accept loop.
pub mod http;

// `check` and `test-alert`.
pub mod commands;

pub use config::cli::Cli;
pub use config::{Config, Mode};
pub use state::AppError;

// A panicking request must cost one request, not the process (the cache's panic recovery and
// every other dashboard depend on it). Fails the build of any profile that sets panic = "abort"
// for the server (`make test` checks the release profile).
#[cfg(not(panic = "unwind"))]
compile_error!("captchaai-balance-server must be built with panic = \"unwind\" (see Cargo.toml's [profile.release])");

/// Builds the whole server (routes, cache, metrics, mock account or upstream client) for one
/// configuration. Serve it with [`http::serve::serve`].
pub fn app(config: Config) -> Result<axum::Router, AppError> {
    let state = state::AppState::new(config)?;
    Ok(http::routes::router(state))
}
