//! `root(S_0)` from a program's image and an input, in a few hashes.
//!
//! A loaded program fixes guest memory and the control words below
//! `input_len`; the input fixes region 2 and the control word `input_len`
//! (leaf 10 of the control region, whose other words, `input_pos`,
//! `output_len` and `reservation`, are 0 in every initial state); the output
//! region is empty. So with
//!
//! - `mem`: the root of region 0 (height 27),
//! - `regs`: the node over control leaves 0..7 (`x[0..31]`, height 3),
//! - `words`: the node over control leaves 8..9 (`pc` .. `ro_size`, height 1),
//!
//! the control region's root is
//! `H(regs, H(H(words, H(leaf(input_len), Z0)), Z2))` climbed with `Z4 ..
//! Z26`, and `root(S_0) = H(H(mem, ctrl), H(root(input), Z27))`.
//!
//! A program is named by its **image root**: `root(S_0)` of the program
//! with an empty input. The three nodes above are the image's witness:
//! anyone (a contract included) checks them against the image root and
//! derives `root(S_0)` for any input, without the program's bytes. The
//! DisputeGame contract does exactly this (`initialRoot` in
//! `contracts/src/DisputeGame.sol`), the HTTP referee, the CLI and the
//! game's rules call [`Image::initial_root`].

use crate::hash::{Hash, LEAF_BYTES, hash_leaf, hash_node, subtree_hash, zero_hash};
use crate::layout::{REGION_LOG2_BYTES, ctrl};

/// What [`Image::of_state`] reads of a loaded state: the root of guest
/// memory and the control words (the `mswap` crate's `State` with its
/// Merkle tree implements it).
pub trait ImageSource {
    /// The root of region 0 (guest memory), a subtree of height [`REGION_HEIGHT`].
    fn memory_root(&self) -> Hash;
    /// The control word at byte offset `off` of the control region.
    fn ctrl_word(&self, off: u64) -> u64;
}

/// Height of one region's subtree.
pub const REGION_HEIGHT: u32 = REGION_LOG2_BYTES - crate::hash::LOG2_LEAF;

/// Why an image or an input cannot give an initial root.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The witness does not hash to the image root.
    #[error(
        "the image's witness (mem, regs, words) gives root {computed}, not the image root {stated}"
    )]
    Witness {
        /// The image root named.
        stated: Hash,
        /// The root the witness gives.
        computed: Hash,
    },
    /// The input does not fit its region.
    #[error("the input is {len} bytes; at most {max} fit the input region")]
    InputTooLarge {
        /// Its length.
        len: u64,
        /// The region's capacity.
        max: u64,
    },
}

/// A program's image: its root and the witness that derives `root(S_0)`
/// for any input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Image {
    /// `root(S_0)` with an empty input: the program's name in a claim.
    pub root: Hash,
    /// Root of guest memory (region 0).
    pub mem: Hash,
    /// Node over the control leaves 0..7 (the registers).
    pub regs: Hash,
    /// Node over the control leaves 8..9 (`pc`, status words, ranges).
    pub words: Hash,
}

impl Image {
    /// The image of a loaded state (its input, output and the control
    /// words from `input_len` on are ignored: they are not the program's).
    pub fn of_state<S: ImageSource + ?Sized>(state: &S) -> Image {
        let mem = state.memory_root();
        let mut bytes = [0u8; 10 * LEAF_BYTES];
        for (i, chunk) in bytes.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&state.ctrl_word(8 * i as u64).to_le_bytes());
        }
        let (regs, words) = bytes.split_at(8 * LEAF_BYTES);
        let regs = subtree_hash(regs, 3);
        let words = subtree_hash(words, 1);
        Image::from_witness(mem, regs, words)
    }

    /// The image with this witness (its root computed).
    pub fn from_witness(mem: Hash, regs: Hash, words: Hash) -> Image {
        let root = join(
            &mem,
            &ctrl_root(&regs, &words, 0),
            &zero_hash(REGION_HEIGHT),
        );
        Image {
            root,
            mem,
            regs,
            words,
        }
    }

    /// The image named `root` with this witness, checked.
    pub fn checked(root: Hash, mem: Hash, regs: Hash, words: Hash) -> Result<Image, ImageError> {
        let image = Image::from_witness(mem, regs, words);
        if image.root != root {
            return Err(ImageError::Witness {
                stated: root,
                computed: image.root,
            });
        }
        Ok(image)
    }

    /// `root(S_0)` of this program with `input`.
    pub fn initial_root(&self, input: &[u8]) -> Result<Hash, ImageError> {
        self.initial_root_with(input, input_root)
    }

    /// [`Image::initial_root`] with the input region's root computed by
    /// `input_root` (any function equal to [`input_root`]: a caller may
    /// hash whole pages faster, see [`region_root`]).
    pub fn initial_root_with(
        &self,
        input: &[u8],
        input_root: impl FnOnce(&[u8]) -> Hash,
    ) -> Result<Hash, ImageError> {
        check_input(input)?;
        let len = input.len() as u64;
        Ok(join(
            &self.mem,
            &ctrl_root(&self.regs, &self.words, len),
            &input_root(input),
        ))
    }
}

/// Whether `input` fits the input region.
pub fn check_input(input: &[u8]) -> Result<(), ImageError> {
    let len = input.len() as u64;
    if len > crate::layout::IO_CAPACITY {
        return Err(ImageError::InputTooLarge {
            len,
            max: crate::layout::IO_CAPACITY,
        });
    }
    Ok(())
}

/// `H(H(mem, ctrl), H(input, Z27))`: the root of a state whose output region is empty.
fn join(mem: &Hash, ctrl: &Hash, input: &Hash) -> Hash {
    hash_node(
        &hash_node(mem, ctrl),
        &hash_node(input, &zero_hash(REGION_HEIGHT)),
    )
}

/// The control region's root with the program's nodes and `input_len`.
pub fn ctrl_root(regs: &Hash, words: &Hash, input_len: u64) -> Hash {
    const _: () = assert!(ctrl::INPUT_LEN == 10 * LEAF_BYTES as u64);
    let mut leaf = [0u8; LEAF_BYTES];
    leaf[..8].copy_from_slice(&input_len.to_le_bytes());
    let l10 = hash_leaf(&leaf);
    let n = hash_node(words, &hash_node(&l10, &zero_hash(0)));
    let n = hash_node(&n, &zero_hash(2));
    let mut n = hash_node(regs, &n);
    for h in 4..REGION_HEIGHT {
        n = hash_node(&n, &zero_hash(h));
    }
    n
}

/// Root of the input region holding `input` (at most its capacity; the
/// rest of the region is zero).
pub fn input_root(input: &[u8]) -> Hash {
    let leaves = input
        .chunks(LEAF_BYTES)
        .map(|c| {
            let mut leaf = [0u8; LEAF_BYTES];
            leaf[..c.len()].copy_from_slice(c);
            hash_leaf(&leaf)
        })
        .collect();
    region_root(leaves, 0)
}

/// Root of a region whose first subtrees of height `height` have the roots
/// `nodes` (left to right), the rest of the region being zero.
pub fn region_root(mut nodes: Vec<Hash>, height: u32) -> Hash {
    if nodes.is_empty() {
        return zero_hash(REGION_HEIGHT);
    }
    for h in height..REGION_HEIGHT {
        nodes = nodes
            .chunks(2)
            .map(|p| match p {
                [l, r] => hash_node(l, r),
                [l] => hash_node(l, &zero_hash(h)),
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    nodes[0]
}
