//! The binary exposed to more than its own machine (server/README.md, "Access"): it will not
//! listen off loopback without a token unless told to, never prints a token or a path that may
//! hold one, prints config mistakes as one plain line whatever the file says, and refuses data
//! directory files it must not read (a FIFO, an unreadable alert memory) instead of hanging or
//! overwriting them.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Runs the binary to its end, or kills it after `limit` (`None`: it was still running).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn off_loopback_without_a_token_the_start_is_refused() {
    // Refused before anything is bound.
    // (192.0.2.1, a documentation address, is not this machine's: before this check existed
    // the start failed there only when binding.)
    for listen in ["192.0.2.1:8080", "0.0.0.0:0", "[::]:0"] {
        let mut command = Command::new(BIN);
        command.args(["--listen", listen, "--static-dir", "/nonexistent"]);
        let output = run_until_exit(command, Duration::from_secs(20)).expect("exits");
        assert_eq!(output.status.code(), Some(2), "{listen}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("error: --listen {listen}: not a loopback address"))
                && stderr.contains("--token-env NAME")
                && stderr.contains("--public-without-auth"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "nothing was started");
    }
    // A token variable that is not set stops the start too, on loopback as well.
    let mut command = Command::new(BIN);
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--token-env",
        "CAB_TEST_NO_SUCH_TOKEN",
    ]);
    let output = run_until_exit(command, Duration::from_secs(20)).expect("exits");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("CAB_TEST_NO_SUCH_TOKEN is not set or empty"));
}

fn relay_config(dir: &Path, secret: &str) -> std::path::PathBuf {
    let config = dir.join("accounts.toml");
    std::fs::write(
        &config,
        format!(
            "[[account]]\nname = \"relay\"\nprovider = \"custom-2captcha\"\nkey_env = \"CAB_TEST_RELAY_KEY\"\nendpoint = \"http://127.0.0.1:9/t/{secret}/\"\n"
        ),
    )
    .expect("config");
    config
}

const PATH_SECRET: &str = "SECRET-PATH-TOKEN-4711";
const CUSTOM_KEY: &str = "custom-provider-key-0815";

/// An endpoint whose path holds a token (a proxy's, a custom provider's) is shown as
/// `scheme://host:port/…` in the banner and in the log line of a failed upstream request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_endpoint_path_is_never_printed() {
    let dir = temp_dir("secret-path");
    let config = relay_config(&dir, PATH_SECRET);
    let server = Server::start_with_env(
        &[("CAB_TEST_RELAY_KEY", CUSTOM_KEY)],
        &["--config", config.to_str().expect("utf-8")],
    );
    let got = get(&server.base, BALANCE).await;
    assert_eq!(got.json()["request"], "ERROR_SERVER_ERROR", "{}", got.body);
    let (stdout, stderr) = server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        stdout.contains("relay (custom-2captcha) -> http://127.0.0.1:9/… with key"),
        "{stdout}"
    );
    assert!(
        stderr.contains("http://127.0.0.1:9/…/res.php"),
        "the failed upstream request is logged, its path redacted:\n{stderr}"
    );
    let everything = format!("{stdout}{stderr}{}", got.everything());
    for secret in [PATH_SECRET, CUSTOM_KEY] {
        assert!(
            !everything.contains(secret),
            "{secret} printed:\n{everything}"
        );
    }
}

/// The server's own tokens appear in no output at all (stdout, stderr at RUST_LOG=trace, any
/// answer), whether a client sent them right or wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_never_printed() {
    const TOKEN: &str = "c0ffee00c0ffee00c0ffee00c0ffee01";
    let dir = temp_dir("tokens");
    let config = relay_config(&dir, PATH_SECRET);
    let server = Server::start_with_env(
        &[
            ("CAB_TEST_RELAY_KEY", CUSTOM_KEY),
            ("CAB_TEST_TOKEN", TOKEN),
        ],
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "--token-env",
            "CAB_TEST_TOKEN",
        ],
    );
    let base = server.base.clone();
    let right = get(
        &base,
        &format!("/res.php?key={TOKEN}&action=getbalance&json=1"),
    )
    .await;
    assert_eq!(
        right.json()["request"],
        "ERROR_SERVER_ERROR",
        "{}",
        right.body
    );
    let wrong = get(
        &base,
        &format!("/res.php?key={}x&action=getbalance", &TOKEN[..31]),
    )
    .await;
    assert_eq!(wrong.body, "ERROR_KEY_DOES_NOT_EXIST");
    let header = send(
        client()
            .get(format!("{base}/v1/accounts"))
            .header("authorization", format!("Bearer {TOKEN}")),
    )
    .await;
    assert_eq!(header.status, 200);
    let refused = send(
        client()
            .get(format!("{base}/metrics"))
            .header("authorization", format!("Bearer {}x", &TOKEN[..31])),
    )
    .await;
    assert_eq!(refused.status, 401);
    let (stdout, stderr) = server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stdout.contains("access: token required"), "{stdout}");
    assert!(stdout.contains("CAB_TEST_TOKEN"), "{stdout}");
    let everything = format!(
        "{stdout}{stderr}{}{}{}{}",
        right.everything(),
        wrong.everything(),
        header.everything(),
        refused.everything()
    );
    for secret in [TOKEN, &TOKEN[..31], PATH_SECRET, CUSTOM_KEY] {
        assert!(
            !everything.contains(secret),
            "{secret} printed:\n{everything}"
        );
    }
}

/// A config file or flag that holds terminal escapes, newlines or very long values is quoted
/// escaped and cut: the error stays one plain line.
#[test]
fn config_errors_are_one_plain_line_whatever_the_file_says() {
    let dir = temp_dir("escapes");
    let long = "x".repeat(300);
    #[rustfmt::skip]
    let files = [
        // A variable name with a newline and an ESC sequence that clears the screen.
        ("key_env", "[[account]]\nname = \"prod\"\nprovider = \"captchaai\"\nkey_env = \"A\\u001b[2J\\nerror: forged line\"\n".to_string(), "key_env: A\\u{1b}[2J\\nerror: forged line is not set or empty"),
        // A field toml does not know, with an escape and 300 more characters.
        ("field", format!("[[account]]\nname = \"prod\"\nprovider = \"captchaai\"\nkey_env = \"K\"\n\"\\u001b[31m{long}\" = 1\n"), "unknown field `\\u{1b}[31mxxx"),
        // A name that is not one, 300 characters long.
        ("name", format!("[[account]]\nname = \"{long}\"\nprovider = \"captchaai\"\nkey_env = \"K\"\n"), "(300 characters) must be 1 to 64"),
        // A provider that is not one.
        ("provider", format!("[[account]]\nname = \"prod\"\nprovider = \"\\u001b]0;owned\\u0007{long}\"\nkey_env = \"K\"\n"), "unknown variant `\\u{1b}]0;owned\\u{7}"),
    ];
    for (what, toml, expected) in files {
        let path = dir.join(format!("{what}.toml"));
        std::fs::write(&path, toml).expect("write");
        let mut command = Command::new(BIN);
        command.arg("--config").arg(&path);
        let output = run_until_exit(command, Duration::from_secs(20)).expect("exits");
        assert_eq!(output.status.code(), Some(2), "{what}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
            "{what}: {stderr:?}"
        );
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert!(!stderr.contains(&long[..100]), "{what}: not cut: {stderr}");
    }
    // Flags: a token variable's name, and a value clap refuses.
    let mut command = Command::new(BIN);
    command.args(["--token-env", "T\u{1b}[2J\nerror: forged"]);
    let output = run_until_exit(command, Duration::from_secs(20)).expect("exits");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("T\\u{1b}[2J\\nerror: forged is not set"),
        "{stderr}"
    );
    let mut command = Command::new(BIN);
    command.args(["--listen", "\u{1b}[2Jnot-an-address\nerror: forged\u{7}"]);
    let output = run_until_exit(command, Duration::from_secs(20)).expect("exits");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(
        stderr.contains(
            r"invalid value '\u{1b}[2Jnot-an-address\nerror: forged\u{7}' for '--listen <LISTEN>'"
        ),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An alert memory that is a FIFO (opening it would wait forever) or that this process cannot
/// read stops the start with a line naming it, and is left as it was; a history file that is a
/// FIFO is logged, set aside, and the server starts.
#[test]
fn data_dir_files_it_must_not_read_are_refused() {
    let dir = temp_dir("fifo-alerts");
    let alerts = dir.join("_alerts.json");
    mkfifo(&alerts);
    let mut command = Command::new(BIN);
    command
        .args([
            "--listen",
            "127.0.0.1:0",
            "--static-dir",
            "/nonexistent",
            "--data-dir",
        ])
        .arg(&dir);
    let output =
        run_until_exit(command, Duration::from_secs(20)).expect("the start is refused, not stuck");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the alert memory {} is not a regular file",
            alerts.display()
        )) && stderr.contains("never overwrites it"),
        "{stderr}"
    );
    assert!(is_fifo(&alerts), "left as it was");
    let _ = std::fs::remove_dir_all(&dir);

    // A history file that is a FIFO: the server starts and says which file it set aside.
    let dir = temp_dir("fifo-history");
    mkfifo(&dir.join("production.json"));
    let server = Server::start(None, &["--data-dir", dir.to_str().expect("utf-8")]);
    // Served: the app (and its histories) is built.
    let answer = http_get(&server.addr(), "/healthz");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (stdout, stderr) = server.stop();
    assert!(stdout.contains("history: kept in"), "{stdout}");
    assert!(
        stderr.contains("production.json") && stderr.contains("not a regular file"),
        "{stderr}"
    );
    assert!(is_fifo(&dir.join("production.json.corrupt")), "set aside");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An alert memory without read permission: the start is refused and the file is untouched.
/// Run as an unprivileged user (root reads any file): as root, the binary is started as
/// `nobody`.
#[test]
fn an_unreadable_alert_memory_stops_the_start() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let root = std::fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let dir = temp_dir("unreadable-alerts");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let alerts = dir.join("_alerts.json");
    let memory = r#"{"version":1,"accounts":{},"outbox":[]}"#;
    std::fs::write(&alerts, memory).expect("write");
    let mut command = Command::new(BIN);
    command
        .args([
            "--listen",
            "127.0.0.1:0",
            "--static-dir",
            "/nonexistent",
            "--data-dir",
        ])
        .arg(&dir);
    if root {
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown");
        std::os::unix::fs::chown(&alerts, Some(65534), Some(65534)).expect("chown");
        command.uid(65534).gid(65534);
    }
    std::fs::set_permissions(&alerts, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let output = run_until_exit(command, Duration::from_secs(20));
    std::fs::set_permissions(&alerts, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let output = output.expect("the start is refused");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the alert memory {} cannot be read",
            alerts.display()
        )) && stderr.contains("ermission denied"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&alerts).expect("read"),
        memory,
        "untouched"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
