//! Alerts outside the browser: the core's monitor per account and a bounded outbox per webhook
//! target ([`alerting`], [`outbox`]), their memory on disk written off the request path
//! ([`memory`]), and what a target receives with one delivery to it ([`webhook`]). The targets
//! themselves are configuration ([`crate::config::webhook`]).

pub mod alerting;
pub mod memory;
pub mod outbox;
pub mod webhook;
