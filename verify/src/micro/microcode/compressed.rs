//! The C extension: compressed instructions are decoded on
//! `funct3:quadrant`, rewritten into their 32-bit expansion and handed to
//! that instruction's handler.

use super::*;

impl Builder {
    /// `R |= ((IW >> lo) & (2^n - 1)) << at`: moves a field of the
    /// instruction (zero-extended in `IW`) into place. Clobbers T0.
    pub(super) fn place(&mut self, lo: i64, n: i64, at: i64) {
        self.field(T0, lo, n, at);
        self.a.or(R, R, T0);
    }

    /// `dst = ((IW >> lo) & (2^n - 1)) << at`.
    pub(super) fn field(&mut self, dst: Reg, lo: i64, n: i64, at: i64) {
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
    pub(super) fn gather(&mut self, fields: &[(i64, i64, i64)]) {
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
    pub(super) fn sext_at(&mut self, bits: i64, at: i64) {
        self.a.slli(R, R, 64 - bits);
        self.a.srai(R, R, 64 - bits - at);
    }

    /// Hands the expansion in `R` (sign-extended) to a 32-bit handler.
    pub(super) fn expanded(&mut self, handler: Label) {
        self.a.mv(IW, R);
        self.a.j(handler);
    }

    /// The compressed instructions (RVC): `IW` holds the 16-bit word.
    /// Each is rewritten into its 32-bit expansion (the same instruction
    /// as the specification's expansion table) and handed on; reserved
    /// encodings and the floating-point ones are illegal (`tval` = the
    /// 16-bit word, since `IW` is unchanged until the hand-over).
    pub(super) fn rvc(&mut self) {
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
}
