//! The dispute of `dispute.rs` with the contracts as the referee: a fresh
//! anvil, the `StepVerifier` and `DisputeGame` deployed, a defender that
//! claims a wrong post-state root and an honest challenger, every move a
//! transaction; the challenger wins, the transcript rebuilt from the logs
//! checks out, and the test prints the gas. Without anvil (`npm ci` in
//! `contracts/`) the test fails, unless `MSWAP_SKIP_FOUNDRY=1` opts out
//! (the one rule of the root package's `tests/support/tools.rs`).

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::players::player::Lie;
use mswap::rules::Side;
use mswap_evm::runner::GUEST_ELF;

mod common;
use common::{add11, root_written_at};

#[path = "../../tests/support/tools.rs"]
mod tools;

#[test]
fn a_defender_claiming_a_wrong_post_state_root_loses_on_chain() {
    let Some(bin) = tools::need(
        &tools::FOUNDRY,
        "a_defender_claiming_a_wrong_post_state_root_loses_on_chain",
        "the EVM dispute on chain",
    ) else {
        return;
    };
    let (case, input) = add11();
    let program = Program::load(GUEST_ELF).expect("the guest loads");
    // The step whose state first holds the printed root: the defender's
    // machine diverges there (it writes another root).
    let steps = Machine::new(program.initial_state(&input)).run(u64::MAX);
    let written = root_written_at(&program, &input, steps);
    let anvil = bin.join("anvil");
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
