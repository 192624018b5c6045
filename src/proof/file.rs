//! The JSON file that carries one step proof (`"type": "step-proof"`).

use super::types::StepProof;
use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// The `type` of a step-proof file.
pub const STEP_PROOF_TYPE: &str = "step-proof";

/// Where a proof comes from (informational; the verifier does not use it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofContext {
    /// Keccak-256 of the ELF file.
    pub program: Hash,
    /// Keccak-256 of the input.
    pub input: Hash,
    /// The A-step `t`.
    pub step: u64,
    /// The micro-step `j` within it.
    pub micro: u64,
    /// The RV64IMAC instruction of A-step `t`, disassembled.
    pub instruction: String,
    /// The micro-instruction of micro-step `j`, disassembled.
    pub uop: String,
}

/// A step proof with the roots it connects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    /// Always [`STEP_PROOF_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The agreed `root(R_j)`.
    pub root_before: Hash,
    /// The claimed `root(R_(j+1))`.
    pub root_after: Hash,
    /// Where the proof comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ProofContext>,
    /// The proof.
    pub proof: StepProof,
}
