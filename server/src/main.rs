//! `captchaai-balance-server`: parses the flags, picks proxy or mock mode, binds the socket and
//! serves [`captchaai_balance_server::app`] until Ctrl-C or SIGTERM.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    let code = runtime.block_on(native::run());
    // Whatever still runs after the drain (a file read stuck in the blocking pool) must not
    // keep the process alive: give it a moment, then exit anyway.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

/// The server is native only; the wasm32 build of the workspace gets an empty binary.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use captchaai_balance_server::commands::check::{self, Report};
    use captchaai_balance_server::commands::test_alert;
    use captchaai_balance_server::config::cli::Command;
    use captchaai_balance_server::config::error::{bare, escape};
    use captchaai_balance_server::config::KEY_ENV;
    use captchaai_balance_server::http::serve::{serve, Limits};
    use captchaai_balance_server::secret::shown_url;
    use captchaai_balance_server::{app, logging, Cli, Config, Mode};
    use clap::error::ErrorKind;
    use clap::Parser;
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::process::ExitCode;

    pub async fn run() -> ExitCode {
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(error) => return refuse_flags(&error),
        };
        // The environment read once: a config of ten thousand accounts looks up ten thousand
        // variables, and `std::env::var` searches the whole environment each time.
        let environment: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let env = |name: &str| environment.get(name).cloned();
        if let Some(Command::Check(args)) = &cli.command {
            // No logging: a plugin's output is its one line.
            let report = check::run(&cli, args, env).await;
            println!("{}", report.line);
            return ExitCode::from(report.status.code());
        }
        let config = match Config::from_cli(&cli, env) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        };
        let keys = match &config.mode {
            Mode::Proxy(accounts) => accounts.iter().map(|a| a.key.clone()).collect(),
            Mode::Mock => Vec::new(),
        };
        logging::init(keys, config.access.tokens.clone());
        if let Some(Command::TestAlert) = &cli.command {
            return test_alert::run(&config).await;
        }

        let listener = match tokio::net::TcpListener::bind(cli.listen).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("error: cannot listen on {}: {error}", cli.listen);
                return ExitCode::from(1);
            }
        };
        let addr = listener.local_addr().unwrap_or(cli.listen);
        print_banner(&config, &cli, addr);

        let router = match app(config) {
            Ok(router) => router,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(1);
            }
        };
        serve(listener, router, Limits::from_cli(&cli), shutdown_signal()).await;
        ExitCode::SUCCESS
    }

    /// Flags clap refuses. For `check` that is UNKNOWN (exit 3) in one plugin line: clap's own
    /// exit code 2 would read as CRITICAL to a monitoring system. Help and version print as
    /// usual.
    fn refuse_flags(error: &clap::Error) -> ExitCode {
        let shown = matches!(
            error.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        if shown {
            error.exit();
        }
        if !std::env::args_os().skip(1).any(|a| a == "check") {
            // clap quotes the value it refused as given (a newline in it would start a line of
            // its own): a refused value is one line of ours, quoted escaped and cut; other
            // mistakes are clap's lines, each escaped.
            match refused_value(error) {
                Some(line) => eprintln!("error: {line}"),
                None => {
                    let rendered = error.to_string();
                    let lines: Vec<String> = rendered.lines().map(escape).collect();
                    eprintln!("{}", lines.join("\n"));
                }
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
        if let Some(line) = refused_value(error) {
            let report = Report::unknown(&line);
            println!("{}", report.line);
            return ExitCode::from(report.status.code());
        }
        // clap's message up to its usage and tips, as one line.
        let rendered = error.to_string();
        let message: Vec<&str> = rendered
            .lines()
            .map(str::trim)
            .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
            .collect();
        let message = escape(&message.join(" "));
        let message = message.trim_start_matches("error: ");
        let report = Report::unknown(if message.is_empty() {
            error.kind().as_str().unwrap_or("invalid flags")
        } else {
            message
        });
        println!("{}", report.line);
        ExitCode::from(report.status.code())
    }

    /// A flag value clap refused, as one line: `invalid value '…' for '--listen <LISTEN>': why`,
    /// the value escaped and cut like a config file's ([`bare`]).
    fn refused_value(error: &clap::Error) -> Option<String> {
        use clap::error::{ContextKind, ContextValue};
        let Some(ContextValue::String(value)) = error.get(ContextKind::InvalidValue) else {
            return None;
        };
        let flag = match error.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(flag)) => escape(flag),
            _ => "a flag".to_string(),
        };
        let why = std::error::Error::source(error)
            .map(|why| format!(": {}", escape(&why.to_string())))
            .unwrap_or_default();
        // clap's own quotes, around the value escaped and cut.
        Some(format!("invalid value '{}' for '{flag}'{why}", bare(value)))
    }

    /// Ctrl-C, or SIGTERM (systemd, docker stop). If a handler cannot be installed, that
    /// signal simply keeps its default action.
    async fn shutdown_signal() {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    term.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = terminate => {}
        }
        tracing::info!("shutting down");
    }

    /// What a person starting the server needs: the mode and accounts, and the URLs to open.
    /// Keys are shown masked only.
    fn print_banner(config: &Config, cli: &Cli, addr: SocketAddr) {
        // 0.0.0.0 is not something to paste into a browser.
        let host = if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        let base = format!("http://{host}");
        println!(
            "captchaai-balance-server {} listening on {base}",
            env!("CARGO_PKG_VERSION")
        );
        match &config.mode {
            Mode::Proxy(accounts) => {
                println!("mode: proxy, {} account(s):", accounts.len());
                for a in accounts {
                    // An endpoint's path may hold a token (a proxy's, a custom provider's).
                    println!(
                        "  {} ({}) -> {} with key {} ({})",
                        a.name,
                        a.provider.as_str(),
                        shown_url(&a.endpoint),
                        a.key.masked(),
                        escape(&a.key_env)
                    );
                }
            }
            Mode::Mock => println!(
                "mode: mock (no --config, no {KEY_ENV} set): simulated accounts, see {base}/v1/accounts and {base}/mock/state"
            ),
        }
        let access = &config.access;
        if access.requires_token() {
            println!(
                "access: token required (Authorization: Bearer, or as the API key of /res.php and /getBalance) on everything but /healthz and the widget's files; {} token(s) from {}",
                access.tokens.len(),
                escape(&cli.token_env.join(", "))
            );
        } else if addr.ip().to_canonical().is_loopback() {
            println!("access: open to this machine (loopback); listening elsewhere needs --token-env NAME");
        } else {
            println!("access: OPEN to anyone who reaches this address (--public-without-auth): keep a reverse proxy or firewall in front");
        }
        if !access.allowed_origins.is_empty() {
            println!(
                "browser pages allowed from: {}",
                access.allowed_origins.join(", ")
            );
        }
        match &config.data_dir {
            Some(dir) => println!("history: kept in {}", dir.display()),
            None => println!("history: in memory only (--data-dir DIR keeps it across restarts)"),
        }
        if config.webhooks.is_empty() {
            println!("alerts: no [[webhook]] configured (server/README.md)");
        } else {
            let targets: Vec<String> = config.webhooks.iter().map(|w| w.shown()).collect();
            println!("alerts: to {}", targets.join(", "));
        }
        match &config.data_dir {
            Some(dir) => println!("alert memory: kept in {}", dir.display()),
            None => println!("alert memory: in memory only (--data-dir DIR keeps it across restarts, so a restart sends no alert twice)"),
        }
        println!("admin page: {base}/");
        println!("balance API: {base}/res.php?action=getbalance&json=1 (the first account), {base}/accounts/NAME/res.php?action=getbalance&json=1");
        println!("accounts: {base}/v1/accounts");
        println!("metrics: {base}/metrics");
        if !config.static_dir.is_dir() {
            println!(
                "note: {} does not exist yet; run `make build` for the widget files (the API works without them)",
                config.static_dir.display()
            );
        }
    }
}
