//! The built widget files: MIME types the browser insists on, the index page, and no way out
//! of the directory.

mod common;

use captchaai_balance_server::Config;
use common::*;
use std::path::PathBuf;

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

    for (path, content_type, body) in [
        (
            "/",
            "text/html; charset=utf-8",
            "<!doctype html><title>admin</title>",
        ),
        (
            "/index.html",
            "text/html; charset=utf-8",
            "<!doctype html><title>admin</title>",
        ),
        (
            "/captchaai-balance.js",
            "text/javascript; charset=utf-8",
            "export {};",
        ),
        (
            "/captchaai_balance_bg.wasm",
            "application/wasm",
            "\0asm\u{1}\0\0\0",
        ),
        ("/pkg/style.css", "text/css; charset=utf-8", "p{}"),
    ] {
        let got = get(&base, path).await;
        assert_eq!(got.status, 200, "{path}");
        assert_eq!(got.headers["content-type"], content_type, "{path}");
        assert_eq!(got.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(got.headers["access-control-allow-origin"], "*", "{path}");
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
