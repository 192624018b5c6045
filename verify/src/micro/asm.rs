//! A small assembler for micro-code: named registers, labels, and one
//! method per micro-operation, so that microcode reads like an assembly
//! listing. Misuse (a label bound twice or never, an immediate that does
//! not fit) is a typed error from [`Asm::finish`].

use super::isa::{IMM_MAX, IMM_MIN, Uop, cond, op, size};

/// A micro-register `u0` .. `u15`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(pub u8);

/// The zero register.
pub const U0: Reg = Reg(0);

/// A place in the program, bound once with [`Asm::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(usize);

/// What went wrong while assembling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsmError {
    /// A label was bound twice.
    #[error("label {0} is bound twice")]
    Rebound(String),
    /// A label is used but never bound.
    #[error("label {0} is used but never bound")]
    Unbound(String),
    /// An immediate does not fit in 40 bits.
    #[error("immediate {imm:#x} at micro-address {at} does not fit in 40 bits")]
    ImmediateRange {
        /// Micro-address.
        at: usize,
        /// The immediate.
        imm: i64,
    },
    /// A register number above 15.
    #[error("register u{reg} at micro-address {at} does not exist")]
    BadRegister {
        /// Micro-address.
        at: usize,
        /// The register.
        reg: u8,
    },
}

/// An assembled program: words plus the names of its labels.
#[derive(Clone, Debug)]
pub struct Program {
    /// The micro-instructions.
    pub words: Vec<u64>,
    /// Named addresses, in address order.
    pub names: Vec<(usize, String)>,
    /// Comments attached to addresses.
    pub comments: Vec<(usize, String)>,
}

/// The assembler.
#[derive(Default)]
pub struct Asm {
    uops: Vec<Uop>,
    /// For each uop whose immediate is a label: (index, label, addend).
    fixups: Vec<(usize, Label, i64)>,
    labels: Vec<(String, Option<usize>)>,
    comments: Vec<(usize, String)>,
    errors: Vec<AsmError>,
}

impl Asm {
    /// An empty program.
    pub fn new() -> Asm {
        Asm::default()
    }

    /// The address of the next micro-instruction.
    pub fn here(&self) -> usize {
        self.uops.len()
    }

    /// A new, unbound label; `name` shows in listings and errors.
    pub fn label(&mut self, name: &str) -> Label {
        self.labels.push((name.to_string(), None));
        Label(self.labels.len() - 1)
    }

    /// Binds `l` to the next address.
    pub fn bind(&mut self, l: Label) {
        let here = self.here();
        match self.labels.get_mut(l.0) {
            Some((_, slot @ None)) => *slot = Some(here),
            Some((name, Some(_))) => self.errors.push(AsmError::Rebound(name.clone())),
            None => {}
        }
    }

    /// A new label bound here.
    pub fn entry(&mut self, name: &str) -> Label {
        let l = self.label(name);
        self.bind(l);
        l
    }

    /// Attaches a comment to the next address (shown in listings).
    pub fn comment(&mut self, text: &str) {
        let here = self.here();
        self.comments.push((here, text.to_string()));
    }

    fn emit(&mut self, o: u8, rd: Reg, ra: Reg, rb: Reg, func: u8, imm: i64) {
        let at = self.here();
        for r in [rd, ra, rb] {
            if r.0 > 15 {
                self.errors.push(AsmError::BadRegister { at, reg: r.0 });
            }
        }
        if !(IMM_MIN..=IMM_MAX).contains(&imm) {
            self.errors.push(AsmError::ImmediateRange { at, imm });
        }
        self.uops.push(Uop {
            op: o,
            rd: rd.0 & 15,
            ra: ra.0 & 15,
            rb: rb.0 & 15,
            func,
            imm,
        });
    }

    fn emit_to(&mut self, o: u8, rd: Reg, ra: Reg, rb: Reg, func: u8, target: Label) {
        let at = self.here();
        self.fixups.push((at, target, 0));
        self.emit(o, rd, ra, rb, func, 0);
    }

    /// `rd = ra op (rb + imm)` for an ALU operation.
    pub fn alu(&mut self, o: u8, rd: Reg, ra: Reg, rb: Reg, imm: i64) {
        self.emit(o, rd, ra, rb, 0, imm)
    }

    /// `rd = ra + rb`.
    pub fn add(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::ADD, rd, ra, rb, 0)
    }
    /// `rd = ra + imm`.
    pub fn addi(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::ADD, rd, ra, U0, imm)
    }
    /// `rd = imm`.
    pub fn li(&mut self, rd: Reg, imm: i64) {
        self.alu(op::ADD, rd, U0, U0, imm)
    }
    /// `rd = ra`.
    pub fn mv(&mut self, rd: Reg, ra: Reg) {
        self.alu(op::ADD, rd, ra, U0, 0)
    }
    /// `rd = ra - rb`.
    pub fn sub(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::SUB, rd, ra, rb, 0)
    }
    /// `rd = ra & rb`.
    pub fn and(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::AND, rd, ra, rb, 0)
    }
    /// `rd = ra & imm`.
    pub fn andi(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::AND, rd, ra, U0, imm)
    }
    /// `rd = ra | rb`.
    pub fn or(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::OR, rd, ra, rb, 0)
    }
    /// `rd = ra | imm`.
    pub fn ori(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::OR, rd, ra, U0, imm)
    }
    /// `rd = ra ^ rb`.
    pub fn xor(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::XOR, rd, ra, rb, 0)
    }
    /// `rd = ra ^ imm`.
    pub fn xori(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::XOR, rd, ra, U0, imm)
    }
    /// `rd = ra << (rb & 63)`.
    pub fn sll(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::SLL, rd, ra, rb, 0)
    }
    /// `rd = ra << imm`.
    pub fn slli(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::SLL, rd, ra, U0, imm)
    }
    /// `rd = ra >> (rb & 63)`, logical.
    pub fn srl(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::SRL, rd, ra, rb, 0)
    }
    /// `rd = ra >> imm`, logical.
    pub fn srli(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::SRL, rd, ra, U0, imm)
    }
    /// `rd = ra >> (rb & 63)`, arithmetic.
    pub fn sra(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::SRA, rd, ra, rb, 0)
    }
    /// `rd = ra >> imm`, arithmetic.
    pub fn srai(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::SRA, rd, ra, U0, imm)
    }
    /// `rd = ra <u rb`.
    pub fn sltu(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::SLTU, rd, ra, rb, 0)
    }
    /// `rd = ra <u imm`.
    pub fn sltiu(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.alu(op::SLTU, rd, ra, U0, imm)
    }
    /// `rd = ra <s rb`.
    pub fn slt(&mut self, rd: Reg, ra: Reg, rb: Reg) {
        self.alu(op::SLT, rd, ra, rb, 0)
    }

    /// `rd = load(ra + imm)`; `sz` from [`size`], plus [`size::SIGNED`].
    pub fn ld(&mut self, sz: u8, rd: Reg, ra: Reg, imm: i64) {
        self.emit(op::LD, rd, ra, U0, sz, imm)
    }
    /// 64-bit load.
    pub fn ldd(&mut self, rd: Reg, ra: Reg, imm: i64) {
        self.ld(size::D, rd, ra, imm)
    }
    /// `store(ra + imm, rb)`; `sz` from [`size`].
    pub fn st(&mut self, sz: u8, ra: Reg, imm: i64, rb: Reg) {
        self.emit(op::ST, U0, ra, rb, sz, imm)
    }
    /// 64-bit store.
    pub fn std(&mut self, ra: Reg, imm: i64, rb: Reg) {
        self.st(size::D, ra, imm, rb)
    }

    /// Branch to `to` if `c(ra, rb)`.
    pub fn br(&mut self, c: u8, ra: Reg, rb: Reg, to: Label) {
        self.emit_to(op::BR, U0, ra, rb, c, to)
    }
    /// Branch if equal.
    pub fn beq(&mut self, ra: Reg, rb: Reg, to: Label) {
        self.br(cond::EQ, ra, rb, to)
    }
    /// Branch if not equal.
    pub fn bne(&mut self, ra: Reg, rb: Reg, to: Label) {
        self.br(cond::NE, ra, rb, to)
    }
    /// Branch if less than, signed.
    pub fn blt(&mut self, ra: Reg, rb: Reg, to: Label) {
        self.br(cond::LT, ra, rb, to)
    }
    /// Branch if less than, unsigned.
    pub fn bltu(&mut self, ra: Reg, rb: Reg, to: Label) {
        self.br(cond::LTU, ra, rb, to)
    }
    /// Branch if greater or equal, unsigned.
    pub fn bgeu(&mut self, ra: Reg, rb: Reg, to: Label) {
        self.br(cond::GEU, ra, rb, to)
    }
    /// Jump to `to`.
    pub fn j(&mut self, to: Label) {
        self.emit_to(op::JAL, U0, U0, U0, 0, to)
    }
    /// Call `to`, return address in `link`.
    pub fn call(&mut self, link: Reg, to: Label) {
        self.emit_to(op::JAL, link, U0, U0, 0, to)
    }
    /// Jump to `ra + table` (a jump table indexed by a register).
    pub fn jump_table(&mut self, ra: Reg, table: Label) {
        let at = self.here();
        self.fixups.push((at, table, 0));
        self.emit(op::JAL, U0, ra, U0, 0, 0)
    }
    /// Return to the address in `link`.
    pub fn ret(&mut self, link: Reg) {
        self.emit(op::JAL, U0, link, U0, 0, 0)
    }
    /// The instruction is done: tick until the cleaning step.
    pub fn idle(&mut self) {
        self.emit(op::IDLE, U0, U0, U0, 0, 0)
    }
    /// A jump table: one jump per entry.
    pub fn table(&mut self, entries: &[Label]) {
        for &l in entries {
            self.j(l);
        }
    }

    /// Resolves labels and returns the program.
    pub fn finish(mut self) -> Result<Program, AsmError> {
        if let Some(e) = self.errors.first() {
            return Err(e.clone());
        }
        for (at, l, addend) in &self.fixups {
            let (name, addr) = &self.labels[l.0];
            let addr = addr.ok_or_else(|| AsmError::Unbound(name.clone()))?;
            self.uops[*at].imm = addr as i64 + addend;
        }
        let mut names: Vec<(usize, String)> = self
            .labels
            .iter()
            .filter_map(|(n, a)| a.map(|a| (a, n.clone())))
            .collect();
        names.sort();
        Ok(Program {
            words: self.uops.iter().map(Uop::encode).collect(),
            names,
            comments: self.comments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_and_misuse_is_an_error() {
        let mut a = Asm::new();
        let end = a.label("end");
        a.j(end);
        a.li(Reg(1), 5);
        a.bind(end);
        a.idle();
        let p = a.finish().expect("assembles");
        assert_eq!(Uop::decode(p.words[0]).imm, 2);

        let mut a = Asm::new();
        let l = a.label("nowhere");
        a.j(l);
        assert_eq!(a.finish().unwrap_err(), AsmError::Unbound("nowhere".into()));

        let mut a = Asm::new();
        let l = a.entry("twice");
        a.bind(l);
        assert_eq!(a.finish().unwrap_err(), AsmError::Rebound("twice".into()));

        let mut a = Asm::new();
        a.li(Reg(1), 1 << 40);
        assert!(matches!(
            a.finish().unwrap_err(),
            AsmError::ImmediateRange { at: 0, .. }
        ));

        let mut a = Asm::new();
        a.li(Reg(16), 1);
        assert_eq!(
            a.finish().unwrap_err(),
            AsmError::BadRegister { at: 0, reg: 16 }
        );
    }
}
