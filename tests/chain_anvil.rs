//! End to end on a local `anvil` node: deploy the `StepVerifier` with its
//! microcode, then every example proof and every single-field tampering
//! gets the same answer from the deployed contract (`eth_call`) as from the
//! Rust verifier, and each example proof sent as a real transaction costs
//! what the gas bench says (receipt `gasUsed`). Skipped with a notice
//! where `npm ci` has not been run in `contracts/` (CI runs it).

use mswap::chain::abi::{Case, fixture};
use mswap::chain::fixtures::{example_cases, tamper_cases};
use mswap::chain::rpc::{Rpc, step_calldata};
use mswap::proof::ProofFile;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

/// An anvil node on a free port, killed when dropped.
struct Anvil {
    child: Child,
    url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn anvil() -> Anvil {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(contracts().join("node_modules/.bin/anvil"))
        .args([
            "--port",
            &port.to_string(),
            "--host",
            "127.0.0.1",
            "--silent",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("anvil starts");
    let url = format!("http://127.0.0.1:{port}");
    let out = child.stdout.take();
    let node = Anvil { child, url };
    // Wait until it answers.
    let rpc = Rpc::new(&node.url);
    for _ in 0..200 {
        if rpc.accounts().is_ok() {
            drop(out);
            return node;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if let Some(o) = out {
        for l in BufReader::new(o).lines().take(20).map_while(Result::ok) {
            eprintln!("anvil: {l}");
        }
    }
    panic!("anvil did not answer at {}", node.url);
}

/// Whether anvil and forge are installed; builds the contracts once per
/// run (the tests of this file run in parallel).
fn built() -> bool {
    static BUILT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *BUILT.get_or_init(|| {
        let bin = contracts().join("node_modules/.bin");
        if !bin.join("anvil").exists() || !bin.join("forge").exists() {
            eprintln!(
                "NOTICE: skipping the anvil tests: run `npm ci` in contracts/ to install anvil and forge"
            );
            return false;
        }
        let build = Command::new(bin.join("forge"))
            .current_dir(contracts())
            .args(["build", "--use", "script/solc", "--offline"])
            .output()
            .expect("forge runs");
        assert!(
            build.status.success(),
            "forge build: {}",
            String::from_utf8_lossy(&build.stderr)
        );
        true
    })
}

fn proof_files() -> Vec<ProofFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("proofs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("transcript.json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("proof file"))
        .collect()
}

#[test]
fn the_deployed_verifier_agrees_with_rust_and_a_step_costs_what_the_bench_says() {
    if !built() {
        return;
    }
    let node = anvil();
    let rpc = Rpc::new(&node.url);
    let from = rpc
        .accounts()
        .expect("accounts")
        .into_iter()
        .next()
        .expect("a dev account");
    let verifier = rpc
        .deploy_verifier(
            &from,
            &contracts().join("out/StepVerifier.sol/StepVerifier.json"),
        )
        .expect("deploys");
    // Both runtimes are under the EIP-170 limit (anvil enforces it; this
    // names the sizes), and the verifier reads this build's data contract.
    let code = rpc.code(&verifier).expect("verifier code");
    let data = rpc
        .call(&verifier, &mswap::chain::abi::selector("DATA()"))
        .expect("DATA()");
    let data = format!("0x{}", hex::encode(&data[12..]));
    let data_code = rpc.code(&data).expect("data code");
    assert!(code.len() <= 24576, "verifier runtime {} bytes", code.len());
    assert!(
        data_code.len() <= 24576,
        "data runtime {} bytes",
        data_code.len()
    );
    assert_eq!(data_code[0], 0, "the data starts with STOP");
    assert_eq!(
        &data_code[1..],
        &mswap::chain::solidity::verifier_data(mswap::micro::microcode::microcode())[..]
    );
    // A verifier over an account that is not the data contract is refused,
    // with the contract's error.
    let init = mswap::chain::rpc::verifier_init_code(
        &contracts().join("out/StepVerifier.sol/StepVerifier.json"),
        &verifier,
    )
    .expect("init code");
    match rpc.create(&from, &init) {
        Err(mswap::chain::rpc::RpcError::Reverted(d)) => assert_eq!(
            d[..4],
            mswap::chain::abi::selector("DataSize(uint256,uint256)"),
            "revert data 0x{}",
            hex::encode(&d)
        ),
        other => panic!("a verifier over the wrong data deployed: {other:?}"),
    }

    let files = proof_files();
    let load = files
        .iter()
        .find(|f| f.proof.s_leaf.is_some())
        .expect("leaf");
    let mut cases: Vec<Case> = example_cases(&files);
    cases.extend(files.iter().flat_map(|f| tamper_cases(f, &load.proof)));
    assert!(!fixture(&cases).is_empty());
    for (i, c) in cases.iter().enumerate() {
        let chain = rpc
            .verify(&verifier, &c.root_before, &c.proof)
            .expect("eth_call");
        let rust = c.verdict.clone();
        assert_eq!(chain, rust, "case {i}: the chain and Rust differ");
    }

    // Real transactions: the receipt's gas of each example step.
    let mut line = String::new();
    for (f, c) in files.iter().zip(example_cases(&files)) {
        let r = rpc
            .send(
                &from,
                Some(&verifier),
                &step_calldata(&c.root_before, &c.proof),
            )
            .expect("the step transaction succeeds");
        assert!(
            r.gas_used <= 60_000,
            "a step transaction costs {} gas",
            r.gas_used
        );
        let name = f.context.as_ref().map_or(String::new(), |c| c.uop.clone());
        line += &format!("\n  {:>6} gas  {} bytes  {name}", r.gas_used, c.proof.len());
    }
    eprintln!(
        "{} cases agree on anvil; step transactions:{line}",
        cases.len()
    );
}

#[test]
fn mswap_deploy_and_verify_on_chain() {
    if !built() {
        return;
    }
    let node = anvil();
    let mswap = env!("CARGO_BIN_EXE_mswap");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(mswap)
        .current_dir(root)
        .args(["deploy", "--chain", &node.url])
        .output()
        .expect("mswap deploy");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verifier = text
        .lines()
        .find_map(|l| l.strip_prefix("verifier:"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the verifier's address")
        .to_string();
    assert!(text.contains("game:"), "{text}");
    let verify = |args: &[&str]| {
        let mut a = vec!["verify"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--chain", &node.url, "--verifier", &verifier]);
        Command::new(mswap)
            .current_dir(root)
            .args(&a)
            .output()
            .expect("mswap verify")
    };
    let ok = verify(&["proofs/load.json"]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    assert!(
        text.contains("chain:       valid") && text.contains("agree"),
        "{text}"
    );
    // A binary proof checked against another root: both reject it alike.
    let bad = verify(&["proofs/store.bin", "--before", &"11".repeat(32)]);
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.contains("reverted") && text.contains("root mismatch") && text.contains("agree"),
        "{text}"
    );
}

/// A lying defender against an honest challenger, and the reverse, played
/// on anvil with the contract as the referee: every move a transaction,
/// the contract's state checked against the Rust rules after each, and
/// the honest side wins.
#[test]
fn whole_games_on_chain_the_honest_side_wins() {
    use mswap::chain::play::{Contract, play};
    use mswap::chain::rpc::game_init_code;
    use mswap::elf::Program;
    use mswap::game::levels::two_levels;
    use mswap::game::player::{Honest, Liar, Lie, Player, claimed_by};
    use mswap::game::rules::{Game, Move, Side};
    use mswap::game::timeline::Timeline;
    if !built() {
        return;
    }
    let node = anvil();
    let rpc = Rpc::new(&node.url);
    let accounts = rpc.accounts().expect("accounts");
    let verifier = rpc
        .deploy_verifier(
            &accounts[0],
            &contracts().join("out/StepVerifier.sol/StepVerifier.json"),
        )
        .expect("deploys");
    let init = game_init_code(
        &contracts().join("out/DisputeGame.sol/DisputeGame.json"),
        &verifier,
        3600,
        3600,
        48,
        0,
        0,
    )
    .expect("init code");
    let game_addr = rpc
        .send(&accounts[0], None, &init)
        .expect("deploys")
        .contract
        .expect("address");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let elf = std::fs::read(root.join("proofs/example.elf")).expect("elf");
    let input = std::fs::read(root.join("proofs/example.input")).expect("input");
    let p = Program::load(&elf).expect("loads");
    let lie = || {
        vec![Lie::From {
            from: 9,
            micro_from: 40,
        }]
    };
    for (b, liar_side) in [
        (5, Side::Defender),
        (5, Side::Challenger),
        (20, Side::Defender),
        (40, Side::Defender),
    ] {
        let timeline = || Timeline::new(&p, &input, b, 3);
        let honest = || Honest {
            timeline: timeline(),
        };
        let (mut d, mut c): (Player, Player) = if liar_side == Side::Defender {
            (
                Player {
                    side: Side::Defender,
                    strategy: Box::new(Liar::new(honest(), lie())),
                },
                Player {
                    side: Side::Challenger,
                    strategy: Box::new(honest()),
                },
            )
        } else {
            (
                Player {
                    side: Side::Defender,
                    strategy: Box::new(honest()),
                },
                Player {
                    side: Side::Challenger,
                    strategy: Box::new(Liar::new(honest(), lie())),
                },
            )
        };
        let claim = timeline().claim(p.hash, mswap::hash::keccak(&[&input]), b);
        let claim = claimed_by(claim, &mut *d.strategy);
        let mut game = Game::new(claim, &elf, &input, two_levels(b), 3_600_000, 0).expect("game");
        let contract = Contract {
            rpc: &rpc,
            game: game_addr.clone(),
            defender: accounts[1].clone(),
            challenger: accounts[2].clone(),
        };
        let played =
            play(&contract, &mut game, &mut d, &mut c, 1000).expect("the game plays on chain");
        let winner = game.outcome().expect("the game ended").winner();
        assert_eq!(winner, liar_side.other(), "the honest side wins");
        let bisection: Vec<u64> = played
            .moves
            .iter()
            .filter(|m| {
                matches!(
                    m.mv,
                    Move::Midpoint { .. } | Move::Agree { .. } | Move::Disagree { .. }
                )
            })
            .map(|m| m.gas)
            .collect();
        let proof = played.moves.last().map_or(0, |m| m.gas);
        eprintln!(
            "b={b} liar: {liar_side}; {} transactions: claim {} gas, challenge {} gas, {} bisection moves {} gas on average, proof {proof} gas; total {} gas; winner {winner}",
            played.moves.len() + 1,
            played.claim_gas,
            played.moves.first().map_or(0, |m| m.gas),
            bisection.len(),
            bisection.iter().sum::<u64>() / bisection.len().max(1) as u64,
            played.total_gas()
        );
    }
}

/// `mswap deploy` sets the bonds it is given (wei, up to 128 bits): the
/// deployed game reports them.
#[test]
fn mswap_deploy_sets_the_bonds() {
    if !built() {
        return;
    }
    let node = anvil();
    let claim_bond: u128 = 3 << 100;
    let out = Command::new(env!("CARGO_BIN_EXE_mswap"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(["deploy", "--chain", &node.url, "--claim-bond"])
        .arg(claim_bond.to_string())
        .args(["--challenge-bond", "7"])
        .output()
        .expect("mswap deploy");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let game = text
        .lines()
        .find_map(|l| l.strip_prefix("game:"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the game's address");
    let rpc = Rpc::new(&node.url);
    let word = |sig: &str| {
        let r = rpc
            .call(game, &mswap::chain::abi::selector(sig))
            .expect(sig);
        u128::from_be_bytes(r[16..32].try_into().expect("a word"))
    };
    assert_eq!(word("claimBond()"), claim_bond);
    assert_eq!(word("challengeBond()"), 7);
}

#[test]
fn mswap_dispute_on_chain() {
    if !built() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = std::env::temp_dir().join(format!("mswap-chain-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_mswap"))
        .current_dir(root)
        .args([
            "dispute",
            "--chain",
            "proofs/example.elf",
            "--input",
            "proofs/example.input",
        ])
        .args(["--challenger-lie", "from:9:40", "--transcript"])
        .arg(&t)
        .output()
        .expect("mswap dispute --chain");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("the defender wins") && text.contains("verifies offline"),
        "{text}"
    );
    let check = Command::new(env!("CARGO_BIN_EXE_mswap"))
        .arg("verify")
        .arg(&t)
        .output()
        .expect("mswap verify");
    let _ = std::fs::remove_file(&t);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
