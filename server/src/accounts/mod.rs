//! The watched accounts: each one's upstream behind its own single-flight cache, its history
//! and forecast ([`account`], [`cache`]), the batch preflight over its standing ([`budget`]),
//! and the watcher that reads every account when the core's schedule says ([`watch`]).

pub mod account;
pub mod budget;
pub mod cache;
pub mod watch;
