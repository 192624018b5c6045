//! mswap-evm: the Ethereum consensus tests (`GeneralStateTests` of
//! ethereum/tests) run in the EVM guest (`examples/guests/rust/evm`, revm
//! no_std) on mswap's machine A, and one case written as the guest's input,
//! so that a claim about it can be disputed like any other.
//!
//! The flow: `fixture` (the filled JSON, expanded into cases: one per test,
//! fork and post entry) -> `encode` (a case as the guest's binary input) ->
//! `runner` (the guest on machine A, its printed roots compared with the
//! fixture) -> `report` (JSON lines, the table per folder).

pub mod encode;
pub mod error;
pub mod fixture;
pub mod report;
pub mod runner;
