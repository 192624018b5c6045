//! The byte-exact layout of the essential state `S`, shared by machine A,
//! machine AB, the Merkle tree and the verifier.
//!
//! `S` is one byte-addressed space of `2^34` bytes, split into four regions
//! of `2^32` bytes each:
//!
//! | region | base            | contents                                         |
//! |--------|-----------------|--------------------------------------------------|
//! | 0      | `0x0_0000_0000` | guest memory (RAM, all 4 GiB, zero-initialised)   |
//! | 1      | `0x1_0000_0000` | control words: registers, pc, status, ranges, IO  |
//! | 2      | `0x2_0000_0000` | the input bytes (read by `read(0, ..)`)           |
//! | 3      | `0x3_0000_0000` | the output log (appended by `write(1|2, ..)`)     |
//!
//! Multi-byte values are little-endian. The control words are 64-bit words
//! at these byte offsets from [`CTRL_BASE`]:
//!
//! | offset          | word                                                   |
//! |-----------------|--------------------------------------------------------|
//! | `0x000 + 8*i`   | `x[i]`, i = 0..31 (`x[0]` is always 0)                  |
//! | `0x100`         | `pc`                                                   |
//! | `0x108`         | `status`: 0 running, 1 exited, 2 faulted               |
//! | `0x110`         | `halt_code`: exit code (full `a0`) or fault cause       |
//! | `0x118`         | `tval`: fault detail (address, instruction word, ...)   |
//! | `0x120`         | `exec_lo`: start of the executable range               |
//! | `0x128`         | `exec_size`: bytes in the executable range             |
//! | `0x130`         | `ro_lo`: start of the write-protected range            |
//! | `0x138`         | `ro_size`: bytes in the write-protected range          |
//! | `0x140`         | `input_len`: bytes of input                            |
//! | `0x148`         | `input_pos`: bytes of input already read               |
//! | `0x150`         | `output_len`: bytes in the output log                  |
//! | `0x158`         | `reservation`: LR/SC reservation, `addr \| 1` or 0      |
//!
//! Every other byte of `S` is zero in a state made by the loader. The Merkle
//! tree over `S` is built in the `mswap` crate (`src/state/tree.rs`); [`image`] derives
//! `root(S_0)` from a program's image and an input.

pub mod image;

/// log2 of the size of `S` in bytes.
pub const S_LOG2_BYTES: u32 = 34;
/// log2 of the size of one region in bytes.
pub const REGION_LOG2_BYTES: u32 = 32;
/// Bytes in one region.
pub const REGION_BYTES: u64 = 1 << REGION_LOG2_BYTES;
/// Mask that keeps an address inside `S`.
pub const S_ADDR_MASK: u64 = (1 << S_LOG2_BYTES) - 1;
/// Depth of the Merkle tree over `S` (number of siblings in a word proof).
pub const S_TREE_DEPTH: u32 = S_LOG2_BYTES - crate::hash::LOG2_LEAF;

/// Base of the guest memory region.
pub const MEM_BASE: u64 = 0;
/// Bytes of guest memory: addresses `0 .. MEM_SIZE` are RAM.
pub const MEM_SIZE: u64 = REGION_BYTES;
/// Base of the control region.
pub const CTRL_BASE: u64 = 1 << 32;
/// Base of the input region.
pub const INPUT_BASE: u64 = 2 << 32;
/// Base of the output region.
pub const OUTPUT_BASE: u64 = 3 << 32;
/// The largest input and the largest output log, in bytes.
pub const IO_CAPACITY: u64 = REGION_BYTES;

/// Offsets of the control words from [`CTRL_BASE`].
pub mod ctrl {
    /// Offset of `x[i]` is `X + 8 * i`.
    pub const X: u64 = 0x000;
    /// Program counter.
    pub const PC: u64 = 0x100;
    /// Machine status, see [`super::status`].
    pub const STATUS: u64 = 0x108;
    /// Exit code (status exited) or fault cause (status faulted).
    pub const HALT_CODE: u64 = 0x110;
    /// Fault detail, see [`super::Fault`].
    pub const TVAL: u64 = 0x118;
    /// Start of the executable range.
    pub const EXEC_LO: u64 = 0x120;
    /// Size of the executable range.
    pub const EXEC_SIZE: u64 = 0x128;
    /// Start of the write-protected range.
    pub const RO_LO: u64 = 0x130;
    /// Size of the write-protected range.
    pub const RO_SIZE: u64 = 0x138;
    /// Length of the input.
    pub const INPUT_LEN: u64 = 0x140;
    /// Bytes of input consumed.
    pub const INPUT_POS: u64 = 0x148;
    /// Length of the output log.
    pub const OUTPUT_LEN: u64 = 0x150;
    /// The LR/SC reservation: `addr | 1` after an `lr` at `addr` (which is
    /// aligned, so bit 0 is free), 0 when there is none. `sc` succeeds only
    /// at the reserved address and clears it.
    pub const RESERVATION: u64 = 0x158;
    /// Number of control words with a meaning (the rest are zero).
    pub const WORDS: usize = 44;
}

/// Values of the status word.
pub mod status {
    /// The machine runs.
    pub const RUNNING: u64 = 0;
    /// The guest called `exit`; `halt_code` holds its argument.
    pub const EXITED: u64 = 1;
    /// The machine faulted; `halt_code` holds the cause, `tval` the detail.
    pub const FAULTED: u64 = 2;
}

/// Linux system call numbers the guest may use (in `a7`).
pub mod sys {
    /// `read(fd, buf, len)`.
    pub const READ: u64 = 63;
    /// `write(fd, buf, len)`.
    pub const WRITE: u64 = 64;
    /// `exit(code)`.
    pub const EXIT: u64 = 93;
    /// Largest number of bytes one `read` or `write` moves (short I/O).
    pub const IO_CHUNK: u64 = 16;
    /// `-EBADF`: a file descriptor other than 0 (read) or 1, 2 (write).
    pub const EBADF: u64 = (-9i64) as u64;
    /// `-EFAULT`: the buffer leaves guest memory or is write-protected.
    pub const EFAULT: u64 = (-14i64) as u64;
    /// `-ENOSPC`: the output log is full.
    pub const ENOSPC: u64 = (-28i64) as u64;
}

/// The initial stack pointer. The 4 KiB above it are zero, which reads as
/// `argc = 0, argv = {NULL}, envp = {NULL}, auxv = {AT_NULL}`.
pub const STACK_TOP: u64 = MEM_SIZE - 4096;

/// Why a machine faulted. The numbers follow RISC-V's `mcause` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Fault {
    /// A jump to an odd address; with compressed instructions every jump
    /// target is even, so neither machine raises it any more (the code is kept).
    InstructionMisaligned = 0,
    /// Fetch outside the executable range (an odd pc, or a 32-bit
    /// instruction whose second half is outside); `tval` is the pc.
    InstructionAccess = 1,
    /// Not an RV64IMAC instruction; `tval` is the instruction word (16 bits for a compressed one).
    IllegalInstruction = 2,
    /// `ebreak`; `tval` is the pc.
    Breakpoint = 3,
    /// `lr` from an address not a multiple of its size (other loads may be misaligned); `tval` is the address.
    LoadMisaligned = 4,
    /// Load beyond guest memory; `tval` is the address.
    LoadAccess = 5,
    /// `sc` or AMO at an address not a multiple of its size (other stores may be misaligned); `tval` is the address.
    StoreMisaligned = 6,
    /// Store beyond guest memory or into the write-protected range; `tval` is the address.
    StoreAccess = 7,
    /// `ecall` with an unknown system call number; `tval` is `a7`.
    UnknownSyscall = 8,
}

impl Fault {
    /// All causes, in code order.
    pub const ALL: [Fault; 9] = [
        Fault::InstructionMisaligned,
        Fault::InstructionAccess,
        Fault::IllegalInstruction,
        Fault::Breakpoint,
        Fault::LoadMisaligned,
        Fault::LoadAccess,
        Fault::StoreMisaligned,
        Fault::StoreAccess,
        Fault::UnknownSyscall,
    ];

    /// The cause as stored in `halt_code`.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The cause for a stored code, if it is one.
    pub fn from_code(code: u64) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.code() == code)
    }

    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::InstructionMisaligned => "jump to a misaligned address",
            Fault::InstructionAccess => "instruction fetch outside the executable range",
            Fault::IllegalInstruction => "illegal instruction",
            Fault::Breakpoint => "ebreak",
            Fault::LoadMisaligned => "misaligned lr",
            Fault::LoadAccess => "load outside guest memory",
            Fault::StoreMisaligned => "misaligned sc or AMO",
            Fault::StoreAccess => "store outside guest memory or into write-protected memory",
            Fault::UnknownSyscall => "unknown system call",
        }
    }

    /// What `tval` holds for this cause.
    pub fn tval_name(self) -> &'static str {
        match self {
            Fault::InstructionMisaligned => "target",
            Fault::InstructionAccess | Fault::Breakpoint => "pc",
            Fault::IllegalInstruction => "instruction",
            Fault::UnknownSyscall => "a7",
            _ => "address",
        }
    }

    /// The signal a Linux process would die of, used for the CLI's exit code (128 + signal).
    pub fn signal(self) -> i32 {
        match self {
            Fault::IllegalInstruction => 4,
            Fault::Breakpoint => 5,
            Fault::InstructionMisaligned | Fault::LoadMisaligned | Fault::StoreMisaligned => 7,
            Fault::UnknownSyscall => 31,
            Fault::InstructionAccess | Fault::LoadAccess | Fault::StoreAccess => 11,
        }
    }
}

/// How a machine stands, read from its status words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Still running.
    Running,
    /// Exited with this code (the full 64-bit `a0`).
    Exited(u64),
    /// Faulted with this cause and detail.
    Faulted {
        /// The cause.
        fault: Fault,
        /// The detail (`tval`).
        tval: u64,
    },
    /// The status words hold values no machine writes (a hand-made state).
    Invalid {
        /// The status word.
        status: u64,
        /// The halt code word.
        code: u64,
    },
}

impl Status {
    /// Decodes the three status words.
    pub fn from_words(status: u64, code: u64, tval: u64) -> Status {
        match status {
            status::RUNNING => Status::Running,
            status::EXITED => Status::Exited(code),
            status::FAULTED => match Fault::from_code(code) {
                Some(fault) => Status::Faulted { fault, tval },
                None => Status::Invalid { status, code },
            },
            _ => Status::Invalid { status, code },
        }
    }

    /// Whether the machine has stopped (any status but running).
    pub fn is_halted(&self) -> bool {
        !matches!(self, Status::Running)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Running => write!(f, "running"),
            Status::Exited(c) => write!(f, "exited with code {}", *c as i64),
            Status::Faulted { fault, tval } => {
                write!(
                    f,
                    "faulted: {} ({} {:#x})",
                    fault.describe(),
                    fault.tval_name(),
                    tval
                )
            }
            Status::Invalid { status, code } => {
                write!(f, "invalid status word {status:#x} (code {code:#x})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_codes_round_trip() {
        for f in Fault::ALL {
            assert_eq!(Fault::from_code(f.code()), Some(f));
        }
        assert_eq!(Fault::from_code(9), None);
    }

    #[test]
    fn control_words_fit_and_do_not_overlap() {
        let offs = [
            ctrl::PC,
            ctrl::STATUS,
            ctrl::HALT_CODE,
            ctrl::TVAL,
            ctrl::EXEC_LO,
            ctrl::EXEC_SIZE,
            ctrl::RO_LO,
            ctrl::RO_SIZE,
            ctrl::INPUT_LEN,
            ctrl::INPUT_POS,
            ctrl::OUTPUT_LEN,
            ctrl::RESERVATION,
        ];
        for (i, o) in offs.iter().enumerate() {
            assert_eq!(*o, ctrl::PC + 8 * i as u64);
            assert!((*o as usize) < ctrl::WORDS * 8);
        }
        assert_eq!(S_TREE_DEPTH, 29);
    }
}
