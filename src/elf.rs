//! ELF loading: a static RV64 executable and an input become the initial
//! state `S_0`.
//!
//! The loader copies every `PT_LOAD` segment to its virtual address, sets
//! `pc` to the entry point and `sp` to [`STACK_TOP`], and derives the two
//! protection ranges of the state from the segment flags:
//! - the **executable range** is the smallest range covering every segment
//!   with `PF_X`; instructions are fetched only from there;
//! - the **write-protected range** is the smallest range covering every
//!   segment without `PF_W`, provided no writable segment overlaps it
//!   (otherwise the same for the executable segments only, otherwise empty),
//!   widened to whole 4 KiB pages as Linux maps them (except into a page that
//!   a writable segment shares); stores into it fault, and so does a `read`
//!   whose buffer touches it.
//!
//! The checks take `O(n log n)` in the number of segments, and a file may
//! have at most [`MAX_PROGRAM_HEADERS`] program headers.

use crate::fast::Machine;
use crate::hash::{Hash, keccak};
use crate::layout::{MEM_SIZE, STACK_TOP, ctrl};
use crate::rules::claim::Claim;
use crate::state::State;
use crate::state::initial::Image;
use crate::state::tree::StateTree;
use goblin::elf::Elf;
pub use goblin::elf::program_header::{PF_R, PF_W, PF_X};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP, PT_LOAD};

/// `e_machine` of RISC-V.
pub const EM_RISCV: u16 = 243;
/// The most program headers a file may have: Linux's loader refuses more
/// than 64 KiB of them (56 bytes each).
pub const MAX_PROGRAM_HEADERS: usize = 65536 / 56;
/// The page size of write protection.
const PAGE: u64 = 4096;
const EF_RISCV_FLOAT_ABI: u32 = 0x6;
const EF_RISCV_RVE: u32 = 0x8;

/// Why a file is not a loadable RV64IMAC program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Shorter than an ELF header.
    #[error("file is too short to be an ELF file ({0} bytes)")]
    TooShort(usize),
    /// No `\x7fELF` magic.
    #[error("not an ELF file (bad magic bytes)")]
    BadMagic,
    /// ELFCLASS32.
    #[error("32-bit ELF file; mswap runs 64-bit RISC-V (RV64) programs")]
    Not64Bit,
    /// Unknown ELF class byte.
    #[error("unknown ELF class {0}")]
    BadClass(u8),
    /// Big-endian.
    #[error("big-endian ELF file; RISC-V is little-endian")]
    BigEndian,
    /// Not RISC-V.
    #[error("ELF file is for machine {0} ({1}), not RISC-V (243)")]
    WrongMachine(u16, &'static str),
    /// Not `ET_EXEC`.
    #[error("ELF type {0} is not a static executable (ET_EXEC); link with -static -no-pie")]
    NotExecutable(u16),
    /// RV32E/RV64E.
    #[error("ELF file is for the embedded base ISA (RVE), not RV64I")]
    EmbeddedBase,
    /// Needs an interpreter or has a dynamic section.
    #[error("dynamically linked ELF file; mswap runs static bare-metal programs")]
    Dynamic,
    /// goblin could not parse it.
    #[error("malformed or truncated ELF file: {0}")]
    Malformed(String),
    /// A segment's bytes lie beyond the end of the file.
    #[error(
        "segment {index} ({offset:#x}+{filesz:#x} bytes) lies beyond the end of the file ({file_len} bytes): truncated file"
    )]
    Truncated {
        /// Program header index.
        index: usize,
        /// File offset.
        offset: u64,
        /// Bytes in the file.
        filesz: u64,
        /// Length of the file.
        file_len: usize,
    },
    /// `p_filesz > p_memsz`.
    #[error("segment {index} has more file bytes ({filesz:#x}) than memory bytes ({memsz:#x})")]
    FileLargerThanMemory {
        /// Program header index.
        index: usize,
        /// Bytes in the file.
        filesz: u64,
        /// Bytes in memory.
        memsz: u64,
    },
    /// A segment beyond guest memory.
    #[error(
        "segment {index} at {vaddr:#x}+{memsz:#x} does not fit in guest memory (4 GiB, 0x0..0x100000000)"
    )]
    TooLargeForMemory {
        /// Program header index.
        index: usize,
        /// Virtual address.
        vaddr: u64,
        /// Bytes in memory.
        memsz: u64,
    },
    /// Two segments share addresses.
    #[error("segments {0} and {1} overlap")]
    Overlap(usize, usize),
    /// More program headers than Linux reads.
    #[error("{0} program headers; at most {MAX_PROGRAM_HEADERS} (64 KiB of headers, as Linux)")]
    TooManyHeaders(u16),
    /// Nothing to load.
    #[error("ELF file has no loadable segment")]
    NoLoadSegment,
    /// No `PF_X` segment.
    #[error("ELF file has no executable segment")]
    NoExecutableSegment,
    /// The entry point is outside the executable range or misaligned.
    #[error("entry point {0:#x} is not an even address in an executable segment")]
    BadEntry(u64),
}

/// One loadable segment.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Virtual address.
    pub vaddr: u64,
    /// Bytes in memory (the rest after `data` is zero).
    pub memsz: u64,
    /// Bytes from the file.
    pub data: Vec<u8>,
    /// `PF_*` flags.
    pub flags: u32,
}

/// A parsed program, ready to make initial states.
#[derive(Clone, Debug)]
pub struct Program {
    /// Keccak-256 of the ELF file.
    pub hash: Hash,
    /// Entry point.
    pub entry: u64,
    /// Loadable segments.
    pub segments: Vec<Segment>,
    /// Executable range `(lo, size)`.
    pub exec: (u64, u64),
    /// Write-protected range `(lo, size)`.
    pub ro: (u64, u64),
    /// Things that load but may not run as expected (shown by the CLI).
    pub warnings: Vec<String>,
}

fn machine_name(m: u16) -> &'static str {
    match m {
        3 => "x86",
        8 => "MIPS",
        40 => "ARM",
        62 => "x86-64",
        183 => "AArch64",
        _ => "unknown",
    }
}

fn hull<'a>(segs: impl Iterator<Item = &'a Segment>) -> Option<(u64, u64)> {
    let mut r: Option<(u64, u64)> = None;
    for s in segs {
        let (lo, hi) = (s.vaddr, s.vaddr + s.memsz);
        r = Some(match r {
            None => (lo, hi),
            Some((a, b)) => (a.min(lo), b.max(hi)),
        });
    }
    r
}

impl Program {
    /// Parses and checks an ELF file.
    pub fn load(bytes: &[u8]) -> Result<Program, ElfError> {
        if bytes.len() < 64 {
            if bytes.len() >= 4 && &bytes[..4] != b"\x7fELF" {
                return Err(ElfError::BadMagic);
            }
            if bytes.len() >= 5 && bytes[4] == 1 {
                return Err(ElfError::Not64Bit);
            }
            return Err(ElfError::TooShort(bytes.len()));
        }
        if &bytes[..4] != b"\x7fELF" {
            return Err(ElfError::BadMagic);
        }
        match bytes[4] {
            2 => {}
            1 => return Err(ElfError::Not64Bit),
            c => return Err(ElfError::BadClass(c)),
        }
        if bytes[5] != 1 {
            return Err(ElfError::BigEndian);
        }
        let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
        if machine != EM_RISCV {
            return Err(ElfError::WrongMachine(machine, machine_name(machine)));
        }
        let phnum = u16::from_le_bytes([bytes[56], bytes[57]]);
        if usize::from(phnum) > MAX_PROGRAM_HEADERS {
            return Err(ElfError::TooManyHeaders(phnum));
        }
        let elf = Elf::parse(bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;
        if elf.header.e_type != goblin::elf::header::ET_EXEC {
            return Err(ElfError::NotExecutable(elf.header.e_type));
        }
        let flags = elf.header.e_flags;
        if flags & EF_RISCV_RVE != 0 {
            return Err(ElfError::EmbeddedBase);
        }
        let mut warnings = Vec::new();
        // EF_RISCV_RVC (compressed instructions) needs no warning: the
        // machines run RV64IMAC.
        if flags & EF_RISCV_FLOAT_ABI != 0 {
            warnings.push(
                "ELF uses a hardware floating-point ABI; RV64IMAC has no floating point, an F/D \
                 instruction faults as illegal"
                    .to_string(),
            );
        }
        let mut segments: Vec<(usize, Segment)> = Vec::new();
        for (index, ph) in elf.program_headers.iter().enumerate() {
            match ph.p_type {
                PT_INTERP | PT_DYNAMIC => return Err(ElfError::Dynamic),
                PT_LOAD => {}
                _ => continue,
            }
            if ph.p_filesz > ph.p_memsz {
                return Err(ElfError::FileLargerThanMemory {
                    index,
                    filesz: ph.p_filesz,
                    memsz: ph.p_memsz,
                });
            }
            if ph.p_memsz == 0 {
                continue;
            }
            if ph.p_vaddr >= MEM_SIZE || MEM_SIZE - ph.p_vaddr < ph.p_memsz {
                return Err(ElfError::TooLargeForMemory {
                    index,
                    vaddr: ph.p_vaddr,
                    memsz: ph.p_memsz,
                });
            }
            let end = ph.p_offset.checked_add(ph.p_filesz);
            let data = match end {
                Some(end) if end <= bytes.len() as u64 => {
                    bytes[ph.p_offset as usize..end as usize].to_vec()
                }
                _ => {
                    return Err(ElfError::Truncated {
                        index,
                        offset: ph.p_offset,
                        filesz: ph.p_filesz,
                        file_len: bytes.len(),
                    });
                }
            };
            segments.push((
                index,
                Segment {
                    vaddr: ph.p_vaddr,
                    memsz: ph.p_memsz,
                    data,
                    flags: ph.p_flags,
                },
            ));
        }
        if segments.is_empty() {
            return Err(ElfError::NoLoadSegment);
        }
        // Overlaps in O(n log n): sorted by address, a segment can only
        // overlap its successor if any two overlap.
        segments.sort_by_key(|(i, s)| (s.vaddr, *i));
        for w in segments.windows(2) {
            if let [(ia, a), (ib, b)] = w
                && b.vaddr < a.vaddr + a.memsz
            {
                return Err(ElfError::Overlap((*ia).min(*ib), (*ia).max(*ib)));
            }
        }
        let segments: Vec<Segment> = segments.into_iter().map(|(_, s)| s).collect();
        let exec = hull(segments.iter().filter(|s| s.flags & PF_X != 0))
            .ok_or(ElfError::NoExecutableSegment)?;
        let writable: Vec<&Segment> = segments.iter().filter(|s| s.flags & PF_W != 0).collect();
        let clear_of_writes = |r: &(u64, u64)| {
            writable
                .iter()
                .all(|w| w.vaddr + w.memsz <= r.0 || w.vaddr >= r.1)
        };
        let ro = [
            hull(segments.iter().filter(|s| s.flags & PF_W == 0)),
            hull(
                segments
                    .iter()
                    .filter(|s| s.flags & PF_W == 0 && s.flags & PF_X != 0),
            ),
        ]
        .into_iter()
        .flatten()
        .find(|r| clear_of_writes(r))
        .map(|(lo, hi)| {
            // Whole pages, as Linux maps them: the rest of the first and last
            // page is protected too, unless a writable segment shares it.
            let lo_page = lo & !(PAGE - 1);
            let hi_page = hi.div_ceil(PAGE).saturating_mul(PAGE).min(MEM_SIZE);
            let lo = if clear_of_writes(&(lo_page, lo)) {
                lo_page
            } else {
                lo
            };
            let hi = if clear_of_writes(&(hi, hi_page)) {
                hi_page
            } else {
                hi
            };
            (lo, hi)
        })
        .unwrap_or((0, 0));
        let entry = elf.entry;
        if entry & 1 != 0
            || !segments
                .iter()
                .any(|s| s.flags & PF_X != 0 && entry >= s.vaddr && entry < s.vaddr + s.memsz)
        {
            return Err(ElfError::BadEntry(entry));
        }
        Ok(Program {
            hash: keccak(&[bytes]),
            entry,
            segments,
            exec: (exec.0, exec.1 - exec.0),
            ro: (ro.0, ro.1 - ro.0),
            warnings,
        })
    }

    /// The initial state `S_0` for this program and input.
    pub fn initial_state(&self, input: &[u8]) -> State {
        let mut s = State::new();
        for seg in &self.segments {
            s.mem.write(seg.vaddr, &seg.data);
        }
        s.set_pc(self.entry);
        s.set_x(2, STACK_TOP);
        s.set_ctrl(ctrl::EXEC_LO, self.exec.0);
        s.set_ctrl(ctrl::EXEC_SIZE, self.exec.1);
        s.set_ctrl(ctrl::RO_LO, self.ro.0);
        s.set_ctrl(ctrl::RO_SIZE, self.ro.1);
        s.set_input(input);
        s
    }

    /// The program's image: `root(S_0)` with an empty input and the
    /// witness from which the rules (and the contract) derive `root(S_0)`
    /// for any input ([`crate::rules::initial_root`],
    /// [`crate::rules::transcript::verify_transcript`]).
    pub fn image(&self) -> Image {
        Image::of_state(&self.initial_state(&[]))
    }

    /// Runs the program for `2^b` steps (or until it halts) on machine A
    /// and states the result as a claim.
    pub fn claim(&self, input: &[u8], b: u32) -> Claim {
        let mut m = Machine::new(self.initial_state(input));
        let limit = 1u64.checked_shl(b).unwrap_or(u64::MAX);
        let steps = m.run(limit);
        let state = m.into_state();
        let final_root = StateTree::build(&state).root();
        Claim {
            program: self.hash,
            input: keccak(&[input]),
            b,
            final_root,
            status: state.status().to_string(),
            output: keccak(&[&state.output()]),
            halted_after: state.halted().then_some(steps),
        }
    }

    /// Steps until the program halts on machine A, up to `limit` (None if
    /// it runs on).
    pub fn steps_to_halt(&self, input: &[u8], limit: u64) -> Option<u64> {
        let mut m = Machine::new(self.initial_state(input));
        let n = m.run(limit);
        m.state().halted().then_some(n)
    }
}

/// The image of an ELF file ([`Program::image`] of the loaded program):
/// what the rules need to derive `root(S_0)` of a claim or a transcript.
pub fn image_of(elf: &[u8]) -> Result<Image, ElfError> {
    Ok(Program::load(elf)?.image())
}

/// Writes a minimal static RV64 ELF executable: one `PT_LOAD` program
/// header per segment `(vaddr, flags, bytes, memsz)`, no sections. Used by
/// tests and examples to make programs without a cross compiler.
pub fn write_elf(segments: &[(u64, u32, &[u8], u64)], entry: u64) -> Vec<u8> {
    let phoff = 64u64;
    let mut f = vec![0u8; 64 + 56 * segments.len()];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // ELFCLASS64
    f[5] = 1; // little-endian
    f[6] = 1; // EV_CURRENT
    f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f[18..20].copy_from_slice(&EM_RISCV.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&phoff.to_le_bytes());
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    for (i, (vaddr, flags, bytes, memsz)) in segments.iter().enumerate() {
        // Keep file offsets congruent to addresses modulo the page size.
        let mut off = f.len() as u64;
        off += (vaddr.wrapping_sub(off)) & 0xfff;
        f.resize(off as usize, 0);
        f.extend_from_slice(bytes);
        let ph = 64 + 56 * i;
        f[ph..ph + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
        f[ph + 4..ph + 8].copy_from_slice(&flags.to_le_bytes());
        f[ph + 8..ph + 16].copy_from_slice(&off.to_le_bytes());
        f[ph + 16..ph + 24].copy_from_slice(&vaddr.to_le_bytes());
        f[ph + 24..ph + 32].copy_from_slice(&vaddr.to_le_bytes());
        f[ph + 32..ph + 40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        f[ph + 40..ph + 48].copy_from_slice(&memsz.to_le_bytes());
        f[ph + 48..ph + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid ELF: one R+X segment holding `code` at 0x10000,
    /// entry after the 0x78-byte headers (as the old hand layout had it).
    pub(crate) fn tiny_elf(code: &[u32]) -> Vec<u8> {
        let mut bytes = vec![0u8; 0x78];
        for w in code {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let size = bytes.len() as u64;
        let mut f = write_elf(&[(0x10000, PF_R | PF_X, &bytes, size)], 0x10078);
        // Let the segment start at file offset 0 so that it covers the headers, like ld does.
        let ph = 64;
        f[ph + 8..ph + 16].copy_from_slice(&0u64.to_le_bytes());
        f.truncate(0x78);
        f.extend_from_slice(&bytes[0x78..]);
        f
    }

    #[test]
    fn loads_a_tiny_elf() {
        let p = Program::load(&tiny_elf(&[0x0000_0073])).expect("loads");
        assert_eq!(p.entry, 0x10078);
        assert_eq!(p.exec, (0x10000, 0x7c));
        assert_eq!(p.ro, (0x10000, 0x1000), "the whole code page");
        let s = p.initial_state(b"in");
        assert_eq!(s.pc(), 0x10078);
        assert_eq!(s.x(2), STACK_TOP);
        assert_eq!(s.mem.read_u32(0x10078), 0x73);
        assert_eq!(s.input(), b"in");
    }

    /// Write protection covers whole pages of the read-only segments,
    /// except a page shared with a writable segment.
    #[test]
    fn write_protection_is_page_granular() {
        let code = [0x73u8, 0, 0, 0];
        // Each case: the segments (address, flags, size in memory) and the
        // read-only range they make.
        let (rx, r, rw) = (PF_R | PF_X, PF_R, PF_R | PF_W);
        type Segment = (u64, u32, u64);
        let cases: [(&[Segment], (u64, u64)); 6] = [
            (&[(0x10000, rx, 4)], (0x10000, 0x1000)),
            // Code and read-only data in two pages, data on the third.
            (
                &[(0x10000, rx, 4), (0x11000, r, 0x10), (0x12000, rw, 0x10)],
                (0x10000, 0x2000),
            ),
            // Data sharing the code's page: only the code's bytes are protected there.
            (
                &[(0x10000, rx, 0x100), (0x10800, rw, 0x10)],
                (0x10000, 0x100),
            ),
            // A segment that does not start on a page: its page from the start.
            (
                &[(0xf000, rw, 0x10), (0x10010, rx, 0x20)],
                (0x10000, 0x1000),
            ),
            (
                &[(0x10000, rw, 0x10), (0x10010, rx, 0x20)],
                (0x10010, 0xff0),
            ),
            // The last page of memory.
            (&[(0xffff_f000 + 0x10, rx, 4)], (0xffff_f000, 0x1000)),
        ];
        for (segs, want) in cases {
            let segs: Vec<(u64, u32, &[u8], u64)> = segs
                .iter()
                .map(|&(at, f, size)| (at, f, &code[..], size))
                .collect();
            let entry = segs.iter().find(|s| s.1 & PF_X != 0).expect("code").0;
            let got = Program::load(&write_elf(&segs, entry)).expect("loads").ro;
            assert_eq!(got, want, "{segs:x?}");
        }
    }

    /// The loader's checks are O(n log n) with a cap on the number of
    /// program headers; an overlap among many segments names the pair.
    #[test]
    fn many_segments_are_checked_quickly_and_capped() {
        let code = [0x73u8, 0, 0, 0];
        let segs = |n: usize| -> Vec<(u64, u32, &[u8], u64)> {
            // In reverse address order, so that sorting matters.
            (0..n as u64)
                .rev()
                .map(|i| (0x10000 + 0x1000 * i, PF_R | PF_X, &code[..], 4u64))
                .collect()
        };
        let p = Program::load(&write_elf(&segs(MAX_PROGRAM_HEADERS), 0x10000)).expect("loads");
        assert_eq!(p.segments.len(), MAX_PROGRAM_HEADERS);
        assert_eq!(
            Program::load(&write_elf(&segs(MAX_PROGRAM_HEADERS + 1), 0x10000)).unwrap_err(),
            ElfError::TooManyHeaders(MAX_PROGRAM_HEADERS as u16 + 1)
        );
        let mut s = segs(MAX_PROGRAM_HEADERS);
        // Header 7 (address 0x10000 + 0x1000 * (n - 8)) grows into the next segment up, header 6.
        s[7].3 = 0x1001;
        assert_eq!(
            Program::load(&write_elf(&s, 0x10000)).unwrap_err(),
            ElfError::Overlap(6, 7)
        );
    }

    #[test]
    fn names_what_is_wrong() {
        let good = tiny_elf(&[0x73]);
        assert_eq!(Program::load(&[]).unwrap_err(), ElfError::TooShort(0));
        assert_eq!(
            Program::load(b"hello world, this is not an elf file at all, no no no no no no no")
                .unwrap_err(),
            ElfError::BadMagic
        );
        let mut e = good.clone();
        e[4] = 1;
        assert_eq!(Program::load(&e).unwrap_err(), ElfError::Not64Bit);
        let mut e = good.clone();
        e[18] = 62;
        assert_eq!(
            Program::load(&e).unwrap_err(),
            ElfError::WrongMachine(62, "x86-64")
        );
        let mut e = good.clone();
        e[16] = 3;
        assert_eq!(Program::load(&e).unwrap_err(), ElfError::NotExecutable(3));
        let e = &good[..good.len() - 2];
        assert!(matches!(
            Program::load(e).unwrap_err(),
            ElfError::Truncated { index: 0, .. }
        ));
        let e = &good[..80];
        assert!(matches!(
            Program::load(e).unwrap_err(),
            ElfError::Malformed(_)
        ));
        let mut e = good.clone();
        e[64 + 16..64 + 24].copy_from_slice(&0xffff_fff0u64.to_le_bytes());
        assert!(matches!(
            Program::load(&e).unwrap_err(),
            ElfError::TooLargeForMemory { .. }
        ));
        let mut e = good.clone();
        e[24..32].copy_from_slice(&0x10001u64.to_le_bytes());
        assert_eq!(Program::load(&e).unwrap_err(), ElfError::BadEntry(0x10001));
        let mut e = good;
        e[64 + 4] = 6; // R+W, no X
        assert_eq!(
            Program::load(&e).unwrap_err(),
            ElfError::NoExecutableSegment
        );
    }
}
