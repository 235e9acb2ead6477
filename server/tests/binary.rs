//! The real binary: start-up banner (mode, accounts, URLs, masked keys), proxying through
//! loopback upstreams of both protocol families, every byte it prints (stdout and stderr, at
//! RUST_LOG=trace) free of every account's key, a bad config file refused in one line, and
//! the process under slow clients: slowloris connections cut off, the connection cap, SIGTERM
//! ending it in time during an attack, a large static file streamed without growing memory.

mod common;

use captchaai_balance::provider::Family;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_mode_prints_only_the_masked_key() {
    let upstream = Upstream::start(Behaviour::Balance("9.87654")).await;
    let server = Server::start(
        Some(KEY),
        &[
            "--upstream",
            upstream.url.as_str(),
            "--upstream-timeout-seconds",
            "1",
        ],
    );
    let base = server.base.clone();

    let balance = format!("/res.php?key={CLIENT_KEY}&action=getbalance&json=1");
    let got = get(&base, &balance).await;
    assert_eq!(got.body, r#"{"status":1,"request":"9.87654"}"#);
    let mut everything = got.everything();
    everything.push_str(&get(&base, "/v1/accounts").await.everything());
    everything.push_str(&get(&base, "/metrics").await.everything());
    everything.push_str(&get(&base, "/in.php?key=x").await.everything());
    let (stdout, stderr) = server.stop();

    assert!(stdout.contains("mode: proxy"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "default (captchaai) -> {}",
            upstream.url.as_str().trim_end_matches('/')
        )),
        "{stdout}"
    );
    assert!(stdout.contains(KEY_MASKED), "{stdout}");
    assert!(stdout.contains(&format!("admin page: {base}/")), "{stdout}");
    assert_no_key_in(&[KEY, CLIENT_KEY], &everything, &stdout, &stderr);
}

/// No key, in any letter case, in the answers, stdout or stderr of a run.
fn assert_no_key_in(keys: &[&str], responses: &str, stdout: &str, stderr: &str) {
    #[rustfmt::skip]
    let outputs = [
        ("responses", responses),
        ("stdout",    stdout),
        ("stderr",    stderr),
    ];
    for (what, text) in outputs {
        let text_lower = text.to_ascii_lowercase();
        for key in keys {
            assert!(
                !text_lower.contains(&key.to_ascii_lowercase()),
                "a key leaked into {what}:\n{text}"
            );
        }
    }
}

/// A unique path under the temporary directory for one test's file.
fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    let path =
        std::env::temp_dir().join(format!("cab-server-{}-{nanos}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write the temporary file");
    path
}

/// Five accounts of both families (keys of both formats) on their own loopback upstreams, each
/// answering something different (a balance, a CDN page, a body quoting its key, its key echoed
/// back in upper case as an error code, no answer): no key appears in any answer (both balance routes,
/// `/v1/accounts`, `/metrics`), on stdout or on stderr at `RUST_LOG=trace`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_accounts_key_appears_anywhere() {
    const TOKEN_C: &str = "CAP-5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D";
    const KEY_D: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    const TOKEN_E: &str = "custom-token-0123456789abcdef";
    let keys = [KEY, KEY2, TOKEN_C, KEY_D, TOKEN_E];
    let upper_c = TOKEN_C.to_ascii_uppercase();
    let upper_d = KEY_D.to_ascii_uppercase();
    let upstreams = [
        Upstream::start(Behaviour::Balance("9.87654")).await,
        Upstream::start_family(Family::CreateTask, Behaviour::Raw(502, "text/html", "<html>502 Bad Gateway</html>")).await,
        Upstream::start_family(
            Family::CreateTask,
            Behaviour::Owned(401, "application/json", format!(r#"{{"errorId":1,"errorCode":"ERROR_{upper_c}","errorDescription":"key {TOKEN_C}"}}"#)),
        )
        .await,
        Upstream::start(Behaviour::Owned(200, "application/json", format!(r#"{{"status":0,"request":"ERROR_{upper_d}"}}"#))).await,
        Upstream::start_family(Family::CreateTask, Behaviour::Hang).await,
    ];
    #[rustfmt::skip]
    let accounts = [
        ("a", "captchaai",         "KEY_A"),
        ("b", "anticaptcha",       "KEY_B"),
        ("c", "capsolver",         "KEY_C"),
        ("d", "2captcha",          "KEY_D"),
        ("e", "custom-createtask", "KEY_E"),
    ];
    let mut toml = String::new();
    for ((name, provider, env), upstream) in accounts.iter().zip(&upstreams) {
        toml.push_str(&format!(
            "[[account]]\nname = \"{name}\"\nprovider = \"{provider}\"\nkey_env = \"{env}\"\nendpoint = \"{}\"\n\n",
            upstream.url
        ));
    }
    let path = temp_file("accounts.toml", &toml);
    let env: Vec<_> = accounts.iter().map(|(_, _, env)| *env).zip(keys).collect();
    let config = path.to_str().expect("utf-8 path");
    let server = Server::start_with_env(
        &env,
        &["--config", config, "--upstream-timeout-seconds", "1"],
    );
    let base = server.base.clone();

    let mut everything = String::new();
    for (name, _, _) in accounts {
        let got = get(
            &base,
            &format!("/accounts/{name}/res.php?action=getbalance&json=1"),
        )
        .await;
        everything.push_str(&got.everything());
    }
    let list = get(&base, "/v1/accounts").await;
    everything.push_str(&list.everything());
    for (name, _, _) in accounts {
        for path in [
            format!("/v1/accounts/{name}"),
            format!("/v1/accounts/{name}/history"),
        ] {
            everything.push_str(&get(&base, &path).await.everything());
        }
    }
    everything.push_str(&get(&base, BALANCE).await.everything());
    everything.push_str(&get(&base, "/metrics").await.everything());
    let (stdout, stderr) = server.stop();
    let _ = std::fs::remove_file(&path);

    // Every upstream was asked once (the floor keeps the readings), in its own protocol.
    for upstream in &upstreams {
        assert_eq!(upstream.hits(), 1);
    }
    assert!(upstreams[1].bodies()[0]
        .starts_with(&format!("POST /getBalance {{\"clientKey\":\"{KEY2}\"}}")));
    let codes: Vec<_> = list.json()["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["error"]["code"].as_str().unwrap_or("none").to_string())
        .collect();
    assert_eq!(
        codes,
        ["none", "server_error", "malformed", "unknown", "timeout"],
        "{}",
        list.body
    );
    assert!(stdout.contains("c (capsolver)"), "{stdout}");
    assert!(stdout.contains("CAP-…9C0D"), "{stdout}");
    assert!(stderr.contains("upstream request failed"), "{stderr}");
    assert!(
        stderr.contains("code=\"unknown\"") || stderr.contains("code=unknown"),
        "{stderr}"
    );
    assert_no_key_in(&keys, &everything, &stdout, &stderr);
}

/// A config file with a mistake stops the start with one line naming the account and field,
/// and never the key.
#[test]
fn a_bad_config_stops_the_start_with_one_line() {
    let path = temp_file(
        "bad.toml",
        "[[account]]\nname = \"prod\"\nprovider = \"anticaptcha\"\nkey_env = \"CAB_TEST_BAD_KEY\"\n",
    );
    let bad = "not-a-key-but-a-secret-anyway-xx";
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .env("CAB_TEST_BAD_KEY", bad)
        .output()
        .expect("run");
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(r#"account "prod": key_env: the key in CAB_TEST_BAD_KEY must be"#),
        "{stderr}"
    );
    assert!(!stderr.contains(bad) && !String::from_utf8_lossy(&output.stdout).contains(bad));
}

#[tokio::test]
async fn mock_mode_is_the_default() {
    let server = Server::start(None, &[]);
    let got = get(&server.base, BALANCE).await;
    assert_eq!(got.json()["status"], 1);
    assert_eq!(get(&server.base, "/healthz").await.body, "ok");
    let (code, stdout) = server.terminate();
    assert_eq!(code, Some(0), "SIGTERM ends the server cleanly");
    assert!(stdout.contains("mode: mock"), "{stdout}");
    assert!(stdout.contains("/mock/state"), "{stdout}");
    assert!(
        stdout.contains("make build"),
        "the missing widget files are pointed out:\n{stdout}"
    );
}

/// `--data-dir`: named in the banner; a corrupt history file is logged with its path and
/// why, set aside, and the server runs on with a new history that it writes anew (in mock
/// mode, the one the simulated account's model fills in, as for an account without a file).
#[tokio::test]
async fn a_corrupt_history_file_is_logged_and_the_server_runs() {
    let garbage = "{\"version\":1,\"acc";
    // A directory of its own (removed at the end), holding the account's file.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    let dir =
        std::env::temp_dir().join(format!("cab-server-{}-{nanos}-history", std::process::id()));
    assert!(dir.starts_with(std::env::temp_dir()) && dir != std::env::temp_dir());
    std::fs::create_dir_all(&dir).expect("dir");
    let history = dir.join("production.json");
    std::fs::write(&history, garbage).expect("write");
    let server = Server::start(None, &["--data-dir", dir.to_str().expect("utf-8")]);
    let list = get(&server.base, "/v1/accounts").await;
    assert_eq!(list.status, 200);
    let production = &list.json()["accounts"][0];
    assert_eq!(production["name"], "production");
    assert_eq!(production["forecastNote"], serde_json::Value::Null);
    assert_eq!(production["spendPerHour"], "1.2");
    let (stdout, stderr) = server.stop();
    assert!(
        stdout.contains(&format!("history: kept in {}", dir.display())),
        "{stdout}"
    );
    let logged = stderr
        .lines()
        .find(|l| l.contains("history file not usable"))
        .unwrap_or_else(|| panic!("no log line in\n{stderr}"));
    assert!(logged.contains("production"), "{logged}");
    assert!(logged.contains("production.json"), "{logged}");
    assert!(
        !logged.contains(garbage),
        "the content is not logged: {logged}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("production.json.corrupt")).expect("set aside"),
        garbage
    );
    assert!(std::fs::read_to_string(&history)
        .expect("written anew")
        .contains("\"points\":[{"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_malformed_key_stops_the_start_without_showing_it() {
    let bad = "not-a-key-but-a-secret-anyway-xx";
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .env("CAPTCHAAI_API_KEY", bad)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hexadecimal"), "{stderr}");
    assert!(!stderr.contains(bad) && !String::from_utf8_lossy(&output.stdout).contains(bad));
}

/// Opens a connection and sends the start of a request that never ends.
fn half_request(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("write");
    stream
}

#[test]
fn slowloris_connections_are_cut_off() {
    let server = Server::start(None, &["--client-timeout-seconds", "1"]);
    let addr = server.addr();
    let mut idle: Vec<_> = (0..100).map(|_| half_request(&addr)).collect();
    // Connected, nothing sent at all.
    idle.extend((0..100).map(|_| TcpStream::connect(&addr).expect("connect")));
    // One byte of header every 200 ms: the limit is on the whole head, not between bytes.
    let mut drip = half_request(&addr);
    let dripper = thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if drip.write_all(b"a").is_err() {
                return Some(started.elapsed());
            }
            thread::sleep(Duration::from_millis(200));
        }
        None
    });
    let started = Instant::now();
    for (i, stream) in idle.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(5)),
            "connection {i} still open after {:?}",
            started.elapsed()
        );
    }
    let dripped = dripper.join().expect("dripper");
    assert!(
        dripped.is_some_and(|t| t < Duration::from_secs(5)),
        "the dripping client was not cut off: {dripped:?}"
    );
    // A body that never arrives in full: answered or closed in time, not held.
    let mut body = TcpStream::connect(&addr).expect("connect");
    body.write_all(
        b"POST /mock/topup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amount\"",
    )
    .expect("write");
    assert!(closed_within(&mut body, Duration::from_secs(5)));
    // A keep-alive connection left idle after its request is closed too.
    let mut kept = TcpStream::connect(&addr).expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("write");
    assert!(closed_within(&mut kept, Duration::from_secs(5)));
    // And the server still serves.
    let mut fresh = TcpStream::connect(&addr).expect("connect");
    fresh
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    fresh.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    let (stdout, stderr) = server.stop();
    assert!(
        !stdout.is_empty() && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let server = Server::start(
        None,
        &["--max-connections", "5", "--client-timeout-seconds", "60"],
    );
    let addr = server.addr();
    let mut holders: Vec<_> = (0..5).map(|_| half_request(&addr)).collect();
    thread::sleep(Duration::from_millis(300));
    let mut waiting = TcpStream::connect(&addr).expect("the kernel still queues it");
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    waiting
        .set_read_timeout(Some(Duration::from_millis(800)))
        .expect("timeout");
    let mut buf = [0_u8; 256];
    let early = waiting.read(&mut buf);
    assert!(
        early.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "served past the cap: {early:?}"
    );
    drop(holders.pop());
    waiting
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = String::new();
    waiting
        .read_to_string(&mut answer)
        .expect("served once a slot is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(holders);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_attack_and_a_stuck_upstream_exits_in_time() {
    let upstream = Upstream::start(Behaviour::Hang).await;
    let server = Server::start(
        Some(KEY),
        &[
            "--upstream",
            upstream.url.as_str(),
            "--upstream-timeout-seconds",
            "300",
        ],
    );
    let addr = server.addr();
    let slow: Vec<_> = (0..200).map(|_| half_request(&addr)).collect();
    let silent: Vec<_> = (0..20)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let base = server.base.clone();
    let stuck = tokio::spawn(async move { client().get(format!("{base}{BALANCE}")).send().await });
    eventually("the stuck upstream request", || upstream.hits() >= 1).await;

    let (code, stdout, took) = tokio::task::spawn_blocking(move || server.terminate_timed())
        .await
        .expect("join");
    println!("SIGTERM with 220 slow connections and a stuck upstream request: exit after {took:?}");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    // The stuck request was dropped with the process, not answered after a wait.
    let stuck = stuck.await.expect("task");
    assert!(stuck.is_err(), "{stuck:?}");
    drop(slow);
    drop(silent);
}

/// Peak memory of a process, from /proc (Linux).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Four downloads of a 128 MiB file at once must not read it into memory (the old server took
/// 1.2 GB for four 300 MB downloads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_static_files_are_streamed() {
    let dir = std::env::temp_dir().join(format!("cab-server-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let size: u64 = 128 * 1024 * 1024;
    // Sparse: costs no disk.
    std::fs::File::create(dir.join("big.bin"))
        .and_then(|f| f.set_len(size))
        .expect("big file");
    let static_dir = dir.to_string_lossy().into_owned();
    let server = Server::start(None, &["--static-dir", &static_dir]);
    let before = peak_rss_kib(server.child.id());
    let downloads: Vec<_> = (0..4)
        .map(|_| {
            let url = format!("{}/big.bin", server.base);
            tokio::spawn(async move {
                let mut response = client().get(url).send().await.expect("request");
                let mut total = 0_u64;
                while let Some(chunk) = response.chunk().await.expect("chunk") {
                    total += chunk.len() as u64;
                }
                total
            })
        })
        .collect();
    for download in downloads {
        assert_eq!(download.await.expect("task"), size);
    }
    let after = peak_rss_kib(server.child.id());
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    println!("peak RSS {before} KiB before, {after} KiB after four 128 MiB downloads");
    assert!(
        after < before + 64 * 1024,
        "memory grew from {before} KiB to {after} KiB: the file was read into memory"
    );
}
