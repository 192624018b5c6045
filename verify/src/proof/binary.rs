//! The compact binary encoding of a [`StepProof`] (documented in
//! `proofs/README.md`), the bytes a contract reads from calldata. Decoding
//! never panics and names the field it could not read.
//!
//! Two things keep it small (calldata is most of the gas of a step on
//! chain): a sibling that is the root of a pristine subtree (`Z(k)`, which
//! the verifier knows) is marked in a bitmap instead of sent, and `s_root`
//! is sent only when there is no leaf proof (otherwise the leaf proof
//! determines it).

use super::types::{Access, AccessKind, PROOF_VERSION, ProofKind, StepProof};
use crate::hash::{Hash, zero_hash};
use crate::proof::LeafProof;

/// Most siblings a leaf proof may carry (the width of the zero-sibling bitmap).
pub const MAX_SIBLINGS: usize = 32;
/// Most accesses a proof may carry.
pub const MAX_ACCESSES: usize = 16;

/// Why bytes are not a binary proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended inside a field.
    #[error("binary proof truncated: {field} needs {needed} bytes at offset {offset}, {left} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        left: usize,
    },
    /// Unknown format version.
    #[error("unsupported proof version {0} (this build reads version {PROOF_VERSION})")]
    Version(u8),
    /// Unknown kind byte.
    #[error("unknown proof kind byte {0} (0 = step, 1 = clean)")]
    Kind(u8),
    /// Undefined flag bits.
    #[error("unknown flag bits in {0:#04x} (bit 0 = leaf proof, other bits 0)")]
    Flags(u8),
    /// The zero-sibling bitmap marks a sibling the proof does not have.
    #[error("{field}: zero-sibling bitmap {mask:#010x} marks siblings beyond the {count} it has")]
    ZeroMask {
        /// Which proof.
        field: &'static str,
        /// The bitmap.
        mask: u32,
        /// The number of siblings.
        count: usize,
    },
    /// Unknown access kind byte.
    #[error("access {index}: unknown kind byte {byte} (0 = read, 1 = write)")]
    AccessKind {
        /// Access index.
        index: usize,
        /// The byte.
        byte: u8,
    },
    /// Too many siblings.
    #[error("{field}: {count} siblings, at most {MAX_SIBLINGS} allowed")]
    TooManySiblings {
        /// Which proof.
        field: &'static str,
        /// How many.
        count: usize,
    },
    /// Too many accesses.
    #[error("{0} accesses, at most {MAX_ACCESSES} allowed")]
    TooManyAccesses(usize),
    /// Bytes after the end.
    #[error("{extra} unexpected bytes after the end of the proof (offset {offset})")]
    Trailing {
        /// Where the proof ended.
        offset: usize,
        /// Bytes left over.
        extra: usize,
    },
}

/// Writes a leaf proof (at most [`MAX_SIBLINGS`] siblings; siblings equal
/// to `Z(k)` are marked in the bitmap, not written).
fn put_leaf(out: &mut Vec<u8>, p: &LeafProof) {
    out.extend_from_slice(&p.index.to_le_bytes());
    out.extend_from_slice(&p.leaf);
    let siblings = p.siblings.get(..MAX_SIBLINGS).unwrap_or(&p.siblings);
    out.push(siblings.len() as u8);
    let mut mask = 0u32;
    for (k, s) in siblings.iter().enumerate() {
        if *s == zero_hash(k as u32) {
            mask |= 1 << k;
        }
    }
    out.extend_from_slice(&mask.to_le_bytes());
    for (k, s) in siblings.iter().enumerate() {
        if mask & (1 << k) == 0 {
            out.extend_from_slice(&s.0);
        }
    }
}

/// Encodes a proof. With a leaf proof, `s_root` is not written: the
/// decoder takes the root the leaf proof leads to (a proof whose `s_root`
/// differs from it is invalid anyway).
pub fn encode(p: &StepProof) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.push(p.version);
    out.push(match p.kind {
        ProofKind::Step => 0,
        ProofKind::Clean => 1,
    });
    for w in &p.q {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.push(p.s_leaf.is_some() as u8);
    match &p.s_leaf {
        Some(l) => put_leaf(&mut out, l),
        None => out.extend_from_slice(&p.s_root.0),
    }
    out.push(p.accesses.len().min(255) as u8);
    for a in p.accesses.iter().take(255) {
        out.push(match a.kind {
            AccessKind::Read => 0,
            AccessKind::Write => 1,
        });
        out.extend_from_slice(&a.addr.to_le_bytes());
        out.extend_from_slice(&a.value.to_le_bytes());
    }
    out
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let left = self.b.len().saturating_sub(self.at);
        let s = self
            .b
            .get(self.at..self.at.saturating_add(n))
            .ok_or(DecodeError::Truncated {
                field,
                offset: self.at,
                needed: n,
                left,
            })?;
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?.first().copied().unwrap_or(0))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, field)?);
        Ok(u64::from_le_bytes(a))
    }

    fn hash(&mut self, field: &'static str) -> Result<Hash, DecodeError> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32, field)?);
        Ok(Hash(a))
    }

    fn leaf(&mut self, field: &'static str) -> Result<LeafProof, DecodeError> {
        let index = self.u64(field)?;
        let mut leaf = [0u8; 32];
        leaf.copy_from_slice(self.take(32, field)?);
        let n = self.u8(field)? as usize;
        if n > MAX_SIBLINGS {
            return Err(DecodeError::TooManySiblings { field, count: n });
        }
        let mut m = [0u8; 4];
        m.copy_from_slice(self.take(4, field)?);
        let mask = u32::from_le_bytes(m);
        if (mask as u64) >> n != 0 {
            return Err(DecodeError::ZeroMask {
                field,
                mask,
                count: n,
            });
        }
        let mut siblings = Vec::with_capacity(n);
        for k in 0..n {
            siblings.push(if mask & (1 << k) != 0 {
                zero_hash(k as u32)
            } else {
                self.hash(field)?
            });
        }
        Ok(LeafProof {
            index,
            leaf,
            siblings,
        })
    }
}

/// Decodes a proof; every byte must be used.
pub fn decode(bytes: &[u8]) -> Result<StepProof, DecodeError> {
    let mut r = Reader { b: bytes, at: 0 };
    let version = r.u8("version")?;
    if version != PROOF_VERSION {
        return Err(DecodeError::Version(version));
    }
    let kind = match r.u8("kind")? {
        0 => ProofKind::Step,
        1 => ProofKind::Clean,
        k => return Err(DecodeError::Kind(k)),
    };
    let mut q = [0u64; 16];
    for w in q.iter_mut() {
        *w = r.u64("q")?;
    }
    let flags = r.u8("flags")?;
    if flags & !1 != 0 {
        return Err(DecodeError::Flags(flags));
    }
    let (s_root, s_leaf) = if flags & 1 != 0 {
        let l = r.leaf("leaf proof")?;
        (l.root(), Some(l))
    } else {
        (r.hash("s_root")?, None)
    };
    let m = r.u8("access count")? as usize;
    if m > MAX_ACCESSES {
        return Err(DecodeError::TooManyAccesses(m));
    }
    let mut accesses = Vec::with_capacity(m);
    for index in 0..m {
        let kind = match r.u8("access kind")? {
            0 => AccessKind::Read,
            1 => AccessKind::Write,
            byte => return Err(DecodeError::AccessKind { index, byte }),
        };
        let addr = r.u64("access address")?;
        let value = r.u64("access value")?;
        accesses.push(Access { kind, addr, value });
    }
    if r.at != bytes.len() {
        return Err(DecodeError::Trailing {
            offset: r.at,
            extra: bytes.len() - r.at,
        });
    }
    Ok(StepProof {
        version,
        kind,
        q,
        s_root,
        s_leaf,
        accesses,
    })
}
