//! The essential state `S` of the machine (layout in [`crate::layout`]) and
//! its Merkle tree ([`tree`]).
//!
//! `State` keeps `S` in three stores, chosen for speed: guest memory is a
//! flat array ([`memory::Memory`]), the first control page is an array of
//! words, and every other page (input, output log, stray control words) is
//! a sparse copy-on-write [`region::Region`]. Whatever the store, `S` is one
//! byte space: [`State::read_word`] and [`State::write_word`] reach any word
//! of it.

pub mod initial;
mod keccak_x8;
pub mod memory;
pub mod region;
pub mod snapshot;
pub mod tree;

use crate::layout::{
    self, CTRL_BASE, INPUT_BASE, MEM_SIZE, OUTPUT_BASE, S_ADDR_MASK, Status, ctrl,
};
use memory::{LOG2_PAGE, Memory, PAGE_BYTES};
use region::Region;

/// Words in the first control page.
pub const CTRL_PAGE_WORDS: usize = PAGE_BYTES / 8;
/// Pages of guest memory (region 0).
pub const MEM_PAGES: u64 = MEM_SIZE >> LOG2_PAGE;
/// `S` page number of the first control page.
pub const CTRL_PAGE: u64 = CTRL_BASE >> LOG2_PAGE;

/// The essential state `S`.
///
/// ```
/// let (_, elf, input) = mswap::guests::default_guest();
/// let program = mswap::elf::Program::load(elf)?;
/// let s0 = program.initial_state(input);
/// assert_eq!(s0.pc(), program.entry);
/// assert!(!s0.halted());
/// // root(S_0): both sides of a game agree on it, and anyone can compute it.
/// let root = mswap::state::tree::root(&s0);
/// assert_eq!(root, mswap::state::tree::StateTree::build(&s0).root());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct State {
    /// Guest memory, region 0.
    pub mem: Memory,
    /// The first page of the control region, as words.
    ctrl: Box<[u64; CTRL_PAGE_WORDS]>,
    /// Every other non-zero page of regions 1 to 3.
    other: Region,
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

impl std::fmt::Debug for State {
    /// A summary: pc, status, non-zero registers and control words, page counts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "State {{ pc: {:#x}, status: {}",
            self.pc(),
            self.status()
        )?;
        for i in 0..ctrl::WORDS {
            let v = self.ctrl[i];
            if v != 0 && i as u64 * 8 != ctrl::PC {
                write!(f, ", {}: {v:#x}", ctrl_word_name(i as u64 * 8))?;
            }
        }
        write!(
            f,
            ", memory pages: {}, other pages: {} }}",
            self.mem.written_pages().len(),
            self.other.page_numbers().count()
        )
    }
}

impl State {
    /// The all-zero state (status running, pc 0, no ranges).
    pub fn new() -> State {
        State {
            mem: Memory::new(),
            ctrl: Box::new([0; CTRL_PAGE_WORDS]),
            other: Region::default(),
        }
    }

    /// A control word by its byte offset in the control region.
    #[inline(always)]
    pub fn ctrl(&self, off: u64) -> u64 {
        self.read_word(CTRL_BASE + off)
    }

    /// Sets a control word by its byte offset in the control region.
    #[inline(always)]
    pub fn set_ctrl(&mut self, off: u64, v: u64) {
        self.write_word(CTRL_BASE + off, v)
    }

    /// Register `x[i]` (i < 32).
    #[inline(always)]
    pub fn x(&self, i: usize) -> u64 {
        self.ctrl.get(i & 31).copied().unwrap_or(0)
    }

    /// Sets register `x[i]`; writes to `x[0]` are ignored.
    #[inline(always)]
    pub fn set_x(&mut self, i: usize, v: u64) {
        if i != 0 && i < 32 {
            self.ctrl[i] = v;
        }
    }

    /// The program counter.
    pub fn pc(&self) -> u64 {
        self.ctrl(ctrl::PC)
    }

    /// Sets the program counter.
    pub fn set_pc(&mut self, pc: u64) {
        self.set_ctrl(ctrl::PC, pc)
    }

    /// The machine status decoded from the status words.
    pub fn status(&self) -> Status {
        Status::from_words(
            self.ctrl(ctrl::STATUS),
            self.ctrl(ctrl::HALT_CODE),
            self.ctrl(ctrl::TVAL),
        )
    }

    /// Whether the machine has stopped (status word not "running").
    pub fn halted(&self) -> bool {
        self.ctrl(ctrl::STATUS) != layout::status::RUNNING
    }

    /// Halts with a fault; nothing else changes.
    pub fn set_fault(&mut self, f: layout::Fault, tval: u64) {
        self.set_ctrl(ctrl::STATUS, layout::status::FAULTED);
        self.set_ctrl(ctrl::HALT_CODE, f.code());
        self.set_ctrl(ctrl::TVAL, tval);
    }

    /// Reads the aligned 64-bit word of `S` that holds `addr` (taken modulo `2^34`).
    #[inline(always)]
    pub fn read_word(&self, addr: u64) -> u64 {
        let a = addr & S_ADDR_MASK & !7;
        if a < MEM_SIZE {
            self.mem.read_u64(a)
        } else if a.wrapping_sub(CTRL_BASE) < PAGE_BYTES as u64 {
            self.ctrl[((a - CTRL_BASE) >> 3) as usize]
        } else {
            self.other.read_u64(a)
        }
    }

    /// Writes the aligned 64-bit word of `S` that holds `addr` (taken modulo `2^34`).
    #[inline(always)]
    pub fn write_word(&mut self, addr: u64, v: u64) {
        let a = addr & S_ADDR_MASK & !7;
        if a < MEM_SIZE {
            self.mem.write_u64(a, v)
        } else if a.wrapping_sub(CTRL_BASE) < PAGE_BYTES as u64 {
            self.ctrl[((a - CTRL_BASE) >> 3) as usize] = v
        } else {
            self.other.write_u64(a, v)
        }
    }

    /// Copies bytes of `S` starting at `addr` into `out` (addresses wrap at `2^34`).
    pub fn read_bytes(&self, addr: u64, out: &mut [u8]) {
        let a = addr & S_ADDR_MASK;
        let n = out.len() as u64;
        let end = a + n;
        let one_region = n == 0 || (end <= S_ADDR_MASK + 1 && a >> 32 == (end - 1) >> 32);
        if one_region && a < MEM_SIZE {
            self.mem.read_into(a, out)
        } else if one_region && a >= INPUT_BASE {
            self.other.read_into(a, out)
        } else {
            for (i, b) in out.iter_mut().enumerate() {
                let x = a.wrapping_add(i as u64) & S_ADDR_MASK;
                *b = (self.read_word(x) >> ((x & 7) * 8)) as u8;
            }
        }
    }

    /// The bytes of one `S` page (`None` for a page that is certainly zero).
    pub fn page_bytes(&self, p: u64) -> Option<std::borrow::Cow<'_, [u8]>> {
        use std::borrow::Cow;
        if p < MEM_SIZE >> LOG2_PAGE {
            self.mem.page(p as u32).map(Cow::Borrowed)
        } else if p == CTRL_PAGE {
            let mut b = vec![0u8; PAGE_BYTES];
            for (i, w) in self.ctrl.iter().enumerate() {
                b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
            }
            Some(Cow::Owned(b))
        } else {
            self.other.page(p).map(|pg| Cow::Borrowed(&pg[..]))
        }
    }

    /// Every `S` page that may be non-zero, unordered.
    pub fn nonzero_pages(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .mem
            .written_pages()
            .into_iter()
            .map(u64::from)
            .collect();
        v.push(CTRL_PAGE);
        v.extend(self.other.page_numbers());
        v
    }

    /// Pages written since the last call (the first control page is always included).
    pub fn take_dirty(&mut self) -> Vec<u64> {
        let mut v: Vec<u64> = self.mem.take_dirty().into_iter().map(u64::from).collect();
        v.push(CTRL_PAGE);
        v.extend(self.other.take_dirty());
        v
    }

    /// Appends the pages written since the last call to `out` (the first
    /// control page is not included: it is always considered dirty).
    pub fn drain_dirty_into(&mut self, out: &mut Vec<u64>) {
        self.mem.drain_dirty_into(out);
        if self.other.has_dirty() {
            out.extend(self.other.take_dirty());
        }
    }

    /// The input bytes (region 2, `input_len` bytes).
    pub fn input(&self) -> Vec<u8> {
        let n = self.ctrl(ctrl::INPUT_LEN).min(layout::IO_CAPACITY) as usize;
        let mut v = vec![0; n];
        self.other.read_into(INPUT_BASE, &mut v);
        v
    }

    /// Installs the input bytes and sets `input_len` (`input_pos` is reset to 0).
    pub fn set_input(&mut self, data: &[u8]) {
        let n = data.len().min(layout::IO_CAPACITY as usize);
        self.other.write(INPUT_BASE, &data[..n]);
        self.set_ctrl(ctrl::INPUT_LEN, n as u64);
        self.set_ctrl(ctrl::INPUT_POS, 0);
    }

    /// Bytes `from..to` of the output log.
    pub fn output_range(&self, from: u64, to: u64) -> Vec<u8> {
        let to = to.min(layout::IO_CAPACITY);
        let from = from.min(to);
        let mut v = vec![0; (to - from) as usize];
        self.other.read_into(OUTPUT_BASE + from, &mut v);
        v
    }

    /// The whole output log (`output_len` bytes).
    pub fn output(&self) -> Vec<u8> {
        self.output_range(0, self.ctrl(ctrl::OUTPUT_LEN))
    }

    /// Input bytes from position `pos` (what `read` copies; wraps like any `S` address).
    pub fn read_input_into(&self, pos: u64, out: &mut [u8]) {
        self.read_bytes(INPUT_BASE.wrapping_add(pos), out)
    }

    /// Appends bytes at position `pos` of the output log (no length update).
    pub fn write_output_at(&mut self, pos: u64, data: &[u8]) {
        self.other.write(OUTPUT_BASE + pos, data)
    }

    /// The first control page as words (registers, pc, status, ranges, I/O).
    pub fn ctrl_words(&self) -> &[u64; CTRL_PAGE_WORDS] {
        &self.ctrl
    }

    /// The first control page as words, mutable (machine A's register write-back).
    pub(crate) fn ctrl_words_mut(&mut self) -> &mut [u64; CTRL_PAGE_WORDS] {
        &mut self.ctrl
    }

    pub(crate) fn other(&self) -> &Region {
        &self.other
    }

    /// Replaces every page of regions 1 to 3 but the first control page.
    pub(crate) fn set_other(&mut self, other: Region) {
        self.other = other;
    }

    pub(crate) fn from_parts(
        mem: Memory,
        ctrl: Box<[u64; CTRL_PAGE_WORDS]>,
        other: Region,
    ) -> State {
        State { mem, ctrl, other }
    }

    /// The first place where two states differ, or `None` if they are equal.
    pub fn first_difference(&self, other: &State) -> Option<Difference> {
        for i in 0..CTRL_PAGE_WORDS {
            let (a, b) = (self.ctrl[i], other.ctrl[i]);
            if a != b {
                return Some(Difference {
                    what: ctrl_word_name(i as u64 * 8),
                    address: CTRL_BASE + i as u64 * 8,
                    left: a,
                    right: b,
                });
            }
        }
        let mut pages = self.nonzero_pages();
        pages.extend(other.nonzero_pages());
        pages.sort_unstable();
        pages.dedup();
        for p in pages {
            if p == CTRL_PAGE {
                continue;
            }
            let base = p << LOG2_PAGE;
            let (x, y) = (self.page_bytes(p), other.page_bytes(p));
            let zero = [0u8; PAGE_BYTES];
            let xa: &[u8] = x.as_deref().unwrap_or(&zero);
            let ya: &[u8] = y.as_deref().unwrap_or(&zero);
            if xa != ya {
                let i = (0..PAGE_BYTES / 8)
                    .find(|i| xa[i * 8..i * 8 + 8] != ya[i * 8..i * 8 + 8])
                    .unwrap_or(0);
                let word =
                    |s: &[u8]| u64::from_le_bytes(s[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
                let address = base + i as u64 * 8;
                return Some(Difference {
                    what: region_name(address),
                    address,
                    left: word(xa),
                    right: word(ya),
                });
            }
        }
        None
    }
}

/// Where two states differ: a named field or word, with both values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The field ("pc", "x5", "memory word", ...).
    pub what: String,
    /// The `S` address of the differing word.
    pub address: u64,
    /// The value in the first state.
    pub left: u64,
    /// The value in the second state.
    pub right: u64,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (S address {:#x}): {:#x} vs {:#x}",
            self.what, self.address, self.left, self.right
        )
    }
}

/// The name of the control word at byte offset `off`.
pub fn ctrl_word_name(off: u64) -> String {
    match off {
        o if o < 0x100 => format!("x{}", o / 8),
        ctrl::PC => "pc".into(),
        ctrl::STATUS => "status".into(),
        ctrl::HALT_CODE => "halt_code".into(),
        ctrl::TVAL => "tval".into(),
        ctrl::EXEC_LO => "exec_lo".into(),
        ctrl::EXEC_SIZE => "exec_size".into(),
        ctrl::RO_LO => "ro_lo".into(),
        ctrl::RO_SIZE => "ro_size".into(),
        ctrl::INPUT_LEN => "input_len".into(),
        ctrl::INPUT_POS => "input_pos".into(),
        ctrl::OUTPUT_LEN => "output_len".into(),
        ctrl::RESERVATION => "reservation".into(),
        o => format!("control word {o:#x}"),
    }
}

fn region_name(addr: u64) -> String {
    match addr >> 32 {
        0 => format!("memory word {addr:#x}"),
        1 => ctrl_word_name(addr - CTRL_BASE),
        2 => format!("input word {:#x}", addr - INPUT_BASE),
        _ => format!("output word {:#x}", addr - OUTPUT_BASE),
    }
}

/// The micro-machine's accessors reach `S` through these two calls.
impl crate::micro::access::Words for State {
    #[inline(always)]
    fn read_word(&self, addr: u64) -> u64 {
        State::read_word(self, addr)
    }

    #[inline(always)]
    fn write_word(&mut self, addr: u64, v: u64) {
        State::write_word(self, addr, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_reach_every_region() {
        let mut s = State::new();
        for a in [
            0x10u64,
            MEM_SIZE - 8,
            CTRL_BASE + 0x100,
            CTRL_BASE + 0x5000,
            INPUT_BASE + 8,
            OUTPUT_BASE + 0xffff_fff8,
        ] {
            s.write_word(a, a ^ 0x1234);
            assert_eq!(s.read_word(a), a ^ 0x1234);
            assert_eq!(
                s.read_word(a + (1 << 34)),
                a ^ 0x1234,
                "addresses wrap at 2^34"
            );
        }
        assert_eq!(s.pc(), (CTRL_BASE + 0x100) ^ 0x1234);
    }

    #[test]
    fn difference_names_the_field() {
        let a = State::new();
        let mut b = State::new();
        assert_eq!(a.first_difference(&b), None);
        b.set_x(5, 7);
        assert_eq!(
            a.first_difference(&b).map(|d| d.what),
            Some("x5".to_string())
        );
        let mut c = State::new();
        c.mem.write_u64(0x2000, 9);
        let d = a.first_difference(&c).expect("differs");
        assert_eq!((d.address, d.left, d.right), (0x2000, 0, 9));
        let mut e = State::new();
        e.write_output_at(3, b"x");
        assert!(
            a.first_difference(&e)
                .expect("differs")
                .what
                .starts_with("output")
        );
    }
}
