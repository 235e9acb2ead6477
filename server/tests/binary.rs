//! The real binary: start-up banner (mode, URLs, masked key), proxying through a loopback
//! stand-in, and every byte it prints (stdout and stderr, at RUST_LOG=trace) free of the key.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_captchaai-balance-server");

/// A running server binary whose output is collected in the background (so a full pipe can
/// never block it).
struct Server {
    child: Child,
    base: String,
    stdout: thread::JoinHandle<String>,
    stderr: thread::JoinHandle<String>,
}

impl Server {
    fn start(key: Option<&str>, args: &[&str]) -> Server {
        let mut command = Command::new(BIN);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--static-dir",
                "/nonexistent/www",
            ])
            .args(args)
            .env("RUST_LOG", "trace")
            .env_remove("CAPTCHAAI_API_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(key) = key {
            command.env("CAPTCHAAI_API_KEY", key);
        }
        let mut child = command.spawn().expect("spawn the server binary");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let stdout = thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = thread::spawn(move || {
            let mut all = String::new();
            let _ = err.read_to_string(&mut all);
            all
        });
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the banner");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        Server {
            child,
            base,
            stdout,
            stderr,
        }
    }

    /// Sends SIGTERM and waits (up to 10 s) for a clean exit; returns (exit code, stdout).
    fn terminate(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        for _ in 0..1000 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status.code(), self.stdout.join().expect("stdout"));
            }
            thread::sleep(Duration::from_millis(10));
        }
        let (stdout, stderr) = self.stop();
        panic!("no clean exit after SIGTERM\n{stdout}\n{stderr}");
    }

    /// Stops the process and returns (stdout, stderr).
    fn stop(mut self) -> (String, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (
            self.stdout.join().expect("stdout"),
            self.stderr.join().expect("stderr"),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_mode_prints_only_the_masked_key() {
    let upstream = Upstream::start(Behaviour::Balance("9.87654")).await;
    let server = Server::start(
        Some(KEY),
        &[
            "--upstream",
            upstream.url.as_str(),
            "--cache-seconds",
            "0",
            "--upstream-timeout-seconds",
            "1",
        ],
    );
    let base = server.base.clone();

    let balance = format!("/res.php?key={CLIENT_KEY}&action=getbalance&json=1");
    let got = get(&base, &balance).await;
    assert_eq!(got.body, r#"{"status":1,"request":"9.87654"}"#);
    let mut everything = got.everything();
    for behaviour in [
        Behaviour::Raw(502, "text/html", "<html>502 Bad Gateway</html>"),
        Behaviour::Raw(
            200,
            "application/json",
            r#"{"status":0,"request":"ERROR_KEY_DOES_NOT_EXIST"}"#,
        ),
        Behaviour::Raw(200, "text/plain", "garbage"),
        Behaviour::Hang,
    ] {
        upstream.set(behaviour);
        everything.push_str(&get(&base, &balance).await.everything());
    }
    assert!(everything.contains(r#""error":"timeout""#), "{everything}");
    everything.push_str(&get(&base, "/metrics").await.everything());
    everything.push_str(&get(&base, "/in.php?key=x").await.everything());
    let (stdout, stderr) = server.stop();

    assert!(stdout.contains("mode: proxy"), "{stdout}");
    assert!(stdout.contains(KEY_MASKED), "{stdout}");
    assert!(stdout.contains(&format!("admin page: {base}/")), "{stdout}");
    assert!(stderr.contains("upstream request failed"), "{stderr}");
    for (what, text) in [
        ("responses", &everything),
        ("stdout", &stdout),
        ("stderr", &stderr),
    ] {
        assert!(!text.contains(KEY), "the key leaked into {what}:\n{text}");
        assert!(
            !text.contains(CLIENT_KEY),
            "a client's key leaked into {what}:\n{text}"
        );
    }
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
