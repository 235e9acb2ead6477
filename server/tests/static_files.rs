//! The built widget files: MIME types the browser insists on, the index page, no way out of the
//! directory (nor into a FIFO), validators and conditional requests, streaming.

mod common;

use captchaai_balance_server::Config;
use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A throw-away `dist/www` look-alike (no temp-file crate needed for three files).
fn widget_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cab-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("pkg")).expect("mkdir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>admin</title>",
    )
    .expect("write");
    std::fs::write(dir.join("captchaai-balance.js"), "export {};").expect("write");
    std::fs::write(dir.join("captchaai_balance_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::write(dir.join("pkg").join("style.css"), "p{}").expect("write");
    std::fs::write(dir.join(".secret"), "hidden").expect("write");
    dir
}

#[tokio::test]
async fn serves_the_widget_with_the_right_types() {
    let dir = widget_dir("types");
    let base = start(Config::mock(&dir)).await;

    #[rustfmt::skip]
    let cases = [
        ("/",                          "text/html; charset=utf-8",       "<!doctype html><title>admin</title>"),
        ("/index.html",                "text/html; charset=utf-8",       "<!doctype html><title>admin</title>"),
        ("/captchaai-balance.js",      "text/javascript; charset=utf-8", "export {};"),
        ("/captchaai_balance_bg.wasm", "application/wasm",               "\0asm\u{1}\0\0\0"),
        ("/pkg/style.css",             "text/css; charset=utf-8",        "p{}"),
    ];
    for (path, content_type, body) in cases {
        let got = get(&base, path).await;
        assert_eq!(got.status, 200, "{path}");
        assert_eq!(got.headers["content-type"], content_type, "{path}");
        assert_eq!(got.headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            !got.headers.contains_key("access-control-allow-origin"),
            "{path}"
        );
        assert_eq!(got.headers["cache-control"], "no-cache", "{path}");
        assert_eq!(got.body, body, "{path}");
    }
    let head = send(client().head(format!("{base}/captchaai_balance_bg.wasm"))).await;
    assert_eq!(
        (
            head.status,
            head.headers["content-type"].to_str().expect("ascii")
        ),
        (200, "application/wasm")
    );

    for path in [
        "/missing.js",
        "/.secret",
        "/pkg/../.secret",
        "/%2e%2e/etc/passwd",
        "/..%2f..%2fetc/passwd",
    ] {
        assert_eq!(get(&base, path).await.status, 404, "{path}");
    }
    let post = send(client().post(format!("{base}/index.html"))).await;
    assert_eq!(post.status, 405);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn says_what_to_do_when_the_widget_is_not_built() {
    let base = start(Config::mock("/nonexistent/dist/www")).await;
    let got = get(&base, "/").await;
    assert_eq!(got.status, 404);
    assert!(got.body.contains("make build"), "{}", got.body);
    // The API still works without the files.
    assert_eq!(get(&base, BALANCE).await.status, 200);
    assert_eq!(get(&base, "/healthz").await.body, "ok");
}

#[tokio::test]
async fn refuses_symlinks_out_of_the_directory_fifos_and_devices() {
    let dir = widget_dir("escape");
    let outside = std::env::temp_dir().join(format!("cab-server-outside-{}", std::process::id()));
    std::fs::write(&outside, "outside secret").expect("write");
    std::os::unix::fs::symlink(&outside, dir.join("out.txt")).expect("symlink");
    std::os::unix::fs::symlink("/etc", dir.join("etc")).expect("symlink");
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.wasm")).expect("symlink");
    // A symlink that stays inside is fine.
    std::os::unix::fs::symlink(dir.join("captchaai-balance.js"), dir.join("alias.js"))
        .expect("symlink");
    let fifo = dir.join("pipe.js");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let base = start(Config::mock(&dir)).await;

    for path in ["/out.txt", "/etc/passwd", "/etc/hostname", "/zero.wasm"] {
        let got = get(&base, path).await;
        assert_eq!(got.status, 404, "{path}: {}", got.body);
        assert!(!got.body.contains("outside secret"), "{path}");
    }
    let started = Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(5), get(&base, "/pipe.js"))
        .await
        .expect("a FIFO must not hang its request");
    assert_eq!(got.status, 404);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let alias = get(&base, "/alias.js").await;
    assert_eq!((alias.status, alias.body.as_str()), (200, "export {};"));
    // The server still answers after all that.
    assert_eq!(get(&base, "/healthz").await.body, "ok");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&outside);
}

/// `no-cache` with validators: a page load that finds the files unchanged gets 304s, not the
/// whole .wasm again.
#[tokio::test]
async fn revalidates_with_etag_and_last_modified() {
    let dir = widget_dir("conditional");
    let base = start(Config::mock(&dir)).await;
    let url = format!("{base}/captchaai_balance_bg.wasm");
    let first = get(&base, "/captchaai_balance_bg.wasm").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.headers["content-type"], "application/wasm");
    assert_eq!(first.headers["cache-control"], "no-cache");
    let etag = first.headers["etag"].to_str().expect("ascii").to_string();
    let modified = first.headers["last-modified"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    #[rustfmt::skip]
    let cases: &[(&str, String, u16)] = &[
        ("if-none-match",     etag.clone(),                                304),
        ("if-none-match",     format!("\"nope\", {etag}"),                 304),
        ("if-none-match",     format!("W/{etag}"),                         304),
        ("if-none-match",     "*".to_string(),                             304),
        ("if-none-match",     "\"nope\"".to_string(),                      200),
        ("if-modified-since", modified.clone(),                            304),
        ("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT".to_string(), 200),
    ];
    for (name, value, status) in cases {
        let got = send(client().get(&url).header(*name, value.as_str())).await;
        assert_eq!(got.status, *status, "{name}: {value}");
        assert_eq!(
            got.headers["etag"].to_str().expect("ascii"),
            etag,
            "{name}: {value}"
        );
        if *status == 304 {
            assert!(got.body.is_empty());
        } else {
            assert_eq!(got.body, "\0asm\u{1}\0\0\0");
        }
    }
    // A non-matching If-None-Match wins over a matching If-Modified-Since.
    let got = send(
        client()
            .get(&url)
            .header("if-none-match", "\"old\"")
            .header("if-modified-since", modified.as_str()),
    )
    .await;
    assert_eq!(got.status, 200);
    // A rebuilt file gets a new tag.
    std::fs::write(
        dir.join("captchaai_balance_bg.wasm"),
        b"\0asm\x01\0\0\0rebuilt",
    )
    .expect("write");
    let got = send(client().get(&url).header("if-none-match", etag.as_str())).await;
    assert_eq!(got.status, 200);
    assert_ne!(got.headers["etag"].to_str().expect("ascii"), etag);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A large file arrives whole and in many chunks (it is streamed from disk, not read into
/// memory first; the binary test measures the memory).
#[tokio::test]
async fn streams_a_large_file() {
    let dir = widget_dir("large");
    let size: usize = 8 * 1024 * 1024 + 123;
    let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.wasm"), &content).expect("write");
    let base = start(Config::mock(&dir)).await;
    let mut response = client()
        .get(format!("{base}/big.wasm"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/wasm");
    assert_eq!(response.content_length(), Some(size as u64));
    let mut received = Vec::with_capacity(size);
    let mut chunks = 0;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        received.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(received == content, "the file arrived changed");
    assert!(chunks > 1, "{chunks} chunk(s)");
    let _ = std::fs::remove_dir_all(&dir);
}
