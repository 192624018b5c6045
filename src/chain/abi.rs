//! The `StepVerifier` contract's verdicts in Rust terms: the revert data
//! the contract gives for each decode or verify error (its custom errors
//! have the Rust errors' names and fields), so a differential test can
//! compare the two byte for byte and a chain client can name the error.

use crate::hash::{Hash, keccak};
use crate::proof::binary::{self, DecodeError};
use crate::proof::{AccessKind, ProofKind};
use crate::verify::{VerifyError, verify_step};

/// Why a binary proof is rejected: by the decoder or by the verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// Malformed bytes.
    #[error("malformed proof: {0}")]
    Decode(#[from] DecodeError),
    /// A well-formed proof that does not verify.
    #[error("invalid proof: {0}")]
    Verify(#[from] VerifyError),
}

/// Decodes and verifies a binary proof against `root_before`: what the
/// contract's `step(rootBefore, proof)` computes.
pub fn step(root_before: &Hash, bytes: &[u8]) -> Result<Hash, StepError> {
    let proof = binary::decode(bytes)?;
    Ok(verify_step(root_before, &proof)?)
}

/// The 4-byte selector of a Solidity error or function signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak(&[signature.as_bytes()]);
    [h.0[0], h.0[1], h.0[2], h.0[3]]
}

fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

fn kind(k: AccessKind) -> u64 {
    match k {
        AccessKind::Read => 0,
        AccessKind::Write => 1,
    }
}

fn proof_kind(k: ProofKind) -> u64 {
    match k {
        ProofKind::Step => 0,
        ProofKind::Clean => 1,
    }
}

/// ABI-encodes error `name(args)` with `uint256`/`bytes32` arguments.
fn encode(name: &str, args: &[[u8; 32]]) -> Vec<u8> {
    let types = if args.is_empty() {
        String::new()
    } else {
        vec!["uint256"; args.len()].join(",")
    };
    let sig = format!("{name}({types})");
    let mut out = selector(&sig).to_vec();
    for a in args {
        out.extend_from_slice(a);
    }
    out
}

/// The revert data of the contract's custom error for `e`.
pub fn revert_data(e: &StepError) -> Vec<u8> {
    use DecodeError as D;
    use VerifyError as V;
    let w = word;
    match e {
        StepError::Decode(d) => match d {
            D::Truncated { offset, needed, .. } => {
                encode("Truncated", &[w(*offset as u64), w(*needed as u64)])
            }
            D::Version(v) => encode("Version", &[w(*v as u64)]),
            D::Kind(k) => encode("Kind", &[w(*k as u64)]),
            D::Flags(f) => encode("Flags", &[w(*f as u64)]),
            D::ZeroMask { mask, count, .. } => {
                encode("ZeroMask", &[w(*mask as u64), w(*count as u64)])
            }
            D::AccessKind { index, byte } => {
                encode("AccessKindByte", &[w(*index as u64), w(*byte as u64)])
            }
            D::TooManySiblings { count, .. } => encode("TooManySiblings", &[w(*count as u64)]),
            D::TooManyAccesses(m) => encode("TooManyAccesses", &[w(*m as u64)]),
            D::Trailing { offset, extra } => {
                encode("Trailing", &[w(*offset as u64), w(*extra as u64)])
            }
        },
        StepError::Verify(v) => match v {
            V::Version(v) => encode("Version", &[w(*v as u64)]),
            V::RootMismatch { expected, computed } => {
                let sig = selector("RootMismatch(bytes32,bytes32)");
                let mut out = sig.to_vec();
                out.extend_from_slice(&expected.0);
                out.extend_from_slice(&computed.0);
                out
            }
            V::WrongKind {
                clock,
                expected,
                found,
            } => encode(
                "WrongKind",
                &[w(*clock), w(proof_kind(*expected)), w(proof_kind(*found))],
            ),
            V::MissingAccess {
                index,
                kind: k,
                addr,
            } => encode("MissingAccess", &[w(*index as u64), w(kind(*k)), w(*addr)]),
            V::AccessKind {
                index,
                expected,
                found,
            } => encode(
                "AccessKind",
                &[w(*index as u64), w(kind(*expected)), w(kind(*found))],
            ),
            V::AccessAddress {
                index,
                expected,
                found,
            } => encode(
                "AccessAddress",
                &[w(*index as u64), w(*expected), w(*found)],
            ),
            V::AccessValue {
                index,
                logged,
                actual,
            } => encode("AccessValue", &[w(*index as u64), w(*logged), w(*actual)]),
            V::MissingLeafProof { index } => encode("MissingLeafProof", &[w(*index as u64)]),
            V::LeafIndex {
                index,
                expected,
                found,
            } => encode("LeafIndex", &[w(*index as u64), w(*expected), w(*found)]),
            V::LeafDepth { expected, found } => {
                encode("LeafDepth", &[w(*expected as u64), w(*found as u64)])
            }
            // A binary proof's s_root is the root of its leaf proof, so the
            // contract has no such error; a proof that reaches it here is a
            // disagreement the differential test reports.
            V::LeafRoot { .. } => encode("LeafRoot", &[]),
            V::UnusedLeafProof => encode("UnusedLeafProof", &[]),
            V::LeftoverAccesses { index, count } => {
                encode("LeftoverAccesses", &[w(*index as u64), w(*count as u64)])
            }
            V::TooManyAccesses(m) => encode("TooManyAccesses", &[w(*m as u64)]),
            V::RootAfter { .. } => encode("RootAfter", &[]),
        },
    }
}

/// One case of a differential fixture: what the contract must answer.
pub struct Case {
    /// The agreed root passed to `step`.
    pub root_before: Hash,
    /// The binary proof.
    pub proof: Vec<u8>,
    /// The Rust verdict: the root after, or the revert data.
    pub verdict: Result<Hash, Vec<u8>>,
}

impl Case {
    /// The case with the Rust verifier's verdict.
    pub fn new(root_before: Hash, proof: Vec<u8>) -> Case {
        let verdict = step(&root_before, &proof).map_err(|e| revert_data(&e));
        Case {
            root_before,
            proof,
            verdict,
        }
    }
}

/// Label of the micro-step kind a proof is about, for the gas tables: the
/// operation number of the micro-instruction it executes (`op` in
/// `verify/src/micro/isa.rs`), [`LABEL_CLEAN`] for the cleaning step, or
/// [`LABEL_MALFORMED`] when the bytes do not decode.
pub fn label(bytes: &[u8]) -> u8 {
    match binary::decode(bytes) {
        Ok(p) if p.kind == ProofKind::Clean => LABEL_CLEAN,
        Ok(p) => {
            let op = crate::micro::isa::Uop::decode(
                crate::micro::microcode::microcode().fetch(p.q[0] & 0xffff_ffff),
            )
            .op;
            op.min(crate::micro::isa::op::COUNT)
        }
        Err(_) => LABEL_MALFORMED,
    }
}

/// [`label`] of a cleaning step.
pub const LABEL_CLEAN: u8 = crate::micro::isa::op::COUNT + 1;
/// [`label`] of bytes that do not decode.
pub const LABEL_MALFORMED: u8 = 255;

/// The fixture file the forge tests read (`contracts/test/StepVerifier.t.sol`):
/// for each case, `ok` (u8: 1 accepted, 0 rejected), the [`label`] (u8),
/// `root_before` (32 bytes), the result's length (u16, big-endian) and
/// bytes (the root after, or the revert data), the proof's length (u16,
/// big-endian) and bytes.
pub fn fixture(cases: &[Case]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cases {
        let (ok, result) = match &c.verdict {
            Ok(h) => (1u8, h.0.to_vec()),
            Err(d) => (0u8, d.clone()),
        };
        out.push(ok);
        out.push(label(&c.proof));
        out.extend_from_slice(&c.root_before.0);
        out.extend_from_slice(&(result.len() as u16).to_be_bytes());
        out.extend_from_slice(&result);
        out.extend_from_slice(&(c.proof.len() as u16).to_be_bytes());
        out.extend_from_slice(&c.proof);
    }
    out
}
