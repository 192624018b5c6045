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

    /// Copies N bytes (`N <= IO_CHUNK`, the caller's `min_chunk` sees to
    /// it) from `S` address T0 to T1 (regions apart), a byte at a time
    /// through an unrolled run of `IO_CHUNK` load/store pairs, last byte
    /// first, entered by a computed jump at the pair of byte `N - 1`: two
    /// micro-steps per byte and four more, whatever the alignments.
    /// Clobbers T2, T3.
    pub(super) fn sub_copy(&mut self) {
        let a = &mut self.a;
        let unrolled = a.label("copy.unrolled");
        a.bind(self.l.copy);
        a.comment("T2 = 2 * (IO_CHUNK - N): the pair that copies byte N - 1");
        a.alu(
            crate::micro::isa::op::SUB,
            T2,
            U0,
            N,
            -(sys::IO_CHUNK as i64),
        );
        a.add(T2, T2, T2);
        a.jump_table(T2, unrolled);
        a.bind(unrolled);
        for i in (0..sys::IO_CHUNK as i64).rev() {
            a.ld(B, T3, T0, i);
            a.st(B, T1, i, T3);
        }
        a.ret(LINK);
    }
}
