//! Loads and stores: aligned accesses in one word, misaligned ones as two
//! aligned words (loads) or byte by byte after every check passed (stores).

use super::*;

impl Builder {
    pub(super) fn load(&mut self, entry: Label) {
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

    pub(super) fn store(&mut self, entry: Label) {
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
}
