//! Proof types and their encodings: the data that the verifier reads.
//! Nothing here depends on the machines; the recording accessor is
//! [`crate::micro::access::record`], the checker [`crate::verify`].

pub mod binary;
pub mod error;
pub mod file;
pub mod hexbytes;
pub mod types;
pub mod word;

pub use file::{ProofContext, ProofFile, STEP_PROOF_TYPE};
pub use types::{Access, AccessKind, PROOF_VERSION, ProofKind, StepProof};
pub use word::LeafProof;
