//! `captchaai-balance-server check`, the real binary against loopback upstreams: the four
//! exit codes and their exact lines, the server's flags after the subcommand, both protocol
//! families through `--config`, mock mode, the politeness floor across runs with `--data-dir`
//! (for readings and for failures), the runway from the stored history, and no key in anything
//! it prints (at `RUST_LOG=trace`).

mod common;

use captchaai_balance::history::Point;
use captchaai_balance::money::Money;
use captchaai_balance::provider::Family;
use captchaai_balance_server::store::Store;
use common::*;
use std::process::Command;

/// One run: exit code, stdout, stderr.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The one line it printed.
    fn line(&self) -> &str {
        assert_eq!(self.stdout.lines().count(), 1, "one line: {self:?}");
        self.stdout.trim_end_matches('\n')
    }
}

/// `check` with these arguments and environment variables (no inherited key), off the async
/// threads so the loopback upstream keeps answering. Asserts that no key appears in its output.
async fn check(env: &[(&str, &str)], args: &[&str]) -> Run {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_remove("CAPTCHAAI_API_KEY")
            .env("RUST_LOG", "trace")
            // Each run its own state directory unless the test gives one: runs do not share
            // readings through the default one (nor the home of whoever runs the tests).
            .env("XDG_STATE_HOME", temp_dir("state"))
            .envs(env)
            .output()
            .expect("run the binary")
    })
    .await
    .expect("join");
    let run = Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    for key in [KEY, KEY2] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains(key) && !all.to_lowercase().contains(key),
            "key printed: {run:?}"
        );
    }
    run
}

/// `check --upstream URL` for the `CAPTCHAAI_API_KEY` account, plus `args`.
async fn check_key(upstream: &str, args: &[&str]) -> Run {
    let mut all = vec!["check", "--upstream", upstream];
    all.extend_from_slice(args);
    check(&[("CAPTCHAAI_API_KEY", KEY)], &all).await
}

fn now_ms() -> i64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis();
    i64::try_from(ms).expect("ms")
}

const ZERO: &str = r#"{"status":0,"request":"ERROR_ZERO_BALANCE"}"#;
const WRONG_KEY: &str = r#"{"status":0,"request":"ERROR_WRONG_USER_KEY"}"#;

/// The balance the upstream answers, the flags, the exact line and the exit code. The default
/// warning is the account's low threshold (1), the default critical 0; recaptcha_v2 costs
/// 0.003 at CaptchaAI's rates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_level_has_its_line_and_exit_code() {
    #[rustfmt::skip]
    let rows: [(Behaviour, &[&str], &str, i32); 10] = [
        (Behaviour::Balance("30"),   &[],                                       "BALANCE OK - default $30.0000, 3 of 10 threads busy | balance=30;1:;0:;0 threads=10;;;0 working_threads=3;;;0;10", 0),
        (Behaviour::Balance("3.21"), &["--warning", "5", "--critical", "1"],    "BALANCE WARNING - default $3.2100, 3 of 10 threads busy | balance=3.21;5:;1:;0 threads=10;;;0 working_threads=3;;;0;10", 1),
        (Behaviour::Balance("5"),    &["--warning", "5", "--critical", "1"],    "BALANCE OK - default $5.0000, 3 of 10 threads busy | balance=5;5:;1:;0 threads=10;;;0 working_threads=3;;;0;10", 0),
        (Behaviour::Balance("1"),    &["--warning", "5", "--critical", "1"],    "BALANCE WARNING - default $1.0000, 3 of 10 threads busy | balance=1;5:;1:;0 threads=10;;;0 working_threads=3;;;0;10", 1),
        (Behaviour::Balance("0.99"), &["--warning", "5", "--critical", "1"],    "BALANCE CRITICAL - default $0.9900, 3 of 10 threads busy | balance=0.99;5:;1:;0 threads=10;;;0 working_threads=3;;;0;10", 2),
        (Behaviour::Balance("0.5"),  &[],                                       "BALANCE WARNING - default $0.5000, 3 of 10 threads busy | balance=0.5;1:;0:;0 threads=10;;;0 working_threads=3;;;0;10", 1),
        (Behaviour::Balance("0.009"),&[],                                       "BALANCE CRITICAL - default $0.0090, 3 of 10 threads busy | balance=0.009;1:;0:;0 threads=10;;;0 working_threads=3;;;0;10", 2),
        (Behaviour::Raw(200, "application/json", ZERO), &[],                   "BALANCE CRITICAL - default $0.0000 (ERROR_ZERO_BALANCE), Threads unknown: Balance is empty | balance=0;1:;0:;0", 2),
        (Behaviour::Balance("3.21"), &["--type", "recaptcha_v2", "--quantity", "2000"], "BALANCE CRITICAL - default $3.2100, 2000 recaptcha_v2 cost $6.0000, balance covers 1070, 3 of 10 threads busy | balance=3.21;1:;0:;0 covered=1070;;2000:;0 threads=10;;;0 working_threads=3;;;0;10", 2),
        (Behaviour::Balance("30"),   &["--type", "recaptcha_v2", "--quantity", "2000", "--warning", "50"], "BALANCE WARNING - default $30.0000, 2000 recaptcha_v2 cost $6.0000, balance covers 10000, 3 of 10 threads busy | balance=30;50:;0:;0 covered=10000;;2000:;0 threads=10;;;0 working_threads=3;;;0;10", 1),
    ];
    let upstream = Upstream::start(Behaviour::Balance("30")).await;
    for (behaviour, args, line, code) in rows {
        upstream.set(behaviour);
        let run = check_key(upstream.url.as_str(), args).await;
        assert_eq!((run.line(), run.code), (line, code), "{args:?}: {run:?}");
    }
}

/// No balance to judge, or flags that make no sense: UNKNOWN, exit 3, one line that says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_says_why_in_one_line() {
    let wrong_key = Upstream::start(Behaviour::Raw(200, "application/json", WRONG_KEY)).await;
    let hang = Upstream::start(Behaviour::Hang).await;
    let fine = Upstream::start(Behaviour::Balance("30")).await;
    // A port nothing listens on: bound, then released.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    #[rustfmt::skip]
    let rows: [(&str, &[&str], &str); 9] = [
        (wrong_key.url.as_str(), &[],                                        "BALANCE UNKNOWN - default: wrong_key (ERROR_WRONG_USER_KEY)"),
        (&down,                  &[],                                        "BALANCE UNKNOWN - default: network"),
        (hang.url.as_str(),      &["--upstream-timeout-seconds", "1"],       "BALANCE UNKNOWN - default: timeout"),
        (fine.url.as_str(),      &["--account", "staging"],                  "BALANCE UNKNOWN - no account named \"staging\" (accounts: default)"),
        (fine.url.as_str(),      &["--warning", "1", "--critical", "2"],     "BALANCE UNKNOWN - --critical 2 is above --warning 1 (the account's low threshold unless given); CRITICAL must be the lower line"),
        (fine.url.as_str(),      &["--critical", "1.5"],                     "BALANCE UNKNOWN - --critical 1.5 is above --warning 1 (the account's low threshold unless given); CRITICAL must be the lower line"),
        (fine.url.as_str(),      &["--warning", "five"],                     "BALANCE UNKNOWN - invalid value 'five' for '--warning <AMOUNT>': expected a decimal amount such as 5 or 2.50"),
        (fine.url.as_str(),      &["--type", "recaptcha_v2"],                "BALANCE UNKNOWN - the following required arguments were not provided: --quantity <N>"),
        (fine.url.as_str(),      &["--quantity", "0", "--type", "image"],    "BALANCE UNKNOWN - invalid value '0' for '--quantity <N>': 0 is not in 1..=1000000"),
    ];
    for (url, args, line) in rows {
        let run = check_key(url, args).await;
        assert_eq!((run.line(), run.code), (line, 3), "{args:?}: {run:?}");
    }
    // The refused flags never cost a request; the unknown account neither.
    assert_eq!(fine.hits(), 0);

    let run = check(&[("CAPTCHAAI_API_KEY", "not-a-key")], &["check"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.line().starts_with("BALANCE UNKNOWN - "), "{run:?}");
}

/// Two runs in a row with `--data-dir` ask the upstream once, even with `--cache-seconds 0`
/// (the provider's floor, a minute for CaptchaAI), and say the same; a rejected key is not
/// asked again within the floor either. A kept reading older than the floor is not reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_a_row_keep_the_floor() {
    let dir = temp_dir("floor");
    let data_dir = dir.to_str().expect("utf-8 path");
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    let args = [
        "--data-dir",
        data_dir,
        "--cache-seconds",
        "0",
        "--warning",
        "5",
    ];
    let first = check_key(upstream.url.as_str(), &args).await;
    let second = check_key(upstream.url.as_str(), &args).await;
    let want = "BALANCE WARNING - default $3.2100, 3 of 10 threads busy | balance=3.21;5:;0:;0 threads=10;;;0 working_threads=3;;;0;10";
    assert_eq!((first.line(), first.code), (want, 1));
    assert_eq!((second.line(), second.code), (want, 1));
    assert_eq!(
        upstream.hits(),
        1,
        "the second run answers from the data directory"
    );
    // Another threshold judges the kept reading anew, still without asking.
    let third = check_key(
        upstream.url.as_str(),
        &["--data-dir", data_dir, "--warning", "2"],
    )
    .await;
    assert_eq!(
        third.line(),
        "BALANCE OK - default $3.2100, 3 of 10 threads busy | balance=3.21;2:;0:;0 threads=10;;;0 working_threads=3;;;0;10"
    );
    assert_eq!(upstream.hits(), 1);

    // Without --data-dir nothing is kept: every run reads.
    check_key(upstream.url.as_str(), &[]).await;
    assert_eq!(upstream.hits(), 2);

    // A rejected key, twice: one request, the same UNKNOWN line.
    let dir = temp_dir("floor-failure");
    let data_dir = dir.to_str().expect("utf-8 path");
    let rejecting = Upstream::start(Behaviour::Raw(200, "application/json", WRONG_KEY)).await;
    for _ in 0..2 {
        let run = check_key(rejecting.url.as_str(), &["--data-dir", data_dir]).await;
        assert_eq!(
            (run.line(), run.code),
            (
                "BALANCE UNKNOWN - default: wrong_key (ERROR_WRONG_USER_KEY)",
                3
            )
        );
    }
    assert_eq!(rejecting.hits(), 1);
    // Once the key is fixed and the floor has passed, the reading is a balance again and the
    // failure is forgotten.
    let failure = dir.join("default.failed.json");
    let kept = std::fs::read_to_string(&failure).expect("the failure is kept");
    assert!(!kept.contains(KEY));
    std::fs::write(
        &failure,
        format!(
            r#"{{"at":{},"reason":"default: wrong_key (ERROR_WRONG_USER_KEY)"}}"#,
            now_ms() - 61_000
        ),
    )
    .expect("age the failure");
    age_floor(&dir);
    rejecting.set(Behaviour::Balance("7"));
    let run = check_key(rejecting.url.as_str(), &["--data-dir", data_dir]).await;
    assert_eq!(
        (run.line(), run.code),
        ("BALANCE OK - default $7.0000, 3 of 10 threads busy | balance=7;1:;0:;0 threads=10;;;0 working_threads=3;;;0;10", 0)
    );
    assert_eq!(rejecting.hits(), 2);
    assert!(!failure.exists());

    // A kept reading older than the floor: asked again.
    let dir = temp_dir("floor-old");
    keep_history(&dir, &[(now_ms() - 61_000, 900)]);
    let fresh = Upstream::start(Behaviour::Balance("8")).await;
    let run = check_key(
        fresh.url.as_str(),
        &["--data-dir", dir.to_str().expect("utf-8")],
    )
    .await;
    assert_eq!(
        run.line(),
        "BALANCE OK - default $8.0000, 3 of 10 threads busy | balance=8;1:;0:;0 threads=10;;;0 working_threads=3;;;0;10"
    );
    assert_eq!(fresh.hits(), 1);
}

/// Moves the request times of the politeness floor kept in `dir` (`floor/*.json`) a floor
/// and a second into the past, as if that time had passed.
fn age_floor(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir.join("floor")).expect("the floor's folder") {
        let path = entry.expect("entry").path();
        std::fs::write(&path, format!(r#"{{"at":{}}}"#, now_ms() - 61_000)).expect("age");
    }
}

/// Every file under `dir`, in its folders too.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Keeps `(at, cents)` readings as the `default` CaptchaAI account's history in `dir`, written
/// by the server's own store.
fn keep_history(dir: &std::path::Path, readings: &[(i64, i64)]) {
    let points: Vec<Point> = readings
        .iter()
        .map(|&(at, cents)| Point {
            at,
            balance: Money::from_cents(cents),
        })
        .collect();
    Store::new(Some(dir.to_path_buf()))
        .save("default", "captchaai", &points)
        .expect("write the history");
}

/// A history in `--data-dir` that drains one dollar an hour gives the runway (the core's
/// forecast, as the server shows it) in the text and the performance data, with the spend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runway_comes_from_the_kept_history() {
    let dir = temp_dir("runway");
    let now = now_ms();
    let hour = 3_600_000;
    let points: Vec<(i64, i64)> = (0..5)
        .map(|i| (now - (5 - i) * hour, (11 - i) * 100))
        .collect();
    keep_history(&dir, &points);
    let upstream = Upstream::start(Behaviour::Balance("6")).await;
    let run = check_key(
        upstream.url.as_str(),
        &["--data-dir", dir.to_str().expect("utf-8")],
    )
    .await;
    let line = run.line();
    assert_eq!(run.code, 0, "{run:?}");
    // Six dollars at a dollar an hour: six hours, give or take the milliseconds of the run.
    let (text, perfdata) = line.split_once(" | ").expect("perfdata");
    assert!(
        text == "BALANCE OK - default $6.0000 (runway 6 h), 3 of 10 threads busy"
            || text == "BALANCE OK - default $6.0000 (runway 5 h), 3 of 10 threads busy",
        "{line}"
    );
    let seconds: i64 = perfdata
        .strip_prefix("balance=6;1:;0:;0 runway=")
        .and_then(|r| {
            r.strip_suffix("s;;;0 spend_per_hour=1;;;0 threads=10;;;0 working_threads=3;;;0;10")
        })
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!((21_500..=21_700).contains(&seconds), "{line}");
}

/// `--config` accounts of both protocol families, each by name; the server's flags before the
/// subcommand work too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_of_the_config_file() {
    let captchaai = Upstream::start(Behaviour::Balance("12.5")).await;
    let anti = Upstream::start_family(Family::CreateTask, Behaviour::Balance("2.25")).await;
    let dir = temp_dir("config");
    let config = dir.join("accounts.toml");
    std::fs::write(
        &config,
        format!(
            "[[account]]\nname = \"production\"\nprovider = \"captchaai\"\nkey_env = \"KEY_A\"\nthreshold = \"5\"\nendpoint = \"{}\"\n\n\
             [[account]]\nname = \"scraper\"\nprovider = \"anticaptcha\"\nkey_env = \"KEY_B\"\nthreshold = \"3\"\nendpoint = \"{}\"\n\n\
             [[account]]\nname = \"priced\"\nprovider = \"anticaptcha\"\nkey_env = \"KEY_A\"\nendpoint = \"{}\"\n\
             [account.price_per_1000]\nimage = \"0.5\"\n",
            captchaai.url, anti.url, anti.url
        ),
    )
    .expect("write the config");
    let config = config.to_str().expect("utf-8");
    let env = [("KEY_A", KEY), ("KEY_B", KEY2)];
    let run = check(&env, &["--config", config, "check"]).await;
    assert_eq!(
        (run.line(), run.code),
        ("BALANCE OK - production $12.5000, 3 of 10 threads busy | balance=12.5;5:;0:;0 threads=10;;;0 working_threads=3;;;0;10", 0)
    );
    let run = check(&env, &["check", "--config", config, "--account", "scraper"]).await;
    assert_eq!(
        (run.line(), run.code),
        (
            "BALANCE WARNING - scraper $2.2500 | balance=2.25;3:;0:;0",
            1
        )
    );
    assert!(
        anti.bodies().iter().any(|b| b.contains("getBalance")),
        "{:?}",
        anti.bodies()
    );
    // Anti-Captcha has no published rates in the provider table and this account names no
    // price: no batch cost to judge.
    let run = check(
        &env,
        &[
            "check",
            "--config",
            config,
            "--account",
            "scraper",
            "--type",
            "image",
            "--quantity",
            "5",
        ],
    )
    .await;
    assert_eq!(
        (run.line(), run.code),
        (
            "BALANCE UNKNOWN - --type image: account scraper has no price for it; set it in accounts.toml ([account.price_per_1000])",
            3
        )
    );
    // The same provider with the account's own price (0.5 per 1,000: 0.0005 a solve).
    let batch = |quantity: &'static str| {
        [
            "check",
            "--config",
            config,
            "--account",
            "priced",
            "--type",
            "image",
            "--quantity",
            quantity,
        ]
    };
    let run = check(&env, &batch("5000")).await;
    assert_eq!(
        (run.line(), run.code),
        (
            "BALANCE CRITICAL - priced $2.2500, 5000 image cost $2.5000, balance covers 4500 | balance=2.25;1:;0:;0 covered=4500;;5000:;0",
            2
        )
    );
    let run = check(&env, &batch("4500")).await;
    assert_eq!(
        (run.line(), run.code),
        (
            "BALANCE OK - priced $2.2500, 4500 image cost $2.2500, balance covers 4500 | balance=2.25;1:;0:;0 covered=4500;;4500:;0",
            0
        )
    );
}

/// No config and no key: the simulated default account (`production`), as the demo has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_mode_checks_the_simulated_account() {
    let run = check(&[], &["check", "--warning", "5"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.line().starts_with("BALANCE OK - production $"),
        "{run:?}"
    );
    let run = check(&[], &["check", "--account", "archive"]).await;
    assert_eq!(
        (run.line(), run.code),
        (
            "BALANCE UNKNOWN - archive: key_not_found (ERROR_KEY_DOES_NOT_EXIST)",
            3
        )
    );
}

/// A check reads once and prints its line: it is the monitoring system that alerts, so the
/// config's `[[webhook]]` gets nothing from it (a cron check every minute would otherwise send
/// the team a second alert stream), and no watcher asks the upstream again behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_sends_no_webhook_and_asks_once() {
    use axum::routing::any;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let hooks = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook_url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let counter = Arc::clone(&hooks);
    let router = axum::Router::new().fallback(any(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "ok" }
    }));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });

    let upstream = Upstream::start(Behaviour::Balance("0.50")).await;
    let dir = temp_dir("webhook");
    let config = dir.join("accounts.toml");
    std::fs::write(
        &config,
        format!(
            "[[account]]\nname = \"production\"\nprovider = \"captchaai\"\nkey_env = \"KEY_A\"\nthreshold = \"5\"\nendpoint = \"{}\"\n\n\
             [[webhook]]\nformat = \"generic\"\nurl_env = \"HOOK_URL\"\n",
            upstream.url
        ),
    )
    .expect("write the config");
    let config = config.to_str().expect("utf-8");
    let data = dir.join("data");
    let data_dir = data.to_str().expect("utf-8");
    // A server's alert memory in that directory, with a message still waiting for its target.
    std::fs::create_dir_all(&data).expect("create the data directory");
    let server_memory = r#"{"version":1,"accounts":{},"outbox":[{"id":"production-1-warning","target":"SERVER_HOOK","body":"{}","at":1}]}"#;
    std::fs::write(data.join("_alerts.json"), server_memory).expect("write the memory");
    let run = check(
        &[("KEY_A", KEY), ("HOOK_URL", &hook_url)],
        &["check", "--config", config, "--data-dir", data_dir],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.line()
            .starts_with("BALANCE WARNING - production $0.5000"),
        "{run:?}"
    );
    // Time for a stray delivery or watcher request to land.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(hooks.load(Ordering::SeqCst), 0, "the check sent a webhook");
    // Nor touched the server's alert memory: its waiting message is still there, and the
    // check left no decision of its own behind.
    let memory = std::fs::read_to_string(data.join("_alerts.json")).expect("the memory");
    assert_eq!(memory, server_memory, "the check rewrote the alert memory");
    assert_eq!(upstream.hits(), 1);
    // The webhook's variable is not needed either: a check never reads the targets.
    let run = check(&[("KEY_A", KEY)], &["check", "--config", config]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.line()
            .starts_with("BALANCE WARNING - production $0.5000"),
        "{run:?}"
    );
}

/// Without `--data-dir` the floor still holds across runs: the readings are kept in the user's
/// state directory (`$XDG_STATE_HOME/captchaai-balance/check/{account id}`), one directory per
/// endpoint and key, so another key is asked at once; no key in the directory's names or files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_data_dir_the_floor_holds_in_the_state_directory() {
    let state = temp_dir("xdg-state");
    let state_text = state.to_str().expect("utf-8").to_string();
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    let url = upstream.url.to_string();
    let run = |key: &'static str| {
        let (state, url) = (state_text.clone(), url.clone());
        async move {
            check(
                &[("CAPTCHAAI_API_KEY", key), ("XDG_STATE_HOME", &state)],
                &["check", "--upstream", &url, "--warning", "5"],
            )
            .await
        }
    };
    let want = "BALANCE WARNING - default $3.2100, 3 of 10 threads busy | balance=3.21;5:;0:;0 threads=10;;;0 working_threads=3;;;0;10";
    assert_eq!(run(KEY).await.line(), want);
    assert_eq!(run(KEY).await.line(), want);
    assert_eq!(
        upstream.hits(),
        1,
        "the second run asked the upstream again"
    );
    assert_eq!(run(KEY2).await.line(), want);
    assert_eq!(upstream.hits(), 2, "another key must be asked");
    let dirs: Vec<String> = std::fs::read_dir(state.join("captchaai-balance/check"))
        .expect("the state directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in &dirs {
        assert!(!dir.contains(KEY) && !dir.contains(KEY2), "{dir}");
        for file in files_under(&state.join("captchaai-balance/check").join(dir)) {
            let text = std::fs::read_to_string(file).expect("read");
            assert!(
                !text.contains(KEY) && !text.contains(KEY2),
                "a key in {text}"
            );
        }
    }
}

/// A thread plan (CaptchaAI): its threads in the line and the performance data from the same
/// check; `--threads-warning N` warns from N busy threads and says so; a plan with no threads
/// is CRITICAL whatever the money; with `--data-dir` a second run answers the threads from the
/// first one's reading without asking; the flag on another provider's account is UNKNOWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_plan_is_judged_by_its_threads_too() {
    use captchaai_balance_server::upstream::mock::Scenario;
    let upstream = Upstream::start(Behaviour::Balance("30")).await;
    let url = upstream.url.as_str();
    let run = check_key(url, &["--threads-warning", "4"]).await;
    assert_eq!(
        (run.line(), run.code),
        ("BALANCE OK - default $30.0000, 3 of 10 threads busy | balance=30;1:;0:;0 threads=10;;;0 working_threads=3;3;;0;10", 0)
    );
    upstream.set_plan(Scenario::Saturated);
    let dir = temp_dir("threads-check");
    let data_dir = dir.to_str().expect("utf-8");
    for _ in 0..2 {
        let run = check_key(url, &["--threads-warning", "9", "--data-dir", data_dir]).await;
        assert_eq!(
            (run.line(), run.code),
            ("BALANCE WARNING - default $30.0000, All 10 threads busy (WARNING from 9 busy) | balance=30;1:;0:;0 threads=10;;;0 working_threads=10;8;;0;10", 1)
        );
    }
    assert_eq!(
        (upstream.hits(), upstream.threads_hits()),
        (2, 2),
        "the second run answered from the data directory"
    );
    let kept = std::fs::read_to_string(dir.join("default.threads.json")).expect("kept threads");
    assert!(
        kept.contains(r#""counts":{"threads":10,"workingThreads":10}"#),
        "{kept}"
    );
    assert!(!kept.to_lowercase().contains(KEY));

    upstream.set_plan(Scenario::Expired);
    let run = check_key(url, &[]).await;
    assert_eq!(
        (run.line(), run.code),
        ("BALANCE CRITICAL - default $30.0000, No active plan | balance=30;1:;0:;0 threads=0;;;0 working_threads=0;;;0;0", 2)
    );

    let anti = Upstream::start_family(Family::CreateTask, Behaviour::Balance("2.25")).await;
    let config_dir = temp_dir("threads-config");
    let config = config_dir.join("accounts.toml");
    std::fs::write(
        &config,
        format!(
            "[[account]]\nname = \"scraper\"\nprovider = \"anticaptcha\"\nkey_env = \"KEY_B\"\nendpoint = \"{}\"\n",
            anti.url
        ),
    )
    .expect("write the config");
    let run = check(
        &[("KEY_B", KEY2)],
        &[
            "check",
            "--config",
            config.to_str().expect("utf-8"),
            "--threads-warning",
            "2",
        ],
    )
    .await;
    assert_eq!(
        (run.line(), run.code),
        (
            "BALANCE UNKNOWN - --threads-warning: the provider anticaptcha sells no thread plans",
            3
        )
    );
    assert_eq!(anti.hits(), 0);
}
