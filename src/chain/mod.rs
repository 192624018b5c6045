//! Settlement on an EVM chain: what the contracts in `contracts/` take from
//! the Rust build, and what the Rust side needs to read their answers.
//!
//! [`rpc`] is a minimal JSON-RPC client for a local node (deploy the
//! verifier, `eth_call` it, send transactions from unlocked accounts).
//!
//! [`abi`] maps every decode and verify error to the revert data of the
//! contract's custom error of the same name, and writes the fixture files
//! of the differential tests.
//!
//! [`differential`] generates the differential fixture: thousands of
//! proofs with the Rust verdicts, for the contract's tests and gas bench.
//!
//! [`solidity`] writes `contracts/src/Generated.sol`: the constants of the
//! step (`CLEAN_AT`, the tree depth, the proof format's limits, the
//! micro-ISA's operation numbers) and the microcode words that the
//! `StepVerifier` carries, so that a change to the microcode or the ISA
//! flows into the contract (a test fails while the committed file is
//! stale).

pub mod abi;
pub mod demo;
pub mod differential;
pub mod fixtures;
pub mod play;
pub mod rpc;
pub mod solidity;
