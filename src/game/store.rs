//! The referee's data directory: an append-only log of events, one JSON
//! event per line, written and synced to disk before the referee answers,
//! and the programs and inputs of the games as files named by their
//! Keccak-256 (`blobs/`), synced before the event that names them.
//! Replaying the log through the rules rebuilds every game exactly, so a
//! crash loses no acknowledged move. A torn last line (a crash in the
//! middle of an append) was never acknowledged; it is dropped and cut off
//! before the next append.
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

/// One accepted event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    /// A game was opened; its program and input are the blobs named by
    /// `claim.program` and `claim.input`.
    Create {
        /// Game id.
        game: String,
        /// When (ms since the epoch).
        time_ms: u64,
        /// The claim.
        claim: Claim,
        /// The levels.
        levels: Vec<Level>,
        /// Clock per side, ms.
        clock_ms: u64,
        /// The defender's secret.
        defender_token: String,
    },
    /// A challenger joined.
    Join {
        /// Game id.
        game: String,
        /// When.
        time_ms: u64,
        /// The challenger's secret.
        challenger_token: String,
    },
    /// A move was accepted.
    Move {
        /// Game id.
        game: String,
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
    /// The side on turn ran out of time.
    Timeout {
        /// Game id.
        game: String,
        /// When.
        time_ms: u64,
    },
    /// The referee (re)started: running turns restart their clocks here,
    /// so time the referee was down is charged to nobody.
    Restart {
        /// When.
        time_ms: u64,
    },
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

/// Stores `bytes` as a blob named by its hash (written, synced and renamed
/// into place, so a blob file is always whole) and returns the hash. A blob
/// already there is kept.
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
    std::fs::create_dir_all(&blobs).map_err(io)?;
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = blobs.join(format!(
        ".{}.{}.{}",
        h.to_hex(),
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let written = File::create(&tmp)
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

impl Log {
    /// Opens (or creates) the log in `dir` and returns the events in it.
    /// A torn last line is dropped and cut off.
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
        std::fs::create_dir_all(dir).map_err(dir_io)?;
        let fresh = !path.exists();
        let mut file = OpenOptions::new()
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
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut events = Vec::new();
        let mut good = 0usize;
        let mut line_no = 0usize;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            line_no += 1;
            let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                break; // a torn last line: never acknowledged
            };
            let line = &rest[..nl];
            match serde_json::from_slice::<Event>(line) {
                Ok(e) => events.push(e),
                Err(e) => {
                    let last = rest.len() == nl + 1;
                    if !last {
                        return Err(StoreError::Corrupt {
                            path,
                            line: line_no,
                            reason: e.to_string(),
                        });
                    }
                    break;
                }
            }
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
        Ok((Log { file, path, len }, events))
    }

    /// Appends an event and syncs it to disk. If that fails, the file is cut
    /// back to its last whole line, so a failed append leaves no half line
    /// for the next one to follow.
    pub fn append(&mut self, e: &Event) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(e).map_err(|e| StoreError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_lines_are_dropped_and_corrupt_ones_refused() {
        let dir = std::env::temp_dir().join(format!("mswap-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut log, events) = Log::open(&dir).expect("opens");
        assert!(events.is_empty());
        log.append(&Event::Restart { time_ms: 1 }).expect("appends");
        log.append(&Event::Restart { time_ms: 2 }).expect("appends");
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
            vec![Event::Restart { time_ms: 1 }, Event::Restart { time_ms: 2 }]
        );
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
        // A corrupt line in the middle is not a torn append.
        let text = std::fs::read_to_string(log_path(&dir))
            .unwrap()
            .replacen("restart", "restrat", 1);
        std::fs::write(log_path(&dir), text).unwrap();
        assert!(matches!(
            Log::open(&dir),
            Err(StoreError::Corrupt { line: 1, .. })
        ));
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
