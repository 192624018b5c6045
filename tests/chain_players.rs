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
    node: mswap::chain::local::Node,
    game: String,
    dir: PathBuf,
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn net(name: &str, clock: u64, window: u64) -> Net {
    net_with(name, clock, window, CLAIM_BOND, CHALLENGE_BOND)
}

/// A fresh anvil with a `DisputeGame` of these bonds (wei).
fn net_with(name: &str, clock: u64, window: u64, claim_bond: u64, challenge_bond: u64) -> Net {
    let node = mswap::chain::local::start_anvil(&root().join("contracts")).expect("anvil starts");
    let out = Command::new(MSWAP)
        .args(["deploy", "--chain", &node.url, "--json"])
        .args(["--clock-seconds", &clock.to_string()])
        .args(["--window-seconds", &window.to_string()])
        .args(["--claim-bond", &claim_bond.to_string()])
        .args(["--challenge-bond", &challenge_bond.to_string()])
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

/// `COMMAND --chain` on the game of `n` from development account
/// `account`, with `args` after.
fn player(n: &Net, command: &str, account: u32, args: &[&str]) -> Player {
    let acc = account.to_string();
    let mut all = vec![command, "--chain", &n.node.url, "--contract", &n.game];
    all.extend_from_slice(&["--account", &acc]);
    all.extend_from_slice(args);
    Player::start(&all)
}

/// `defend --chain` from development account `account` with `extra` options.
fn defender(n: &Net, account: u32, extra: &[&str]) -> (Player, String) {
    let (elf, input) = example();
    let mut args = vec![elf.as_str(), "--input", &input, "--b", "5"];
    args.extend_from_slice(extra);
    let mut p = player(n, "defend", account, &args);
    let id = p.line("game:");
    (p, id)
}

/// `challenge --chain` of claim `id` from development account `account`.
fn challenger(n: &Net, id: &str, account: u32, extra: &[&str]) -> Player {
    let (_, input) = example();
    let mut args = vec!["--input", &input];
    args.extend_from_slice(extra);
    challenger_of_log(n, id, account, &args)
}

/// `challenge --chain` without `--input` unless in `extra`: the input is
/// the claim's own, from its log.
fn challenger_of_log(n: &Net, id: &str, account: u32, extra: &[&str]) -> Player {
    let (elf, _) = example();
    let mut args = vec!["--game", id, &elf];
    args.extend_from_slice(extra);
    player(n, "challenge", account, &args)
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

/// `method(params)` on the node's JSON-RPC endpoint: its `result`.
fn rpc(url: &str, method: &str, params: &str) -> serde_json::Value {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let mut r = ureq::post(url)
        .header("Content-Type", "application/json")
        .send(body.as_str())
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

fn quantity(v: &serde_json::Value) -> u128 {
    let s = v.as_str().expect("a quantity");
    u128::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
}

/// What each of the first `k` development accounts paid in gas on the
/// node so far, wei: `gasUsed * effectiveGasPrice` over the receipts of
/// every block.
fn fees(n: &Net, k: usize) -> Vec<i128> {
    let who: Vec<String> = (0..k).map(|i| format!("{:#x}", dev(i))).collect();
    let mut paid = vec![0i128; k];
    let latest = quantity(&rpc(&n.node.url, "eth_blockNumber", "[]"));
    for b in 0..=latest {
        let receipts = rpc(
            &n.node.url,
            "eth_getBlockReceipts",
            &format!(r#"["{b:#x}"]"#),
        );
        for r in receipts.as_array().expect("receipts") {
            let from = r["from"].as_str().expect("from").to_lowercase();
            if let Some(i) = who.iter().position(|w| *w == from) {
                let fee = quantity(&r["gasUsed"]) * quantity(&r["effectiveGasPrice"]);
                paid[i] += i128::try_from(fee).expect("fits");
            }
        }
    }
    paid
}

/// The balances of the first `k` development accounts, wei.
fn balances(n: &Net, k: usize) -> Vec<i128> {
    (0..k)
        .map(|i| i128::try_from(u128::try_from(balance(n, i)).expect("fits")).expect("fits"))
        .collect()
}

/// How much each of the first `k` development accounts gained (or lost,
/// negative) since `before`, net of the gas it paid: what the bonds moved.
fn net_of_gas(n: &Net, before: &[i128]) -> Vec<i128> {
    let k = before.len();
    let paid = fees(n, k);
    balances(n, k)
        .iter()
        .zip(before)
        .zip(&paid)
        .map(|((after, before), paid)| after - before + paid)
        .collect()
}

/// What the game holds, wei.
fn held(n: &Net) -> U256 {
    lookup(n)
        .chain()
        .balance(n.game.parse().expect("address"))
        .expect("balance")
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
    let before = balances(&n, 3);
    let t = n.dir.join("t.json");
    let (d, id) = defender(&n, 1, &["--lie", "from:9:40"]);
    let c = challenger(&n, &id, 2, &["--transcript", t.to_str().expect("path")]);
    let (code, out, err) = c.finish();
    assert_eq!(code, Some(0), "the challenger:\n{out}\n{err}");
    assert!(out.contains("result: challenger wins"), "{out}");
    moves_have_gas(&out, "challenger");
    assert!(out.contains("tx withdraw:"), "{out}");
    // Its bond back and its reward, one challenge bond.
    assert_eq!(withdrew(&out), 2 * CHALLENGE_BOND, "{out}");
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
    // The contract paid out the challenger's reward and burnt the rest of
    // the claim bond; net of gas, the liar lost the claim bond and the
    // challenger gained one challenge bond.
    let r = lookup(&n);
    assert_eq!(r.credit(dev(1)).expect("credit"), U256::ZERO);
    assert_eq!(r.credit(dev(2)).expect("credit"), U256::ZERO);
    let (claim, bond) = (i128::from(CLAIM_BOND), i128::from(CHALLENGE_BOND));
    assert_eq!(held(&n), U256::from(CLAIM_BOND - CHALLENGE_BOND), "burnt");
    assert_eq!(net_of_gas(&n, &before)[1..], [-claim, bond]);
    assert_eq!(r.status(&id).expect("status").to_string(), "refuted");
}

#[test]
fn an_honest_claim_stands_after_the_window_against_a_lying_challenger() {
    if !have_anvil() {
        return;
    }
    let n = net("b", 60, 8);
    let before = balances(&n, 3);
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
    // Its own bond back and the challenger's: net of gas, the defender
    // gained the lying challenger's bond, which the challenger lost.
    assert_eq!(withdrew(&dout), CLAIM_BOND + CHALLENGE_BOND, "{dout}");
    assert_eq!(
        lookup(&n).status(&id).expect("status").to_string(),
        "stands"
    );
    let bond = i128::from(CHALLENGE_BOND);
    assert_eq!(net_of_gas(&n, &before)[1..], [bond, -bond]);
    assert_eq!(held(&n), U256::ZERO, "everything paid out");
}

#[test]
fn a_squatting_challenger_loses_on_time_and_an_honest_one_refutes_the_claim() {
    if !have_anvil() {
        return;
    }
    let n = net("c", 15, 20);
    let before = balances(&n, 4);
    let (d, id) = defender(&n, 1, &["--lie", "from:9:40"]);
    // Challenges, then never moves again.
    let squatter = challenger(&n, &id, 2, &["--lie", "silent:1"]);
    // Without --input: it plays the claim's input, from the claim's log.
    let honest = challenger_of_log(&n, &id, 3, &[]);
    let (code, out, err) = honest.finish();
    assert_eq!(code, Some(0), "the honest challenger:\n{out}\n{err}");
    assert!(out.contains("result: challenger wins"), "{out}");
    assert_eq!(withdrew(&out), 2 * CHALLENGE_BOND, "{out}");
    let (code, sout, serr) = squatter.finish();
    assert_eq!(code, Some(1), "the squatter loses:\n{sout}\n{serr}");
    assert!(sout.contains("ran out of time"), "{sout}");
    assert_eq!(withdrew(&sout), 0, "{sout}");
    let (code, dout, derr) = d.finish();
    assert_eq!(code, Some(1), "the claim is refuted:\n{dout}\n{derr}");
    assert!(dout.contains("is refuted"), "{dout}");
    // The squatter's bond went to the defender; net of gas, the liar lost
    // the claim bond less the squatter's bond, the squatter its bond, and
    // the honest challenger gained its reward; the rest of the claim bond
    // is burnt.
    assert_eq!(withdrew(&dout), CHALLENGE_BOND, "{dout}");
    let (claim, bond) = (i128::from(CLAIM_BOND), i128::from(CHALLENGE_BOND));
    assert_eq!(net_of_gas(&n, &before)[1..], [bond - claim, -bond, bond]);
    assert_eq!(held(&n), U256::from(CLAIM_BOND - CHALLENGE_BOND), "burnt");
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
    let (elf, input) = example();
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
    let verifier = r.policy().verifier.to_string();
    let secret = "zz".repeat(32);
    // `challenge --chain CHAIN --contract CONTRACT EXTRA.. --game GAME PROGRAM`.
    let args = |chain: &str, contract: &str, extra: &[&str], game: &str, program: &str| {
        let mut a = vec!["challenge", "--chain", chain, "--contract", contract];
        a.extend_from_slice(extra);
        a.extend(["--game", game, program]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let account = ["--account", "3"];
    let cases: Vec<(Vec<String>, i32, Option<&str>)> = vec![
        // Another program than the claim's.
        (
            args(url, game, &account, &id, &fault),
            2,
            Some("is about program"),
        ),
        // A key that is not one: named, never echoed (checked for every case below).
        (
            args(url, game, &["--private-key", &secret], &id, &fault),
            2,
            Some("bad private key"),
        ),
        // An unknown claim.
        (
            args(
                url,
                game,
                &["--account", "3", "--input", &input],
                "99",
                &elf,
            ),
            2,
            Some("no claim 99"),
        ),
        // A node that does not answer.
        (
            args(
                "http://127.0.0.1:1",
                game,
                &["--connect-timeout", "1", "--input", &input],
                &id,
                &elf,
            ),
            3,
            Some("cannot reach the node"),
        ),
        // Not a URL, not an address, not our contract.
        (
            args("127.0.0.1:8545", game, &[], &id, &elf),
            2,
            Some("--chain 127.0.0.1:8545"),
        ),
        (
            args(url, "0x1234", &[], &id, &elf),
            2,
            Some("is not an address"),
        ),
        (
            args(url, &verifier, &[], &id, &elf),
            2,
            Some("is not this build's"),
        ),
        // --referee and --chain exclude each other; one is needed.
        (
            args(
                url,
                game,
                &["--referee", "http://127.0.0.1:4000"],
                &id,
                &elf,
            ),
            2,
            None,
        ),
        (
            ["challenge", "--game", &id, &elf]
                .map(String::from)
                .to_vec(),
            2,
            None,
        ),
    ];
    for (args, want_code, want) in &cases {
        let (code, out) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, Some(*want_code), "{args:?}: {out}");
        if let Some(want) = want {
            assert!(out.contains(want), "{args:?}: {out}");
        }
        assert!(!out.contains(&secret), "{args:?}: {out}");
    }
    // None of it cost account 3 anything.
    assert_eq!(r.chain().balance(dev(3)).expect("balance"), before);
    drop(d);
}

/// Bonds in ether, so that they are worth more than the gas: 1 ether a
/// claim, 0.1 a dispute.
const ETHER: u64 = 1_000_000_000_000_000_000;

fn balance(n: &Net, k: usize) -> U256 {
    lookup(n).chain().balance(dev(k)).expect("balance")
}

/// A lying defender opens a dispute against its own false claim from a
/// second account (which plays honestly, so refutes it) racing an honest
/// challenger: each winner is rewarded one challenge bond from the claim
/// bond and the rest is burnt, so the liar gets back one reward and loses
/// the rest and its gas; the honest challenger ends with more than it had.
#[test]
fn a_self_dispute_gains_the_liar_nothing_and_the_honest_challenger_ends_ahead() {
    if !have_anvil() {
        return;
    }
    let (claim_bond, bond) = (ETHER, ETHER / 10);
    let n = net_with("self", 30, 15, claim_bond, bond);
    let before: Vec<U256> = (0..5).map(|k| balance(&n, k)).collect();
    let start = balances(&n, 5);
    let (d, id) = defender(&n, 1, &["--lie", "from:9:40"]);
    // The liar's second account challenges first; the honest one races it.
    let sybil = challenger(&n, &id, 4, &[]);
    let honest = challenger(&n, &id, 2, &[]);
    let (code, out, err) = honest.finish();
    assert_eq!(code, Some(0), "the honest challenger:\n{out}\n{err}");
    assert!(out.contains("result: challenger wins"), "{out}");
    assert!(out.contains("tx collect:"), "it collects its reward: {out}");
    assert_eq!(withdrew(&out), 2 * bond, "{out}");
    let (code, sout, serr) = sybil.finish();
    assert_eq!(
        code,
        Some(0),
        "the liar's own challenger wins too:\n{sout}\n{serr}"
    );
    assert_eq!(withdrew(&sout), 2 * bond, "{sout}");
    let (code, dout, derr) = d.finish();
    assert_eq!(code, Some(1), "the claim is refuted:\n{dout}\n{derr}");
    let after: Vec<U256> = (0..5).map(|k| balance(&n, k)).collect();
    assert!(
        after[2] > before[2],
        "the honest challenger ends ahead: {} -> {}",
        before[2],
        after[2]
    );
    assert!(
        after[2] <= before[2] + U256::from(bond),
        "by its reward at most"
    );
    let liar = |v: &[U256]| v[1] + v[4];
    assert!(
        liar(&after) + U256::from(claim_bond - bond) < liar(&before),
        "the liar loses the claim bond but one reward, and its gas: {} -> {}",
        liar(&before),
        liar(&after)
    );
    // Net of gas: the honest challenger and the liar's second account each
    // gained a reward, the liar lost the claim bond; the rest is burnt.
    let (claim, reward) = (i128::from(claim_bond), i128::from(bond));
    assert_eq!(net_of_gas(&n, &start)[1..], [-claim, reward, 0, reward]);
    assert_eq!(held(&n), U256::from(claim_bond - 2 * bond), "burnt");
}

/// An honest defender against a squatter (challenges, then never moves)
/// and a dispute-correct griefer (plays correctly, lies from A-step 9):
/// each loses its bond to the defender, which ends with more than it had
/// (the bonds cover its gas), and the claim stands.
#[test]
fn griefers_pay_the_honest_defender_more_than_it_spends() {
    if !have_anvil() {
        return;
    }
    let (claim_bond, bond) = (ETHER, ETHER / 10);
    let n = net_with("grief", 15, 20, claim_bond, bond);
    let before: Vec<U256> = (0..4).map(|k| balance(&n, k)).collect();
    let start = balances(&n, 4);
    let (d, id) = defender(&n, 1, &[]);
    // A claim it knows to be true: its own story differs from A-step 9 on.
    let squatter = challenger(&n, &id, 2, &["--lie", "from:9:40", "--lie", "silent:1"]);
    let griefer = challenger(&n, &id, 3, &["--lie", "from:9:40"]);
    for (who, p) in [("squatter", squatter), ("griefer", griefer)] {
        let (code, out, err) = p.finish();
        assert_eq!(code, Some(1), "the {who} loses:\n{out}\n{err}");
        assert_eq!(withdrew(&out), 0, "{out}");
    }
    let (code, dout, derr) = d.finish();
    assert_eq!(code, Some(0), "the claim stands:\n{dout}\n{derr}");
    assert_eq!(withdrew(&dout), claim_bond + 2 * bond, "{dout}");
    let after: Vec<U256> = (0..4).map(|k| balance(&n, k)).collect();
    assert!(
        after[1] > before[1],
        "the defender ends ahead: {} -> {}",
        before[1],
        after[1]
    );
    for k in [2, 3] {
        assert!(
            after[k] + U256::from(bond) <= before[k],
            "griefer {k} lost its bond and its gas"
        );
    }
    let b = i128::from(bond);
    assert_eq!(net_of_gas(&n, &start)[1..], [2 * b, -b, -b]);
    assert_eq!(held(&n), U256::ZERO, "everything paid out");
}

/// The creation code of a contract whose runtime code is `code`.
fn init_of(code: &[u8]) -> Vec<u8> {
    let len = u16::try_from(code.len()).expect("fits");
    let mut init = vec![0x61];
    init.extend_from_slice(&len.to_be_bytes());
    init.extend_from_slice(&[0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3]);
    init.extend_from_slice(code);
    init
}

/// Games the players must not touch: a genuine DisputeGame over a rigged
/// verifier (it answers every call, `microcodeRoot()` included, with this
/// build's microcode root), a game whose code differs from ours by one
/// byte, and our game's code with its window set to 0 (a creation code
/// the constructor would refuse). `defend` and `challenge` refuse each
/// before sending anything: no nonce used, no wei spent.
#[test]
fn players_refuse_a_foreign_or_degenerate_game_and_send_nothing() {
    use mswap::chain::canonical::Artifact;
    use mswap::chain::rpc::{GamePolicy, game_init_code};
    if !have_anvil() {
        return;
    }
    let n = net("foreign", 60, 30);
    let chain = Chain::connect(&n.node.url, &Key::Dev(0)).expect("client");
    // A verifier that says yes to everything.
    let mut rigged = vec![0x7f];
    rigged.extend_from_slice(&mswap::verify::MICROCODE_ROOT.0);
    rigged.extend_from_slice(&[0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]);
    let (rigged, _) = chain.create(init_of(&rigged)).expect("deploys");
    let policy = GamePolicy {
        clock_seconds: 11_111,
        window_seconds: 22_222,
        margin: 3,
        min_speed: 4_444,
        max_b: 45,
        claim_bond: U256::from(5_555),
        challenge_bond: U256::from(6_666),
    };
    let (over_rigged, _) = chain
        .create(game_init_code(rigged, &policy))
        .expect("a genuine game over a rigged verifier deploys");
    // Our game's runtime, one byte changed outside the immutables.
    let ours = lookup(&n).contract();
    let code = chain.code(ours).expect("code");
    let art = Artifact::game();
    let outside = (0..code.len())
        .rev()
        .find(|i| !art.immutables.iter().any(|&(s, l)| (s..s + l).contains(i)))
        .expect("code outside the immutables");
    let mut changed = code.clone();
    changed[outside] ^= 0x01;
    let (changed, _) = chain.create(init_of(&changed)).expect("deploys");
    // Our game's runtime with the window base 0: the immutable slots that
    // hold 22,222 in a game deployed with it are the window's.
    let verifier = lookup(&n).policy().verifier;
    let (probe, _) = chain.deploy_game(verifier, &policy).expect("deploys");
    let mut degenerate = chain.code(probe).expect("code");
    let window = U256::from(22_222u64).to_be_bytes::<32>();
    let mut patched = 0;
    for &(s, l) in &art.immutables {
        if degenerate[s..s + l] == window[32 - l..] {
            degenerate[s..s + l].fill(0);
            patched += 1;
        }
    }
    assert!(patched > 0, "the window's immutable found");
    let (degenerate, _) = chain.create(init_of(&degenerate)).expect("deploys");
    let (elf, input) = example();
    let nonce = |k: usize| chain.transaction_count(dev(k)).expect("nonce");
    let before = [balance(&n, 1), balance(&n, 2)];
    let nonces = [nonce(1), nonce(2)];
    for (game, want) in [
        (over_rigged, "the StepVerifier at"),
        (changed, "the DisputeGame at"),
        (degenerate, "the window base is 0 s"),
    ] {
        let g = game.to_string();
        for args in [
            vec!["defend", "--account", "1", "--b", "5"],
            vec!["challenge", "--account", "2", "--game", "0"],
        ] {
            let o = Command::new(MSWAP)
                .args(&args)
                .args([
                    "--chain",
                    &n.node.url,
                    "--contract",
                    &g,
                    &elf,
                    "--input",
                    &input,
                ])
                .output()
                .expect("mswap");
            let t = text(&o);
            assert_eq!(o.status.code(), Some(2), "{t}");
            assert!(t.contains(want) && t.contains("refusing the game"), "{t}");
        }
    }
    assert_eq!([balance(&n, 1), balance(&n, 2)], before, "no wei spent");
    assert_eq!([nonce(1), nonce(2)], nonces, "no transaction sent");
}
