//! The built widget and demo page (`--static-dir`, `dist/www` by default).
//!
//! A small table of types instead of guessing: browsers refuse to compile a `.wasm` served as
//! anything but `application/wasm` (streaming instantiation) and refuse module scripts that are
//! not JavaScript, and `nosniff` makes them say so instead of guessing. Paths are taken segment
//! by segment; `..`, hidden files, backslashes and percent-escapes are refused, so nothing
//! outside the directory can be reached.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};

/// File extension → `Content-Type`.
const TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("wasm", "application/wasm"),
    ("css", "text/css; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("webp", "image/webp"),
    ("ico", "image/x-icon"),
    ("txt", "text/plain; charset=utf-8"),
    ("md", "text/plain; charset=utf-8"),
];

/// The type for a file name (`application/octet-stream` when unknown).
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    TYPES
        .iter()
        .find(|(e, _)| *e == ext)
        .map_or("application/octet-stream", |(_, t)| t)
}

/// The file under `root` that `uri_path` names, if the path is acceptable.
/// `/` and paths ending in `/` mean `index.html`.
pub fn resolve(root: &Path, uri_path: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let relative = uri_path.strip_prefix('/')?;
    for segment in relative.split('/').filter(|s| !s.is_empty()) {
        let refused = segment.starts_with('.') || segment.contains(['\\', '%', ':', '\0']);
        if refused {
            return None;
        }
        path.push(segment);
    }
    if uri_path.ends_with('/') {
        path.push("index.html");
    }
    Some(path)
}

/// Serves one file (GET and HEAD).
pub async fn serve(root: &Path, method: &Method, uri: &Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let Some(mut path) = resolve(root, uri.path()) else {
        return not_found(root);
    };
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        path.push("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&path)),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                // Revalidate each time: a rebuilt widget must not meet a stale wasm glue.
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(root),
    }
}

fn not_found(root: &Path) -> Response {
    let text = if root.is_dir() {
        "not found\n".to_string()
    } else {
        // The usual first-run mistake: the server started before `make build`.
        format!(
            "not found: the widget files are not built ({} does not exist; run `make build`)\n",
            root.display()
        )
    };
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_paths() {
        assert_eq!(
            content_type(Path::new("a/captchaai_balance_bg.wasm")),
            "application/wasm"
        );
        assert_eq!(
            content_type(Path::new("captchaai-balance.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.bin")), "application/octet-stream");
        let root = Path::new("/srv/www");
        assert_eq!(
            resolve(root, "/"),
            Some(PathBuf::from("/srv/www/index.html"))
        );
        assert_eq!(
            resolve(root, "/pkg/a.js"),
            Some(PathBuf::from("/srv/www/pkg/a.js"))
        );
        assert_eq!(
            resolve(root, "/pkg/"),
            Some(PathBuf::from("/srv/www/pkg/index.html"))
        );
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/.git/config",
            "/%2e%2e/x",
            "/a\\..\\b",
            "relative",
        ] {
            assert_eq!(resolve(root, bad), None, "{bad}");
        }
    }
}
