//! `root(S_0)` from a program's image and an input: the derivation lives
//! in [`crate::layout::image`] (the verifier crate); this module gives it a
//! loaded [`State`] with its Merkle tree.

use super::State;
use crate::hash::Hash;
use crate::state::tree::StateTree;

pub use crate::layout::image::{
    Image, ImageError, ImageSource, REGION_HEIGHT, ctrl_root, input_root,
};

/// A loaded state's image: its memory root from the state tree.
impl ImageSource for State {
    fn memory_root(&self) -> Hash {
        StateTree::build(self).node(REGION_HEIGHT, 0)
    }

    fn ctrl_word(&self, off: u64) -> u64 {
        self.ctrl(off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::Program;

    fn example() -> Program {
        let elf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/proofs/example.elf"))
            .expect("example.elf");
        Program::load(&elf).expect("loads")
    }

    #[test]
    fn the_derived_root_is_the_tree_root_for_every_input_length() {
        let p = example();
        let image = Image::of_state(&p.initial_state(&[]));
        assert_eq!(image.root, StateTree::build(&p.initial_state(&[])).root());
        for len in [
            0usize, 1, 7, 8, 31, 32, 33, 64, 65, 1000, 4095, 4096, 4097, 70_000,
        ] {
            let input: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let want = StateTree::build(&p.initial_state(&input)).root();
            assert_eq!(image.initial_root(&input).expect("fits"), want, "len {len}");
        }
        // An input of zero bytes still has its length in the state.
        let zeros = vec![0u8; 100];
        assert_eq!(
            image.initial_root(&zeros).expect("fits"),
            StateTree::build(&p.initial_state(&zeros)).root()
        );
        assert_ne!(image.initial_root(&zeros), image.initial_root(&[]));
    }

    #[test]
    fn the_image_ignores_the_input_and_checks_its_witness() {
        let p = example();
        let a = Image::of_state(&p.initial_state(&[]));
        assert_eq!(a, Image::of_state(&p.initial_state(b"some input")));
        assert_eq!(Image::checked(a.root, a.mem, a.regs, a.words), Ok(a));
        let e = Image::checked(a.root, a.mem, a.words, a.regs).expect_err("swapped");
        assert!(matches!(e, ImageError::Witness { stated, .. } if stated == a.root));
    }
}
