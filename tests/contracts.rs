//! The `StepVerifier` contract against the Rust verifier on thousands of
//! generated step proofs: every guest, random A-steps, every kind of
//! micro-step (the executed ones, an idle tick, the cleaning step), plus
//! mutated proofs. The Rust verdicts (root after, or the revert data of the
//! matching custom error) go into a fixture that forge replays against the
//! contract, which must answer identically. Skipped with a notice where
//! `npm ci` has not been run in `contracts/` (CI runs it).

mod support;

use mswap::chain::abi::{Case, LABEL_CLEAN, LABEL_MALFORMED, fixture, label};
use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::hash::Hash;
use mswap::micro::isa::Uop;
use mswap::micro::microcode::microcode;
use mswap::micro::step::UStatus;
use mswap::micro::{CLEAN_AT, MicroMachine};
use mswap::proof::binary;
use mswap::prover::{prove_micro_step, prove_next, state_at};
use mswap::state::tree::StateTree;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::Rng;

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

/// The proofs of some micro-steps of A-step `t`: up to `keep` executed
/// ones at random and every one of a kind not `seen` yet, the first idle
/// tick, and (if `clean`) the cleaning step.
fn proofs_at(
    program: &Program,
    input: &[u8],
    t: u64,
    keep: usize,
    clean: bool,
    rng: &mut Rng,
    seen: &mut BTreeSet<u8>,
) -> Vec<(Hash, Vec<u8>)> {
    let code = microcode();
    let s_t = state_at(program, input, t);
    let mut out = Vec::new();
    let m = MicroMachine::with_microcode(s_t.clone(), code);
    let mut q = m.q;
    let mut s = m.strip();
    let mut tree = StateTree::build(&s);
    s.take_dirty();
    let mut executed = Vec::new();
    for _ in 0..CLEAN_AT {
        let p = prove_next(&mut q, &mut s, &mut tree, code).expect("proves");
        let bytes = binary::encode(&p.proof);
        if p.status == UStatus::Idle {
            out.push((p.root_before, bytes));
            break;
        }
        if seen.insert(label(&bytes)) {
            out.push((p.root_before, bytes));
        } else {
            executed.push((p.root_before, bytes));
        }
    }
    for _ in 0..keep.min(executed.len()) {
        let i = rng.index(executed.len());
        out.push(executed.swap_remove(i));
    }
    if clean {
        let p = prove_micro_step(s_t, CLEAN_AT, code).expect("proves");
        out.push((p.root_before, binary::encode(&p.proof)));
    }
    out
}

/// The micro-operations the microcode uses (its program words' `op`).
fn ops_used() -> BTreeSet<u8> {
    microcode()
        .program
        .words
        .iter()
        .map(|w| Uop::decode(*w).op)
        .collect()
}

/// For each op of `wanted`, the first A-step (up to `steps`) of the run of
/// `program` on `input` whose micro-steps execute it: found by running
/// machine AB from the start, fetching each micro-instruction as the step
/// does, and stopping once every wanted op is found.
fn first_steps_with(
    program: &Program,
    input: &[u8],
    steps: u64,
    wanted: &BTreeSet<u8>,
) -> Vec<(u8, u64)> {
    let code = microcode();
    let mut left = wanted.clone();
    let mut found = Vec::new();
    let mut m = MicroMachine::with_microcode(program.initial_state(input), code);
    for t in 0..=steps {
        if left.is_empty() {
            break;
        }
        loop {
            let op = Uop::decode(code.words[(m.upc() % code.slots) as usize]).op;
            match m.step() {
                UStatus::Executed => {
                    if left.remove(&op) {
                        found.push((op, t));
                    }
                }
                UStatus::Idle => {
                    // Idle ticks only advance the clock: on to the cleaning step.
                    m.q[0] = (m.q[0] & 0xffff_ffff) | (CLEAN_AT << 32);
                    m.step();
                    break;
                }
                UStatus::Cleaned => break,
            }
        }
    }
    found
}

/// One random change of a valid proof (or of its agreed root).
fn mutate(root: Hash, proof: &[u8], rng: &mut Rng) -> Case {
    let mut b = proof.to_vec();
    let mut root = root;
    match rng.below(6) {
        0 => {
            let i = rng.index(b.len());
            b[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = rng.index(b.len());
            b[i] = rng.next() as u8;
        }
        2 => b.truncate(rng.index(b.len())),
        3 => b.push(rng.next() as u8),
        4 => root.0[rng.index(32)] ^= 1 << rng.below(8),
        _ => {
            let i = rng.index(b.len().saturating_sub(8));
            b[i..i + 8].copy_from_slice(&rng.next().to_le_bytes());
        }
    }
    Case::new(root, b)
}

fn generated_cases() -> Vec<Case> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, elf, input) in support::guests() {
        let program = Program::load(&elf).expect("guest loads");
        let mut m = Machine::new(program.initial_state(&input));
        let steps = m.run(100_000);
        // The alu guest runs every instruction: many positions, few proofs each.
        let (positions, keep) = if name == "alu" { (120, 2) } else { (14, 16) };
        let mut ts: BTreeSet<u64> = (0..positions).map(|_| rng.below(steps + 1)).collect();
        ts.insert(0);
        ts.insert(steps);
        // Every op the microcode uses that this guest executes, by a
        // search rather than by luck: the first A-step executing each op
        // not proven yet (proofs_at proves every kind not seen there).
        let unseen: BTreeSet<u8> = ops_used().difference(&seen).copied().collect();
        for (_, t) in first_steps_with(&program, &input, steps, &unseen) {
            ts.insert(t);
        }
        for (n, t) in ts.into_iter().enumerate() {
            let clean = n % 3 == 0;
            for (root, proof) in proofs_at(&program, &input, t, keep, clean, &mut rng, &mut seen) {
                let valid = Case::new(root, proof.clone());
                assert!(
                    valid.verdict.is_ok(),
                    "{name}: a generated proof of A-step {t} does not verify"
                );
                cases.push(valid);
                if rng.below(2) == 0 {
                    cases.push(mutate(root, &proof, &mut rng));
                }
            }
        }
    }
    cases
}

#[test]
fn the_contract_agrees_with_the_rust_verifier_on_thousands_of_proofs() {
    let cases = generated_cases();
    let accepted = cases.iter().filter(|c| c.verdict.is_ok()).count();
    assert!(cases.len() >= 3000, "{} cases", cases.len());
    assert!(
        cases.len() - accepted >= 1000,
        "{} rejected",
        cases.len() - accepted
    );
    // Every operation the microcode uses, and the cleaning step, is covered.
    let seen: BTreeSet<u8> = cases
        .iter()
        .filter(|c| c.verdict.is_ok())
        .map(|c| label(&c.proof))
        .collect();
    let mut used = ops_used();
    used.insert(LABEL_CLEAN);
    assert!(!seen.contains(&LABEL_MALFORMED));
    let missing: Vec<_> = used.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "micro-step kinds never proven: {missing:?}"
    );

    let forge = contracts().join("node_modules/.bin/forge");
    if !forge.exists() {
        eprintln!(
            "NOTICE: skipping the contract side: run `npm ci` in contracts/ to install forge"
        );
        return;
    }
    let path = contracts().join("test/fixtures/differential.bin");
    std::fs::write(&path, fixture(&cases)).expect("write the fixture");
    let out = std::process::Command::new(&forge)
        .current_dir(contracts())
        .args([
            "test",
            "--use",
            "script/solc",
            "--offline",
            "--match-test",
            "test_differentialFixture",
        ])
        .env("MSWAP_DIFFERENTIAL", "test/fixtures/differential.bin")
        .env("MSWAP_DIFFERENTIAL_CASES", cases.len().to_string())
        .output()
        .expect("forge runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("[PASS] test_differentialFixture"),
        "forge:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{} cases ({accepted} valid proofs) agree; gas table: MSWAP_DIFFERENTIAL=test/fixtures/differential.bin forge test --use script/solc --offline --match-contract GasBench -vv (in contracts/)",
        cases.len()
    );
}
