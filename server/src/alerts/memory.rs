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
//!   outbox bound. A line cut by a crash is skipped on reading. At start a journal is read line by
//!   line, holding at most the outbox bound of messages ([`Disk::read_journal`]), whatever its
//!   size.
//! - The `add` record carries the account's alert state after its decision: if the process
//!   dies after the journal write and before the account's file is written, the next start
//!   takes the newer alert state from the journal, so the alert is neither lost nor decided
//!   (and sent) twice.
//! - `DIR/_alerts.json`, the single file of earlier versions (every account and the whole
//!   outbox, rewritten at every reading), is migrated once at start: monitors to their files,
//!   messages to their journals (within the bound, parsed as the file streams, so its size costs
//!   no memory), then renamed `_alerts.json.migrated`.
//! - A file of these that exists but is not a regular, readable file (or is larger than this
//!   server writes) stops the start ([`Disk::check`]) rather than be replaced by an empty one.

use crate::alerts::outbox::{Entry, Limits};
use crate::store::{
    check_readable, open_regular, read_bounded, write_atomically, write_atomically_with,
    MAX_ALERT_FILE_BYTES,
};
use captchaai_balance::alerts::AlertState;
use captchaai_balance::monitor::MonitorState;
use captchaai_balance::stored;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
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
/// The largest legacy `_alerts.json` migrated: it is read as it streams, keeping only what
/// the outbox bound keeps, so its size costs time at the first start, not memory.
pub const MAX_LEGACY_FILE_BYTES: u64 = 1 << 30;
/// The longest journal line read: a message's body is a few KB; a longer line is not one this
/// server wrote and is skipped like a line cut by a crash.
pub const MAX_LINE_BYTES: usize = 1 << 20;

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

/// The members of the legacy `_alerts.json`, `{"version":1,"accounts":{…},"outbox":[…]}` (any
/// other is an error, as it always was).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum LegacyField {
    Version,
    Accounts,
    Outbox,
}

/// One message of the legacy outbox.
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
    /// Pending messages beyond the outbox bound, the oldest, dropped as the journal was read.
    pub dropped: usize,
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
    /// Messages were dropped when it was read: compacted at once, so that they are not read
    /// (and counted) again at the next start.
    compact: bool,
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

    /// Whether the server may start on this memory: every file it will read or append to that
    /// exists is a regular file it can open, the accounts' monitor files within
    /// [`MAX_ALERT_FILE_BYTES`] and the legacy file within [`MAX_LEGACY_FILE_BYTES`] (a journal
    /// is read as it streams, whatever its size). Else why not, naming the file: one that is
    /// there but cannot be read would be replaced by an empty one, losing its alerts and
    /// messages, so the server refuses to start rather than overwrite it. Nothing is read.
    pub fn check(&self, accounts: &[&str], targets: &[&str]) -> Result<(), String> {
        let refuse = |what: &str, path: &Path, why: String| {
            format!(
                "{what} {} {why}; fix it or move it away (the server never overwrites it)",
                crate::config::error::bare(&path.display().to_string())
            )
        };
        let legacy = self.dir.join(LEGACY_FILE);
        check_readable(&legacy, MAX_LEGACY_FILE_BYTES)
            .map_err(|why| refuse("the alert memory", &legacy, why))?;
        for account in accounts {
            let path = self.monitor_path(account);
            check_readable(&path, MAX_ALERT_FILE_BYTES)
                .map_err(|why| refuse("the alert memory", &path, why))?;
        }
        for target in targets {
            let path = self.journal_path(target);
            check_readable(&path, u64::MAX)
                .map_err(|why| refuse("the outbox journal", &path, why))?;
        }
        Ok(())
    }

    /// Moves a legacy `_alerts.json` into the per-account files and per-target journals (once:
    /// the file is renamed when done). `targets`: the configured targets; messages for others
    /// are dropped, as are the oldest beyond `limits`. The file is parsed as it streams and
    /// only what the bound keeps is held, so a large backlog costs no more memory than a full
    /// outbox; nothing is written until the whole file has read.
    pub fn migrate(&self, targets: &[&str], limits: Limits) -> Option<Migrated> {
        let path = self.dir.join(LEGACY_FILE);
        let file = match open_regular(&path, MAX_LEGACY_FILE_BYTES) {
            Ok((file, _)) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                warn!(file = %path.display(), error = %error, "cannot read the old alert memory; alerts start afresh");
                return None;
            }
        };
        let mut legacy = Legacy {
            targets,
            limits,
            ..Legacy::default()
        };
        let mut reader = serde_json::Deserializer::from_reader(BufReader::new(file));
        let version = (&mut legacy)
            .deserialize(&mut reader)
            .and_then(|version| reader.end().map(|()| version));
        match version {
            Ok(FORMAT_VERSION) => {}
            // A read that failed is not a corrupt file: kept for the next start.
            Err(error) if error.is_io() => {
                warn!(file = %path.display(), error = %error, "cannot read the old alert memory; alerts start afresh");
                return None;
            }
            _ => {
                let kept = fs::rename(&path, path.with_extension("json.corrupt")).is_ok();
                warn!(file = %path.display(), set_aside = kept, "alert memory not usable; alerts start afresh");
                return None;
            }
        }
        for (account, monitor) in &legacy.accounts {
            if let Err(error) = self.write_monitor(account, monitor) {
                warn!(account, error = %error, "cannot migrate the alert memory; the old file is kept");
                return None;
            }
        }
        let mut migrated = Migrated {
            dropped: legacy.dropped,
        };
        for (target, backlog) in &legacy.backlogs {
            if backlog.dropped > 0 {
                *migrated.dropped.entry(target.clone()).or_default() += backlog.dropped;
            }
            let dir = self.dir.join(OUTBOX_FOLDER);
            let written = write_atomically_with(&dir, &format!("{target}.jsonl"), |out| {
                let mut text = Vec::new();
                for entry in &backlog.entries {
                    text.clear();
                    line(&mut text, &RecordOut::Add(entry));
                    out.write_all(&text)?;
                }
                Ok(())
            });
            if let Err(error) = written {
                warn!(target, error = %error, "cannot migrate the alert memory; the old file is kept");
                return None;
            }
        }
        let done = fs::rename(&path, path.with_extension("json.migrated")).is_ok();
        info!(
            accounts = legacy.accounts.len(),
            messages = legacy.total,
            renamed = done,
            "alert memory migrated to alerts/ and outbox/"
        );
        Some(migrated)
    }

    /// An account's monitor state (`None`: no file yet, or an unusable one, set aside).
    pub fn load_monitor(&self, account: &str) -> Option<MonitorState> {
        let path = self.monitor_path(account);
        // Bounded: a FIFO is never opened, a huge file never read (`check` refuses both at
        // start; this covers a file replaced since).
        let bytes = match read_bounded(&path, MAX_ALERT_FILE_BYTES) {
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

    /// A target's journal: its pending messages and the alert states it carries. Read line by
    /// line, holding at most `limits` of pending messages: beyond it the oldest are dropped as
    /// they are read (counted in `dropped`), as the outbox would drop them. Messages are
    /// settled in order, so bounding as it reads keeps what bounding at the end would.
    pub fn read_journal(&self, target: &str, limits: Limits) -> JournalRead {
        let path = self.journal_path(target);
        let mut read = JournalRead {
            journal: Journal {
                path: path.clone(),
                ..Journal::default()
            },
            ..JournalRead::default()
        };
        let file = match open_regular(&path, u64::MAX) {
            Ok((file, _)) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return read,
            Err(error) => {
                warn!(target, error = %error, "cannot read the outbox journal; its messages are not sent");
                return read;
            }
        };
        let mut reader = BufReader::new(file);
        let mut text = Vec::new();
        // Pending `seq` -> the message and the length of its line; the bodies' bytes.
        let mut pending: BTreeMap<u64, (Entry, u64)> = BTreeMap::new();
        let mut bytes = 0;
        // The seqs dropped for the bound (a later `done` or `drop` means they were not
        // pending after all): 8 bytes each, against a line of at least 40.
        let mut over = HashSet::new();
        loop {
            let whole = match next_line(&mut reader, &mut text, MAX_LINE_BYTES) {
                Ok(Some((whole, consumed))) => {
                    read.journal.file_bytes += consumed;
                    whole
                }
                Ok(None) => break,
                Err(error) => {
                    warn!(target, error = %error, "cannot read the rest of the outbox journal");
                    break;
                }
            };
            if whole && text.is_empty() {
                continue;
            }
            let record = match whole.then(|| serde_json::from_slice::<RecordIn>(&text)) {
                Some(Ok(record)) => record,
                _ => {
                    read.unreadable += 1;
                    continue;
                }
            };
            match record {
                RecordIn::Add(entry) => {
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
                    bytes += entry.body.len();
                    let len = text.len() as u64 + 1;
                    if let Some((old, _)) = pending.insert(entry.seq, (entry, len)) {
                        bytes -= old.body.len();
                    }
                    // The outbox's own bound (outbox::Outbox::enforce): the newest is kept.
                    while limits.over(pending.len(), bytes) {
                        let Some((seq, (gone, _))) = pending.pop_first() else {
                            break;
                        };
                        bytes -= gone.body.len();
                        over.insert(seq);
                    }
                }
                RecordIn::Done(seq) | RecordIn::Drop(seq) => {
                    if let Some((gone, _)) = pending.remove(&seq) {
                        bytes -= gone.body.len();
                    } else {
                        over.remove(&seq);
                    }
                }
            }
        }
        read.dropped = over.len();
        read.journal.compact = read.dropped > 0;
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

/// Reads the next line of `reader` into `text` (without its `\n`), at most `max` bytes of it:
/// `None` at the end, else whether the line was whole (a longer one is skipped to its end and
/// left empty) and the bytes it took in the file.
fn next_line(
    reader: &mut impl BufRead,
    text: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<(bool, u64)>> {
    text.clear();
    let mut whole = true;
    let mut consumed = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed > 0).then_some((whole, consumed)));
        }
        let end = available.iter().position(|&b| b == b'\n');
        let part = &available[..end.unwrap_or(available.len())];
        if whole && text.len() + part.len() <= max {
            text.extend_from_slice(part);
        } else {
            whole = false;
            text.clear();
        }
        let used = end.map_or(available.len(), |i| i + 1);
        reader.consume(used);
        consumed += used as u64;
        if end.is_some() {
            return Ok(Some((whole, consumed)));
        }
    }
}

/// The legacy file as it is parsed: what the migration keeps, bounded by the outbox's limits.
#[derive(Default)]
struct Legacy<'a> {
    /// The configured targets.
    targets: &'a [&'a str],
    limits: Limits,
    /// Each account's monitor, without its history.
    accounts: BTreeMap<String, MonitorState>,
    /// Each configured target's newest messages, within `limits`.
    backlogs: BTreeMap<String, Backlog>,
    /// Messages for targets no longer configured, per target.
    dropped: HashMap<String, usize>,
    /// Messages in the file.
    total: usize,
}

/// A configured target's messages from the legacy file: the newest within the bound.
#[derive(Default)]
struct Backlog {
    entries: VecDeque<Entry>,
    bytes: usize,
    /// The older ones, over the bound.
    dropped: usize,
}

impl Backlog {
    /// Adds the newest message, then drops the oldest while over `limits` (never the newest, as
    /// the outbox does).
    fn push(&mut self, entry: Entry, limits: Limits) {
        self.bytes += entry.body.len();
        self.entries.push_back(entry);
        while limits.over(self.entries.len(), self.bytes) {
            let Some(gone) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= gone.body.len();
            self.dropped += 1;
        }
    }
}

/// The whole file: its version, the accounts and the outbox taken into `Legacy` as they come.
impl<'de> DeserializeSeed<'de> for &mut Legacy<'_> {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut Legacy<'_> {
    type Value = u32;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the alert memory {\"version\",\"accounts\",\"outbox\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u32, A::Error> {
        let (mut version, mut accounts, mut outbox) = (None, false, false);
        while let Some(field) = map.next_key::<LegacyField>()? {
            match field {
                LegacyField::Version if version.is_none() => version = Some(map.next_value()?),
                LegacyField::Accounts if !accounts => {
                    map.next_value_seed(LegacyAccounts(&mut self.accounts))?;
                    accounts = true;
                }
                LegacyField::Outbox if !outbox => {
                    map.next_value_seed(LegacyOutbox(&mut *self))?;
                    outbox = true;
                }
                LegacyField::Version => return Err(de::Error::duplicate_field("version")),
                LegacyField::Accounts => return Err(de::Error::duplicate_field("accounts")),
                LegacyField::Outbox => return Err(de::Error::duplicate_field("outbox")),
            }
        }
        match (version, accounts, outbox) {
            (Some(version), true, true) => Ok(version),
            (None, _, _) => Err(de::Error::missing_field("version")),
            (_, false, _) => Err(de::Error::missing_field("accounts")),
            (_, _, false) => Err(de::Error::missing_field("outbox")),
        }
    }
}

/// `"accounts":{name: monitor, …}`.
struct LegacyAccounts<'a>(&'a mut BTreeMap<String, MonitorState>);

impl<'de> DeserializeSeed<'de> for LegacyAccounts<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LegacyAccounts<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the accounts' monitors")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            let LegacyMonitor(members) = map.next_value()?;
            self.0.insert(name, stored::read(&members));
        }
        Ok(())
    }
}

/// One account's monitor, as the lenient `stored::read` takes it, without its `history` (the
/// account's history file holds the same points, crate::alerts::alerting), which is skipped
/// unread: in the old file it was the bulk of an account. Anything but an object reads as
/// `null` (the default monitor, as `stored::read` makes of it).
struct LegacyMonitor(serde_json::Value);

impl<'de> Deserialize<'de> for LegacyMonitor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LegacyMonitor, D::Error> {
        deserializer.deserialize_any(MonitorVisitor)
    }
}

struct MonitorVisitor;

impl<'de> Visitor<'de> for MonitorVisitor {
    type Value = LegacyMonitor;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an account's monitor")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LegacyMonitor, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == "history" {
                map.next_value::<IgnoredAny>()?;
            } else {
                let value = map.next_value()?;
                members.insert(name, value);
            }
        }
        Ok(LegacyMonitor(serde_json::Value::Object(members)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LegacyMonitor, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LegacyMonitor(serde_json::Value::Null))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<LegacyMonitor, E> {
        Ok(LegacyMonitor(serde_json::Value::Null))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<LegacyMonitor, E> {
        Ok(LegacyMonitor(serde_json::Value::Null))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<LegacyMonitor, E> {
        Ok(LegacyMonitor(serde_json::Value::Null))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<LegacyMonitor, E> {
        Ok(LegacyMonitor(serde_json::Value::Null))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<LegacyMonitor, E> {
        Ok(LegacyMonitor(serde_json::Value::Null))
    }

    fn visit_unit<E: de::Error>(self) -> Result<LegacyMonitor, E> {
        Ok(LegacyMonitor(serde_json::Value::Null))
    }
}

/// `"outbox":[{id,target,body,at}, …]`, each message kept in its target's backlog or counted.
struct LegacyOutbox<'a, 'b>(&'a mut Legacy<'b>);

impl<'de> DeserializeSeed<'de> for LegacyOutbox<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LegacyOutbox<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the outbox's messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let legacy = self.0;
        while let Some(old) = seq.next_element::<LegacyEntry>()? {
            legacy.total += 1;
            if !legacy.targets.contains(&old.target.as_str()) {
                *legacy.dropped.entry(old.target).or_default() += 1;
                continue;
            }
            let backlog = legacy.backlogs.entry(old.target).or_default();
            backlog.push(
                Entry {
                    // Its place in the old outbox, as before (one order for every target).
                    seq: legacy.total as u64,
                    id: old.id,
                    body: old.body,
                    at: old.at,
                    account: String::new(),
                    alerts: None,
                },
                legacy.limits,
            );
        }
        Ok(())
    }
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
        if !journal.compact && (dead <= COMPACT_SLACK || dead <= journal.live_bytes) {
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
/// all, line by line), written to a temp file as they are read and renamed over the journal.
fn compact(journal: &mut Journal) -> io::Result<()> {
    let (Some(dir), Some(name)) = (
        journal.path.parent(),
        journal.path.file_name().and_then(|n| n.to_str()),
    ) else {
        return Ok(());
    };
    let (file, _) = open_regular(&journal.path, u64::MAX)?;
    let mut reader = BufReader::new(file);
    let live = &journal.live;
    let mut kept = 0;
    write_atomically_with(dir, name, |out| {
        let mut text = Vec::new();
        while let Some((whole, _)) = next_line(&mut reader, &mut text, MAX_LINE_BYTES)? {
            if !whole || text.is_empty() {
                continue;
            }
            if let Ok(RecordIn::Add(entry)) = serde_json::from_slice::<RecordIn>(&text) {
                if live.contains_key(&entry.seq) {
                    text.push(b'\n');
                    out.write_all(&text)?;
                    kept += text.len() as u64;
                }
            }
        }
        Ok(())
    })?;
    journal.file = None;
    journal.file_bytes = kept;
    journal.compact = false;
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
        crate::store::test_dir("memory", tag)
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
        let read = disk.read_journal("HOOK", Limits::default());
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
        let read = disk.read_journal("HOOK", Limits::default());
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
        let read = disk.read_journal("HOOK", Limits::default());
        assert_eq!(read.pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
        assert!(disk.load_monitor("prod").is_some(), "the monitor file");
        // A line cut by a crash is skipped.
        let mut file = OpenOptions::new()
            .append(true)
            .open(journal_path(&d, "HOOK"))
            .expect("open");
        file.write_all(br#"{"add":{"seq":9,"id":"#).expect("write");
        let read = disk.read_journal("HOOK", Limits::default());
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
        let read = disk.read_journal("HOOK", Limits::default());
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

    fn add_line(seq: u64, size: usize) -> String {
        let mut text = Vec::new();
        line(&mut text, &RecordOut::Add(&entry(seq, size)));
        String::from_utf8(text).expect("utf-8")
    }

    /// A journal over the bound is read keeping the newest within it; a message dropped for
    /// the bound that the journal later settles is not counted; the writer compacts the
    /// journal at once, so the next start reads (and counts) nothing dropped again.
    #[test]
    fn a_journal_over_the_bound_is_read_within_it() {
        let d = dir("bounded");
        let disk = Disk::new(d.clone());
        fs::create_dir_all(d.join(OUTBOX_FOLDER)).expect("dir");
        let mut text = String::new();
        for seq in 1..=6 {
            text.push_str(&add_line(seq, 10));
        }
        // 1 and 2 are dropped for the bound while reading, then 2 turns out delivered (before
        // the bound was lowered), and 3 too.
        text.push_str("{\"done\":2}\n{\"done\":3}\n");
        // A line longer than any this server writes: skipped.
        text.push_str(&"x".repeat(MAX_LINE_BYTES + 1));
        text.push('\n');
        fs::write(journal_path(&d, "HOOK"), &text).expect("write");
        let limits = Limits {
            max_messages: 4,
            max_bytes: 1000,
        };
        let read = disk.read_journal("HOOK", limits);
        let seqs: Vec<_> = read.pending.iter().map(|e| e.seq).collect();
        assert_eq!((seqs, read.dropped, read.unreadable), (vec![4, 5, 6], 1, 1));
        assert_eq!(read.journal.file_bytes, text.len() as u64);
        // Over the bytes too (the newest is kept).
        let tight = Limits {
            max_messages: 10,
            max_bytes: 25,
        };
        let read = disk.read_journal("HOOK", tight);
        let seqs: Vec<_> = read.pending.iter().map(|e| e.seq).collect();
        assert_eq!((seqs, read.dropped), (vec![5, 6], 2));

        let fake = Arc::new(Fake::default());
        let read = disk.read_journal("HOOK", limits);
        let mut writer = Writer {
            disk: disk.clone(),
            live: fake,
            journals: vec![read.journal],
        };
        writer.compact_all();
        let read = disk.read_journal("HOOK", limits);
        let seqs: Vec<_> = read.pending.iter().map(|e| e.seq).collect();
        assert_eq!((seqs, read.dropped, read.unreadable), (vec![4, 5, 6], 0, 0));
        let _ = fs::remove_dir_all(d);
    }

    /// What the start refuses: a file that is not regular, a monitor file over its bound, a
    /// legacy file over its own (sparse: no disk is used); a large journal is fine.
    #[cfg(unix)]
    #[test]
    fn the_check_names_what_the_server_must_not_start_on() {
        let d = dir("check");
        let disk = Disk::new(d.clone());
        assert_eq!(disk.check(&["prod"], &["HOOK"]), Ok(()), "nothing yet");
        fs::create_dir_all(d.join(ALERTS_FOLDER)).expect("dir");
        fs::create_dir_all(d.join(OUTBOX_FOLDER)).expect("dir");
        let journal = journal_path(&d, "HOOK");
        File::create(&journal)
            .and_then(|f| f.set_len(MAX_ALERT_FILE_BYTES * 4))
            .expect("journal");
        assert_eq!(disk.check(&["prod"], &["HOOK"]), Ok(()));
        fs::remove_file(&journal).expect("remove");
        let made = std::process::Command::new("mkfifo")
            .arg(&journal)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let why = disk.check(&["prod"], &["HOOK"]).expect_err("a FIFO");
        assert_eq!(
            why,
            format!(
                "the outbox journal {} is not a regular file (a FIFO, a device or a directory); \
                 fix it or move it away (the server never overwrites it)",
                journal.display()
            )
        );
        assert_eq!(disk.check(&["prod"], &[]), Ok(()), "another target's");
        let monitor = d.join(ALERTS_FOLDER).join("prod.json");
        File::create(&monitor)
            .and_then(|f| f.set_len(MAX_ALERT_FILE_BYTES + 1))
            .expect("monitor");
        let why = disk.check(&["prod"], &[]).expect_err("too large");
        assert!(
            why.starts_with(&format!(
                "the alert memory {} is 1048577 bytes, more than the 1048576",
                monitor.display()
            )),
            "{why}"
        );
        assert_eq!(disk.load_monitor("prod"), None, "never read");
        fs::remove_file(&monitor).expect("remove");
        let legacy = d.join(LEGACY_FILE);
        File::create(&legacy)
            .and_then(|f| f.set_len(MAX_LEGACY_FILE_BYTES + 1))
            .expect("legacy");
        let why = disk.check(&["prod"], &[]).expect_err("too large");
        assert!(why.starts_with("the alert memory "), "{why}");
        assert!(
            why.contains("is 1073741825 bytes, more than the 1073741824"),
            "{why}"
        );
        assert!(disk.migrate(&[], Limits::default()).is_none(), "not read");
        assert!(legacy.is_file(), "left as it was");
        let _ = fs::remove_dir_all(d);
    }

    /// The legacy file's shape is checked as it streams, as it was whole: a missing, doubled
    /// or unknown member, another version or trailing text set the file aside; a monitor's
    /// history is skipped unread, and a monitor that is not an object reads as the default.
    #[test]
    fn the_legacy_file_streams_with_the_same_rules() {
        #[rustfmt::skip]
        let corrupt = [
            r#"{"version":1,"accounts":{}}"#,
            r#"{"version":1,"accounts":{},"outbox":[],"outbox":[]}"#,
            r#"{"version":1,"accounts":{},"outbox":[],"key":"x"}"#,
            r#"{"version":2,"accounts":{},"outbox":[]}"#,
            r#"{"version":1,"accounts":{},"outbox":[{"id":"a","target":"HOOK","body":"b","at":1,"x":2}]}"#,
            r#"{"version":1,"accounts":{},"outbox":[]} {}"#,
            r#"{"version":1,"accounts":{},"outbox":["#,
        ];
        for text in corrupt {
            let d = dir("legacy-corrupt");
            fs::create_dir_all(&d).expect("dir");
            fs::write(d.join(LEGACY_FILE), text).expect("write");
            let disk = Disk::new(d.clone());
            assert!(
                disk.migrate(&["HOOK"], Limits::default()).is_none(),
                "{text}"
            );
            assert_eq!(
                fs::read_to_string(d.join("_alerts.json.corrupt")).expect("set aside"),
                text
            );
            assert!(!d.join(OUTBOX_FOLDER).exists(), "nothing written: {text}");
            let _ = fs::remove_dir_all(d);
        }
        let d = dir("legacy-members");
        fs::create_dir_all(&d).expect("dir");
        fs::write(
            d.join(LEGACY_FILE),
            r#"{"outbox":[],"accounts":{"prod":{"history":[{"at":1,"balance":"2","account":"x"}],"lastRequestAt":7},"dev":[1,{"a":2}],"ops":null},"version":1}"#,
        )
        .expect("write");
        let disk = Disk::new(d.clone());
        assert!(disk.migrate(&["HOOK"], Limits::default()).is_some());
        let prod = disk.load_monitor("prod").expect("prod");
        assert_eq!((prod.last_request_at, prod.history.len()), (Some(7), 0));
        assert_eq!(disk.load_monitor("dev"), Some(MonitorState::default()));
        assert_eq!(disk.load_monitor("ops"), Some(MonitorState::default()));
        let _ = fs::remove_dir_all(d);
    }
}
