//! Players on chain as separate processes: each test starts its own anvil,
//! deploys with `mswap deploy --chain`, and runs `mswap defend --chain` and
//! `mswap challenge --chain` as processes of their own that talk to the
//! `DisputeGame` over JSON-RPC with their own keys (the same player code as
//! over HTTP). Short clocks and windows keep each test well under a
//! minute. Skipped with a notice where `npm ci` has not been run in
//! `contracts/` (CI runs it).

mod support;

use alloy::primitives::{Address, U256};
use mswap::chain::referee::ChainReferee;
use mswap::chain::rpc::{Chain, Key};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const MSWAP: &str = env!("CARGO_BIN_EXE_mswap");
const CLAIM_BOND: u64 = 3_000;
const CHALLENGE_BOND: u64 = 200;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn have_anvil() -> bool {
    support::have_contract_tool("anvil", "the chain player tests")
}

/// A fresh anvil with a `DisputeGame` deployed by `mswap deploy`.
struct Net {
    node: mswap::chain::demo::Node,
    game: String,
    dir: PathBuf,
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn net(name: &str, clock: u64, window: u64) -> Net {
    let node = mswap::chain::demo::start_anvil(&root().join("contracts")).expect("anvil starts");
    let out = Command::new(MSWAP)
        .args(["deploy", "--chain", &node.url, "--json"])
        .args(["--clock-seconds", &clock.to_string()])
        .args(["--window-seconds", &window.to_string()])
        .args(["--claim-bond", &CLAIM_BOND.to_string()])
        .args(["--challenge-bond", &CHALLENGE_BOND.to_string()])
        .output()
        .expect("mswap deploy");
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("deploy --json");
    let dir =
        std::env::temp_dir().join(format!("mswap-chain-players-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    Net {
        game: v["game"].as_str().expect("the game's address").to_string(),
        node,
        dir,
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A player process whose standard output is read line by line.
struct Player {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Player {
    fn start(args: &[&str]) -> Player {
        let mut child = Command::new(MSWAP)
            .current_dir(root())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mswap starts");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                s += &l;
                s.push('\n');
            }
            s
        });
        Player {
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// The first line starting with `prefix` (waits up to 60 s).
    fn line(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if let Some(rest) = l.strip_prefix(prefix) {
                        return rest.trim().to_string();
                    }
                }
                Err(_) => panic!("no line {prefix:?}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits for the end: (exit code, all of standard output, standard error).
    fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().expect("wait");
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        let err = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status.code(), self.seen.join("\n"), err)
    }
}

fn example() -> (String, String) {
    (
        root().join("proofs/example.elf").display().to_string(),
        root().join("proofs/example.input").display().to_string(),
    )
}

/// `defend --chain` from development account `account` with `extra` options.
fn defender(n: &Net, account: u32, extra: &[&str]) -> (Player, String) {
    let (elf, input) = example();
    let acc = account.to_string();
    let mut args = vec![
        "defend",
        "--chain",
        &n.node.url,
        "--contract",
        &n.game,
        "--account",
        &acc,
        &elf,
        "--input",
        &input,
        "--b",
        "5",
    ];
    args.extend_from_slice(extra);
    let mut p = Player::start(&args);
    let id = p.line("game:");
    (p, id)
}

/// `challenge --chain` of claim `id` from development account `account`.
fn challenger(n: &Net, id: &str, account: u32, extra: &[&str]) -> Player {
    let (elf, input) = example();
    let acc = account.to_string();
    let mut args = vec![
        "challenge",
        "--chain",
        &n.node.url,
        "--contract",
        &n.game,
        "--account",
        &acc,
        "--game",
        id,
        &elf,
        "--input",
        &input,
    ];
    args.extend_from_slice(extra);
    Player::start(&args)
}

fn lookup(n: &Net) -> ChainReferee {
    let chain = Chain::connect(&n.node.url, &Key::Dev(0)).expect("client");
    let game: Address = n.game.parse().expect("address");
    ChainReferee::connect(chain, game).expect("our contract")
}

fn dev(k: usize) -> Address {
    Key::Dev(k).signer().expect("dev key").address()
}

fn withdrew(out: &str) -> u64 {
    let l = out
        .lines()
        .find_map(|l| l.strip_prefix("withdrew "))
        .unwrap_or_else(|| panic!("no withdrawal in:\n{out}"));
    l.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("an amount")
}

/// Every move the player made is printed with its gas.
fn moves_have_gas(out: &str, who: &str) {
    let mine: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("[seq ") && l.contains(&format!("] {who} ")))
        .collect();
    assert!(!mine.is_empty(), "no {who} moves in:\n{out}");
    for l in mine {
        assert!(l.ends_with(" gas]"), "a {who} move without its gas: {l}");
    }
}

#[test]
fn a_lying_defender_loses_to_an_honest_challenger_and_the_bonds_go_to_the_winner() {
    if !have_anvil() {
        return;
    }
    let n = net("a", 60, 10);
    let t = n.dir.join("t.json");
    let (d, id) = defender(&n, 1, &["--lie", "from:9:40"]);
    let c = challenger(&n, &id, 2, &["--transcript", t.to_str().expect("path")]);
    let (code, out, err) = c.finish();
    assert_eq!(code, Some(0), "the challenger:\n{out}\n{err}");
    assert!(out.contains("result: challenger wins"), "{out}");
    moves_have_gas(&out, "challenger");
    assert!(out.contains("tx withdraw:"), "{out}");
    assert_eq!(withdrew(&out), CLAIM_BOND + CHALLENGE_BOND, "{out}");
    let (code, dout, derr) = d.finish();
    assert_eq!(code, Some(1), "the defender loses:\n{dout}\n{derr}");
    assert!(dout.contains("is refuted"), "{dout}");
    moves_have_gas(&dout, "defender");
    assert!(dout.contains("tx claim:"), "{dout}");
    assert_eq!(withdrew(&dout), 0, "{dout}");
    // The transcript, rebuilt from the contract's logs, checks out offline.
    let v = Command::new(MSWAP)
        .arg("verify")
        .arg(&t)
        .output()
        .expect("verify");
    assert!(v.status.success(), "{}", text(&v));
    assert!(
        String::from_utf8_lossy(&v.stdout).contains("challenger"),
        "{}",
        text(&v)
    );
    // The contract paid everything out.
    let r = lookup(&n);
    assert_eq!(r.credit(dev(1)).expect("credit"), U256::ZERO);
    assert_eq!(r.credit(dev(2)).expect("credit"), U256::ZERO);
    assert_eq!(
        r.chain()
            .balance(n.game.parse().expect("address"))
            .expect("balance"),
        U256::ZERO
    );
    assert_eq!(r.status(&id).expect("status").to_string(), "refuted");
}

#[test]
fn an_honest_claim_stands_after_the_window_against_a_lying_challenger() {
    if !have_anvil() {
        return;
    }
    let n = net("b", 60, 8);
    let (d, id) = defender(&n, 1, &[]);
    let c = challenger(&n, &id, 2, &["--lie", "from:9:40"]);
    let (code, out, err) = c.finish();
    assert_eq!(code, Some(1), "the lying challenger loses:\n{out}\n{err}");
    assert!(out.contains("result: defender wins"), "{out}");
    assert_eq!(withdrew(&out), 0, "{out}");
    let (code, dout, derr) = d.finish();
    assert_eq!(code, Some(0), "the claim stands:\n{dout}\n{derr}");
    assert!(dout.contains("result: the claim stands"), "{dout}");
    assert!(
        dout.contains("tx resolve:"),
        "the defender settles the claim: {dout}"
    );
    // Its own bond back and the challenger's.
    assert_eq!(withdrew(&dout), CLAIM_BOND + CHALLENGE_BOND, "{dout}");
    assert_eq!(
        lookup(&n).status(&id).expect("status").to_string(),
        "stands"
    );
}

#[test]
fn a_squatting_challenger_loses_on_time_and_an_honest_one_refutes_the_claim() {
    if !have_anvil() {
        return;
    }
    let n = net("c", 15, 20);
    let (d, id) = defender(&n, 1, &["--lie", "from:9:40"]);
    // Challenges, then never moves again.
    let squatter = challenger(&n, &id, 2, &["--lie", "silent:1"]);
    let honest = challenger(&n, &id, 3, &[]);
    let (code, out, err) = honest.finish();
    assert_eq!(code, Some(0), "the honest challenger:\n{out}\n{err}");
    assert!(out.contains("result: challenger wins"), "{out}");
    assert_eq!(withdrew(&out), CLAIM_BOND + CHALLENGE_BOND, "{out}");
    let (code, sout, serr) = squatter.finish();
    assert_eq!(code, Some(1), "the squatter loses:\n{sout}\n{serr}");
    assert!(sout.contains("ran out of time"), "{sout}");
    assert_eq!(withdrew(&sout), 0, "{sout}");
    let (code, dout, derr) = d.finish();
    assert_eq!(code, Some(1), "the claim is refuted:\n{dout}\n{derr}");
    assert!(dout.contains("is refuted"), "{dout}");
    // The squatter's bond went to the defender.
    assert_eq!(withdrew(&dout), CHALLENGE_BOND, "{dout}");
}

#[test]
fn bad_input_is_refused_before_any_transaction() {
    if !have_anvil() {
        return;
    }
    let n = net("d", 60, 30);
    let (d, id) = defender(&n, 1, &[]);
    let r = lookup(&n);
    let before = r.chain().balance(dev(3)).expect("balance");
    let (_, input) = example();
    let run = |args: &[&str]| {
        let o = Command::new(MSWAP).args(args).output().expect("mswap");
        (
            o.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let fault = root().join("proofs/fault.elf").display().to_string();
    let url = n.node.url.as_str();
    let game = n.game.as_str();
    // Another program than the claim's.
    let (code, out) = run(&[
        "challenge",
        "--chain",
        url,
        "--contract",
        game,
        "--account",
        "3",
        "--game",
        &id,
        &fault,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("is about program"), "{out}");
    // A key that is not one: named, never echoed.
    let secret = "zz".repeat(32);
    let (code, out) = run(&[
        "challenge",
        "--chain",
        url,
        "--contract",
        game,
        "--private-key",
        &secret,
        "--game",
        &id,
        &fault,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("bad private key") && !out.contains(&secret),
        "{out}"
    );
    // An unknown claim.
    let (elf, _) = example();
    let (code, out) = run(&[
        "challenge",
        "--chain",
        url,
        "--contract",
        game,
        "--account",
        "3",
        "--game",
        "99",
        &elf,
        "--input",
        &input,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("no claim 99"), "{out}");
    // A node that does not answer.
    let (code, out) = run(&[
        "challenge",
        "--chain",
        "http://127.0.0.1:1",
        "--contract",
        game,
        "--connect-timeout",
        "1",
        "--game",
        &id,
        &elf,
        "--input",
        &input,
    ]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("cannot reach the node"), "{out}");
    // Not a URL, not an address, not our contract.
    let (code, out) = run(&[
        "challenge",
        "--chain",
        "127.0.0.1:8545",
        "--contract",
        game,
        "--game",
        &id,
        &elf,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--chain 127.0.0.1:8545"), "{out}");
    let (code, out) = run(&[
        "challenge",
        "--chain",
        url,
        "--contract",
        "0x1234",
        "--game",
        &id,
        &elf,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("is not an address"), "{out}");
    let verifier = r.policy().verifier.to_string();
    let (code, out) = run(&[
        "challenge",
        "--chain",
        url,
        "--contract",
        &verifier,
        "--game",
        &id,
        &elf,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("is not a DisputeGame of this build"), "{out}");
    // --referee and --chain exclude each other; one is needed.
    let (code, out) = run(&[
        "challenge",
        "--referee",
        "http://127.0.0.1:4000",
        "--chain",
        url,
        "--contract",
        game,
        "--game",
        &id,
        &elf,
    ]);
    assert_eq!(code, Some(2), "{out}");
    let (code, out) = run(&["challenge", "--game", &id, &elf]);
    assert_eq!(code, Some(2), "{out}");
    // None of it cost account 3 anything.
    assert_eq!(r.chain().balance(dev(3)).expect("balance"), before);
    drop(d);
}
