//! Gas of settlement on Ethereum, beside the anchors of the field:
//!
//! ```text
//! cargo bench --bench gas
//! ```
//!
//! 1. writes the differential fixture (`contracts/test/fixtures/differential.bin`:
//!    thousands of step proofs of every guest and every kind of micro-step,
//!    with the Rust verdicts) through the library, as `tests/contracts.rs` does;
//! 2. runs forge on the `GasBench` and `GameGas` tests (`--use script/solc
//!    --offline`, so it needs `npm ci` in `contracts/` once) and collects
//!    their `bench <table> key=value ...` lines;
//! 3. prints the gas of one step proof per kind of micro-step (execution and
//!    per transaction, min / median / max), per move of the dispute game, of
//!    whole games at `b` = 20 and 40 (the Rust fixtures' binary games), and
//!    of whole k-ary games at `b` = 20, 30, 40 for `k` = 2, 4, 8, 16, 32
//!    (the smallest per `b` marked, beside issue 23's limits), with the
//!    anchors measured with the same toolchain (issue 9) and the ratios.
//!
//! "Execution" is the gas of the verifier's call frame, with the cold access
//! to the microcode's data contract (EIP-2929) counted; "per transaction" is
//! `21000 + max(4 * tokens + execution, 10 * tokens)` (EIP-7623's calldata
//! floor). Forge compiles the contracts first (a few minutes with solc-js
//! and via-IR on a cold cache); progress goes to stderr.

use mswap::chain::abi::fixture;
use mswap::chain::differential::{DIFFERENTIAL_FIXTURE, differential_cases, guests};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// One anchor of issue 9: execution and per-transaction gas, min / median / max.
struct Anchor {
    name: &'static str,
    exec: [u64; 3],
    tx: [u64; 3],
}

const ANCHORS: [Anchor; 3] = [
    Anchor {
        name: "Optimism MIPS.sol (Cannon)",
        exec: [10_500, 18_900, 31_500],
        tx: [69_000, 94_500, 99_700],
    },
    Anchor {
        name: "Optimism MIPS2.sol",
        exec: [12_400, 25_100, 46_400],
        tx: [37_000, 99_300, 133_000],
    },
    Anchor {
        name: "Cartesi UArchStep.step",
        exec: [95_600, 591_000, 809_000],
        tx: [178_000, 886_000, 1_220_000],
    },
];

/// The order of the move kinds in the moves table.
const MOVE_KINDS: [&str; 8] = [
    "claim",
    "challenge",
    "dissect",
    "pick",
    "prove",
    "timeout",
    "resolve",
    "collect",
];

/// Whole games per transaction before k-ary bisection (midpoint, agree and
/// disagree; same GameGas test), which issue 23 takes as the limits of the
/// whole game at `b` = 20 and 40; the claim per transaction before claims
/// derived `root(S_0)` from the program's image and carried their input.
const GAME_BEFORE: [(&str, u64); 2] = [("20", 2_600_000), ("40", 3_930_000)];
const CLAIM_BEFORE: u64 = 189_100;

/// One `bench <table> key=value ...` line.
struct Row {
    table: String,
    fields: BTreeMap<String, String>,
}

impl Row {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    fn num(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// `min / med / max` of `key_min`, `key_med`, `key_max`.
    fn triple(&self, key: &str) -> Option<[u64; 3]> {
        Some([
            self.num(&format!("{key}_min"))?,
            self.num(&format!("{key}_med"))?,
            self.num(&format!("{key}_max"))?,
        ])
    }
}

/// The `bench ...` lines of forge's output (console.log lines are indented).
fn bench_rows(out: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for line in out.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("bench") {
            continue;
        }
        let Some(table) = words.next() else { continue };
        let fields = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        rows.push(Row {
            table: table.to_string(),
            fields,
        });
    }
    rows
}

/// Gas in thousands with one decimal (`17.7k`), or millions (`1.22M`).
fn k(gas: u64) -> String {
    if gas >= 1_000_000 {
        format!("{:.2}M", gas as f64 / 1e6)
    } else {
        format!("{:.1}k", gas as f64 / 1e3)
    }
}

fn k3(t: [u64; 3]) -> String {
    format!("{} / {} / {}", k(t[0]), k(t[1]), k(t[2]))
}

fn ratio(a: u64, b: u64) -> String {
    format!("{:.3}", a as f64 / b as f64)
}

fn print_steps(rows: &[Row]) {
    let steps: Vec<&Row> = rows.iter().filter(|r| r.table == "step").collect();
    println!("## Step proofs: gas per micro-step kind (min / median / max)");
    println!();
    if steps.is_empty() {
        println!("not measured (no GasBench `bench step` lines in forge's output)");
        return;
    }
    println!(
        "{:<8} {:>6}  {:<26} {:<26} bytes",
        "kind", "n", "execution", "per transaction"
    );
    for r in &steps {
        let (Some(exec), Some(tx)) = (r.triple("exec"), r.triple("tx")) else {
            println!("{}: malformed line", r.get("kind").unwrap_or("?"));
            continue;
        };
        let bytes = r
            .triple("bytes")
            .map(|b| format!("{} / {} / {}", b[0], b[1], b[2]))
            .unwrap_or_default();
        println!(
            "{:<8} {:>6}  {:<26} {:<26} {}",
            r.get("kind").unwrap_or("?"),
            r.get("n").unwrap_or("?"),
            k3(exec),
            k3(tx),
            bytes
        );
    }
    println!();
    let Some(all) = steps.iter().find(|r| r.get("kind") == Some("all")) else {
        return;
    };
    let (Some(exec), Some(tx)) = (all.triple("exec"), all.triple("tx")) else {
        return;
    };
    println!(
        "## Beside the anchors (issue 9; same toolchain): min / median / max, and mswap / anchor"
    );
    println!();
    println!(
        "{:<28} {:<26} {:<26} {:<22} ratio per tx",
        "system", "execution", "per transaction", "ratio execution"
    );
    println!(
        "{:<28} {:<26} {:<26}",
        "mswap StepVerifier",
        k3(exec),
        k3(tx)
    );
    for a in &ANCHORS {
        let re = format!(
            "{} / {} / {}",
            ratio(exec[0], a.exec[0]),
            ratio(exec[1], a.exec[1]),
            ratio(exec[2], a.exec[2])
        );
        let rt = format!(
            "{} / {} / {}",
            ratio(tx[0], a.tx[0]),
            ratio(tx[1], a.tx[1]),
            ratio(tx[2], a.tx[2])
        );
        println!(
            "{:<28} {:<26} {:<26} {:<22} {}",
            a.name,
            k3(a.exec),
            k3(a.tx),
            re,
            rt
        );
    }
    println!();
    println!(
        "goals of issue 9: execution at most 15k per step (max here {}), a median step transaction at most 60k (median here {})",
        k(exec[2]),
        k(tx[1])
    );
}

fn print_moves(rows: &[Row]) {
    println!();
    println!("## Dispute game: gas per move (min / median / max)");
    println!();
    let moves: Vec<&Row> = rows.iter().filter(|r| r.table == "move").collect();
    if moves.is_empty() {
        println!("not measured (no GameGas test in this build)");
        return;
    }
    println!(
        "{:<10} {:>5}  {:<26} per transaction",
        "move", "n", "execution"
    );
    let rank = |r: &&Row| {
        let kind = r.get("kind").unwrap_or("");
        MOVE_KINDS
            .iter()
            .position(|m| *m == kind)
            .unwrap_or(MOVE_KINDS.len())
    };
    let mut moves = moves;
    moves.sort_by_key(rank);
    for r in moves {
        let show = |key| r.triple(key).map(k3).unwrap_or_else(|| "?".into());
        println!(
            "{:<10} {:>5}  {:<26} {}",
            r.get("kind").unwrap_or("?"),
            r.get("n").unwrap_or("?"),
            show("exec"),
            show("tx")
        );
    }
}

fn print_games(rows: &[Row]) {
    println!();
    println!(
        "## Whole games of the Rust fixtures (binary levels; a lying defender, an honest challenger)"
    );
    println!();
    let games: Vec<&Row> = rows.iter().filter(|r| r.table == "game").collect();
    if games.is_empty() {
        println!("not measured (no GameGas test in this build)");
        return;
    }
    println!(
        "{:<5} {:>12}  {:<12} {:<16} {:<8} now / before",
        "b", "transactions", "execution", "per transaction", "before"
    );
    for (b, before) in GAME_BEFORE {
        match games.iter().find(|r| r.get("b") == Some(b)) {
            Some(r) => println!(
                "{:<5} {:>12}  {:<12} {:<16} {:<8} {}",
                b,
                r.get("transactions").unwrap_or("?"),
                r.num("exec").map(k).unwrap_or_else(|| "?".into()),
                r.num("tx").map(k).unwrap_or_else(|| "?".into()),
                k(before),
                r.num("tx")
                    .map(|t| format!("{:.3}", t as f64 / before as f64))
                    .unwrap_or_else(|| "n/a".into())
            ),
            None => println!("{b:<5} not measured (no `bench game b={b}` line)"),
        }
    }
    let claim = rows
        .iter()
        .find(|r| r.table == "move" && r.get("kind") == Some("claim"))
        .and_then(|r| r.num("tx_med"));
    match claim {
        Some(c) => println!(
            "claim: {} per transaction (it derives root(S_0) and carries the input), before {}: {:.3}",
            k(c),
            k(CLAIM_BEFORE),
            c as f64 / CLAIM_BEFORE as f64
        ),
        None => println!("claim: not measured"),
    }
}

fn print_kary(rows: &[Row]) {
    println!();
    println!(
        "## Whole k-ary games: [steps b, micro a] at fan-out k, a lying defender, an honest challenger"
    );
    println!();
    let games: Vec<&Row> = rows.iter().filter(|r| r.table == "kary").collect();
    if games.is_empty() {
        println!("not measured (no `bench kary` lines: GameGas test_karyGameGas)");
        return;
    }
    println!(
        "{:<4} {:>3} {:>7} {:>13}  {:<10} {:<16} {:<12} {:<10} smallest",
        "b",
        "k",
        "rounds",
        "transactions",
        "execution",
        "per transaction",
        "dissect max",
        "pick max"
    );
    let mut bs: Vec<&str> = games.iter().filter_map(|r| r.get("b")).collect();
    bs.dedup();
    for b in bs {
        let of_b: Vec<&&Row> = games.iter().filter(|r| r.get("b") == Some(b)).collect();
        let best = of_b.iter().filter_map(|r| r.num("tx")).min();
        for r in &of_b {
            let tx = r.num("tx");
            let show = |key| r.num(key).map(k).unwrap_or_else(|| "?".into());
            println!(
                "{:<4} {:>3} {:>7} {:>13}  {:<10} {:<16} {:<12} {:<10} {}",
                b,
                r.get("k").unwrap_or("?"),
                r.get("rounds").unwrap_or("?"),
                r.get("transactions").unwrap_or("?"),
                show("exec"),
                show("tx"),
                show("dissect_max"),
                show("pick_max"),
                if tx.is_some() && tx == best { "<-" } else { "" }
            );
        }
        if let Some((_, limit)) = GAME_BEFORE.iter().find(|(lb, _)| *lb == b) {
            println!(
                "     issue 23's limit at b = {b}: {} (the binary game before); the smallest here {}",
                k(*limit),
                best.map(k).unwrap_or_else(|| "?".into())
            );
        }
    }
}

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let contracts = root.join("contracts");
    let forge = contracts.join("node_modules/.bin/forge");
    if !forge.exists() {
        eprintln!(
            "error: {} is missing: install the contracts' toolchain once with `cd contracts && npm ci`",
            forge.display()
        );
        return ExitCode::FAILURE;
    }

    let t = Instant::now();
    eprintln!(
        "gas bench: generating the differential fixture (every guest, every kind of micro-step)..."
    );
    let guests = match guests(&root.join("examples/guests")) {
        Ok(g) if !g.is_empty() => g,
        Ok(_) => {
            eprintln!("error: no guest ELF in examples/guests/bin");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: reading examples/guests/bin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cases = match differential_cases(&guests) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: generating the differential fixture: {e}");
            return ExitCode::FAILURE;
        }
    };
    let valid = cases.iter().filter(|c| c.verdict.is_ok()).count();
    let path = root.join(DIFFERENTIAL_FIXTURE);
    if let Err(e) = std::fs::write(&path, fixture(&cases)) {
        eprintln!("error: writing {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "gas bench: {} cases ({valid} valid proofs) written to {} in {:.0?}",
        cases.len(),
        DIFFERENTIAL_FIXTURE,
        t.elapsed()
    );

    let t = Instant::now();
    eprintln!(
        "gas bench: running forge on GasBench and GameGas (compiles the contracts first; minutes on a cold cache)..."
    );
    let out = Command::new(&forge)
        .current_dir(&contracts)
        .args([
            "test",
            "--use",
            "script/solc",
            "--offline",
            "--match-contract",
            "GasBench|GameGas",
            "-vv",
        ])
        .env("MSWAP_DIFFERENTIAL", "test/fixtures/differential.bin")
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: running {}: {e}", forge.display());
            return ExitCode::FAILURE;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprintln!(
            "error: forge failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        return ExitCode::FAILURE;
    }
    eprintln!("gas bench: forge done in {:.0?}", t.elapsed());

    let rows = bench_rows(&stdout);
    println!("# mswap gas (Foundry, solc 0.8.30 via-IR, Prague)");
    println!();
    print_steps(&rows);
    print_moves(&rows);
    print_games(&rows);
    print_kary(&rows);
    ExitCode::SUCCESS
}
