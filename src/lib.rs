//! captchaai-balance: watches the balances of CAPTCHA-service accounts (CaptchaAI and other
//! 2captcha- and createTask-compatible providers).
//!
//! The core is pure: it parses answers, keeps money exact, decides levels, alerts, costs and
//! the polling schedule from readings and the current time, and does no I/O. `bindings` (wasm32
//! only) turns it into the JS API used by the browser extension and the embeddable widget, and
//! sends the balance request with gloo-net; the server binary (server/) uses the same core, so
//! all three agree.

pub mod alerts;
pub mod badge;
pub mod costs;
pub mod error;
pub mod forecast;
pub mod history;
pub mod i18n;
pub mod level;
pub mod money;
pub mod monitor;
pub mod protocol;
pub mod provider;
pub mod schedule;
pub mod settings;
pub mod state;
pub mod stored;
pub mod summary;
pub mod threads;
pub mod view;

/// The JS API; public so the wasm-bindgen tests in tests/web.rs can call it.
#[cfg(target_arch = "wasm32")]
pub mod bindings;
