//! An independent oracle for the state tree: `rs_merkle` (with a Keccak-256
//! hasher written here on `tiny-keccak`) builds dense trees over windows of
//! `S`, and a few lines here join them with all-zero subtrees up to the
//! root. The hand-written sparse tree of `src/state/tree.rs` must give the
//! same `root(S)` and the same leaf proofs, from scratch and after
//! incremental updates.

mod support;

use mswap::fast::Machine;
use mswap::hash::Hash;
use mswap::layout::{CTRL_BASE, INPUT_BASE, OUTPUT_BASE, S_TREE_DEPTH};
use mswap::state::State;
use mswap::state::tree::StateTree;
use rs_merkle::{Hasher, MerkleTree};
use std::collections::BTreeMap;
use tiny_keccak::Hasher as _;

/// Keccak-256 for `rs_merkle`: `H(left || right)` for inner nodes, as the
/// state tree hashes them.
#[derive(Clone)]
struct Keccak256;

impl Hasher for Keccak256 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        let mut k = tiny_keccak::Keccak::v256();
        k.update(data);
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        out
    }
}

/// log2 of the leaves in one dense window: 8 KiB, two pages, so windows and
/// the tree's pages do not line up one to one.
const K: u32 = 8;
const WINDOW_BYTES: u64 = 32 << K;

/// The oracle's tree: per level `K..=29`, the nodes that are not all-zero.
struct Oracle {
    levels: Vec<BTreeMap<u64, [u8; 32]>>,
    zero: Vec<[u8; 32]>,
    windows: BTreeMap<u64, MerkleTree<Keccak256>>,
}

impl Oracle {
    /// Dense trees over every window that holds a byte of `s` that may be
    /// non-zero (the windows named by `addrs`, each any `S` address in it).
    fn new(s: &State, addrs: &[u64]) -> Oracle {
        let mut zero = vec![Keccak256::hash(&[0u8; 32])];
        for h in 0..S_TREE_DEPTH as usize {
            zero.push(Keccak256::concat_and_hash(&zero[h], Some(&zero[h])));
        }
        let mut windows = BTreeMap::new();
        let mut level = BTreeMap::new();
        for &a in addrs {
            let w = a / WINDOW_BYTES;
            if windows.contains_key(&w) {
                continue;
            }
            let mut bytes = vec![0u8; WINDOW_BYTES as usize];
            s.read_bytes(w * WINDOW_BYTES, &mut bytes);
            let leaves: Vec<[u8; 32]> = bytes.chunks(32).map(Keccak256::hash).collect();
            let tree = MerkleTree::<Keccak256>::from_leaves(&leaves);
            level.insert(w, tree.root().expect("a root"));
            windows.insert(w, tree);
        }
        let mut levels = vec![level];
        for &z in &zero[K as usize..S_TREE_DEPTH as usize] {
            let below = levels.last().expect("a level");
            let mut up = BTreeMap::new();
            for &i in below.keys() {
                let node = |j: u64| below.get(&j).copied().unwrap_or(z);
                let (l, r) = (node(i & !1), node(i | 1));
                up.insert(i / 2, Keccak256::concat_and_hash(&l, Some(&r)));
            }
            levels.push(up);
        }
        Oracle {
            levels,
            zero,
            windows,
        }
    }

    fn root(&self) -> Hash {
        let top = self.levels.last().expect("levels");
        Hash(
            top.get(&0)
                .copied()
                .unwrap_or(self.zero[S_TREE_DEPTH as usize]),
        )
    }

    /// The siblings, bottom-up, of the leaf holding `addr` (which must lie
    /// in one of the windows).
    fn siblings(&self, addr: u64) -> Vec<Hash> {
        let leaf = addr / 32;
        let w = addr / WINDOW_BYTES;
        let tree = &self.windows[&w];
        let inside = (leaf % (1 << K)) as usize;
        let mut v: Vec<Hash> = tree
            .proof(&[inside])
            .proof_hashes()
            .iter()
            .map(|h| Hash(*h))
            .collect();
        assert_eq!(v.len(), K as usize, "a full window has K siblings");
        for (i, level) in self
            .levels
            .iter()
            .enumerate()
            .take((S_TREE_DEPTH - K) as usize)
        {
            let sib = (w >> i) ^ 1;
            v.push(Hash(
                level
                    .get(&sib)
                    .copied()
                    .unwrap_or(self.zero[K as usize + i]),
            ));
        }
        v
    }
}

/// Every `S` address that may hold a non-zero byte (one per page).
fn live(s: &State) -> Vec<u64> {
    s.nonzero_pages().into_iter().map(|p| p << 12).collect()
}

/// The tree's root and proofs equal the oracle's at `probes` (any `S`
/// addresses; their windows are built densely too, zero or not).
fn agree(what: &str, s: &State, tree: &StateTree, probes: &[u64]) {
    let mut windows = live(s);
    windows.extend_from_slice(probes);
    let oracle = Oracle::new(s, &windows);
    assert_eq!(tree.root(), oracle.root(), "{what}: root(S)");
    assert_eq!(
        mswap::state::tree::root(s),
        oracle.root(),
        "{what}: root(S) from scratch"
    );
    for &a in probes {
        let p = tree.prove(s, a);
        assert_eq!(p.index, a / 32, "{what}: leaf index of {a:#x}");
        let mut leaf = [0u8; 32];
        s.read_bytes(a / 32 * 32, &mut leaf);
        assert_eq!(p.leaf, leaf, "{what}: leaf bytes at {a:#x}");
        assert_eq!(p.siblings, oracle.siblings(a), "{what}: siblings of {a:#x}");
        assert_eq!(
            p.root(),
            oracle.root(),
            "{what}: the proof of {a:#x} leads to the root"
        );
    }
}

#[test]
fn the_empty_state_is_the_all_zero_tree() {
    let s = State::new();
    agree("empty", &s, &StateTree::build(&s), &[0, CTRL_BASE]);
}

#[test]
fn guest_states_match_the_oracle_from_scratch_and_incrementally() {
    let (elf, input) = (
        std::fs::read(support::guest_dir().join("bin/sha256.elf")).expect("guest"),
        support::sample_input("sha256"),
    );
    let s0 = support::guest_state(&elf, &input);
    let entry = s0.pc();
    let sp = s0.x(2);
    agree(
        "S_0",
        &s0,
        &StateTree::build(&s0),
        &[
            entry,
            entry + 0x18,
            CTRL_BASE + 0x100,
            INPUT_BASE,
            INPUT_BASE + 40,
        ],
    );
    // The tree kept in sync with a run, page by page, against the oracle.
    let mut m = Machine::new(s0);
    let mut s = m.state().clone();
    let mut tree = StateTree::build(&s);
    s.take_dirty();
    for chunk in [1u64, 10, 1000, 20_000] {
        m.run(chunk);
        let mut next = m.state().clone();
        // Re-hash only the pages the machine marked dirty.
        let dirty = next.take_dirty();
        tree.update(&next, &dirty);
        s = next;
        let out = s.output();
        let mut probes = vec![entry, sp - 8, CTRL_BASE, CTRL_BASE + 0x108];
        if !out.is_empty() {
            probes.extend([OUTPUT_BASE, OUTPUT_BASE + out.len() as u64 - 1]);
        }
        agree(&format!("after {chunk} more steps"), &s, &tree, &probes);
    }
    assert!(!s.output().is_empty(), "the run got far enough to write");
    // Scattered writes: both trees see the same dense windows.
    let mut g = support::Rng(0x7ee5);
    let mut addrs = Vec::new();
    for _ in 0..40 {
        let region = g.below(4) << 32;
        let a = region + (g.below(1 << 32) & !7);
        s.write_word(a, g.next());
        addrs.push(a);
    }
    let dirty = s.take_dirty();
    tree.update(&s, &dirty);
    agree("after scattered writes", &s, &tree, &addrs);
}
