//! The microcode: an RV64IM interpreter written in the micro-ISA.
//!
//! It is an independent implementation of the semantics that machine A
//! implements in [`crate::fast`] (it shares only the state layout of
//! [`crate::layout`]). One run of the microcode from `upc = 0` executes one
//! RV64IM instruction of `S` and ends at an `IDLE`:
//!
//! 1. **fetch**: if `status != 0` idle; load `pc`; fault unless
//!    `pc - exec_lo < exec_size` (unsigned) and `pc % 4 == 0`; load the
//!    instruction word (sign-extended) from `S` at `pc`;
//! 2. **dispatch** on the 7-bit opcode through a 128-entry jump table, then
//!    on `funct3` (and `funct7`) through smaller tables;
//! 3. **execute**: read operands from the register words of `S`, compute,
//!    write `x[rd]` (never `x0`) and `pc`;
//! 4. a **fault** writes `status = 2`, `halt_code = cause`, `tval` and
//!    nothing else (pc stays, no register changes).
//!
//! Multiplication is shift-and-add, division is restoring division, both on
//! 64-bit micro-registers; `mulh*` keeps a 128-bit product in two registers.
//! System calls copy bytes one micro-op at a time (loop unrolled by 8).
//!
//! `mswap microcode` prints the assembled listing.

use super::asm::{Asm, AsmError, Label, Program, Reg, U0};
use super::isa::size::{B, D, H, SIGNED, W};
use crate::hash::{Hash, LEAF_BYTES, hash_leaf, hash_node};
use crate::layout::{
    CTRL_BASE, Fault, INPUT_BASE, IO_CAPACITY, MEM_SIZE, OUTPUT_BASE, ctrl, status, sys,
};
use std::sync::OnceLock;

// Register map of the microcode.
/// Guest pc.
const PC: Reg = Reg(1);
/// Instruction word, sign-extended.
const IW: Reg = Reg(2);
/// First operand (rs1 value, or an address).
const X: Reg = Reg(3);
/// Second operand (rs2 value or immediate).
const Y: Reg = Reg(4);
/// `8 * rd`, the offset of `x[rd]` in the control page.
const RD: Reg = Reg(5);
/// Result.
const R: Reg = Reg(6);
/// Temporaries.
const T0: Reg = Reg(7);
const T1: Reg = Reg(8);
const T2: Reg = Reg(9);
const T3: Reg = Reg(10);
/// Loop counter / byte count.
const N: Reg = Reg(11);
/// High word / remainder.
const HI: Reg = Reg(12);
/// Low word / quotient.
const LO: Reg = Reg(13);
/// Sign flags of the signed M operations.
const SG: Reg = Reg(14);
/// Return address of micro-subroutines.
const LINK: Reg = Reg(15);

/// `S` address of a control word.
const fn c(off: u64) -> i64 {
    (CTRL_BASE + off) as i64
}

/// The labels shared between handlers.
struct Labels {
    illegal: Label,
    fault: Label,
    mul: Label,
    mulhu: Label,
    divu: Label,
    div_signed: Label,
    copy: Label,
}

/// The microcode builder: one method per part of the interpreter.
struct Builder {
    a: Asm,
    l: Labels,
}

impl Builder {
    // ----- small inline sequences -----

    /// `X = x[rs1]`.
    fn rs1(&mut self, dst: Reg) {
        let a = &mut self.a;
        a.srli(T0, IW, 12);
        a.andi(T0, T0, 0xf8);
        a.ldd(dst, T0, c(ctrl::X));
    }

    /// `dst = x[rs2]`.
    fn rs2(&mut self, dst: Reg) {
        let a = &mut self.a;
        a.srli(T0, IW, 17);
        a.andi(T0, T0, 0xf8);
        a.ldd(dst, T0, c(ctrl::X));
    }

    /// `RD = 8 * rd`.
    fn rd(&mut self) {
        self.a.srli(RD, IW, 4);
        self.a.andi(RD, RD, 0xf8);
    }

    /// `dst = funct3`.
    fn funct3(&mut self, dst: Reg) {
        self.a.srli(dst, IW, 12);
        self.a.andi(dst, dst, 7);
    }

    /// `dst = funct7` (bits 25..32).
    fn funct7(&mut self, dst: Reg) {
        self.a.srli(dst, IW, 25);
        self.a.andi(dst, dst, 0x7f);
    }

    /// `dst = funct6` (bits 26..32), the RV64 shift-immediate selector.
    fn funct6(&mut self, dst: Reg) {
        self.a.srli(dst, IW, 26);
        self.a.andi(dst, dst, 0x3f);
    }

    /// Sign-extends the low 32 bits of `r` in place.
    fn sext32(&mut self, r: Reg) {
        self.a.slli(r, r, 32);
        self.a.srai(r, r, 32);
    }

    /// Zero-extends the low 32 bits of `src` into `dst`.
    fn zext32(&mut self, dst: Reg, src: Reg) {
        self.a.slli(dst, src, 32);
        self.a.srli(dst, dst, 32);
    }

    /// `pc += 4`, done.
    fn next(&mut self) {
        let a = &mut self.a;
        a.addi(PC, PC, 4);
        a.std(U0, c(ctrl::PC), PC);
        a.idle();
    }

    /// `x[rd] = R` unless rd is x0, then `pc += 4`, done.
    fn writeback(&mut self) {
        let skip = self.a.label("wb.skip");
        self.a.beq(RD, U0, skip);
        self.a.std(RD, c(ctrl::X), R);
        self.a.bind(skip);
        self.next();
    }

    /// Faults with `cause` and `tval` taken from register `tval`.
    fn fault_with(&mut self, cause: Fault, tval: Reg) {
        self.a.mv(T3, tval);
        self.a.li(T2, cause.code() as i64);
        self.a.j(self.l.fault);
    }

    /// Jumps to `taken` (which faults) if `r & mask != 0`.
    fn check_aligned(&mut self, r: Reg, mask: i64, misaligned: Label) {
        self.a.andi(T0, r, mask);
        self.a.bne(T0, U0, misaligned);
    }

    /// Jumps to `hit` if `[addr, addr + n)` meets `[ro_lo, ro_lo + ro_size)`
    /// (the wrapping overlap test of [`crate::fast::overlaps`]). Clobbers T0, T2, T3.
    fn check_ro_overlap(&mut self, addr: Reg, n: Reg, hit: Label) {
        let a = &mut self.a;
        let clear = a.label("ro.clear");
        a.ldd(T0, U0, c(ctrl::RO_LO));
        a.ldd(T3, U0, c(ctrl::RO_SIZE));
        a.sub(T2, addr, T0);
        a.bltu(T2, T3, hit);
        a.beq(T3, U0, clear);
        a.sub(T2, T0, addr);
        a.bltu(T2, n, hit);
        a.bind(clear);
    }

    /// Jumps to `target_reg` as a jump/branch target: faults if misaligned,
    /// otherwise `pc = target`, done.
    fn jump_to(&mut self, target: Reg) {
        let mis = self.a.label("jump.misaligned");
        self.check_aligned(target, 3, mis);
        self.a.std(U0, c(ctrl::PC), target);
        self.a.idle();
        self.a.bind(mis);
        self.fault_with(Fault::InstructionMisaligned, target);
    }

    // ----- the interpreter -----

    fn fetch(&mut self, opcode_table: Label, idle: Label) {
        let a = &mut self.a;
        let bad_fetch = a.label("fetch.fault");
        a.comment("fetch: a halted machine only idles");
        a.ldd(T0, U0, c(ctrl::STATUS));
        a.bne(T0, U0, idle);
        a.ldd(PC, U0, c(ctrl::PC));
        a.comment("pc - exec_lo < exec_size and pc % 4 == 0");
        a.ldd(T0, U0, c(ctrl::EXEC_LO));
        a.sub(T0, PC, T0);
        a.ldd(T1, U0, c(ctrl::EXEC_SIZE));
        a.bgeu(T0, T1, bad_fetch);
        a.andi(T0, PC, 3);
        a.bne(T0, U0, bad_fetch);
        a.ld(W | SIGNED, IW, PC, 0);
        a.andi(T0, IW, 0x7f);
        a.jump_table(T0, opcode_table);
        a.bind(bad_fetch);
        self.fault_with(Fault::InstructionAccess, PC);
    }

    fn lui_auipc(&mut self, lui: Label, auipc: Label) {
        self.a.bind(lui);
        self.rd();
        self.a.andi(R, IW, -4096);
        self.writeback();
        self.a.bind(auipc);
        self.rd();
        self.a.andi(R, IW, -4096);
        self.a.add(R, R, PC);
        self.writeback();
    }

    fn op_imm(&mut self, entry: Label) {
        let names = [
            "addi",
            "slli",
            "slti",
            "sltiu",
            "xori",
            "srli/srai",
            "ori",
            "andi",
        ];
        let ls: Vec<Label> = names.iter().map(|n| self.a.label(n)).collect();
        let table = self.a.label("op-imm.table");
        self.a.bind(entry);
        self.rs1(X);
        self.a.srai(Y, IW, 20);
        self.rd();
        self.funct3(T1);
        self.a.jump_table(T1, table);
        self.a.bind(table);
        self.a.table(&ls);
        let simple = [
            (0, super::isa::op::ADD),
            (2, super::isa::op::SLT),
            (3, super::isa::op::SLTU),
            (4, super::isa::op::XOR),
            (6, super::isa::op::OR),
            (7, super::isa::op::AND),
        ];
        for (i, o) in simple {
            self.a.bind(ls[i]);
            self.a.alu(o, R, X, Y, 0);
            self.writeback();
        }
        // slli: funct6 must be 0; the shift amount is imm & 63.
        self.a.bind(ls[1]);
        self.funct6(T0);
        self.a.bne(T0, U0, self.l.illegal);
        self.a.sll(R, X, Y);
        self.writeback();
        // srli (funct6 0) / srai (funct6 0x10).
        self.a.bind(ls[5]);
        let srai = self.a.label("srai");
        self.funct6(T0);
        self.a.xori(T1, T0, 0x10);
        self.a.beq(T1, U0, srai);
        self.a.bne(T0, U0, self.l.illegal);
        self.a.srl(R, X, Y);
        self.writeback();
        self.a.bind(srai);
        self.a.sra(R, X, Y);
        self.writeback();
    }

    fn op_imm32(&mut self, entry: Label) {
        let addiw = self.a.label("addiw");
        let slliw = self.a.label("slliw");
        let srxiw = self.a.label("srliw/sraiw");
        let ill = self.l.illegal;
        let table = self.a.label("op-imm-32.table");
        self.a.bind(entry);
        self.rs1(X);
        self.a.srai(Y, IW, 20);
        self.rd();
        self.funct3(T1);
        self.a.jump_table(T1, table);
        self.a.bind(table);
        self.a
            .table(&[addiw, slliw, ill, ill, ill, srxiw, ill, ill]);

        self.a.bind(addiw);
        self.a.add(R, X, Y);
        self.sext32(R);
        self.writeback();

        // slliw: funct7 must be 0 (so imm = shamt < 32).
        self.a.bind(slliw);
        self.funct7(T0);
        self.a.bne(T0, U0, ill);
        self.a.sll(R, X, Y);
        self.sext32(R);
        self.writeback();

        // srliw (funct7 0) / sraiw (funct7 0x20); shamt = imm & 31.
        self.a.bind(srxiw);
        let sraiw = self.a.label("sraiw");
        self.funct7(T0);
        self.a.andi(Y, Y, 31);
        self.a.xori(T1, T0, 0x20);
        self.a.beq(T1, U0, sraiw);
        self.a.bne(T0, U0, ill);
        self.zext32(T0, X);
        self.a.srl(R, T0, Y);
        self.sext32(R);
        self.writeback();
        self.a.bind(sraiw);
        self.a.mv(T0, X);
        self.sext32(T0);
        self.a.sra(R, T0, Y);
        self.writeback();
    }

    fn op(&mut self, entry: Label) {
        use super::isa::op as o;
        let base_names = ["add", "sll", "slt", "sltu", "xor", "srl", "or", "and"];
        let base: Vec<Label> = base_names.iter().map(|n| self.a.label(n)).collect();
        let m_names = [
            "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
        ];
        let m: Vec<Label> = m_names.iter().map(|n| self.a.label(n)).collect();
        let base_table = self.a.label("op.table");
        let m_table = self.a.label("op.m-table");
        let alt = self.a.label("op.funct7-0x20");
        let not_zero = self.a.label("op.funct7-nonzero");
        let (sub, sra) = (self.a.label("sub"), self.a.label("sra"));
        self.a.bind(entry);
        self.funct3(T1);
        self.funct7(T2);
        self.rs1(X);
        self.rs2(Y);
        self.rd();
        self.a.bne(T2, U0, not_zero);
        self.a.jump_table(T1, base_table);
        self.a.bind(not_zero);
        self.a.xori(T0, T2, 1);
        self.a.bne(T0, U0, alt);
        self.a.jump_table(T1, m_table);
        self.a.bind(alt);
        self.a.xori(T0, T2, 0x20);
        self.a.bne(T0, U0, self.l.illegal);
        self.a.beq(T1, U0, sub);
        self.a.xori(T0, T1, 5);
        self.a.beq(T0, U0, sra);
        self.a.j(self.l.illegal);
        self.a.bind(base_table);
        self.a.table(&base);
        self.a.bind(m_table);
        self.a.table(&m);

        for (i, op) in [
            (0, o::ADD),
            (1, o::SLL),
            (2, o::SLT),
            (3, o::SLTU),
            (4, o::XOR),
            (5, o::SRL),
            (6, o::OR),
            (7, o::AND),
        ] {
            self.a.bind(base[i]);
            self.a.alu(op, R, X, Y, 0);
            self.writeback();
        }
        self.a.bind(sub);
        self.a.sub(R, X, Y);
        self.writeback();
        self.a.bind(sra);
        self.a.sra(R, X, Y);
        self.writeback();

        // M extension.
        self.a.bind(m[0]);
        self.a.call(LINK, self.l.mul);
        self.a.mv(R, LO);
        self.writeback();
        // mulhu, then the signed corrections:
        // mulh = mulhu - (X < 0 ? Y : 0) - (Y < 0 ? X : 0); mulhsu drops the second term.
        for (i, fix_x, fix_y) in [(1, true, true), (2, true, false), (3, false, false)] {
            self.a.bind(m[i]);
            self.a.call(LINK, self.l.mulhu);
            if fix_x {
                let skip = self.a.label("mulh.x-nonneg");
                self.a.bge_zero(X, skip);
                self.a.sub(HI, HI, Y);
                self.a.bind(skip);
            }
            if fix_y {
                let skip = self.a.label("mulh.y-nonneg");
                self.a.bge_zero(Y, skip);
                self.a.sub(HI, HI, X);
                self.a.bind(skip);
            }
            self.a.mv(R, HI);
            self.writeback();
        }
        // div / rem: signed (magnitudes, then signs); divu / remu: unsigned.
        self.a.bind(m[4]);
        self.a.call(LINK, self.l.div_signed);
        self.a.mv(R, LO);
        self.writeback();
        self.a.bind(m[5]);
        self.a.call(LINK, self.l.divu);
        self.a.mv(R, LO);
        self.writeback();
        self.a.bind(m[6]);
        self.a.call(LINK, self.l.div_signed);
        self.a.mv(R, HI);
        self.writeback();
        self.a.bind(m[7]);
        self.a.call(LINK, self.l.divu);
        self.a.mv(R, HI);
        self.writeback();
    }

    fn op32(&mut self, entry: Label) {
        let ill = self.l.illegal;
        let (f7_0, f7_1, f7_20) = (
            self.a.label("op-32.funct7-0"),
            self.a.label("op-32.m"),
            self.a.label("op-32.funct7-0x20"),
        );
        let t0 = self.a.label("op-32.table-0");
        let t1 = self.a.label("op-32.table-m");
        let t20 = self.a.label("op-32.table-0x20");
        let (addw, sllw, srlw) = (
            self.a.label("addw"),
            self.a.label("sllw"),
            self.a.label("srlw"),
        );
        let (subw, sraw) = (self.a.label("subw"), self.a.label("sraw"));
        let (mulw, divw, divuw, remw, remuw) = (
            self.a.label("mulw"),
            self.a.label("divw"),
            self.a.label("divuw"),
            self.a.label("remw"),
            self.a.label("remuw"),
        );
        self.a.bind(entry);
        self.funct3(T1);
        self.funct7(T2);
        self.rs1(X);
        self.rs2(Y);
        self.rd();
        self.a.beq(T2, U0, f7_0);
        self.a.xori(T0, T2, 1);
        self.a.beq(T0, U0, f7_1);
        self.a.xori(T0, T2, 0x20);
        self.a.beq(T0, U0, f7_20);
        self.a.j(ill);
        self.a.bind(f7_0);
        self.a.jump_table(T1, t0);
        self.a.bind(f7_1);
        self.a.jump_table(T1, t1);
        self.a.bind(f7_20);
        self.a.jump_table(T1, t20);
        self.a.bind(t0);
        self.a.table(&[addw, sllw, ill, ill, ill, srlw, ill, ill]);
        self.a.bind(t1);
        self.a
            .table(&[mulw, ill, ill, ill, divw, divuw, remw, remuw]);
        self.a.bind(t20);
        self.a.table(&[subw, ill, ill, ill, ill, sraw, ill, ill]);

        self.a.bind(addw);
        self.a.add(R, X, Y);
        self.sext32(R);
        self.writeback();
        self.a.bind(subw);
        self.a.sub(R, X, Y);
        self.sext32(R);
        self.writeback();
        self.a.bind(sllw);
        self.a.andi(Y, Y, 31);
        self.a.sll(R, X, Y);
        self.sext32(R);
        self.writeback();
        self.a.bind(srlw);
        self.a.andi(Y, Y, 31);
        self.zext32(T0, X);
        self.a.srl(R, T0, Y);
        self.sext32(R);
        self.writeback();
        self.a.bind(sraw);
        self.a.andi(Y, Y, 31);
        self.a.mv(T0, X);
        self.sext32(T0);
        self.a.sra(R, T0, Y);
        self.writeback();
        // mulw: the low 32 bits of X * zext32(Y) (at most 32 rounds).
        self.a.bind(mulw);
        self.zext32(Y, Y);
        self.a.call(LINK, self.l.mul);
        self.a.mv(R, LO);
        self.sext32(R);
        self.writeback();
        // divw / remw: signed division of the sign-extended halves.
        for (l, result) in [(divw, LO), (remw, HI)] {
            self.a.bind(l);
            self.sext32(X);
            self.sext32(Y);
            self.a.call(LINK, self.l.div_signed);
            self.a.mv(R, result);
            self.sext32(R);
            self.writeback();
        }
        // divuw / remuw: unsigned division of the zero-extended halves.
        for (l, result) in [(divuw, LO), (remuw, HI)] {
            self.a.bind(l);
            self.zext32(X, X);
            self.zext32(Y, Y);
            self.a.call(LINK, self.l.divu);
            self.a.mv(R, result);
            self.sext32(R);
            self.writeback();
        }
    }

    /// `LO = X * Y` (low 64 bits). Clobbers T0..T2.
    fn sub_mul(&mut self) {
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
    fn sub_mulhu(&mut self) {
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
    fn sub_divu(&mut self) {
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
    /// (`/0 = -1`, `%0 = X`, overflow wraps). Clobbers T0..T2, N, SG, X, Y.
    fn sub_div_signed(&mut self) {
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

    fn load(&mut self, entry: Label) {
        let names = ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"];
        let ls: Vec<Label> = names.iter().map(|n| self.a.label(n)).collect();
        let table = self.a.label("load.table");
        let (misaligned, access) = (self.a.label("load.misaligned"), self.a.label("load.access"));
        self.a.bind(entry);
        self.funct3(T1);
        self.rs1(X);
        self.a.srai(Y, IW, 20);
        self.a.add(X, X, Y);
        self.rd();
        self.a.jump_table(T1, table);
        self.a.bind(table);
        let mut entries = ls.clone();
        entries.push(self.l.illegal);
        self.a.table(&entries);
        for (i, (sz, signed)) in [
            (B, true),
            (H, true),
            (W, true),
            (D, false),
            (B, false),
            (H, false),
            (W, false),
        ]
        .into_iter()
        .enumerate()
        {
            self.a.bind(ls[i]);
            let bytes = 1i64 << sz;
            if bytes > 1 {
                self.check_aligned(X, bytes - 1, misaligned);
            }
            self.a.srli(T0, X, 32);
            self.a.bne(T0, U0, access);
            self.a.ld(if signed { sz | SIGNED } else { sz }, R, X, 0);
            self.writeback();
        }
        self.a.bind(misaligned);
        self.fault_with(Fault::LoadMisaligned, X);
        self.a.bind(access);
        self.fault_with(Fault::LoadAccess, X);
    }

    fn store(&mut self, entry: Label) {
        let ill = self.l.illegal;
        let names = ["sb", "sh", "sw", "sd"];
        let ls: Vec<Label> = names.iter().map(|n| self.a.label(n)).collect();
        let table = self.a.label("store.table");
        let (misaligned, access) = (
            self.a.label("store.misaligned"),
            self.a.label("store.access"),
        );
        self.a.bind(entry);
        self.funct3(T1);
        self.rs1(X);
        self.rs2(Y);
        self.a
            .comment("S-immediate: imm[11:5] = iw[31:25], imm[4:0] = iw[11:7]");
        self.a.srai(T2, IW, 20);
        self.a.andi(T2, T2, -32);
        self.a.srli(T3, IW, 7);
        self.a.andi(T3, T3, 31);
        self.a.or(T2, T2, T3);
        self.a.add(X, X, T2);
        self.a.jump_table(T1, table);
        self.a.bind(table);
        self.a
            .table(&[ls[0], ls[1], ls[2], ls[3], ill, ill, ill, ill]);
        for (i, sz) in [B, H, W, D].into_iter().enumerate() {
            self.a.bind(ls[i]);
            let bytes = 1i64 << sz;
            if bytes > 1 {
                self.check_aligned(X, bytes - 1, misaligned);
            }
            self.a.srli(T0, X, 32);
            self.a.bne(T0, U0, access);
            self.a.li(N, bytes);
            self.check_ro_overlap(X, N, access);
            self.a.st(sz, X, 0, Y);
            self.next();
        }
        self.a.bind(misaligned);
        self.fault_with(Fault::StoreMisaligned, X);
        self.a.bind(access);
        self.fault_with(Fault::StoreAccess, X);
    }

    fn branch(&mut self, entry: Label) {
        use super::isa::cond as cd;
        let ill = self.l.illegal;
        let names = ["beq", "bne", "blt", "bge", "bltu", "bgeu"];
        let ls: Vec<Label> = names.iter().map(|n| self.a.label(n)).collect();
        let table = self.a.label("branch.table");
        let (taken, not_taken) = (
            self.a.label("branch.taken"),
            self.a.label("branch.not-taken"),
        );
        self.a.bind(entry);
        self.funct3(T1);
        self.rs1(X);
        self.rs2(Y);
        self.a.jump_table(T1, table);
        self.a.bind(table);
        self.a
            .table(&[ls[0], ls[1], ill, ill, ls[2], ls[3], ls[4], ls[5]]);
        for (i, cnd) in [cd::EQ, cd::NE, cd::LT, cd::GE, cd::LTU, cd::GEU]
            .into_iter()
            .enumerate()
        {
            self.a.bind(ls[i]);
            self.a.br(cnd, X, Y, taken);
            self.a.j(not_taken);
        }
        self.a.bind(not_taken);
        self.next();
        self.a.bind(taken);
        self.a
            .comment("B-immediate: imm[12|10:5] = iw[31:25], imm[4:1|11] = iw[11:7]");
        self.a.srai(T2, IW, 20);
        self.a.andi(T2, T2, !0x81f);
        self.a.srli(T3, IW, 7);
        self.a.andi(T3, T3, 0x1e);
        self.a.or(T2, T2, T3);
        self.a.slli(T3, IW, 4);
        self.a.andi(T3, T3, 0x800);
        self.a.or(T2, T2, T3);
        self.a.add(T2, PC, T2);
        self.jump_to(T2);
    }

    fn jal(&mut self, entry: Label) {
        self.a.bind(entry);
        self.a
            .comment("J-immediate: imm[20|10:1|11|19:12] = iw[31|30:21|20|19:12]");
        self.a.andi(T2, IW, 0xff000);
        self.a.srai(T3, IW, 11);
        self.a.andi(T3, T3, !0xfffff);
        self.a.or(T2, T2, T3);
        self.a.srli(T3, IW, 20);
        self.a.andi(T3, T3, 0x7fe);
        self.a.or(T2, T2, T3);
        self.a.srli(T3, IW, 9);
        self.a.andi(T3, T3, 0x800);
        self.a.or(T2, T2, T3);
        self.a.add(T2, PC, T2);
        self.link_and_jump();
    }

    /// Jump to T2: fault if misaligned, else `x[rd] = pc + 4; pc = T2`.
    fn link_and_jump(&mut self) {
        let (mis, skip) = (
            self.a.label("jump.misaligned"),
            self.a.label("jump.no-link"),
        );
        self.check_aligned(T2, 3, mis);
        self.rd();
        self.a.beq(RD, U0, skip);
        self.a.addi(R, PC, 4);
        self.a.std(RD, c(ctrl::X), R);
        self.a.bind(skip);
        self.a.std(U0, c(ctrl::PC), T2);
        self.a.idle();
        self.a.bind(mis);
        self.fault_with(Fault::InstructionMisaligned, T2);
    }

    fn jalr(&mut self, entry: Label) {
        self.a.bind(entry);
        self.funct3(T1);
        self.a.bne(T1, U0, self.l.illegal);
        self.rs1(X);
        self.a.srai(Y, IW, 20);
        self.a.add(T2, X, Y);
        self.a.andi(T2, T2, -2);
        self.link_and_jump();
    }

    fn fence(&mut self, entry: Label) {
        self.a.bind(entry);
        self.funct3(T1);
        self.a.bne(T1, U0, self.l.illegal);
        self.next();
    }

    fn system(&mut self, entry: Label) {
        let a = &mut self.a;
        let (ecall, ebreak) = (a.label("ecall"), a.label("ebreak"));
        let (exit, write, read) = (
            a.label("sys.exit"),
            a.label("sys.write"),
            a.label("sys.read"),
        );
        let ret_a0 = a.label("sys.return");
        let (ebadf, efault) = (a.label("sys.ebadf"), a.label("sys.efault"));
        a.bind(entry);
        a.xori(T0, IW, 0x73);
        a.beq(T0, U0, ecall);
        a.xori(T0, IW, 0x0010_0073);
        a.beq(T0, U0, ebreak);
        a.j(self.l.illegal);
        a.bind(ebreak);
        self.fault_with(Fault::Breakpoint, PC);

        let a = &mut self.a;
        a.bind(ecall);
        a.ldd(T0, U0, c(ctrl::X + 8 * 17));
        a.xori(T1, T0, sys::EXIT as i64);
        a.beq(T1, U0, exit);
        a.xori(T1, T0, sys::WRITE as i64);
        a.beq(T1, U0, write);
        a.xori(T1, T0, sys::READ as i64);
        a.beq(T1, U0, read);
        self.fault_with(Fault::UnknownSyscall, T0);

        let a = &mut self.a;
        a.bind(exit);
        a.comment("exit(a0): status = exited, halt_code = a0, tval = 0; pc stays");
        a.ldd(T0, U0, c(ctrl::X + 8 * 10));
        a.li(T1, status::EXITED as i64);
        a.std(U0, c(ctrl::STATUS), T1);
        a.std(U0, c(ctrl::HALT_CODE), T0);
        a.std(U0, c(ctrl::TVAL), U0);
        a.idle();

        // write(fd = X, buf = Y, len = N), in Linux's order: a bad fd is
        // EBADF, a zero length 0, a buffer not wholly in memory EFAULT
        // (the whole range, before any short write), a full log ENOSPC.
        let (fd_ok, nonzero) = (a.label("write.fd-ok"), a.label("write.nonzero"));
        a.bind(write);
        a.ldd(X, U0, c(ctrl::X + 8 * 10));
        a.ldd(Y, U0, c(ctrl::X + 8 * 11));
        a.ldd(N, U0, c(ctrl::X + 8 * 12));
        a.comment("fd is an unsigned int: its upper 32 bits are ignored");
        a.andi(X, X, 0xffff_ffff);
        a.xori(T0, X, 1);
        a.beq(T0, U0, fd_ok);
        a.xori(T0, X, 2);
        a.bne(T0, U0, ebadf);
        a.bind(fd_ok);
        a.li(R, 0);
        a.beq(N, U0, ret_a0);
        self.check_buffer(Y, N, efault);
        let a = &mut self.a;
        a.ldd(HI, U0, c(ctrl::OUTPUT_LEN));
        a.comment("LO = min(len, IO_CHUNK, IO_CAPACITY - output_len (saturating))");
        self.min_chunk();
        let a = &mut self.a;
        let (sat, fits) = (a.label("write.full"), a.label("write.fits"));
        a.li(T0, IO_CAPACITY as i64);
        a.li(T1, 0);
        a.bgeu(HI, T0, sat);
        a.sub(T1, T0, HI);
        a.bind(sat);
        a.bltu(LO, T1, fits);
        a.mv(LO, T1);
        a.bind(fits);
        a.bne(LO, U0, nonzero);
        a.comment("nothing to move although len > 0: the log is full");
        a.li(R, sys::ENOSPC as i64);
        a.j(ret_a0);
        a.bind(nonzero);
        a.mv(T0, Y);
        a.addi(T1, HI, OUTPUT_BASE as i64);
        a.mv(N, LO);
        a.call(LINK, self.l.copy);
        a.add(HI, HI, LO);
        a.std(U0, c(ctrl::OUTPUT_LEN), HI);
        a.mv(R, LO);
        a.j(ret_a0);

        // read(fd = X, buf = Y, len = N): EBADF, then 0 for a zero length,
        // then EFAULT unless all of [buf, buf + len) is in memory and
        // clear of the write-protected pages (before any short read, and
        // at the end of the input too), then 0 at the end of the input.
        let avail_zero = a.label("read.no-input");
        let fits = a.label("read.fits");
        a.bind(read);
        a.ldd(X, U0, c(ctrl::X + 8 * 10));
        a.ldd(Y, U0, c(ctrl::X + 8 * 11));
        a.ldd(N, U0, c(ctrl::X + 8 * 12));
        a.comment("fd is an unsigned int: its upper 32 bits are ignored");
        a.andi(X, X, 0xffff_ffff);
        a.bne(X, U0, ebadf);
        a.li(R, 0);
        a.beq(N, U0, ret_a0);
        self.check_buffer(Y, N, efault);
        self.check_ro_overlap(Y, N, efault);
        self.min_chunk();
        let a = &mut self.a;
        a.comment("LO = min(LO, input_len - input_pos (saturating))");
        a.ldd(T2, U0, c(ctrl::INPUT_LEN));
        a.ldd(HI, U0, c(ctrl::INPUT_POS));
        a.li(T1, 0);
        a.bgeu(HI, T2, avail_zero);
        a.sub(T1, T2, HI);
        a.bind(avail_zero);
        a.bltu(LO, T1, fits);
        a.mv(LO, T1);
        a.bind(fits);
        a.li(R, 0);
        a.beq(LO, U0, ret_a0);
        a.addi(T0, HI, INPUT_BASE as i64);
        a.mv(T1, Y);
        a.mv(N, LO);
        a.call(LINK, self.l.copy);
        a.add(HI, HI, LO);
        a.std(U0, c(ctrl::INPUT_POS), HI);
        a.mv(R, LO);
        a.j(ret_a0);

        a.bind(ebadf);
        a.li(R, sys::EBADF as i64);
        a.j(ret_a0);
        a.bind(efault);
        a.li(R, sys::EFAULT as i64);
        a.bind(ret_a0);
        a.std(U0, c(ctrl::X + 8 * 10), R);
        self.next();
    }

    /// `LO = min(N, IO_CHUNK)`.
    fn min_chunk(&mut self) {
        let a = &mut self.a;
        let small = a.label("chunk.small");
        a.mv(LO, N);
        a.sltiu(T0, N, sys::IO_CHUNK as i64);
        a.bne(T0, U0, small);
        a.li(LO, sys::IO_CHUNK as i64);
        a.bind(small);
    }

    /// EFAULT unless all of `[buf, buf + len)` is guest memory: `buf <
    /// MEM_SIZE` and `MEM_SIZE - buf >= len` (no wrap-around). Clobbers T0.
    fn check_buffer(&mut self, buf: Reg, len: Reg, efault: Label) {
        let a = &mut self.a;
        a.li(T0, MEM_SIZE as i64);
        a.bgeu(buf, T0, efault);
        a.sub(T0, T0, buf);
        a.bltu(T0, len, efault);
    }

    /// Copies N bytes from `S` address T0 to T1, eight at a time, then one
    /// at a time. Clobbers T0..T3, N.
    fn sub_copy(&mut self) {
        let a = &mut self.a;
        let (eight, one, done) = (
            a.label("copy.eight"),
            a.label("copy.one"),
            a.label("copy.done"),
        );
        a.bind(self.l.copy);
        a.bind(eight);
        a.sltiu(T2, N, 8);
        a.bne(T2, U0, one);
        for k in 0..8 {
            a.ld(B, T3, T0, k);
            a.st(B, T1, k, T3);
        }
        a.addi(T0, T0, 8);
        a.addi(T1, T1, 8);
        a.addi(N, N, -8);
        a.j(eight);
        a.bind(one);
        a.beq(N, U0, done);
        a.ld(B, T3, T0, 0);
        a.st(B, T1, 0, T3);
        a.addi(T0, T0, 1);
        a.addi(T1, T1, 1);
        a.addi(N, N, -1);
        a.j(one);
        a.bind(done);
        a.ret(LINK);
    }

    fn faults(&mut self) {
        let a = &mut self.a;
        a.bind(self.l.illegal);
        a.comment("illegal instruction: tval = the 32-bit instruction word");
        a.andi(T3, IW, 0xffff_ffff);
        a.li(T2, Fault::IllegalInstruction.code() as i64);
        a.bind(self.l.fault);
        a.comment("fault: status = faulted, halt_code = T2, tval = T3; nothing else changes");
        a.li(T0, status::FAULTED as i64);
        a.std(U0, c(ctrl::STATUS), T0);
        a.std(U0, c(ctrl::HALT_CODE), T2);
        a.std(U0, c(ctrl::TVAL), T3);
        a.idle();
    }
}

trait BranchExt {
    fn bge_zero(&mut self, r: Reg, to: Label);
}

impl BranchExt for Asm {
    /// Branch if `r >= 0` (signed).
    fn bge_zero(&mut self, r: Reg, to: Label) {
        self.br(super::isa::cond::GE, r, U0, to)
    }
}

/// Assembles the RV64IM interpreter.
pub fn assemble() -> Result<Program, AsmError> {
    let mut a = Asm::new();
    let l = Labels {
        illegal: a.label("illegal"),
        fault: a.label("fault"),
        mul: a.label("mul"),
        mulhu: a.label("mulhu"),
        divu: a.label("divu"),
        div_signed: a.label("div-signed"),
        copy: a.label("copy"),
    };
    let mut b = Builder { a, l };
    let fetch = b.a.label("fetch");
    let idle = b.a.label("idle");
    let opcode_table = b.a.label("opcode.table");
    b.a.bind(fetch);
    b.fetch(opcode_table, idle);
    b.a.bind(idle);
    b.a.idle();

    let handlers: Vec<(u32, Label)> = [
        (0x03, "load"),
        (0x0f, "misc-mem"),
        (0x13, "op-imm"),
        (0x17, "auipc"),
        (0x1b, "op-imm-32"),
        (0x23, "store"),
        (0x33, "op"),
        (0x37, "lui"),
        (0x3b, "op-32"),
        (0x63, "branch"),
        (0x67, "jalr"),
        (0x6f, "jal"),
        (0x73, "system"),
    ]
    .into_iter()
    .map(|(o, n)| (o, b.a.label(n)))
    .collect();
    let h = |o: u32| handlers.iter().find(|(x, _)| *x == o).map(|(_, l)| *l);
    b.a.bind(opcode_table);
    let entries: Vec<Label> = (0..128u32).map(|o| h(o).unwrap_or(b.l.illegal)).collect();
    b.a.table(&entries);

    let get = |o: u32| h(o).unwrap_or(b.l.illegal);
    let (load, fence, op_imm, auipc, op_imm32, store, op, lui, op32, branch, jalr, jal, system) = (
        get(0x03),
        get(0x0f),
        get(0x13),
        get(0x17),
        get(0x1b),
        get(0x23),
        get(0x33),
        get(0x37),
        get(0x3b),
        get(0x63),
        get(0x67),
        get(0x6f),
        get(0x73),
    );
    b.lui_auipc(lui, auipc);
    b.op_imm(op_imm);
    b.op_imm32(op_imm32);
    b.op(op);
    b.op32(op32);
    b.load(load);
    b.store(store);
    b.branch(branch);
    b.jal(jal);
    b.jalr(jalr);
    b.fence(fence);
    b.system(system);
    b.sub_mul();
    b.sub_mulhu();
    b.sub_divu();
    b.sub_div_signed();
    b.sub_copy();
    b.faults();
    b.a.finish()
}

/// The assembled microcode with its Merkle commitment.
///
/// The microcode is committed as a Merkle tree of 32-byte leaves, four
/// little-endian 64-bit micro-instructions per leaf, padded with zero words
/// (= `IDLE`) to `SLOTS = 4 * 2^depth` slots. `upc` fetches slot
/// `upc mod SLOTS`.
pub struct Microcode {
    /// The program.
    pub program: Program,
    /// Micro-instructions padded to `slots`.
    pub words: Vec<u64>,
    /// Number of slots (a power of two, at least 4).
    pub slots: u64,
    /// Depth of the tree (number of siblings in a fetch proof).
    pub depth: u32,
    /// Merkle root.
    pub root: Hash,
    /// All tree levels, leaves first (for proofs).
    levels: Vec<Vec<Hash>>,
}

impl Microcode {
    /// Builds the commitment of an assembled program.
    pub fn new(program: Program) -> Microcode {
        let slots = (program.words.len().max(4) as u64).next_power_of_two();
        let mut words = program.words.clone();
        words.resize(slots as usize, 0);
        let leaves: Vec<Hash> = words.chunks(4).map(|c| hash_leaf(&leaf_bytes(c))).collect();
        let mut levels = vec![leaves];
        while levels.last().map_or(0, Vec::len) > 1 {
            let prev = levels.last().cloned().unwrap_or_default();
            levels.push(prev.chunks(2).map(|p| hash_node(&p[0], &p[1])).collect());
        }
        let root = levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or_default();
        Microcode {
            program,
            depth: levels.len() as u32 - 1,
            words,
            slots,
            root,
            levels,
        }
    }

    /// The word at slot `upc mod slots`.
    #[inline(always)]
    pub fn fetch(&self, upc: u64) -> u64 {
        self.words[(upc & (self.slots - 1)) as usize]
    }

    /// A proof of the leaf holding slot `upc mod slots`.
    pub fn prove(&self, upc: u64) -> crate::proof::LeafProof {
        let slot = upc & (self.slots - 1);
        let leaf_index = slot / 4;
        let base = (leaf_index * 4) as usize;
        let siblings = (0..self.depth as usize)
            .map(|h| self.levels[h][((leaf_index >> h) ^ 1) as usize])
            .collect();
        crate::proof::LeafProof {
            index: leaf_index,
            leaf: leaf_bytes(&self.words[base..base + 4]),
            siblings,
        }
    }

    /// A listing: address, label, disassembly, comments.
    pub fn listing(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for (i, w) in self.program.words.iter().enumerate() {
            for (_, n) in self.program.names.iter().filter(|(a, _)| *a == i) {
                let _ = writeln!(out, "{n}:");
            }
            for (_, c) in self.program.comments.iter().filter(|(a, _)| *a == i) {
                let _ = writeln!(out, "        ; {c}");
            }
            let u = super::isa::Uop::decode(*w);
            let target = match u.op {
                super::isa::op::BR => Some(u.imm),
                super::isa::op::JAL if u.ra == 0 => Some(u.imm),
                _ => None,
            };
            let name = target.and_then(|t| {
                self.program
                    .names
                    .iter()
                    .find(|(a, _)| *a as i64 == t)
                    .map(|(_, n)| n.as_str())
            });
            let _ = match name {
                Some(n) => writeln!(out, "{i:5}  {w:016x}  {:<36} ; -> {n}", u.disassemble()),
                None => writeln!(out, "{i:5}  {w:016x}  {}", u.disassemble()),
            };
        }
        out
    }
}

fn leaf_bytes(words: &[u64]) -> [u8; LEAF_BYTES] {
    let mut leaf = [0u8; LEAF_BYTES];
    for (i, w) in words.iter().take(4).enumerate() {
        leaf[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    leaf
}

/// The microcode of this build (assembled once).
pub fn microcode() -> &'static Microcode {
    static M: OnceLock<Microcode> = OnceLock::new();
    M.get_or_init(|| {
        Microcode::new(assemble().expect("the microcode assembles (checked by a unit test)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microcode_assembles_and_commits() {
        let m = Microcode::new(assemble().expect("assembles"));
        assert!(m.slots.is_power_of_two());
        for upc in [0u64, 1, 5, m.program.words.len() as u64 - 1, m.slots + 3] {
            let p = m.prove(upc);
            assert_eq!(p.root(), m.root);
            assert_eq!(p.word((upc % 4) as usize), m.fetch(upc));
        }
    }
}
