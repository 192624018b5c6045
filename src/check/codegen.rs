//! Compiles the microcode into Rust: the source of
//! `src/check/compiled.rs`, machine AB's A-step with one `match` arm per
//! basic block of the microcode.
//!
//! The microcode is fixed at build time, so the double-check need not
//! decode it at all: each basic block becomes straight-line Rust with the
//! micro-registers in locals, constants folded (`u0`, immediates, link
//! addresses, static jump and branch targets) and `S` reached through
//! [`crate::micro::access::Words`]. A block adds its length to the
//! micro-step count at its end, after checking at its start that all of it
//! comes before the cleaning step; when it does not, or when a computed
//! jump lands where no block starts, the rest of the A-step is left to
//! [`super::engine::FastAb`], which steps one micro-instruction at a time.
//! So the micro-steps of every A-step, its `IDLE` or its overrun and every
//! `S` word written are the reference's (`tests/check_engine.rs` compares
//! them, and fails when `compiled.rs` is not what [`generate`] makes of
//! today's microcode; `MSWAP_WRITE_COMPILED=1` on that test rewrites it).

use crate::layout::S_ADDR_MASK;
use crate::micro::isa::{Uop, cond, op};
use crate::micro::microcode::Microcode;
use std::fmt::Write;

/// `u[r]` as an expression (`u0` reads as zero).
fn reg(r: u8) -> String {
    if r == 0 {
        "0u64".into()
    } else {
        format!("u{r}")
    }
}

/// `u[rb] + imm` as an expression.
fn operand_b(u: &Uop) -> String {
    let imm = u.imm as u64;
    match (u.rb, imm) {
        (0, _) => format!("{imm:#x}u64"),
        (rb, 0) => format!("u{rb}"),
        (rb, _) => format!("u{rb}.wrapping_add({imm:#x})"),
    }
}

/// `u[ra] + imm` masked to an aligned address of `bytes` bytes.
fn address(u: &Uop, bytes: u64) -> String {
    let mask = S_ADDR_MASK & !(bytes - 1);
    let imm = u.imm as u64;
    match (u.ra, imm) {
        (0, _) => format!("{:#x}u64", imm & mask),
        (ra, 0) => format!("u{ra} & {mask:#x}"),
        (ra, _) => format!("u{ra}.wrapping_add({imm:#x}) & {mask:#x}"),
    }
}

/// Blocks in one trace at most.
const TRACE_BLOCKS: usize = 8;
/// Micro-steps in one trace at most (past the budget, the interpreter
/// makes the rest of the A-step).
const TRACE_STEPS: u64 = 48;

/// A basic block of the microcode.
#[derive(Clone, Copy)]
struct Block {
    /// Its last micro-instruction.
    last: usize,
    /// Whether `last` ends it (else it runs into the next block).
    terminated: bool,
    /// Micro-steps, `IDLE` included.
    steps: u64,
    /// The block it always goes on to, if any.
    next: Option<usize>,
}

/// Whether `u` is an `IDLE` (or an undefined operation).
fn is_idle(u: &Uop) -> bool {
    u.op == op::IDLE || u.op >= op::COUNT
}

/// Whether `u` ends a basic block.
fn ends_block(u: &Uop) -> bool {
    match u.op {
        op::BR => u.func <= cond::GEU,
        op::JAL => true,
        o => o == op::IDLE || o >= op::COUNT,
    }
}

/// The statements of one micro-instruction at `pc` that does not end its
/// block.
fn straight(out: &mut String, u: &Uop) {
    let (a, b) = (reg(u.ra), operand_b(u));
    let rd = u.rd;
    let alu = |f: &str| -> String {
        let e = f.replace('A', &a).replace('B', &b);
        format!("u{rd} = {e};")
    };
    let line = match u.op {
        op::ADD..=op::SLT | op::MUL..=op::REMU if rd == 0 => String::new(),
        op::ADD => alu("A.wrapping_add(B)"),
        op::SUB => alu("A.wrapping_sub(B)"),
        op::AND => alu("A & B"),
        op::OR => alu("A | B"),
        op::XOR => alu("A ^ B"),
        op::SLL => alu("A << (B & 63)"),
        op::SRL => alu("A >> (B & 63)"),
        op::SRA => alu("((A as i64) >> (B & 63)) as u64"),
        op::SLTU => alu("(A < B) as u64"),
        op::SLT => alu("((A as i64) < (B as i64)) as u64"),
        op::MUL => alu("A.wrapping_mul(B)"),
        op::MULH => alu("mulh(A, B)"),
        op::MULHSU => alu("mulhsu(A, B)"),
        op::MULHU => alu("mulhu(A, B)"),
        op::DIV => alu("div(A, B)"),
        op::DIVU => alu("divu(A, B)"),
        op::REM => alu("rem(A, B)"),
        op::REMU => alu("remu(A, B)"),
        op::LD if rd == 0 => String::new(),
        op::LD => {
            let size = u.func & 3;
            let bytes = 1u64 << size;
            let addr = address(u, bytes);
            if size == 3 {
                format!("u{rd} = s.read_word({addr});")
            } else {
                let bits = bytes * 8;
                let v = format!("(s.read_word(a & !7) >> ((a & 7) * 8)) as u{bits}");
                if u.func & 4 != 0 {
                    format!("{{ let a = {addr}; u{rd} = {v} as i{bits} as i64 as u64; }}")
                } else {
                    format!("{{ let a = {addr}; u{rd} = {v} as u64; }}")
                }
            }
        }
        op::ST => {
            let size = u.func & 3;
            let bytes = 1u64 << size;
            let addr = address(u, bytes);
            let v = reg(u.rb);
            if size == 3 {
                format!("{{ let a = {addr}; written.push(a); s.write_word(a, {v}); }}")
            } else {
                let ones = (1u64 << (bytes * 8)) - 1;
                format!(
                    "{{ let a = {addr}; let w = a & !7; let sh = (a & 7) * 8; \
                     let m = {ones:#x}u64 << sh; \
                     let v = (s.read_word(w) & !m) | (({v} << sh) & m); \
                     written.push(w); s.write_word(w, v); }}"
                )
            }
        }
        // A branch that is never taken.
        _ => String::new(),
    };
    if !line.is_empty() {
        let _ = writeln!(out, "                {line}");
    }
}

/// The Rust source of `src/check/compiled.rs` for `code`.
pub fn generate(code: &Microcode) -> String {
    let words = &code.words;
    let len = code.program.words.len();
    let uops: Vec<Uop> = words[..len].iter().map(|&w| Uop::decode(w)).collect();
    // Block starts: upc 0, static targets, and what follows a block's end
    // (return addresses and jump-table entries among them).
    let mut leader = vec![false; len + 1];
    leader[0] = true;
    for (pc, u) in uops.iter().enumerate() {
        if ends_block(u) {
            leader[pc + 1] = true;
        }
        let target = (u.imm as u64) & 0xffff_ffff;
        let fixed = u.op == op::BR && u.func <= cond::GEU || u.op == op::JAL && u.ra == 0;
        if fixed && target < len as u64 {
            leader[target as usize] = true;
        }
    }
    let mut out = String::new();
    out.push_str(HEADER);
    let _ = writeln!(out, "/// The microcode this file was compiled from.");
    let _ = write!(out, "pub(super) const CODE: [u64; {}] = [", words.len());
    for (i, w) in words.iter().enumerate() {
        if i % 4 == 0 {
            out.push_str("\n    ");
        } else {
            out.push(' ');
        }
        let _ = write!(out, "{w:#018x},");
    }
    out.push_str("\n];\n\n");
    out.push_str(RUN_HEAD);
    // The basic blocks, by their first micro-instruction.
    let mut blocks: Vec<Option<Block>> = vec![None; len];
    let mut pc = 0;
    while pc < len {
        let start = pc;
        let mut end = pc;
        while end < len && !ends_block(&uops[end]) && (end == start || !leader[end]) {
            end += 1;
        }
        // `end` is the terminator (included) or the next block's start
        // (excluded).
        let terminated = end < len && ends_block(&uops[end]) && (end == start || !leader[end]);
        let last = if terminated { end } else { end - 1 };
        let u = &uops[last];
        let next = if !terminated {
            Some(last + 1)
        } else if u.op == op::JAL && u.ra == 0 {
            Some(((u.imm as u64) & 0xffff_ffff) as usize)
        } else {
            None
        };
        blocks[start] = Some(Block {
            last,
            terminated,
            steps: (last - start + 1) as u64,
            next: next.filter(|&n| n < len),
        });
        pc = last + 1;
    }
    for start in 0..len {
        let Some(first) = blocks[start] else {
            continue;
        };
        // The block and the blocks it always goes on to (fall-through,
        // static jumps), in one arm: a trace with one budget check and no
        // dispatch between its blocks.
        let mut trace = vec![(start, first)];
        let mut steps = first.steps;
        while trace.len() < TRACE_BLOCKS {
            let Some(n) = trace.last().and_then(|(_, b)| b.next) else {
                break;
            };
            let Some(b) = blocks[n] else {
                break;
            };
            if trace.iter().any(|&(s, _)| s == n) || steps + b.steps > TRACE_STEPS {
                break;
            }
            steps += b.steps;
            trace.push((n, b));
        }
        let _ = writeln!(out, "            {start} => {{");
        let _ = writeln!(out, "                if done + {steps} > budget {{");
        out.push_str("                    break;\n                }\n");
        let mut before = 0;
        for (k, &(at, b)) in trace.iter().enumerate() {
            let tail = k + 1 == trace.len();
            for u in &uops[at..b.last + 1] {
                if !ends_block(u) {
                    straight(&mut out, u);
                }
            }
            let u = &uops[b.last];
            let next = b.last as u64 + 1;
            if !b.terminated {
                if tail {
                    let _ = writeln!(out, "                upc = {next};");
                }
            } else {
                match u.op {
                    op::BR => {
                        let (a, bb) = (reg(u.ra), reg(u.rb));
                        let c = match u.func {
                            cond::EQ => format!("{a} == {bb}"),
                            cond::NE => format!("{a} != {bb}"),
                            cond::LT => format!("({a} as i64) < ({bb} as i64)"),
                            cond::GE => format!("({a} as i64) >= ({bb} as i64)"),
                            cond::LTU => format!("{a} < {bb}"),
                            _ => format!("{a} >= {bb}"),
                        };
                        let target = (u.imm as u64) & 0xffff_ffff;
                        let _ = writeln!(
                            out,
                            "                upc = if {c} {{ {target} }} else {{ {next} }};"
                        );
                    }
                    op::JAL => {
                        let imm = u.imm as u64;
                        if u.ra != 0 {
                            let _ = writeln!(
                                out,
                                "                upc = u{}.wrapping_add({imm:#x}) & 0xffff_ffff;",
                                u.ra
                            );
                        } else if tail {
                            let _ = writeln!(out, "                upc = {};", imm & 0xffff_ffff);
                        }
                        if u.rd != 0 {
                            let _ = writeln!(out, "                u{} = {next};", u.rd);
                        }
                    }
                    _ => {
                        // IDLE: the micro-instructions before it are the A-step's.
                        let _ = writeln!(
                            out,
                            "                return idle(q, done + {});",
                            before + b.steps - 1
                        );
                    }
                }
            }
            before += b.steps;
        }
        if !trace
            .last()
            .is_some_and(|(_, b)| b.terminated && is_idle(&uops[b.last]))
        {
            let _ = writeln!(out, "                done += {steps};");
        }
        out.push_str("            }\n");
    }
    out.push_str(RUN_TAIL);
    out
}

const HEADER: &str = "\
// @generated
//! Machine AB's A-step, compiled from the microcode by
//! [`super::codegen::generate`]: do not edit (`tests/check_engine.rs`
//! fails when this file is stale; `MSWAP_WRITE_COMPILED=1` on it rewrites
//! the file).

#![allow(clippy::all, clippy::pedantic, unused_parens, unused_mut)]

use crate::micro::access::Words;
use crate::micro::isa::{CLEAN_AT, Q, Q_PRISTINE};
use crate::micro::InstrRun;

#[inline(always)]
fn mulh(a: u64, b: u64) -> u64 {
    ((i128::from(a as i64) * i128::from(b as i64)) >> 64) as u64
}

#[inline(always)]
fn mulhsu(a: u64, b: u64) -> u64 {
    ((i128::from(a as i64) * i128::from(b)) >> 64) as u64
}

#[inline(always)]
fn mulhu(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) >> 64) as u64
}

#[inline(always)]
fn div(a: u64, b: u64) -> u64 {
    if b == 0 { u64::MAX } else { (a as i64).wrapping_div(b as i64) as u64 }
}

#[inline(always)]
fn divu(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(u64::MAX)
}

#[inline(always)]
fn rem(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { (a as i64).wrapping_rem(b as i64) as u64 }
}

#[inline(always)]
fn remu(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}

/// Where the compiled blocks left an A-step.
pub(super) enum Blocks {
    /// It ended at an `IDLE`.
    Done(InstrRun),
    /// The blocks stopped after this many micro-steps (a computed jump into
    /// the middle of a block, or the budget): `q` holds `upc`, the count and
    /// the micro-registers, for the interpreter to go on from.
    Rest(u64),
}

/// The A-step ended at an `IDLE` after `executed` micro-instructions: the
/// idle ticks and the cleaning step leave `Q*`.
#[inline(always)]
fn idle(q: &mut Q, executed: u64) -> Blocks {
    *q = Q_PRISTINE;
    Blocks::Done(InstrRun { executed, overrun: false })
}

";

const RUN_HEAD: &str = "\
/// One A-step from `attach(Q*, S)` (`q` is `Q*`) through the compiled
/// blocks, up to the first `IDLE` or to the micro-steps that no block
/// covers, and those from `budget` on (`CLEAN_AT` but in tests), which the
/// interpreter makes (`FastAb::run_a_step`).
#[inline(never)]
pub(super) fn run_a_step<S: Words>(
    q: &mut Q,
    s: &mut S,
    written: &mut Vec<u64>,
    budget: u64,
) -> Blocks {
    let budget = budget.min(CLEAN_AT);
    let (mut u1, mut u2, mut u3, mut u4, mut u5) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut u6, mut u7, mut u8, mut u9, mut u10) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut u11, mut u12, mut u13, mut u14, mut u15) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut upc: u64 = 0;
    let mut done: u64 = 0;
    loop {
        match upc {
";

const RUN_TAIL: &str = "\
            _ => break,
        }
    }
    // The rest, micro-step by micro-step, from where the blocks stopped.
    *q = [
        upc | (done << 32),
        u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11, u12, u13, u14, u15,
    ];
    Blocks::Rest(done)
}
";
