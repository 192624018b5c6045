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
//! Multiplication and division are micro-operations of their own (one
//! each for `mul` .. `remu`; the W forms extend operands and result).
//! System calls move at most `IO_CHUNK` bytes (short reads and writes),
//! a byte per load/store pair of an unrolled run entered by a computed
//! jump, so the slowest system call stays well inside `2^a`.
//! A misaligned load reads the two aligned words around it and shifts; a
//! misaligned store writes byte by byte after all checks passed. The LR/SC
//! reservation is the control word `reservation` of `S`.
//!
//! `mswap microcode` prints the assembled listing.

use crate::hash::{Hash, LEAF_BYTES, hash_leaf, hash_node};
use crate::layout::{
    CTRL_BASE, Fault, INPUT_BASE, IO_CAPACITY, MEM_SIZE, OUTPUT_BASE, ctrl, status, sys,
};
use crate::micro::asm::{Asm, AsmError, Label, Program, Reg, U0};
use crate::micro::isa::size::{B, D, H, SIGNED, W};
use std::sync::OnceLock;

// One file per instruction family, each an `impl Builder` block; the
// register map, the shared labels and helpers, fetch and the fault path
// are here, and [`assemble`] lays the handlers out in one fixed order.
mod alu;
mod amo;
mod branch;
mod compressed;
mod load_store;
mod mul_div;
mod system;

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
/// A second result (a position or a length in the system calls).
const HI: Reg = Reg(12);
/// A count (the bytes a system call moves).
const LO: Reg = Reg(13);
/// Length of the current instruction in bytes (4, or 2 if compressed).
const ILEN: Reg = Reg(14);
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
            let u = crate::micro::isa::Uop::decode(*w);
            let target = match u.op {
                crate::micro::isa::op::BR => Some(u.imm),
                crate::micro::isa::op::JAL if u.ra == 0 => Some(u.imm),
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
