//! The alert memory on disk (`--data-dir DIR`), written by one background thread so that no
//! reading, and no balance answer, ever waits for it.
//!
//! - `DIR/alerts/{name}.json`: one account's monitor state (the core's `MonitorState`),
//!   `{"version":1,"account":"production","monitor":{…}}`, written atomically
//!   (`store::write_atomically`) after each reading of that account, and only that account's:
//!   an account's reading never waits for, nor rewrites, another's.
//! - `DIR/outbox/{TARGET}.jsonl`: one target's messages as an append-only journal, one JSON
//!   record a line: `{"add":{"seq":7,"id":…,"body":…,"at":…,"account":…,"alerts":{…}}}` when a
//!   message is decided, `{"done":7}` when its target answered 2xx, `{"drop":7}` when it was
//!   dropped (the outbox bound, or a day without delivery). Appended and `fsync`ed once per
//!   batch; a message is sent only once its `add` is on disk. When the journal holds more than
//!   twice what is still pending (and over [`COMPACT_SLACK`]), it is rewritten with the pending
//!   messages only (temp file, `fsync`, rename), so it stays within a small multiple of the
//!   outbox bound. A line cut by a crash is skipped on reading.
//! - The `add` record carries the account's alert state after its decision: if the process
//!   dies after the journal write and before the account's file is written, the next start
//!   takes the newer alert state from the journal, so the alert is neither lost nor decided
//!   (and sent) twice.
//! - `DIR/_alerts.json`, the single file of earlier versions (every account and the whole
//!   outbox, rewritten at every reading), is migrated once at start: monitors to their files,
//!   messages to their journals (within the bound), then renamed `_alerts.json.migrated`.

use crate::alerts::outbox::{Entry, Limits};
use crate::store::write_atomically;
use captchaai_balance::alerts::AlertState;
use captchaai_balance::monitor::MonitorState;
use captchaai_balance::stored;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use tracing::{info, warn};

/// The folder of the accounts' monitor files.
pub const ALERTS_FOLDER: &str = "alerts";
/// The folder of the targets' journals.
pub const OUTBOX_FOLDER: &str = "outbox";
/// The single memory file of earlier versions, migrated at start.
pub const LEGACY_FILE: &str = "_alerts.json";
/// The format of the monitor files (and of the legacy file); another is set aside.
pub const FORMAT_VERSION: u32 = 1;
/// A journal is compacted once it holds this much more than its pending messages (and more
/// than twice as much).
pub const COMPACT_SLACK: u64 = 1 << 20;
/// At most this many jobs are written in one batch (one `fsync` per journal per batch).
const BATCH: usize = 4096;

/// One account's file, as written.
#[derive(Serialize)]
struct MonitorOut<'a> {
    version: u32,
    account: &'a str,
    monitor: &'a MonitorState,
}

/// One account's file, as read (the monitor leniently, `stored::read`: one damaged part costs
/// only itself).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitorIn {
    version: u32,
    account: String,
    monitor: serde_json::Value,
}

/// A journal line, as written.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum RecordOut<'a> {
    Add(&'a Entry),
    Done(u64),
    Drop(u64),
}

/// A journal line, as read.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RecordIn {
    Add(Entry),
    Done(u64),
    Drop(u64),
}

/// The legacy `_alerts.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyFile {
    version: u32,
    accounts: BTreeMap<String, serde_json::Value>,
    outbox: Vec<LegacyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyEntry {
    id: String,
    target: String,
    body: String,
    at: i64,
}

/// The data directory's alert memory.
#[derive(Debug, Clone)]
pub struct Disk {
    dir: PathBuf,
}

/// What a target's journal held at start.
#[derive(Debug, Default)]
pub struct JournalRead {
    /// The pending messages, oldest first.
    pub pending: Vec<Entry>,
    /// Every alert state the journal carries: account -> (decided at, state), the newest.
    pub states: HashMap<String, (i64, AlertState)>,
    /// The journal's state for the writer.
    pub journal: Journal,
    /// Lines that did not read (a line cut by a crash).
    pub unreadable: usize,
}

/// A target's journal as the writer keeps track of it.
#[derive(Debug, Default)]
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    /// Bytes in the file.
    file_bytes: u64,
    /// Pending `seq` -> the length of its `add` line.
    live: HashMap<u64, u64>,
    live_bytes: u64,
}

/// What was migrated from the legacy file.
#[derive(Debug, Default)]
pub struct Migrated {
    /// Messages dropped for targets no longer configured or over the bound, per target.
    pub dropped: HashMap<String, usize>,
}

impl Disk {
    /// The memory in `dir`.
    pub fn new(dir: PathBuf) -> Disk {
        Disk { dir }
    }

    fn monitor_path(&self, account: &str) -> PathBuf {
        self.dir.join(ALERTS_FOLDER).join(format!("{account}.json"))
    }

    fn journal_path(&self, target: &str) -> PathBuf {
        self.dir.join(OUTBOX_FOLDER).join(format!("{target}.jsonl"))
    }

    /// Moves a legacy `_alerts.json` into the per-account files and per-target journals (once:
    /// the file is renamed when done). `targets`: the configured targets; messages for others
    /// are dropped, as are the oldest beyond `limits`.
    pub fn migrate(&self, targets: &[&str], limits: Limits) -> Option<Migrated> {
        let path = self.dir.join(LEGACY_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                warn!(file = %path.display(), error = %error, "cannot read the old alert memory; alerts start afresh");
                return None;
            }
        };
        let legacy = serde_json::from_slice::<LegacyFile>(&bytes)
            .ok()
            .filter(|f| f.version == FORMAT_VERSION);
        let Some(legacy) = legacy else {
            let kept = fs::rename(&path, path.with_extension("json.corrupt")).is_ok();
            warn!(file = %path.display(), set_aside = kept, "alert memory not usable; alerts start afresh");
            return None;
        };
        let mut migrated = Migrated::default();
        for (account, value) in &legacy.accounts {
            let mut monitor: MonitorState = stored::read(value);
            // The account's history file holds the same points (crate::alerts::alerting).
            monitor.history = Vec::new();
            if let Err(error) = self.write_monitor(account, &monitor) {
                warn!(account, error = %error, "cannot migrate the alert memory; the old file is kept");
                return None;
            }
        }
        let mut per_target: BTreeMap<&str, Vec<Entry>> = BTreeMap::new();
        let total = legacy.outbox.len();
        for (index, old) in legacy.outbox.into_iter().enumerate() {
            let Some(&target) = targets.iter().find(|t| **t == old.target) else {
                *migrated.dropped.entry(old.target).or_default() += 1;
                continue;
            };
            per_target.entry(target).or_default().push(Entry {
                seq: index as u64 + 1,
                id: old.id,
                body: old.body,
                at: old.at,
                account: String::new(),
                alerts: None,
            });
        }
        for (target, mut entries) in per_target {
            let mut bytes: usize = entries.iter().map(|e| e.body.len()).sum();
            let mut over = 0;
            while entries.len() - over > limits.max_messages.max(1)
                || (bytes > limits.max_bytes && entries.len() - over > 1)
            {
                bytes -= entries[over].body.len();
                over += 1;
            }
            entries.drain(..over);
            if over > 0 {
                *migrated.dropped.entry(target.to_string()).or_default() += over;
            }
            let mut text = Vec::with_capacity(bytes + entries.len() * 128);
            for entry in &entries {
                line(&mut text, &RecordOut::Add(entry));
            }
            let dir = self.dir.join(OUTBOX_FOLDER);
            if let Err(error) = write_atomically(&dir, &format!("{target}.jsonl"), &text) {
                warn!(target, error = %error, "cannot migrate the alert memory; the old file is kept");
                return None;
            }
        }
        let done = fs::rename(&path, path.with_extension("json.migrated")).is_ok();
        info!(
            accounts = legacy.accounts.len(),
            messages = total,
            renamed = done,
            "alert memory migrated to alerts/ and outbox/"
        );
        Some(migrated)
    }

    /// An account's monitor state (`None`: no file yet, or an unusable one, set aside).
    pub fn load_monitor(&self, account: &str) -> Option<MonitorState> {
        let path = self.monitor_path(account);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                warn!(account, error = %error, "cannot read the account's alert memory; it starts afresh");
                return None;
            }
        };
        match serde_json::from_slice::<MonitorIn>(&bytes) {
            Ok(file) if file.version == FORMAT_VERSION && file.account == account => {
                Some(stored::read(&file.monitor))
            }
            _ => {
                let kept = fs::rename(&path, path.with_extension("json.corrupt")).is_ok();
                warn!(account, file = %path.display(), set_aside = kept, "alert memory not usable; the account's alerts start afresh");
                None
            }
        }
    }

    fn write_monitor(&self, account: &str, monitor: &MonitorState) -> io::Result<()> {
        let out = MonitorOut {
            version: FORMAT_VERSION,
            account,
            monitor,
        };
        let bytes = serde_json::to_vec(&out).map_err(io::Error::other)?;
        write_atomically(
            &self.dir.join(ALERTS_FOLDER),
            &format!("{account}.json"),
            &bytes,
        )
    }

    /// A target's journal: its pending messages and the alert states it carries.
    pub fn read_journal(&self, target: &str) -> JournalRead {
        let path = self.journal_path(target);
        let mut read = JournalRead {
            journal: Journal {
                path: path.clone(),
                ..Journal::default()
            },
            ..JournalRead::default()
        };
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return read,
            Err(error) => {
                warn!(target, error = %error, "cannot read the outbox journal; its messages are not sent");
                return read;
            }
        };
        read.journal.file_bytes = bytes.len() as u64;
        let mut pending: BTreeMap<u64, (Entry, u64)> = BTreeMap::new();
        for text in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<RecordIn>(text) {
                Ok(RecordIn::Add(entry)) => {
                    if let Some(state) = &entry.alerts {
                        let newer = read
                            .states
                            .get(&entry.account)
                            .is_none_or(|(at, _)| *at <= entry.at);
                        if newer {
                            read.states
                                .insert(entry.account.clone(), (entry.at, state.clone()));
                        }
                    }
                    pending.insert(entry.seq, (entry, text.len() as u64 + 1));
                }
                Ok(RecordIn::Done(seq) | RecordIn::Drop(seq)) => {
                    pending.remove(&seq);
                }
                Err(_) => read.unreadable += 1,
            }
        }
        for (seq, (entry, len)) in pending {
            read.journal.live.insert(seq, len);
            read.journal.live_bytes += len;
            read.pending.push(entry);
        }
        read
    }

    /// Removes the journals of targets no longer configured (their messages are dropped, as
    /// they always were); returns their names.
    pub fn remove_other_journals(&self, targets: &[&str]) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.dir.join(OUTBOX_FOLDER)) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(target) = name.strip_suffix(".jsonl") {
                if !targets.contains(&target) && fs::remove_file(entry.path()).is_ok() {
                    removed.push(target.to_string());
                }
            }
        }
        removed
    }

    /// The folders a start cleans of crashed writes' temp files.
    pub fn folders(&self) -> [PathBuf; 2] {
        [self.dir.join(ALERTS_FOLDER), self.dir.join(OUTBOX_FOLDER)]
    }
}

/// Appends one record as a line.
fn line(out: &mut Vec<u8>, record: &RecordOut<'_>) {
    // Serializing plain strings and numbers into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, record);
    out.push(b'\n');
}

/// What the writer reads from the live memory when it writes.
pub trait Live: Send + Sync + 'static {
    /// Account `index`'s name and monitor state now.
    fn monitor(&self, index: usize) -> (String, MonitorState);
    /// Target `index`'s name.
    fn target(&self, index: usize) -> String;
    /// Message `seq` of target `index`, if it is still pending.
    fn entry(&self, index: usize, seq: u64) -> Option<Arc<Entry>>;
    /// Target `index`'s messages up to `seq` are on disk (or could not be, and are sent from
    /// memory all the same).
    fn written(&self, index: usize, seq: u64);
}

/// A write for the writer thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Account `.0`'s monitor changed.
    Monitor(usize),
    /// Target `.0` has a new message `.1`.
    Add(usize, u64),
    /// Target `.0`'s message `.1` was delivered (`true`) or dropped.
    Settle(usize, u64, bool),
}

/// Starts the writer thread; it stops when the last sender is dropped.
pub fn start_writer<L: Live>(
    disk: Disk,
    live: Arc<L>,
    journals: Vec<Journal>,
) -> io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("alert-memory".into())
        .spawn(move || {
            let mut writer = Writer {
                disk,
                live,
                journals,
            };
            writer.compact_all();
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                writer.write(&batch);
            }
        })?;
    Ok(tx)
}

struct Writer<L> {
    disk: Disk,
    live: Arc<L>,
    journals: Vec<Journal>,
}

impl<L: Live> Writer<L> {
    /// One batch: the journals first (appended, one `fsync` each), then the monitor files of
    /// the accounts that changed, each once with its state as it is now.
    fn write(&mut self, batch: &[Job]) {
        let mut lines: BTreeMap<usize, (Vec<u8>, u64)> = BTreeMap::new();
        let mut monitors = BTreeSet::new();
        for &job in batch {
            match job {
                Job::Monitor(account) => {
                    monitors.insert(account);
                }
                Job::Add(target, seq) => {
                    let (out, upto) = lines.entry(target).or_default();
                    *upto = (*upto).max(seq);
                    // Dropped before it was written: nothing to write.
                    if let Some(entry) = self.live.entry(target, seq) {
                        let start = out.len();
                        line(out, &RecordOut::Add(&entry));
                        let len = (out.len() - start) as u64;
                        if let Some(journal) = self.journals.get_mut(target) {
                            journal.live.insert(seq, len);
                            journal.live_bytes += len;
                        }
                    }
                }
                Job::Settle(target, seq, delivered) => {
                    let (out, _) = lines.entry(target).or_default();
                    line(
                        out,
                        &if delivered {
                            RecordOut::Done(seq)
                        } else {
                            RecordOut::Drop(seq)
                        },
                    );
                    if let Some(journal) = self.journals.get_mut(target) {
                        if let Some(len) = journal.live.remove(&seq) {
                            journal.live_bytes -= len;
                        }
                    }
                }
            }
        }
        for (target, (out, upto)) in lines {
            if !out.is_empty() {
                if let Err(error) = self.append(target, &out) {
                    warn!(target = self.live.target(target), error = %error, "cannot write the outbox journal; its messages are sent from memory");
                }
            }
            if upto > 0 {
                self.live.written(target, upto);
            }
            self.maybe_compact(target);
        }
        for account in monitors {
            let (name, monitor) = self.live.monitor(account);
            if let Err(error) = self.disk.write_monitor(&name, &monitor) {
                warn!(account = name, error = %error, "cannot write the account's alert memory; it is kept in memory");
            }
        }
    }

    fn append(&mut self, target: usize, bytes: &[u8]) -> io::Result<()> {
        let Some(journal) = self.journals.get_mut(target) else {
            return Ok(());
        };
        if journal.file.is_none() {
            if let Some(parent) = journal.path.parent() {
                fs::create_dir_all(parent)?;
            }
            journal.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&journal.path)?,
            );
        }
        let Some(file) = journal.file.as_mut() else {
            return Ok(());
        };
        let written = file.write_all(bytes).and_then(|()| file.sync_data());
        if written.is_err() {
            // Reopened next time: a half-written line is skipped on reading.
            journal.file = None;
        }
        journal.file_bytes += bytes.len() as u64;
        written
    }

    fn compact_all(&mut self) {
        for target in 0..self.journals.len() {
            self.maybe_compact(target);
        }
    }

    /// Rewrites a journal that holds much more than its pending messages with those only.
    fn maybe_compact(&mut self, target: usize) {
        let Some(journal) = self.journals.get_mut(target) else {
            return;
        };
        let dead = journal.file_bytes.saturating_sub(journal.live_bytes);
        if dead <= COMPACT_SLACK || dead <= journal.live_bytes {
            return;
        }
        let name = self.live.target(target);
        match compact(journal) {
            Ok(()) => info!(
                target = name,
                bytes = journal.file_bytes,
                "outbox journal compacted"
            ),
            Err(error) => {
                warn!(target = name, error = %error, "cannot compact the outbox journal")
            }
        }
    }
}

/// Keeps the `add` lines of the pending messages (read back from the file, which holds them
/// all), written whole to a temp file and renamed over the journal.
fn compact(journal: &mut Journal) -> io::Result<()> {
    let bytes = fs::read(&journal.path)?;
    let mut kept = Vec::with_capacity(journal.live_bytes as usize);
    for text in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(RecordIn::Add(entry)) = serde_json::from_slice::<RecordIn>(text) {
            if journal.live.contains_key(&entry.seq) {
                kept.extend_from_slice(text);
                kept.push(b'\n');
            }
        }
    }
    let (Some(dir), Some(name)) = (
        journal.path.parent(),
        journal.path.file_name().and_then(|n| n.to_str()),
    ) else {
        return Ok(());
    };
    write_atomically(dir, name, &kept)?;
    journal.file = None;
    journal.file_bytes = kept.len() as u64;
    Ok(())
}

/// The path a test can block: a target's journal.
pub fn journal_path(dir: &Path, target: &str) -> PathBuf {
    dir.join(OUTBOX_FOLDER).join(format!("{target}.jsonl"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        std::env::temp_dir().join(format!("cab-memory-{}-{nanos}-{tag}", std::process::id()))
    }

    #[derive(Default)]
    struct Fake {
        entries: Mutex<Vec<Arc<Entry>>>,
        written: Mutex<Vec<u64>>,
    }

    impl Live for Fake {
        fn monitor(&self, _: usize) -> (String, MonitorState) {
            ("prod".into(), MonitorState::default())
        }
        fn target(&self, _: usize) -> String {
            "HOOK".into()
        }
        fn entry(&self, _: usize, seq: u64) -> Option<Arc<Entry>> {
            let entries = self.entries.lock().expect("lock");
            entries.iter().find(|e| e.seq == seq).cloned()
        }
        fn written(&self, _: usize, seq: u64) {
            self.written.lock().expect("lock").push(seq);
        }
    }

    fn entry(seq: u64, size: usize) -> Arc<Entry> {
        Arc::new(Entry {
            seq,
            id: format!("m{seq}"),
            body: "x".repeat(size),
            at: seq as i64,
            account: "prod".into(),
            alerts: Some(AlertState {
                warned_low: true,
                ..AlertState::default()
            }),
        })
    }

    #[test]
    fn the_journal_keeps_what_is_pending_and_compacts() {
        let d = dir("journal");
        let disk = Disk::new(d.clone());
        let fake = Arc::new(Fake::default());
        let read = disk.read_journal("HOOK");
        assert!(read.pending.is_empty());
        let mut writer = Writer {
            disk: disk.clone(),
            live: Arc::clone(&fake),
            journals: vec![read.journal],
        };
        // 3 messages of 400 KiB: one delivered, one dropped, one pending.
        for seq in 1..=3 {
            fake.entries
                .lock()
                .expect("lock")
                .push(entry(seq, 400 << 10));
        }
        writer.write(&[
            Job::Add(0, 1),
            Job::Add(0, 2),
            Job::Add(0, 3),
            Job::Monitor(0),
        ]);
        assert_eq!(*fake.written.lock().expect("lock"), [3]);
        writer.write(&[Job::Settle(0, 1, true), Job::Settle(0, 2, false)]);
        let read = disk.read_journal("HOOK");
        assert_eq!(read.pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
        assert_eq!(
            read.states.get("prod").map(|(at, s)| (*at, s.warned_low)),
            Some((3, true))
        );
        // Compacted: 800 KiB dead is under the slack; a fourth delivered one takes it over.
        fake.entries.lock().expect("lock").push(entry(4, 400 << 10));
        writer.write(&[Job::Add(0, 4), Job::Settle(0, 4, true)]);
        let size = fs::metadata(journal_path(&d, "HOOK"))
            .expect("journal")
            .len();
        assert!(size < 500 << 10, "compacted to the pending message: {size}");
        let read = disk.read_journal("HOOK");
        assert_eq!(read.pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
        assert!(disk.load_monitor("prod").is_some(), "the monitor file");
        // A line cut by a crash is skipped.
        let mut file = OpenOptions::new()
            .append(true)
            .open(journal_path(&d, "HOOK"))
            .expect("open");
        file.write_all(br#"{"add":{"seq":9,"id":"#).expect("write");
        let read = disk.read_journal("HOOK");
        assert_eq!((read.pending.len(), read.unreadable), (1, 1));
        let _ = fs::remove_dir_all(d);
    }

    #[test]
    fn the_legacy_file_is_migrated_within_the_bound() {
        let d = dir("legacy");
        fs::create_dir_all(&d).expect("dir");
        let outbox: Vec<String> = (0..5)
            .map(|i| {
                format!(
                    r#"{{"id":"e{i}","target":"{}","body":"b{i}","at":{i}}}"#,
                    if i == 4 { "GONE" } else { "HOOK" }
                )
            })
            .collect();
        fs::write(
            d.join(LEGACY_FILE),
            format!(
                r#"{{"version":1,"accounts":{{"prod":{{"lastRequestAt":5,"alerts":{{"warnedLow":true}}}}}},"outbox":[{}]}}"#,
                outbox.join(",")
            ),
        )
        .expect("write");
        let disk = Disk::new(d.clone());
        let limits = Limits {
            max_messages: 3,
            max_bytes: 1000,
        };
        let migrated = disk.migrate(&["HOOK"], limits).expect("migrated");
        assert_eq!(migrated.dropped.get("HOOK"), Some(&1));
        assert_eq!(migrated.dropped.get("GONE"), Some(&1));
        let read = disk.read_journal("HOOK");
        let ids: Vec<_> = read.pending.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["e1", "e2", "e3"]);
        let monitor = disk.load_monitor("prod").expect("monitor");
        assert!(monitor.alerts.warned_low);
        assert_eq!(monitor.last_request_at, Some(5));
        assert!(!d.join(LEGACY_FILE).exists());
        assert!(d.join("_alerts.json.migrated").exists());
        assert!(disk.migrate(&["HOOK"], limits).is_none(), "once");
        let _ = fs::remove_dir_all(d);
    }
}
