//! The committed contract artifacts (`contracts/artifacts/*.json`, the ABI
//! and creation code that the Rust side embeds) are what a fresh forge
//! build of `contracts/` gives: the test builds into a temporary directory
//! (never the tree's `out/` and `cache/`, which other tests use), writes the
//! artifacts there with `contracts/script/artifacts` and compares them byte
//! for byte. Skipped with a notice where `npm ci` has not been run in
//! `contracts/` (CI runs it).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

/// The artifacts the Rust side embeds.
const ARTIFACTS: [&str; 2] = ["StepVerifier.json", "DisputeGame.json"];

/// How to bring the committed artifacts up to date.
const REGENERATE: &str = "cd contracts && node_modules/.bin/forge build --use script/solc --offline --skip test && script/artifacts";

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} does not run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_committed_artifacts_are_a_fresh_builds() {
    if !support::have_contract_tool("forge", "the contract artifacts check") {
        return;
    }
    let tmp = TempDir(
        std::env::temp_dir().join(format!("mswap-contract-artifacts-{}", std::process::id())),
    );
    let out = tmp.0.join("out");
    let built = tmp.0.join("artifacts");
    run(
        Command::new(contracts().join("node_modules/.bin/forge"))
            .current_dir(contracts())
            .args([
                "build",
                "--use",
                "script/solc",
                "--offline",
                "--skip",
                "test",
            ])
            .arg("--out")
            .arg(&out)
            .arg("--cache-path")
            .arg(tmp.0.join("cache")),
        "forge build",
    );
    run(
        Command::new("node")
            .current_dir(contracts())
            .arg("script/artifacts")
            .arg(&out)
            .arg(&built),
        "script/artifacts",
    );
    let mut stale = Vec::new();
    for name in ARTIFACTS {
        let fresh = std::fs::read(built.join(name)).expect("the fresh artifact");
        let committed_path = contracts().join("artifacts").join(name);
        match std::fs::read(&committed_path) {
            Ok(committed) if committed == fresh => {}
            Ok(_) => stale.push(format!(
                "{} differs from a fresh build",
                committed_path.display()
            )),
            Err(e) => stale.push(format!("{}: {e}", committed_path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "{}; regenerate with: {REGENERATE}",
        stale.join("; ")
    );
}
