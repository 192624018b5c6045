//! `mswap deploy --chain` and `mswap verify --chain`: the contracts on a
//! local node (anvil), through its unlocked development accounts.

use super::CliError;
use clap::Args;
use mswap::chain::abi::{StepError, revert_data, step};
use mswap::chain::rpc::{Rpc, game_init_code};
use mswap::hash::Hash;
use std::path::{Path, PathBuf};

/// Arguments of `mswap deploy`.
#[derive(Args)]
pub struct DeployArgs {
    /// The node's JSON-RPC URL (e.g. anvil's http://127.0.0.1:8545).
    #[arg(long)]
    chain: String,
    /// The Foundry project, built (`forge build --use script/solc --offline`).
    #[arg(long, default_value = "contracts")]
    contracts: PathBuf,
    /// Each side's clock in every dispute, seconds.
    #[arg(long, default_value_t = 3600)]
    clock_seconds: u64,
    /// How long a claim may be disputed, seconds.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    window_seconds: u64,
    /// The largest b a claim may have.
    #[arg(long, default_value_t = 48)]
    max_b: u8,
    /// The defender's bond with each claim, wei.
    #[arg(long, default_value_t = 0)]
    claim_bond: u128,
    /// The challenger's bond with each dispute, wei.
    #[arg(long, default_value_t = 0)]
    challenge_bond: u128,
}

fn rpc_err(e: impl std::fmt::Display) -> CliError {
    CliError::from(format!("chain: {e}"))
}

fn artifact(contracts: &Path, name: &str) -> PathBuf {
    contracts.join(format!("out/{name}.sol/{name}.json"))
}

/// Deploys the `StepVerifier` (with this build's microcode) and a
/// `DisputeGame` using it; prints their addresses and gas.
pub fn deploy(a: DeployArgs) -> Result<i32, CliError> {
    let rpc = Rpc::new(&a.chain);
    let from = rpc
        .accounts()
        .map_err(rpc_err)?
        .into_iter()
        .next()
        .ok_or_else(|| CliError::from("chain: the node has no unlocked account"))?;
    let verifier = rpc
        .deploy_verifier(&from, &artifact(&a.contracts, "StepVerifier"))
        .map_err(rpc_err)?;
    let root = rpc
        .call(&verifier, &mswap::chain::abi::selector("microcodeRoot()"))
        .map_err(rpc_err)?;
    let want = mswap::verify::MICROCODE_ROOT;
    if root != want.0 {
        return Err(CliError::from(format!(
            "chain: the deployed verifier carries microcode 0x{}, this build's is 0x{want}",
            hex::encode(root)
        )));
    }
    let init = game_init_code(
        &artifact(&a.contracts, "DisputeGame"),
        &verifier,
        a.clock_seconds,
        a.window_seconds,
        a.max_b,
        a.claim_bond,
        a.challenge_bond,
    )
    .map_err(rpc_err)?;
    let g = rpc.send(&from, None, &init).map_err(rpc_err)?;
    let game = g
        .contract
        .ok_or_else(|| CliError::from("chain: no contract address"))?;
    println!("verifier:  {verifier} (microcode 0x{want})");
    println!(
        "game:      {game} ({} gas; clocks {} s, window {} s, b at most {}, bonds {} wei per claim, {} wei per challenge)",
        g.gas_used, a.clock_seconds, a.window_seconds, a.max_b, a.claim_bond, a.challenge_bond
    );
    println!("deployer:  {from}");
    Ok(0)
}

/// `mswap verify FILE --chain URL --verifier ADDRESS`: the deployed
/// verifier's verdict (an `eth_call`) beside the Rust verifier's.
pub fn verify(
    name: &str,
    bytes: &[u8],
    root: &Hash,
    chain: &str,
    verifier: &str,
) -> Result<i32, CliError> {
    let rust = step(root, bytes);
    let on_chain = Rpc::new(chain)
        .verify(verifier, root, bytes)
        .map_err(rpc_err)?;
    let rust_answer = rust.as_ref().map_err(revert_data).copied();
    let describe = |r: &Result<Hash, StepError>| match r {
        Ok(h) => format!("valid, root after 0x{h}"),
        Err(e) => e.to_string(),
    };
    println!("root before: 0x{root}");
    match &on_chain {
        Ok(h) => println!("chain:       valid, root after 0x{h}"),
        Err(d) => println!("chain:       reverted with 0x{}", hex::encode(d)),
    }
    println!("rust:        {}", describe(&rust));
    if on_chain != rust_answer {
        return Err(CliError::from(format!(
            "{name}: the deployed verifier and the Rust verifier disagree"
        )));
    }
    println!("the deployed verifier and the Rust verifier agree");
    Ok(if rust.is_ok() { 0 } else { 1 })
}

/// `mswap dispute --chain`: the dispute on a local anvil node.
pub fn dispute(
    name: &str,
    elf: &[u8],
    input: &[u8],
    b: Option<u32>,
    defender_lies: Vec<mswap::game::player::Lie>,
    challenger_lies: Vec<mswap::game::player::Lie>,
    transcript: &Path,
) -> Result<i32, CliError> {
    println!("== mswap dispute --chain: {name}");
    let r = mswap::chain::demo::dispute(
        Path::new("contracts"),
        elf,
        input,
        b,
        defender_lies,
        challenger_lies,
        &|l| println!("   {l}"),
    )
    .map_err(|e| format!("{name}: {e}"))?;
    let mut json = serde_json::to_vec_pretty(&r.transcript).map_err(|e| e.to_string())?;
    json.push(b'\n');
    super::output::write_output(transcript, &json)?;
    println!(
        "== the transcript ({}) verifies offline",
        transcript.display()
    );
    println!(
        "== result: the {} wins; {} transactions, {} gas in all",
        r.winner,
        r.game.moves.len() + 1,
        r.game.total_gas()
    );
    Ok(0)
}
