//! The politeness floor across restarts and processes: when each key last asked its API.
//!
//! A provider asks for at most one balance request per key per minute (30 s for Anti-Captcha)
//! and bans IPs that hammer it. Within one process the accounts' caches keep to that; this
//! keeps it across a restart, a crash loop, and the `check` runs and servers that share a data
//! directory: the time of every request is written here *before* the request is sent, and an
//! account asks again only once its floor has passed since the newest time any of them wrote.
//!
//! One small file per key, `DIR/floor/{id}.json` (`{"at":1795850160024}`, epoch ms), where `id`
//! is a 64-bit hash of the API's origin and the key (16 hex digits; the key itself is never
//! written). Same key at another host is another API account, with a floor of its own. Written
//! by the temp-file-and-rename of [`crate::store::write_replacing`] without `fsync`: a crash
//! of the process keeps it, a power cut may lose the last one, which costs one request at most.
//!
//! A floor file is read only when it is a regular file of at most [`MAX_FILE_BYTES`]: one that
//! is not (a FIFO would hold the request forever, a huge file the memory) is treated as absent,
//! which costs at most one request (this process's own times still hold), and the next request
//! replaces it with its own time (a rename replaces a FIFO like any file).
//!
//! Without a data directory the times live in memory only (a restart forgets them).

use crate::store::{read_bounded, write_replacing};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The folder of the data directory that holds the request times.
pub const FOLDER: &str = "floor";

/// The largest floor file read: one holds `{"at":…}`, under 32 bytes.
pub const MAX_FILE_BYTES: u64 = 4096;

/// The last request time of every key of a server (or a `check` run).
#[derive(Debug, Default)]
pub struct Floors {
    /// `DIR/floor`, or none (memory only).
    dir: Option<PathBuf>,
    /// Key id -> when this process last asked with it (epoch ms).
    marks: Mutex<HashMap<String, i64>>,
}

/// What a floor file holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mark {
    at: i64,
}

impl Floors {
    /// Request times kept under `data_dir` (none: in memory only).
    pub fn new(data_dir: Option<&Path>) -> Floors {
        Floors {
            dir: data_dir.map(|d| d.join(FOLDER)),
            marks: Mutex::default(),
        }
    }

    /// The id of a key at an API origin (`https://host:port`): FNV-1a 64 over both, 16 hex
    /// digits. Hex keys are one key in any letter case (as the APIs read them).
    pub fn id(origin: &str, key: &str) -> String {
        const PRIME: u64 = 0x0100_0000_01b3;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in ["floor", origin, &key.to_ascii_lowercase()] {
            for b in part.bytes().chain([0]) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(PRIME);
            }
        }
        format!("{hash:016x}")
    }

    /// When the key `id` last asked: the newer of this process's time and the file's (which
    /// another process, or this one before a restart, wrote). The file is read every time:
    /// once per upstream request, a few hundred bytes.
    pub fn last(&self, id: &str) -> Option<i64> {
        let own = self
            .marks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied();
        let stored = self.dir.as_deref().and_then(|dir| read_mark(dir, id));
        own.max(stored)
    }

    /// Records that the key `id` asks now (`at`, epoch ms), before the request goes out. The
    /// file is written under the lock, so two accounts of one key never write at once; a
    /// failed write is returned (the time is kept in memory all the same).
    pub fn mark(&self, id: &str, at: i64) -> io::Result<()> {
        let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        let newest = marks.get(id).map_or(at, |&m| m.max(at));
        marks.insert(id.to_string(), newest);
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let text = serde_json::to_vec(&Mark { at: newest }).map_err(io::Error::other)?;
        write_replacing(dir, &format!("{id}.json"), &text)
    }

    /// Whether request times are kept on disk.
    pub fn on_disk(&self) -> bool {
        self.dir.is_some()
    }
}

/// The time in the key's floor file; `None` when there is none or it cannot be read (the module
/// doc).
fn read_mark(dir: &Path, id: &str) -> Option<i64> {
    let bytes = read_bounded(&dir.join(format!("{id}.json")), MAX_FILE_BYTES).ok()?;
    serde_json::from_slice::<Mark>(&bytes).ok().map(|m| m.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn dir(tag: &str) -> PathBuf {
        crate::store::test_dir("floor", tag)
    }

    #[test]
    fn ids_name_origin_and_key_never_the_key() {
        let key = "0123456789ABCDEF0123456789abcdef";
        let id = Floors::id("https://ocr.captchaai.com", key);
        assert_eq!(id.len(), 16);
        assert!(!id.contains("0123"), "{id}");
        assert_eq!(
            id,
            Floors::id("https://ocr.captchaai.com", &key.to_ascii_lowercase())
        );
        assert_ne!(id, Floors::id("https://2captcha.com", key));
        assert_ne!(id, Floors::id("https://ocr.captchaai.com", &key[1..]));
        // Stored: the hash must not change between builds.
        assert_eq!(Floors::id("", ""), "e9e36d4e4936c53f");
    }

    #[test]
    fn another_process_reads_the_newest_time() {
        let d = dir("marks");
        let first = Floors::new(Some(&d));
        assert_eq!(first.last("abc"), None);
        first.mark("abc", 1_000).expect("mark");
        first.mark("abc", 900).expect("an older time never wins");
        assert_eq!(first.last("abc"), Some(1_000));
        let second = Floors::new(Some(&d));
        assert_eq!(second.last("abc"), Some(1_000));
        assert_eq!(second.last("other"), None);
        // A time another process wrote later is seen at once.
        second.mark("abc", 2_000).expect("mark");
        assert_eq!(first.last("abc"), Some(2_000));
        let names: Vec<_> = fs::read_dir(d.join(FOLDER))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("abc.json")]);
        let memory = Floors::new(None);
        memory.mark("abc", 5).expect("memory only");
        assert_eq!(memory.last("abc"), Some(5));
        let _ = fs::remove_dir_all(d);
    }

    /// A floor file that is a FIFO or oversized is not read (absent) and the next mark
    /// replaces it with a small regular file.
    #[cfg(unix)]
    #[test]
    fn an_unreadable_mark_is_absent_and_replaced() {
        let d = dir("unreadable");
        let floors = Floors::new(Some(&d));
        let path = d.join(FOLDER).join("abc.json");
        fs::create_dir_all(d.join(FOLDER)).expect("dir");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        assert_eq!(floors.last("abc"), None, "a FIFO is never opened");
        floors.mark("abc", 1_000).expect("replaces the FIFO");
        assert!(fs::symlink_metadata(&path).expect("file").is_file());
        assert_eq!(Floors::new(Some(&d)).last("abc"), Some(1_000));
        let padded = format!(r#"{{"at":2000}}{}"#, " ".repeat(MAX_FILE_BYTES as usize));
        fs::write(&path, padded).expect("write");
        assert_eq!(Floors::new(Some(&d)).last("abc"), None, "too large");
        let _ = fs::remove_dir_all(d);
    }
}
