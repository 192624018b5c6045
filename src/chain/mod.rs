//! Settlement on an EVM chain: the contracts in `contracts/` as a referee
//! of the game, and what they take from the Rust build.
//!
//! - [`rpc`]: an Ethereum JSON-RPC client on alloy with a local signer
//!   (anvil's development keys, or a private key), cached nonces, revert
//!   decoding, and deployment of the `StepVerifier` (with its microcode's
//!   data contract) and the `DisputeGame`.
//! - [`bindings`]: `sol!` bindings from the committed JSON ABI artifacts
//!   (`contracts/artifacts/*.json`, embedded with their creation code, so
//!   that deploying needs no forge build) and the contracts' custom errors
//!   in words.
//! - [`referee`]: [`referee::ChainReferee`], the game's
//!   [`crate::players::api::RefereeApi`] on a deployed `DisputeGame`: the
//!   players of `src/players/play.rs` play on chain through it exactly as
//!   they play over HTTP, with the game rebuilt from the contract's event
//!   logs by the Rust rules and checked against the contract's own state.
//! - [`demo`]: `mswap dispute --chain`, a whole dispute on an `anvil` node
//!   that it starts itself.
//! - [`local`]: the one place that finds, starts and stops a local `anvil`.
//! - [`abi`]: every decode and verify error mapped to the revert data of
//!   the contract's custom error of the same name, and the fixture files of
//!   the differential tests (`fixtures`); `differential` generates the
//!   differential fixture (thousands of proofs with the Rust verdicts, for
//!   the contract's tests and the gas bench). Both are test-only, behind
//!   the `fixtures` feature, which the tests, benches and examples turn on.
//! - [`solidity`]: writes `contracts/src/Generated.sol`: the constants of
//!   the step (`CLEAN_AT`, the tree depth, the proof format's limits, the
//!   micro-ISA's operation numbers) and the microcode words that the
//!   `StepVerifier` carries, so that a change to the microcode or the ISA
//!   flows into the contract (a test fails while the committed file is
//!   stale).
//!
//! On chain a claim pays the contract's `claimBond` and each dispute its
//! `challengeBond` (both set at deployment): the defender is credited the
//! bond of every dispute it wins; a challenger who wins gets its own bond
//! back and, once the window has closed and every dispute is decided, a
//! reward of one challenge bond from the claim bond (an equal share of it
//! if it does not cover every winner; the rest is burnt: `collect`); a
//! claim that stands gets its bond back; every player withdraws its credit
//! (`withdraw`) when its game is over. [`canonical`] checks that a
//! deployment is this build's contracts before anything is sent.

pub mod abi;
pub mod bindings;
pub mod canonical;
pub mod demo;
#[cfg(feature = "fixtures")]
pub mod differential;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod local;
pub mod referee;
pub mod rpc;
pub mod solidity;
