//! The contracts take the microcode and the step's constants from a
//! generated file; it must be what this build generates.

#[allow(dead_code)]
#[path = "../examples/export_proofs.rs"]
mod export;
mod support;

use mswap::chain::solidity::{GENERATED_SOL, generated_sol};
use mswap::micro::microcode::microcode;
use std::path::Path;
use support::proof_files;

#[test]
fn the_committed_solidity_file_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED_SOL);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated_sol(microcode()),
        "{} is stale: regenerate it with `cargo run --release -- microcode --solidity {}`",
        path.display(),
        GENERATED_SOL
    );
}

#[test]
fn the_committed_contract_fixtures_are_up_to_date_and_tamperings_all_fail() {
    use mswap::chain::abi::fixture;
    use mswap::chain::fixtures::{PROOFS_FIXTURE, TAMPER_FIXTURE, example_cases};
    let files = proof_files();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let examples = example_cases(&files);
    assert!(examples.iter().all(|c| c.verdict.is_ok()));
    let tamper = export::tamperings(&files);
    for (i, c) in tamper.iter().enumerate() {
        assert!(
            c.verdict.is_err(),
            "tampering {i} verifies: {}",
            hex::encode(&c.proof)
        );
    }
    let stale = "regenerate with `cargo run --release --example export_proofs`";
    assert!(
        std::fs::read(root.join(PROOFS_FIXTURE)).unwrap_or_default() == fixture(&examples),
        "{PROOFS_FIXTURE} is stale: {stale}"
    );
    assert!(
        std::fs::read(root.join(TAMPER_FIXTURE)).unwrap_or_default() == fixture(&tamper),
        "{TAMPER_FIXTURE} is stale: {stale}"
    );
}

#[test]
fn the_committed_game_fixtures_are_up_to_date() {
    use mswap::chain::fixtures::{GAME_FIXTURES, game_fixture, game_transcript_with};
    use mswap::rules::levels::kary_levels;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let elf = std::fs::read(root.join("proofs/example.elf")).expect("example.elf");
    let input = std::fs::read(root.join("proofs/example.input")).expect("example.input");
    for (b, k, path) in GAME_FIXTURES {
        let t = game_transcript_with(&elf, &input, kary_levels(b, k, k), b);
        assert!(
            t.outcome
                .as_ref()
                .is_some_and(|o| o.winner() == mswap::rules::Side::Challenger),
            "b = {b}, k = {k}: the honest challenger wins"
        );
        assert!(
            std::fs::read(root.join(path)).unwrap_or_default() == game_fixture(&t),
            "{path} is stale: regenerate with `cargo run --release --example export_proofs`"
        );
    }
}
