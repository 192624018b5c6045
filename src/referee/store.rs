//! The referee's data directory: an append-only log of events, one JSON
//! event per line, written and synced to disk before the referee answers,
//! and the programs and inputs of the games as files named by their
//! Keccak-256 (`blobs/`), synced before the event that names them.
//! Replaying the log through the rules rebuilds every game exactly, so a
//! crash loses no acknowledged move.
//!
//! ## Integrity
//!
//! Each line ends with a link of a keyed hash chain: a line is
//! `{...event...,"chain":"H"}` where `H = keccak("mswap log link" || K ||
//! H_prev || E)`, `K` a 32-byte key made at the first start and kept in
//! `chain.key` (0600) beside the log, `E` the line's bytes up to (not
//! including) `,"chain"`, and `H_prev` the previous line's link (32 zero
//! bytes before the first line). A byte changed anywhere breaks the chain
//! at that line or a later one, and a chain recomputed by someone without
//! the key breaks at line 1: the referee refuses to start, naming the line.
//!
//! After every sync of the log, the head file `referee.head` (0600) says
//! how far the log was acknowledged: the number of lines, their bytes and
//! the last one's link (two keyed records written in turn, so that one
//! `fdatasync` a second covers it and a torn write of it never loses
//! both: [`crate::referee::head`]). A log with fewer whole lines than the
//! head says (lines dropped at the end, or an acknowledged line cut in the
//! middle) is refused, naming the first line missing. A last line without
//! its newline *after* every acknowledged line is torn (a crash in the
//! middle of an append, never answered) and is cut off, as is the only
//! repair ever made. Whole lines beyond the head (a crash before the head
//! caught up) check out with the key and are kept.
//!
//! The directory is created `0700` and its files `0600`; tokens are kept
//! as their Keccak-256 only.
//!
//! Programs and inputs live outside the log so that log lines stay short:
//! appending a move never waits behind a large program being written.

use crate::hash::{Hash, keccak};
use crate::rules::claim::Claim;
use crate::rules::levels::Level;
use crate::rules::{Move, Side};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One accepted event. (A creation is larger than the rest; events are
/// short-lived, so it is not boxed.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase", deny_unknown_fields)]
pub enum Event {
    /// A claim was opened; its program and input are the blobs named by
    /// `claim.program` and `claim.input`.
    Create {
        /// Claim id.
        game: String,
        /// When (ms since the epoch).
        time_ms: u64,
        /// The claim.
        claim: Claim,
        /// The levels.
        levels: Vec<Level>,
        /// Clock per side of each dispute, ms.
        clock_ms: u64,
        /// How long disputes may be opened, ms from `time_ms`.
        window_ms: u64,
        /// `root(S_0)`, computed by the referee from the program and input.
        initial_root: Hash,
        /// Keccak-256 of the defender's secret.
        defender_token: Hash,
    },
    /// A challenger opened a dispute.
    Join {
        /// Claim id.
        game: String,
        /// The dispute's number (1, 2, ...).
        dispute: u64,
        /// When.
        time_ms: u64,
        /// Keccak-256 of the challenger's secret.
        challenger_token: Hash,
        /// The claim had as many disputes running as the referee allows:
        /// this one waits, its clocks stopped, until an [`Event::Start`].
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        queued: bool,
    },
    /// A queued dispute started (a running one of its claim had ended):
    /// its clocks run from here.
    Start {
        /// Claim id.
        game: String,
        /// The dispute.
        dispute: u64,
        /// When.
        time_ms: u64,
    },
    /// A move was accepted.
    Move {
        /// Claim id.
        game: String,
        /// The dispute.
        dispute: u64,
        /// When.
        time_ms: u64,
        /// Who.
        side: Side,
        /// Move number.
        seq: u64,
        /// The move.
        #[serde(rename = "move")]
        mv: Move,
    },
    /// The side on turn in a dispute ran out of time.
    Timeout {
        /// Claim id.
        game: String,
        /// The dispute.
        dispute: u64,
        /// When.
        time_ms: u64,
    },
    /// The referee was alive at `time_ms` (written about once a second
    /// while a dispute runs or a challenge window is open), so that a
    /// restart charges the side on turn up to here and moves the windows
    /// on by the downtime only.
    Heartbeat {
        /// When.
        time_ms: u64,
    },
    /// The referee (re)started: running turns were charged up to the last
    /// logged time and restart their clocks here, so time the referee was
    /// down is charged to nobody.
    Restart {
        /// When.
        time_ms: u64,
    },
}

impl Event {
    /// When the event happened.
    pub fn time_ms(&self) -> u64 {
        match self {
            Event::Create { time_ms, .. }
            | Event::Join { time_ms, .. }
            | Event::Start { time_ms, .. }
            | Event::Move { time_ms, .. }
            | Event::Timeout { time_ms, .. }
            | Event::Heartbeat { time_ms }
            | Event::Restart { time_ms } => *time_ms,
        }
    }
}

/// Why the log cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Another process holds the log.
    #[error("{0}: another referee is using this data directory")]
    Locked(PathBuf),
    /// A program or input named by the log is missing or damaged.
    #[error("{path}: {reason}")]
    Blob {
        /// The blob file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The chain key is missing or unreadable.
    #[error("{path}: the log's chain key: {reason}; refusing to start")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The head file is missing or unreadable.
    #[error("{path}: the log's head file: {reason}; refusing to start")]
    Head {
        /// The head file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A line that does not check out (not a torn append).
    #[error("{path}: line {line} is corrupt ({reason}); refusing to start")]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// An event read back from the log, with where its line is.
#[derive(Clone, Debug)]
pub struct Logged {
    /// The event.
    pub event: Event,
    /// Offset of its line in the log.
    pub at: u64,
    /// Offset just after its line (and newline).
    pub end: u64,
}

/// Where appended lines went.
#[derive(Clone, Copy, Debug)]
pub struct Appended {
    /// Offset of the first line.
    pub at: u64,
    /// Offset just after the last line.
    pub end: u64,
    /// The latest time of the events logged before them (what a replay
    /// of the log from `at` on must start its clock from).
    pub prior_ms: u64,
}

/// The log file inside a data directory.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("referee.log")
}

/// The file of the blob with hash `h` inside a data directory.
pub fn blob_path(dir: &Path, h: &Hash) -> PathBuf {
    dir.join("blobs").join(h.to_hex())
}

/// Syncs a directory, so that the names created in it survive a crash.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates a directory inside an existing one (its parent is not created),
/// readable by its owner only; one already there is kept.
fn private_subdir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Creates a directory (and its parents) readable by its owner only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // An existing directory too: the log holds the games' history.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Opens a file for the owner only (created `0600`).
pub(super) fn private_file() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = OpenOptions::new();
    o.mode(0o600);
    o
}

/// Stores `bytes` as a blob named by its hash (written, synced and renamed
/// into place, so a blob file is always whole) and returns the hash. A blob
/// already there is kept: a program or input is stored once, however many
/// games name it.
pub fn put_blob(dir: &Path, bytes: &[u8]) -> Result<Hash, StoreError> {
    let h = keccak(&[bytes]);
    let path = blob_path(dir, &h);
    let io = |source| StoreError::Io {
        path: path.clone(),
        source,
    };
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(h);
    }
    // Inside the data directory the log's opening made, never making it
    // again: a directory removed while the referee runs (a demo's, on
    // Ctrl-C) stays removed.
    let blobs = dir.join("blobs");
    private_subdir(&blobs).map_err(io)?;
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = blobs.join(format!(
        ".{}.{}.{}",
        h.to_hex(),
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let written = private_file()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, &path))
        .and_then(|_| sync_dir(&blobs));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(h)
}

/// Reads the blob with hash `h`, checking its hash.
pub fn get_blob(dir: &Path, h: &Hash) -> Result<Vec<u8>, StoreError> {
    let path = blob_path(dir, h);
    let bytes = std::fs::read(&path).map_err(|e| StoreError::Blob {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let found = keccak(&[&bytes]);
    if found != *h {
        return Err(StoreError::Blob {
            path,
            reason: format!("the file hashes to {found}"),
        });
    }
    Ok(bytes)
}

/// Checks that the blob with hash `h` is there with some length (start-up
/// does not read it: it is read when a transcript needs it).
pub fn has_blob(dir: &Path, h: &Hash) -> Result<u64, StoreError> {
    let path = blob_path(dir, h);
    std::fs::metadata(&path)
        .map(|m| m.len())
        .map_err(|e| StoreError::Blob {
            path,
            reason: e.to_string(),
        })
}

/// The chain suffix of a line: `,"chain":"` + 64 hex digits + `"}`.
const CHAIN_KEY: &[u8] = b",\"chain\":\"";

/// Splits a line into its event bytes (ending with the closing `}` added
/// back) and its chain link.
fn split_chain(line: &[u8]) -> Option<(Vec<u8>, Hash)> {
    let tail = CHAIN_KEY.len() + 64 + 2;
    if line.len() < tail + 2 {
        return None;
    }
    let (head, rest) = line.split_at(line.len() - tail);
    let hex = rest.strip_prefix(CHAIN_KEY)?.strip_suffix(b"\"}")?;
    let link = Hash::from_hex(std::str::from_utf8(hex).ok()?).ok()?;
    // One spelling only (lowercase), so that every byte counts.
    if link.to_hex().as_bytes() != hex {
        return None;
    }
    let mut event = head.to_vec();
    event.push(b'}');
    Some((event, link))
}

/// The chain link after `prev` for an event's bytes `e` (without its
/// closing `}`), keyed: without the key nobody can compute a chain that
/// checks out. (Keccak has no length extension, so a key in front is a MAC.)
fn link(key: &[u8; 32], prev: &Hash, e: &[u8]) -> Hash {
    keccak(&[b"mswap log link", key, &prev.0, e])
}

/// The chain key inside a data directory.
pub fn key_path(dir: &Path) -> PathBuf {
    dir.join("chain.key")
}

/// The head file inside a data directory.
pub fn head_path(dir: &Path) -> PathBuf {
    dir.join("referee.head")
}

pub use crate::referee::head::Head;
use crate::referee::head::HeadFile;

/// A fresh 32-byte key from `/dev/urandom`.
fn fresh_key() -> std::io::Result<[u8; 32]> {
    let mut k = [0u8; 32];
    File::open("/dev/urandom")?.read_exact(&mut k)?;
    Ok(k)
}

/// The part of the log that writes lines (under its own lock).
struct Writer {
    file: File,
    /// Bytes of whole lines written.
    len: u64,
    /// Lines written.
    lines: u64,
    /// The last line's chain link.
    chain: Hash,
    /// When the last event happened.
    last_ms: u64,
    /// A sync failed: no line is acknowledged any more (a restart
    /// replays what reached the disk).
    failed: bool,
}

/// The part of the log that makes lines durable (group commit: one sync
/// covers every line written before it).
struct Syncer {
    data: File,
    head: HeadFile,
    /// Bytes known to be on disk, with the head file saying so.
    durable: u64,
}

/// The open log: lines are written under one lock and synced under
/// another, so that requests arriving together share one `fdatasync` of
/// the log (and one write of the head file).
pub struct Log {
    path: PathBuf,
    head_path: PathBuf,
    key: [u8; 32],
    writer: std::sync::Mutex<Writer>,
    syncer: std::sync::Mutex<Syncer>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads the chain key, or makes one if the log is new.
fn chain_key(dir: &Path, fresh: bool) -> Result<[u8; 32], StoreError> {
    let path = key_path(dir);
    let bad = |reason: String| StoreError::Key {
        path: path.clone(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(text) => {
            let hex = std::str::from_utf8(&text).map_err(|e| bad(e.to_string()))?;
            let bytes = hex::decode(hex.trim()).map_err(|e| bad(e.to_string()))?;
            bytes
                .try_into()
                .map_err(|_| bad("not 32 bytes in hex".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && fresh => {
            let key = fresh_key().map_err(|e| bad(e.to_string()))?;
            private_file()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| {
                    f.write_all(hex::encode(key).as_bytes())?;
                    f.sync_all()
                })
                .map_err(|e| bad(e.to_string()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(bad(
            "missing: the log cannot be checked without the key it was written with".into(),
        )),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Opens the head file, or makes one if the log is new.
fn head_file(dir: &Path, key: [u8; 32], fresh: bool) -> Result<(HeadFile, Head), StoreError> {
    let path = head_path(dir);
    let bad = |reason: String| StoreError::Head {
        path: path.clone(),
        reason,
    };
    let exists = path.exists();
    if !exists && !fresh {
        return Err(bad(
            "missing: without it a log cut at its end cannot be told from a whole one".into(),
        ));
    }
    let f = private_file()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| bad(e.to_string()))?;
    if !exists {
        let h = HeadFile::create(f, &path, key).map_err(|e| bad(e.to_string()))?;
        return Ok((h, Head::default()));
    }
    let (h, head, note) = HeadFile::open(f, &path, key).map_err(bad)?;
    if let Some(note) = note {
        eprintln!("referee: {note}");
    }
    Ok((h, head))
}

impl Log {
    /// Opens (or creates) the log in `dir` and returns the events in it,
    /// checking the keyed chain against the head file. A torn last line
    /// that was never acknowledged is cut off; anything else that does
    /// not check out (a changed line, a chain made without the key, lines
    /// missing at the end, an acknowledged line cut short) is refused,
    /// naming the line.
    pub fn open(dir: &Path) -> Result<(Log, Vec<Event>), StoreError> {
        let (log, logged) = Log::open_logged(dir)?;
        Ok((log, logged.into_iter().map(|l| l.event).collect()))
    }

    /// [`Log::open`], with where each event's line is in the log.
    pub fn open_logged(dir: &Path) -> Result<(Log, Vec<Logged>), StoreError> {
        let path = log_path(dir);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let dir_io = |source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        };
        private_dir(dir).map_err(dir_io)?;
        let created = !path.exists();
        let mut file = private_file()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        // One referee per log: an exclusive lock for the life of the file.
        if let Err(e) = file.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => StoreError::Locked(path),
                std::fs::TryLockError::Error(source) => StoreError::Io { path, source },
            });
        }
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        // A new log (nothing in it, no head saying otherwise) gets a key
        // and a head; an old one must have both.
        let fresh = bytes.is_empty() && !head_path(dir).exists();
        let key = chain_key(dir, fresh)?;
        // A head that does not check out is told after the lines are
        // checked: a log written with another key breaks at line 1, which
        // says more than the head does.
        let (head_file, head) = match head_file(dir, key, fresh) {
            Ok((f, h)) => (Ok(f), h),
            Err(e) => (Err(e), Head::default()),
        };
        if fresh {
            sync_dir(dir).map_err(dir_io)?;
        }
        let corrupt = |line: u64, reason: String| StoreError::Corrupt {
            path: path.clone(),
            line: line as usize,
            reason,
        };
        let mut events = Vec::new();
        let mut good = 0usize;
        let mut lines = 0u64;
        let mut chain = Hash::default();
        let mut rest = &bytes[..];
        let mut torn = false;
        while !rest.is_empty() {
            let line_no = lines + 1;
            let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                torn = true;
                break;
            };
            let line = &rest[..nl];
            let (event_bytes, found) = split_chain(line)
                .ok_or_else(|| corrupt(line_no, "no chain link at the end of the line".into()))?;
            let want = link(&key, &chain, &event_bytes[..event_bytes.len() - 1]);
            if found != want {
                return Err(corrupt(
                    line_no,
                    "the keyed hash chain breaks here (the line or one before it was changed, or the chain was made without this directory's key)".into(),
                ));
            }
            let event = serde_json::from_slice::<Event>(&event_bytes)
                .map_err(|e| corrupt(line_no, e.to_string()))?;
            events.push(Logged {
                event,
                at: good as u64,
                end: (good + nl + 1) as u64,
            });
            chain = found;
            good += nl + 1;
            lines += 1;
            if lines == head.lines && chain != head.chain {
                return Err(corrupt(
                    lines,
                    format!(
                        "the head file says line {lines} was acknowledged with another chain link: this is not the log that was acknowledged"
                    ),
                ));
            }
            rest = &rest[nl + 1..];
        }
        let head_file = head_file?;
        if lines < head.lines {
            let next = lines + 1;
            return Err(corrupt(
                next,
                if torn {
                    format!(
                        "line {next} is cut in the middle, but the head file says {} lines were acknowledged: the log was cut, not torn by a crash",
                        head.lines
                    )
                } else {
                    format!(
                        "the log ends before line {next}, but the head file says {} lines were acknowledged: lines {next} to {} are missing",
                        head.lines, head.lines
                    )
                },
            ));
        }
        if good != bytes.len() {
            // A torn last line, after every acknowledged one: a crash in
            // the middle of an append that was never answered.
            file.set_len(good as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        if created {
            sync_dir(dir).map_err(dir_io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let data = file.try_clone().map_err(io)?;
        let last_ms = events.iter().map(|l| l.event.time_ms()).max().unwrap_or(0);
        let log = Log {
            path,
            head_path: head_path(dir),
            key,
            writer: std::sync::Mutex::new(Writer {
                file,
                len: good as u64,
                lines,
                chain,
                last_ms,
                failed: false,
            }),
            syncer: std::sync::Mutex::new(Syncer {
                data,
                head: head_file,
                durable: head.bytes,
            }),
        };
        // Lines that reached the disk after the head's last update (a
        // crash between the two syncs) are whole and keyed: the head
        // catches up with them now.
        if lines > head.lines {
            log.sync_to(good as u64)?;
        }
        Ok((log, events))
    }

    /// When the last logged event happened.
    pub fn last_ms(&self) -> u64 {
        lock(&self.writer).last_ms
    }

    /// The acknowledged end of the log.
    pub fn head(&self) -> Head {
        let w = lock(&self.writer);
        Head {
            lines: w.lines,
            bytes: w.len,
            chain: w.chain,
        }
    }

    /// Appends an event and syncs it to disk (the head file following).
    pub fn append(&self, e: &Event) -> Result<Appended, StoreError> {
        self.append_all(std::slice::from_ref(e))
    }

    /// Appends events with their chain links and syncs them to disk (one
    /// sync of the log and one write of the head file for all of them, and for
    /// every line other requests wrote meanwhile). If the write fails the
    /// file is cut back to its last whole line; if a sync fails, nothing
    /// more is acknowledged until the referee restarts (what reached the
    /// disk is checked then).
    pub fn append_all(&self, events: &[Event]) -> Result<Appended, StoreError> {
        let appended = {
            let mut w = lock(&self.writer);
            if w.failed {
                return Err(self.failed());
            }
            let mut bytes = Vec::new();
            let mut chain = w.chain;
            for e in events {
                let mut line = serde_json::to_vec(e).map_err(|e| StoreError::Io {
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                })?;
                line.pop(); // the closing brace
                chain = link(&self.key, &chain, &line);
                line.extend_from_slice(CHAIN_KEY);
                line.extend_from_slice(chain.to_hex().as_bytes());
                line.extend_from_slice(b"\"}\n");
                bytes.extend_from_slice(&line);
            }
            if let Err(source) = w.file.write_all(&bytes) {
                let len = w.len;
                let _ = w.file.set_len(len);
                return Err(StoreError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
            let appended = Appended {
                at: w.len,
                end: w.len + bytes.len() as u64,
                prior_ms: w.last_ms,
            };
            w.len += bytes.len() as u64;
            w.lines += events.len() as u64;
            w.chain = chain;
            w.last_ms = events.iter().map(Event::time_ms).fold(w.last_ms, u64::max);
            appended
        };
        self.sync_to(appended.end)?;
        Ok(appended)
    }

    fn failed(&self) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(
                "an earlier sync of the log failed: nothing more is acknowledged until the referee restarts",
            ),
        }
    }

    /// Makes the log durable up to byte `end` at least (one `fdatasync`
    /// for every line written before it), and the head file say so (a
    /// plain write; its slot is synced about once a second, see
    /// [`crate::referee::head`]).
    fn sync_to(&self, end: u64) -> Result<(), StoreError> {
        let mut s = lock(&self.syncer);
        if s.durable >= end {
            return Ok(());
        }
        let head = self.head();
        let done = s.data.sync_data().map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        });
        let done = done.and_then(|_| {
            let s = &mut *s;
            s.head
                .record(&head)
                .and_then(|_| if s.head.due() { s.head.sync() } else { Ok(()) })
                .map_err(|source| StoreError::Io {
                    path: self.head_path.clone(),
                    source,
                })
        });
        match done {
            Ok(()) => {
                s.durable = head.bytes;
                Ok(())
            }
            Err(e) => {
                lock(&self.writer).failed = true;
                Err(e)
            }
        }
    }

    /// Syncs the head file's latest record if it is due (the ticker calls
    /// this, so that the head on disk is at most about a second behind
    /// when appends stop).
    pub fn sync_head(&self) -> Result<(), StoreError> {
        let mut s = lock(&self.syncer);
        if !s.head.due() {
            return Ok(());
        }
        s.head.sync().map_err(|source| StoreError::Io {
            path: s.head.path().to_path_buf(),
            source,
        })
    }
}

impl Drop for Log {
    /// A clean stop leaves the head file synced.
    fn drop(&mut self) {
        let _ = lock(&self.syncer).head.sync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mswap-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn torn_last_lines_are_cut_and_nothing_else_is_dropped() {
        let dir = temp("torn");
        let (log, events) = Log::open(&dir).expect("opens");
        assert!(events.is_empty());
        log.append(&Event::Restart { time_ms: 1 }).expect("appends");
        log.append(&Event::Heartbeat { time_ms: 2 })
            .expect("appends");
        drop(log);
        // A crash in the middle of the third append.
        let mut f = OpenOptions::new()
            .append(true)
            .open(log_path(&dir))
            .unwrap();
        f.write_all(b"{\"event\":\"resta").unwrap();
        drop(f);
        let (log, events) = Log::open(&dir).expect("opens");
        assert_eq!(
            events,
            vec![
                Event::Restart { time_ms: 1 },
                Event::Heartbeat { time_ms: 2 }
            ]
        );
        assert_eq!(log.last_ms(), 2);
        log.append(&Event::Restart { time_ms: 3 })
            .expect("appends after the cut");
        drop(log);
        let (log, events) = Log::open(&dir).expect("opens");
        assert_eq!(events.len(), 3);
        assert!(
            matches!(Log::open(&dir), Err(StoreError::Locked(_))),
            "one referee per log"
        );
        drop(log);
        // A complete last line that does not check out is not torn.
        let text = std::fs::read_to_string(log_path(&dir)).unwrap();
        std::fs::write(
            log_path(&dir),
            text.replacen("\"time_ms\":3", "\"time_ms\":4", 1),
        )
        .unwrap();
        assert!(matches!(
            Log::open(&dir),
            Err(StoreError::Corrupt { line: 3, .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_flipped_byte_anywhere_is_found_and_named_by_its_line() {
        let dir = temp("flip");
        let (log, _) = Log::open(&dir).expect("opens");
        log.append(&Event::Restart { time_ms: 10 }).unwrap();
        log.append(&Event::Timeout {
            game: "g1".into(),
            dispute: 2,
            time_ms: 11,
        })
        .unwrap();
        log.append(&Event::Heartbeat { time_ms: 12 }).unwrap();
        drop(log);
        let good = std::fs::read(log_path(&dir)).unwrap();
        let line_of = |i: usize| 1 + good[..i].iter().filter(|b| **b == b'\n').count();
        for i in 0..good.len() - 1 {
            for flip in [0x01u8, 0x20] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                std::fs::write(log_path(&dir), &bad).unwrap();
                match Log::open(&dir) {
                    Err(StoreError::Corrupt { line, .. }) => {
                        assert_eq!(line, line_of(i), "byte {i} ^ {flip:#x}")
                    }
                    Err(e) => panic!("byte {i}: {e}"),
                    Ok(_) => panic!("byte {i} ^ {flip:#x} went unnoticed"),
                }
            }
        }
        std::fs::write(log_path(&dir), &good).unwrap();
        assert_eq!(Log::open(&dir).expect("the good log opens").1.len(), 3);
        // Permissions: the directory 0700, the files 0600.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&log_path(&dir)), 0o600);
        assert_eq!(mode(&key_path(&dir)), 0o600);
        assert_eq!(mode(&head_path(&dir)), 0o600);
        let h = put_blob(&dir, b"x").unwrap();
        assert_eq!(mode(&blob_path(&dir, &h)), 0o600);
        assert_eq!(mode(&dir.join("blobs")), 0o700);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn blobs_are_named_by_their_hash_and_checked_when_read() {
        let dir = std::env::temp_dir().join(format!("mswap-blobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Only inside an existing data directory.
        assert!(matches!(
            put_blob(&dir, b"an ELF"),
            Err(StoreError::Io { .. })
        ));
        assert!(!dir.exists(), "the data directory is not made by a blob");
        private_dir(&dir).unwrap();
        let h = put_blob(&dir, b"an ELF").expect("stores");
        assert_eq!(h, keccak(&[b"an ELF"]));
        assert_eq!(put_blob(&dir, b"an ELF").expect("again"), h);
        assert_eq!(get_blob(&dir, &h).expect("reads"), b"an ELF");
        std::fs::write(blob_path(&dir, &h), b"an elf").unwrap();
        assert!(matches!(get_blob(&dir, &h), Err(StoreError::Blob { .. })));
        let missing = keccak(&[b"nothing"]);
        assert!(matches!(
            get_blob(&dir, &missing),
            Err(StoreError::Blob { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A log of five lines in a fresh directory; its bytes.
    fn five_lines(dir: &Path) -> Vec<u8> {
        let (log, _) = Log::open(dir).expect("opens");
        for t in 1..=5 {
            log.append(&Event::Heartbeat { time_ms: t }).unwrap();
        }
        drop(log);
        std::fs::read(log_path(dir)).unwrap()
    }

    fn refused_at(dir: &Path) -> (usize, String) {
        match Log::open(dir) {
            Err(StoreError::Corrupt { line, reason, .. }) => (line, reason),
            Err(e) => panic!("refused without naming a line: {e}"),
            Ok(_) => panic!("an edited log was accepted"),
        }
    }

    #[test]
    fn lines_dropped_at_the_end_and_acknowledged_lines_cut_short_are_refused() {
        let dir = temp("cut");
        let good = five_lines(&dir);
        let ends: Vec<usize> = (0..good.len()).filter(|i| good[*i] == b'\n').collect();
        // Whole lines dropped at the end: named by the first one missing.
        for keep in 0..5usize {
            std::fs::write(
                log_path(&dir),
                &good[..ends.get(keep.wrapping_sub(1)).map_or(0, |e| e + 1)],
            )
            .unwrap();
            let (line, reason) = refused_at(&dir);
            assert_eq!(line, keep + 1, "{reason}");
            assert!(reason.contains("missing"), "{reason}");
        }
        // A cut in the middle of any acknowledged line.
        for cut in [1, ends[0] + 7, ends[2] + 30, ends[4] - 1] {
            std::fs::write(log_path(&dir), &good[..cut]).unwrap();
            let line = 1 + good[..cut].iter().filter(|b| **b == b'\n').count();
            let (found, reason) = refused_at(&dir);
            assert_eq!(found, line, "cut at {cut}: {reason}");
            assert!(reason.contains("cut in the middle"), "{reason}");
            // Refused, and left as found.
            assert_eq!(std::fs::read(log_path(&dir)).unwrap(), &good[..cut]);
        }
        // The whole log back: it opens, and a torn line after it (never
        // acknowledged) is recovered.
        let mut torn = good.clone();
        torn.extend_from_slice(b"{\"event\":\"heartbeat\",\"ti");
        std::fs::write(log_path(&dir), &torn).unwrap();
        let (log, events) = Log::open(&dir).expect("a torn unacknowledged line is cut");
        assert_eq!(events.len(), 5);
        drop(log);
        assert_eq!(std::fs::read(log_path(&dir)).unwrap(), good);
        // The head file itself is needed once there is a log.
        std::fs::remove_file(head_path(&dir)).unwrap();
        assert!(matches!(Log::open(&dir), Err(StoreError::Head { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_chain_recomputed_without_the_key_is_refused_at_line_one() {
        let dir = temp("rechain");
        let good = five_lines(&dir);
        // Someone edits line 3 and recomputes every link with another key
        // (the old unkeyed chain, or any key but this directory's).
        let text = String::from_utf8(good).unwrap();
        let mut forged = Vec::new();
        let mut prev = Hash::default();
        let other = [7u8; 32];
        for (i, line) in text.lines().enumerate() {
            let (event, _) = split_chain(line.as_bytes()).unwrap();
            let mut e = String::from_utf8(event).unwrap();
            if i == 2 {
                e = e.replace("\"time_ms\":3", "\"time_ms\":33");
            }
            e.pop();
            prev = link(&other, &prev, e.as_bytes());
            forged.extend_from_slice(format!("{e},\"chain\":\"{}\"}}\n", prev.to_hex()).as_bytes());
        }
        std::fs::write(log_path(&dir), &forged).unwrap();
        let (line, reason) = refused_at(&dir);
        assert_eq!(line, 1, "{reason}");
        assert!(reason.contains("key"), "{reason}");
        // Without its key file the log is not read at all.
        std::fs::remove_file(key_path(&dir)).unwrap();
        assert!(matches!(Log::open(&dir), Err(StoreError::Key { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_head_is_told_apart_from_a_cut_log() {
        use crate::referee::head::{RECORD, SLOT1};
        let dir = temp("tornhead");
        let good = five_lines(&dir);
        let head = std::fs::read(head_path(&dir)).unwrap();
        let newest = |h: &[u8]| {
            let serial = |at: usize| {
                let t = String::from_utf8_lossy(&h[at..(at + RECORD).min(h.len())]).to_string();
                t.split(['"', ':', ','])
                    .nth(4)
                    .and_then(|x| x.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if serial(SLOT1 as usize) > serial(0) {
                SLOT1 as usize
            } else {
                0
            }
        };
        // A crash tears the record being written: the other one (older)
        // is used, the whole keyed lines after it are kept.
        let mut torn = head.clone();
        let at = newest(&head);
        torn[at + 40..at + RECORD].fill(0);
        std::fs::write(head_path(&dir), &torn).unwrap();
        let (log, events) = Log::open(&dir).expect("a torn head record is not fatal");
        assert_eq!(events.len(), 5);
        assert_eq!(log.head().lines, 5);
        drop(log);
        // The head caught up: the log cut short under it is refused,
        // naming the line.
        let ends: Vec<usize> = (0..good.len()).filter(|i| good[*i] == b'\n').collect();
        std::fs::write(log_path(&dir), &good[..ends[3] + 1]).unwrap();
        let (line, reason) = refused_at(&dir);
        assert_eq!(line, 5, "{reason}");
        assert!(reason.contains("missing"), "{reason}");
        std::fs::write(log_path(&dir), &good).unwrap();
        // Both records garbled is not a crash: the head file is named.
        let mut garbled = std::fs::read(head_path(&dir)).unwrap();
        garbled[20] ^= 1;
        garbled[SLOT1 as usize + 20] ^= 1;
        std::fs::write(head_path(&dir), &garbled).unwrap();
        match Log::open(&dir) {
            Err(StoreError::Head { reason, .. }) => assert!(reason.contains("edited"), "{reason}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a garbled head was accepted"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lines_written_after_the_last_head_update_are_kept() {
        let dir = temp("ahead");
        let (log, _) = Log::open(&dir).expect("opens");
        log.append(&Event::Heartbeat { time_ms: 1 }).unwrap();
        let head = std::fs::read(head_path(&dir)).unwrap();
        log.append(&Event::Heartbeat { time_ms: 2 }).unwrap();
        drop(log);
        // A crash between the log's sync and the head's: the head is one
        // line behind; the line is whole and keyed, so it stays.
        std::fs::write(head_path(&dir), head).unwrap();
        let (log, events) = Log::open(&dir).expect("opens");
        assert_eq!(events.len(), 2);
        assert_eq!(log.head().lines, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
