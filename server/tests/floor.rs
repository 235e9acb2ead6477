//! The politeness floor across processes, with the real binary: restarts in a row (a crash
//! loop, a deploy) ask a key's API once per floor, not once per start, even when a start came
//! while the last request was still out; and `check` runs started at once on one data
//! directory take turns, so one of them asks and the others answer from its reading.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

/// Five starts in a row on one data directory, each answering a page's balance request at once
/// and then killed: one request reaches the API, the other starts answer from the reading the
/// first one kept (CaptchaAI asks for one a minute per key; a crash-looping server used to
/// send one per start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_in_a_row_ask_once_per_floor() {
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    let dir = temp_dir("restarts");
    let data = dir.join("data");
    let args = [
        "--upstream",
        upstream.url.as_str(),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ];
    let mut output = String::new();
    for start in 1..=5 {
        let server = Server::start(Some(KEY), &args);
        let got = get(&server.base, BALANCE).await;
        output.push_str(&server.kill_output());
        assert_eq!(
            got.body, r#"{"status":1,"request":"3.21"}"#,
            "start {start}"
        );
    }
    assert_eq!(upstream.hits(), 1, "one request per floor, not per start");
    assert!(!output.contains(KEY), "the key was printed");
    for file in std::fs::read_dir(data.join("floor")).expect("the floor's folder") {
        let text = std::fs::read_to_string(file.expect("file").path()).expect("read");
        assert!(!text.to_lowercase().contains(KEY), "{text}");
    }
}

/// The request time is kept before the request is sent: a server killed while its request is
/// still out does not make the next start send another one within the floor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_after_a_request_still_out_waits_for_the_floor() {
    let upstream = Upstream::start(Behaviour::Balance("3.21")).await;
    let gate = upstream.close_gate();
    let dir = temp_dir("in-flight");
    let data = dir.join("data");
    let args = [
        "--upstream",
        upstream.url.as_str(),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ];
    // The watcher's first check goes out and gets no answer; the server is killed.
    let server = Server::start(Some(KEY), &args);
    eventually("the first request", || upstream.hits() == 1).await;
    server.kill_output();
    // Started again: the watcher waits for the floor instead of asking at once.
    let server = Server::start(Some(KEY), &args);
    let health = get(&server.base, "/healthz").await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    server.kill_output();
    gate.add_permits(10);
    assert_eq!(health.body, "ok");
    assert_eq!(upstream.hits(), 1, "asked again within the floor");
}

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
    // The plan's threads too, from the one check's `threadsinfo`.
    let want = "BALANCE WARNING - default $3.2100, 3 of 10 threads busy | balance=3.21;5:;0:;0 threads=10;;;0 working_threads=3;;;0;10";
    for line in &lines {
        assert_eq!(line, want);
    }
    assert_eq!(upstream.hits(), 1, "the runs asked the API separately");
    assert_eq!(
        upstream.threads_hits(),
        1,
        "the runs asked threadsinfo separately"
    );
    // Each run wrote through a temp file of its own: none is left behind.
    let left: Vec<_> = std::fs::read_dir(&data)
        .expect("data dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
