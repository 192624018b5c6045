//! Finished claims leave memory. A claim whose window has closed and whose
//! disputes have all ended never changes again: the referee drops it from
//! memory and keeps a fixed-size record of it in `claims.idx` (where its
//! lines are in the log, its status and counts). Its views, lists and
//! transcripts are then rebuilt on demand from its own lines of the log,
//! so the referee's memory depends on the claims in play, not on how many
//! were ever played.
//!
//! The index is derived from the log: it is rebuilt from it at every
//! start (the log is the one thing that is checked and trusted), and is
//! written without a sync.

use super::entries::{
    ClaimEntry, ClaimSignals, ClaimSlot, Dispute, Refusal, dispute_slot, new_dispute, refuse,
};
use crate::players::wire::ClaimStatus;
use crate::referee::store::{Event, StoreError, log_path, private_file};
use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Bytes of one record of the index.
const RECORD: u64 = 64;

/// What the index keeps of a finished claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Record {
    /// Stands or refuted.
    pub status: ClaimStatus,
    /// Offset of its creation's line in the log.
    pub first_at: u64,
    /// Offset just after its last line.
    pub last_end: u64,
    /// The latest time logged before its creation (a replay from
    /// `first_at` charges clocks from there, as the live referee did).
    pub prior_ms: u64,
    /// When its window closed (after any moves by restarts).
    pub window_ends_ms: u64,
    /// Its disputes.
    pub disputes: u64,
    /// Its event feed's last change number.
    pub version: u64,
    /// Its change count (the claim view's `seq`).
    pub seq: u64,
}

impl Record {
    fn encode(&self) -> [u8; RECORD as usize] {
        let mut b = [0u8; RECORD as usize];
        b[0] = 1;
        b[1] = match self.status {
            ClaimStatus::Open => 0,
            ClaimStatus::Stands => 1,
            ClaimStatus::Refuted => 2,
        };
        for (i, v) in [
            self.first_at,
            self.last_end,
            self.prior_ms,
            self.window_ends_ms,
            self.disputes,
            self.version,
            self.seq,
        ]
        .iter()
        .enumerate()
        {
            b[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    fn decode(b: &[u8; RECORD as usize]) -> Option<Record> {
        if b[0] != 1 {
            return None;
        }
        let status = match b[1] {
            1 => ClaimStatus::Stands,
            2 => ClaimStatus::Refuted,
            _ => return None,
        };
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[8 + 8 * i..16 + 8 * i]);
            u64::from_le_bytes(w)
        };
        Some(Record {
            status,
            first_at: word(0),
            last_end: word(1),
            prior_ms: word(2),
            window_ends_ms: word(3),
            disputes: word(4),
            version: word(5),
            seq: word(6),
        })
    }
}

/// The index of finished claims (`claims.idx`): record `k - 1` is claim
/// `gk`'s, all zeros while it is in memory (or was never made).
pub(super) struct Index {
    file: File,
    path: PathBuf,
    dir: PathBuf,
}

/// The index file inside a data directory.
pub fn index_path(dir: &Path) -> PathBuf {
    dir.join("claims.idx")
}

impl Index {
    /// An empty index in `dir` (the referee's start fills it again from
    /// the log).
    pub(super) fn create(dir: &Path) -> Result<Index, StoreError> {
        let path = index_path(dir);
        let file = private_file()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Index {
            file,
            path,
            dir: dir.to_path_buf(),
        })
    }

    /// Keeps claim number `k`'s record.
    pub(super) fn put(&self, k: u64, r: &Record) -> Result<(), StoreError> {
        self.file
            .write_all_at(&r.encode(), k.saturating_sub(1) * RECORD)
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Claim number `k`'s record, if it finished.
    pub(super) fn get(&self, k: u64) -> Option<Record> {
        let mut b = [0u8; RECORD as usize];
        let at = k.checked_sub(1)?.checked_mul(RECORD)?;
        self.file.read_exact_at(&mut b, at).ok()?;
        Record::decode(&b)
    }

    /// Rebuilds finished claim `id` from its lines of the log (with every
    /// dispute, or only dispute `only`'s moves): the claim as the live
    /// referee last had it, behind a lock of its own (nobody else sees it).
    pub(super) fn rebuild(
        &self,
        id: &str,
        r: &Record,
        only: Option<u64>,
    ) -> Result<Arc<ClaimSlot>, Refusal> {
        let fail = |e: String| refuse(500, format!("cannot read finished claim {id}: {e}"));
        let log = log_path(&self.dir);
        let mut f = File::open(&log).map_err(|e| fail(e.to_string()))?;
        f.seek(SeekFrom::Start(r.first_at))
            .map_err(|e| fail(e.to_string()))?;
        let mut lines =
            std::io::BufReader::with_capacity(64 << 10, f.take(r.last_end - r.first_at));
        let mine = format!("\"game\":{}", serde_json::Value::from(id));
        let mut entry: Option<ClaimEntry> = None;
        let mut disputes: Vec<Dispute> = Vec::new();
        let mut last_ms = r.prior_ms;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = lines
                .read_until(b'\n', &mut line)
                .map_err(|e| fail(e.to_string()))?;
            if n == 0 {
                break;
            }
            let restart = line.starts_with(b"{\"event\":\"restart\"");
            if !restart && !contains(&line, mine.as_bytes()) {
                last_ms = last_ms.max(time_of(&line));
                continue;
            }
            let event = parse(&line).map_err(fail)?;
            match &event {
                Event::Create { .. } => {
                    entry = ClaimEntry::created(&event, r.first_at, r.prior_ms, r.last_end);
                }
                Event::Join {
                    time_ms,
                    challenger_token,
                    queued,
                    ..
                } => {
                    let c = entry
                        .as_ref()
                        .ok_or_else(|| fail("a join before the claim".into()))?;
                    disputes
                        .push(new_dispute(c, *time_ms, *challenger_token, *queued).map_err(fail)?);
                }
                Event::Move { dispute, .. }
                | Event::Timeout { dispute, .. }
                | Event::Start { dispute, .. } => {
                    if only.is_none_or(|o| o == *dispute) {
                        disputes
                            .get_mut((*dispute as usize).wrapping_sub(1))
                            .ok_or_else(|| fail(format!("no dispute {dispute}")))?
                            .apply(&event)
                            .map_err(fail)?;
                    }
                }
                Event::Restart { time_ms } => {
                    // As at the referee's start: running turns were
                    // charged up to the last logged time.
                    for d in disputes.iter_mut().filter(|d| !d.queued) {
                        d.game.pause(last_ms, *time_ms);
                    }
                }
                Event::Heartbeat { .. } => {}
            }
            last_ms = last_ms.max(event.time_ms());
        }
        let mut entry =
            entry.ok_or_else(|| fail("its creation is not where the index says".into()))?;
        // The window as the live referee last moved it.
        entry.window_ends_ms = r.window_ends_ms;
        let signals = ClaimSignals::new(r.version);
        for d in disputes {
            entry.disputes.push(dispute_slot(d, &signals));
        }
        Ok(Arc::new(ClaimSlot {
            entry: Mutex::new(entry),
            signals,
        }))
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The `time_ms` of a log line, without parsing all of it.
fn time_of(line: &[u8]) -> u64 {
    const KEY: &[u8] = b"\"time_ms\":";
    let Some(at) = line.windows(KEY.len()).position(|w| w == KEY) else {
        return 0;
    };
    line[at + KEY.len()..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add((d - b'0') as u64)
        })
}

/// The event of a log line (its chain link cut off; the log was checked
/// when the referee started, and lines since were written by it).
fn parse(line: &[u8]) -> Result<Event, String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let cut = line
        .windows(9)
        .rposition(|w| w == b",\"chain\":")
        .ok_or("a line without its chain link")?;
    let mut event = line[..cut].to_vec();
    event.push(b'}');
    serde_json::from_slice(&event).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_unknown_numbers_are_none() {
        let dir = std::env::temp_dir().join(format!("mswap-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let index = Index::create(&dir).unwrap();
        let r = Record {
            status: ClaimStatus::Refuted,
            first_at: 10,
            last_end: 900,
            prior_ms: 5,
            window_ends_ms: 77,
            disputes: 3,
            version: 12,
            seq: 7,
        };
        index.put(3, &r).unwrap();
        assert_eq!(index.get(3), Some(r));
        assert_eq!(index.get(2), None, "a hole");
        assert_eq!(index.get(4), None, "past the end");
        assert_eq!(index.get(0), None);
        assert_eq!(index.get(u64::MAX), None);
        assert_eq!(
            time_of(b"{\"event\":\"heartbeat\",\"time_ms\":1234,\"chain\""),
            1234
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
