//! Set-up shared by the dispute tests: the case they dispute and the step
//! at which a lying defender's machine starts to differ.
#![allow(dead_code)]

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap_evm::encode::encode;
use mswap_evm::fixture::{Case, cases, read_file};
use std::path::Path;

/// The Cancun case of ethereum/tests `stExample/add11.json` and its
/// encoded guest input.
pub fn add11() -> (Case, Vec<u8>) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/GeneralStateTests/stExample/add11.json");
    let all = cases(&fixture, read_file(&fixture).expect("reads the fixture"));
    let case = all
        .into_iter()
        .find(|c| c.fork == "Cancun")
        .expect("a Cancun case");
    let input = encode(&case).expect("encodes");
    (case, input)
}

/// The first A-step count after which the guest's output holds its
/// `state root:` line (the write system call that flushes it).
pub fn root_written_at(p: &Program, input: &[u8], total: u64) -> u64 {
    let mut m = Machine::new(p.initial_state(input));
    // All output is flushed at the exit, within the last few thousand steps.
    let mut t = m.run(total.saturating_sub(20_000));
    assert!(
        m.state().output().is_empty(),
        "output before the last 20 000 steps"
    );
    while !String::from_utf8_lossy(&m.state().output()).contains("state root:") {
        assert!(m.step(), "halted without printing the root");
        t += 1;
    }
    t
}
