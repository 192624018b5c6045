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

use crate::hash::Hash;
use crate::micro::access::replay::Replay;
use crate::micro::isa::{CLEAN_AT, attached_root, q_root, r_root};
use crate::micro::step::ustep;
use crate::proof::binary::MAX_ACCESSES;
use crate::proof::{PROOF_VERSION, ProofKind, StepProof};

pub use crate::proof::error::VerifyError;

/// Root of this build's microcode (see [`crate::micro::microcode`]): the
/// identity of the program the verifier carries (the contract carries the
/// same words and checks them against it). A test checks it against the
/// assembled program.
pub const MICROCODE_ROOT: Hash =
    crate::hash::hash_from_hex("3260e3268938b9d3ca53f1152546275f46f6fe073f07ab24ed07b5d4e07c03e8");
/// Depth of the microcode tree: the microcode has `4 * 2^depth` slots and
/// `upc` fetches slot `upc mod` that.
pub const MICROCODE_DEPTH: u32 = 9;

/// Verifies one micro-step with this build's microcode: from the agreed
/// root before the step, returns the root after it.
///
/// ```
/// use mswap_verify::proof::ProofFile;
/// use mswap_verify::verify::verify_step;
///
/// let json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../proofs/alu.json"))?;
/// let file: ProofFile = serde_json::from_slice(&json)?;
/// assert_eq!(verify_step(&file.root_before, &file.proof)?, file.root_after);
/// // The proof holds only from its agreed root.
/// assert!(verify_step(&mswap_verify::hash::Hash::ZERO, &file.proof).is_err());
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
