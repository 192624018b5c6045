//! The A extension: LR/SC and the AMOs, `.w` and `.d`.

use super::*;

impl Builder {
    /// The A extension (opcode `0x2f`): LR/SC and the AMOs, `.w` and `.d`.
    /// All need natural alignment (LR faults as a misaligned load, SC and
    /// the AMOs as a misaligned store); SC and the AMOs need writable
    /// memory. `aq`/`rl` are ignored (one hart).
    pub(super) fn amo(&mut self, entry: Label) {
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
                        use crate::micro::isa::cond;
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
}
