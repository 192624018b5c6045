//! The micro-ISA of machine AB.
//!
//! ## State
//!
//! The auxiliary state `Q` is 16 little-endian 64-bit words (128 bytes):
//!
//! | word  | meaning                                                    |
//! |-------|------------------------------------------------------------|
//! | 0     | bits 0..32: `upc`, the micro-PC; bits 32..64: `clock`      |
//! | 1..16 | micro-registers `u1` .. `u15`                              |
//!
//! `u0` is not stored: it reads as zero and writes to it are dropped.
//! The pristine value `Q*` is all zeros: `upc = 0`, `clock = 0`.
//! `root(Q)` is the Merkle root of `Q`'s four 32-byte leaves (depth 2),
//! hashed as in [`crate::hash`].
//!
//! ## Encoding
//!
//! A micro-instruction is one 64-bit word:
//!
//! | bits    | field  | meaning                                          |
//! |---------|--------|--------------------------------------------------|
//! | 0..8    | `op`   | operation (table below)                          |
//! | 8..12   | `rd`   | destination register                             |
//! | 12..16  | `ra`   | first source register                            |
//! | 16..20  | `rb`   | second source register                           |
//! | 20..24  | `func` | branch condition, or access size and signedness  |
//! | 24..64  | `imm`  | signed 40-bit immediate                          |
//!
//! ## Operations
//!
//! Below, `A = u[ra]`, `B = u[rb] + imm` (wrapping), `next = upc + 1`.
//! Every operation except `IDLE` and the cleaning step advances `clock` by
//! one; all arithmetic is modulo `2^64`.
//!
//! | op | name   | effect                                                      | touches `S` |
//! |----|--------|-------------------------------------------------------------|-------------|
//! | 0  | `IDLE` | nothing; `upc` stays (the instruction is done)              | no          |
//! | 1  | `ADD`  | `u[rd] = A + B`                                             | no          |
//! | 2  | `SUB`  | `u[rd] = A - B`                                             | no          |
//! | 3  | `AND`  | `u[rd] = A & B`                                             | no          |
//! | 4  | `OR`   | `u[rd] = A \| B`                                            | no          |
//! | 5  | `XOR`  | `u[rd] = A ^ B`                                             | no          |
//! | 6  | `SLL`  | `u[rd] = A << (B & 63)`                                     | no          |
//! | 7  | `SRL`  | `u[rd] = A >> (B & 63)` (logical)                           | no          |
//! | 8  | `SRA`  | `u[rd] = A >> (B & 63)` (arithmetic)                        | no          |
//! | 9  | `SLTU` | `u[rd] = (A < B)` unsigned, 1 or 0                          | no          |
//! | 10 | `SLT`  | `u[rd] = (A < B)` signed, 1 or 0                            | no          |
//! | 11 | `LD`   | `u[rd] = load(A + imm)`                                     | reads 1 word|
//! | 12 | `ST`   | `store(A + imm, u[rb])`                                     | reads and writes 1 word |
//! | 13 | `BR`   | `if cond(A, u[rb]) { next = imm }`                          | no          |
//! | 14 | `JAL`  | `u[rd] = upc + 1; next = A + imm`                           | no          |
//! | 15 | `MUL`  | `u[rd] = A * B`, the low 64 bits                            | no          |
//! | 16 | `MULH` | `u[rd]` = the high 64 bits of `A * B`, both signed          | no          |
//! | 17 | `MULHSU` | `u[rd]` = the high 64 bits of `A * B`, `A` signed, `B` unsigned | no    |
//! | 18 | `MULHU` | `u[rd]` = the high 64 bits of `A * B`, both unsigned       | no          |
//! | 19 | `DIV`  | `u[rd] = A / B` signed, rounded towards zero                | no          |
//! | 20 | `DIVU` | `u[rd] = A / B` unsigned                                    | no          |
//! | 21 | `REM`  | `u[rd] = A % B` signed (the sign of `A`)                    | no          |
//! | 22 | `REMU` | `u[rd] = A % B` unsigned                                    | no          |
//! | 23+| -      | as `IDLE`                                                   | no          |
//!
//! The multiplies and divides (15..22, in the order of RISC-V's `funct3`)
//! are RISC-V's `mul` .. `remu` on 64-bit words, division by zero and
//! overflow included: `A / 0 = 2^64 - 1` (both signednesses), `A % 0 = A`,
//! `-2^63 / -1 = -2^63` and `-2^63 % -1 = 0`.
//!
//! `LD`/`ST` access `2^(func & 3)` bytes of `S` at address
//! `(A + imm) mod 2^34`, rounded down to a multiple of the size; the access
//! reads (and for `ST` rewrites) the aligned 64-bit word holding them.
//! `LD` zero-extends, or sign-extends when `func & 4` is set.
//!
//! `BR` conditions (`func`): 0 `==`, 1 `!=`, 2 `<` signed, 3 `>=` signed,
//! 4 `<` unsigned, 5 `>=` unsigned; 6..15 never taken.
//!
//! `upc` keeps the low 32 bits of `next`. The microcode is fetched at
//! `upc mod SLOTS`, where `SLOTS` is its padded size (see
//! [`crate::micro::microcode`]); padding reads as 0, i.e. `IDLE`.
//!
//! ## The step
//!
//! If `clock >= CLEAN_AT` (`= 2^a - 1`) the step is the **cleaning step**:
//! `Q` becomes `Q*` and nothing else changes. Otherwise the
//! micro-instruction at `upc` executes and `clock` advances by one.

use crate::hash::{Hash, LEAF_BYTES, hash_leaf, hash_node};

/// Operation numbers.
pub mod op {
    /// Do nothing, stay.
    pub const IDLE: u8 = 0;
    /// Add.
    pub const ADD: u8 = 1;
    /// Subtract.
    pub const SUB: u8 = 2;
    /// Bitwise and.
    pub const AND: u8 = 3;
    /// Bitwise or.
    pub const OR: u8 = 4;
    /// Bitwise xor.
    pub const XOR: u8 = 5;
    /// Shift left.
    pub const SLL: u8 = 6;
    /// Logical shift right.
    pub const SRL: u8 = 7;
    /// Arithmetic shift right.
    pub const SRA: u8 = 8;
    /// Set if less than, unsigned.
    pub const SLTU: u8 = 9;
    /// Set if less than, signed.
    pub const SLT: u8 = 10;
    /// Load from `S`.
    pub const LD: u8 = 11;
    /// Store to `S`.
    pub const ST: u8 = 12;
    /// Conditional branch.
    pub const BR: u8 = 13;
    /// Jump and link.
    pub const JAL: u8 = 14;
    /// Multiply, low 64 bits.
    pub const MUL: u8 = 15;
    /// Multiply, high 64 bits, signed by signed.
    pub const MULH: u8 = 16;
    /// Multiply, high 64 bits, signed by unsigned.
    pub const MULHSU: u8 = 17;
    /// Multiply, high 64 bits, unsigned by unsigned.
    pub const MULHU: u8 = 18;
    /// Divide, signed.
    pub const DIV: u8 = 19;
    /// Divide, unsigned.
    pub const DIVU: u8 = 20;
    /// Remainder, signed.
    pub const REM: u8 = 21;
    /// Remainder, unsigned.
    pub const REMU: u8 = 22;
    /// Number of defined operations.
    pub const COUNT: u8 = 23;
}

/// Branch conditions (the `func` field of `BR`).
pub mod cond {
    /// Equal.
    pub const EQ: u8 = 0;
    /// Not equal.
    pub const NE: u8 = 1;
    /// Less than, signed.
    pub const LT: u8 = 2;
    /// Greater or equal, signed.
    pub const GE: u8 = 3;
    /// Less than, unsigned.
    pub const LTU: u8 = 4;
    /// Greater or equal, unsigned.
    pub const GEU: u8 = 5;
}

/// Access sizes and signedness (the `func` field of `LD` and `ST`).
pub mod size {
    /// 1 byte.
    pub const B: u8 = 0;
    /// 2 bytes.
    pub const H: u8 = 1;
    /// 4 bytes.
    pub const W: u8 = 2;
    /// 8 bytes.
    pub const D: u8 = 3;
    /// Sign-extend (with `LD`).
    pub const SIGNED: u8 = 4;
}

/// Words in `Q`.
pub const Q_WORDS: usize = 16;

/// The fields of one micro-instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uop {
    /// Operation.
    pub op: u8,
    /// Destination register.
    pub rd: u8,
    /// First source register.
    pub ra: u8,
    /// Second source register.
    pub rb: u8,
    /// Condition or size.
    pub func: u8,
    /// Signed 40-bit immediate, sign-extended.
    pub imm: i64,
}

/// Smallest and largest immediates.
pub const IMM_MIN: i64 = -(1 << 39);
/// Largest immediate.
pub const IMM_MAX: i64 = (1 << 39) - 1;

impl Uop {
    /// Splits a word into fields.
    #[inline(always)]
    pub fn decode(w: u64) -> Uop {
        Uop {
            op: (w & 0xff) as u8,
            rd: ((w >> 8) & 15) as u8,
            ra: ((w >> 12) & 15) as u8,
            rb: ((w >> 16) & 15) as u8,
            func: ((w >> 20) & 15) as u8,
            imm: (w as i64) >> 24,
        }
    }

    /// Packs the fields (the immediate must fit in 40 bits).
    pub fn encode(&self) -> u64 {
        (self.op as u64)
            | ((self.rd as u64 & 15) << 8)
            | ((self.ra as u64 & 15) << 12)
            | ((self.rb as u64 & 15) << 16)
            | ((self.func as u64 & 15) << 20)
            | ((self.imm as u64) << 24)
    }

    /// Assembly text, e.g. `ADD u3, u1, u0+4`.
    pub fn disassemble(&self) -> String {
        let names = [
            "IDLE", "ADD", "SUB", "AND", "OR", "XOR", "SLL", "SRL", "SRA", "SLTU", "SLT", "LD",
            "ST", "BR", "JAL", "MUL", "MULH", "MULHSU", "MULHU", "DIV", "DIVU", "REM", "REMU",
        ];
        let name = names.get(self.op as usize).copied().unwrap_or("IDLE");
        let (rd, ra, rb, imm) = (self.rd, self.ra, self.rb, self.imm);
        match self.op {
            op::ADD..=op::SLT | op::MUL..=op::REMU => {
                format!("{name} u{rd}, u{ra}, u{rb}{imm:+#x}")
            }
            op::LD => format!(
                "LD.{}{} u{rd}, [u{ra}{imm:+#x}]",
                ["b", "h", "w", "d"][(self.func & 3) as usize],
                if self.func & 4 != 0 { "s" } else { "" }
            ),
            op::ST => format!(
                "ST.{} [u{ra}{imm:+#x}], u{rb}",
                ["b", "h", "w", "d"][(self.func & 3) as usize]
            ),
            op::BR => format!(
                "BR.{} u{ra}, u{rb}, {imm}",
                ["eq", "ne", "lt", "ge", "ltu", "geu"]
                    .get(self.func as usize)
                    .unwrap_or(&"never")
            ),
            op::JAL => format!("JAL u{rd}, u{ra}{imm:+}"),
            _ => "IDLE".into(),
        }
    }
}

/// `a`: log2 of the micro-steps in one A-step.
pub const LOG2_USTEPS: u32 = 7;
/// `2^a`.
pub const USTEPS: u64 = 1 << LOG2_USTEPS;
/// The clock value at which the step is the cleaning step (`2^a - 1`).
pub const CLEAN_AT: u64 = USTEPS - 1;

/// The auxiliary state `Q`.
pub type Q = [u64; Q_WORDS];
/// The pristine auxiliary state `Q*`.
pub const Q_PRISTINE: Q = [0; Q_WORDS];

/// `root(Q)`: the Merkle root of `Q`'s four 32-byte leaves.
pub fn q_root(q: &Q) -> Hash {
    let leaf = |i: usize| {
        let mut b = [0u8; LEAF_BYTES];
        for (k, w) in q[i * 4..i * 4 + 4].iter().enumerate() {
            b[k * 8..k * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        hash_leaf(&b)
    };
    hash_node(
        &hash_node(&leaf(0), &leaf(1)),
        &hash_node(&leaf(2), &leaf(3)),
    )
}

/// `root(R) = H(root(Q) || root(S))`.
pub fn r_root(q_root: &Hash, s_root: &Hash) -> Hash {
    hash_node(q_root, s_root)
}

/// `root(attach(Q*, S))` from `root(S)`.
pub fn attached_root(s_root: &Hash) -> Hash {
    r_root(&q_root(&Q_PRISTINE), s_root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        for imm in [0, 1, -1, IMM_MIN, IMM_MAX, 0x1_0000_0000, -4096] {
            let u = Uop {
                op: op::LD,
                rd: 15,
                ra: 3,
                rb: 9,
                func: 6,
                imm,
            };
            assert_eq!(Uop::decode(u.encode()), u);
        }
        assert_eq!(Uop::decode(0).op, op::IDLE);
    }
}
