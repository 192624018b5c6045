//! The log's head file (`referee.head`): the acknowledged end of the log
//! (lines, bytes, the last line's chain link), kept where a truncation of
//! the log cannot reach, so that lines dropped from the end of the log are
//! found at start.
//!
//! ## Two slots
//!
//! The file holds two records of [`RECORD`] bytes, one at offset 0 and
//! one at [`SLOT1`] (a page apart, so that writing one never rewrites the
//! other's disk blocks). Each record has a serial number and a check,
//! a Keccak-256 keyed with the log's chain key over the rest, so a record
//! that was torn by a crash, or written by someone without the key, does
//! not check out.
//!
//! One slot is always *durable*: synced, and not written since. Every
//! sync of the log writes the new head into the other slot (a plain
//! write: visible at once to any later process, even after a `kill -9`).
//! About once a second ([`SYNC_EVERY`]) that slot is synced and becomes
//! the durable one, and writes go to the other. So the log costs one
//! `fdatasync` per group of appends, not two, and a crash of the machine
//! can tear only the slot being written: the durable one still checks
//! out, a little behind, and the whole keyed lines after it are kept.
//!
//! At start, the record with the higher serial among those that check out
//! is used; if only one checks out, the other was torn (said on stderr);
//! if neither does, the file was edited or damaged, not torn, and the
//! referee refuses to start.

use crate::hash::{Hash, keccak};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Offset of the second record.
pub(super) const SLOT1: u64 = 4096;
/// Bytes of one record (JSON padded with spaces, ending with a newline).
pub(super) const RECORD: usize = 256;
/// How often the slot being written is synced (and the slots swap).
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// What the head file says: the acknowledged end of the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// Lines acknowledged.
    pub lines: u64,
    /// Bytes of those lines.
    pub bytes: u64,
    /// The chain link of the last of them.
    pub chain: Hash,
}

/// The keyed check of a record.
fn check(key: &[u8; 32], serial: u64, h: &Head) -> Hash {
    keccak(&[
        b"mswap head",
        key,
        &serial.to_le_bytes(),
        &h.lines.to_le_bytes(),
        &h.bytes.to_le_bytes(),
        &h.chain.0,
    ])
}

fn encode(key: &[u8; 32], serial: u64, h: &Head) -> Vec<u8> {
    let mut b = format!(
        "{{\"serial\":{serial},\"lines\":{},\"bytes\":{},\"chain\":\"{}\",\"check\":\"{}\"}}",
        h.lines,
        h.bytes,
        h.chain.to_hex(),
        check(key, serial, h).to_hex()
    )
    .into_bytes();
    b.resize(RECORD - 1, b' ');
    b.push(b'\n');
    b
}

/// A record's serial and head, if it checks out.
fn decode(key: &[u8; 32], bytes: &[u8]) -> Option<(u64, Head)> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        serial: u64,
        lines: u64,
        bytes: u64,
        chain: String,
        check: String,
    }
    let raw: Raw = serde_json::from_slice(bytes.trim_ascii()).ok()?;
    let head = Head {
        lines: raw.lines,
        bytes: raw.bytes,
        chain: Hash::from_hex(&raw.chain).ok()?,
    };
    let want = check(key, raw.serial, &head);
    (Hash::from_hex(&raw.check).ok()? == want).then_some((raw.serial, head))
}

/// The open head file.
pub(super) struct HeadFile {
    file: File,
    path: PathBuf,
    key: [u8; 32],
    /// Serial of the last record written.
    serial: u64,
    /// The slot written to now (0 or 1); the other is durable.
    writing: u64,
    /// A record was written to `writing` since the last sync.
    dirty: bool,
    synced_at: Instant,
}

fn offset(slot: u64) -> u64 {
    if slot == 0 { 0 } else { SLOT1 }
}

impl HeadFile {
    /// A new head file at `path` (the log is empty): record 1 in slot 0,
    /// synced.
    pub(super) fn create(file: File, path: &Path, key: [u8; 32]) -> std::io::Result<HeadFile> {
        file.write_all_at(&encode(&key, 1, &Head::default()), 0)?;
        file.sync_all()?;
        Ok(HeadFile {
            file,
            path: path.to_path_buf(),
            key,
            serial: 1,
            writing: 1,
            dirty: false,
            synced_at: Instant::now(),
        })
    }

    /// Reads an existing head file: the head it says, and a note if one
    /// of its records was torn. `Err` (a reason) if neither checks out.
    pub(super) fn open(
        file: File,
        path: &Path,
        key: [u8; 32],
    ) -> Result<(HeadFile, Head, Option<String>), String> {
        let mut slots = Vec::new();
        for slot in 0..2u64 {
            let mut buf = vec![0u8; RECORD];
            let n = read_at_most(&file, &mut buf, offset(slot)).map_err(|e| e.to_string())?;
            buf.truncate(n);
            slots.push(buf);
        }
        let found: Vec<Option<(u64, Head)>> = slots.iter().map(|b| decode(&key, b)).collect();
        // A slot never written is empty (or zeros); one written in part
        // is torn.
        let written = |b: &[u8]| b.iter().any(|x| *x != 0);
        let (slot, serial, head) = match (found[0], found[1]) {
            (Some((s0, h0)), Some((s1, h1))) => {
                if s1 > s0 {
                    (1, s1, h1)
                } else {
                    (0, s0, h0)
                }
            }
            (Some((s, h)), None) => (0, s, h),
            (None, Some((s, h))) => (1, s, h),
            (None, None) => {
                return Err(
                    "neither of its two records checks out with this directory's key: a crash tears one at most, so the file was edited, replaced or damaged"
                        .into(),
                );
            }
        };
        let other = 1 - slot;
        let note = written(&slots[other as usize])
            .then(|| found[other as usize].is_none())
            .filter(|torn| *torn)
            .map(|_| {
                format!(
                    "{}: record {} does not check out (a write torn by a crash); record {} (lines {}) is used and the whole lines after it are kept",
                    path.display(),
                    other + 1,
                    slot + 1,
                    head.lines
                )
            });
        // The record used is made durable before the other slot is
        // written again.
        file.sync_all().map_err(|e| e.to_string())?;
        Ok((
            HeadFile {
                file,
                path: path.to_path_buf(),
                key,
                serial,
                writing: other,
                dirty: false,
                synced_at: Instant::now(),
            },
            head,
            note,
        ))
    }

    /// The file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `head` into the slot being written (not synced).
    pub(super) fn record(&mut self, head: &Head) -> std::io::Result<()> {
        self.serial += 1;
        self.file
            .write_all_at(&encode(&self.key, self.serial, head), offset(self.writing))?;
        self.dirty = true;
        Ok(())
    }

    /// Whether the slot being written is due to be synced.
    pub(super) fn due(&self) -> bool {
        self.dirty && self.synced_at.elapsed() >= SYNC_EVERY
    }

    /// Syncs the slot being written, which becomes the durable one; later
    /// records go to the other.
    pub(super) fn sync(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.file.sync_data()?;
        self.writing = 1 - self.writing;
        self.dirty = false;
        self.synced_at = Instant::now();
        Ok(())
    }
}

/// Reads up to `buf.len()` bytes at `at` (fewer at the end of the file).
fn read_at_most(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], at + n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mswap-head-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("referee.head")
    }

    fn rw(path: &Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap()
    }

    fn head(lines: u64) -> Head {
        Head {
            lines,
            bytes: lines * 100,
            chain: keccak(&[&lines.to_le_bytes()]),
        }
    }

    #[test]
    fn the_newest_record_that_checks_out_wins_and_slots_alternate() {
        let path = temp("slots");
        let key = [3u8; 32];
        let mut h = HeadFile::create(rw(&path), &path, key).unwrap();
        h.record(&head(1)).unwrap();
        h.record(&head(2)).unwrap();
        // Not synced yet: both records of slot 1 went to the same place.
        let (_, found, note) = HeadFile::open(rw(&path), &path, key).unwrap();
        assert_eq!((found, note), (head(2), None));
        h.sync().unwrap();
        h.record(&head(3)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes[..RECORD].starts_with(b"{\"serial\":4"), "slot 0 now");
        assert!(bytes[SLOT1 as usize..].starts_with(b"{\"serial\":3"));
        assert_eq!(HeadFile::open(rw(&path), &path, key).unwrap().1, head(3));
        // Another key: nothing checks out.
        let err = HeadFile::open(rw(&path), &path, [4u8; 32]).err().unwrap();
        assert!(err.contains("neither"), "{err}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_torn_record_falls_back_to_the_other_and_says_so() {
        let path = temp("torn");
        let key = [5u8; 32];
        let mut h = HeadFile::create(rw(&path), &path, key).unwrap();
        h.record(&head(7)).unwrap();
        drop(h);
        let good = std::fs::read(&path).unwrap();
        // Every cut of the record being written (slot 1) and a garbled
        // byte in it: the durable slot 0 (lines 0) is used.
        for cut in [1usize, 20, 100, 150] {
            let mut torn = good.clone();
            torn.truncate(SLOT1 as usize + cut);
            std::fs::write(&path, &torn).unwrap();
            let (_, found, note) = HeadFile::open(rw(&path), &path, key).unwrap();
            assert_eq!(found, Head::default(), "cut at {cut}");
            assert!(note.unwrap().contains("torn"));
        }
        let mut garbled = good.clone();
        garbled[SLOT1 as usize + 30] ^= 1;
        std::fs::write(&path, &garbled).unwrap();
        assert_eq!(
            HeadFile::open(rw(&path), &path, key).unwrap().1,
            Head::default()
        );
        // Both garbled: refused.
        garbled[30] ^= 1;
        std::fs::write(&path, &garbled).unwrap();
        assert!(HeadFile::open(rw(&path), &path, key).is_err());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
