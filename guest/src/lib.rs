//! The runtime of an mswap guest written in Rust: a `no_std` library for
//! the target `riscv64imac-unknown-none-elf`.
//!
//! It provides everything a static bare-metal program needs to run under
//! `mswap run` (and, unchanged, under `qemu-riscv64`):
//!
//! - the entry point `_start`: sets up the stack, zeroes `.bss`, hands the
//!   heap region to the global allocator, calls the guest's `main` (named
//!   with [`entry!`]) and exits with its code;
//! - safe wrappers over the three system calls: [`read`], [`write`],
//!   [`exit`], plus [`read_input`] (all of standard input) and
//!   [`write_all`];
//! - [`print!`], [`println!`], [`eprint!`], [`eprintln!`] (standard output
//!   is buffered and flushed at exit; standard error is not buffered);
//! - a global allocator over the heap region, so `alloc` (`Vec`,
//!   `String`, `BTreeMap`, ...) works;
//! - a panic handler that writes the message to standard error and exits
//!   with [`PANIC_EXIT_CODE`] (101, as a Rust program on Linux);
//! - the linker script `mswap-guest.x` (W^X segments, stack and heap).
//!
//! The guest ABI (memory layout, registers at entry, system calls) is
//! documented in this crate's `README.md`.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use mswap_guest::{println, read_input};
//!
//! mswap_guest::entry!(main);
//!
//! fn main() {
//!     let input = read_input();
//!     println!("{} bytes of input", input.len());
//! }
//! ```

#![no_std]
#![warn(missing_docs)]

extern crate alloc;

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::fmt;

/// The exit code of a guest that panicked (as `std` uses on Linux).
pub const PANIC_EXIT_CODE: i32 = 101;

/// Linux system call numbers (`a7`).
pub mod nr {
    /// `read(fd, buf, len)`.
    pub const READ: usize = 63;
    /// `write(fd, buf, len)`.
    pub const WRITE: usize = 64;
    /// `exit(code)`.
    pub const EXIT: usize = 93;
}

/// A negative system-call result: the Linux error number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// Bad file descriptor.
    pub const EBADF: Errno = Errno(9);
    /// The buffer is not (wholly) in guest memory, or not writable.
    pub const EFAULT: Errno = Errno(14);
    /// The output log is full.
    pub const ENOSPC: Errno = Errno(28);
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Errno::EBADF => "EBADF",
            Errno::EFAULT => "EFAULT",
            Errno::ENOSPC => "ENOSPC",
            _ => "errno",
        };
        write!(f, "{name} ({})", self.0)
    }
}

// ----- entry point -----

global_asm!(
    r#"
    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
    la   sp, __stack_top
    la   t0, __bss_start
    la   t1, __bss_end
    j    2f
1:  sd   zero, 0(t0)
    addi t0, t0, 8
2:  bltu t0, t1, 1b
    call __mswap_guest_start
3:  j    3b
    .size _start, . - _start
"#
);

unsafe extern "C" {
    static mut __heap_start: u8;
    static mut __heap_end: u8;
}

unsafe extern "Rust" {
    /// Defined by [`entry!`] in the guest program.
    fn __mswap_guest_main() -> i32;
}

/// Called by `_start` once `sp` and `.bss` are set: sets up the heap, runs
/// the guest's `main`, exits with its code.
#[unsafe(no_mangle)]
extern "C" fn __mswap_guest_start() -> ! {
    // SAFETY: the linker script reserves [__heap_start, __heap_end) for the
    // heap and nothing else uses it; this runs once, before any allocation.
    unsafe {
        let start = &raw mut __heap_start;
        let end = &raw mut __heap_end;
        ALLOCATOR.lock().init(start, end as usize - start as usize);
    }
    // SAFETY: `entry!` defines the symbol with this signature.
    let code = unsafe { __mswap_guest_main() };
    exit(code)
}

/// Names the guest's `main` function. `main` may return `()` (exit code
/// 0), an `i32` (the exit code) or a `Result<(), E: Debug>` (an error is
/// printed to standard error and the exit code is 1).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __mswap_guest_main() -> i32 {
            $crate::ExitCode::code($main())
        }
    };
}

/// What a guest's `main` may return (see [`entry!`]).
pub trait ExitCode {
    /// The process exit code.
    fn code(self) -> i32;
}

impl ExitCode for () {
    fn code(self) -> i32 {
        0
    }
}

impl ExitCode for i32 {
    fn code(self) -> i32 {
        self
    }
}

impl<E: fmt::Debug> ExitCode for Result<(), E> {
    fn code(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("Error: {e:?}");
                1
            }
        }
    }
}

// ----- system calls -----

#[inline(always)]
fn syscall3(n: usize, a0: usize, a1: usize, a2: usize) -> isize {
    let ret: isize;
    // SAFETY: the three system calls read or write only the buffer passed
    // in a1/a2, which the safe wrappers take from a Rust slice.
    unsafe {
        asm!("ecall", inlateout("a0") a0 as isize => ret, in("a1") a1, in("a2") a2,
             in("a7") n, options(nostack));
    }
    ret
}

fn result(ret: isize) -> Result<usize, Errno> {
    if ret < 0 {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// `read(fd, buf)`: reads at most `buf.len()` bytes (a short read is
/// normal: mswap moves at most 16 bytes per call); `Ok(0)` at the end of
/// the input.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    result(syscall3(
        nr::READ,
        fd as usize,
        buf.as_mut_ptr() as usize,
        buf.len(),
    ))
}

/// `write(fd, buf)`: writes at most `buf.len()` bytes to fd 1 (stdout) or
/// 2 (stderr) and returns how many (a short write is normal).
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    result(syscall3(
        nr::WRITE,
        fd as usize,
        buf.as_ptr() as usize,
        buf.len(),
    ))
}

/// Writes all of `buf`, looping over short writes.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match write(fd, buf)? {
            0 => return Err(Errno::ENOSPC),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Reads all of standard input (until `read` returns 0).
pub fn read_input() -> alloc::vec::Vec<u8> {
    let mut data = alloc::vec::Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n @ 1..) = read(0, &mut chunk) {
        data.extend_from_slice(&chunk[..n]);
    }
    data
}

/// Flushes standard output and ends the program with `code` (the machine
/// halts; the exit code is part of its state).
pub fn exit(code: i32) -> ! {
    flush();
    exit_now(code)
}

fn exit_now(code: i32) -> ! {
    syscall3(nr::EXIT, code as usize, 0, 0);
    // exit does not return; should it, spin (a halted machine stays put).
    loop {
        core::hint::spin_loop();
    }
}

// ----- standard output and error -----

/// A cell for the one hart: no threads, no interrupts, so the only
/// re-entry is a panic while printing, which `busy` detects.
struct HartCell<T> {
    busy: UnsafeCell<bool>,
    value: UnsafeCell<T>,
}

// SAFETY: a guest runs on one hart with no threads or interrupts.
unsafe impl<T> Sync for HartCell<T> {}

impl<T> HartCell<T> {
    /// Runs `f` on the value, or returns `None` if it is in use (re-entry).
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        // SAFETY: one hart; `busy` guards against re-entry from a panic.
        unsafe {
            if *self.busy.get() {
                return None;
            }
            *self.busy.get() = true;
            let r = f(&mut *self.value.get());
            *self.busy.get() = false;
            Some(r)
        }
    }
}

const STDOUT_BUFFER: usize = 4096;

struct StdoutBuffer {
    len: usize,
    bytes: [u8; STDOUT_BUFFER],
}

impl StdoutBuffer {
    fn flush(&mut self) {
        let _ = write_all(1, &self.bytes[..self.len]);
        self.len = 0;
    }

    fn push(&mut self, mut s: &[u8]) {
        while !s.is_empty() {
            if self.len == STDOUT_BUFFER {
                self.flush();
            }
            let n = s.len().min(STDOUT_BUFFER - self.len);
            self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
            self.len += n;
            s = &s[n..];
        }
    }
}

static STDOUT: HartCell<StdoutBuffer> = HartCell {
    busy: UnsafeCell::new(false),
    value: UnsafeCell::new(StdoutBuffer {
        len: 0,
        bytes: [0; STDOUT_BUFFER],
    }),
};

/// Writes standard output's buffer out (done by [`exit`] and before
/// anything goes to standard error, so the two stay in order).
pub fn flush() {
    STDOUT.with(StdoutBuffer::flush);
}

/// Standard output as a [`fmt::Write`] (buffered).
pub struct Stdout;

impl fmt::Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if STDOUT.with(|b| b.push(s.as_bytes())).is_none() {
            // Re-entered (a panic while printing): write directly.
            let _ = write_all(1, s.as_bytes());
        }
        Ok(())
    }
}

/// Standard error as a [`fmt::Write`] (unbuffered; flushes stdout first).
pub struct Stderr;

impl fmt::Write for Stderr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        flush();
        write_all(2, s.as_bytes()).map_err(|_| fmt::Error)
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut Stdout, args);
}

#[doc(hidden)]
pub fn _eprint(args: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut Stderr, args);
}

/// Prints to standard output, like `std::print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::_print(format_args!($($arg)*)) };
}

/// Prints to standard output with a newline, like `std::println!`.
#[macro_export]
macro_rules! println {
    () => { $crate::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints to standard error, like `std::eprint!`.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::_eprint(format_args!($($arg)*)) };
}

/// Prints to standard error with a newline, like `std::eprintln!`.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::_eprint(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::_eprint(format_args!("{}\n", format_args!($($arg)*))) };
}

// ----- heap and panics -----

#[global_allocator]
static ALLOCATOR: linked_list_allocator::LockedHeap = linked_list_allocator::LockedHeap::empty();

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // As std prints it: "panicked at FILE:LINE:COL:\nMESSAGE".
    match info.location() {
        Some(l) => eprintln!(
            "panicked at {}:{}:{}:\n{}",
            l.file(),
            l.line(),
            l.column(),
            info.message()
        ),
        None => eprintln!("panicked:\n{}", info.message()),
    }
    exit_now(PANIC_EXIT_CODE)
}
