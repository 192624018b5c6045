//! Proof types and their encodings.

pub mod hexbytes;
pub mod word;

pub use word::LeafProof;
