//! The one-step proof of machine AB: an ordered access log of one
//! micro-step, checkable against `root(R)` alone.
//!
//! The format is documented byte by byte in `proofs/README.md`.

use crate::hash::Hash;
use crate::proof::LeafProof;
use serde::{Deserialize, Serialize};

/// Version of the proof format (JSON field `version`, first binary byte).
pub const PROOF_VERSION: u8 = 2;

/// Which kind of micro-step a proof is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProofKind {
    /// An ordinary micro-step (fetch and execute one micro-instruction).
    Step,
    /// The cleaning step: `Q` becomes `Q*`.
    Clean,
}

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessKind {
    /// The step read a word of `S`.
    Read,
    /// The step wrote a word of `S`.
    Write,
}

impl std::fmt::Display for AccessKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
        })
    }
}

/// One access to a 64-bit word of `S`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Read or write.
    pub kind: AccessKind,
    /// The word's `S` address (8-aligned).
    #[serde(with = "crate::proof::hexbytes::u64hex")]
    pub addr: u64,
    /// The value read, or the value written.
    #[serde(with = "crate::proof::hexbytes::u64hex")]
    pub value: u64,
}

/// A proof of one micro-step from `R_j` to `R_(j+1)`.
///
/// `root(R_j) = H(root(Q) || s_root)` with `root(Q)` computed from `q`.
/// The verifier re-executes the step with `q` in hand, fetching the
/// micro-instruction from the microcode it carries (committed by
/// [`crate::verify::MICROCODE_ROOT`]) and reaching `S` only through
/// `accesses`, which must all touch the one leaf proven by `s_leaf`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepProof {
    /// Format version ([`PROOF_VERSION`]).
    pub version: u8,
    /// Step or cleaning step.
    pub kind: ProofKind,
    /// The auxiliary state before the step (16 words).
    #[serde(with = "crate::proof::hexbytes::q_words")]
    pub q: [u64; 16],
    /// `root(S)` before the step.
    pub s_root: Hash,
    /// The leaf of `S` that the accesses touch, as it was before the step.
    pub s_leaf: Option<LeafProof>,
    /// The accesses to `S`, in order.
    pub accesses: Vec<Access>,
}
