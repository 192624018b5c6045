//! Machine AB: the micro-machine. One step is one micro-instruction of a
//! fixed microcode that interprets RV64IMAC; `2^a` micro-steps make one
//! A-step, and the last of them (the cleaning step) resets the auxiliary
//! state `Q` to its pristine value `Q*`.
//!
//! - [`isa`]: the micro-ISA, its encoding and `Q`'s layout;
//! - [`step`]: the step function, the whole semantics, generic over
//! - [`access`]: the state-access trait [`access::StateAccess`] and its
//!   three accessors side by side (direct, record, replay);
//! - [`asm`] and [`microcode`]: the assembler and the RV64IMAC interpreter,
//!   one file per instruction family.
//!
//! [`MicroMachine`] runs on any essential state that implements
//! [`access::Words`] (the `mswap` crate's `State`).

pub mod access;
pub mod asm;
pub mod isa;
pub mod microcode;
pub mod step;

use access::Words;
use access::direct::Direct;
use microcode::{Microcode, microcode};
use step::{UStatus, ustep};

pub use isa::{CLEAN_AT, LOG2_USTEPS, Q, Q_PRISTINE, USTEPS, attached_root, q_root, r_root};

/// How one A-step went on the micro-machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrRun {
    /// Micro-instructions executed before the first `IDLE`.
    pub executed: u64,
    /// Whether the cleaning step came before the microcode reached `IDLE`.
    pub overrun: bool,
}

/// Machine AB: a full state `R = (Q, S)`.
pub struct MicroMachine<'c, S: Words> {
    /// The auxiliary state.
    pub q: Q,
    /// The essential state.
    pub s: S,
    code: &'c Microcode,
}

impl<S: Words> MicroMachine<'static, S> {
    /// `attach(Q*, S)` with this build's microcode.
    pub fn attach(s: S) -> MicroMachine<'static, S> {
        MicroMachine::with_microcode(s, microcode())
    }
}

impl<'c, S: Words> MicroMachine<'c, S> {
    /// `attach(Q*, S)` with a given microcode (tests use broken ones).
    pub fn with_microcode(s: S, code: &'c Microcode) -> MicroMachine<'c, S> {
        MicroMachine {
            q: Q_PRISTINE,
            s,
            code,
        }
    }

    /// `strip(R)`: the essential state.
    pub fn strip(self) -> S {
        self.s
    }

    /// The micro-PC.
    pub fn upc(&self) -> u64 {
        self.q[0] & 0xffff_ffff
    }

    /// The clock.
    pub fn clock(&self) -> u64 {
        self.q[0] >> 32
    }

    /// One micro-step.
    #[inline]
    pub fn step(&mut self) -> UStatus {
        let mut acc = Direct {
            q: &mut self.q,
            s: &mut self.s,
            code: self.code,
            written: None,
        };
        match ustep(&mut acc, CLEAN_AT) {
            Ok(s) => s,
            Err(never) => match never {},
        }
    }

    /// Runs `n` micro-steps, jumping over idle ticks (they only advance the
    /// clock), so it ends exactly where `n` calls of [`MicroMachine::step`] end.
    pub fn run_usteps(&mut self, n: u64) {
        let mut left = n;
        while left > 0 {
            let status = self.step();
            left -= 1;
            if status == UStatus::Idle && left > 0 {
                let idle = CLEAN_AT.saturating_sub(self.clock()).min(left);
                self.q[0] += idle << 32;
                left -= idle;
            }
        }
    }

    /// `2^a` micro-steps, every one of them (the reference for the fast path).
    pub fn step_full_a_step(&mut self) {
        for _ in 0..USTEPS {
            self.step();
        }
    }

    /// One A-step the fast way, from `Q*`: executes micro-instructions up
    /// to the first `IDLE`, skips the idle ticks (they only advance the
    /// clock) and makes the cleaning step. Ends in exactly the state that
    /// [`MicroMachine::step_full_a_step`] reaches. `written` collects the
    /// `S` words written.
    pub fn run_a_step(&mut self, mut written: Option<&mut Vec<u64>>) -> InstrRun {
        let mut executed = 0;
        let mut overrun = false;
        loop {
            let mut acc = Direct {
                q: &mut self.q,
                s: &mut self.s,
                code: self.code,
                written: written.as_deref_mut(),
            };
            match ustep(&mut acc, CLEAN_AT) {
                Ok(UStatus::Executed) => executed += 1,
                Ok(UStatus::Idle) => {
                    // Idle ticks change nothing but the clock: jump to the cleaning step.
                    self.q[0] = (self.q[0] & 0xffff_ffff) | (CLEAN_AT << 32);
                    self.step();
                    break;
                }
                Ok(UStatus::Cleaned) => {
                    overrun = true;
                    break;
                }
                Err(never) => match never {},
            }
        }
        InstrRun { executed, overrun }
    }
}
