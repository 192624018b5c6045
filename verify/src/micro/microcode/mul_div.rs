//! The M extension: each of `mul` .. `remu` is one micro-operation of the
//! same name (RISC-V's rules for division by zero and overflow are the
//! operations' own, see [`crate::micro::isa`]); the W forms extend their
//! 32-bit operands, run the 64-bit operation and sign-extend the result.

use super::*;
use crate::micro::isa::op;

impl Builder {
    /// The handlers of OP's funct7 = 1 table (`m[funct3]`): `x[rd] =
    /// X op Y` for `mul`, `mulh`, `mulhsu`, `mulhu`, `div`, `divu`, `rem`,
    /// `remu` (the micro-operations follow funct3's order).
    pub(super) fn m_ops(&mut self, m: &[Label]) {
        for (&l, o) in m.iter().zip(op::MUL..=op::REMU) {
            self.a.bind(l);
            self.a.alu(o, R, X, Y, 0);
            self.writeback();
        }
    }

    /// The handlers of OP-32's funct7 = 1 table.
    pub(super) fn m_ops32(
        &mut self,
        mulw: Label,
        divw: Label,
        divuw: Label,
        remw: Label,
        remuw: Label,
    ) {
        // mulw: the low 32 bits of the product, sign-extended.
        self.a.bind(mulw);
        self.a.alu(op::MUL, R, X, Y, 0);
        self.sext32(R);
        self.writeback();
        // divw / remw: signed division of the sign-extended halves
        // (-2^31 / -1 = 2^31, which sign-extends to -2^31 as RISC-V says).
        for (l, o) in [(divw, op::DIV), (remw, op::REM)] {
            self.a.bind(l);
            self.sext32(X);
            self.sext32(Y);
            self.a.alu(o, R, X, Y, 0);
            self.sext32(R);
            self.writeback();
        }
        // divuw / remuw: unsigned division of the zero-extended halves.
        for (l, o) in [(divuw, op::DIVU), (remuw, op::REMU)] {
            self.a.bind(l);
            self.zext32(X, X);
            self.zext32(Y, Y);
            self.a.alu(o, R, X, Y, 0);
            self.sext32(R);
            self.writeback();
        }
    }
}
