//! The politeness floor across processes, with the real binary: `check` runs started at once on
//! one data directory take turns, so one of them asks and the others answer from its reading.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

/// Twenty `check` runs started at once on one data directory, the API slow to answer: one
/// request, and all twenty print its reading (the others took their turn after it and found
/// it kept).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_share_one_reading() {
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    let gate = upstream.close_gate();
    let dir = temp_dir("checks");
    let data = dir.join("data");
    let data = data.to_str().expect("utf-8").to_string();
    let url = upstream.url.to_string();
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let (data, url) = (data.clone(), url.clone());
            tokio::task::spawn_blocking(move || {
                Command::new(BIN)
                    .args(["check", "--upstream", &url, "--data-dir", &data])
                    .args(["--warning", "5"])
                    .env_remove("CAPTCHAAI_API_KEY")
                    .env("CAPTCHAAI_API_KEY", KEY)
                    .output()
                    .expect("run check")
            })
        })
        .collect();
    eventually("the first request", || upstream.hits() >= 1).await;
    // Time for the other runs to ask too, if they would.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    gate.add_permits(1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Whatever else was asked gets its answer too, so every run ends.
    gate.add_permits(100);
    let mut lines = Vec::new();
    for run in runs {
        let out = run.await.expect("join");
        lines.push(String::from_utf8_lossy(&out.stdout).trim_end().to_string());
    }
    let want = "BALANCE WARNING - default $3.2100 | balance=3.21;5:;0:;0";
    for line in &lines {
        assert_eq!(line, want);
    }
    assert_eq!(upstream.hits(), 1, "the runs asked the API separately");
    // Each run wrote through a temp file of its own: none is left behind.
    let left: Vec<_> = std::fs::read_dir(&data)
        .expect("data dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
