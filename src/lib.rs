//! mswap: Machine Swapping for interactive fraud proofs.
//!
//! The flow, by module:
//! `elf` (program -> initial state, and the program's image) -> `state`
//! (the essential state `S` and its Merkle tree) -> `fast` (machine A, one
//! step = one RV64IMAC instruction) -> `micro` (machine AB, one step = one
//! micro-instruction) -> `prover` / `proof` / `verify` (one-step proofs,
//! made and checked) -> `rules` (the bisection game as a pure state
//! machine) -> `players` (strategies and the loops that play them against
//! any referee) -> `referee` (the HTTP referee service) and `chain` (the
//! contracts as a referee). The command-line interface in `src/main.rs`
//! drives them all; nothing here depends on it.
//!
//! `hash`, `layout`, `proof`, `micro`, `verify` and `rules` are the
//! verifier crate `mswap-verify` (in `verify/`), re-exported here at the
//! same paths: someone who only checks a proof or a transcript builds that
//! crate alone. What they need of this crate comes in through traits that
//! it implements: `micro::access::Words` and
//! `micro::access::record::LeafProofs` (the state and its tree, for the
//! micro-machine and the prover) and `layout::image::ImageSource` (a loaded
//! state's image, from which the rules derive `root(S_0)`).
//!
//! Run a guest on machine A and take the root of its final state (what a
//! claim about the run states); `examples/library.rs` goes on to prove one
//! micro-step and verify it:
//!
//! ```
//! use mswap::{elf::Program, fast::Machine, state::tree::StateTree};
//!
//! let (_name, elf, input) = mswap::guests::default_guest();
//! let program = Program::load(elf)?;
//! let mut a = Machine::new(program.initial_state(input));
//! let steps = a.run(u64::MAX); // to the halt: the number of instructions
//! assert!(a.state().halted() && steps > 0);
//! let root = StateTree::build(a.state()).root();
//! assert_eq!(root.to_hex().len(), 64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod chain;
pub mod check;
pub mod elf;
pub mod fast;
pub mod fuzz;
pub mod guests;
pub mod players;
pub mod prover;
pub mod referee;
pub mod state;

// The verifier crate, at the paths the rest of the code has always used.
pub use mswap_verify::{hash, layout, micro, proof, rules, verify};
