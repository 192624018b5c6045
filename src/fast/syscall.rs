//! Machine A's system calls (`ecall`): exit, write and read, with the
//! bounded short I/O of [`crate::layout::sys`].

use super::ranges::overlaps;
use crate::layout::{IO_CAPACITY, MEM_SIZE, ctrl, status, sys};
use crate::state::State;

/// A write system call seen during a run, for printing to stdout/stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteEvent {
    /// The file descriptor (1 or 2).
    pub fd: u8,
    /// Position of the first byte in the output log.
    pub start: u64,
    /// Number of bytes.
    pub len: u64,
}

/// What the run loop does after an `ecall`.
pub(super) enum Next {
    /// Go on at `pc + 4`; `wrote_mem` is the guest memory range a read filled.
    Continue { wrote_mem: Option<(u64, u64)> },
    /// The machine halted (exit or fault); `pc` stays at the `ecall`.
    Halt,
}

/// Executes the `ecall` with registers `x` (a0 = x[10] .. a7 = x[17]).
pub(super) fn ecall(
    state: &mut State,
    x: &mut [u64; 64],
    writes: Option<&mut Vec<WriteEvent>>,
) -> Next {
    let (a0, a1, a2, a7) = (x[10], x[11], x[12], x[17]);
    match a7 {
        sys::EXIT => {
            state.set_ctrl(ctrl::STATUS, status::EXITED);
            state.set_ctrl(ctrl::HALT_CODE, a0);
            state.set_ctrl(ctrl::TVAL, 0);
            Next::Halt
        }
        sys::WRITE => {
            x[10] = write(state, a0, a1, a2, writes);
            Next::Continue { wrote_mem: None }
        }
        sys::READ => {
            let (ret, wrote) = read(state, a0, a1, a2);
            x[10] = ret;
            Next::Continue { wrote_mem: wrote }
        }
        n => {
            state.set_fault(crate::layout::Fault::UnknownSyscall, n);
            Next::Halt
        }
    }
}

/// Whether all of `[buf, buf + len)` is guest memory (no wrap-around).
fn in_memory(buf: u64, len: u64) -> bool {
    buf < MEM_SIZE && MEM_SIZE - buf >= len
}

/// `write(fd, buf, len)` in Linux's order: a bad fd is `-EBADF` (fd is an
/// `unsigned int`, so the upper 32 bits of `a0` are ignored), a zero length
/// 0, a buffer not wholly in memory `-EFAULT` (the whole range, before any
/// short write), a full log `-ENOSPC`.
fn write(
    state: &mut State,
    fd: u64,
    buf: u64,
    len: u64,
    writes: Option<&mut Vec<WriteEvent>>,
) -> u64 {
    let fd = fd as u32;
    if fd != 1 && fd != 2 {
        return sys::EBADF;
    }
    if len == 0 {
        return 0;
    }
    if !in_memory(buf, len) {
        return sys::EFAULT;
    }
    let out_len = state.ctrl(ctrl::OUTPUT_LEN);
    let n = len
        .min(sys::IO_CHUNK)
        .min(IO_CAPACITY.saturating_sub(out_len));
    if n == 0 {
        return sys::ENOSPC;
    }
    let mut tmp = [0u8; sys::IO_CHUNK as usize];
    let chunk = &mut tmp[..n as usize];
    state.mem.read_into(buf, chunk);
    state.write_output_at(out_len, chunk);
    state.set_ctrl(ctrl::OUTPUT_LEN, out_len + n);
    if let Some(w) = writes {
        match w.last_mut() {
            Some(last) if last.fd == fd as u8 && last.start + last.len == out_len => last.len += n,
            _ => w.push(WriteEvent {
                fd: fd as u8,
                start: out_len,
                len: n,
            }),
        }
    }
    n
}

/// `read(fd, buf, len)`: `-EBADF` unless fd (an `unsigned int`) is 0, 0 for
/// a zero length, `-EFAULT` unless all of `[buf, buf + len)` is in memory
/// and clear of the write-protected pages (checked before any short read,
/// and at the end of the input too), then up to [`sys::IO_CHUNK`] bytes.
fn read(state: &mut State, fd: u64, buf: u64, len: u64) -> (u64, Option<(u64, u64)>) {
    if fd as u32 != 0 {
        return (sys::EBADF, None);
    }
    if len == 0 {
        return (0, None);
    }
    if !in_memory(buf, len)
        || overlaps(buf, len, state.ctrl(ctrl::RO_LO), state.ctrl(ctrl::RO_SIZE))
    {
        return (sys::EFAULT, None);
    }
    let in_len = state.ctrl(ctrl::INPUT_LEN);
    let pos = state.ctrl(ctrl::INPUT_POS);
    let n = len.min(sys::IO_CHUNK).min(in_len.saturating_sub(pos));
    if n == 0 {
        return (0, None);
    }
    let mut tmp = [0u8; sys::IO_CHUNK as usize];
    let chunk = &mut tmp[..n as usize];
    state.read_input_into(pos, chunk);
    state.mem.write(buf, chunk);
    state.set_ctrl(ctrl::INPUT_POS, pos + n);
    (n, Some((buf, n)))
}
