//! A Merkle proof of one 32-byte leaf of a tree.

use crate::hash::{Hash, LEAF_BYTES, hash_leaf, root_from_path};
use serde::{Deserialize, Serialize};

/// A leaf of a Merkle tree with the sibling hashes from the leaf up to the
/// root. `index` is the leaf number; bit `k` of it says whether the node at
/// height `k` is a right child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafProof {
    /// The leaf number (byte address / 32).
    pub index: u64,
    /// The 32 bytes of the leaf.
    #[serde(with = "crate::proof::hexbytes::array32")]
    pub leaf: [u8; LEAF_BYTES],
    /// Sibling hashes, bottom-up.
    pub siblings: Vec<Hash>,
}

impl LeafProof {
    /// The root this proof leads to.
    pub fn root(&self) -> Hash {
        root_from_path(hash_leaf(&self.leaf), self.index, &self.siblings)
    }

    /// The root the proof leads to if the leaf held `leaf` instead.
    pub fn root_with(&self, leaf: &[u8; LEAF_BYTES]) -> Hash {
        root_from_path(hash_leaf(leaf), self.index, &self.siblings)
    }

    /// The 64-bit little-endian word `w` (0..4) of the leaf.
    pub fn word(&self, w: usize) -> u64 {
        let mut b = [0u8; 8];
        if let Some(s) = self.leaf.get(w * 8..w * 8 + 8) {
            b.copy_from_slice(s);
        }
        u64::from_le_bytes(b)
    }
}
