//! The dispute of `dispute.rs` with the contracts as the referee: a fresh
//! anvil, the `StepVerifier` and `DisputeGame` deployed, a defender that
//! claims a wrong post-state root and an honest challenger, every move a
//! transaction; the challenger wins, the transcript rebuilt from the logs
//! checks out, and the test prints the gas. Without anvil (`npm ci` in
//! `contracts/`) the test fails, unless `MSWAP_SKIP_FOUNDRY=1` opts out
//! (the one rule of the root package's `tests/support/tools.rs`).

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::game::player::Lie;
use mswap::game::rules::Side;
use mswap_evm::encode::encode;
use mswap_evm::fixture::{cases, read_file};
use mswap_evm::runner::GUEST_ELF;
use std::path::Path;

#[path = "../../tests/support/tools.rs"]
mod tools;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn a_defender_claiming_a_wrong_post_state_root_loses_on_chain() {
    let contracts = repo().join("contracts");
    let found = contracts.join("node_modules/.bin/anvil").is_file();
    if !tools::require(
        &tools::FOUNDRY,
        found,
        "a_defender_claiming_a_wrong_post_state_root_loses_on_chain",
        "the EVM dispute on chain",
    ) {
        return;
    }
    let fixture = repo().join("tests/fixtures/GeneralStateTests/stExample/add11.json");
    let all = cases(&fixture, read_file(&fixture).expect("reads the fixture"));
    let case = all
        .iter()
        .find(|c| c.fork == "Cancun")
        .expect("a Cancun case");
    let input = encode(case).expect("encodes");
    let program = Program::load(GUEST_ELF).expect("the guest loads");
    // The step whose state first holds the printed root: the defender's
    // machine diverges there (it writes another root).
    let mut m = Machine::new(program.initial_state(&input));
    let steps = m.run(u64::MAX);
    let mut m = Machine::new(program.initial_state(&input));
    let mut written = m.run(steps - 20_000);
    while !String::from_utf8_lossy(&m.state().output()).contains("state root:") {
        assert!(m.step(), "halted without printing the root");
        written += 1;
    }
    let anvil = contracts.join("node_modules/.bin/anvil");
    let report = mswap::chain::demo::dispute(
        &anvil,
        GUEST_ELF,
        &input,
        None,
        vec![Lie::From {
            from: written,
            micro_from: 0,
        }],
        vec![],
        &|_| {},
    )
    .expect("the dispute is played on chain");
    assert_eq!(report.winner, Side::Challenger);
    assert_eq!(report.checked.winner, Some(Side::Challenger));
    let gas = |side: Side| -> u64 {
        report
            .txs
            .iter()
            .filter(|(s, _)| *s == side)
            .map(|(_, e)| e.gas)
            .sum()
    };
    println!(
        "case {}: {steps} A-steps, {} moves, {} transactions, {} gas (defender {}, challenger {})",
        case.id(),
        report.transcript.moves.len(),
        report.txs.len(),
        report.total_gas(),
        gas(Side::Defender),
        gas(Side::Challenger)
    );
}
