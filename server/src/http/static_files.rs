//! The built widget and demo page (`--static-dir`, `dist/www` by default).
//!
//! A small table of types instead of guessing: browsers refuse to compile a `.wasm` served as
//! anything but `application/wasm` (streaming instantiation) and refuse module scripts that are
//! not JavaScript, and `nosniff` makes them say so instead of guessing. Paths are taken segment
//! by segment; `..`, hidden files, backslashes and percent-escapes are refused. The resolved file
//! must then be a regular file whose real path (symlinks followed) lies inside the directory: a
//! symlink pointing out of it, a FIFO (opening one would hang the request) or a device is
//! answered 404 before anything opens it.
//!
//! The file itself is sent by tower-http's `ServeFile` (the single-file side of `ServeDir`):
//! streamed in chunks rather than read into memory, with `Last-Modified` and
//! `If-Modified-Since`, and range requests. It has no `ETag`, so one is made here from the
//! file's size and modification time and `If-None-Match` is answered here. `no-cache` then
//! means "revalidate", and a page load that finds the files unchanged costs a 304, not a new
//! download of the .wasm.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;
use tower::ServiceExt;
use tower_http::services::ServeFile;

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
pub async fn serve(root: &Path, request: Request) -> Response {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let Some(path) = resolve(root, request.uri().path()) else {
        return not_found(root);
    };
    let Some((path, metadata)) = regular_file_inside(root, &path).await else {
        return not_found(root);
    };
    let etag = entity_tag(&metadata);
    let (mut parts, body) = request.into_parts();
    if let Some(tags) = parts.headers.get(header::IF_NONE_MATCH) {
        if matches_any(tags, &etag) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            add_headers(response.headers_mut(), &path, &etag);
            return response;
        }
        // A present If-None-Match that does not match overrides If-Modified-Since (RFC 9110).
        parts.headers.remove(header::IF_MODIFIED_SINCE);
    }
    let request = Request::from_parts(parts, body);
    let response = match ServeFile::new(&path).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return not_found(root);
    }
    let mut response = response;
    add_headers(response.headers_mut(), &path, &etag);
    response
}

/// `path`'s real location (a directory means its `index.html`) and metadata, if that is a
/// regular file inside `root`'s real location. Only metadata is read: nothing is opened.
async fn regular_file_inside(root: &Path, path: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let mut real = tokio::fs::canonicalize(path).await.ok()?;
    if tokio::fs::metadata(&real).await.ok()?.is_dir() {
        real = tokio::fs::canonicalize(real.join("index.html"))
            .await
            .ok()?;
    }
    if !real.starts_with(&root) {
        return None;
    }
    let metadata = tokio::fs::metadata(&real).await.ok()?;
    metadata.is_file().then_some((real, metadata))
}

/// A strong validator from the file's size and modification time (what changes when
/// `make build` rewrites it).
fn entity_tag(metadata: &std::fs::Metadata) -> String {
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{:x}\"", metadata.len(), modified)
}

/// `If-None-Match: "a", W/"b"` (weak comparison, as RFC 9110 asks for this header) or `*`.
fn matches_any(header: &HeaderValue, etag: &str) -> bool {
    let Ok(tags) = header.to_str() else {
        return false;
    };
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn add_headers(headers: &mut HeaderMap, path: &Path, etag: &str) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Revalidate each time (cheap with the validators): a rebuilt widget must not meet a stale
    // wasm glue.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
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
