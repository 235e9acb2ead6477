//! `captchaai-balance-server test-alert`: one clearly marked test message to every
//! `[[webhook]]` of `--config`, one line per target (its variable's name, never the URL).

use crate::alerts::webhook::send_test;
use crate::config::{Config, Mode};
use std::process::ExitCode;

/// `test-alert`: one marked test message to every `[[webhook]]`, one line per target
/// (its variable's name, never the URL); 0 when every target took it, 1 otherwise, 2 when
/// there is no target.
pub async fn run(config: &Config) -> ExitCode {
    if config.webhooks.is_empty() {
        eprintln!("error: no [[webhook]] to test; add one to the --config file (server/README.md shows the fields)");
        return ExitCode::from(2);
    }
    let accounts: Vec<String> = match &config.mode {
        Mode::Proxy(accounts) => accounts.iter().map(|a| a.name.clone()).collect(),
        Mode::Mock => Vec::new(),
    };
    let results = send_test(
        &config.webhooks,
        &accounts,
        config.upstream_timeout,
        config.clock.epoch_ms(),
    )
    .await;
    let mut all_ok = true;
    for (hook, result) in config.webhooks.iter().zip(results) {
        match result {
            Ok(()) => println!("{}: ok", hook.url_env),
            Err(error) => {
                all_ok = false;
                println!("{}: failed: {error}", hook.url_env);
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
