//! The JSON file that carries one step proof (`"type": "step-proof"`).

use super::types::StepProof;
use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// The `type` of a step-proof file.
pub const STEP_PROOF_TYPE: &str = "step-proof";

/// Where a proof comes from. The step verifier does not use it; `mswap
/// verify` checks what the proof itself can show (`micro` is the clock in
/// `q`, `uop` the proven micro-instruction) and, given the ELF and input,
/// the rest (see `check_context` in the `mswap` crate's prover).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

impl ProofFile {
    /// Parses a step-proof file strictly: straight from the bytes (so a
    /// duplicate key anywhere is refused, where going through a generic
    /// JSON value would keep the last one), unknown fields refused at every
    /// level, words in their one documented form, and `type` must be
    /// [`STEP_PROOF_TYPE`].
    pub fn from_json(bytes: &[u8]) -> Result<ProofFile, serde_json::Error> {
        use serde::de::Error;
        let file: ProofFile = serde_json::from_slice(bytes)?;
        if file.kind != STEP_PROOF_TYPE {
            return Err(serde_json::Error::custom(format!(
                "type is {:?}, expected {STEP_PROOF_TYPE:?}",
                file.kind
            )));
        }
        Ok(file)
    }
}

/// The `type` field of a JSON document, read strictly (a duplicate `type`
/// key is refused; other fields are skipped here and checked by the
/// document's own parser). `Ok(None)` if there is no `type` field.
pub fn document_type(bytes: &[u8]) -> Result<Option<String>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    Ok(serde_json::from_slice::<Probe>(bytes)?.kind)
}
