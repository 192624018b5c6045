//! The prover: runs the micro-machine's step function with a recording
//! accessor and turns the access log into a [`StepProof`].
//!
//! Proof generation is opt-in per step: ordinary runs use the direct
//! accessor and pay nothing for it.

use crate::elf::Program;
use crate::fast::Machine;
use crate::hash::Hash;
use crate::micro::access::Access as StateAccess;
use crate::micro::microcode::Microcode;
use crate::micro::step::{UStatus, ustep};
use crate::micro::{CLEAN_AT, MicroMachine, Q, USTEPS, q_root, r_root};
use crate::proof::{Access, AccessKind, LeafProof, PROOF_VERSION, ProofKind, StepProof};
use crate::state::State;
use crate::state::tree::StateTree;

/// Why a step could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError {
    /// A micro-step touched two different leaves of `S` (a micro-ISA invariant broke).
    #[error("the micro-step touched two leaves of S ({first:#x} and {second:#x})")]
    TwoLeaves {
        /// First leaf index.
        first: u64,
        /// Second leaf index.
        second: u64,
    },
    /// The micro-step index is not below `2^a`.
    #[error(
        "micro-step {0} does not exist: an A-step has 2^a = {USTEPS} micro-steps (0..{CLEAN_AT})"
    )]
    MicroStepRange(u64),
}

/// Records the accesses of one micro-step on a real state.
pub struct Recorder<'a> {
    q: &'a mut Q,
    s: &'a mut State,
    tree: &'a StateTree,
    code: &'a Microcode,
    s_leaf: Option<LeafProof>,
    accesses: Vec<Access>,
}

impl Recorder<'_> {
    fn leaf(&mut self, addr: u64) -> Result<(), ProveError> {
        match &self.s_leaf {
            Some(p) if p.index != addr >> 5 => Err(ProveError::TwoLeaves {
                first: p.index,
                second: addr >> 5,
            }),
            Some(_) => Ok(()),
            None => {
                self.s_leaf = Some(self.tree.prove(self.s, addr));
                Ok(())
            }
        }
    }
}

impl StateAccess for Recorder<'_> {
    type Error = ProveError;

    fn read_q(&mut self, i: usize) -> Result<u64, ProveError> {
        Ok(self.q.get(i).copied().unwrap_or(0))
    }

    fn write_q(&mut self, i: usize, v: u64) -> Result<(), ProveError> {
        if let Some(w) = self.q.get_mut(i) {
            *w = v;
        }
        Ok(())
    }

    fn fetch(&mut self, upc: u64) -> Result<u64, ProveError> {
        Ok(self.code.fetch(upc))
    }

    fn read_s(&mut self, addr: u64) -> Result<u64, ProveError> {
        self.leaf(addr)?;
        let value = self.s.read_word(addr);
        self.accesses.push(Access {
            kind: AccessKind::Read,
            addr,
            value,
        });
        Ok(value)
    }

    fn write_s(&mut self, addr: u64, value: u64) -> Result<(), ProveError> {
        self.leaf(addr)?;
        self.accesses.push(Access {
            kind: AccessKind::Write,
            addr,
            value,
        });
        self.s.write_word(addr, value);
        Ok(())
    }
}

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
    let mut rec = Recorder {
        q,
        s,
        tree,
        code,
        s_leaf: None,
        accesses: Vec::new(),
    };
    let status = ustep(&mut rec, CLEAN_AT)?;
    let Recorder {
        s_leaf, accesses, ..
    } = rec;
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
pub fn prove_run(
    program: &Program,
    input: &[u8],
    t: u64,
    j: u64,
) -> Result<crate::proof::ProofFile, ProveError> {
    let code = crate::micro::microcode::microcode();
    let s_t = state_at(program, input, t);
    let pc = s_t.pc();
    let word = (s_t.read_word(pc) >> ((pc & 4) * 8)) as u32;
    let instruction = if s_t.halted() {
        format!("(halted: {})", s_t.status())
    } else {
        crate::fast::isa::disassemble(word)
    };
    let proven = prove_micro_step(s_t, j, code)?;
    let uop = match proven.proof.kind {
        crate::proof::ProofKind::Step => {
            let upc = proven.proof.q[0] & 0xffff_ffff;
            crate::micro::isa::Uop::decode(code.fetch(upc)).disassemble()
        }
        crate::proof::ProofKind::Clean => "(cleaning step)".to_string(),
    };
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
