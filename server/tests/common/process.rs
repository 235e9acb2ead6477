//! The server binary as a child process, for the tests that need the real process (its
//! banner, signals, a crash, what it prints).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_captchaai-balance-server");

/// A fresh, empty directory under the system temp dir, named after the test binary, the time
/// and `tag`.
pub fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("cab-test-{}-{nanos}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the temporary directory");
    dir
}

/// Runs `command` (stdin closed, its output collected, no `CAPTCHAAI_API_KEY` from this
/// environment) until it exits: its output, or `None` when it still ran after `limit` (it is
/// then killed). For starts that must end, such as a refused one.
pub fn run_until_exit(mut command: Command, limit: Duration) -> Option<Output> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("CAPTCHAAI_API_KEY");
    let mut child = command.spawn().expect("spawn");
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Makes a FIFO at `path` (and its folder): a file that opening for reading waits on forever.
pub fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(made.success());
}

/// Whether `path` is (still) a FIFO.
pub fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// `GET path` on a server at `addr`, blocking, on a connection of its own: the whole answer
/// (head and body).
pub fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

/// True when the server closed the connection within `limit` (EOF or reset), false when it was
/// still open.
pub fn closed_within(stream: &mut std::net::TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let mut buf = [0_u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 or similar before the close is fine
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true, // reset
        }
    }
}

/// A running server binary whose output is collected in the background (so a full pipe can
/// never block it).
pub struct Server {
    /// The process (its pid for signals).
    pub child: Child,
    /// `http://127.0.0.1:port`, from the banner.
    pub base: String,
    stdout: thread::JoinHandle<String>,
    stderr: thread::JoinHandle<String>,
}

impl Server {
    pub fn start(key: Option<&str>, args: &[&str]) -> Server {
        let env: Vec<_> = key.map(|k| ("CAPTCHAAI_API_KEY", k)).into_iter().collect();
        Server::start_with_env(&env, args)
    }

    /// The binary with these environment variables (and no inherited CAPTCHAAI_API_KEY).
    pub fn start_with_env(env: &[(&str, &str)], args: &[&str]) -> Server {
        let mut command = Command::new(BIN);
        command.args(["--listen", "127.0.0.1:0"]);
        if !args.contains(&"--static-dir") {
            command.args(["--static-dir", "/nonexistent/www"]);
        }
        command
            .args(args)
            .env("RUST_LOG", "trace")
            .env_remove("CAPTCHAAI_API_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.envs(env.iter().copied());
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

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// Sends SIGTERM and waits (up to 10 s) for a clean exit; returns (exit code, stdout).
    pub fn terminate(self) -> (Option<i32>, String) {
        let (code, stdout, _) = self.terminate_timed();
        (code, stdout)
    }

    /// The same, also returning how long the exit took.
    pub fn terminate_timed(mut self) -> (Option<i32>, String, Duration) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let started = Instant::now();
        for _ in 0..1000 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let took = started.elapsed();
                return (status.code(), self.stdout.join().expect("stdout"), took);
            }
            thread::sleep(Duration::from_millis(10));
        }
        let (stdout, stderr) = self.stop();
        panic!("no clean exit after SIGTERM\n{stdout}\n{stderr}");
    }

    /// SIGKILL (no drain, no last write), then everything it printed, stdout then stderr.
    pub fn kill_output(self) -> String {
        let (stdout, stderr) = self.stop();
        format!("{stdout}{stderr}")
    }

    /// Stops the process (SIGKILL) and returns (stdout, stderr).
    pub fn stop(mut self) -> (String, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (
            self.stdout.join().expect("stdout"),
            self.stderr.join().expect("stderr"),
        )
    }
}
