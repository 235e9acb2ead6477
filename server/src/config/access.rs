//! Who may read the server: the tokens (`--token-env`), the rule for listening off loopback,
//! and the origins whose pages may read the API from a browser (`--allow-origin`). What a
//! request must show is [`crate::http::access`]'s.
//!
//! On loopback without `--token-env` everything stays open, as before tokens existed: only
//! programs of this machine reach it. Any other listen address needs a token, or the
//! operator's explicit `--public-without-auth` (a reverse proxy in front decides who comes in);
//! without either the start is refused. Tokens live only in environment variables (flags show
//! in `ps`), are never printed, and are compared in constant time
//! ([`crate::secret::Token::matches`]).

use crate::config::cli::Cli;
use crate::config::error::{bare, ConfigError};
use crate::secret::Token;
use std::net::IpAddr;

/// What a request must show, and which pages may read the answers.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The tokens; empty: no token is asked for.
    pub tokens: Vec<Token>,
    /// Origins (`https://host[:port]`, as browsers send `Origin`) whose pages may read the API
    /// (CORS). Empty: same-origin only.
    pub allowed_origins: Vec<String>,
}

impl Access {
    /// No token, same-origin only: the library's default (tests run on loopback).
    pub fn open() -> Access {
        Access::default()
    }

    /// True when requests must carry one of the tokens.
    pub fn requires_token(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// True when `candidate` is one of the tokens (constant time).
    pub fn accepts(&self, candidate: &[u8]) -> bool {
        Token::any_matches(&self.tokens, candidate)
    }

    /// True when a page of `origin` (the request's `Origin`) may read the answer.
    pub fn allows_origin(&self, origin: &[u8]) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o.as_bytes().eq_ignore_ascii_case(origin))
    }

    /// The access the flags ask for, tokens read through `env`. Refuses a listen address off
    /// loopback without a token or `--public-without-auth`, a variable that is not set, and a
    /// token of the wrong shape, each in one line that never quotes a token. The subcommands
    /// serve nothing: for them only the tokens' variables are not read.
    pub fn of_cli(cli: &Cli, env: &dyn Fn(&str) -> Option<String>) -> Result<Access, ConfigError> {
        let mut tokens = Vec::with_capacity(cli.token_env.len());
        if cli.command.is_none() {
            for name in &cli.token_env {
                tokens.push(token_of(name, env)?);
            }
            if !is_loopback(cli.listen.ip()) && tokens.is_empty() && !cli.public_without_auth {
                return Err(ConfigError(format!(
                    "--listen {}: not a loopback address, so whoever reaches it would read every account; add --token-env NAME (the token in that environment variable; clients send it as Authorization: Bearer or as their API key), or --public-without-auth when a reverse proxy in front decides who comes in",
                    cli.listen
                )));
            }
        }
        Ok(Access {
            tokens,
            allowed_origins: cli.allow_origin.clone(),
        })
    }
}

/// The token in the variable `name`.
fn token_of(name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Token, ConfigError> {
    let var = bare(name);
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(ConfigError(format!(
            "--token-env {var}: not an environment variable name"
        )));
    }
    let value = env(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        ConfigError(format!(
            "--token-env {var}: {var} is not set or empty; put the token in it (e.g. openssl rand -hex 16)"
        ))
    })?;
    Token::new(&value)
        .map_err(|e| ConfigError(format!("--token-env {var}: the token in {var} {e}")))
}

/// 127.0.0.0/8, ::1, and IPv4-mapped loopback.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    const TOKEN: &str = "00112233445566778899aabbccddeeff";

    fn access(args: &[&str], env: &[(&str, &str)]) -> Result<Access, String> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let env = |name: &str| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        Access::of_cli(&cli, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn off_loopback_needs_a_token_or_the_explicit_flag() {
        assert!(!access(&[], &[]).expect("loopback").requires_token());
        assert!(!access(&["--listen", "[::1]:80"], &[])
            .expect("loopback")
            .requires_token());
        let error = access(&["--listen", "0.0.0.0:8080"], &[]).expect_err("refused");
        assert!(
            error.starts_with("--listen 0.0.0.0:8080: not a loopback address")
                && error.contains("--token-env NAME")
                && error.contains("--public-without-auth"),
            "{error}"
        );
        let open = access(&["--listen", "0.0.0.0:8080", "--public-without-auth"], &[]);
        assert!(!open.expect("explicitly open").requires_token());
        let with = access(
            &["--listen", "0.0.0.0:8080", "--token-env", "T"],
            &[("T", TOKEN)],
        )
        .expect("token");
        assert!(with.requires_token());
        assert!(with.accepts(TOKEN.as_bytes()));
        assert!(!with.accepts(b"00112233445566778899aabbccddeefF"));
        // Both flags at once contradict each other.
        assert!(access(
            &["--token-env", "T", "--public-without-auth"],
            &[("T", TOKEN)]
        )
        .is_err());
    }

    #[test]
    fn token_variables_are_checked_without_quoting_the_token() {
        let unset = access(&["--token-env", "NOPE"], &[]).expect_err("unset");
        assert!(unset.contains("NOPE is not set or empty"), "{unset}");
        let short = access(&["--token-env", "T"], &[("T", "abc")]).expect_err("short");
        assert_eq!(
            short,
            "--token-env T: the token in T must be 16 to 128 printable characters without spaces, it has 3"
        );
        let spaced = "a token with spaces in it";
        let error = access(&["--token-env", "T"], &[("T", spaced)]).expect_err("spaces");
        assert!(!error.contains(spaced), "{error}");
        let weird = access(&["--token-env", "A\u{1b}[2J\nB"], &[]).expect_err("unset");
        assert!(
            !weird.contains('\u{1b}') && !weird.contains('\n') && weird.contains("A\\u{1b}[2J\\nB"),
            "{weird}"
        );
    }

    #[test]
    fn origins_are_normalised_and_compared_whole() {
        let a = access(
            &[
                "--allow-origin",
                "https://Dash.Example.com/",
                "--allow-origin",
                "http://127.0.0.1:3000",
                "--allow-origin",
                "https://x.example:443",
            ],
            &[],
        )
        .expect("origins");
        assert_eq!(
            a.allowed_origins,
            [
                "https://dash.example.com",
                "http://127.0.0.1:3000",
                "https://x.example"
            ]
        );
        assert!(a.allows_origin(b"https://dash.example.com"));
        assert!(a.allows_origin(b"http://127.0.0.1:3000"));
        assert!(!a.allows_origin(b"https://dash.example.com.evil.example"));
        assert!(!a.allows_origin(b"http://dash.example.com"));
        assert!(!a.allows_origin(b"null"));
        for bad in [
            "*",
            "null",
            "dash.example.com",
            "https://d.example/path",
            "https://u@d.example",
            "ftp://d.example",
            "https://d.example/?",
        ] {
            assert!(access(&["--allow-origin", bad], &[]).is_err(), "{bad}");
        }
    }
}
