//! Guest memory (region 0 of `S`): a flat 4 GiB byte array with dirty-page
//! tracking.
//!
//! The array is allocated zeroed (`calloc`), so the operating system backs
//! only the pages the guest touches. Loads and stores are one bounds-checked
//! slice access; a store also marks its page dirty so that the Merkle tree
//! re-hashes only what changed.

use crate::layout::MEM_SIZE;

/// log2 of the page size used for dirty tracking and hashing.
pub const LOG2_PAGE: u32 = 12;
/// Bytes in one page.
pub const PAGE_BYTES: usize = 1 << LOG2_PAGE;
/// Pages in guest memory.
pub const MEM_PAGES: usize = (MEM_SIZE as usize) >> LOG2_PAGE;

/// A set of page numbers with O(1) insert and cheap draining.
#[derive(Clone)]
pub struct PageSet {
    bits: Vec<u64>,
    list: Vec<u32>,
}

impl PageSet {
    /// An empty set over `pages` pages.
    pub fn new(pages: usize) -> PageSet {
        PageSet {
            bits: vec![0; pages.div_ceil(64)],
            list: Vec::new(),
        }
    }

    /// Adds page `p`.
    #[inline(always)]
    pub fn insert(&mut self, p: u32) {
        let w = (p >> 6) as usize;
        let bit = 1u64 << (p & 63);
        if let Some(word) = self.bits.get_mut(w)
            && *word & bit == 0
        {
            *word |= bit;
            self.list.push(p);
        }
    }

    /// Whether page `p` is in the set.
    pub fn contains(&self, p: u32) -> bool {
        self.bits
            .get((p >> 6) as usize)
            .is_some_and(|w| w & (1 << (p & 63)) != 0)
    }

    /// The pages, in insertion order.
    pub fn pages(&self) -> &[u32] {
        &self.list
    }

    /// Empties the set and returns its pages.
    pub fn take(&mut self) -> Vec<u32> {
        for &p in &self.list {
            if let Some(w) = self.bits.get_mut((p >> 6) as usize) {
                *w = 0;
            }
        }
        std::mem::take(&mut self.list)
    }

    /// Empties the set, appending its pages to `out` (keeps the capacity).
    pub fn drain_into(&mut self, out: &mut Vec<u64>) {
        for &p in &self.list {
            if let Some(w) = self.bits.get_mut((p >> 6) as usize) {
                *w = 0;
            }
            out.push(p as u64);
        }
        self.list.clear();
    }

    /// Number of pages in the set.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Guest memory: `MEM_SIZE` bytes, zero-initialised.
pub struct Memory {
    bytes: Vec<u8>,
    /// Pages written since the last [`Memory::take_dirty`].
    dirty: PageSet,
    /// Pages ever written (may be non-zero); updated when dirty pages are taken.
    touched: PageSet,
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

impl Memory {
    /// All-zero memory. Costs no physical memory until pages are written.
    pub fn new() -> Memory {
        Memory {
            bytes: vec![0u8; MEM_SIZE as usize],
            dirty: PageSet::new(MEM_PAGES),
            touched: PageSet::new(MEM_PAGES),
        }
    }

    /// Bytes of guest memory (`MEM_SIZE`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Reads `N` bytes at `addr`; `addr + N` must be within memory.
    #[inline(always)]
    pub fn read<const N: usize>(&self, addr: u64) -> Option<[u8; N]> {
        let a = addr as usize;
        self.bytes
            .get(a..a.wrapping_add(N))
            .and_then(|s| s.try_into().ok())
    }

    /// Reads a little-endian u64 at an 8-aligned address below `MEM_SIZE`.
    #[inline(always)]
    pub fn read_u64(&self, addr: u64) -> u64 {
        self.read::<8>(addr).map(u64::from_le_bytes).unwrap_or(0)
    }

    /// Reads a little-endian u32 at `addr` (0 if out of range).
    #[inline(always)]
    pub fn read_u32(&self, addr: u64) -> u32 {
        self.read::<4>(addr).map(u32::from_le_bytes).unwrap_or(0)
    }

    /// Writes `data` at `addr` and marks the pages dirty. Bytes beyond memory are dropped.
    #[inline(always)]
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        let a = addr as usize;
        if let Some(dst) = self.bytes.get_mut(a..a.wrapping_add(data.len())) {
            dst.copy_from_slice(data);
            let first = (addr >> LOG2_PAGE) as u32;
            let last = ((addr + data.len().max(1) as u64 - 1) >> LOG2_PAGE) as u32;
            for p in first..=last {
                self.dirty.insert(p);
            }
        }
    }

    /// Writes a little-endian u64 at an address below `MEM_SIZE - 8`.
    #[inline(always)]
    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Copies `out.len()` bytes starting at `addr` (zeros beyond memory).
    pub fn read_into(&self, addr: u64, out: &mut [u8]) {
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.bytes.get(addr as usize + i).copied().unwrap_or(0);
        }
    }

    /// One page, by page number.
    pub fn page(&self, p: u32) -> Option<&[u8]> {
        let a = (p as usize) << LOG2_PAGE;
        self.bytes.get(a..a + PAGE_BYTES)
    }

    /// Pages written since the last call; they join the touched set.
    pub fn take_dirty(&mut self) -> Vec<u32> {
        let pages = self.dirty.take();
        for &p in &pages {
            self.touched.insert(p);
        }
        pages
    }

    /// Like [`Memory::take_dirty`], appending the pages to `out` without allocating.
    pub fn drain_dirty_into(&mut self, out: &mut Vec<u64>) {
        let from = out.len();
        self.dirty.drain_into(out);
        for &p in &out[from..] {
            self.touched.insert(p as u32);
        }
    }

    /// Raw parts for machine A's JIT: the base of the `MEM_SIZE` bytes, the
    /// dirty set's bit words and its page list. Generated code sets a page's
    /// bit itself and pushes the page on the list when the bit was clear,
    /// exactly what [`PageSet::insert`] does.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub(crate) fn jit_parts(&mut self) -> (*mut u8, *mut u64, *mut Vec<u32>) {
        (
            self.bytes.as_mut_ptr(),
            self.dirty.bits.as_mut_ptr(),
            &mut self.dirty.list,
        )
    }

    /// Pages written since the last [`Memory::take_dirty`].
    pub fn dirty_pages(&self) -> &[u32] {
        self.dirty.pages()
    }

    /// Every page that was ever written (all others are zero), unordered.
    pub fn written_pages(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.touched.pages().to_vec();
        v.extend(
            self.dirty
                .pages()
                .iter()
                .copied()
                .filter(|p| !self.touched.contains(*p)),
        );
        v
    }
}
