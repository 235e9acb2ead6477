//! Alerts outside the browser: the core's monitor per account, the webhook outboxes and what a
//! webhook target receives.

pub mod webhook;
