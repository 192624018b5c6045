//! No tampered proof passes: every single-field change of a valid proof is
//! rejected with the matching error, and every single-bit flip of a binary
//! proof is rejected (by the decoder or the verifier).

mod support;

use mswap::hash::Hash;
use mswap::proof::{Access, AccessKind, ProofFile, ProofKind, StepProof, binary};
use mswap::verify::{VerifyError, verify_step, verify_step_to};

fn load(name: &str) -> ProofFile {
    support::proof_file(name)
}

const ALL: [&str; 10] = support::PROOF_FILES;

fn flip(h: &mut Hash) {
    h.0[7] ^= 0x10;
}

/// Checks that `f(proof)` makes verification fail with an error for which `want` holds.
fn rejects(
    name: &str,
    base: &ProofFile,
    what: &str,
    f: impl Fn(&mut StepProof),
    want: impl Fn(&VerifyError) -> bool,
) {
    let mut p = base.proof.clone();
    f(&mut p);
    match verify_step(&base.root_before, &p) {
        Ok(r) => panic!("{name}: tampered {what} was accepted (root after {r})"),
        Err(e) => assert!(want(&e), "{name}: tampered {what}: unexpected error {e:?}"),
    }
}

#[test]
fn every_single_field_tampering_is_rejected_with_the_matching_error() {
    use VerifyError as E;
    for name in ALL {
        let base = load(name);
        let p = &base.proof;
        // The agreed root, Q and root(S) are bound by the root check.
        let mut other = base.root_before;
        flip(&mut other);
        assert!(
            matches!(verify_step(&other, p), Err(E::RootMismatch { .. })),
            "{name}: root before"
        );
        for i in 0..16 {
            rejects(
                name,
                &base,
                &format!("q[{i}]"),
                |p| p.q[i] ^= 1 << (i * 3),
                |e| matches!(e, E::RootMismatch { .. }),
            );
        }
        rejects(
            name,
            &base,
            "s_root",
            |p| flip(&mut p.s_root),
            |e| matches!(e, E::RootMismatch { .. }),
        );
        rejects(
            name,
            &base,
            "version",
            |p| p.version = 3,
            |e| matches!(e, E::Version(3)),
        );
        rejects(
            name,
            &base,
            "kind",
            |p| {
                p.kind = if p.kind == ProofKind::Step {
                    ProofKind::Clean
                } else {
                    ProofKind::Step
                }
            },
            |e| matches!(e, E::WrongKind { .. }),
        );
        let mut after = base.root_after;
        flip(&mut after);
        assert!(
            matches!(
                verify_step_to(&base.root_before, p, &after),
                Err(E::RootAfter { .. })
            ),
            "{name}: root after"
        );

        match &p.s_leaf {
            Some(l) => {
                rejects(
                    name,
                    &base,
                    "leaf index",
                    |p| p.s_leaf.as_mut().unwrap().index ^= 2,
                    |e| matches!(e, E::LeafIndex { .. }),
                );
                for b in 0..32 {
                    rejects(
                        name,
                        &base,
                        &format!("leaf byte {b}"),
                        |p| p.s_leaf.as_mut().unwrap().leaf[b] ^= 0x08,
                        |e| matches!(e, E::LeafRoot { .. }),
                    );
                }
                for k in 0..l.siblings.len() {
                    rejects(
                        name,
                        &base,
                        &format!("leaf sibling {k}"),
                        |p| flip(&mut p.s_leaf.as_mut().unwrap().siblings[k]),
                        |e| matches!(e, E::LeafRoot { .. }),
                    );
                }
                rejects(
                    name,
                    &base,
                    "leaf sibling count",
                    |p| {
                        p.s_leaf.as_mut().unwrap().siblings.pop();
                    },
                    |e| matches!(e, E::LeafDepth { .. }),
                );
                rejects(
                    name,
                    &base,
                    "missing leaf",
                    |p| p.s_leaf = None,
                    |e| matches!(e, E::MissingLeafProof { index: 0 }),
                );
            }
            None => {
                let l = load("load.json").proof.s_leaf;
                rejects(
                    name,
                    &base,
                    "extra leaf",
                    |p| p.s_leaf = l.clone(),
                    |e| matches!(e, E::UnusedLeafProof),
                );
            }
        }
        for k in 0..p.accesses.len() {
            rejects(
                name,
                &base,
                &format!("access {k} kind"),
                |p| {
                    p.accesses[k].kind = if p.accesses[k].kind == AccessKind::Read {
                        AccessKind::Write
                    } else {
                        AccessKind::Read
                    }
                },
                |e| matches!(e, E::AccessKind { index, .. } if *index == k),
            );
            rejects(
                name,
                &base,
                &format!("access {k} address"),
                |p| p.accesses[k].addr ^= 8,
                |e| matches!(e, E::AccessAddress { index, .. } if *index == k),
            );
            rejects(
                name,
                &base,
                &format!("access {k} value"),
                |p| p.accesses[k].value ^= 1 << 40,
                |e| matches!(e, E::AccessValue { index, .. } if *index == k),
            );
        }
        if let Some(last) = p.accesses.len().checked_sub(1) {
            rejects(
                name,
                &base,
                "dropped access",
                |p| {
                    p.accesses.pop();
                },
                |e| matches!(e, E::MissingAccess { index, .. } if *index == last),
            );
        }
        let extra = Access {
            kind: AccessKind::Read,
            addr: 0,
            value: 0,
        };
        rejects(
            name,
            &base,
            "extra access",
            |p| p.accesses.push(extra),
            |e| matches!(e, E::LeftoverAccesses { count: 1, .. }),
        );
        rejects(
            name,
            &base,
            "too many accesses",
            |p| p.accesses = vec![extra; 17],
            |e| matches!(e, E::TooManyAccesses(17)),
        );
    }
}

#[test]
fn every_bit_flip_of_a_binary_proof_is_rejected() {
    for name in ALL {
        let base = load(name);
        let bytes = binary::encode(&base.proof);
        assert_eq!(
            verify_step(&base.root_before, &binary::decode(&bytes).expect("decodes")),
            Ok(base.root_after)
        );
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                if let Ok(p) = binary::decode(&b) {
                    assert!(
                        verify_step(&base.root_before, &p).is_err(),
                        "{name}: flipping bit {bit} of byte {i} gives a proof that verifies"
                    );
                }
            }
        }
        // Every truncation is a decode error, never a panic.
        for n in 0..bytes.len() {
            assert!(
                binary::decode(&bytes[..n]).is_err(),
                "{name}: truncated to {n} bytes decodes"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            binary::decode(&longer),
            Err(binary::DecodeError::Trailing { .. })
        ));
    }
}
