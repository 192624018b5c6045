//! The recording accessor: runs the step function on a real state and
//! writes the access log a one-step proof carries (the prover in the
//! `mswap` crate turns it into a [`StepProof`](crate::proof::StepProof)).

use super::{StateAccess, Words};
use crate::micro::isa::{CLEAN_AT, Q, USTEPS};
use crate::micro::microcode::Microcode;
use crate::proof::{Access, AccessKind, LeafProof};

/// Why a step could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError {
    /// A micro-step touched two different leaves of `S` (a micro-ISA invariant broke).
    #[error("the micro-step touched two leaves of S ({first:#x} and {second:#x})")]
    TwoLeaves {
        /// First leaf index.
        first: u64,
        /// Second leaf index.
        second: u64,
    },
    /// The micro-step index is not below `2^a`.
    #[error(
        "micro-step {0} does not exist: an A-step has 2^a = {USTEPS} micro-steps (0..{CLEAN_AT})"
    )]
    MicroStepRange(u64),
}

/// Merkle proofs of the leaves of a state `S` (the state tree in the
/// `mswap` crate; it must be in sync with the state it is asked about).
pub trait LeafProofs<S: ?Sized> {
    /// The proof of the 32-byte leaf of `s` that holds `addr`.
    fn leaf_proof(&self, s: &S, addr: u64) -> LeafProof;
}

/// Records the accesses of one micro-step on a real state.
pub struct Recorder<'a, S: Words + ?Sized, P: LeafProofs<S> + ?Sized> {
    q: &'a mut Q,
    s: &'a mut S,
    tree: &'a P,
    code: &'a Microcode,
    s_leaf: Option<LeafProof>,
    accesses: Vec<Access>,
}

impl<'a, S: Words + ?Sized, P: LeafProofs<S> + ?Sized> Recorder<'a, S, P> {
    /// A recorder over `(q, s)`; `tree` proves the leaves of `s` as they
    /// are before the step.
    pub fn new(q: &'a mut Q, s: &'a mut S, tree: &'a P, code: &'a Microcode) -> Self {
        Recorder {
            q,
            s,
            tree,
            code,
            s_leaf: None,
            accesses: Vec::new(),
        }
    }

    /// The log: the proof of the one leaf of `S` touched (if any) and the
    /// accesses in order.
    pub fn finish(self) -> (Option<LeafProof>, Vec<Access>) {
        (self.s_leaf, self.accesses)
    }

    fn leaf(&mut self, addr: u64) -> Result<(), ProveError> {
        match &self.s_leaf {
            Some(p) if p.index != addr >> 5 => Err(ProveError::TwoLeaves {
                first: p.index,
                second: addr >> 5,
            }),
            Some(_) => Ok(()),
            None => {
                self.s_leaf = Some(self.tree.leaf_proof(self.s, addr));
                Ok(())
            }
        }
    }
}

impl<S: Words + ?Sized, P: LeafProofs<S> + ?Sized> StateAccess for Recorder<'_, S, P> {
    type Error = ProveError;

    fn read_q(&mut self, i: usize) -> Result<u64, ProveError> {
        Ok(self.q.get(i).copied().unwrap_or(0))
    }

    fn write_q(&mut self, i: usize, v: u64) -> Result<(), ProveError> {
        if let Some(w) = self.q.get_mut(i) {
            *w = v;
        }
        Ok(())
    }

    fn fetch(&mut self, upc: u64) -> Result<u64, ProveError> {
        Ok(self.code.fetch(upc))
    }

    fn read_s(&mut self, addr: u64) -> Result<u64, ProveError> {
        self.leaf(addr)?;
        let value = self.s.read_word(addr);
        self.accesses.push(Access {
            kind: AccessKind::Read,
            addr,
            value,
        });
        Ok(value)
    }

    fn write_s(&mut self, addr: u64, value: u64) -> Result<(), ProveError> {
        self.leaf(addr)?;
        self.accesses.push(Access {
            kind: AccessKind::Write,
            addr,
            value,
        });
        self.s.write_word(addr, value);
        Ok(())
    }
}
