//! The Merkle tree over `S`, kept up to date incrementally.
//!
//! Shape (fixed): `S` is `2^34` bytes = `2^29` leaves of 32 bytes, in a
//! complete binary tree of depth 29 ([`crate::layout::S_TREE_DEPTH`]). Leaf
//! `i` holds bytes `32*i .. 32*i + 32` of `S`. Hashing follows
//! [`crate::hash`]: `leaf = keccak256(32 bytes)`, `node = keccak256(l || r)`.
//! So the four regions of [`crate::layout`] are the four subtrees at height
//! 27, and `root(S) = H(H(mem, ctrl), H(input, output))`.
//!
//! The cache keeps the hash of every page (height 7, 4 KiB) that may be
//! non-zero and every non-pristine node above pages; a pristine subtree's
//! hash comes from [`crate::hash::zero_hash`]. An update re-hashes only the
//! pages it is told are dirty and the paths above them.

use super::State;
use super::memory::{LOG2_PAGE, PAGE_BYTES};
use crate::hash::{Hash, LEAF_BYTES, LOG2_LEAF, hash_node, zero_hash};
use crate::layout::{S_ADDR_MASK, S_TREE_DEPTH};
use crate::proof::LeafProof;
use rayon::prelude::*;
use std::collections::HashMap;

/// Height of a page's subtree (4096 / 32 = 2^7 leaves).
pub const PAGE_HEIGHT: u32 = LOG2_PAGE - LOG2_LEAF;

pub use crate::hash::subtree_hash;

/// Hash of one page of bytes (eight hashes at a time where the processor
/// can, [`super::keccak_x8`]).
pub fn page_hash(bytes: &[u8]) -> Hash {
    if bytes.iter().all(|&b| b == 0) {
        return zero_hash(PAGE_HEIGHT);
    }
    super::keccak_x8::page_hash(bytes).unwrap_or_else(|| subtree_hash(bytes, PAGE_HEIGHT))
}

/// An incrementally maintained Merkle tree over one [`State`].
#[derive(Clone)]
pub struct StateTree {
    /// `levels[h - PAGE_HEIGHT]`: non-pristine nodes at height `h`, by index.
    levels: Vec<HashMap<u64, Hash>>,
}

impl StateTree {
    /// Builds the tree of `state` from scratch.
    pub fn build(state: &State) -> StateTree {
        let mut t = StateTree {
            levels: vec![HashMap::new(); (S_TREE_DEPTH - PAGE_HEIGHT + 1) as usize],
        };
        t.update(state, &state.nonzero_pages());
        t
    }

    /// Re-hashes `pages` (S page numbers) and everything above them.
    pub fn update(&mut self, state: &State, pages: &[u64]) {
        let mut pages: Vec<u64> = pages.to_vec();
        pages.sort_unstable();
        pages.dedup();
        let hashes: Vec<(u64, Hash)> = if pages.len() > 16 {
            pages
                .par_iter()
                .map(|&p| (p, hash_page_of(state, p)))
                .collect()
        } else {
            pages.iter().map(|&p| (p, hash_page_of(state, p))).collect()
        };
        for (p, h) in hashes {
            self.set(PAGE_HEIGHT, p, h);
        }
        let mut dirty = pages;
        for h in PAGE_HEIGHT + 1..=S_TREE_DEPTH {
            for i in dirty.iter_mut() {
                *i >>= 1;
            }
            dirty.dedup();
            for &i in &dirty {
                let v = hash_node(&self.node(h - 1, 2 * i), &self.node(h - 1, 2 * i + 1));
                self.set(h, i, v);
            }
        }
    }

    /// Takes the state's dirty pages, re-hashes them and returns the new root.
    pub fn sync(&mut self, state: &mut State) -> Hash {
        let dirty = state.take_dirty();
        self.update(state, &dirty);
        self.root()
    }

    /// `root(S)`.
    pub fn root(&self) -> Hash {
        self.node(S_TREE_DEPTH, 0)
    }

    /// Hash of the node at height `h` (>= page height), index `i`.
    pub fn node(&self, h: u32, i: u64) -> Hash {
        self.levels
            .get((h - PAGE_HEIGHT) as usize)
            .and_then(|m| m.get(&i))
            .copied()
            .unwrap_or_else(|| zero_hash(h))
    }

    fn set(&mut self, h: u32, i: u64, v: Hash) {
        if let Some(m) = self.levels.get_mut((h - PAGE_HEIGHT) as usize) {
            if v == zero_hash(h) {
                m.remove(&i);
            } else {
                m.insert(i, v);
            }
        }
    }

    /// A proof of the leaf holding `S` byte address `addr` (the tree must be in sync).
    pub fn prove(&self, state: &State, addr: u64) -> LeafProof {
        let addr = addr & S_ADDR_MASK;
        let page = addr >> LOG2_PAGE;
        let bytes = state
            .page_bytes(page)
            .map(|c| c.into_owned())
            .unwrap_or_else(|| vec![0u8; PAGE_BYTES]);
        let leaf_in_page = ((addr as usize) & (PAGE_BYTES - 1)) >> LOG2_LEAF;
        let mut siblings = Vec::with_capacity(S_TREE_DEPTH as usize);
        // Inside the page: sibling subtrees of growing size.
        for h in 0..PAGE_HEIGHT {
            let sib = (leaf_in_page >> h) ^ 1;
            let span = LEAF_BYTES << h;
            siblings.push(subtree_hash(&bytes[sib * span..(sib + 1) * span], h));
        }
        for h in PAGE_HEIGHT..S_TREE_DEPTH {
            siblings.push(self.node(h, (page >> (h - PAGE_HEIGHT)) ^ 1));
        }
        let mut leaf = [0u8; LEAF_BYTES];
        let off = leaf_in_page * LEAF_BYTES;
        leaf.copy_from_slice(&bytes[off..off + LEAF_BYTES]);
        LeafProof {
            index: addr >> LOG2_LEAF,
            leaf,
            siblings,
        }
    }
}

fn hash_page_of(state: &State, p: u64) -> Hash {
    match state.page_bytes(p) {
        Some(b) => page_hash(&b),
        None => zero_hash(PAGE_HEIGHT),
    }
}

/// `root(S)` of a state, computed from scratch.
pub fn root(state: &State) -> Hash {
    StateTree::build(state).root()
}

/// The recording accessor asks the tree for the leaf a micro-step touches.
impl crate::micro::access::record::LeafProofs<State> for StateTree {
    fn leaf_proof(&self, s: &State, addr: u64) -> LeafProof {
        self.prove(s, addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{CTRL_BASE, INPUT_BASE, OUTPUT_BASE};

    /// A naive reference: hash every region page by page with no cache.
    fn reference_root(state: &State) -> Hash {
        let mut pages: Vec<u64> = state.nonzero_pages();
        pages.sort_unstable();
        pages.dedup();
        let mut level: HashMap<u64, Hash> =
            pages.iter().map(|&p| (p, hash_page_of(state, p))).collect();
        for h in PAGE_HEIGHT + 1..=S_TREE_DEPTH {
            let mut next = HashMap::new();
            let keys: Vec<u64> = level.keys().map(|k| k >> 1).collect();
            for k in keys {
                let l = level.get(&(2 * k)).copied().unwrap_or(zero_hash(h - 1));
                let r = level.get(&(2 * k + 1)).copied().unwrap_or(zero_hash(h - 1));
                next.insert(k, hash_node(&l, &r));
            }
            level = next;
        }
        level.get(&0).copied().unwrap_or(zero_hash(S_TREE_DEPTH))
    }

    #[test]
    fn empty_state_root_is_the_ctrl_page_only() {
        let s = State::new();
        assert_eq!(root(&s), zero_hash(S_TREE_DEPTH));
        assert_eq!(root(&s), reference_root(&s));
    }

    #[test]
    fn incremental_equals_full_after_random_writes() {
        let mut s = State::new();
        let mut t = StateTree::build(&s);
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for round in 0..20 {
            for _ in 0..50 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let region = [0, CTRL_BASE, INPUT_BASE, OUTPUT_BASE][(x % 4) as usize];
                let off = (x >> 8) % (1 << 32);
                let off = if region == CTRL_BASE {
                    off % 0x3000
                } else {
                    off
                };
                s.write_word(region + off, if round % 3 == 0 { 0 } else { x });
            }
            let inc = t.sync(&mut s);
            assert_eq!(inc, root(&s), "round {round}");
            assert_eq!(inc, reference_root(&s), "round {round}");
        }
    }

    #[test]
    fn proofs_verify_and_tampering_is_detected() {
        let mut s = State::new();
        s.mem.write_u64(0x10000, 0xdead_beef);
        s.set_pc(0x10000);
        s.set_input(b"some input");
        let mut t = StateTree::build(&s);
        let r = t.sync(&mut s);
        for addr in [
            0x10000u64,
            0x10008,
            0x7777_0000,
            CTRL_BASE + 0x100,
            INPUT_BASE,
            OUTPUT_BASE + 64,
        ] {
            let p = t.prove(&s, addr);
            assert_eq!(p.siblings.len(), S_TREE_DEPTH as usize);
            assert_eq!(p.root(), r, "proof of {addr:#x}");
            let mut bad = p.clone();
            bad.leaf[3] ^= 1;
            assert_ne!(bad.root(), r);
            let mut bad = p.clone();
            bad.siblings[11].0[0] ^= 1;
            assert_ne!(bad.root(), r);
            let mut bad = p.clone();
            bad.index ^= 1 << 28;
            assert_ne!(bad.root(), r);
        }
        assert_eq!(t.prove(&s, 0x10000).word(0), 0xdead_beef);
    }
}
