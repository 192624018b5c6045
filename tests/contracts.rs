//! The `StepVerifier` contract against the Rust verifier on thousands of
//! generated step proofs: every guest, random A-steps, every kind of
//! micro-step (the executed ones, an idle tick, the cleaning step), plus
//! mutated proofs. The Rust verdicts (root after, or the revert data of the
//! matching custom error) go into a fixture that forge replays against the
//! contract, which must answer identically. Skipped with a notice where
//! `npm ci` has not been run in `contracts/` (CI runs it).

mod support;

use mswap::chain::abi::{LABEL_CLEAN, LABEL_MALFORMED, fixture, label};
use mswap::chain::differential::{DIFFERENTIAL_FIXTURE, differential_cases, guests, ops_used};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

#[test]
fn the_contract_agrees_with_the_rust_verifier_on_thousands_of_proofs() {
    let cases = differential_cases(&guests(&support::guest_dir()).expect("guests")).expect("cases");
    let accepted = cases.iter().filter(|c| c.verdict.is_ok()).count();
    assert!(cases.len() >= 3000, "{} cases", cases.len());
    assert!(
        cases.len() - accepted >= 1000,
        "{} rejected",
        cases.len() - accepted
    );
    // Every operation the microcode uses, and the cleaning step, is covered.
    let seen: BTreeSet<u8> = cases
        .iter()
        .filter(|c| c.verdict.is_ok())
        .map(|c| label(&c.proof))
        .collect();
    let mut used = ops_used();
    used.insert(LABEL_CLEAN);
    assert!(!seen.contains(&LABEL_MALFORMED));
    let missing: Vec<_> = used.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "micro-step kinds never proven: {missing:?}"
    );

    let forge = contracts().join("node_modules/.bin/forge");
    if !support::have_contract_tool("forge", "the contract side of the differential test") {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIFFERENTIAL_FIXTURE);
    std::fs::write(&path, fixture(&cases)).expect("write the fixture");
    let out = std::process::Command::new(&forge)
        .current_dir(contracts())
        .args([
            "test",
            "--use",
            "script/solc",
            "--offline",
            "--match-test",
            "test_differentialFixture",
        ])
        .env("MSWAP_DIFFERENTIAL", "test/fixtures/differential.bin")
        .env("MSWAP_DIFFERENTIAL_CASES", cases.len().to_string())
        .output()
        .expect("forge runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("[PASS] test_differentialFixture"),
        "forge:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{} cases ({accepted} valid proofs) agree; gas table: MSWAP_DIFFERENTIAL=test/fixtures/differential.bin forge test --use script/solc --offline --match-contract GasBench -vv (in contracts/)",
        cases.len()
    );
}
