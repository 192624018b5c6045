//! `mswap deploy --chain`, `mswap verify --chain`, `mswap dispute --chain`
//! and the chain options of `defend` and `challenge`: the contracts on an
//! Ethereum node over JSON-RPC, transactions signed with a local key.

use super::output::{self, CliError, outln};
use super::play::{Disputed, OnChain};
use clap::Args;
use mswap::chain::abi::{StepError, revert_data, step};
use mswap::chain::referee::ChainReferee;
use mswap::chain::rpc::{Chain, GamePolicy, KEY_ENV, Key, RpcError, parse_address};
use mswap::hash::Hash;
use serde::Serialize;
use std::path::Path;

/// Which key signs (`--account N`, `--private-key HEX`, or `MSWAP_PRIVATE_KEY`).
#[derive(Args, Clone, Default)]
pub struct KeyArgs {
    /// Sign with anvil's development account N (0 to 9; its well-known
    /// key, for local nodes only). Default: 0 for deploy, 1 for defend, 2
    /// for challenge, unless MSWAP_PRIVATE_KEY is set.
    #[arg(long, conflicts_with = "private_key")]
    account: Option<usize>,
    /// Sign with this private key (64 hex digits). Prefer the environment
    /// variable MSWAP_PRIVATE_KEY: a command line is visible to other users.
    #[arg(long)]
    private_key: Option<String>,
}

impl KeyArgs {
    /// The key: `--private-key`, else `--account`, else
    /// `MSWAP_PRIVATE_KEY`, else development account `default`.
    pub fn key(&self, default: usize) -> Key {
        if let Some(k) = &self.private_key {
            return Key::Hex(k.clone());
        }
        if let Some(n) = self.account {
            return Key::Dev(n);
        }
        match std::env::var(KEY_ENV) {
            Ok(k) if !k.is_empty() => Key::Hex(k),
            _ => Key::Dev(default),
        }
    }
}

/// A client of the node at `url` signing with `key`; a malformed URL or
/// key is a usage error, before any request.
pub fn connect(
    url: &str,
    key: &Key,
    patience: Option<std::time::Duration>,
) -> Result<Chain, CliError> {
    let mut chain = Chain::connect(url, key).map_err(|e| match e {
        RpcError::Url { url, reason } => CliError::usage(format!("--chain {url}: {reason}")),
        RpcError::Key(reason) => CliError::usage(format!("bad private key: {reason}")),
        other => CliError::usage(other.to_string()),
    })?;
    chain.patience = patience;
    chain.on_wait = Some(Box::new(|line| eprintln!("{line}")));
    Ok(chain)
}

/// A node that cannot be reached is exit 3; the rest of what a node
/// refuses is a usage error (exit 2).
fn rpc_err(e: RpcError) -> CliError {
    match e {
        RpcError::Unreachable { .. } => CliError::io(format!("chain: {e}")),
        other => CliError::usage(format!("chain: {other}")),
    }
}

/// Parses a wei amount (a decimal integer).
fn wei(option: &str, s: &str) -> Result<alloy::primitives::U256, CliError> {
    s.parse::<alloy::primitives::U256>()
        .ok()
        .filter(|_| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| CliError::usage(format!("{option} {s}: an amount in wei (a whole number)")))
}

/// Arguments of `mswap deploy`.
#[derive(Args)]
pub struct DeployArgs {
    /// The node's JSON-RPC URL (e.g. anvil's http://127.0.0.1:8545).
    #[arg(long)]
    chain: String,
    #[command(flatten)]
    key: KeyArgs,
    /// Each side's clock in a dispute before the re-execution allowance,
    /// seconds: a claim over 2^b steps gets
    /// `clock + margin * ceil(2^b / min-speed)`.
    #[arg(long, default_value_t = 3600)]
    clock_seconds: u64,
    /// How long a claim may be disputed before the re-execution allowance,
    /// seconds (`window + margin * ceil(2^b / min-speed)`).
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    window_seconds: u64,
    /// Re-executions of 2^b steps each clock and window allow.
    #[arg(long, default_value_t = 2)]
    margin: u64,
    /// The slowest re-execution allowed for, steps per second.
    #[arg(long, default_value_t = 10_000_000)]
    min_speed: u64,
    /// The largest b a claim may have.
    #[arg(long, default_value_t = 48)]
    max_b: u8,
    /// The defender's bond per claim, wei (each dispute that refutes the
    /// claim is rewarded one challenge bond from it, the rest is burnt).
    /// Default: 4 challenge bonds.
    #[arg(long)]
    claim_bond: Option<String>,
    /// A challenger's bond per dispute, wei (the defender's if it wins; a
    /// refuting dispute's reward). Default: an honest challenger's gas for
    /// one dispute at the largest b at --gas-price-gwei (more than the
    /// defender's).
    #[arg(long)]
    challenge_bond: Option<String>,
    /// The gas price the default bonds pay for, gwei.
    #[arg(long, default_value_t = 20)]
    gas_price_gwei: u64,
    /// Give up on an unreachable node after this many seconds.
    #[arg(long, default_value_t = 30)]
    connect_timeout: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// What `deploy --json` prints.
#[derive(Serialize)]
struct Deployed {
    verifier: String,
    game: String,
    deployer: String,
    microcode_root: Hash,
    verifier_gas: u64,
    game_gas: u64,
    clock_seconds: u64,
    window_seconds: u64,
    margin: u64,
    min_speed: u64,
    max_b: u8,
    /// Each side's clock and the window at the largest b, seconds.
    clock_at_max_b: u64,
    window_at_max_b: u64,
    claim_bond: String,
    challenge_bond: String,
    /// keccak256 of each contract's runtime code with its immutables
    /// zeroed (contracts/README.md tells how to check a deployment by hand).
    code_hashes: CodeHashes,
}

/// The canonical code hashes of this build's contracts.
#[derive(Serialize)]
struct CodeHashes {
    game: String,
    verifier: String,
    data: String,
    data_contract: String,
}

/// Deploys the `StepVerifier` (with this build's microcode) and a
/// `DisputeGame` using it; prints their addresses and gas.
pub fn deploy(a: DeployArgs) -> Result<i32, CliError> {
    let default_bonds = mswap::rules::policy::bonds(
        u32::from(a.max_b),
        u128::from(a.gas_price_gwei) * 1_000_000_000,
    );
    let policy = GamePolicy {
        clock_seconds: a.clock_seconds,
        window_seconds: a.window_seconds,
        margin: a.margin,
        min_speed: a.min_speed,
        max_b: a.max_b,
        claim_bond: match &a.claim_bond {
            Some(w) => wei("--claim-bond", w)?,
            None => alloy::primitives::U256::from(default_bonds.0),
        },
        challenge_bond: match &a.challenge_bond {
            Some(w) => wei("--challenge-bond", w)?,
            None => alloy::primitives::U256::from(default_bonds.1),
        },
    };
    let limits = mswap::rules::policy::ChainPolicy {
        clock_base: a.clock_seconds,
        window_base: a.window_seconds,
        margin: a.margin,
        min_speed: a.min_speed,
        max_b: u32::from(a.max_b),
    };
    // The constructor refuses the same; refused here, nothing is sent.
    limits
        .check()
        .map_err(|e| CliError::usage(format!("refusing to deploy: {e}")))?;
    let chain = connect(
        &a.chain,
        &a.key.key(0),
        Some(std::time::Duration::from_secs(a.connect_timeout)),
    )?;
    let (verifier, verifier_gas) = chain.deploy_verifier().map_err(rpc_err)?;
    chain.check_verifier(verifier).map_err(CliError::from)?;
    let (game, r) = chain.deploy_game(verifier, &policy).map_err(rpc_err)?;
    let root = mswap::verify::MICROCODE_ROOT;
    let data = chain
        .view(
            verifier,
            &mswap::chain::bindings::StepVerifier::DATACall {},
            None,
        )
        .map_err(rpc_err)?;
    let [g, v, d] = mswap::chain::canonical::code_hashes();
    if a.json {
        output::json(&Deployed {
            verifier: verifier.to_string(),
            game: game.to_string(),
            deployer: chain.address().to_string(),
            microcode_root: root,
            verifier_gas,
            game_gas: r.gas_used,
            clock_seconds: policy.clock_seconds,
            window_seconds: policy.window_seconds,
            margin: policy.margin,
            min_speed: policy.min_speed,
            max_b: policy.max_b,
            clock_at_max_b: limits.clock(limits.max_b),
            window_at_max_b: limits.window(limits.max_b),
            claim_bond: policy.claim_bond.to_string(),
            challenge_bond: policy.challenge_bond.to_string(),
            code_hashes: CodeHashes {
                game: g.1.to_string(),
                verifier: v.1.to_string(),
                data: d.1.to_string(),
                data_contract: data.to_string(),
            },
        });
    } else {
        outln!(
            "verifier:  {verifier} (microcode 0x{root}; {verifier_gas} gas with its data contract)"
        );
        outln!(
            "game:      {game} ({} gas; clocks {} s and window {} s plus {} x 2^b / {} steps/s (at b = {}: {} s and {} s), bonds {} wei per claim, {} wei per dispute)",
            r.gas_used,
            policy.clock_seconds,
            policy.window_seconds,
            policy.margin,
            policy.min_speed,
            policy.max_b,
            limits.clock(limits.max_b),
            limits.window(limits.max_b),
            policy.claim_bond,
            policy.challenge_bond
        );
        outln!("data:      {data}");
        outln!("deployer:  {}", chain.address());
        outln!(
            "code hashes (runtime code, immutables zeroed): game {}, verifier {}, data {}",
            g.1,
            v.1,
            d.1
        );
    }
    Ok(0)
}

/// `mswap verify FILE --chain URL --verifier ADDRESS`: the deployed
/// verifier's verdict (an `eth_call`) beside the Rust verifier's, and the
/// root after the step compared with `after` (the file's `root_after` or
/// `--after`): a step that leads elsewhere is invalid (exit 1).
pub fn verify(
    name: &str,
    bytes: &[u8],
    root: &Hash,
    after: Option<Hash>,
    url: &str,
    verifier: &str,
    connect_timeout: std::time::Duration,
) -> Result<i32, CliError> {
    let verifier = parse_address("--verifier", verifier).map_err(CliError::usage)?;
    let chain = connect(url, &Key::Dev(0), Some(connect_timeout))?;
    chain
        .check_verifier(verifier)
        .map_err(|e| match e.contains("cannot reach") {
            true => CliError::io(format!("chain: {e}")),
            false => CliError::usage(format!("--verifier: {e}")),
        })?;
    // The verifier's code too: another contract could answer the views.
    let art = mswap::chain::canonical::Artifact::verifier();
    let code = chain.code(verifier).map_err(rpc_err)?;
    if art.masked_hash(&code) != art.code_hash() {
        return Err(CliError::usage(format!(
            "--verifier: the contract at {verifier} is not this build's StepVerifier: its code hash (immutables zeroed) is {}, this build's is {}",
            art.masked_hash(&code),
            art.code_hash()
        )));
    }
    let rust = step(root, bytes);
    let on_chain = chain.verify(verifier, root, bytes).map_err(rpc_err)?;
    let rust_answer = rust.as_ref().map_err(revert_data).copied();
    let describe = |r: &Result<Hash, StepError>| match r {
        Ok(h) => format!("valid, root after {h}"),
        Err(e) => e.to_string(),
    };
    outln!("root before: {root}");
    match &on_chain {
        Ok(h) => outln!("chain:       valid, root after {h}"),
        Err(d) => outln!(
            "chain:       reverted with {} (0x{})",
            mswap::chain::bindings::describe_revert(d),
            hex::encode(d)
        ),
    }
    outln!("rust:        {}", describe(&rust));
    if on_chain != rust_answer {
        return Err(CliError::from(format!(
            "{name}: the deployed verifier and the Rust verifier disagree"
        )));
    }
    outln!("the deployed verifier and the Rust verifier agree");
    match (rust, after) {
        (Ok(computed), Some(want)) if computed != want => Err(CliError::negative(format!(
            "{name}: invalid proof: the step leads to {}, not {} (the root after it claims)",
            output::hash(&computed),
            output::hash(&want)
        ))),
        (Ok(_), _) => Ok(0),
        (Err(_), _) => Ok(1),
    }
}

/// The options of `defend --chain` and `challenge --chain`.
#[derive(Args, Clone, Default)]
pub struct PlayChainArgs {
    /// Play on this Ethereum node (JSON-RPC URL, e.g. http://127.0.0.1:8545)
    /// against the DisputeGame at --contract, instead of a --referee.
    #[arg(long, requires = "contract", conflicts_with = "referee")]
    pub chain: Option<String>,
    /// The DisputeGame's address (see `mswap deploy`).
    #[arg(long, requires = "chain")]
    pub contract: Option<String>,
    #[command(flatten)]
    pub key: KeyArgs,
}

/// The referee on chain for a player: checks the URL, the key and the
/// address before any request, then that the contract is ours.
pub fn referee(
    a: &PlayChainArgs,
    default_account: usize,
    patience: Option<std::time::Duration>,
    json: bool,
) -> Result<ChainReferee, CliError> {
    let url = a.chain.as_deref().unwrap_or_default();
    let contract = parse_address("--contract", a.contract.as_deref().unwrap_or_default())
        .map_err(CliError::usage)?;
    let chain = connect(url, &a.key.key(default_account), patience)?;
    let mut r = ChainReferee::connect(chain, contract).map_err(|e| match e {
        mswap::players::client::ClientError::Refused { reason, .. } => CliError::usage(reason),
        mswap::players::client::ClientError::Unreachable { url, reason } => {
            CliError::io(format!("cannot reach the node at {url}: {reason}"))
        }
        other => CliError::io(other.to_string()),
    })?;
    // Transactions that are not moves (a move's gas is told with the move).
    r.on_tx = Some(Box::new(move |e| {
        // The claim's is told after the claim's id, the first line.
        if e.seq.is_none() && e.what != "claim" {
            let line = format!("tx {}: {} gas ({})", e.what, e.gas, e.tx);
            if json {
                eprintln!("{line}");
            } else {
                outln!("{line}");
            }
        }
    }));
    Ok(r)
}

/// What a player on chain did with its bonds, at the end.
#[derive(Serialize)]
pub struct Settled {
    /// The account.
    pub account: String,
    /// What it withdrew, wei.
    pub withdrawn: String,
    /// Where the claim stands on the contract.
    pub claim_status: String,
    /// Gas of all its transactions.
    pub gas: u64,
    /// Its transactions.
    pub transactions: usize,
}

/// Withdraws the player's credit and says where the claim stands.
pub fn settle(r: &ChainReferee, id: &str, json: bool) -> Result<Settled, CliError> {
    let amount = r.withdraw(id).map_err(super::play::asked)?;
    let status = r.status(id).map_err(super::play::asked)?;
    let log = r.gas_log();
    let s = Settled {
        account: r.chain().address().to_string(),
        withdrawn: amount.to_string(),
        claim_status: status.to_string(),
        gas: log.iter().map(|e| e.gas).sum(),
        transactions: log.len(),
    };
    if !json {
        outln!(
            "withdrew {} wei to {}; claim {id} on chain: {}; {} gas in {} transactions",
            s.withdrawn,
            s.account,
            s.claim_status,
            s.gas,
            s.transactions
        );
    }
    Ok(s)
}

/// `mswap dispute --chain`: the dispute on a local anvil node. With
/// `json`, the lines of the game go to standard error, then standard
/// output gets one JSON line per accepted move (with its gas) and one
/// summary line.
#[allow(clippy::too_many_arguments)]
pub fn dispute(
    name: &str,
    elf: &[u8],
    input: &[u8],
    b: Option<u32>,
    defender_lies: Vec<mswap::players::player::Lie>,
    challenger_lies: Vec<mswap::players::player::Lie>,
    transcript: &Path,
    json: bool,
    anvil: Option<&Path>,
) -> Result<i32, CliError> {
    let anvil = mswap::chain::local::find_anvil(anvil)?;
    let say = |l: &str| {
        if json {
            eprintln!("{l}");
        } else {
            outln!("{l}");
        }
    };
    say(&format!("== mswap dispute --chain: {name}"));
    let r = mswap::chain::demo::dispute(
        &anvil,
        elf,
        input,
        b,
        defender_lies,
        challenger_lies,
        &|l| say(&format!("   {l}")),
    )
    .map_err(|e| format!("{name}: {e}"))?;
    let mut bytes = serde_json::to_vec_pretty(&r.transcript).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    output::write_output(transcript, &bytes)?;
    say(&format!(
        "== the transcript ({}, rebuilt from the contract's logs) verifies offline: {} moves, the {} wins{}",
        transcript.display(),
        r.transcript.moves.len(),
        r.winner,
        if r.checked.by_timeout {
            " on time"
        } else {
            " by the step proof"
        }
    ));
    say(&format!(
        "== bonds: the defender withdrew {} wei, the challenger {} wei; the claim {}",
        r.withdrawn[0], r.withdrawn[1], r.status
    ));
    say(&format!(
        "== result: the {} wins; {} transactions, {} gas in all (deployment not counted)",
        r.winner,
        r.txs.len(),
        r.total_gas()
    ));
    if json {
        // One line per accepted move, told from the transcript's own replay.
        let t = &r.transcript;
        let image = mswap::elf::image_of(&t.program).map_err(|e| format!("{name}: {e}"))?;
        let mut game = t.start(&image).map_err(|e| format!("{name}: {e}"))?;
        for rec in &t.moves {
            let text = mswap::players::client::describe(&game, rec.side, &rec.mv);
            let gas = r
                .txs
                .iter()
                .find(|(side, e)| {
                    *side == rec.side && e.seq == Some(rec.seq) && e.dispute.is_some()
                })
                .map(|(_, e)| e.gas);
            output::json(&super::play::MoveLine {
                dispute: t.dispute,
                seq: rec.seq,
                side: rec.side,
                text: &text,
                gas,
            });
            game.apply(rec.side, rec.seq, &rec.mv, rec.time_ms)
                .map_err(|e| format!("{name}: the transcript's move {}: {e}", rec.seq))?;
        }
        let rounds = t
            .moves
            .iter()
            .filter(|rec| matches!(rec.mv, mswap::rules::Move::Dissect { .. }))
            .count() as u64;
        output::json(&Disputed {
            outcome: t.outcome.clone(),
            winner: Some(r.winner),
            honest: r.honest,
            moves: t.moves.len() as u64,
            rounds,
            bytes: None,
            transcript: Some(transcript.to_path_buf()),
            clock_notes: r.checked.clock_notes(),
            chain: Some(OnChain {
                status: r.status.to_string(),
                transactions: r.txs.len(),
                gas: r.total_gas(),
                withdrawn_wei: [r.withdrawn[0].to_string(), r.withdrawn[1].to_string()],
            }),
        });
    }
    match r.honest {
        Some(h) if h != r.winner => Err(CliError::negative(format!(
            "the dishonest {} won: this is a bug",
            r.winner
        ))),
        Some(h) => {
            say(&format!("== the honest {h} won"));
            Ok(0)
        }
        None => Ok(0),
    }
}
