//! Alerts outside the browser: the core's monitor per account and an outbox per webhook target
//! ([`alerting`]), and what a target receives with one delivery to it ([`webhook`]). The
//! targets themselves are configuration ([`crate::config::webhook`]).

pub mod alerting;
pub mod webhook;
