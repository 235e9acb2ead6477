//! Each account's balance history on disk (`--data-dir`), so a restart keeps the forecast.
//!
//! One file per account, `DIR/{name}.json` (names are `[a-z0-9-]`, so the name is a safe file
//! name), holding the account's name, provider and readings (`at` in epoch ms, `balance` as
//! an exact decimal string) and nothing else: never the key, nor the endpoint (an endpoint may
//! carry a token in its path).
//!
//! A write is atomic: the whole file goes to a temp file of its own,
//! `DIR/.{name}.json.{pid}-{n}.tmp` (unique per write, so two processes writing one file, such
//! as concurrent `check` runs, never write into each other's), is flushed to disk (`fsync`),
//! then renamed over the old file, and the directory is flushed so the rename lasts. A crash at
//! any point leaves either the old file or the new one, whole; a left-over temp file is ignored
//! and removed by a server start once it is an hour old ([`remove_stale_temp_files`]). The alert
//! memory and `check`'s kept failures are written the same way ([`write_atomically`]).
//!
//! A file that cannot be read or parsed is logged (the path and why, never its content) and
//! set aside as `{name}.json.corrupt` for a person to look at; the account starts with an
//! empty history rather than stopping the server. Reads are bounded ([`read_bounded`]): only a
//! regular file is opened (a FIFO would block the start forever, a device could be endless),
//! at most [`MAX_HISTORY_FILE_BYTES`] of it, with at most [`MAX_POINTS`] readings.

use captchaai_balance::history::Point;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tracing::warn;

/// The format of the files; a file of another version is set aside like a corrupt one.
pub const FORMAT_VERSION: u32 = 1;

/// The largest history file read: a full one is about 25 KB (500 points).
pub const MAX_HISTORY_FILE_BYTES: u64 = 1 << 20;

/// The most readings a history file may hold: four times what the core ever keeps
/// (`history::HISTORY_POINTS`); a file with more is not one this server wrote.
pub const MAX_POINTS: usize = 4 * captchaai_balance::history::HISTORY_POINTS;

/// The largest account alert memory (`alerts/{name}.json`: one account's monitor state without
/// its history, a few KB) the server starts with.
pub const MAX_ALERT_FILE_BYTES: u64 = 1 << 20;

/// The directory that holds the history files, or none (memory only).
#[derive(Debug, Clone, Default)]
pub struct Store {
    dir: Option<PathBuf>,
}

/// One account's file. Borrowed when written, owned when read. The readings are the core's
/// `history::Point`s as serde writes them: `{"at":1795850160024,"balance":"24.98"}` (`at` in
/// epoch ms, the balance an exact decimal string, never a float).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryFile<'a> {
    version: u32,
    account: Cow<'a, str>,
    provider: Cow<'a, str>,
    points: Cow<'a, [Point]>,
}

/// Why a history file could not be read back.
#[derive(Debug)]
pub enum LoadError {
    /// The file exists but cannot be read.
    Io(io::Error),
    /// Not JSON of the expected shape (a balance that is not an exact decimal included).
    Parse(serde_json::Error),
    /// Another format version, or another account's file.
    Invalid(&'static str),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // read_bounded's own refusals read as the end of a sentence about the file.
            LoadError::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
                ) =>
            {
                write!(f, "the file {e}")
            }
            LoadError::Io(e) => write!(f, "cannot read: {e}"),
            // serde_json's messages name the position and the expected type, not the content.
            LoadError::Parse(e) => write!(f, "not a history file: {e}"),
            LoadError::Invalid(why) => f.write_str(why),
        }
    }
}

impl Store {
    /// Histories kept in `dir` (created when missing, on the first write), or in memory only.
    pub fn new(dir: Option<PathBuf>) -> Store {
        Store { dir }
    }

    /// Whether histories are kept on disk.
    pub fn on_disk(&self) -> bool {
        self.dir.is_some()
    }

    /// The file of account `name`.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{name}.json")))
    }

    /// The stored history of account `name` (oldest first): empty when memory only, when there
    /// is no file yet, or when the file is unreadable (logged, set aside).
    pub fn load(&self, name: &str) -> Vec<Point> {
        let Some(path) = self.path(name) else {
            return Vec::new();
        };
        match read(&path, name) {
            Ok(points) => points,
            Err(LoadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => {
                let aside = path.with_extension("json.corrupt");
                let kept = fs::rename(&path, &aside).is_ok();
                warn!(
                    account = name,
                    file = %path.display(),
                    error = %error,
                    set_aside = kept,
                    "history file not usable; the account starts with an empty history"
                );
                Vec::new()
            }
        }
    }

    /// Writes the history of account `name` atomically (see the module doc). Memory only: does
    /// nothing.
    pub fn save(&self, name: &str, provider: &str, points: &[Point]) -> io::Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let temp = self.write_temp(dir, name, provider, points)?;
        replace(dir, &temp, &dir.join(format!("{name}.json")))
    }

    /// The first half of [`Store::save`]: the complete new file at its temp path, on disk.
    /// Public so the tests can stop a write here, as a crash would.
    pub fn write_temp(
        &self,
        dir: &Path,
        name: &str,
        provider: &str,
        points: &[Point],
    ) -> io::Result<PathBuf> {
        let file = HistoryFile {
            version: FORMAT_VERSION,
            account: Cow::Borrowed(name),
            provider: Cow::Borrowed(provider),
            points: Cow::Borrowed(points),
        };
        let bytes = serde_json::to_vec(&file).map_err(io::Error::other)?;
        write_temp_file(dir, &format!("{name}.json"), &bytes)
    }
}

/// Writes `bytes` as `dir/file_name`, whole or not at all (the module doc's atomic write):
/// every file the server keeps goes through here.
pub fn write_atomically(dir: &Path, file_name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp = write_temp_file(dir, file_name, bytes)?;
    replace(dir, &temp, &dir.join(file_name))
}

/// [`write_atomically`] for a file written piece by piece: `write` fills the temp file (through
/// a buffer), so a large file is never held whole in memory.
pub fn write_atomically_with(
    dir: &Path,
    file_name: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let temp = dir.join(temp_name(file_name));
    let written = File::create(&temp).and_then(|file| {
        let mut out = io::BufWriter::new(file);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    replace(dir, &temp, &dir.join(file_name))
}

/// Writes `bytes` as `dir/file_name`, whole or not at all, without waiting for the disk: the
/// temp file and the rename, no `fsync`. A crash of the process keeps the new file (the kernel
/// has it); a power cut may leave the old one. For what is cheap to lose and written often
/// (the politeness floor's request times).
pub fn write_replacing(dir: &Path, file_name: &str, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let temp = dir.join(temp_name(file_name));
    let written = File::create(&temp).and_then(|mut out| out.write_all(bytes));
    match written.and_then(|()| fs::rename(&temp, dir.join(file_name))) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = fs::remove_file(&temp);
            Err(error)
        }
    }
}

/// A temp file name no other write uses: this process's id and a counter. Two processes (or two
/// writes in one) that write the same file at once each write their own temp file, and the
/// last rename wins whole.
fn temp_name(file_name: &str) -> String {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    format!(".{file_name}.{}-{n}.tmp", std::process::id())
}

/// The first half of an atomic write: `bytes` complete in a temp file of its own in `dir`, on
/// disk (`dir` created when missing).
fn write_temp_file(dir: &Path, file_name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let temp = dir.join(temp_name(file_name));
    let written = File::create(&temp).and_then(|mut out| {
        out.write_all(bytes)?;
        out.sync_all()
    });
    match written {
        Ok(()) => Ok(temp),
        Err(error) => {
            let _ = fs::remove_file(&temp);
            Err(error)
        }
    }
}

/// How old a left-over temp file must be before a start removes it: no write takes this long,
/// so it is a crash's.
pub const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Removes the temp files (`.*.tmp`) in `dir` that a crash left behind, older than
/// [`STALE_TEMP`]; returns how many. Best effort: what cannot be listed or removed stays.
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| now.duration_since(at).ok())
            .is_some_and(|age| age >= STALE_TEMP);
        if old && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The second half: the temp file renamed over `path`, and the directory flushed, since the
/// rename is an entry of it and a power cut may otherwise undo it. Some systems cannot open a
/// directory for this; the rename itself has still happened.
fn replace(dir: &Path, temp: &Path, path: &Path) -> io::Result<()> {
    if let Err(error) = fs::rename(temp, path) {
        let _ = fs::remove_file(temp);
        return Err(error);
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn read(path: &Path, name: &str) -> Result<Vec<Point>, LoadError> {
    let bytes = read_bounded(path, MAX_HISTORY_FILE_BYTES).map_err(LoadError::Io)?;
    let file: HistoryFile = serde_json::from_slice(&bytes).map_err(LoadError::Parse)?;
    if file.version != FORMAT_VERSION {
        return Err(LoadError::Invalid("unknown format version"));
    }
    if file.account != name {
        return Err(LoadError::Invalid("the file is another account's"));
    }
    if file.points.len() > MAX_POINTS {
        return Err(LoadError::Invalid(
            "more readings than a history file of this server ever holds",
        ));
    }
    Ok(file.points.into_owned())
}

/// The whole of a file of the data directory, if it is a regular file of at most `max` bytes.
/// Anything else is an error and is not read: a FIFO (opening one waits for a writer, forever),
/// a device or a directory (`InvalidInput`), a larger file (`InvalidData`).
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, len) = open_regular(path, max)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    let len = bytes.len() as u64;
    if len > max {
        return Err(too_large(len, max));
    }
    Ok(bytes)
}

/// `path` opened for reading, with its length, if it is a regular file of at most `max` bytes;
/// else the errors of [`read_bounded`], and a FIFO is never opened. For a file read as it
/// streams (the caller bounds what it keeps, not the file).
pub fn open_regular(path: &Path, max: u64) -> io::Result<(File, u64)> {
    let metadata = fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    if metadata.len() > max {
        return Err(too_large(metadata.len(), max));
    }
    let file = File::open(path)?;
    // Replaced between the two looks: still only a regular file is read.
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(not_regular());
    }
    if opened.len() > max {
        return Err(too_large(opened.len(), max));
    }
    Ok((file, opened.len()))
}

/// Ok when `path` is missing or a regular file of at most `max` bytes that this process can
/// open for reading; else why not, as the end of a sentence that names the file ("is not a
/// regular file …", "cannot be read: Permission denied …"). Only opened, never read.
pub fn check_readable(path: &Path, max: u64) -> Result<(), String> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    if !metadata.is_file() {
        return Err(format!("{}", not_regular()));
    }
    if metadata.len() > max {
        return Err(format!("{}", too_large(metadata.len(), max)));
    }
    File::open(path)
        .map(drop)
        .map_err(|e| format!("cannot be read: {e}"))
}

fn not_regular() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "is not a regular file (a FIFO, a device or a directory)",
    )
}

fn too_large(len: u64, max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("is {len} bytes, more than the {max} such a file may have"),
    )
}

/// A fresh path under the system's temp folder for a unit test of `module` (not created).
#[cfg(test)]
pub fn test_dir(module: &str, tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("cab-{module}-{}-{nanos}-{tag}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use captchaai_balance::money::Money;

    fn dir(tag: &str) -> PathBuf {
        test_dir("store", tag)
    }

    fn points(cents: &[i64]) -> Vec<Point> {
        cents
            .iter()
            .enumerate()
            .map(|(i, &c)| Point {
                at: 1_800_000_000_000 + i as i64 * 60_000,
                balance: Money::from_cents(c),
            })
            .collect()
    }

    #[test]
    fn round_trips_exact_money() {
        let d = dir("round");
        let store = Store::new(Some(d.clone()));
        let mut kept = points(&[2500, 2498]);
        kept.push(Point {
            at: 1_800_000_200_000,
            balance: Money::from_nanos(12_345_678_901),
        });
        store.save("prod", "captchaai", &kept).expect("save");
        assert_eq!(store.load("prod"), kept);
        assert!(!d.join(".prod.json.tmp").exists(), "no temp file left");
        assert_eq!(store.load("other"), Vec::new(), "no file: empty");
        let _ = fs::remove_dir_all(d);
    }

    /// A save never writes into the file a reader has open: it renames a new file over it, so
    /// a reader (or a crash) sees the old history or the new one, never a mix. A write in place
    /// (truncate, then write) would keep the inode and show the reader the new bytes.
    #[cfg(unix)]
    #[test]
    fn a_save_replaces_the_file_whole() {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let d = dir("atomic");
        let store = Store::new(Some(d.clone()));
        store
            .save("prod", "captchaai", &points(&[700, 600]))
            .expect("save");
        let path = d.join("prod.json");
        let old_bytes = fs::read(&path).expect("read");
        let mut reader = File::open(&path).expect("open");
        let old_inode = fs::metadata(&path).expect("meta").ino();
        store
            .save("prod", "captchaai", &points(&[700, 600, 500, 400]))
            .expect("save");
        assert_ne!(fs::metadata(&path).expect("meta").ino(), old_inode);
        let mut seen = Vec::new();
        reader.read_to_end(&mut seen).expect("read");
        assert_eq!(seen, old_bytes, "the open file still holds the old history");
        assert_eq!(store.load("prod"), points(&[700, 600, 500, 400]));
        let names: Vec<_> = fs::read_dir(&d)
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("prod.json")]);
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn memory_only_writes_nothing() {
        let store = Store::new(None);
        store
            .save("prod", "captchaai", &points(&[1]))
            .expect("save");
        assert_eq!(store.load("prod"), Vec::new());
        assert_eq!(store.path("prod"), None);
    }

    /// A FIFO is never opened (the start would wait for a writer forever), a file larger than
    /// a history file can be is not read, nor one with more readings than the core keeps: each
    /// is set aside and the account starts empty.
    #[cfg(unix)]
    #[test]
    fn fifos_and_oversized_files_are_not_read() {
        use std::os::unix::fs::FileTypeExt;
        let d = dir("bounds");
        fs::create_dir_all(&d).expect("dir");
        let path = d.join("prod.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let store = Store::new(Some(d.clone()));
        let (tx, rx) = std::sync::mpsc::channel();
        let loader = store.clone();
        std::thread::spawn(move || {
            let _ = tx.send(loader.load("prod"));
        });
        let loaded = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("load returns instead of waiting for a writer");
        assert_eq!(loaded, Vec::new());
        let error = read(&d.join("prod.json.corrupt"), "prod").expect_err("a FIFO");
        assert_eq!(
            error.to_string(),
            "the file is not a regular file (a FIFO, a device or a directory)"
        );
        assert!(fs::symlink_metadata(d.join("prod.json.corrupt"))
            .expect("set aside")
            .file_type()
            .is_fifo());
        assert!(read(Path::new("/dev/zero"), "prod").is_err(), "a device");
        assert_eq!(
            check_readable(&d.join("prod.json.corrupt"), 10).expect_err("a FIFO"),
            "is not a regular file (a FIFO, a device or a directory)"
        );

        // Larger than a history file can be (a valid JSON prefix, then padding).
        let big = format!(
            r#"{{"version":1,"account":"prod","provider":"captchaai","points":[]{}}}"#,
            " ".repeat(MAX_HISTORY_FILE_BYTES as usize)
        );
        fs::write(&path, &big).expect("write");
        let error = read(&path, "prod").expect_err("too large");
        assert!(
            error.to_string().contains("more than the 1048576"),
            "{error}"
        );
        assert_eq!(store.load("prod"), Vec::new());

        // More readings than the core ever keeps.
        let many: Vec<String> = (0..=MAX_POINTS)
            .map(|i| format!(r#"{{"at":{i},"balance":"1"}}"#))
            .collect();
        let text = format!(
            r#"{{"version":1,"account":"prod","provider":"captchaai","points":[{}]}}"#,
            many.join(",")
        );
        fs::write(&path, &text).expect("write");
        let error = read(&path, "prod").expect_err("too many points");
        assert!(error.to_string().contains("more readings"), "{error}");
        // One fewer is fine.
        let text = format!(
            r#"{{"version":1,"account":"prod","provider":"captchaai","points":[{}]}}"#,
            many[..MAX_POINTS].join(",")
        );
        fs::write(&path, &text).expect("write");
        assert_eq!(read(&path, "prod").expect("read").len(), MAX_POINTS);

        assert_eq!(check_readable(&d.join("none.json"), 10), Ok(()));
        assert_eq!(check_readable(&path, 1 << 30), Ok(()));
        assert!(check_readable(&path, 10)
            .expect_err("too large")
            .contains("more than the 10"));
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn unusable_files_start_empty_and_are_set_aside() {
        #[rustfmt::skip]
        let cases: &[(&str, &str)] = &[
            ("garbage",         "not json at all"),
            ("truncated",       r#"{"version":1,"account":"prod","provider":"captchaai","points":[{"at":1,"bal"#),
            ("other version",   r#"{"version":2,"account":"prod","provider":"captchaai","points":[]}"#),
            ("other account",   r#"{"version":1,"account":"dev","provider":"captchaai","points":[]}"#),
            ("not money",       r#"{"version":1,"account":"prod","provider":"captchaai","points":[{"at":1,"balance":"12,5"}]}"#),
            ("unknown field",   r#"{"version":1,"account":"prod","provider":"captchaai","points":[],"key":"x"}"#),
        ];
        for (name, text) in cases {
            let d = dir("corrupt");
            fs::create_dir_all(&d).expect("dir");
            fs::write(d.join("prod.json"), text).expect("write");
            let store = Store::new(Some(d.clone()));
            assert_eq!(store.load("prod"), Vec::new(), "{name}");
            assert_eq!(
                fs::read_to_string(d.join("prod.json.corrupt")).expect("set aside"),
                *text,
                "{name}"
            );
            // The next write makes a good file again.
            store
                .save("prod", "captchaai", &points(&[5]))
                .expect("save");
            assert_eq!(store.load("prod"), points(&[5]), "{name}");
            let _ = fs::remove_dir_all(d);
        }
    }
}
