//! Why a one-step proof does not verify: the errors of the replaying
//! accessor ([`crate::micro::access::replay`]) and of the checker around
//! it ([`crate::verify`]), in one enum so that each names the access index
//! and the field at fault.

use super::binary::MAX_ACCESSES;
use super::{AccessKind, PROOF_VERSION, ProofKind};
use crate::hash::Hash;

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
