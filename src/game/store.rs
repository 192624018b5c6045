//! The referee's data directory: an append-only log of events, one JSON
//! event per line, written and synced to disk before the referee answers,
//! and the programs and inputs of the games as files named by their
//! Keccak-256 (`blobs/`), synced before the event that names them.
//! Replaying the log through the rules rebuilds every game exactly, so a
//! crash loses no acknowledged move.
//!
//! ## Integrity
//!
//! Each line ends with a link of a hash chain: a line is
//! `{...event...,"chain":"H"}` where `H = keccak(H_prev || E)`, `E` the
//! line's bytes up to (not including) `,"chain"`, and `H_prev` the
//! previous line's link (32 zero bytes before the first line). A byte
//! changed anywhere breaks the chain at that line or a later one, and the
//! referee refuses to start, naming the line. Only a last line without its
//! newline is torn (a crash in the middle of an append, never
//! acknowledged): it is cut off. A complete line that does not check out is
//! never dropped.
//!
//! The directory is created `0700` and its files `0600`; tokens are kept
//! as their Keccak-256 only.
//!
//! Programs and inputs live outside the log so that log lines stay short:
//! appending a move never waits behind a large program being written.

use super::claim::Claim;
use super::levels::Level;
use super::rules::{Move, Side};
use crate::hash::{Hash, keccak};
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
    /// A complete line that does not parse (not a torn append).
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

/// The open log.
pub struct Log {
    file: File,
    path: PathBuf,
    /// Bytes of whole lines in the file (where a failed append is cut back to).
    len: u64,
    /// The last line's chain link.
    chain: Hash,
    /// When the last event happened.
    last_ms: u64,
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
fn private_file() -> OpenOptions {
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
    let blobs = dir.join("blobs");
    private_dir(&blobs).map_err(io)?;
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

/// The chain link after `prev` for an event's bytes `e` (without its closing `}`).
fn link(prev: &Hash, e: &[u8]) -> Hash {
    keccak(&[&prev.0, e])
}

impl Log {
    /// Opens (or creates) the log in `dir` and returns the events in it,
    /// checking the chain. A torn last line is cut off.
    pub fn open(dir: &Path) -> Result<(Log, Vec<Event>), StoreError> {
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
        let fresh = !path.exists();
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
        let mut events = Vec::new();
        let mut good = 0usize;
        let mut line_no = 0usize;
        let mut chain = Hash::default();
        let mut rest = &bytes[..];
        let corrupt = |line: usize, reason: String| StoreError::Corrupt {
            path: path.clone(),
            line,
            reason,
        };
        while !rest.is_empty() {
            line_no += 1;
            let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                break; // a torn last line: never acknowledged
            };
            let line = &rest[..nl];
            let (event_bytes, found) = split_chain(line)
                .ok_or_else(|| corrupt(line_no, "no chain link at the end of the line".into()))?;
            let want = link(&chain, &event_bytes[..event_bytes.len() - 1]);
            if found != want {
                return Err(corrupt(
                    line_no,
                    "the hash chain breaks here (the line or one before it was changed)".into(),
                ));
            }
            let event = serde_json::from_slice::<Event>(&event_bytes)
                .map_err(|e| corrupt(line_no, e.to_string()))?;
            events.push(event);
            chain = found;
            good += nl + 1;
            rest = &rest[nl + 1..];
        }
        if good != bytes.len() {
            file.set_len(good as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        if fresh {
            sync_dir(dir).map_err(dir_io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let len = good as u64;
        let last_ms = events.last().map_or(0, Event::time_ms);
        Ok((
            Log {
                file,
                path,
                len,
                chain,
                last_ms,
            },
            events,
        ))
    }

    /// When the last logged event happened.
    pub fn last_ms(&self) -> u64 {
        self.last_ms
    }

    /// Appends an event with its chain link and syncs it to disk. If that
    /// fails, the file is cut back to its last whole line, so a failed
    /// append leaves no half line for the next one to follow.
    pub fn append(&mut self, e: &Event) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(e).map_err(|e| StoreError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.pop(); // the closing brace
        let chain = link(&self.chain, &line);
        line.extend_from_slice(CHAIN_KEY);
        line.extend_from_slice(chain.to_hex().as_bytes());
        line.extend_from_slice(b"\"}\n");
        let written = self
            .file
            .write_all(&line)
            .and_then(|_| self.file.sync_data());
        if let Err(source) = written {
            let _ = self.file.set_len(self.len);
            let _ = self.file.sync_data();
            return Err(StoreError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.len += line.len() as u64;
        self.chain = chain;
        self.last_ms = self.last_ms.max(e.time_ms());
        Ok(())
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
        let (mut log, events) = Log::open(&dir).expect("opens");
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
        let (mut log, events) = Log::open(&dir).expect("opens");
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
        let (mut log, _) = Log::open(&dir).expect("opens");
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
        let h = put_blob(&dir, b"x").unwrap();
        assert_eq!(mode(&blob_path(&dir, &h)), 0o600);
        assert_eq!(mode(&dir.join("blobs")), 0o700);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn blobs_are_named_by_their_hash_and_checked_when_read() {
        let dir = std::env::temp_dir().join(format!("mswap-blobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
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
}
