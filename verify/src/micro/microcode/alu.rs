//! Integer computation: `lui`/`auipc`, OP-IMM and OP-IMM-32, OP and
//! OP-32 (RV64I, and the dispatch of the M extension's multiplies and
//! divides to their handlers in [`super::mul_div`]).

use super::*;

impl Builder {
    pub(super) fn lui_auipc(&mut self, lui: Label, auipc: Label) {
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

    pub(super) fn op_imm(&mut self, entry: Label) {
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
            (0, crate::micro::isa::op::ADD),
            (2, crate::micro::isa::op::SLT),
            (3, crate::micro::isa::op::SLTU),
            (4, crate::micro::isa::op::XOR),
            (6, crate::micro::isa::op::OR),
            (7, crate::micro::isa::op::AND),
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

    pub(super) fn op_imm32(&mut self, entry: Label) {
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

    pub(super) fn op(&mut self, entry: Label) {
        use crate::micro::isa::op as o;
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

        self.m_ops(&m);
    }

    pub(super) fn op32(&mut self, entry: Label) {
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
        self.m_ops32(mulw, divw, divuw, remw, remuw);
    }
}
