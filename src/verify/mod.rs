//! The verifier module: checks one-step proofs of machine AB.
//!
//! It depends on nothing but hashing ([`crate::hash`]), the proof types
//! ([`crate::proof`]), the state layout constants and the micro-machine's
//! step function ([`crate::micro::step`], the semantics being checked). It
//! does no I/O, uses no threads and is a deterministic pure function, so it
//! can be audited alone and ported to a settlement layer.
//!
//! [`verify_step`] is the heart: from an agreed `root(R_j)` and a proof it
//! returns `root(R_(j+1))`, or an error naming what is wrong.

#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

pub mod replay;

use crate::hash::Hash;
use crate::micro::isa::{CLEAN_AT, attached_root, q_root, r_root};
use crate::micro::step::ustep;
use crate::proof::binary::MAX_ACCESSES;
use crate::proof::{AccessKind, PROOF_VERSION, ProofKind, StepProof};
use replay::Replay;

/// Root of this build's microcode (see [`crate::micro::microcode`]): the
/// identity of the program the verifier carries (the contract carries the
/// same words and checks them against it). A test checks it against the
/// assembled program.
pub const MICROCODE_ROOT: Hash =
    crate::hash::hash_from_hex("6b93facbf79ce2c68468c5b7ad302351adbb57853e2b18e5fe57370c41d22755");
/// Depth of the microcode tree: the microcode has `4 * 2^depth` slots and
/// `upc` fetches slot `upc mod` that.
pub const MICROCODE_DEPTH: u32 = 9;

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Unknown format version.
    #[error("unsupported proof version {0} (this verifier checks version {PROOF_VERSION})")]
    Version(u8),
    /// `H(root(Q) || s_root)` is not the agreed root.
    #[error(
        "root mismatch: the proof's q and s_root hash to {computed}, the agreed root before the step is {expected}"
    )]
    RootMismatch {
        /// The agreed root.
        expected: Hash,
        /// What the proof hashes to.
        computed: Hash,
    },
    /// The kind does not match the clock.
    #[error("kind: clock {clock} makes this a {expected:?} step, the proof says {found:?}")]
    WrongKind {
        /// The clock in `q`.
        clock: u64,
        /// The kind the clock implies.
        expected: ProofKind,
        /// The kind in the proof.
        found: ProofKind,
    },
    /// The step made an access the log does not have.
    #[error(
        "access {index}: the step makes a {kind} at {addr:#x} but the log has no entry {index}"
    )]
    MissingAccess {
        /// Access index.
        index: usize,
        /// What the step does.
        kind: AccessKind,
        /// Where.
        addr: u64,
    },
    /// Read where the step writes, or the reverse.
    #[error("access {index}: kind is {found} but the step makes a {expected}")]
    AccessKind {
        /// Access index.
        index: usize,
        /// What the step does.
        expected: AccessKind,
        /// What the log says.
        found: AccessKind,
    },
    /// The log names another address.
    #[error("access {index}: address is {found:#x} but the step accesses {expected:#x}")]
    AccessAddress {
        /// Access index.
        index: usize,
        /// Where the step accesses.
        expected: u64,
        /// What the log says.
        found: u64,
    },
    /// The logged value is not the value read or written.
    #[error("access {index}: value is {logged:#x} but the step reads/writes {actual:#x}")]
    AccessValue {
        /// Access index.
        index: usize,
        /// What the log says.
        logged: u64,
        /// What the leaf holds (read) or the step computes (write).
        actual: u64,
    },
    /// The step reaches `S` but there is no leaf proof.
    #[error("access {index}: the step accesses S but the proof has no leaf proof")]
    MissingLeafProof {
        /// Access index.
        index: usize,
    },
    /// The leaf proof is for another leaf.
    #[error(
        "access {index}: the leaf proof is for leaf {found:#x}, the access needs leaf {expected:#x}"
    )]
    LeafIndex {
        /// Access index.
        index: usize,
        /// The leaf the access needs.
        expected: u64,
        /// The proof's leaf.
        found: u64,
    },
    /// Wrong number of siblings in the leaf proof.
    #[error("s_leaf: {found} siblings, the state tree has depth {expected}")]
    LeafDepth {
        /// Tree depth.
        expected: usize,
        /// Siblings given.
        found: usize,
    },
    /// The leaf proof does not lead to `s_root`.
    #[error("s_leaf: the leaf and siblings hash to {computed}, not s_root {expected}")]
    LeafRoot {
        /// The proof's `s_root`.
        expected: Hash,
        /// What the leaf proof hashes to.
        computed: Hash,
    },
    /// A leaf proof the step did not use.
    #[error("s_leaf: the proof has a leaf proof but the step does not access S")]
    UnusedLeafProof,
    /// Log entries the step did not make.
    #[error("access {index}: {count} logged accesses left over that the step does not make")]
    LeftoverAccesses {
        /// First unused entry.
        index: usize,
        /// How many are unused.
        count: usize,
    },
    /// More accesses than any step makes.
    #[error("{0} accesses, at most {MAX_ACCESSES} allowed")]
    TooManyAccesses(usize),
    /// The claimed root after the step is not the computed one.
    #[error("root after: the step leads to {computed}, the claim is {claimed}")]
    RootAfter {
        /// The claimed root.
        claimed: Hash,
        /// What the step computes.
        computed: Hash,
    },
}

/// Verifies one micro-step with this build's microcode: from the agreed
/// root before the step, returns the root after it.
///
/// ```
/// use mswap::proof::ProofFile;
/// use mswap::verify::verify_step;
///
/// let json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/proofs/alu.json"))?;
/// let file: ProofFile = serde_json::from_slice(&json)?;
/// assert_eq!(verify_step(&file.root_before, &file.proof)?, file.root_after);
/// // The proof holds only from its agreed root.
/// assert!(verify_step(&mswap::hash::Hash::ZERO, &file.proof).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_step(root_before: &Hash, proof: &StepProof) -> Result<Hash, VerifyError> {
    verify_step_with(
        root_before,
        proof,
        &crate::micro::microcode::microcode().words,
    )
}

/// [`verify_step`] with a given microcode: `code` holds every slot (its
/// length is a power of two; `upc` fetches `code[upc mod code.len()]`).
pub fn verify_step_with(
    root_before: &Hash,
    proof: &StepProof,
    code: &[u64],
) -> Result<Hash, VerifyError> {
    if proof.version != PROOF_VERSION {
        return Err(VerifyError::Version(proof.version));
    }
    if proof.accesses.len() > MAX_ACCESSES {
        return Err(VerifyError::TooManyAccesses(proof.accesses.len()));
    }
    let computed = r_root(&q_root(&proof.q), &proof.s_root);
    if computed != *root_before {
        return Err(VerifyError::RootMismatch {
            expected: *root_before,
            computed,
        });
    }
    let clock = proof.q[0] >> 32;
    let expected = if clock >= CLEAN_AT {
        ProofKind::Clean
    } else {
        ProofKind::Step
    };
    if proof.kind != expected {
        return Err(VerifyError::WrongKind {
            clock,
            expected,
            found: proof.kind,
        });
    }
    let mut replay = Replay::new(proof, code);
    ustep(&mut replay, CLEAN_AT)?;
    let (q, s_root) = replay.finish()?;
    Ok(r_root(&q_root(&q), &s_root))
}

/// Verifies a step and that it leads to `claimed_after`.
pub fn verify_step_to(
    root_before: &Hash,
    proof: &StepProof,
    claimed_after: &Hash,
) -> Result<(), VerifyError> {
    let computed = verify_step(root_before, proof)?;
    if computed != *claimed_after {
        return Err(VerifyError::RootAfter {
            claimed: *claimed_after,
            computed,
        });
    }
    Ok(())
}

/// `root(attach(Q*, S))` for `root(S)`: the link between an A-step and
/// its micro-steps (both ends of level 2 are computed this way, never taken
/// from a player).
pub fn attach_root(s_root: &Hash) -> Hash {
    attached_root(s_root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::micro::microcode::microcode;

    #[test]
    fn microcode_commitment_constants_match_the_assembled_microcode() {
        let m = microcode();
        assert_eq!(m.words.len() as u64, m.slots);
        assert!(m.slots.is_power_of_two());
        assert_eq!(
            (m.root, m.depth),
            (MICROCODE_ROOT, MICROCODE_DEPTH),
            "update MICROCODE_ROOT to {} and MICROCODE_DEPTH to {}",
            m.root,
            m.depth
        );
    }
}
