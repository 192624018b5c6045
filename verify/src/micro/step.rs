//! The micro-machine's step function, written once for every accessor.
//!
//! This file is the whole semantics of machine AB (the micro-ISA is
//! documented in [`super::isa`]). It is part of the verifier's trusted base:
//! fixed-width wrapping arithmetic, no allocation, no indexing, no panics.

#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

use super::access::StateAccess;
use super::isa::{Uop, cond, op};
use crate::layout::S_ADDR_MASK;

/// What one micro-step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UStatus {
    /// Executed a micro-instruction.
    Executed,
    /// Ticked the clock at an `IDLE` (the A-step's work is done).
    Idle,
    /// The cleaning step: `Q` was reset to `Q*`.
    Cleaned,
}

/// Reads micro-register `r` (`u0` is zero).
#[inline(always)]
fn reg<A: StateAccess>(acc: &mut A, r: u8) -> Result<u64, A::Error> {
    if r == 0 {
        Ok(0)
    } else {
        acc.read_q(r as usize)
    }
}

/// Writes micro-register `r` (writes to `u0` are dropped).
#[inline(always)]
fn set_reg<A: StateAccess>(acc: &mut A, r: u8, v: u64) -> Result<(), A::Error> {
    if r == 0 {
        Ok(())
    } else {
        acc.write_q(r as usize, v)
    }
}

/// `2^bits - 1` for `bits` in 8, 16, 32, 64.
#[inline(always)]
fn low_mask(bytes: u64) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (bytes * 8)) - 1
    }
}

/// Whether branch condition `c` holds for `a`, `b`.
#[inline(always)]
pub fn taken(c: u8, a: u64, b: u64) -> bool {
    match c {
        cond::EQ => a == b,
        cond::NE => a != b,
        cond::LT => (a as i64) < (b as i64),
        cond::GE => (a as i64) >= (b as i64),
        cond::LTU => a < b,
        cond::GEU => a >= b,
        _ => false,
    }
}

/// RISC-V's `div`: `a / 0 = -1`, `-2^63 / -1 = -2^63` (wraps).
#[inline(always)]
fn div(a: u64, b: u64) -> u64 {
    if b == 0 {
        u64::MAX
    } else {
        (a as i64).wrapping_div(b as i64) as u64
    }
}

/// RISC-V's `rem`: `a % 0 = a`, `-2^63 % -1 = 0`.
#[inline(always)]
fn rem(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        (a as i64).wrapping_rem(b as i64) as u64
    }
}

/// `u[rd] = f(u[ra], u[rb] + imm)`.
#[inline(always)]
fn alu_op<A: StateAccess>(
    acc: &mut A,
    u: &Uop,
    f: impl Fn(u64, u64) -> u64,
) -> Result<(), A::Error> {
    let a = reg(acc, u.ra)?;
    let b = reg(acc, u.rb)?.wrapping_add(u.imm as u64);
    set_reg(acc, u.rd, f(a, b))
}

/// One micro-step. `clean_at` is `2^a - 1`: at that clock value the step
/// resets `Q` to `Q*`.
#[inline(always)]
pub fn ustep<A: StateAccess>(acc: &mut A, clean_at: u64) -> Result<UStatus, A::Error> {
    let w0 = acc.read_q(0)?;
    let upc = w0 & 0xffff_ffff;
    let clock = w0 >> 32;
    if clock >= clean_at {
        for i in 0..super::isa::Q_WORDS {
            acc.write_q(i, 0)?;
        }
        return Ok(UStatus::Cleaned);
    }
    let u = Uop::decode(acc.fetch(upc)?);
    let imm = u.imm as u64;
    let mut next = upc.wrapping_add(1);
    let mut status = UStatus::Executed;
    match u.op {
        // One arm per operation (a second dispatch inside `alu` would be slower).
        op::ADD => alu_op(acc, &u, |a, b| a.wrapping_add(b))?,
        op::SUB => alu_op(acc, &u, |a, b| a.wrapping_sub(b))?,
        op::AND => alu_op(acc, &u, |a, b| a & b)?,
        op::OR => alu_op(acc, &u, |a, b| a | b)?,
        op::XOR => alu_op(acc, &u, |a, b| a ^ b)?,
        op::SLL => alu_op(acc, &u, |a, b| a << (b & 63))?,
        op::SRL => alu_op(acc, &u, |a, b| a >> (b & 63))?,
        op::SRA => alu_op(acc, &u, |a, b| ((a as i64) >> (b & 63)) as u64)?,
        op::SLTU => alu_op(acc, &u, |a, b| (a < b) as u64)?,
        op::SLT => alu_op(acc, &u, |a, b| ((a as i64) < (b as i64)) as u64)?,
        op::MUL => alu_op(acc, &u, |a, b| a.wrapping_mul(b))?,
        op::MULH => alu_op(acc, &u, |a, b| {
            ((i128::from(a as i64) * i128::from(b as i64)) >> 64) as u64
        })?,
        op::MULHSU => alu_op(acc, &u, |a, b| {
            ((i128::from(a as i64) * i128::from(b)) >> 64) as u64
        })?,
        op::MULHU => alu_op(acc, &u, |a, b| {
            ((u128::from(a) * u128::from(b)) >> 64) as u64
        })?,
        op::DIV => alu_op(acc, &u, div)?,
        op::DIVU => alu_op(acc, &u, |a, b| a.checked_div(b).unwrap_or(u64::MAX))?,
        op::REM => alu_op(acc, &u, rem)?,
        op::REMU => alu_op(acc, &u, |a, b| a.checked_rem(b).unwrap_or(a))?,
        op::LD | op::ST => {
            let bytes = 1u64 << (u.func & 3);
            let addr = reg(acc, u.ra)?.wrapping_add(imm) & S_ADDR_MASK & !(bytes - 1);
            let word_addr = addr & !7;
            let shift = (addr & 7) * 8;
            let mask = low_mask(bytes);
            let word = acc.read_s(word_addr)?;
            if u.op == op::LD {
                let mut v = (word >> shift) & mask;
                if u.func & 4 != 0 && bytes < 8 {
                    let sign = 1u64 << (bytes * 8 - 1);
                    v = (v ^ sign).wrapping_sub(sign);
                }
                set_reg(acc, u.rd, v)?;
            } else {
                let v = reg(acc, u.rb)? & mask;
                acc.write_s(word_addr, (word & !(mask << shift)) | (v << shift))?;
            }
        }
        op::BR => {
            let a = reg(acc, u.ra)?;
            let b = reg(acc, u.rb)?;
            if taken(u.func, a, b) {
                next = imm;
            }
        }
        op::JAL => {
            let target = reg(acc, u.ra)?.wrapping_add(imm);
            set_reg(acc, u.rd, upc.wrapping_add(1))?;
            next = target;
        }
        _ => {
            next = upc;
            status = UStatus::Idle;
        }
    }
    acc.write_q(0, (next & 0xffff_ffff) | (clock.wrapping_add(1) << 32))?;
    Ok(status)
}
