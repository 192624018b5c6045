//! Keccak-256 and the Merkle hashing rules shared by every tree in mswap.
//!
//! - A leaf is 32 bytes; its hash is `keccak256(leaf)`.
//! - An inner node is `keccak256(left || right)`.
//! - `zero_hash(k)` is the root of a pristine (all-zero) subtree of `2^k`
//!   leaves: `zero_hash(0) = keccak256([0; 32])`,
//!   `zero_hash(k + 1) = keccak256(zero_hash(k) || zero_hash(k))`.
//!
//! This module is part of the verifier's trusted base: no allocation, no
//! panics, nothing but hashing.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;
use tiny_keccak::{Hasher, Keccak};

/// Bytes in one Merkle leaf.
pub const LEAF_BYTES: usize = 32;
/// log2 of [`LEAF_BYTES`].
pub const LOG2_LEAF: u32 = 5;
/// The deepest pristine subtree that [`zero_hash`] knows (covers 2^64 leaves).
pub const MAX_ZERO_LEVEL: usize = 64;

/// A 32-byte Keccak-256 digest, shown and serialized as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash (not the hash of anything; used as a placeholder).
    pub const ZERO: Hash = Hash([0; 32]);

    /// Lowercase hex, 64 characters, no prefix.
    pub fn to_hex(&self) -> String {
        const_hex::encode(self.0)
    }

    /// Parses 64 hex characters, with or without a `0x` prefix.
    pub fn from_hex(s: &str) -> Result<Hash, HashParseError> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        if s.len() != 64 {
            return Err(HashParseError::Length(s.len()));
        }
        let mut out = [0u8; 32];
        const_hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError::NotHex)?;
        Ok(Hash(out))
    }
}

/// Why a string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// Wrong number of hex digits.
    #[error("a hash has 64 hex digits, found {0}")]
    Length(usize),
    /// A character that is not a hex digit.
    #[error("a hash must be hex digits only")]
    NotHex,
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

const fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// A hash from 64 hex digits at compile time.
pub const fn hash_from_hex(s: &str) -> Hash {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 && 2 * i + 1 < b.len() {
        out[i] = (hex_digit(b[2 * i]) << 4) | hex_digit(b[2 * i + 1]);
        i += 1;
    }
    Hash(out)
}

/// Keccak-256 of the concatenation of `parts`.
pub fn keccak(parts: &[&[u8]]) -> Hash {
    let mut k = Keccak::v256();
    for p in parts {
        k.update(p);
    }
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    Hash(out)
}

/// Hash of one 32-byte leaf.
pub fn hash_leaf(leaf: &[u8; LEAF_BYTES]) -> Hash {
    keccak(&[leaf])
}

/// Hash of an inner node from its two children.
pub fn hash_node(left: &Hash, right: &Hash) -> Hash {
    keccak(&[&left.0, &right.0])
}

fn zero_table() -> &'static [Hash; MAX_ZERO_LEVEL + 1] {
    static TABLE: OnceLock<[Hash; MAX_ZERO_LEVEL + 1]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [Hash::ZERO; MAX_ZERO_LEVEL + 1];
        let mut h = hash_leaf(&[0; LEAF_BYTES]);
        for slot in t.iter_mut() {
            *slot = h;
            h = hash_node(&h, &h);
        }
        t
    })
}

/// Root of a pristine subtree of `2^level` zero leaves (levels above 64 saturate).
pub fn zero_hash(level: u32) -> Hash {
    let t = zero_table();
    let i = (level as usize).min(MAX_ZERO_LEVEL);
    t.get(i).copied().unwrap_or(Hash::ZERO)
}

/// Recomputes a root from a leaf and its siblings, bottom-up. Bit `k` of
/// `index` says whether the node at height `k` is a right child.
pub fn root_from_path(leaf_hash: Hash, index: u64, siblings: &[Hash]) -> Hash {
    let mut h = leaf_hash;
    for (k, s) in siblings.iter().enumerate() {
        h = if (index >> k) & 1 == 1 {
            hash_node(s, &h)
        } else {
            hash_node(&h, s)
        };
    }
    h
}

/// Hash of a `2^height`-leaf subtree over `bytes` (`32 * 2^height` bytes),
/// skipping zero runs.
pub fn subtree_hash(bytes: &[u8], height: u32) -> Hash {
    if bytes.iter().all(|b| *b == 0) {
        return zero_hash(height);
    }
    if height == 0 {
        let mut leaf = [0u8; LEAF_BYTES];
        for (d, s) in leaf.iter_mut().zip(bytes) {
            *d = *s;
        }
        return hash_leaf(&leaf);
    }
    let (l, r) = bytes.split_at(bytes.len() / 2);
    hash_node(&subtree_hash(l, height - 1), &subtree_hash(r, height - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_is_the_known_value() {
        assert_eq!(
            keccak(&[]).to_hex(),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn zero_hashes_chain() {
        assert_eq!(zero_hash(0), hash_leaf(&[0; 32]));
        for k in 0..10 {
            assert_eq!(zero_hash(k + 1), hash_node(&zero_hash(k), &zero_hash(k)));
        }
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = keccak(&[b"abc"]);
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_hex(&format!("0x{}", h.to_hex())), Ok(h));
        assert_eq!(Hash::from_hex("abcd"), Err(HashParseError::Length(4)));
        assert_eq!(
            Hash::from_hex(&"zz".repeat(32)),
            Err(HashParseError::NotHex)
        );
    }

    #[test]
    fn path_recomputes_root() {
        let leaves: Vec<Hash> = (0u8..4).map(|i| hash_leaf(&[i; 32])).collect();
        let l = hash_node(&leaves[0], &leaves[1]);
        let r = hash_node(&leaves[2], &leaves[3]);
        let root = hash_node(&l, &r);
        assert_eq!(root_from_path(leaves[2], 2, &[leaves[3], l]), root);
        assert_eq!(root_from_path(leaves[1], 1, &[leaves[0], r]), root);
    }
}
