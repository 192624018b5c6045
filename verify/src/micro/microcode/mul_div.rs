//! The M extension's micro-subroutines: shift-and-add multiplication
//! (low and high words) and restoring division, unsigned and signed, on
//! 64-bit micro-registers.

use super::*;

impl Builder {
    /// `LO = X * Y` (low 64 bits). Clobbers T0..T2.
    pub(super) fn sub_mul(&mut self) {
        let a = &mut self.a;
        let (lp, skip, done) = (
            a.label("mul.loop"),
            a.label("mul.skip"),
            a.label("mul.done"),
        );
        a.bind(self.l.mul);
        a.li(LO, 0);
        a.mv(T0, X);
        a.mv(T1, Y);
        a.beq(T1, U0, done);
        a.bind(lp);
        a.andi(T2, T1, 1);
        a.beq(T2, U0, skip);
        a.add(LO, LO, T0);
        a.bind(skip);
        a.slli(T0, T0, 1);
        a.srli(T1, T1, 1);
        a.bne(T1, U0, lp);
        a.bind(done);
        a.ret(LINK);
    }

    /// `HI:LO = X * Y` as unsigned 128-bit. Clobbers T0..T3.
    pub(super) fn sub_mulhu(&mut self) {
        let a = &mut self.a;
        let (lp, skip, done) = (
            a.label("mulhu.loop"),
            a.label("mulhu.skip"),
            a.label("mulhu.done"),
        );
        a.bind(self.l.mulhu);
        a.comment("T3:T0 = X shifted left; T1 = Y shifted right");
        a.li(LO, 0);
        a.li(HI, 0);
        a.mv(T0, X);
        a.li(T3, 0);
        a.mv(T1, Y);
        a.beq(T1, U0, done);
        a.bind(lp);
        a.andi(T2, T1, 1);
        a.beq(T2, U0, skip);
        a.add(LO, LO, T0);
        a.sltu(T2, LO, T0);
        a.add(HI, HI, T3);
        a.add(HI, HI, T2);
        a.bind(skip);
        a.srli(T2, T0, 63);
        a.slli(T3, T3, 1);
        a.or(T3, T3, T2);
        a.slli(T0, T0, 1);
        a.srli(T1, T1, 1);
        a.bne(T1, U0, lp);
        a.bind(done);
        a.ret(LINK);
    }

    /// `LO = X / Y`, `HI = X % Y`, unsigned; `Y == 0` gives `LO = !0, HI = X`
    /// by construction. Clobbers T0, N.
    pub(super) fn sub_divu(&mut self) {
        let a = &mut self.a;
        let (big, lp, skip, done) = (
            a.label("divu.big"),
            a.label("divu.loop"),
            a.label("divu.skip"),
            a.label("divu.done"),
        );
        a.bind(self.l.divu);
        a.comment("a divisor >= 2^63 fits at most once");
        a.blt(Y, U0, big);
        a.li(HI, 0);
        a.mv(LO, X);
        a.li(N, 64);
        a.bind(lp);
        a.comment("HI:LO <<= 1; quotient bits enter LO from the right");
        a.srli(T0, LO, 63);
        a.slli(HI, HI, 1);
        a.or(HI, HI, T0);
        a.slli(LO, LO, 1);
        a.bltu(HI, Y, skip);
        a.sub(HI, HI, Y);
        a.ori(LO, LO, 1);
        a.bind(skip);
        a.addi(N, N, -1);
        a.bne(N, U0, lp);
        a.ret(LINK);
        a.bind(big);
        a.sltu(T0, X, Y);
        a.xori(LO, T0, 1);
        a.mv(HI, X);
        a.bne(T0, U0, done);
        a.sub(HI, X, Y);
        a.bind(done);
        a.ret(LINK);
    }

    /// Signed division: `LO = X / Y`, `HI = X % Y` with RISC-V's rules
    /// (`/0 = -1`, `%0 = X`, overflow wraps). Clobbers T0..T3, N, X, Y.
    pub(super) fn sub_div_signed(&mut self) {
        let a = &mut self.a;
        let (x_pos, y_pos, q_pos, r_pos, by_zero) = (
            a.label("div.x-pos"),
            a.label("div.y-pos"),
            a.label("div.q-pos"),
            a.label("div.r-pos"),
            a.label("div.by-zero"),
        );
        let ret_link = T2;
        a.bind(self.l.div_signed);
        a.beq(Y, U0, by_zero);
        a.mv(ret_link, LINK);
        a.comment("SG bit 0: X negative, bit 1: Y negative");
        a.slt(SG, X, U0);
        a.bge_zero(X, x_pos);
        a.sub(X, U0, X);
        a.bind(x_pos);
        a.bge_zero(Y, y_pos);
        a.ori(SG, SG, 2);
        a.sub(Y, U0, Y);
        a.bind(y_pos);
        a.call(LINK, self.l.divu);
        a.comment("quotient negative iff exactly one operand was");
        a.andi(T0, SG, 1);
        a.srli(T1, SG, 1);
        a.beq(T0, T1, q_pos);
        a.sub(LO, U0, LO);
        a.bind(q_pos);
        a.comment("remainder takes the dividend's sign");
        a.beq(T0, U0, r_pos);
        a.sub(HI, U0, HI);
        a.bind(r_pos);
        a.ret(ret_link);
        a.bind(by_zero);
        a.li(LO, -1);
        a.mv(HI, X);
        a.ret(LINK);
    }
}
