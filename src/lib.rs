//! mswap: Machine Swapping for interactive fraud proofs.
//!
//! The flow, by module:
//! `elf` (program -> initial state) -> `state` (the essential state `S` and
//! its Merkle tree) -> `fast` (machine A, one step = one RV64IM
//! instruction) -> `micro` (machine AB, one step = one micro-instruction)
//! -> `proof` / `verify` (one-step proofs and their checker) -> `game`
//! (the bisection game, referee and players). The command-line interface in
//! `src/main.rs` drives them all; nothing here depends on it.

pub mod chain;
pub mod check;
pub mod elf;
pub mod fast;
pub mod fuzz;
pub mod game;
pub mod guests;
pub mod hash;
pub mod layout;
pub mod micro;
pub mod proof;
pub mod prover;
pub mod state;
pub mod verify;
