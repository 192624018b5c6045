//! The cases of the contracts' differential tests: proofs with the Rust
//! verifier's verdicts, written by `examples/export_proofs.rs` (the
//! committed examples and their single-field tamperings) and by
//! `tests/contracts.rs` (thousands of generated proofs).

use super::abi::Case;
use crate::hash::Hash;
use crate::proof::binary;
use crate::proof::{Access, AccessKind, ProofFile, ProofKind, StepProof};

/// Committed fixture of the example proofs, relative to the repository root.
pub const PROOFS_FIXTURE: &str = "contracts/test/fixtures/proofs.bin";
/// Committed fixture of their single-field tamperings.
pub const TAMPER_FIXTURE: &str = "contracts/test/fixtures/tamper.bin";

/// The example proofs, each as the contract receives it.
pub fn example_cases(files: &[ProofFile]) -> Vec<Case> {
    files
        .iter()
        .map(|f| Case::new(f.root_before, binary::encode(&f.proof)))
        .collect()
}

fn flip(h: &mut Hash) {
    h.0[7] ^= 0x10;
}

/// Every single-field change of a valid proof, as bytes (each one a case
/// the contract must reject exactly as the Rust verifier does): the agreed
/// root; the version, kind and flags bytes; each word of `Q`; `s_root`; the
/// leaf's index, bytes, sibling count, bitmap and each sibling; each
/// access's kind, address and value; a dropped, an extra, a 17th access; a
/// missing or an extra leaf proof; a truncation and a trailing byte.
pub fn tamper_cases(f: &ProofFile, other_leaf: &StepProof) -> Vec<Case> {
    let root = f.root_before;
    let base = binary::encode(&f.proof);
    let mut out = Vec::new();
    let bytes_case = |mutate: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        mutate(&mut b);
        Case::new(root, b)
    };
    out.push(bytes_case(&|b| b[0] = 1));
    out.push(bytes_case(&|b| b[1] ^= 1));
    out.push(bytes_case(&|b| b[1] = 2));
    out.push(bytes_case(&|b| b[130] |= 4));
    out.push(bytes_case(&|b| b.push(0)));
    out.push(bytes_case(&|b| {
        b.pop();
    }));
    let leaf_at = 131;
    if f.proof.s_leaf.is_some() {
        // Sibling count above the bitmap's width; a bitmap bit past the count.
        out.push(bytes_case(&|b| b[leaf_at + 40] = 33));
        out.push(bytes_case(&|b| b[leaf_at + 44] |= 0x80));
        // The bitmap's lowest bit flipped.
        out.push(bytes_case(&|b| b[leaf_at + 41] ^= 1));
    }
    // An access with an unknown kind byte.
    if !f.proof.accesses.is_empty() {
        let first = base.len() - 17 * f.proof.accesses.len();
        out.push(bytes_case(&|b| b[first] = 2));
    }
    let mut other = root;
    flip(&mut other);
    out.push(Case::new(other, base.clone()));
    let proof_case = |mutate: &dyn Fn(&mut StepProof)| {
        let mut p = f.proof.clone();
        mutate(&mut p);
        Case::new(root, binary::encode(&p))
    };
    for i in 0..16 {
        out.push(proof_case(&|p| p.q[i] ^= 1 << (i * 3)));
    }
    out.push(proof_case(&|p| {
        p.kind = match p.kind {
            ProofKind::Step => ProofKind::Clean,
            ProofKind::Clean => ProofKind::Step,
        }
    }));
    match &f.proof.s_leaf {
        Some(l) => {
            out.push(proof_case(&|p| {
                if let Some(l) = p.s_leaf.as_mut() {
                    l.index ^= 2
                }
            }));
            for b in [0, 13, 31] {
                out.push(proof_case(&|p| {
                    if let Some(l) = p.s_leaf.as_mut() {
                        l.leaf[b] ^= 0x08
                    }
                }));
            }
            for k in 0..l.siblings.len() {
                out.push(proof_case(&|p| {
                    if let Some(s) = p.s_leaf.as_mut().and_then(|l| l.siblings.get_mut(k)) {
                        flip(s)
                    }
                }));
            }
            out.push(proof_case(&|p| {
                if let Some(l) = p.s_leaf.as_mut() {
                    l.siblings.pop();
                }
            }));
            out.push(proof_case(&|p| p.s_leaf = None));
        }
        None => {
            out.push(proof_case(&|p| p.s_leaf = other_leaf.s_leaf.clone()));
            out.push(proof_case(&|p| flip(&mut p.s_root)));
        }
    }
    for k in 0..f.proof.accesses.len() {
        out.push(proof_case(&|p| {
            if let Some(a) = p.accesses.get_mut(k) {
                a.kind = match a.kind {
                    AccessKind::Read => AccessKind::Write,
                    AccessKind::Write => AccessKind::Read,
                }
            }
        }));
        out.push(proof_case(&|p| {
            if let Some(a) = p.accesses.get_mut(k) {
                a.addr ^= 8
            }
        }));
        out.push(proof_case(&|p| {
            if let Some(a) = p.accesses.get_mut(k) {
                a.value ^= 1 << 40
            }
        }));
    }
    if !f.proof.accesses.is_empty() {
        out.push(proof_case(&|p| {
            p.accesses.pop();
        }));
    }
    let extra = Access {
        kind: AccessKind::Read,
        addr: 0,
        value: 0,
    };
    out.push(proof_case(&|p| p.accesses.push(extra)));
    out.push(proof_case(&|p| p.accesses = vec![extra; 17]));
    out
}
