//! `captchaai-balance-server check`: one balance reading as a monitoring plugin, for Nagios,
//! Icinga, Zabbix and cron as they are.
//!
//! It prints one line in the monitoring-plugins format (status word, ` - `, text, `|`,
//! performance data) and exits 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN:
//!
//! ```text
//! BALANCE WARNING - production $3.2100 (runway 9 h) | balance=3.21;5:;1:;0 runway=32400s;;;0 spend_per_hour=0.3567;;;0
//! ```
//!
//! Everything behind the line is the server's: the same flags and `accounts.toml`, the key from
//! the same environment variable, the same upstream code ([`crate::state::AppState`], so every
//! provider works), the same history in `--data-dir` and the core's forecast and budget. The
//! levels:
//!
//! - CRITICAL: balance below `--critical` (default 0), below the core's empty floor
//!   (0.01), `ERROR_ZERO_BALANCE`, with `--type` and `--quantity` not enough for the batch, or
//!   a thread plan (CaptchaAI) with no threads: the plan expired, so every job fails whatever
//!   the money;
//! - WARNING: below `--warning` (default: the account's low threshold), or with
//!   `--threads-warning N` a thread plan with N threads or more busy (the line says so);
//! - OK: otherwise;
//! - UNKNOWN: no balance to judge (key rejected, upstream down or slow, unknown account, bad
//!   flag or config).
//!
//! The thresholds are ranges in the plugin format's sense: `5:` means "alert below 5" (a bare
//! `5` would mean "alert above 5"), so graphers draw the lines on the right side, and the
//! status agrees with them: a balance equal to a line is on its good side.
//!
//! A thread plan's line also says its threads in the core's words (`3 of 10 threads busy`,
//! `All 10 threads busy`, `No active plan`) and adds `threads=10;;;0 working_threads=3;W;;0;10`
//! to the performance data, from the same check (its `threadsinfo` half). A `threadsinfo`
//! request that failed while the balance was read changes no status: the line says `Threads
//! unknown: …` and has no thread figures.
//!
//! Politeness: a process started every minute must not ask the upstream more often than the
//! server would. With `--data-dir`, the newest reading of the account's history (the server's
//! own store) answers when it is younger than the account's cache period (`--cache-seconds`,
//! lengthened to the provider's floor for a real upstream); only an older one asks the
//! upstream, and that reading joins the history. A failed reading (a rejected key, an upstream
//! down) is kept the same way, in `DIR/{name}.failed.json` (time and the key-free reason), as
//! the server's cache keeps a failure, and a thread plan's threads beside the reading, in
//! `DIR/{name}.threads.json` (time, and the counts or the key-free error). Without `--data-dir` the same happens in the user's
//! state directory ([`default_data_dir`]). Runs of one account on one directory take turns
//! (an advisory lock, `DIR/.{name}.check.lock`, around "read what is kept, maybe ask, keep"):
//! twenty checks started at once send one request, and the other nineteen answer from it.
//! Every file is written to a temp file of its own and renamed, so runs never write into each
//! other's files.
//!
//! No line ever holds a key or an upstream URL: error texts are the core's key-free details.

use crate::accounts::account::{Forecast, Standing};
use crate::accounts::budget;
use crate::config::cli::{CheckArgs, Cli};
use crate::config::{valid_name, Config, Mode};
use crate::state::AppState;
use crate::store::write_atomically;
use captchaai_balance::costs::{CaptchaType, RateTable};
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::level::{BalanceLevel, EMPTY_FLOOR};
use captchaai_balance::money::Money;
use captchaai_balance::settings::Settings;
use captchaai_balance::threads::{Capacity, Threads, ThreadsOutcome};
use captchaai_balance::view::ThreadsView;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// The four results of a monitoring plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Warning,
    /// Exit 2.
    Critical,
    /// Exit 3.
    Unknown,
}

/// Each status's exit code and word.
#[rustfmt::skip]
const STATUSES: [(Status, u8, &str); 4] = [
    (Status::Ok,       0, "OK"),
    (Status::Warning,  1, "WARNING"),
    (Status::Critical, 2, "CRITICAL"),
    (Status::Unknown,  3, "UNKNOWN"),
];

impl Status {
    fn row(self) -> (Status, u8, &'static str) {
        STATUSES[self as usize]
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        self.row().1
    }

    /// The status word of the line.
    pub fn word(self) -> &'static str {
        self.row().2
    }
}

/// What a check prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The result.
    pub status: Status,
    /// The one line, without its newline.
    pub line: String,
}

impl Report {
    /// UNKNOWN with this reason (one line; never a key: callers pass key-free texts).
    pub fn unknown(reason: &str) -> Report {
        Report::new(Status::Unknown, reason, "")
    }

    fn new(status: Status, text: &str, perfdata: &str) -> Report {
        let mut line = String::with_capacity(64 + text.len() + perfdata.len());
        line.push_str("BALANCE ");
        line.push_str(status.word());
        line.push_str(" - ");
        line.push_str(text);
        if !perfdata.is_empty() {
            line.push_str(" | ");
            line.push_str(perfdata);
        }
        // One line whatever a message holds: a plugin's first line is its status.
        let line = line.replace(['\n', '\r'], " ");
        Report { status, line }
    }
}

/// Where a check keeps its readings without `--data-dir`, so the politeness floor holds across
/// runs anyway: `$XDG_STATE_HOME` (else `~/.local/state`)
/// `/captchaai-balance/check/{id}`, one directory per account id (the core's short hash of
/// endpoint and key, never the key), so another key or endpoint under the same name starts
/// afresh. `None` in mock mode (nothing to be polite to), for an account not in the config
/// (the check says so) and without a home.
fn default_data_dir(
    config: &Config,
    account: Option<&str>,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<std::path::PathBuf> {
    let Mode::Proxy(accounts) = &config.mode else {
        return None;
    };
    let chosen = match account {
        None => accounts.first(),
        Some(name) => accounts.iter().find(|a| a.name == name),
    }?;
    let mut settings = Settings::for_provider(chosen.provider);
    chosen.key.expose().clone_into(&mut settings.api_key);
    chosen.endpoint.as_str().clone_into(&mut settings.endpoint);
    let state = env("XDG_STATE_HOME")
        .filter(|d| Path::new(d).is_absolute())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|h| Path::new(h).is_absolute())
                .map(|home| Path::new(&home).join(".local/state"))
        })?;
    Some(
        state
            .join("captchaai-balance/check")
            .join(settings.account_id()),
    )
}

/// Runs one check for these flags, reading the environment through `env`.
pub async fn run(cli: &Cli, args: &CheckArgs, env: impl Fn(&str) -> Option<String>) -> Report {
    let mut config = match Config::from_cli(cli, &env) {
        Ok(config) => config,
        Err(error) => return Report::unknown(&error.0),
    };
    if config.data_dir.is_none() {
        config.data_dir = default_data_dir(&config, args.account.as_deref(), &env);
    }
    // One reading and its line: no watcher asking again behind it, and no webhook message
    // (the monitoring system that runs the check does the alerting).
    config.watch = false;
    config.webhooks.clear();
    // The data directory may be a server's: its alert memory is not the check's to rewrite.
    config.alert_memory = false;
    let clock = config.clock.clone();
    let data_dir = config.data_dir.clone();
    // Taken before anything is read, held until the line is decided (dropped on return).
    let _turn = match (&data_dir, lock_name(&config, args.account.as_deref())) {
        (Some(dir), Some(name)) => {
            let (dir, name) = (dir.clone(), name.to_string());
            tokio::task::spawn_blocking(move || RunLock::take(&dir, &name))
                .await
                .ok()
        }
        _ => None,
    };
    let data_dir = data_dir.as_deref();
    let state = match AppState::new(config) {
        Ok(state) => state,
        Err(error) => return Report::unknown(&error.to_string()),
    };
    let account = match &args.account {
        None => state.default_account(),
        Some(name) if !valid_name(name) => {
            return Report::unknown("--account: a name is 1 to 64 of a-z, 0-9 and -")
        }
        Some(name) => match state.account(name) {
            Some(account) => account,
            None => {
                let known: Vec<&str> = state.accounts.iter().map(|a| a.name.as_str()).collect();
                return Report::unknown(&format!(
                    "no account named {name:?} (accounts: {})",
                    known.join(", ")
                ));
            }
        },
    };
    let warning = args.warning.unwrap_or(account.threshold);
    let critical = args.critical.unwrap_or(Money::ZERO);
    if critical > warning {
        return Report::unknown(&format!(
            "--critical {critical} is above --warning {warning} (the account's low threshold unless given); CRITICAL must be the lower line"
        ));
    }
    if args.threads_warning.is_some() && !account.provider.info().threads {
        return Report::unknown(&format!(
            "--threads-warning: the provider {} sells no thread plans",
            account.provider.as_str()
        ));
    }
    let batch = match (args.kind, args.quantity) {
        (Some(kind), Some(quantity)) => {
            if account.rates.rate(kind).is_none() {
                return Report::unknown(&format!(
                    "--type {}: account {} has no price for it; set it in accounts.toml ([account.price_per_1000])",
                    kind.as_str(),
                    account.name
                ));
            }
            Some((kind, quantity))
        }
        _ => None,
    };

    // What an earlier run kept, younger than the cache period, answers without asking: the
    // newest reading of the history, or a failure newer than it (the server's cache keeps a
    // failure as long as a balance, so a rejected key is not asked again every minute either).
    let now = clock.epoch_ms();
    let ttl_ms = i64::try_from(account.ttl().as_millis()).unwrap_or(i64::MAX);
    let fresh = |at: i64| at <= now && now - at < ttl_ms;
    let failure_file = data_dir.map(|dir| dir.join(format!("{}{FAILURE_SUFFIX}", account.name)));
    let failed = failure_file
        .as_deref()
        .and_then(Failure::load)
        .filter(|f| fresh(f.at));
    let kept = account
        .latest()
        .filter(|p| data_dir.is_some() && fresh(p.at));
    let threads_file = data_dir
        .filter(|_| account.provider.info().threads)
        .map(|dir| dir.join(format!("{}{THREADS_SUFFIX}", account.name)));
    let (balance, zero_error) = match (failed, kept) {
        (Some(failure), kept) if kept.is_none_or(|p| p.at < failure.at) => {
            return Report::unknown(&failure.reason)
        }
        (_, Some(point)) => {
            // The threads read with it, told to this run's monitor as they were read then.
            if let Some(kept) = threads_file
                .as_deref()
                .and_then(KeptThreads::load)
                .filter(|t| fresh(t.at))
            {
                state
                    .alerts
                    .observe_threads(&account.name, &kept.outcome(), kept.at);
            }
            (point.balance, false)
        }
        _ => {
            let verdict = account.verdict(&state.metrics).await;
            if let (Some(file), Some(threads)) = (&threads_file, &verdict.threads) {
                KeptThreads::keep(file, now, &threads.outcome);
            }
            let reason = match &verdict.outcome {
                Ok(balance) => Ok((*balance, false)),
                Err(error) if error.code == ErrorCode::ZeroBalance => Ok((Money::ZERO, true)),
                Err(error) => {
                    let (code, detail) = (error.code.as_str(), error.detail.as_str());
                    Err(if detail.is_empty() || detail == code {
                        format!("{}: {code}", account.name)
                    } else {
                        format!("{}: {code} ({detail})", account.name)
                    })
                }
            };
            if let Some(file) = &failure_file {
                Failure::keep(file, now, reason.as_ref().err());
            }
            match reason {
                Ok(reading) => reading,
                Err(reason) => return Report::unknown(&reason),
            }
        }
    };
    judge(
        &account.name,
        &account.rates,
        balance,
        zero_error,
        &account.forecast(),
        (warning, critical),
        batch,
        account.threads_view().as_ref(),
        args.threads_warning,
    )
}

/// The account a run checks, by name, for its lock: `--account` (when it is a valid name), else
/// the first account.
fn lock_name<'a>(config: &'a Config, account: Option<&'a str>) -> Option<&'a str> {
    match account {
        Some(name) => Some(name).filter(|n| valid_name(n)),
        None => match &config.mode {
            Mode::Proxy(accounts) => accounts.first().map(|a| a.name.as_str()),
            Mode::Mock => crate::upstream::mock::MOCK_ACCOUNTS.first().map(|a| a.name),
        },
    }
}

/// One run's turn on an account's readings in a data directory: an exclusive advisory lock
/// (`flock`) on `DIR/.{name}.check.lock`, released when dropped (or when the process ends, a
/// crash included). Best effort: a directory where the lock cannot be taken runs without it.
struct RunLock {
    _file: Option<std::fs::File>,
}

impl RunLock {
    /// Waits for the turn.
    fn take(dir: &Path, name: &str) -> RunLock {
        let file = std::fs::create_dir_all(dir).and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(format!(".{name}.check.lock")))
        });
        let file = file.ok().filter(lock_exclusive);
        RunLock { _file: file }
    }
}

/// Blocks until the file's exclusive lock is this process's.
#[cfg(unix)]
fn lock_exclusive(file: &std::fs::File) -> bool {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: `flock` on a descriptor this `File` owns and keeps open; no memory is shared.
        let done = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if done == 0 {
            return true;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}

/// No advisory lock here: runs do not take turns.
#[cfg(not(unix))]
fn lock_exclusive(_: &std::fs::File) -> bool {
    false
}

/// The end of the file, next to the account's history file, that holds its latest failed
/// reading (names are `[a-z0-9-]`, so it never meets another account's history file).
pub const FAILURE_SUFFIX: &str = ".failed.json";

/// An account's latest failed reading: when, and the key-free reason the line showed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Failure {
    at: i64,
    reason: String,
}

impl Failure {
    /// The kept failure; none when there is no file or it is not one (it is then replaced).
    fn load(path: &Path) -> Option<Failure> {
        // Bounded, and never a FIFO (which would hang the check): see store::read_bounded.
        let bytes = crate::store::read_bounded(path, 64 * 1024).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Keeps `reason` as the failure at `at`, or forgets the failure after a good reading.
    /// Best effort: a file that cannot be written costs one more upstream request next time.
    fn keep(path: &Path, at: i64, reason: Option<&String>) {
        let Some(reason) = reason else {
            let _ = std::fs::remove_file(path);
            return;
        };
        let failure = Failure {
            at,
            reason: reason.clone(),
        };
        let Ok(text) = serde_json::to_string(&failure) else {
            return;
        };
        // Whole or not at all: the next run reads either the old file or the new one.
        if let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        {
            let _ = write_atomically(dir, name, text.as_bytes());
        }
    }
}

/// The end of the file, next to the account's history file, that holds a thread plan's
/// threads of the latest reading.
pub const THREADS_SUFFIX: &str = ".threads.json";

/// A thread plan's `threadsinfo` outcome of the latest reading: when, and the counts or the
/// key-free error (the core's types as they serialize).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeptThreads {
    at: i64,
    #[serde(default)]
    counts: Option<Threads>,
    #[serde(default)]
    error: Option<ApiError>,
}

impl KeptThreads {
    /// The kept outcome; none when there is no file or it is not one (it is then replaced).
    fn load(path: &Path) -> Option<KeptThreads> {
        let bytes = crate::store::read_bounded(path, 64 * 1024).ok()?;
        serde_json::from_slice::<KeptThreads>(&bytes)
            .ok()
            .filter(|k| k.counts.is_some() != k.error.is_some())
    }

    fn outcome(&self) -> ThreadsOutcome {
        match (&self.counts, &self.error) {
            (Some(counts), _) => Ok(*counts),
            (None, Some(error)) => Err(error.clone()),
            (None, None) => Err(ApiError::new(ErrorCode::Malformed, "nothing kept")),
        }
    }

    /// Keeps `outcome` as read at `at`. Best effort, whole or not at all, like the failure.
    fn keep(path: &Path, at: i64, outcome: &ThreadsOutcome) {
        let kept = KeptThreads {
            at,
            counts: outcome.as_ref().ok().copied(),
            error: outcome.as_ref().err().cloned(),
        };
        let Ok(text) = serde_json::to_string(&kept) else {
            return;
        };
        if let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        {
            let _ = write_atomically(dir, name, text.as_bytes());
        }
    }
}

/// The status and line for a balance (`zero_error`: the API said `ERROR_ZERO_BALANCE`) and a
/// thread plan's threads (`threads`: the core's view of them; `threads_warning`: WARNING from
/// this many busy).
#[allow(clippy::too_many_arguments)]
fn judge(
    name: &str,
    rates: &RateTable,
    balance: Money,
    zero_error: bool,
    forecast: &Forecast,
    (warning, critical): (Money, Money),
    batch: Option<(CaptchaType, u64)>,
    threads: Option<&ThreadsView>,
    threads_warning: Option<u32>,
) -> Report {
    let mut status = if zero_error || balance < critical || balance < EMPTY_FLOOR {
        Status::Critical
    } else if balance < warning {
        Status::Warning
    } else {
        Status::Ok
    };
    let runway_s = forecast.runway.map(|r| r.to_empty_ms / 1000);

    let mut text = String::with_capacity(96);
    text.push_str(name);
    text.push(' ');
    text.push_str(&balance.display());
    if zero_error {
        text.push_str(" (ERROR_ZERO_BALANCE)");
    }
    let mut perfdata = format!("balance={balance};{warning}:;{critical}:;0");
    if let Some((kind, quantity)) = batch {
        let standing = Standing {
            balance: Some(balance),
            level: BalanceLevel::of(balance, warning),
            runway_seconds: runway_s,
        };
        match budget::answer(name, rates, &standing, kind, quantity) {
            Ok(view) => {
                let figures = view.budget;
                if !figures.enough {
                    status = Status::Critical;
                }
                let _ = write!(
                    text,
                    ", {quantity} {} cost {}, balance covers {}",
                    kind.as_str(),
                    figures.cost.display_cost(),
                    figures.covered
                );
                let _ = write!(perfdata, " covered={};;{quantity}:;0", figures.covered);
            }
            // The rate was checked before the reading and the balance is known: unreachable
            // in practice, and no answer is better than a guessed one.
            Err(_) => return Report::unknown("the batch cost cannot be computed"),
        }
    }
    if let Some(seconds) = runway_s {
        text.push_str(" (runway ");
        text.push_str(&span(seconds));
        text.push(')');
        let _ = write!(perfdata, " runway={seconds}s;;;0");
    }
    if let Some(rate) = forecast.spend_per_hour {
        let _ = write!(perfdata, " spend_per_hour={};;;0", rate.to_four_decimals());
    }
    if let Some(view) = threads {
        text.push_str(", ");
        text.push_str(&view.text);
        if let (Some(total), Some(busy)) = (view.threads, view.working_threads) {
            if view.capacity == Some(Capacity::NoPlan) {
                // No plan: every job fails, whatever the money.
                status = status.max(Status::Critical);
            } else if let Some(line) = threads_warning.filter(|line| busy >= *line) {
                status = status.max(Status::Warning);
                let _ = write!(text, " (WARNING from {line} busy)");
            }
            // The plugin format's warning range is what is fine: 0 to N-1 busy, so N busy is
            // outside it, as the status says.
            let warn = threads_warning.map_or(String::new(), |line| (line - 1).to_string());
            let _ = write!(
                perfdata,
                " threads={total};;;0 working_threads={busy};{warn};;0;{total}"
            );
        }
    }
    Report::new(status, &text, &perfdata)
}

const MINUTE_S: i64 = 60;
const HOUR_S: i64 = 60 * MINUTE_S;
const DAY_S: i64 = 24 * HOUR_S;

/// From how long on a span is shown in which unit (floored: a runway never looks longer).
#[rustfmt::skip]
const SPANS: [(i64, i64, &str); 3] = [
    (2 * DAY_S, DAY_S,    "d"),
    (HOUR_S,    HOUR_S,   "h"),
    (0,         MINUTE_S, "min"),
];

/// `9 h`, `3 d`, `40 min`.
fn span(seconds: i64) -> String {
    let (_, unit, name) = SPANS
        .iter()
        .copied()
        .find(|(from, _, _)| seconds >= *from)
        .unwrap_or(SPANS[2]);
    format!("{} {name}", seconds.max(0) / unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use captchaai_balance::forecast::Runway;

    fn money(text: &str) -> Money {
        Money::parse(text).expect("test amount")
    }

    fn with_runway(seconds: i64) -> Forecast {
        Forecast {
            runway: Some(Runway {
                to_empty_ms: seconds * 1000,
                to_low_ms: 0,
            }),
            ..Forecast::default()
        }
    }

    #[rustfmt::skip]
    const LEVELS: [(&str, bool, &str, &str, Status); 10] = [
        ("10",    false, "5", "1", Status::Ok),
        ("5",     false, "5", "1", Status::Ok),
        ("4.99",  false, "5", "1", Status::Warning),
        ("1.0001",false, "5", "1", Status::Warning),
        ("1",     false, "5", "1", Status::Warning),
        ("0.9999",false, "5", "1", Status::Critical),
        ("0.5",   false, "5", "0", Status::Warning),
        ("0.009", false, "5", "0", Status::Critical),
        ("-2",    false, "5", "0", Status::Critical),
        ("0",     true,  "5", "0", Status::Critical),
    ];

    #[test]
    fn levels_follow_the_thresholds_and_the_empty_floor() {
        for (balance, zero, warning, critical, want) in LEVELS {
            let report = judge(
                "a",
                &RateTable::default(),
                money(balance),
                zero,
                &Forecast::default(),
                (money(warning), money(critical)),
                None,
                None,
                None,
            );
            assert_eq!(report.status, want, "{balance} {warning} {critical}");
        }
    }

    #[test]
    fn the_line_has_the_plugin_shape() {
        let report = judge(
            "production",
            &RateTable::default(),
            money("3.21"),
            false,
            &with_runway(9 * 3600 + 59),
            (money("5"), money("1")),
            None,
            None,
            None,
        );
        assert_eq!(report.line, "BALANCE WARNING - production $3.2100 (runway 9 h) | balance=3.21;5:;1:;0 runway=32459s;;;0");
        assert_eq!((report.status.code(), Status::Unknown.code()), (1, 3));
    }

    fn plan(threads: u32, busy: u32) -> ThreadsView {
        let counts = Threads {
            threads,
            working_threads: busy,
        };
        ThreadsView {
            threads: Some(threads),
            working_threads: Some(busy),
            free_threads: Some(counts.free()),
            capacity: Some(counts.capacity()),
            text: format!("{busy} of {threads} threads busy"),
            stale: false,
            read_at: None,
            share_text: None,
        }
    }

    /// A thread plan: its threads in the text and the performance data; busy threads at or above
    /// `--threads-warning` warn (said in the line), no threads at all is CRITICAL whatever the
    /// money, and a failed `threadsinfo` changes no status.
    #[test]
    fn thread_plans_warn_when_busy_and_are_critical_without_threads() {
        let unknown = ThreadsView {
            text: "Threads unknown: Server error".into(),
            ..plan(0, 0)
        };
        let unknown = ThreadsView {
            threads: None,
            working_threads: None,
            free_threads: None,
            capacity: None,
            ..unknown
        };
        #[rustfmt::skip]
        let cases: [(ThreadsView, Option<u32>, &str, Status); 6] = [
            (plan(10, 3),  None,    "BALANCE OK - production $12.0000, 3 of 10 threads busy | balance=12;5:;0:;0 threads=10;;;0 working_threads=3;;;0;10", Status::Ok),
            (plan(10, 7),  Some(8), "BALANCE OK - production $12.0000, 7 of 10 threads busy | balance=12;5:;0:;0 threads=10;;;0 working_threads=7;7;;0;10", Status::Ok),
            (plan(10, 8),  Some(8), "BALANCE WARNING - production $12.0000, 8 of 10 threads busy (WARNING from 8 busy) | balance=12;5:;0:;0 threads=10;;;0 working_threads=8;7;;0;10", Status::Warning),
            (plan(10, 10), None,    "BALANCE OK - production $12.0000, 10 of 10 threads busy | balance=12;5:;0:;0 threads=10;;;0 working_threads=10;;;0;10", Status::Ok),
            (plan(0, 0),   Some(8), "BALANCE CRITICAL - production $12.0000, 0 of 0 threads busy | balance=12;5:;0:;0 threads=0;;;0 working_threads=0;7;;0;0", Status::Critical),
            (unknown,      Some(1), "BALANCE OK - production $12.0000, Threads unknown: Server error | balance=12;5:;0:;0", Status::Ok),
        ];
        for (view, line, want, status) in cases {
            let report = judge(
                "production",
                &RateTable::default(),
                money("12"),
                false,
                &Forecast::default(),
                (money("5"), money("0")),
                None,
                Some(&view),
                line,
            );
            assert_eq!((report.line.as_str(), report.status), (want, status));
        }
        // A low balance stays WARNING, an empty one CRITICAL, whatever the threads.
        let low = judge(
            "p",
            &RateTable::default(),
            money("1"),
            false,
            &Forecast::default(),
            (money("5"), money("0")),
            None,
            Some(&plan(10, 9)),
            Some(9),
        );
        assert_eq!(low.status, Status::Warning);
        let empty = judge(
            "p",
            &RateTable::default(),
            money("0"),
            true,
            &Forecast::default(),
            (money("5"), money("0")),
            None,
            Some(&plan(10, 9)),
            Some(9),
        );
        assert_eq!(empty.status, Status::Critical);
    }

    #[rustfmt::skip]
    const SPAN_ROWS: [(i64, &str); 6] = [
        (0,                 "0 min"),
        (59 * 60 + 59,      "59 min"),
        (3600,              "1 h"),
        (47 * 3600 + 3599,  "47 h"),
        (2 * 86_400,        "2 d"),
        (10 * 86_400 - 1,   "9 d"),
    ];

    #[test]
    fn spans_are_floored_in_a_readable_unit() {
        for (seconds, want) in SPAN_ROWS {
            assert_eq!(span(seconds), want);
        }
    }
}
