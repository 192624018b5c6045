//! A sparse, copy-on-write page store for the parts of `S` that are not
//! guest memory: control pages beyond the first, the input and the output
//! log. Pages are shared between clones and copied on first write.

use super::memory::{LOG2_PAGE, PAGE_BYTES};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One page of bytes.
pub type Page = [u8; PAGE_BYTES];

/// Sparse pages keyed by their `S` page number (`address >> 12`).
#[derive(Clone, Default)]
pub struct Region {
    pages: BTreeMap<u64, Arc<Page>>,
    dirty: BTreeSet<u64>,
}

impl Region {
    /// The page with this number, if it was ever written.
    pub fn page(&self, p: u64) -> Option<&Page> {
        self.pages.get(&p).map(|a| &**a)
    }

    /// Page numbers that may be non-zero, in order.
    pub fn page_numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.pages.keys().copied()
    }

    /// Reads one byte (zero if never written).
    pub fn read_byte(&self, addr: u64) -> u8 {
        self.pages
            .get(&(addr >> LOG2_PAGE))
            .map_or(0, |p| p[(addr as usize) & (PAGE_BYTES - 1)])
    }

    /// Reads bytes starting at `addr` into `out`.
    pub fn read_into(&self, addr: u64, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let a = addr + done as u64;
            let off = (a as usize) & (PAGE_BYTES - 1);
            let n = (PAGE_BYTES - off).min(out.len() - done);
            match self.pages.get(&(a >> LOG2_PAGE)) {
                Some(p) => out[done..done + n].copy_from_slice(&p[off..off + n]),
                None => out[done..done + n].fill(0),
            }
            done += n;
        }
    }

    /// Writes `data` at `addr`, copying shared pages first.
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let a = addr + done as u64;
            let off = (a as usize) & (PAGE_BYTES - 1);
            let n = (PAGE_BYTES - off).min(data.len() - done);
            let p = a >> LOG2_PAGE;
            let page = self
                .pages
                .entry(p)
                .or_insert_with(|| Arc::new([0; PAGE_BYTES]));
            Arc::make_mut(page)[off..off + n].copy_from_slice(&data[done..done + n]);
            self.dirty.insert(p);
            done += n;
        }
    }

    /// Reads the aligned 64-bit word at `addr`.
    pub fn read_u64(&self, addr: u64) -> u64 {
        let mut b = [0u8; 8];
        self.read_into(addr & !7, &mut b);
        u64::from_le_bytes(b)
    }

    /// Writes the aligned 64-bit word at `addr`.
    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr & !7, &v.to_le_bytes());
    }

    /// Pages written since the last call.
    pub fn take_dirty(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }

    /// Whether any page was written since the last [`Region::take_dirty`].
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }
}
