//! The differential fixture: thousands of generated step proofs with the
//! Rust verifier's verdicts, which the `StepVerifier` contract must answer
//! identically (`tests/contracts.rs` writes it and has forge replay it;
//! `cargo bench --bench gas` writes it and has forge measure its gas).
//!
//! The proofs cover every guest of `examples/guests/bin` at random A-steps,
//! every kind of micro-step (the executed ones, an idle tick, the cleaning
//! step), every micro-operation the microcode uses (found by a search, not
//! by luck), and random mutations of them. Deterministic: the same build
//! writes the same bytes.

use super::abi::{Case, label};
use crate::elf::Program;
use crate::fast::Machine;
use crate::hash::Hash;
use crate::micro::isa::Uop;
use crate::micro::microcode::microcode;
use crate::micro::step::UStatus;
use crate::micro::{CLEAN_AT, MicroMachine};
use crate::proof::binary;
use crate::prover::{prove_micro_step, prove_next, state_at};
use crate::state::tree::StateTree;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the fixture is written, relative to the repository root (not committed).
pub const DIFFERENTIAL_FIXTURE: &str = "contracts/test/fixtures/differential.bin";

/// A guest: its name, ELF bytes and sample input.
pub type Guest = (String, Vec<u8>, Vec<u8>);

/// The sample input file (in `examples/guests/inputs`) the tests run guest `name` on, if any.
pub fn sample_input_file(name: &str) -> Option<&'static str> {
    match name {
        "sort" => Some("sort.txt"),
        "echo" | "sha256" | "keccak" | "rust_sha256" | "rust_panic" | "rust_words" => {
            Some("text.txt")
        }
        "rust_json" => Some("people.json"),
        "rust_evm" => Some("evm_add11.bin"),
        "loop" => Some("loop_small.txt"),
        "collatz" => Some("collatz_small.txt"),
        _ => None,
    }
}

/// Every guest ELF of `guest_dir/bin` with its sample input (empty if none), sorted by name.
pub fn guests(guest_dir: &Path) -> std::io::Result<Vec<Guest>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(guest_dir.join("bin"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "elf"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let elf = std::fs::read(&p)?;
        let input = sample_input_file(&name)
            .and_then(|f| std::fs::read(guest_dir.join("inputs").join(f)).ok())
            .unwrap_or_default();
        out.push((name, elf, input));
    }
    Ok(out)
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
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
) -> Result<Vec<(Hash, Vec<u8>)>, String> {
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
        let p = prove_next(&mut q, &mut s, &mut tree, code)
            .map_err(|e| format!("A-step {t}: proving a micro-step: {e}"))?;
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
        let p = prove_micro_step(s_t, CLEAN_AT, code)
            .map_err(|e| format!("A-step {t}: proving the cleaning step: {e}"))?;
        out.push((p.root_before, binary::encode(&p.proof)));
    }
    Ok(out)
}

/// The micro-operations the microcode uses (its program words' `op`).
pub fn ops_used() -> BTreeSet<u8> {
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
            let op = Uop::decode(code.fetch(m.upc())).op;
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

/// The cases of the differential fixture for `guests`: the valid proofs
/// (each checked to verify) and, for about half of them, a mutation.
/// Fails with a message naming the guest and A-step if a generated proof
/// does not verify or a guest does not load.
pub fn differential_cases(guests: &[Guest]) -> Result<Vec<Case>, String> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, elf, input) in guests {
        let program = Program::load(elf).map_err(|e| format!("guest {name}: {e}"))?;
        let mut m = Machine::new(program.initial_state(input));
        // numeric's first mulhsu and div come after 100 000 steps (and
        // each is one micro-operation of its own).
        let steps = m.run(if name == "numeric" { 400_000 } else { 100_000 });
        // The alu guest runs every instruction: many positions, few proofs each.
        let (positions, keep) = if name == "alu" { (120, 2) } else { (14, 16) };
        let mut ts: BTreeSet<u64> = (0..positions).map(|_| rng.below(steps + 1)).collect();
        ts.insert(0);
        ts.insert(steps);
        // Every op the microcode uses that this guest executes, by a
        // search rather than by luck: the first A-step executing each op
        // not proven yet (proofs_at proves every kind not seen there).
        let unseen: BTreeSet<u8> = ops_used().difference(&seen).copied().collect();
        for (_, t) in first_steps_with(&program, input, steps, &unseen) {
            ts.insert(t);
        }
        for (n, t) in ts.into_iter().enumerate() {
            let clean = n % 3 == 0;
            for (root, proof) in proofs_at(&program, input, t, keep, clean, &mut rng, &mut seen)
                .map_err(|e| format!("guest {name}: {e}"))?
            {
                let valid = Case::new(root, proof.clone());
                if valid.verdict.is_err() {
                    return Err(format!(
                        "guest {name}: a generated proof of A-step {t} does not verify"
                    ));
                }
                cases.push(valid);
                if rng.below(2) == 0 {
                    cases.push(mutate(root, &proof, &mut rng));
                }
            }
        }
    }
    Ok(cases)
}
