//! Control transfer: conditional branches, `jal` and `jalr`.

use super::*;

impl Builder {
    pub(super) fn branch(&mut self, entry: Label) {
        use crate::micro::isa::cond as cd;
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

    pub(super) fn jal(&mut self, entry: Label) {
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
    pub(super) fn link_and_jump(&mut self) {
        let skip = self.a.label("jump.no-link");
        self.rd();
        self.a.beq(RD, U0, skip);
        self.a.add(R, PC, ILEN);
        self.a.std(RD, c(ctrl::X), R);
        self.a.bind(skip);
        self.a.std(U0, c(ctrl::PC), T2);
        self.a.idle();
    }

    pub(super) fn jalr(&mut self, entry: Label) {
        self.a.bind(entry);
        self.funct3(T1);
        self.a.bne(T1, U0, self.l.illegal);
        self.rs1(X);
        self.a.srai(Y, IW, 20);
        self.a.add(T2, X, Y);
        self.a.andi(T2, T2, -2);
        self.link_and_jump();
    }
}
