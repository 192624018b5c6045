//! A dispute's transcript written out as it is streamed: the program and
//! input read from their blobs in chunks, never whole in memory.

use crate::hash::Hash;
use crate::rules::transcript::{Record, TRANSCRIPT_TYPE, TRANSCRIPT_VERSION};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A dispute's transcript, ready to be written out as JSON without
/// holding the program and input in memory (they are read from their
/// blobs in chunks).
pub struct TranscriptSource {
    pub(super) dir: PathBuf,
    pub(super) game: String,
    pub(super) dispute: u64,
    pub(super) claim: crate::rules::claim::Claim,
    pub(super) levels: Vec<crate::rules::levels::Level>,
    pub(super) clock_ms: u64,
    pub(super) created_ms: u64,
    pub(super) moves: Vec<Record>,
    pub(super) outcome: Option<crate::rules::Outcome>,
}

impl TranscriptSource {
    /// Writes the transcript, the same document as [`Transcript`]'s JSON.
    pub fn write(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        use std::io::Write;
        let json = |w: &mut dyn Write, v: &dyn erased::Json| v.write_json(w);
        write!(
            w,
            "{{\"type\":\"{TRANSCRIPT_TYPE}\",\"version\":{TRANSCRIPT_VERSION},\"game\":"
        )?;
        json(w, &self.game)?;
        write!(w, ",\"dispute\":{},\"claim\":", self.dispute)?;
        json(w, &self.claim)?;
        for (name, h) in [
            ("program", &self.claim.program),
            ("input", &self.claim.input),
        ] {
            write!(w, ",\"{name}\":\"")?;
            stream_hex(&self.dir, h, w)?;
            w.write_all(b"\"")?;
        }
        w.write_all(b",\"levels\":")?;
        json(w, &self.levels)?;
        write!(
            w,
            ",\"clock_ms\":{},\"created_ms\":{},\"moves\":[",
            self.clock_ms, self.created_ms
        )?;
        for (i, m) in self.moves.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            json(w, m)?;
        }
        w.write_all(b"],\"outcome\":")?;
        json(w, &self.outcome)?;
        w.write_all(b"}")
    }
}

/// Serializing through `dyn` (serde's traits are not object safe).
mod erased {
    /// A value that writes itself as JSON.
    pub trait Json {
        fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(w, self).map_err(std::io::Error::other)
        }
    }
}

/// Checks a blob's hash by reading it in chunks.
pub(super) fn check_blob(dir: &Path, h: &Hash) -> std::io::Result<()> {
    let mut k = tiny_keccak::Keccak::v256();
    let mut f = std::fs::File::open(crate::referee::store::blob_path(dir, h))?;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tiny_keccak::Hasher::update(&mut k, &buf[..n]);
    }
    let mut out = [0u8; 32];
    tiny_keccak::Hasher::finalize(k, &mut out);
    if Hash(out) != *h {
        return Err(std::io::Error::other(format!("blob {h} is damaged")));
    }
    Ok(())
}

/// Writes a blob as hex, 64 KiB at a time.
fn stream_hex(dir: &Path, h: &Hash, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut f = std::fs::File::open(crate::referee::store::blob_path(dir, h))?;
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        w.write_all(hex::encode(&buf[..n]).as_bytes())?;
    }
}
