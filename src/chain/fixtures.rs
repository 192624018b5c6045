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

/// Committed fixtures of whole games (`contracts/test/DisputeGame.t.sol`),
/// by `b` and the fan-out `k` of both levels.
pub const GAME_FIXTURES: [(u32, u32, &str); 4] = [
    (5, 2, "contracts/test/fixtures/game5.bin"),
    (20, 2, "contracts/test/fixtures/game20.bin"),
    (40, 2, "contracts/test/fixtures/game40.bin"),
    (20, 32, "contracts/test/fixtures/game20k32.bin"),
];

/// A whole game for the contract to replay: the program's image (its
/// root, then the witness `mem`, `regs`, `words`), the input (a u16 length
/// and its bytes), then the claim (`root(S_0)` as the Rust build derives
/// it, which the contract must derive too, the defender's final root, `b`,
/// the number of levels and the levels as the contract encodes them (two
/// bytes each, `super::referee::level_bytes`), then every move in order,
/// then the outcome (winner: 0 defender, 1 challenger; the root the proof
/// leads to). Big-endian; a move is its type and its fields: 0 challenge
/// (the root), 1 dissect (level u8, position u64, count u8, the roots), 2
/// pick (level u8, position u64, part u8, count u8, the dissection's
/// roots), 3 proof (u16 length, the binary proof).
pub fn game_fixture(t: &crate::rules::transcript::Transcript) -> Vec<u8> {
    use crate::rules::{Move, Outcome, Side};
    let image = crate::elf::Program::load(&t.program)
        .map(|p| crate::state::initial::Image::of_state(&p.initial_state(&[])))
        .ok();
    let initial_root = crate::elf::Program::load(&t.program)
        .map(|p| crate::state::tree::StateTree::build(&p.initial_state(&t.input)).root())
        .unwrap_or_default();
    let mut out = Vec::new();
    if let Some(i) = image {
        for h in [i.root, i.mem, i.regs, i.words] {
            out.extend_from_slice(&h.0);
        }
    } else {
        out.extend_from_slice(&[0; 128]);
    }
    out.extend_from_slice(&(t.input.len() as u16).to_be_bytes());
    out.extend_from_slice(&t.input);
    out.extend_from_slice(&initial_root.0);
    out.extend_from_slice(&t.claim.final_root.0);
    out.push(t.claim.b as u8);
    out.push(t.levels.len() as u8);
    out.extend_from_slice(&super::referee::level_bytes(&t.levels));
    out.extend_from_slice(&(t.moves.len() as u16).to_be_bytes());
    // The roots of the last dissection, which its pick sends back.
    let mut roots: Vec<crate::hash::Hash> = Vec::new();
    let put_roots = |out: &mut Vec<u8>, roots: &[crate::hash::Hash]| {
        out.push(roots.len() as u8);
        for r in roots {
            out.extend_from_slice(&r.0);
        }
    };
    for r in &t.moves {
        match &r.mv {
            Move::Challenge { root } => {
                out.push(0);
                out.extend_from_slice(&root.0);
            }
            Move::Dissect {
                level,
                position,
                roots: these,
            } => {
                roots.clone_from(these);
                out.push(1);
                out.push(*level as u8);
                out.extend_from_slice(&position.to_be_bytes());
                put_roots(&mut out, &roots);
            }
            Move::Pick {
                level,
                position,
                part,
            } => {
                out.push(2);
                out.push(*level as u8);
                out.extend_from_slice(&position.to_be_bytes());
                out.push(*part as u8);
                put_roots(&mut out, &roots);
            }
            Move::Proof { proof } => {
                let b = binary::encode(proof);
                out.push(3);
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
                out.extend_from_slice(&b);
            }
        }
    }
    match &t.outcome {
        Some(Outcome::Proof {
            winner, computed, ..
        }) => {
            out.push((*winner == Side::Challenger) as u8);
            out.extend_from_slice(&computed.0);
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&[0; 32]);
        }
    }
    out
}

/// A game over `2^b` A-steps of `elf` (the defender lies from A-step 9,
/// micro-step 40; the honest challenger wins with the step proof).
///
/// # Panics
///
/// If `elf` is not a loadable program (it is the committed example).
pub fn game_transcript(elf: &[u8], input: &[u8], b: u32) -> crate::rules::transcript::Transcript {
    game_transcript_with(elf, input, crate::rules::levels::two_levels(b), b)
}

/// [`game_transcript`] over `levels`.
///
/// # Panics
///
/// If `elf` is not a loadable program or `levels` do not fit `b`.
pub fn game_transcript_with(
    elf: &[u8],
    input: &[u8],
    levels: Vec<crate::rules::levels::Level>,
    b: u32,
) -> crate::rules::transcript::Transcript {
    use crate::players::local::{play, transcript};
    use crate::players::player::{Honest, Liar, Lie, Player, claimed_by};
    use crate::players::timeline::Timeline;
    use crate::rules::{DisputeState, Side};
    let p = crate::elf::Program::load(elf).expect("the example program loads");
    let timeline = || Timeline::new(&p, input, b, 3);
    let claim = timeline().claim(p.hash, crate::hash::keccak(&[input]), b);
    let mut liar = Liar::new(
        Honest {
            timeline: timeline(),
        },
        vec![Lie::From {
            from: 9,
            micro_from: 40,
        }],
    );
    let claim = claimed_by(claim, &mut liar);
    let start = DisputeState::new(
        claim,
        elf,
        input,
        &p.image(),
        levels,
        60_000,
        1_700_000_000_000,
    )
    .expect("game");
    let mut g = start.clone();
    let mut d = Player {
        side: Side::Defender,
        strategy: Box::new(liar),
    };
    let mut c = Player {
        side: Side::Challenger,
        strategy: Box::new(Honest {
            timeline: timeline(),
        }),
    };
    let log = play(&mut g, &mut d, &mut c, 1000);
    transcript("example", &start, elf, input, &log, &g)
}
