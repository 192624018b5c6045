//! Compact copies of a [`State`]: the written memory pages, the control
//! page and the sparse pages, without the 4 GiB mapping. Snapshots are
//! what checkpoints, clones and parallel workers carry around.

use super::State;
use super::memory::{Memory, PAGE_BYTES};
use super::region::{Page, Region};
use std::sync::Arc;

/// A state's copy goes through a snapshot: only its written pages are copied.
impl Clone for State {
    fn clone(&self) -> Self {
        Snapshot::take(self).restore()
    }
}

/// A self-contained copy of a state.
#[derive(Clone)]
pub struct Snapshot {
    mem_pages: Vec<(u32, Arc<Page>)>,
    ctrl: Box<[u64; super::CTRL_PAGE_WORDS]>,
    other: Region,
}

impl Snapshot {
    /// Copies `state`.
    pub fn take(state: &State) -> Snapshot {
        let mut pages = state.mem.written_pages();
        pages.sort_unstable();
        let mem_pages = pages
            .into_iter()
            .filter_map(|p| {
                let bytes = state.mem.page(p)?;
                let mut page = [0u8; PAGE_BYTES];
                page.copy_from_slice(bytes);
                Some((p, Arc::new(page)))
            })
            .collect();
        Snapshot {
            mem_pages,
            ctrl: Box::new(*state.ctrl_words()),
            other: state.other().clone(),
        }
    }

    /// Copies `state`, sharing the pages that have not been written since
    /// `prev` was taken. `dirty_since_prev` lists the memory pages written
    /// since then (a superset is fine).
    pub fn take_after(state: &State, prev: &Snapshot, dirty_since_prev: &[u32]) -> Snapshot {
        let mut dirty: Vec<u32> = dirty_since_prev.to_vec();
        dirty.sort_unstable();
        let mut pages = state.mem.written_pages();
        pages.sort_unstable();
        let mut prev_iter = prev.mem_pages.iter().peekable();
        let mut mem_pages = Vec::with_capacity(pages.len());
        for p in pages {
            while prev_iter.peek().is_some_and(|(q, _)| *q < p) {
                prev_iter.next();
            }
            let shared = match prev_iter.peek() {
                Some((q, page)) if *q == p && dirty.binary_search(&p).is_err() => {
                    Some(page.clone())
                }
                _ => None,
            };
            let page = match shared {
                Some(page) => page,
                None => {
                    let mut page = [0u8; PAGE_BYTES];
                    if let Some(bytes) = state.mem.page(p) {
                        page.copy_from_slice(bytes);
                    }
                    Arc::new(page)
                }
            };
            mem_pages.push((p, page));
        }
        Snapshot {
            mem_pages,
            ctrl: Box::new(*state.ctrl_words()),
            other: state.other().clone(),
        }
    }

    /// The number of memory pages it holds (shared with other snapshots or not).
    pub fn pages(&self) -> usize {
        self.mem_pages.len()
    }

    /// A new state equal to the snapshot.
    pub fn restore(&self) -> State {
        let mut mem = Memory::new();
        for (p, page) in &self.mem_pages {
            mem.write((*p as u64) << super::memory::LOG2_PAGE, &page[..]);
        }
        State::from_parts(mem, self.ctrl.clone(), self.other.clone())
    }

    /// The bytes of `S` page `p` as the snapshot holds it (`None`: a page
    /// that is certainly zero).
    pub fn page_bytes(&self, p: u64) -> Option<std::borrow::Cow<'_, [u8]>> {
        use std::borrow::Cow;
        if p < super::MEM_PAGES {
            let i = self
                .mem_pages
                .binary_search_by_key(&(p as u32), |(q, _)| *q);
            i.ok()
                .and_then(|i| self.mem_pages.get(i))
                .map(|(_, page)| Cow::Borrowed(&page[..]))
        } else if p == super::CTRL_PAGE {
            Some(Cow::Owned(
                self.ctrl.iter().flat_map(|w| w.to_le_bytes()).collect(),
            ))
        } else {
            self.other.page(p).map(|pg| Cow::Borrowed(&pg[..]))
        }
    }

    /// Makes `state` equal to the snapshot in place, copying only the
    /// memory pages of `pages` whose bytes differ (zeroing those the
    /// snapshot does not hold); the control page and the sparse pages are
    /// set whole. `pages` must list every memory page where the two may
    /// differ (for a state of the same run: the pages written between
    /// the two). A copied page is marked dirty, as any write.
    pub fn restore_into(&self, state: &mut State, pages: &[u64]) {
        const ZERO: Page = [0; PAGE_BYTES];
        for &p in pages.iter().filter(|&&p| p < super::MEM_PAGES) {
            let want: &[u8] = match self
                .mem_pages
                .binary_search_by_key(&(p as u32), |(q, _)| *q)
            {
                Ok(i) => self.mem_pages.get(i).map_or(&ZERO[..], |(_, pg)| &pg[..]),
                Err(_) => &ZERO[..],
            };
            if state.mem.page(p as u32).is_some_and(|have| have != want) {
                state.mem.write(p << super::memory::LOG2_PAGE, want);
            }
        }
        *state.ctrl_words_mut() = *self.ctrl;
        state.set_other(self.other.clone());
    }

    /// Bytes of guest memory held (pages times page size).
    pub fn memory_bytes(&self) -> usize {
        self.mem_pages.len() * PAGE_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_restores_an_equal_state_and_shares_clean_pages() {
        let mut s = State::new();
        s.mem.write_u64(0x1000, 1);
        s.mem.write_u64(0x5000, 2);
        s.set_pc(0x1234);
        s.set_input(b"hello");
        let a = Snapshot::take(&s);
        assert!(a.restore().first_difference(&s).is_none());
        s.mem.take_dirty();
        s.mem.write_u64(0x5008, 3);
        let dirty = s.mem.dirty_pages().to_vec();
        let b = Snapshot::take_after(&s, &a, &dirty);
        assert!(b.restore().first_difference(&s).is_none());
        assert!(Arc::ptr_eq(&a.mem_pages[0].1, &b.mem_pages[0].1));
        assert!(!Arc::ptr_eq(&a.mem_pages[1].1, &b.mem_pages[1].1));
    }

    #[test]
    fn restore_into_rewinds_the_pages_written_since() {
        let mut s = State::new();
        s.mem.write_u64(0x1000, 1);
        s.set_pc(0x1234);
        s.set_input(b"hello");
        let a = Snapshot::take(&s);
        s.mem.take_dirty();
        s.mem.write_u64(0x1008, 5);
        s.mem.write_u64(0x9000, 6);
        s.set_pc(0x4444);
        s.write_output_at(0, b"out");
        assert!(a.page_bytes(0x9).is_none());
        assert_eq!(a.page_bytes(0x1).map(|b| b[0]), Some(1));
        let written: Vec<u64> = s.mem.take_dirty().into_iter().map(u64::from).collect();
        a.restore_into(&mut s, &written);
        assert_eq!(s.first_difference(&a.restore()), None);
        assert_eq!(s.mem.read_u64(0x9000), 0);
    }
}
