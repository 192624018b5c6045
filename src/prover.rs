//! The prover: runs the micro-machine's step function with a recording
//! accessor and turns the access log into a [`StepProof`].
//!
//! Proof generation is opt-in per step: ordinary runs use the direct
//! accessor and pay nothing for it.

use crate::elf::Program;
use crate::fast::Machine;
use crate::hash::Hash;
pub use crate::micro::access::record::ProveError;
use crate::micro::access::record::Recorder;
use crate::micro::microcode::Microcode;
use crate::micro::step::{UStatus, ustep};
use crate::micro::{CLEAN_AT, MicroMachine, Q, USTEPS, q_root, r_root};
use crate::proof::{PROOF_VERSION, ProofKind, StepProof};
use crate::state::State;
use crate::state::tree::StateTree;

/// A proof with the roots it connects (as the prover computed them).
#[derive(Clone, Debug)]
pub struct Proven {
    /// `root(R_j)`.
    pub root_before: Hash,
    /// `root(R_(j+1))`.
    pub root_after: Hash,
    /// The proof.
    pub proof: StepProof,
    /// What the step did.
    pub status: UStatus,
}

/// Proves the next micro-step of `(q, s)`; `tree` must be in sync with `s`
/// and is left in sync with the new `s`.
pub fn prove_next(
    q: &mut Q,
    s: &mut State,
    tree: &mut StateTree,
    code: &Microcode,
) -> Result<Proven, ProveError> {
    let q_before = *q;
    let s_root = tree.root();
    let root_before = r_root(&q_root(q), &s_root);
    let mut rec = Recorder::new(q, s, &*tree, code);
    let status = ustep(&mut rec, CLEAN_AT)?;
    let (s_leaf, accesses) = rec.finish();
    let kind = if status == UStatus::Cleaned {
        ProofKind::Clean
    } else {
        ProofKind::Step
    };
    let new_s_root = tree.sync(s);
    Ok(Proven {
        root_before,
        root_after: r_root(&q_root(q), &new_s_root),
        proof: StepProof {
            version: PROOF_VERSION,
            kind,
            q: q_before,
            s_root,
            s_leaf,
            accesses,
        },
        status,
    })
}

/// Proves micro-step `j` (0-based, `j < 2^a`) of the A-step that starts
/// from `s_t`: runs `j` micro-steps from `attach(Q*, s_t)` and records the
/// next one.
pub fn prove_micro_step(s_t: State, j: u64, code: &Microcode) -> Result<Proven, ProveError> {
    if j >= USTEPS {
        return Err(ProveError::MicroStepRange(j));
    }
    let mut m = MicroMachine::with_microcode(s_t, code);
    m.run_usteps(j);
    let mut q = m.q;
    let mut s = m.strip();
    let mut tree = StateTree::build(&s);
    s.take_dirty();
    prove_next(&mut q, &mut s, &mut tree, code)
}

/// `S_t` of a program and input (machine A, `t` steps from `S_0`).
pub fn state_at(program: &Program, input: &[u8], t: u64) -> State {
    let mut m = Machine::new(program.initial_state(input));
    m.run(t);
    m.into_state()
}

/// Proves micro-step `j` of A-step `t` of a program run, with its context.
///
/// ```
/// let (_, elf, input) = mswap::guests::default_guest();
/// let program = mswap::elf::Program::load(elf)?;
/// // Micro-step 12 of A-step 100 (both counted from 0).
/// let file = mswap::prover::prove_run(&program, input, 100, 12)?;
/// let json = serde_json::to_string_pretty(&file)?; // the format of proofs/README.md
/// assert!(json.contains("\"root_before\""));
/// mswap::verify::verify_step_to(&file.root_before, &file.proof, &file.root_after)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn prove_run(
    program: &Program,
    input: &[u8],
    t: u64,
    j: u64,
) -> Result<crate::proof::ProofFile, ProveError> {
    let code = crate::micro::microcode::microcode();
    let s_t = state_at(program, input, t);
    let pc = s_t.pc();
    let word = crate::fast::fetch(&s_t, pc).unwrap_or(0);
    let instruction = if s_t.halted() {
        format!("(halted: {})", s_t.status())
    } else {
        crate::fast::isa::disassemble(word)
    };
    let proven = prove_micro_step(s_t, j, code)?;
    let uop = proven_uop(&proven.proof);
    Ok(crate::proof::ProofFile {
        kind: crate::proof::STEP_PROOF_TYPE.to_string(),
        root_before: proven.root_before,
        root_after: proven.root_after,
        context: Some(crate::proof::ProofContext {
            program: program.hash,
            input: crate::hash::keccak(&[input]),
            step: t,
            micro: j,
            instruction,
            uop,
        }),
        proof: proven.proof,
    })
}

/// The micro-instruction a proof fetches, disassembled as a proof file's
/// `context.uop` states it (`"(cleaning step)"` for a proof without one).
/// The instruction is read from the proof's own microcode leaf, so call
/// this on a proof that verified.
pub fn proven_uop(proof: &StepProof) -> String {
    match proof.kind {
        crate::proof::ProofKind::Step => {
            let upc = proof.q[0] & 0xffff_ffff;
            crate::micro::isa::Uop::decode(crate::micro::microcode::microcode().fetch(upc))
                .disassemble()
        }
        crate::proof::ProofKind::Clean => "(cleaning step)".to_string(),
    }
}

/// A proof file's `context` that disagrees with its proof or its program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// `micro` is not the clock held in `q`.
    #[error("context.micro is {stated}, but the clock in the proof's q is {clock}")]
    Micro {
        /// What the file says.
        stated: u64,
        /// `q[0] >> 32`.
        clock: u64,
    },
    /// `uop` is not the micro-instruction the proof fetches.
    #[error("context.uop is {stated:?}, but the proof fetches {proven:?}")]
    Uop {
        /// What the file says.
        stated: String,
        /// The proven micro-instruction, disassembled.
        proven: String,
    },
    /// `program` is not the hash of the given ELF.
    #[error("context.program is {stated}, but the ELF hashes to {actual}")]
    Program {
        /// What the file says.
        stated: Hash,
        /// Keccak-256 of the ELF.
        actual: Hash,
    },
    /// `input` is not the hash of the given input.
    #[error("context.input is {stated}, but the input hashes to {actual}")]
    Input {
        /// What the file says.
        stated: Hash,
        /// Keccak-256 of the input.
        actual: Hash,
    },
    /// `instruction` is not the instruction of A-step `step`.
    #[error("context.instruction is {stated:?}, but A-step {step} of the program is {actual:?}")]
    Instruction {
        /// The A-step.
        step: u64,
        /// What the file says.
        stated: String,
        /// The program's instruction there.
        actual: String,
    },
    /// `root_before` is not the state at (`step`, `micro`) of the run.
    #[error(
        "root_before is {stated}, but micro-step {micro} of A-step {step} of this program and input starts from {actual}"
    )]
    RootBefore {
        /// The A-step.
        step: u64,
        /// The micro-step.
        micro: u64,
        /// What the file says.
        stated: Hash,
        /// The run's `root(R_j)`.
        actual: Hash,
    },
    /// The run could not be proven there.
    #[error(transparent)]
    Prove(#[from] ProveError),
}

/// Checks what a proof file's `context` states that its proof can show:
/// `micro` is the clock held in `q` and `uop` the micro-instruction the
/// proof fetches. Call it on a file whose proof verified against
/// `root_before`; `program`, `input`, `step` and `instruction` need the
/// program ([`check_context_run`]).
pub fn check_context(file: &crate::proof::ProofFile) -> Result<(), ContextError> {
    let Some(c) = &file.context else {
        return Ok(());
    };
    let clock = file.proof.q[0] >> 32;
    if c.micro != clock {
        return Err(ContextError::Micro {
            stated: c.micro,
            clock,
        });
    }
    let proven = proven_uop(&file.proof);
    if c.uop != proven {
        return Err(ContextError::Uop {
            stated: c.uop.clone(),
            proven,
        });
    }
    Ok(())
}

/// Checks the whole `context` against the program and input it names: the
/// hashes, the instruction of A-step `step`, and that `root_before` is the
/// run's `root(R_j)` at (`step`, `micro`) (which, the proof having verified,
/// fixes `root_after` too). Runs machine A for `step` steps.
pub fn check_context_run(
    file: &crate::proof::ProofFile,
    program: &Program,
    input: &[u8],
) -> Result<(), ContextError> {
    check_context(file)?;
    let Some(c) = &file.context else {
        return Ok(());
    };
    if c.program != program.hash {
        return Err(ContextError::Program {
            stated: c.program,
            actual: program.hash,
        });
    }
    let input_hash = crate::hash::keccak(&[input]);
    if c.input != input_hash {
        return Err(ContextError::Input {
            stated: c.input,
            actual: input_hash,
        });
    }
    let again = prove_run(program, input, c.step, c.micro)?;
    let actual = again.context.map(|a| a.instruction).unwrap_or_default();
    if c.instruction != actual {
        return Err(ContextError::Instruction {
            step: c.step,
            stated: c.instruction.clone(),
            actual,
        });
    }
    if again.root_before != file.root_before {
        return Err(ContextError::RootBefore {
            step: c.step,
            micro: c.micro,
            stated: file.root_before,
            actual: again.root_before,
        });
    }
    Ok(())
}
