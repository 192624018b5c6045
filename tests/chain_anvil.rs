//! End to end on a local `anvil` node: deploy the `StepVerifier` with its
//! microcode, then every example proof and every single-field tampering
//! gets the same answer from the deployed contract (`eth_call`) as from the
//! Rust verifier, and each example proof sent as a real transaction costs
//! what the gas bench says (receipt `gasUsed`). Skipped with a notice
//! where `npm ci` has not been run in `contracts/` (CI runs it).

mod support;

use mswap::chain::abi::{Case, fixture};
use mswap::chain::fixtures::{example_cases, tamper_cases};
use mswap::chain::referee::ChainReferee;
use mswap::chain::rpc::{Chain, Key, claim_calldata, step_calldata};
use mswap::hash::Hash;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::proof_files;

fn contracts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

/// Whether anvil is installed (the contracts' creation code is embedded
/// from contracts/artifacts/: no forge build needed).
fn have_anvil() -> bool {
    support::have_contract_tool("anvil", "the anvil tests")
}

fn anvil() -> mswap::chain::local::Node {
    mswap::chain::local::start_anvil(&contracts()).expect("anvil starts")
}

/// The node's accounts (`eth_accounts`), lowercase.
fn eth_accounts(url: &str) -> Vec<String> {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_accounts","params":[]}"#;
    let mut r = ureq::post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .expect("eth_accounts");
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
    v["result"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a.as_str().expect("an address").to_lowercase())
        .collect()
}

/// Moves the node's clock `seconds` ahead and mines a block.
fn warp(url: &str, seconds: u64) {
    for (method, params) in [
        ("evm_increaseTime", format!("[{seconds}]")),
        ("evm_mine", "[]".to_string()),
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
        ureq::post(url)
            .header("Content-Type", "application/json")
            .send(body.as_str())
            .expect(method);
    }
}

#[test]
fn the_deployed_verifier_agrees_with_rust_and_a_step_costs_what_the_bench_says() {
    if !have_anvil() {
        return;
    }
    let node = anvil();
    let rpc = Chain::connect(&node.url, &Key::Dev(0)).expect("client");
    let (verifier, _) = rpc.deploy_verifier().expect("deploys");
    // Both runtimes are under the EIP-170 limit (anvil enforces it; this
    // names the sizes), and the verifier reads this build's data contract.
    let code = rpc.code(verifier).expect("verifier code");
    let data = rpc
        .call(verifier, mswap::chain::abi::selector("DATA()").to_vec())
        .expect("DATA()");
    let data = alloy::primitives::Address::from_slice(&data[12..]);
    let data_code = rpc.code(data).expect("data code");
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
    // with the contract's error, before anything is signed.
    let init = mswap::chain::rpc::verifier_init_code(verifier);
    match rpc.create(init) {
        Err(mswap::chain::rpc::RpcError::Reverted(d)) => assert_eq!(
            d[..4],
            mswap::chain::abi::selector("DataSize(uint256,uint256)"),
            "revert data 0x{}",
            hex::encode(&d)
        ),
        other => panic!("a verifier over the wrong data deployed: {other:?}"),
    }
    // The development keys are anvil's accounts.
    let accounts = eth_accounts(&node.url);
    assert!(accounts.len() >= 10, "{accounts:?}");
    for (n, a) in accounts.iter().enumerate().take(10) {
        let ours = Chain::connect(&node.url, &Key::Dev(n))
            .expect("key")
            .address();
        assert_eq!(format!("{ours:#x}"), *a, "development account {n}");
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
            .verify(verifier, &c.root_before, &c.proof)
            .expect("eth_call");
        let rust = c.verdict.clone();
        assert_eq!(chain, rust, "case {i}: the chain and Rust differ");
    }

    // Real transactions: the receipt's gas of each example step.
    let mut line = String::new();
    for (f, c) in files.iter().zip(example_cases(&files)) {
        let r = rpc
            .send(
                Some(verifier),
                step_calldata(&c.root_before, &c.proof),
                alloy::primitives::U256::ZERO,
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
    if !have_anvil() {
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
    // A valid step whose stated root after is not where it leads: invalid
    // (exit 1), as offline, though the verifiers agree on the step.
    let dir = std::env::temp_dir().join(format!("mswap-verify-after-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("proofs/load.json")).expect("read"))
            .expect("json");
    file["root_after"] = serde_json::Value::String(format!("0x{}", "22".repeat(32)));
    let wrong = dir.join("wrong-after.json");
    std::fs::write(&wrong, serde_json::to_vec(&file).expect("json")).expect("write");
    let bad = verify(&[wrong.to_str().expect("path")]);
    let text =
        String::from_utf8_lossy(&bad.stdout).to_string() + &String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.contains("invalid proof") && text.contains("agree"),
        "{text}"
    );
    let offline = Command::new(mswap)
        .current_dir(root)
        .args(["verify", wrong.to_str().expect("path")])
        .output()
        .expect("mswap verify");
    assert_eq!(offline.status.code(), Some(1), "offline says invalid too");
    // --after against the true file: the same.
    let bad = verify(&["proofs/load.json", "--after", &"33".repeat(32)]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
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
/// on anvil with the contract as the referee through the players' common
/// loops ([`mswap::chain::referee::ChainReferee`]): every move a
/// transaction, the game rebuilt from the logs and checked against the
/// contract after each, the honest side wins and the transcript verifies.
#[test]
fn whole_games_on_chain_the_honest_side_wins() {
    use mswap::chain::rpc::GamePolicy;
    use mswap::players::player::Lie;
    use mswap::rules::Side;
    if !have_anvil() {
        return;
    }
    let node = anvil();
    let rpc = Chain::connect(&node.url, &Key::Dev(0)).expect("client");
    let (verifier, _) = rpc.deploy_verifier().expect("deploys");
    // The shortest window the limits allow, and the fastest players: the
    // window of b = 40 is still 3 hours (2^40 steps at 10^8 a second), so
    // the test moves the node's clock once the claim has fallen.
    let policy = GamePolicy {
        clock_seconds: 600,
        window_seconds: mswap::rules::policy::MIN_WINDOW_SECONDS,
        margin: 1,
        min_speed: mswap::rules::policy::MAX_MIN_SPEED,
        max_b: 48,
        claim_bond: alloy::primitives::U256::from(1000),
        challenge_bond: alloy::primitives::U256::from(100),
    };
    let (game, _) = rpc.deploy_game(verifier, &policy).expect("deploys");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let elf = std::fs::read(root.join("proofs/example.elf")).expect("elf");
    let input = std::fs::read(root.join("proofs/example.input")).expect("input");
    let lie = || {
        vec![Lie::From {
            from: 9,
            micro_from: 40,
        }]
    };
    for (b, liar) in [
        (5, Side::Defender),
        (5, Side::Challenger),
        (20, Side::Defender),
        (40, Side::Defender),
    ] {
        let lies = match liar {
            Side::Defender => [lie(), vec![]],
            Side::Challenger => [vec![], lie()],
        };
        let r = std::thread::scope(|s| {
            let play = s.spawn(|| {
                mswap::chain::demo::play(&node.url, game, &elf, &input, b, lies, &|_| {})
            });
            // A fallen claim's rewards are paid after its window: move the
            // node's clock past a window longer than the test.
            let watch = ChainReferee::connect(
                Chain::connect(&node.url, &Key::Dev(0)).expect("client"),
                game,
            )
            .expect("our game");
            let window = watch.policy().window_s(b);
            let mut warped = false;
            while !play.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(500));
                let (claims, _) = watch.counts().expect("counts");
                if !warped && window > 60 && claims > 0 {
                    let id = (claims - 1).to_string();
                    if watch.status(&id).expect("status").to_string() == "refuted" {
                        warp(&node.url, window);
                        warped = true;
                    }
                }
            }
            play.join().expect("the players' thread")
        })
        .expect("the game plays on chain");
        assert_eq!(r.winner, liar.other(), "the honest side wins");
        assert_eq!(
            r.checked.winner,
            Some(liar.other()),
            "the transcript says so"
        );
        // The winner takes both bonds: the defender its claim's and the
        // challenger's; a refuting challenger its own and its reward (one
        // challenge bond; the rest of the claim bond is burnt).
        let want = match liar {
            Side::Defender => [0, 100 + 100],
            Side::Challenger => [1000 + 100, 0],
        };
        assert_eq!(
            r.withdrawn,
            want.map(alloy::primitives::U256::from),
            "withdrawn by the defender and the challenger"
        );
        let of = |what: &[&str]| -> Vec<u64> {
            r.txs
                .iter()
                .filter(|(_, e)| what.contains(&e.what.as_str()))
                .map(|(_, e)| e.gas)
                .collect()
        };
        let bisection = of(&["dissect", "pick"]);
        eprintln!(
            "b={b} liar: {liar}; {} transactions: claim {:?} gas, challenge {:?} gas, {} bisection moves {} gas on average, proof {:?} gas; total {} gas; winner {}",
            r.txs.len(),
            of(&["claim"]),
            of(&["challenge"]),
            bisection.len(),
            bisection.iter().sum::<u64>() / bisection.len().max(1) as u64,
            of(&["proof"]),
            r.total_gas(),
            r.winner
        );
    }
}

/// `mswap deploy` sets the bonds it is given (wei, up to 128 bits): the
/// deployed game reports them.
#[test]
fn mswap_deploy_sets_the_bonds() {
    if !have_anvil() {
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
    let game: alloy::primitives::Address = game.parse().expect("an address");
    let rpc = Chain::connect(&node.url, &Key::Dev(0)).expect("client");
    let word = |sig: &str| {
        let r = rpc
            .call(game, mswap::chain::abi::selector(sig).to_vec())
            .expect(sig);
        u128::from_be_bytes(r[16..32].try_into().expect("a word"))
    };
    assert_eq!(word("claimBond()"), claim_bond);
    assert_eq!(word("challengeBond()"), 7);
}

#[test]
fn mswap_dispute_on_chain() {
    if !have_anvil() {
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

#[test]
fn mswap_dispute_on_chain_json() {
    if !have_anvil() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = std::env::temp_dir().join(format!("mswap-chain-json-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_mswap"))
        .current_dir(root)
        .args(["dispute", "--chain", "--json", "proofs/example.elf"])
        .args(["--input", "proofs/example.input", "--transcript"])
        .arg(&t)
        .output()
        .expect("mswap dispute --chain --json");
    let _ = std::fs::remove_file(&t);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Standard output is JSON lines only: the moves in order, each with
    // its transaction's gas, then the summary.
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let (summary, moves) = lines.split_last().expect("a summary line");
    // The chain's levels (k = 32 at both) over b = 5 and a = 7: one round
    // of steps and two of micro-steps, a dissection and a pick each,
    // between the challenge and the proof.
    assert_eq!(moves.len(), 2 + 2 * 3, "{text}");
    for (i, m) in moves.iter().enumerate() {
        assert_eq!(m["seq"], i as u64, "{m}");
        assert!(m["gas"].as_u64().is_some_and(|g| g > 21_000), "{m}");
    }
    assert_eq!(summary["winner"], "challenger", "{summary}");
    assert_eq!(summary["status"], "refuted", "{summary}");
    // The fields of the HTTP dispute's summary too (no bytes exchanged).
    assert_eq!(summary["moves"], moves.len() as u64, "{summary}");
    assert_eq!(summary["rounds"], 3, "{summary}");
    assert!(summary["clock_notes"].is_array(), "{summary}");
    assert!(summary.get("bytes").is_none(), "{summary}");
    let gas: u64 = moves.iter().filter_map(|m| m["gas"].as_u64()).sum();
    assert!(
        summary["gas"].as_u64().is_some_and(|g| g > gas),
        "{summary}"
    );
}

/// Two senders with one account (as two processes with the same key):
/// each caches its next nonce, so the second one's sends make the first's
/// cache stale; the first's next send is refused by the node for its
/// nonce, and signed again with the node's next one instead of failing.
#[test]
fn a_nonce_taken_by_another_sender_of_the_same_account_is_recovered() {
    if !have_anvil() {
        return;
    }
    let node = anvil();
    let a = Chain::connect(&node.url, &Key::Dev(5)).expect("client a");
    let b = Chain::connect(&node.url, &Key::Dev(5)).expect("client b");
    let to = Key::Dev(6).signer().expect("key").address();
    let before = a.balance(to).expect("balance");
    let one = alloy::primitives::U256::from(1u64);
    a.send(Some(to), Vec::new(), one).expect("a's first send");
    b.send(Some(to), Vec::new(), one).expect("b's send");
    b.send(Some(to), Vec::new(), one).expect("b's second send");
    // a's cached nonce is now one the node has seen.
    a.send(Some(to), Vec::new(), one)
        .expect("a's send after b's");
    a.send(Some(to), Vec::new(), one).expect("and the next");
    assert_eq!(
        a.balance(to).expect("balance"),
        before + alloy::primitives::U256::from(5u64)
    );
}

/// What the contract refuses on a real node, sent as transactions from
/// this process (the players never send them): a claim whose witness is
/// not its image's (a program labelled with another's image), a level
/// list that starts with a micro level, `b` beyond the largest, a
/// deployment with `maxB` of 64 or clocks of 0 (the constructor's
/// errors); and `mswap deploy` refuses such a policy before sending.
#[test]
fn unplayable_claims_and_degenerate_deployments_revert() {
    use mswap::chain::bindings::{DisputeGame, describe_revert};
    use mswap::chain::rpc::{GamePolicy, RpcError};
    use mswap::state::initial::Image;
    if !have_anvil() {
        return;
    }
    let node = anvil();
    let rpc = Chain::connect(&node.url, &Key::Dev(0)).expect("client");
    let (verifier, _) = rpc.deploy_verifier().expect("deploys");
    let ok = GamePolicy {
        clock_seconds: 60,
        window_seconds: 60,
        margin: 2,
        min_speed: 10_000_000,
        max_b: 48,
        claim_bond: alloy::primitives::U256::ZERO,
        challenge_bond: alloy::primitives::U256::ZERO,
    };
    let reverted = |r: Result<_, RpcError>| match r {
        Err(RpcError::Reverted(d)) => describe_revert(&d),
        Err(e) => panic!("not a revert: {e}"),
        Ok(_) => panic!("accepted"),
    };
    for (policy, want) in [
        (
            GamePolicy {
                max_b: 64,
                ..ok.clone()
            },
            "MaxBOutOfRange",
        ),
        (
            GamePolicy {
                max_b: 49,
                ..ok.clone()
            },
            "MaxBOutOfRange",
        ),
        (
            GamePolicy {
                clock_seconds: 0,
                ..ok.clone()
            },
            "ClockOutOfRange",
        ),
        (
            GamePolicy {
                window_seconds: 0,
                ..ok.clone()
            },
            "WindowOutOfRange",
        ),
        (
            GamePolicy {
                min_speed: 0,
                ..ok.clone()
            },
            "SpeedOutOfRange",
        ),
    ] {
        let why = reverted(rpc.deploy_game(verifier, &policy).map(|_| ()));
        assert!(why.starts_with(want), "{why}");
    }
    let deployer = rpc.address();
    let sent = rpc.transaction_count(deployer).expect("nonce");
    for args in [
        &["--max-b", "64"][..],
        &["--window-seconds", "0", "--clock-seconds", "0"],
        &["--min-speed", "1000000000"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mswap"))
            .args(["deploy", "--chain", &node.url])
            .args(args)
            .output()
            .expect("mswap deploy");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("refusing to deploy"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        rpc.transaction_count(deployer).expect("nonce"),
        sent,
        "nothing sent"
    );
    let (game, _) = rpc.deploy_game(verifier, &ok).expect("deploys");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = |name: &str| {
        let elf = std::fs::read(root.join(name)).expect("elf");
        let p = mswap::elf::Program::load(&elf).expect("loads");
        Image::of_state(&p.initial_state(&[]))
    };
    let (example, fault) = (load("proofs/example.elf"), load("proofs/fault.elf"));
    // The micro level, as the contract encodes it: bit 7 and its log2, a;
    // each level's second byte is log2 of its fan-out (1: halves).
    let micro = 0x80 | mswap::micro::LOG2_USTEPS as u8;
    let claim = |image: Hash32, witness: &Image, b: u8, levels: &[u8]| {
        claim_calldata(
            &Hash(image),
            witness,
            b"some input",
            &Hash([7; 32]),
            b,
            levels,
        )
    };
    let send = |data: Vec<u8>| {
        rpc.send(Some(game), data, alloy::primitives::U256::ZERO)
            .map(|_| ())
    };
    // Labelled as the example program, with the fault program's witness.
    let why = reverted(send(claim(example.root.0, &fault, 5, &[5, 1, micro, 1])));
    assert!(why.starts_with("BadImage"), "{why}");
    let why = reverted(send(claim(example.root.0, &example, 5, &[micro, 1, 5, 1])));
    assert!(why.starts_with("MicroFirst"), "{why}");
    let why = reverted(send(claim(
        example.root.0,
        &example,
        49,
        &[49, 1, micro, 1],
    )));
    assert!(why.starts_with("BadB"), "{why}");
    // The genuine claim: root(S_0) derived on chain as in Rust.
    send(claim(example.root.0, &example, 5, &[5, 1, micro, 1])).expect("a playable claim");
    let c = rpc
        .view(
            game,
            &DisputeGame::getClaimCall {
                id: alloy::primitives::U256::ZERO,
            },
            None,
        )
        .expect("claim 0");
    assert_eq!(
        c.initialRoot.0,
        example.initial_root(b"some input").expect("fits").0,
        "the contract derives root(S_0) as Rust does"
    );
    let referee = ChainReferee::connect(
        Chain::connect(&node.url, &Key::Dev(0)).expect("client"),
        game,
    )
    .expect("our game");
    // The program's image root is kept in the claim's log, not stored:
    // the referee reads it there.
    let view = mswap::players::client::RefereeApi::claim(&referee, "0", None, 0).expect("claim 0");
    assert_eq!(view.claim.program.0, example.root.0);
    // Inputs of several leaves, odd leaf counts and a partial last leaf.
    for (k, len) in [0usize, 1, 31, 32, 33, 100, 4097, 65_536]
        .into_iter()
        .enumerate()
    {
        let input: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
        let data = claim_calldata(
            &example.root,
            &example,
            &input,
            &Hash([7; 32]),
            5,
            &[5, 1, micro, 1],
        );
        send(data).expect("a playable claim");
        let c = rpc
            .view(
                game,
                &DisputeGame::getClaimCall {
                    id: alloy::primitives::U256::from(k + 1),
                },
                None,
            )
            .expect("the claim");
        assert_eq!(
            c.initialRoot.0,
            example.initial_root(&input).expect("fits").0,
            "input of {len} bytes"
        );
        // A challenger takes the input from the chain.
        assert_eq!(
            referee
                .claim_input(&(k + 1).to_string())
                .expect("the input"),
            input,
            "the input of claim {}",
            k + 1
        );
    }
}

type Hash32 = [u8; 32];
