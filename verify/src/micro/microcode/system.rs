//! `fence` and `SYSTEM`: `ecall` (exit, read, write with short counts),
//! `ebreak`, and the byte-copy subroutine of the system calls.

use super::*;

impl Builder {
    /// `fence` (funct3 0) and `fence.i` (funct3 1) order nothing on one
    /// hart whose stores take effect at once.
    pub(super) fn fence(&mut self, entry: Label) {
        self.a.bind(entry);
        self.funct3(T1);
        self.a.sltiu(T0, T1, 2);
        self.a.beq(T0, U0, self.l.illegal);
        self.next();
    }

    pub(super) fn system(&mut self, entry: Label) {
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
    pub(super) fn min_chunk(&mut self) {
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
    pub(super) fn check_buffer(&mut self, buf: Reg, len: Reg, efault: Label) {
        let a = &mut self.a;
        a.li(T0, MEM_SIZE as i64);
        a.bgeu(buf, T0, efault);
        a.sub(T0, T0, buf);
        a.bltu(T0, len, efault);
    }

    /// Copies N bytes from `S` address T0 to T1 (regions apart): bytes up
    /// to T1's next multiple of 8, then whole words (each aligned word of
    /// T1 from the one or two aligned words of T0 it spans, shifted), then
    /// the last bytes. Clobbers T0..T3, N, X, Y, IW, RD, R.
    pub(super) fn sub_copy(&mut self) {
        let a = &mut self.a;
        let (head, words, aligned, shifted, shifted_loop, tail, done) = (
            a.label("copy.head"),
            a.label("copy.words"),
            a.label("copy.aligned"),
            a.label("copy.shifted"),
            a.label("copy.shifted-loop"),
            a.label("copy.tail"),
            a.label("copy.done"),
        );
        a.bind(self.l.copy);
        a.bind(head);
        a.comment("bytes until the destination is a multiple of 8");
        a.beq(N, U0, done);
        a.andi(T2, T1, 7);
        a.beq(T2, U0, words);
        a.ld(B, T3, T0, 0);
        a.st(B, T1, 0, T3);
        a.addi(T0, T0, 1);
        a.addi(T1, T1, 1);
        a.addi(N, N, -1);
        a.j(head);
        a.bind(words);
        a.comment("RD = whole words, N = the bytes after them");
        a.srli(RD, N, 3);
        a.beq(RD, U0, tail);
        a.andi(N, N, 7);
        a.andi(X, T0, 7);
        a.bne(X, U0, shifted);
        a.bind(aligned);
        a.ldd(T3, T0, 0);
        a.std(T1, 0, T3);
        a.addi(T0, T0, 8);
        a.addi(T1, T1, 8);
        a.addi(RD, RD, -1);
        a.bne(RD, U0, aligned);
        a.j(tail);
        a.bind(shifted);
        a.comment(
            "X = 8 * (T0 mod 8), Y = 64 - X; IW walks T0's aligned words, T3 holds the current one",
        );
        a.slli(X, X, 3);
        a.li(Y, 64);
        a.sub(Y, Y, X);
        a.andi(IW, T0, -8);
        a.ldd(T3, IW, 0);
        a.bind(shifted_loop);
        a.ldd(R, IW, 8);
        a.srl(T2, T3, X);
        a.sll(T3, R, Y);
        a.or(T2, T2, T3);
        a.std(T1, 0, T2);
        a.mv(T3, R);
        a.addi(IW, IW, 8);
        a.addi(T1, T1, 8);
        a.addi(RD, RD, -1);
        a.bne(RD, U0, shifted_loop);
        a.srli(T2, X, 3);
        a.add(T0, IW, T2);
        a.bind(tail);
        a.beq(N, U0, done);
        a.ld(B, T3, T0, 0);
        a.st(B, T1, 0, T3);
        a.addi(T0, T0, 1);
        a.addi(T1, T1, 1);
        a.addi(N, N, -1);
        a.j(tail);
        a.bind(done);
        a.ret(LINK);
    }
}
