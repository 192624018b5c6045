//! The replaying accessor: serves the step function from a proof, checking
//! every access against the running root.

#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

use super::StateAccess;
use crate::hash::{Hash, LEAF_BYTES};
use crate::layout::S_TREE_DEPTH;
use crate::proof::error::VerifyError;
use crate::proof::{AccessKind, StepProof};

/// Replays one micro-step from a proof.
pub struct Replay<'p> {
    /// `Q`, starting from the proof's copy.
    pub q: [u64; 16],
    proof: &'p StepProof,
    code: &'p [u64],
    next: usize,
    leaf: Option<[u8; LEAF_BYTES]>,
    wrote: bool,
}

fn word_of(leaf: &[u8; LEAF_BYTES], addr: u64) -> u64 {
    let at = ((addr & 31) >> 3) as usize * 8;
    let mut b = [0u8; 8];
    if let Some(s) = leaf.get(at..at + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

impl<'p> Replay<'p> {
    /// A replay of `proof` with the microcode `code` (every slot; its
    /// length is a power of two).
    pub fn new(proof: &'p StepProof, code: &'p [u64]) -> Replay<'p> {
        Replay {
            q: proof.q,
            proof,
            code,
            next: 0,
            leaf: None,
            wrote: false,
        }
    }

    /// The proven leaf's current bytes, checking the proof on first use.
    fn leaf_for(&mut self, index: usize, addr: u64) -> Result<&mut [u8; LEAF_BYTES], VerifyError> {
        let p = self
            .proof
            .s_leaf
            .as_ref()
            .ok_or(VerifyError::MissingLeafProof { index })?;
        if p.index != addr >> 5 {
            return Err(VerifyError::LeafIndex {
                index,
                expected: addr >> 5,
                found: p.index,
            });
        }
        if self.leaf.is_none() {
            if p.siblings.len() != S_TREE_DEPTH as usize {
                return Err(VerifyError::LeafDepth {
                    expected: S_TREE_DEPTH as usize,
                    found: p.siblings.len(),
                });
            }
            let computed = p.root();
            if computed != self.proof.s_root {
                return Err(VerifyError::LeafRoot {
                    expected: self.proof.s_root,
                    computed,
                });
            }
        }
        Ok(self.leaf.get_or_insert(p.leaf))
    }

    /// The logged access `index`, which must be of `kind` at `addr`.
    fn expect(&self, index: usize, kind: AccessKind, addr: u64) -> Result<u64, VerifyError> {
        let a = self
            .proof
            .accesses
            .get(index)
            .ok_or(VerifyError::MissingAccess { index, kind, addr })?;
        if a.kind != kind {
            return Err(VerifyError::AccessKind {
                index,
                expected: kind,
                found: a.kind,
            });
        }
        if a.addr != addr {
            return Err(VerifyError::AccessAddress {
                index,
                expected: addr,
                found: a.addr,
            });
        }
        Ok(a.value)
    }

    /// Checks that the whole proof was used and returns `(Q, root(S))` after the step.
    pub fn finish(self) -> Result<([u64; 16], Hash), VerifyError> {
        if self.next != self.proof.accesses.len() {
            return Err(VerifyError::LeftoverAccesses {
                index: self.next,
                count: self.proof.accesses.len() - self.next,
            });
        }
        let s_root = match (&self.proof.s_leaf, self.leaf) {
            (Some(_), None) => return Err(VerifyError::UnusedLeafProof),
            (Some(p), Some(leaf)) if self.wrote => p.root_with(&leaf),
            _ => self.proof.s_root,
        };
        Ok((self.q, s_root))
    }
}

impl StateAccess for Replay<'_> {
    type Error = VerifyError;

    fn read_q(&mut self, i: usize) -> Result<u64, VerifyError> {
        Ok(self.q.get(i).copied().unwrap_or(0))
    }

    fn write_q(&mut self, i: usize, v: u64) -> Result<(), VerifyError> {
        if let Some(w) = self.q.get_mut(i) {
            *w = v;
        }
        Ok(())
    }

    fn fetch(&mut self, upc: u64) -> Result<u64, VerifyError> {
        let slots = self.code.len() as u64;
        Ok(self
            .code
            .get((upc & slots.wrapping_sub(1)) as usize)
            .copied()
            .unwrap_or(0))
    }

    fn read_s(&mut self, addr: u64) -> Result<u64, VerifyError> {
        let index = self.next;
        let logged = self.expect(index, AccessKind::Read, addr)?;
        let actual = word_of(self.leaf_for(index, addr)?, addr);
        if logged != actual {
            return Err(VerifyError::AccessValue {
                index,
                logged,
                actual,
            });
        }
        self.next += 1;
        Ok(actual)
    }

    fn write_s(&mut self, addr: u64, v: u64) -> Result<(), VerifyError> {
        let index = self.next;
        let logged = self.expect(index, AccessKind::Write, addr)?;
        if logged != v {
            return Err(VerifyError::AccessValue {
                index,
                logged,
                actual: v,
            });
        }
        let leaf = self.leaf_for(index, addr)?;
        let at = ((addr & 31) >> 3) as usize * 8;
        if let Some(s) = leaf.get_mut(at..at + 8) {
            s.copy_from_slice(&v.to_le_bytes());
        }
        self.wrote = true;
        self.next += 1;
        Ok(())
    }
}
