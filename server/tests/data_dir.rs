//! The data directory read through bounds: a FIFO, a device or an oversized file in place of
//! an alert memory file, an outbox journal, the legacy `_alerts.json` or a politeness floor
//! file never hangs the server nor grows its memory. An alert memory file or journal that is
//! there but cannot be read stops the start, naming it, and is left as it was; the journals
//! and a legacy backlog are read within the outbox bound whatever their size (the legacy file
//! up to its own bound, 1 GiB), so a large backlog migrates instead of blocking the start; a
//! floor file that cannot be read costs at most one request and is replaced.

mod common;

use captchaai_balance_server::floor::{Floors, FOLDER, MAX_FILE_BYTES};
use captchaai_balance_server::{app, AppError};
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The key variable, the account (its upstream where nothing listens) and one webhook target
/// that is down, as an accounts.toml in `dir`; returns its path.
fn config_file(dir: &Path) -> String {
    let file = dir.join("accounts.toml");
    std::fs::write(
        &file,
        "[[account]]\nname = \"production\"\nprovider = \"captchaai\"\nkey_env = \"KEY_A\"\nendpoint = \"http://127.0.0.1:9\"\n\n\
         [[webhook]]\nformat = \"generic\"\nurl_env = \"OPS_HOOK\"\n",
    )
    .expect("write the config");
    file.to_str().expect("utf-8").to_string()
}

const ENV: [(&str, &str); 2] = [("KEY_A", KEY), ("OPS_HOOK", "http://127.0.0.1:9/hook")];

/// The binary with that config and `data` as its data directory, run until it exits or for
/// 20 s: (exit code, or `None` when it was still running; stderr).
fn run_to_exit(config: &str, data: &Path) -> (Option<i32>, String) {
    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0", "--static-dir", "/nonexistent"])
        .args(["--config", config, "--data-dir"])
        .arg(data)
        .envs(ENV);
    match run_until_exit(command, Duration::from_secs(20)) {
        Some(output) => (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ),
        None => (None, "(still running after 20 s)".into()),
    }
}

/// An account's alert memory or a target's journal that is a FIFO, or a monitor file larger
/// than any this server writes: the start is refused in one line naming the file (exit 1),
/// never stuck on the FIFO, and the file is left as it was.
#[test]
fn an_unreadable_alert_file_or_journal_stops_the_start() {
    #[rustfmt::skip]
    let cases: [(&str, &str, bool); 3] = [
        ("alerts/production.json", "the alert memory",   true),
        ("outbox/OPS_HOOK.jsonl",  "the outbox journal", true),
        ("alerts/production.json", "the alert memory",   false),
    ];
    for (file, what, fifo) in cases {
        let dir = temp_dir("unreadable");
        let config = config_file(&dir);
        let data = dir.join("data");
        let path = data.join(file);
        let size = if fifo {
            mkfifo(&path);
            0
        } else {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            let text = format!(
                r#"{{"version":1,"account":"production","monitor":{{}}}}{}"#,
                " ".repeat(1 << 20)
            );
            std::fs::write(&path, &text).expect("write");
            text.len()
        };
        let (code, stderr) = run_to_exit(&config, &data);
        assert_eq!(code, Some(1), "{file}: refused, not stuck: {stderr}");
        let why = if fifo {
            "is not a regular file (a FIFO, a device or a directory)".to_string()
        } else {
            format!("is {size} bytes, more than the 1048576")
        };
        assert!(
            stderr.contains(&format!("error: {what} {} {why}", path.display()))
                && stderr.contains("never overwrites it"),
            "{file}: {stderr}"
        );
        if fifo {
            assert!(is_fifo(&path), "{file}: left as it was");
        } else {
            assert_eq!(std::fs::metadata(&path).expect("kept").len(), size as u64);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The most memory the process has held (`VmHWM`, its peak resident set), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("VmHWM")
}

/// The value of a metric line of `/metrics`, as a count.
fn metric_of(answer: &str, series: &str) -> Option<u64> {
    metric(answer, series).and_then(|v| v.parse().ok())
}

const BACKLOG_BYTES: usize = 40 << 20;
/// The peak resident set a start with a backlog of [`BACKLOG_BYTES`] stays under: a server
/// that read the backlog whole would hold it at least once (and once more as messages).
const PEAK_LIMIT: u64 = (BACKLOG_BYTES as u64) * 3 / 4;

/// Starts the binary on `data` holding a `what` of `total` waiting messages for
/// `config_file`'s target (which is down), waits until it serves, and checks that the newest
/// 1,000 are pending, the rest dropped and counted, and that the start stayed under
/// [`PEAK_LIMIT`].
fn start_keeps_the_newest_within_the_bound(dir: &Path, data: &Path, total: usize, what: &str) {
    let started = Instant::now();
    let config = config_file(dir);
    let data = data.to_str().expect("utf-8");
    let server = Server::start_with_env(&ENV, &["--config", &config, "--data-dir", data]);
    // Served once the app (and so the alert memory) is built.
    let metrics = http_get(&server.addr(), "/metrics");
    let peak = peak_rss(server.child.id());
    let (stdout, stderr) = server.stop();
    let pending = metric_of(
        &metrics,
        "captcha_balance_webhook_pending{target=\"OPS_HOOK\"}",
    )
    .unwrap_or_else(|| panic!("{metrics}\n{stdout}\n{stderr}"));
    let dropped = metric_of(
        &metrics,
        "captcha_balance_webhook_deliveries_total{target=\"OPS_HOOK\",result=\"dropped\"}",
    )
    .unwrap_or(0);
    eprintln!("PEAK {peak} took {:?}", started.elapsed());
    assert_eq!((pending, dropped), (1000, total as u64 - 1000));
    assert!(
        peak < PEAK_LIMIT,
        "peak memory {peak} bytes for a {BACKLOG_BYTES}-byte {what}"
    );
}

/// The body of one waiting message of about 1 KB (as the bench's backlog has them).
fn body(i: usize) -> String {
    serde_json::json!({"id": format!("old-{i}"), "kind": "warning", "message": "x".repeat(900)})
        .to_string()
}

/// A 40 MiB `_alerts.json` of an earlier version (a target down for long), over the 16 MiB
/// that once refused the start: it migrates at start within the outbox bound (the newest
/// 1,000 kept, the rest counted as dropped), read as it streams, so the process never holds
/// it whole.
#[test]
fn a_large_legacy_backlog_migrates_within_the_bound() {
    let dir = temp_dir("legacy-backlog");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("dir");
    let mut text = String::with_capacity(BACKLOG_BYTES + (1 << 20));
    text.push_str(
        r#"{"version":1,"accounts":{"production":{"lastRequestAt":5,"history":[]}},"outbox":["#,
    );
    let mut total = 0;
    while text.len() < BACKLOG_BYTES {
        if total > 0 {
            text.push(',');
        }
        let entry = serde_json::json!({"id": format!("old-{total}"), "target": "OPS_HOOK", "body": body(total), "at": 1_800_000_000_000_i64 + total as i64});
        text.push_str(&entry.to_string());
        total += 1;
    }
    text.push_str("]}");
    std::fs::write(data.join("_alerts.json"), &text).expect("write");
    drop(text);

    start_keeps_the_newest_within_the_bound(&dir, &data, total, "backlog");
    assert!(data.join("_alerts.json.migrated").is_file());
    assert!(!data.join("_alerts.json").exists());
    let journal = std::fs::metadata(data.join("outbox/OPS_HOOK.jsonl")).expect("journal");
    assert!(journal.len() < 2 << 20, "{} bytes", journal.len());
    // The newest were kept.
    let kept = std::fs::read_to_string(data.join("outbox/OPS_HOOK.jsonl")).expect("journal");
    assert!(kept.contains(&format!("\"old-{}\"", total - 1)));
    assert!(!kept.contains(&format!("\"old-{}\"", total - 1001)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 40 MiB outbox journal (written under a bound since lowered, or by a crash loop that never
/// compacted): read line by line within the bound at start, so the process never holds it
/// whole; the newest 1,000 are pending, the rest dropped and counted.
#[test]
fn a_large_journal_is_read_within_the_bound() {
    let dir = temp_dir("journal-backlog");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("outbox")).expect("dir");
    let mut text = String::with_capacity(BACKLOG_BYTES + (1 << 20));
    let mut total = 0;
    while text.len() < BACKLOG_BYTES {
        total += 1;
        let line = serde_json::json!({"add": {"seq": total, "id": format!("old-{total}"), "body": body(total), "at": 1_800_000_000_000_i64 + total as i64, "account": "production"}});
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(data.join("outbox/OPS_HOOK.jsonl"), &text).expect("write");
    drop(text);

    start_keeps_the_newest_within_the_bound(&dir, &data, total, "journal");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A floor file that is a FIFO, or larger than a request time can be (a valid time padded
/// past the bound): not read, so the balance is answered (a FIFO would have held the request,
/// and the padded time would have been honoured), the key asks once, and the request replaces
/// the file with its own time. Without the file being read nothing else is lost: this
/// process's own request times still hold the floor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_floor_file_costs_no_hang() {
    for fifo in [true, false] {
        let upstream = Upstream::start(Behaviour::Balance("12.5")).await;
        let dir = temp_dir("floor");
        let mut config = proxy_config(&upstream);
        config.data_dir = Some(dir.clone());
        let origin = upstream.url.origin().ascii_serialization();
        let path = dir
            .join(FOLDER)
            .join(format!("{}.json", Floors::id(&origin, KEY)));
        if fifo {
            mkfifo(&path);
        } else {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            let now = config.clock.epoch_ms();
            let text = format!(r#"{{"at":{now}}}"#);
            let padded = format!("{text}{}", " ".repeat(MAX_FILE_BYTES as usize));
            std::fs::write(&path, padded).expect("write");
        }
        let base = start(config).await;
        let got = tokio::time::timeout(Duration::from_secs(10), get(&base, BALANCE))
            .await
            .unwrap_or_else(|_| panic!("fifo {fifo}: no answer in 10 s"));
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["request"], "12.5");
        assert_eq!(upstream.hits(), 1);
        let replaced = std::fs::metadata(&path).expect("the floor file");
        assert!(
            replaced.is_file() && replaced.len() < 64,
            "fifo {fifo}: {replaced:?}"
        );
        // The process's own time holds: asked again within the floor, it answers from the
        // cache and asks nothing.
        assert_eq!(get(&base, BALANCE).await.status, 200);
        assert_eq!(upstream.hits(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The library refuses the same way: `app` returns the error the binary prints.
#[test]
fn the_app_names_the_unreadable_file() {
    let dir = temp_dir("app-refuses");
    let path = dir.join("alerts/production.json");
    mkfifo(&path);
    let mut config = captchaai_balance_server::Config::mock("/nonexistent");
    config.data_dir = Some(dir.clone());
    let error = match app(config) {
        Err(AppError::DataDir(why)) => why,
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("started on a FIFO alert memory"),
    };
    assert!(
        error.starts_with(&format!(
            "the alert memory {} is not a regular file",
            path.display()
        )),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
