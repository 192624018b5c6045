//! A fast engine for machine AB, used by the double-check.
//!
//! [`crate::micro::step::ustep`] stays the reference: it is written once
//! for every accessor (direct, record, replay), reads `Q` and the
//! microcode through the access trait on every step and re-decodes each
//! micro-instruction. This engine computes the same function with what the
//! double-check can afford and a proof cannot: the microcode decoded once
//! into a table, the micro-registers, `upc` and the clock in locals for a
//! whole run, `S` read and written directly. It lives here, beside its
//! only user, not in the verifier crate, whose step stays the small one to
//! audit; `tests/check_engine.rs` runs both on every instruction class and
//! on random micro-programs and requires identical `Q` and `S` after every
//! micro-step.

use super::compiled::Blocks;
use crate::layout::S_ADDR_MASK;
use crate::micro::InstrRun;
use crate::micro::access::Words;
use crate::micro::isa::{CLEAN_AT, Q, Q_PRISTINE, Q_WORDS, Uop, cond, op};
use crate::micro::microcode::Microcode;
use crate::micro::step::UStatus;

/// The register a write to `u0` goes to (never read).
const SINK: usize = Q_WORDS;

/// The engine's own operations beyond the micro-ISA's (which keep their
/// numbers for the ALU, `JAL` and `IDLE`): `BR` by condition, `LD` and
/// `ST` by size and signedness.
mod eop {
    pub const BEQ: u8 = 32;
    pub const BNE: u8 = 33;
    pub const BLT: u8 = 34;
    pub const BGE: u8 = 35;
    pub const BLTU: u8 = 36;
    pub const BGEU: u8 = 37;
    /// A branch whose condition never holds.
    pub const NOP: u8 = 38;
    /// `LD` of 8 bytes.
    pub const LD_D: u8 = 39;
    /// `LD` of 1, 2 or 4 bytes, zero-extended.
    pub const LD_U: u8 = 40;
    /// `LD` of 1, 2 or 4 bytes, sign-extended.
    pub const LD_S: u8 = 41;
    /// `ST` of 8 bytes.
    pub const ST_D: u8 = 42;
    /// `ST` of 1, 2 or 4 bytes.
    pub const ST_SUB: u8 = 43;
}

/// One micro-instruction, decoded.
#[derive(Clone, Copy, Debug)]
struct Dec {
    /// Operation; every undefined one is `IDLE`.
    op: u8,
    /// Destination register, `SINK` for `u0`.
    rd: u8,
    ra: u8,
    rb: u8,
    /// log2 of the access size (`LD`, `ST`).
    func: u8,
    imm: u64,
}

/// Machine AB's microcode, decoded for [`FastAb::run`].
pub struct FastAb {
    code: Box<[Dec]>,
    /// Whether the microcode is the one `compiled.rs` was generated from:
    /// [`FastAb::run_a_step`] then runs the compiled blocks.
    compiled: bool,
    /// `slots - 1`: `upc` fetches slot `upc & mask`.
    mask: u64,
}

/// How a run of [`FastAb::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ran {
    /// Micro-steps made (every kind).
    pub steps: u64,
    /// Of those, micro-instructions executed (not idle, not cleaning).
    pub executed: u64,
    /// The status of the last step, `None` when no step was made.
    pub last: Option<UStatus>,
}

impl FastAb {
    /// Decodes `code` once.
    pub fn new(code: &Microcode) -> FastAb {
        let compiled_from = &code.words;
        let code: Box<[Dec]> = code
            .words
            .iter()
            .map(|&w| {
                let u = Uop::decode(w);
                let size = u.func & 3;
                // Branches by condition, loads and stores by size and
                // signedness: one dispatch per micro-step.
                let o = match u.op {
                    op::BR => match u.func {
                        cond::EQ => eop::BEQ,
                        cond::NE => eop::BNE,
                        cond::LT => eop::BLT,
                        cond::GE => eop::BGE,
                        cond::LTU => eop::BLTU,
                        cond::GEU => eop::BGEU,
                        _ => eop::NOP,
                    },
                    op::LD if size == 3 => eop::LD_D,
                    op::LD if u.func & 4 != 0 => eop::LD_S,
                    op::LD => eop::LD_U,
                    op::ST if size == 3 => eop::ST_D,
                    op::ST => eop::ST_SUB,
                    o if o < op::COUNT => o,
                    _ => op::IDLE,
                };
                Dec {
                    op: o,
                    rd: if u.rd == 0 { SINK as u8 } else { u.rd },
                    ra: u.ra,
                    rb: u.rb,
                    func: size,
                    imm: u.imm as u64,
                }
            })
            .collect();
        let mask = (code.len() as u64).next_power_of_two() - 1;
        FastAb {
            code,
            mask,
            compiled: compiled_from[..] == super::compiled::CODE[..],
        }
    }

    /// Makes at most `limit` micro-steps from `(q, s)`, stopping after an
    /// idle tick or the cleaning step; pushes the address of every `S`
    /// word written on `written`. Each step is exactly
    /// [`crate::micro::step::ustep`]'s.
    #[inline(always)]
    pub fn run<S: Words>(&self, q: &mut Q, s: &mut S, limit: u64, written: &mut Vec<u64>) -> Ran {
        // 32 registers so that a masked index needs no bounds check: u0 ..
        // u15, then the sink for writes to u0.
        let mut r = [0u64; 32];
        r[1..Q_WORDS].copy_from_slice(&q[1..]);
        let mut upc = q[0] & 0xffff_ffff;
        let clock0 = q[0] >> 32;
        // The micro-instructions that come before the cleaning step (or
        // the limit): the clock is only looked at again after them.
        let budget = CLEAN_AT.saturating_sub(clock0).min(limit);
        let mut done = 0u64;
        while done < budget {
            // In range: `mask` is the table's length less one.
            let u = self.code[(upc & self.mask) as usize];
            let a = r[(u.ra & 31) as usize];
            let rb = r[(u.rb & 31) as usize];
            let b = rb.wrapping_add(u.imm);
            let rd = (u.rd & 31) as usize;
            let mut next = upc.wrapping_add(1);
            match u.op {
                op::ADD => r[rd] = a.wrapping_add(b),
                op::SUB => r[rd] = a.wrapping_sub(b),
                op::AND => r[rd] = a & b,
                op::OR => r[rd] = a | b,
                op::XOR => r[rd] = a ^ b,
                op::SLL => r[rd] = a << (b & 63),
                op::SRL => r[rd] = a >> (b & 63),
                op::SRA => r[rd] = ((a as i64) >> (b & 63)) as u64,
                op::SLTU => r[rd] = (a < b) as u64,
                op::SLT => r[rd] = ((a as i64) < (b as i64)) as u64,
                op::MUL => r[rd] = a.wrapping_mul(b),
                op::MULH => {
                    r[rd] = ((i128::from(a as i64) * i128::from(b as i64)) >> 64) as u64;
                }
                op::MULHSU => r[rd] = ((i128::from(a as i64) * i128::from(b)) >> 64) as u64,
                op::MULHU => r[rd] = ((u128::from(a) * u128::from(b)) >> 64) as u64,
                op::DIV => {
                    r[rd] = if b == 0 {
                        u64::MAX
                    } else {
                        (a as i64).wrapping_div(b as i64) as u64
                    }
                }
                op::DIVU => r[rd] = a.checked_div(b).unwrap_or(u64::MAX),
                op::REM => {
                    r[rd] = if b == 0 {
                        a
                    } else {
                        (a as i64).wrapping_rem(b as i64) as u64
                    }
                }
                op::REMU => r[rd] = a.checked_rem(b).unwrap_or(a),
                eop::LD_D => {
                    r[rd] = s.read_word(a.wrapping_add(u.imm) & S_ADDR_MASK & !7);
                }
                eop::LD_U | eop::LD_S => {
                    let bytes = 1u64 << u.func;
                    let addr = a.wrapping_add(u.imm) & S_ADDR_MASK & !(bytes - 1);
                    let bits = bytes * 8;
                    let v = (s.read_word(addr & !7) >> ((addr & 7) * 8)) & ((1u64 << bits) - 1);
                    r[rd] = if u.op == eop::LD_S {
                        let sign = 1u64 << (bits - 1);
                        (v ^ sign).wrapping_sub(sign)
                    } else {
                        v
                    };
                }
                eop::ST_D => {
                    let word_addr = a.wrapping_add(u.imm) & S_ADDR_MASK & !7;
                    written.push(word_addr);
                    s.write_word(word_addr, rb);
                }
                eop::ST_SUB => {
                    let bytes = 1u64 << u.func;
                    let addr = a.wrapping_add(u.imm) & S_ADDR_MASK & !(bytes - 1);
                    let word_addr = addr & !7;
                    let shift = (addr & 7) * 8;
                    let mask = ((1u64 << (bytes * 8)) - 1) << shift;
                    let v = (s.read_word(word_addr) & !mask) | ((rb << shift) & mask);
                    written.push(word_addr);
                    s.write_word(word_addr, v);
                }
                eop::BEQ => {
                    if a == rb {
                        next = u.imm;
                    }
                }
                eop::BNE => {
                    if a != rb {
                        next = u.imm;
                    }
                }
                eop::BLT => {
                    if (a as i64) < (rb as i64) {
                        next = u.imm;
                    }
                }
                eop::BGE => {
                    if (a as i64) >= (rb as i64) {
                        next = u.imm;
                    }
                }
                eop::BLTU => {
                    if a < rb {
                        next = u.imm;
                    }
                }
                eop::BGEU => {
                    if a >= rb {
                        next = u.imm;
                    }
                }
                eop::NOP => {}
                op::JAL => {
                    r[rd] = upc.wrapping_add(1);
                    next = a.wrapping_add(u.imm);
                    // A jump table's entries are themselves jumps (`JAL`
                    // through u0): make the one jumped to in this dispatch,
                    // when it too comes before the cleaning step.
                    let t = self.code[(next & self.mask) as usize];
                    if t.op == op::JAL && t.ra == 0 && done + 2 <= budget {
                        let at = next & 0xffff_ffff;
                        r[(t.rd & 31) as usize] = at + 1;
                        next = t.imm;
                        done += 1;
                    }
                }
                _ => {
                    // IDLE: the clock ticks, `upc` stays.
                    let clock = clock0 + done + 1;
                    q[0] = upc | (clock << 32);
                    q[1..].copy_from_slice(&r[1..Q_WORDS]);
                    return Ran {
                        steps: done + 1,
                        executed: done,
                        last: Some(UStatus::Idle),
                    };
                }
            }
            upc = next & 0xffff_ffff;
            done += 1;
        }
        if done < limit {
            // The clock is at the cleaning step.
            *q = Q_PRISTINE;
            return Ran {
                steps: done + 1,
                executed: done,
                last: Some(UStatus::Cleaned),
            };
        }
        q[0] = upc | ((clock0 + done) << 32);
        q[1..].copy_from_slice(&r[1..Q_WORDS]);
        Ran {
            steps: done,
            executed: done,
            last: (done > 0).then_some(UStatus::Executed),
        }
    }

    /// Decodes `code` once; [`FastAb::run_a_step`] interprets it even when
    /// it is the compiled microcode (benches compare the two).
    pub fn interpreted(code: &Microcode) -> FastAb {
        FastAb {
            compiled: false,
            ..FastAb::new(code)
        }
    }

    /// Whether [`FastAb::run_a_step`] runs the microcode compiled into
    /// Rust (`src/check/compiled.rs`), which it does when the microcode is
    /// the one it was compiled from.
    pub fn is_compiled(&self) -> bool {
        self.compiled
    }

    /// One A-step from `attach(Q*, S)` (`q` is `Q*`), ending where
    /// [`crate::micro::MicroMachine::run_a_step`] ends: the compiled
    /// microcode when there is one ([`FastAb::is_compiled`]), else
    /// [`FastAb::interpret_a_step`].
    #[inline]
    pub fn run_a_step<S: Words>(&self, q: &mut Q, s: &mut S, written: &mut Vec<u64>) -> InstrRun {
        self.run_a_step_handing_over(q, s, written, CLEAN_AT)
    }

    /// [`FastAb::run_a_step`], where the compiled blocks hand the A-step
    /// over to the interpreter before a block that would pass `budget`
    /// micro-steps (`CLEAN_AT` in [`FastAb::run_a_step`]; lower in tests,
    /// which check the hand-over at every micro-step).
    #[inline]
    pub fn run_a_step_handing_over<S: Words>(
        &self,
        q: &mut Q,
        s: &mut S,
        written: &mut Vec<u64>,
        budget: u64,
    ) -> InstrRun {
        if !(self.compiled && *q == Q_PRISTINE) {
            return self.interpret_a_step(q, s, written);
        }
        match super::compiled::run_a_step(q, s, written, budget) {
            Blocks::Done(run) => run,
            Blocks::Rest(done) => {
                // The rest, micro-step by micro-step, from where the blocks stopped.
                let run = self.interpret_a_step(q, s, written);
                InstrRun {
                    executed: done + run.executed,
                    overrun: run.overrun,
                }
            }
        }
    }

    /// One A-step from `(q, s)` on the decoded microcode, ending where
    /// [`crate::micro::MicroMachine::run_a_step`] ends: the
    /// micro-instructions up to the first `IDLE`, the idle ticks skipped,
    /// then the cleaning step (`Q = Q*`).
    #[inline]
    pub fn interpret_a_step<S: Words>(
        &self,
        q: &mut Q,
        s: &mut S,
        written: &mut Vec<u64>,
    ) -> InstrRun {
        let ran = self.run(q, s, u64::MAX, written);
        // The idle ticks only advance the clock to the cleaning step, which
        // resets `Q`; a cleaning step before any `IDLE` is an overrun.
        *q = Q_PRISTINE;
        InstrRun {
            executed: ran.executed,
            overrun: ran.last == Some(UStatus::Cleaned),
        }
    }
}
