//! The microcode: an RV64IMAC interpreter written in the micro-ISA.
//!
//! It is an independent implementation of the semantics that machine A
//! implements in the `mswap` crate's `fast` module (it shares only the state layout of
//! [`crate::layout`]). One run of the microcode from `upc = 0` executes one
//! RV64IMAC instruction of `S` and ends at an `IDLE`:
//!
//! 1. **fetch**: if `status != 0` idle; load `pc`; fault unless
//!    `pc - exec_lo < exec_size` (unsigned) and `pc` is even; load the
//!    halfword at `pc`; if its low bits are `11` the instruction is 32 bits
//!    long: fault unless `pc + 2` is in the range too, and load the halfword
//!    at `pc + 2` above it (sign-extended). `ILEN` = 4, or 2 for a
//!    compressed instruction;
//! 2. **dispatch** on the 7-bit opcode through a 128-entry jump table, then
//!    on `funct3` (and `funct7`) through smaller tables. A compressed
//!    instruction is dispatched on `funct3:quadrant` (32 entries), rewritten
//!    into its 32-bit expansion and handed to that instruction's handler
//!    (jumps and branches enter their handlers after the immediate);
//! 3. **execute**: read operands from the register words of `S`, compute,
//!    write `x[rd]` (never `x0`) and `pc`;
//! 4. a **fault** writes `status = 2`, `halt_code = cause`, `tval` and
//!    nothing else (pc stays, no register changes).
//!
//! Multiplication is shift-and-add, division is restoring division, both on
//! 64-bit micro-registers; `mulh*` keeps a 128-bit product in two registers.
//! System calls copy bytes one micro-op at a time (loop unrolled by 8).
//! A misaligned load reads the two aligned words around it and shifts; a
//! misaligned store writes byte by byte after all checks passed. The LR/SC
//! reservation is the control word `reservation` of `S`.
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
/// Length of the current instruction in bytes (4, or 2 if compressed).
const ILEN: Reg = Reg(14);
/// Sign flags of the signed M operations (a temporary that `divu` keeps).
const SG: Reg = T3;
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
    /// `pc += ILEN`, done.
    next: Label,
    /// The jal handler after its immediate: `T2` = offset.
    jal_target: Label,
    /// The branch handler's taken path after its immediate: `T2` = offset.
    branch_target: Label,
    /// The compressed-instruction dispatch.
    rvc: Label,
    /// Handlers of 32-bit opcodes that compressed instructions expand to.
    load: Label,
    store: Label,
    op_imm: Label,
    op_imm32: Label,
    op: Label,
    op32: Label,
    lui: Label,
    jalr: Label,
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
        a.add(PC, PC, ILEN);
        a.std(U0, c(ctrl::PC), PC);
        a.idle();
    }

    /// `x[rd] = R` unless rd is x0, then `pc += ILEN`, done.
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
    /// (the wrapping overlap test of machine A's `fast::overlaps`). Clobbers T0, T2, T3.
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

    /// `pc = target`, done. Targets are always even (see the branch and
    /// jump handlers), so no jump is misaligned with compressed instructions.
    fn jump_to(&mut self, target: Reg) {
        self.a.std(U0, c(ctrl::PC), target);
        self.a.idle();
    }

    // ----- the interpreter -----

    fn fetch(&mut self, opcode_table: Label, idle: Label) {
        let a = &mut self.a;
        let bad_fetch = a.label("fetch.fault");
        a.comment("fetch: a halted machine only idles");
        a.ldd(T0, U0, c(ctrl::STATUS));
        a.bne(T0, U0, idle);
        a.ldd(PC, U0, c(ctrl::PC));
        a.comment("pc - exec_lo < exec_size and pc % 2 == 0");
        a.ldd(X, U0, c(ctrl::EXEC_LO));
        a.sub(T0, PC, X);
        a.ldd(Y, U0, c(ctrl::EXEC_SIZE));
        a.bgeu(T0, Y, bad_fetch);
        a.andi(T0, PC, 1);
        a.bne(T0, U0, bad_fetch);
        a.ld(H, IW, PC, 0);
        a.li(ILEN, 2);
        a.andi(T0, IW, 3);
        a.xori(T0, T0, 3);
        a.bne(T0, U0, self.l.rvc);
        a.comment("a 32-bit instruction: its second half must be in the range too");
        a.li(ILEN, 4);
        a.addi(T0, PC, 2);
        a.sub(T0, T0, X);
        a.bgeu(T0, Y, bad_fetch);
        a.ld(H | SIGNED, T0, PC, 2);
        a.slli(T0, T0, 16);
        a.or(IW, IW, T0);
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
    /// (`/0 = -1`, `%0 = X`, overflow wraps). Clobbers T0..T3, N, X, Y.
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
        let access = self.a.label("load.access");
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
            self.a.srli(T0, X, 32);
            self.a.bne(T0, U0, access);
            if bytes > 1 {
                let mis = self.a.label("load.misaligned");
                self.check_aligned(X, bytes - 1, mis);
                self.a.ld(if signed { sz | SIGNED } else { sz }, R, X, 0);
                self.writeback();
                self.a.bind(mis);
                self.a
                    .comment("misaligned: the last byte must be in memory too");
                self.a.addi(T0, X, bytes - 1);
                self.a.srli(T0, T0, 32);
                self.a.bne(T0, U0, access);
                self.a
                    .comment("R = (word(X) >> 8*(X%8)) | (word(X+8) << (64 - 8*(X%8))), X%8 != 0");
                self.a.andi(T1, X, 7);
                self.a.slli(T1, T1, 3);
                self.a.ldd(T2, X, 0);
                self.a.ldd(T3, X, 8);
                self.a.srl(T2, T2, T1);
                self.a.sub(T1, U0, T1);
                self.a.sll(T3, T3, T1);
                self.a.or(R, T2, T3);
                if bytes < 8 {
                    let keep = 64 - 8 * bytes;
                    self.a.slli(R, R, keep);
                    if signed {
                        self.a.srai(R, R, keep);
                    } else {
                        self.a.srli(R, R, keep);
                    }
                }
            } else {
                self.a.ld(if signed { sz | SIGNED } else { sz }, R, X, 0);
            }
            self.writeback();
        }
        self.a.bind(access);
        self.fault_with(Fault::LoadAccess, X);
    }

    fn store(&mut self, entry: Label) {
        let ill = self.l.illegal;
        let names = ["sb", "sh", "sw", "sd"];
        let ls: Vec<Label> = names.iter().map(|n| self.a.label(n)).collect();
        let table = self.a.label("store.table");
        let access = self.a.label("store.access");
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
            self.a.srli(T0, X, 32);
            self.a.bne(T0, U0, access);
            if bytes > 1 {
                self.a.addi(T0, X, bytes - 1);
                self.a.srli(T0, T0, 32);
                self.a.bne(T0, U0, access);
            }
            self.a.li(N, bytes);
            self.check_ro_overlap(X, N, access);
            if bytes > 1 {
                let mis = self.a.label("store.misaligned");
                self.check_aligned(X, bytes - 1, mis);
                self.a.st(sz, X, 0, Y);
                self.next();
                self.a.bind(mis);
                self.a
                    .comment("misaligned: byte by byte, every check passed");
                for k in 0..bytes {
                    self.a.srli(T1, Y, 8 * k);
                    self.a.st(B, X, k, T1);
                }
            } else {
                self.a.st(sz, X, 0, Y);
            }
            self.next();
        }
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
        self.a.j(self.l.next);
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
        self.a.bind(self.l.branch_target);
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
        self.a.bind(self.l.jal_target);
        self.a.add(T2, PC, T2);
        self.link_and_jump();
    }

    /// Jump to T2: `x[rd] = pc + ILEN; pc = T2`.
    fn link_and_jump(&mut self) {
        let skip = self.a.label("jump.no-link");
        self.rd();
        self.a.beq(RD, U0, skip);
        self.a.add(R, PC, ILEN);
        self.a.std(RD, c(ctrl::X), R);
        self.a.bind(skip);
        self.a.std(U0, c(ctrl::PC), T2);
        self.a.idle();
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

    /// `fence` (funct3 0) and `fence.i` (funct3 1) order nothing on one
    /// hart whose stores take effect at once.
    fn fence(&mut self, entry: Label) {
        self.a.bind(entry);
        self.funct3(T1);
        self.a.sltiu(T0, T1, 2);
        self.a.beq(T0, U0, self.l.illegal);
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

    /// `R |= ((IW >> lo) & (2^n - 1)) << at`: moves a field of the
    /// instruction (zero-extended in `IW`) into place. Clobbers T0.
    fn place(&mut self, lo: i64, n: i64, at: i64) {
        self.field(T0, lo, n, at);
        self.a.or(R, R, T0);
    }

    /// `dst = ((IW >> lo) & (2^n - 1)) << at`.
    fn field(&mut self, dst: Reg, lo: i64, n: i64, at: i64) {
        let mask = ((1i64 << n) - 1) << at;
        match at - lo {
            0 => self.a.andi(dst, IW, mask),
            d if d > 0 => {
                self.a.slli(dst, IW, d);
                self.a.andi(dst, dst, mask);
            }
            d => {
                self.a.srli(dst, IW, -d);
                self.a.andi(dst, dst, mask);
            }
        }
    }

    /// `R = fields`, each `(lo, n, at)` as in [`Builder::place`].
    fn gather(&mut self, fields: &[(i64, i64, i64)]) {
        let Some((&(lo, n, at), rest)) = fields.split_first() else {
            self.a.li(R, 0);
            return;
        };
        self.field(R, lo, n, at);
        for &(lo, n, at) in rest {
            self.place(lo, n, at);
        }
    }

    /// Sign-extends `R` from bit `bits - 1`, then shifts it left by `at`.
    fn sext_at(&mut self, bits: i64, at: i64) {
        self.a.slli(R, R, 64 - bits);
        self.a.srai(R, R, 64 - bits - at);
    }

    /// Hands the expansion in `R` (sign-extended) to a 32-bit handler.
    fn expanded(&mut self, handler: Label) {
        self.a.mv(IW, R);
        self.a.j(handler);
    }

    /// The compressed instructions (RVC): `IW` holds the 16-bit word.
    /// Each is rewritten into its 32-bit expansion (the same instruction
    /// as the specification's expansion table) and handed on; reserved
    /// encodings and the floating-point ones are illegal (`tval` = the
    /// 16-bit word, since `IW` is unchanged until the hand-over).
    fn rvc(&mut self) {
        let ill = self.l.illegal;
        let names = [
            "c.addi4spn",
            "c.addi",
            "c.slli",
            "c.fld",
            "c.addiw",
            "c.fldsp",
            "c.lw",
            "c.li",
            "c.lwsp",
            "c.ld",
            "c.addi16sp/lui",
            "c.ldsp",
            "c.res",
            "c.misc-alu",
            "c.cr",
            "c.fsd",
            "c.j",
            "c.fsdsp",
            "c.sw",
            "c.beqz",
            "c.swsp",
            "c.sd",
            "c.bnez",
            "c.sdsp",
        ];
        let mut entries = Vec::new();
        let mut ls = Vec::new();
        for f3 in 0..8 {
            for q in 0..4 {
                if q == 3 {
                    entries.push(ill);
                    continue;
                }
                let name = names[(f3 * 3 + q) as usize];
                let l = if name.starts_with("c.f") || name == "c.res" {
                    ill
                } else {
                    self.a.label(name)
                };
                entries.push(l);
                ls.push((f3 * 4 + q, l));
            }
        }
        let at = |i: i64| {
            ls.iter()
                .find(|(k, _)| *k == i)
                .map(|(_, l)| *l)
                .unwrap_or(ill)
        };
        let table = self.a.label("rvc.table");
        self.a.bind(self.l.rvc);
        self.a
            .comment("index = funct3 (bits 15:13) * 4 + quadrant (bits 1:0)");
        self.a.srli(T1, IW, 11);
        self.a.andi(T1, T1, 0x1c);
        self.a.andi(T0, IW, 3);
        self.a.or(T1, T1, T0);
        self.a.jump_table(T1, table);
        self.a.bind(table);
        self.a.table(&entries);

        // Register fields: rd/rs1 (11:7), rs2 (6:2), rd'/rs2' (4:2), rs1' (9:7).
        const RD_AT_7: (i64, i64, i64) = (7, 5, 7);
        const RD_AT_15: (i64, i64, i64) = (7, 5, 15);
        const RS2_AT_20: (i64, i64, i64) = (2, 5, 20);
        const RDP_AT_7: (i64, i64, i64) = (2, 3, 7);
        const RDP_AT_20: (i64, i64, i64) = (2, 3, 20);
        const RS1P_AT_15: (i64, i64, i64) = (7, 3, 15);
        const RS1P_AT_7: (i64, i64, i64) = (7, 3, 7);
        // x8 in the rd, rs1 and rs2 positions (the primed registers are x8..x15).
        const P7: i64 = 8 << 7;
        const P15: i64 = 8 << 15;
        const P20: i64 = 8 << 20;

        // Quadrant 0.
        self.a.bind(at(0));
        self.a
            .comment("c.addi4spn: addi rd', x2, nzuimm[9:2]; nzuimm == 0 is reserved");
        self.gather(&[(11, 2, 4), (7, 4, 6), (6, 1, 2), (5, 1, 3)]);
        self.a.beq(R, U0, ill);
        self.a.slli(R, R, 20);
        self.place(RDP_AT_7.0, RDP_AT_7.1, RDP_AT_7.2);
        self.a.ori(R, R, P7 | (2 << 15) | 0x13);
        self.expanded(self.l.op_imm);
        for (i, f3, fields) in [
            (2 * 4, 2, &[(10, 3, 23), (6, 1, 22), (5, 1, 26)][..]),
            (3 * 4, 3, &[(10, 3, 23), (5, 2, 26)][..]),
        ] {
            self.a.bind(at(i));
            self.a.comment("c.lw / c.ld: load rd', off(rs1')");
            self.gather(fields);
            self.place(RS1P_AT_15.0, RS1P_AT_15.1, RS1P_AT_15.2);
            self.place(RDP_AT_7.0, RDP_AT_7.1, RDP_AT_7.2);
            self.a.ori(R, R, P15 | P7 | (f3 << 12) | 0x03);
            self.expanded(self.l.load);
        }
        for (i, f3, fields) in [
            (
                6 * 4,
                2,
                &[(10, 2, 10), (12, 1, 25), (6, 1, 9), (5, 1, 26)][..],
            ),
            (7 * 4, 3, &[(10, 2, 10), (12, 1, 25), (5, 2, 26)][..]),
        ] {
            self.a.bind(at(i));
            self.a.comment("c.sw / c.sd: store rs2', off(rs1')");
            self.gather(fields);
            self.place(RS1P_AT_15.0, RS1P_AT_15.1, RS1P_AT_15.2);
            self.place(RDP_AT_20.0, RDP_AT_20.1, RDP_AT_20.2);
            self.a.ori(R, R, P20 | P15 | (f3 << 12) | 0x23);
            self.expanded(self.l.store);
        }

        // Quadrant 1.
        let imm6 = [(12, 1, 5), (2, 5, 0)];
        self.a.bind(at(1));
        self.a
            .comment("c.addi: addi rd, rd, imm6 (c.nop and hints included)");
        self.gather(&imm6);
        self.sext_at(6, 20);
        self.place(RD_AT_15.0, RD_AT_15.1, RD_AT_15.2);
        self.place(RD_AT_7.0, RD_AT_7.1, RD_AT_7.2);
        self.a.ori(R, R, 0x13);
        self.expanded(self.l.op_imm);
        self.a.bind(at(4 + 1));
        self.a
            .comment("c.addiw: addiw rd, rd, imm6; rd == 0 is reserved");
        self.a.andi(T0, IW, 0xf80);
        self.a.beq(T0, U0, ill);
        self.gather(&imm6);
        self.sext_at(6, 20);
        self.place(RD_AT_15.0, RD_AT_15.1, RD_AT_15.2);
        self.place(RD_AT_7.0, RD_AT_7.1, RD_AT_7.2);
        self.a.ori(R, R, 0x1b);
        self.expanded(self.l.op_imm32);
        self.a.bind(at(2 * 4 + 1));
        self.a.comment("c.li: addi rd, x0, imm6");
        self.gather(&imm6);
        self.sext_at(6, 20);
        self.place(RD_AT_7.0, RD_AT_7.1, RD_AT_7.2);
        self.a.ori(R, R, 0x13);
        self.expanded(self.l.op_imm);
        self.a.bind(at(3 * 4 + 1));
        let lui = self.a.label("c.lui");
        self.a.andi(T0, IW, 0xf80);
        self.a.xori(T0, T0, 2 << 7);
        self.a.bne(T0, U0, lui);
        self.a
            .comment("c.addi16sp: addi x2, x2, nzimm[9:4]; nzimm == 0 is reserved");
        self.gather(&[(12, 1, 9), (6, 1, 4), (5, 1, 6), (3, 2, 7), (2, 1, 5)]);
        self.a.beq(R, U0, ill);
        self.sext_at(10, 20);
        self.a.ori(R, R, (2 << 15) | (2 << 7) | 0x13);
        self.expanded(self.l.op_imm);
        self.a.bind(lui);
        self.a
            .comment("c.lui: lui rd, nzimm[17:12]; nzimm == 0 is reserved");
        self.gather(&imm6);
        self.a.beq(R, U0, ill);
        self.sext_at(6, 12);
        self.place(RD_AT_7.0, RD_AT_7.1, RD_AT_7.2);
        self.a.ori(R, R, 0x37);
        self.expanded(self.l.lui);

        self.a.bind(at(4 * 4 + 1));
        let (andi, arith) = (self.a.label("c.andi"), self.a.label("c.arith"));
        let srli = self.a.label("c.srli/srai");
        let sub_table = self.a.label("c.misc-alu.table");
        self.a.srli(T1, IW, 10);
        self.a.andi(T1, T1, 3);
        self.a.jump_table(T1, sub_table);
        self.a.bind(sub_table);
        self.a.table(&[srli, srli, andi, arith]);
        self.a.bind(srli);
        self.a
            .comment("c.srli / c.srai: srli/srai rd', rd', shamt6 (bit 10 -> funct6 0x10)");
        self.gather(&[(12, 1, 25), (2, 5, 20), (10, 1, 30)]);
        self.place(RS1P_AT_15.0, RS1P_AT_15.1, RS1P_AT_15.2);
        self.place(RS1P_AT_7.0, RS1P_AT_7.1, RS1P_AT_7.2);
        self.a.ori(R, R, P15 | P7 | (5 << 12) | 0x13);
        self.expanded(self.l.op_imm);
        self.a.bind(andi);
        self.a.comment("c.andi: andi rd', rd', imm6");
        self.gather(&imm6);
        self.sext_at(6, 20);
        self.place(RS1P_AT_15.0, RS1P_AT_15.1, RS1P_AT_15.2);
        self.place(RS1P_AT_7.0, RS1P_AT_7.1, RS1P_AT_7.2);
        self.a.ori(R, R, P15 | P7 | (7 << 12) | 0x13);
        self.expanded(self.l.op_imm);
        self.a.bind(arith);
        self.a.comment(
            "c.sub c.xor c.or c.and c.subw c.addw: OP rd', rd', rs2' by bit 12 and bits 6:5",
        );
        let arith_table = self.a.label("c.arith.table");
        let arith_ls: Vec<(Label, i64, Label)> = [
            ("c.sub", 0x4000_0033, self.l.op),
            ("c.xor", 0x0000_4033, self.l.op),
            ("c.or", 0x0000_6033, self.l.op),
            ("c.and", 0x0000_7033, self.l.op),
            ("c.subw", 0x4000_003b, self.l.op32),
            ("c.addw", 0x0000_003b, self.l.op32),
        ]
        .into_iter()
        .map(|(n, base, h)| (self.a.label(n), base, h))
        .collect();
        self.a.srli(T1, IW, 10);
        self.a.andi(T1, T1, 4);
        self.a.srli(T0, IW, 5);
        self.a.andi(T0, T0, 3);
        self.a.or(T1, T1, T0);
        self.a.jump_table(T1, arith_table);
        self.a.bind(arith_table);
        let mut t: Vec<Label> = arith_ls.iter().map(|x| x.0).collect();
        t.extend([ill, ill]);
        self.a.table(&t);
        for (l, base, handler) in arith_ls {
            self.a.bind(l);
            self.gather(&[RS1P_AT_15, RS1P_AT_7, RDP_AT_20]);
            self.a.ori(R, R, P20 | P15 | P7 | base);
            self.expanded(handler);
        }

        self.a.bind(at(5 * 4 + 1));
        self.a
            .comment("c.j: jal x0, off[11:1]; enters jal after its immediate (T2 = off)");
        self.gather(&[
            (12, 1, 11),
            (11, 1, 4),
            (9, 2, 8),
            (8, 1, 10),
            (7, 1, 6),
            (6, 1, 7),
            (3, 3, 1),
            (2, 1, 5),
        ]);
        self.sext_at(12, 0);
        self.a.mv(T2, R);
        self.a.li(IW, 0x6f);
        self.a.j(self.l.jal_target);
        for (i, beqz) in [(6 * 4 + 1, true), (7 * 4 + 1, false)] {
            self.a.bind(at(i));
            self.a
                .comment("c.beqz / c.bnez: x[rs1'] ==/!= 0; enters the branch after its immediate");
            self.gather(&[(12, 1, 8), (10, 2, 3), (5, 2, 6), (3, 2, 1), (2, 1, 5)]);
            self.sext_at(9, 0);
            self.a.mv(T2, R);
            self.a.srli(T0, IW, 4);
            self.a.andi(T0, T0, 0x38);
            self.a.ldd(X, T0, c(ctrl::X + 64));
            if beqz {
                self.a.beq(X, U0, self.l.branch_target);
            } else {
                self.a.bne(X, U0, self.l.branch_target);
            }
            self.a.j(self.l.next);
        }

        // Quadrant 2.
        self.a.bind(at(2));
        self.a.comment("c.slli: slli rd, rd, shamt6");
        self.gather(&[(12, 1, 25), (2, 5, 20), RD_AT_15, RD_AT_7]);
        self.a.ori(R, R, (1 << 12) | 0x13);
        self.expanded(self.l.op_imm);
        for (i, f3, fields) in [
            (2 * 4 + 2, 2, &[(12, 1, 25), (4, 3, 22), (2, 2, 26)][..]),
            (3 * 4 + 2, 3, &[(12, 1, 25), (5, 2, 23), (2, 3, 26)][..]),
        ] {
            self.a.bind(at(i));
            self.a
                .comment("c.lwsp / c.ldsp: load rd, off(x2); rd == 0 is reserved");
            self.a.andi(T0, IW, 0xf80);
            self.a.beq(T0, U0, ill);
            self.gather(fields);
            self.place(RD_AT_7.0, RD_AT_7.1, RD_AT_7.2);
            self.a.ori(R, R, (2 << 15) | (f3 << 12) | 0x03);
            self.expanded(self.l.load);
        }
        self.a.bind(at(4 * 4 + 2));
        let (bit12, mv, jalr, ebreak) = (
            self.a.label("c.bit12"),
            self.a.label("c.mv"),
            self.a.label("c.jalr/add"),
            self.a.label("c.ebreak"),
        );
        self.a.andi(T1, IW, 0x7c);
        self.a.andi(T2, IW, 0xf80);
        self.a.srli(T0, IW, 12);
        self.a.andi(T0, T0, 1);
        self.a.bne(T0, U0, bit12);
        self.a.bne(T1, U0, mv);
        self.a
            .comment("c.jr: jalr x0, 0(rs1); rs1 == 0 is reserved");
        self.a.beq(T2, U0, ill);
        self.gather(&[RD_AT_15]);
        self.a.ori(R, R, 0x67);
        self.expanded(self.l.jalr);
        self.a.bind(mv);
        self.a.comment("c.mv: add rd, x0, rs2");
        self.gather(&[RS2_AT_20, RD_AT_7]);
        self.a.ori(R, R, 0x33);
        self.expanded(self.l.op);
        self.a.bind(bit12);
        self.a.bne(T1, U0, jalr);
        self.a.beq(T2, U0, ebreak);
        self.a.comment("c.jalr: jalr x1, 0(rs1)");
        self.gather(&[RD_AT_15]);
        self.a.ori(R, R, (1 << 7) | 0x67);
        self.expanded(self.l.jalr);
        self.a.bind(jalr);
        self.a.comment("c.add: add rd, rd, rs2");
        self.gather(&[RS2_AT_20, RD_AT_15, RD_AT_7]);
        self.a.ori(R, R, 0x33);
        self.expanded(self.l.op);
        self.a.bind(ebreak);
        self.fault_with(Fault::Breakpoint, PC);
        for (i, f3, fields) in [
            (6 * 4 + 2, 2, &[(9, 3, 9), (12, 1, 25), (7, 2, 26)][..]),
            (7 * 4 + 2, 3, &[(10, 2, 10), (12, 1, 25), (7, 3, 26)][..]),
        ] {
            self.a.bind(at(i));
            self.a.comment("c.swsp / c.sdsp: store rs2, off(x2)");
            self.gather(fields);
            self.place(RS2_AT_20.0, RS2_AT_20.1, RS2_AT_20.2);
            self.a.ori(R, R, (2 << 15) | (f3 << 12) | 0x23);
            self.expanded(self.l.store);
        }
    }

    /// The A extension (opcode `0x2f`): LR/SC and the AMOs, `.w` and `.d`.
    /// All need natural alignment (LR faults as a misaligned load, SC and
    /// the AMOs as a misaligned store); SC and the AMOs need writable
    /// memory. `aq`/`rl` are ignored (one hart).
    fn amo(&mut self, entry: Label) {
        let ill = self.l.illegal;
        let (w, d) = (self.a.label("amo.w"), self.a.label("amo.d"));
        self.a.bind(entry);
        self.funct3(T1);
        self.rs1(X);
        self.rs2(Y);
        self.rd();
        self.a.srli(T2, IW, 27);
        self.a.andi(T2, T2, 31);
        self.a.xori(T0, T1, 2);
        self.a.beq(T0, U0, w);
        self.a.xori(T0, T1, 3);
        self.a.beq(T0, U0, d);
        self.a.j(ill);
        for (width, entry) in [(W, w), (D, d)] {
            let bytes = 1i64 << width;
            let sfx = if width == W { ".w" } else { ".d" };
            let l = |a: &mut Asm, n: &str| a.label(&format!("{n}{sfx}"));
            let (lr, sc, sc_fail) = (
                l(&mut self.a, "lr"),
                l(&mut self.a, "sc"),
                l(&mut self.a, "sc.fail"),
            );
            let (rmw, table) = (l(&mut self.a, "amo.rmw"), l(&mut self.a, "amo.table"));
            let (ld_mis, st_mis, ld_acc, st_acc) = (
                l(&mut self.a, "amo.load-misaligned"),
                l(&mut self.a, "amo.store-misaligned"),
                l(&mut self.a, "amo.load-access"),
                l(&mut self.a, "amo.store-access"),
            );
            // In operation-index order: funct5 / 4, then swap (funct5 1) at 8.
            let ops = [
                (0, "amoadd"),
                (4, "amoxor"),
                (8, "amoor"),
                (12, "amoand"),
                (16, "amomin"),
                (20, "amomax"),
                (24, "amominu"),
                (28, "amomaxu"),
                (1, "amoswap"),
            ];
            let op_ls: Vec<(i64, Label)> = ops
                .iter()
                .map(|&(f, n)| (f, self.a.label(&format!("{n}{sfx}"))))
                .collect();
            let mut entries = vec![ill; 32];
            entries[2] = lr;
            entries[3] = sc;
            for &(f, _) in &ops {
                entries[f as usize] = rmw;
            }
            let loaded = if width == W { W | SIGNED } else { D };

            self.a.bind(entry);
            if width == W {
                self.a.comment(
                    "32-bit operands are compared sign-extended (this keeps unsigned order too)",
                );
                self.sext32(Y);
            }
            self.a.jump_table(T2, table);
            self.a.bind(table);
            self.a.table(&entries);

            self.a.bind(lr);
            self.a.comment("lr: rs2 must be 0; reservation = addr | 1");
            self.a.srli(T0, IW, 20);
            self.a.andi(T0, T0, 31);
            self.a.bne(T0, U0, ill);
            self.check_aligned(X, bytes - 1, ld_mis);
            self.a.srli(T0, X, 32);
            self.a.bne(T0, U0, ld_acc);
            self.a.ld(loaded, R, X, 0);
            self.a.ori(T0, X, 1);
            self.a.std(U0, c(ctrl::RESERVATION), T0);
            self.writeback();

            self.a.bind(sc);
            self.a
                .comment("sc: stores only at the reserved address; the reservation goes");
            self.check_aligned(X, bytes - 1, st_mis);
            self.a.ldd(T1, U0, c(ctrl::RESERVATION));
            self.a.ori(T0, X, 1);
            self.a.bne(T0, T1, sc_fail);
            self.a.srli(T0, X, 32);
            self.a.bne(T0, U0, st_acc);
            self.a.li(N, bytes);
            self.check_ro_overlap(X, N, st_acc);
            self.a.st(width, X, 0, Y);
            self.a.std(U0, c(ctrl::RESERVATION), U0);
            self.a.li(R, 0);
            self.writeback();
            self.a.bind(sc_fail);
            self.a.std(U0, c(ctrl::RESERVATION), U0);
            self.a.li(R, 1);
            self.writeback();

            self.a.bind(rmw);
            self.a.comment(
                "AMO: T1 = operation index (funct5 / 4, swap 8); HI = old (rd), LO = new (stored)",
            );
            self.a.srli(T1, T2, 2);
            self.a.andi(T0, T2, 1);
            self.a.slli(T0, T0, 3);
            self.a.or(T1, T1, T0);
            self.check_aligned(X, bytes - 1, st_mis);
            self.a.srli(T0, X, 32);
            self.a.bne(T0, U0, st_acc);
            self.a.li(N, bytes);
            self.check_ro_overlap(X, N, st_acc);
            self.a.ld(loaded, HI, X, 0);
            let op_table = l(&mut self.a, "amo.op-table");
            let done = l(&mut self.a, "amo.store");
            self.a.jump_table(T1, op_table);
            self.a.bind(op_table);
            self.a.table(&op_ls.iter().map(|x| x.1).collect::<Vec<_>>());
            for (f, l) in &op_ls {
                self.a.bind(*l);
                match f {
                    0 => self.a.add(LO, HI, Y),
                    1 => self.a.mv(LO, Y),
                    4 => self.a.xor(LO, HI, Y),
                    8 => self.a.or(LO, HI, Y),
                    12 => self.a.and(LO, HI, Y),
                    _ => {
                        // min/max: LO = HI unless Y wins the comparison.
                        use super::isa::cond;
                        let c = match f {
                            16 | 20 => cond::LT,
                            _ => cond::LTU,
                        };
                        let keep = self.a.label("amo.keep");
                        self.a.mv(LO, HI);
                        if *f == 16 || *f == 24 {
                            self.a.br(c, HI, Y, keep);
                        } else {
                            self.a.br(c, Y, HI, keep);
                        }
                        self.a.mv(LO, Y);
                        self.a.bind(keep);
                    }
                }
                self.a.j(done);
            }
            self.a.bind(done);
            self.a.st(width, X, 0, LO);
            self.a.mv(R, HI);
            self.writeback();

            self.a.bind(ld_mis);
            self.fault_with(Fault::LoadMisaligned, X);
            self.a.bind(st_mis);
            self.fault_with(Fault::StoreMisaligned, X);
            self.a.bind(ld_acc);
            self.fault_with(Fault::LoadAccess, X);
            self.a.bind(st_acc);
            self.fault_with(Fault::StoreAccess, X);
        }
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

/// Assembles the RV64IMAC interpreter.
pub fn assemble() -> Result<Program, AsmError> {
    let mut a = Asm::new();
    let handlers: Vec<(u32, Label)> = [
        (0x03, "load"),
        (0x0f, "misc-mem"),
        (0x13, "op-imm"),
        (0x17, "auipc"),
        (0x1b, "op-imm-32"),
        (0x23, "store"),
        (0x2f, "amo"),
        (0x33, "op"),
        (0x37, "lui"),
        (0x3b, "op-32"),
        (0x63, "branch"),
        (0x67, "jalr"),
        (0x6f, "jal"),
        (0x73, "system"),
    ]
    .into_iter()
    .map(|(o, n)| (o, a.label(n)))
    .collect();
    let illegal = a.label("illegal");
    let h = |o: u32| handlers.iter().find(|(x, _)| *x == o).map(|(_, l)| *l);
    let get = |o: u32| h(o).unwrap_or(illegal);
    let l = Labels {
        illegal,
        fault: a.label("fault"),
        mul: a.label("mul"),
        mulhu: a.label("mulhu"),
        divu: a.label("divu"),
        div_signed: a.label("div-signed"),
        copy: a.label("copy"),
        next: a.label("next"),
        jal_target: a.label("jal.target"),
        branch_target: a.label("branch.target"),
        rvc: a.label("rvc"),
        load: get(0x03),
        store: get(0x23),
        op_imm: get(0x13),
        op_imm32: get(0x1b),
        op: get(0x33),
        op32: get(0x3b),
        lui: get(0x37),
        jalr: get(0x67),
    };
    let mut b = Builder { a, l };
    let fetch = b.a.label("fetch");
    let idle = b.a.label("idle");
    let opcode_table = b.a.label("opcode.table");
    b.a.bind(fetch);
    b.fetch(opcode_table, idle);
    b.a.bind(idle);
    b.a.idle();

    b.a.bind(opcode_table);
    let entries: Vec<Label> = (0..128u32).map(get).collect();
    b.a.table(&entries);

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
    b.amo(get(0x2f));
    b.rvc();
    b.a.bind(b.l.next);
    b.next();
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
