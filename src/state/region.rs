//! A sparse, copy-on-write page store for the parts of `S` that are not
//! guest memory: control pages beyond the first, the input and the output
//! log. Pages are shared between clones and copied on first write; so is
//! each region's index of pages, so a clone costs the same whatever the
//! input's size (a player's checkpoints each hold one) and a write copies
//! only its own region's index, once per clone.

use super::memory::{LOG2_PAGE, PAGE_BYTES};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One page of bytes.
pub type Page = [u8; PAGE_BYTES];

/// One region's pages, keyed by their `S` page number.
type Pages = BTreeMap<u64, Arc<Page>>;

/// Sparse pages keyed by their `S` page number (`address >> 12`), one
/// index per region of `S` (`address >> 32`).
#[derive(Clone, Default)]
pub struct Region {
    pages: [Arc<Pages>; 4],
    dirty: BTreeSet<u64>,
}

/// The region of `S` page `p`.
fn region_of(p: u64) -> usize {
    ((p >> (32 - LOG2_PAGE)) & 3) as usize
}

impl Region {
    /// The page with this number, if it was ever written.
    pub fn page(&self, p: u64) -> Option<&Page> {
        self.pages[region_of(p)].get(&p).map(|a| &**a)
    }

    /// Page numbers that may be non-zero, in order.
    pub fn page_numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.pages.iter().flat_map(|m| m.keys().copied())
    }

    /// Reads one byte (zero if never written).
    pub fn read_byte(&self, addr: u64) -> u8 {
        self.page(addr >> LOG2_PAGE)
            .map_or(0, |p| p[(addr as usize) & (PAGE_BYTES - 1)])
    }

    /// Reads bytes starting at `addr` into `out`.
    pub fn read_into(&self, addr: u64, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let a = addr + done as u64;
            let off = (a as usize) & (PAGE_BYTES - 1);
            let n = (PAGE_BYTES - off).min(out.len() - done);
            match self.page(a >> LOG2_PAGE) {
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
            let page = Arc::make_mut(&mut self.pages[region_of(p)])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{CTRL_BASE, INPUT_BASE, OUTPUT_BASE};

    #[test]
    fn clones_share_what_neither_writes_and_see_only_their_own_writes() {
        let mut a = Region::default();
        a.write(INPUT_BASE + 4095, &[1, 2]);
        a.write(OUTPUT_BASE, &[3]);
        a.write(CTRL_BASE + 4096, &[4]);
        let b = a.clone();
        a.write(OUTPUT_BASE, &[5]);
        a.write(OUTPUT_BASE + 8192, &[6]);
        assert_eq!((a.read_byte(OUTPUT_BASE), b.read_byte(OUTPUT_BASE)), (5, 3));
        assert_eq!(
            (
                a.read_byte(OUTPUT_BASE + 8192),
                b.read_byte(OUTPUT_BASE + 8192)
            ),
            (6, 0)
        );
        let mut two = [0u8; 2];
        b.read_into(INPUT_BASE + 4095, &mut two);
        assert_eq!(two, [1, 2]);
        // The regions `a` did not write after the clone are still one copy.
        let r = |addr: u64| region_of(addr >> LOG2_PAGE);
        assert!(Arc::ptr_eq(
            &a.pages[r(INPUT_BASE)],
            &b.pages[r(INPUT_BASE)]
        ));
        assert!(Arc::ptr_eq(&a.pages[r(CTRL_BASE)], &b.pages[r(CTRL_BASE)]));
        assert!(!Arc::ptr_eq(
            &a.pages[r(OUTPUT_BASE)],
            &b.pages[r(OUTPUT_BASE)]
        ));
        let pages: Vec<u64> = a.page_numbers().collect();
        let want: Vec<u64> = [
            CTRL_BASE + 4096,
            INPUT_BASE,
            INPUT_BASE + 4096,
            OUTPUT_BASE,
            OUTPUT_BASE + 8192,
        ]
        .iter()
        .map(|x| x >> LOG2_PAGE)
        .collect();
        assert_eq!(pages, want);
    }
}
