//! mswap's verifier: everything needed to check a one-step proof or a
//! game's transcript, and nothing heavier than hashing and serialization.
//!
//! The flow, by module (data flows down this list, never up):
//!
//! - [`hash`]: Keccak-256 and the Merkle helpers;
//! - [`layout`]: the layout of the essential state `S` and, in
//!   [`layout::image`], `root(S_0)` from a program's image and an input;
//! - [`proof`]: one-step proofs, their JSON and binary encodings, and why
//!   a proof does not verify;
//! - [`micro`]: machine AB (the micro-ISA, its step function over the
//!   [`micro::access::StateAccess`] trait with its three accessors, the
//!   assembler and the RV64IMAC microcode);
//! - [`verify`]: the step-proof checker, `verify_step(root, proof)`;
//! - [`rules`]: the bisection game as a pure state machine (k-ary: each
//!   level has a fan-out `k`, a round's dissection puts forward `k - 1`
//!   roots and the pick names the first part disputed), claims, levels,
//!   limits (the largest fan-out among them) and the offline check of a
//!   transcript (format version 2).
//!
//! Loading an ELF, the full state with its Merkle tree, machine A and the
//! services live in the `mswap` crate, which re-exports these modules at
//! the same paths.
//!
//! ```
//! use mswap_verify::{proof::ProofFile, verify::verify_step};
//!
//! let json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../proofs/alu.json"))?;
//! let file: ProofFile = serde_json::from_slice(&json)?;
//! assert_eq!(verify_step(&file.root_before, &file.proof)?, file.root_after);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod hash;
pub mod layout;
pub mod micro;
pub mod proof;
pub mod rules;
pub mod verify;
