//! A minimal Ethereum JSON-RPC client over HTTP (the `ureq` agent the
//! crate already has): enough to deploy the `StepVerifier` on a local
//! node, ask it to verify a proof with `eth_call` and send transactions
//! from the node's unlocked development accounts (anvil's). It signs
//! nothing itself, so it is for local nodes only.

use super::abi::selector;
use super::solidity::verifier_data;
use crate::hash::Hash;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Why a JSON-RPC request failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The node could not be reached or answered garbage.
    #[error("JSON-RPC transport: {0}")]
    Transport(String),
    /// The node answered with an error (other than a revert).
    #[error("JSON-RPC error {code}: {message}")]
    Node {
        /// Error code.
        code: i64,
        /// Message.
        message: String,
    },
    /// The call reverted with this data.
    #[error("reverted with 0x{}", hex::encode(.0))]
    Reverted(Vec<u8>),
    /// The transaction was mined but failed.
    #[error("transaction {0} failed")]
    Failed(String),
    /// The contract artifact is missing or malformed.
    #[error("artifact {path}: {reason}")]
    Artifact {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A JSON-RPC endpoint.
pub struct Rpc {
    agent: ureq::Agent,
    url: String,
}

/// A mined transaction.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// Gas used by the whole transaction.
    pub gas_used: u64,
    /// The created contract, if any.
    pub contract: Option<String>,
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn parse_hex(v: &Value) -> Result<Vec<u8>, RpcError> {
    let s = v
        .as_str()
        .ok_or_else(|| RpcError::Transport(format!("expected a hex string, got {v}")))?;
    hex::decode(s.trim_start_matches("0x")).map_err(|e| RpcError::Transport(e.to_string()))
}

fn parse_u64(v: &Value) -> Result<u64, RpcError> {
    let s = v
        .as_str()
        .ok_or_else(|| RpcError::Transport(format!("expected a quantity, got {v}")))?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|e| RpcError::Transport(e.to_string()))
}

impl Rpc {
    /// A client of the node at `url` (e.g. `http://127.0.0.1:8545`).
    pub fn new(url: &str) -> Rpc {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Rpc {
            agent: config.into(),
            url: url.to_string(),
        }
    }

    /// One request; a revert comes back as [`RpcError::Reverted`].
    pub fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut resp = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| RpcError::Transport(format!("{}: {e}", self.url)))?;
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| RpcError::Transport(e.to_string()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| RpcError::Transport(format!("{e}: {text}")))?;
        if let Some(err) = v.get("error") {
            if let Some(data) = err.get("data").filter(|d| d.is_string()) {
                return Err(RpcError::Reverted(parse_hex(data)?));
            }
            return Err(RpcError::Node {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        }
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    }

    /// The node's unlocked accounts.
    pub fn accounts(&self) -> Result<Vec<String>, RpcError> {
        let v = self.request("eth_accounts", json!([]))?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `eth_call`: the return data, or [`RpcError::Reverted`].
    pub fn call(&self, to: &str, data: &[u8]) -> Result<Vec<u8>, RpcError> {
        let v = self.request(
            "eth_call",
            json!([{"to": to, "data": hex0x(data)}, "latest"]),
        )?;
        parse_hex(&v)
    }

    /// Sends a transaction from an unlocked account and waits for its receipt.
    pub fn send(&self, from: &str, to: Option<&str>, data: &[u8]) -> Result<Receipt, RpcError> {
        let mut tx = json!({"from": from, "data": hex0x(data), "gas": "0x1c9c380"});
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = self.request("eth_sendTransaction", json!([tx]))?;
        let start = Instant::now();
        loop {
            let r = self.request("eth_getTransactionReceipt", json!([hash]))?;
            if !r.is_null() {
                if r.get("status").and_then(Value::as_str) != Some("0x1") {
                    return Err(RpcError::Failed(hash.to_string()));
                }
                return Ok(Receipt {
                    gas_used: parse_u64(&r["gasUsed"])?,
                    contract: r
                        .get("contractAddress")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                });
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(RpcError::Transport(format!("no receipt for {hash}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deploys the microcode's data contract (code: a `STOP` byte, then
    /// the zero-subtree table and the microcode words), then the
    /// `StepVerifier` from its forge artifact with the data contract's
    /// address, as `contracts/test/Deploy.sol` does; returns the verifier's
    /// address. The verifier's constructor checks the data against the
    /// microcode root it was compiled with: its refusal comes back as
    /// [`RpcError::Reverted`] with the contract's error (`MicrocodeMismatch`, ...).
    pub fn deploy_verifier(&self, from: &str, artifact: &Path) -> Result<String, RpcError> {
        let data = self.create(from, &data_init_code())?;
        self.create(from, &verifier_init_code(artifact, &data)?)
    }

    /// Creates a contract with creation code `init`; returns its address.
    /// An `eth_call` first, so that a refusal reports its revert data.
    pub fn create(&self, from: &str, init: &[u8]) -> Result<String, RpcError> {
        self.request(
            "eth_call",
            json!([{"from": from, "data": hex0x(init), "gas": "0x1c9c380"}, "latest"]),
        )?;
        self.send(from, None, init)?
            .contract
            .ok_or_else(|| RpcError::Transport("no contract address in the receipt".into()))
    }

    /// `eth_getCode`: the runtime code at `addr`.
    pub fn code(&self, addr: &str) -> Result<Vec<u8>, RpcError> {
        parse_hex(&self.request("eth_getCode", json!([addr, "latest"]))?)
    }

    /// `step(rootBefore, proof)` of the verifier at `verifier`, by `eth_call`:
    /// the root after, or the revert data of the contract's error.
    pub fn verify(
        &self,
        verifier: &str,
        root_before: &Hash,
        proof: &[u8],
    ) -> Result<Result<Hash, Vec<u8>>, RpcError> {
        match self.call(verifier, &step_calldata(root_before, proof)) {
            Ok(ret) if ret.len() == 32 => {
                let mut h = [0u8; 32];
                h.copy_from_slice(&ret);
                Ok(Ok(Hash(h)))
            }
            Ok(ret) => Err(RpcError::Transport(format!(
                "step returned {} bytes",
                ret.len()
            ))),
            Err(RpcError::Reverted(data)) => Ok(Err(data)),
            Err(e) => Err(e),
        }
    }
}

/// The calldata of `step(bytes32 rootBefore, bytes proof)`.
pub fn step_calldata(root_before: &Hash, proof: &[u8]) -> Vec<u8> {
    let mut out = selector("step(bytes32,bytes)").to_vec();
    out.extend_from_slice(&root_before.0);
    let mut w = [0u8; 32];
    w[31] = 0x40;
    out.extend_from_slice(&w);
    let mut len = [0u8; 32];
    len[24..].copy_from_slice(&(proof.len() as u64).to_be_bytes());
    out.extend_from_slice(&len);
    out.extend_from_slice(proof);
    out.resize(out.len() + (32 - proof.len() % 32) % 32, 0);
    out
}

/// The creation code of the data contract holding this build's microcode:
/// a 12-byte init code that returns the rest of itself (`PUSH2 len DUP1
/// PUSH1 12 PUSH1 0 CODECOPY PUSH1 0 RETURN`), then the code: a `STOP` byte
/// (so that a call to it does nothing) and [`verifier_data`].
pub fn data_init_code() -> Vec<u8> {
    let mut code = vec![0x00];
    code.extend_from_slice(&verifier_data(crate::micro::microcode::microcode()));
    let len = u16::try_from(code.len()).expect("the data fits in one contract (EIP-170)");
    let mut init = vec![0x61];
    init.extend_from_slice(&len.to_be_bytes());
    init.extend_from_slice(&[0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3]);
    init.extend_from_slice(&code);
    init
}

/// The creation code of a `StepVerifier` reading the data contract at
/// `data`, from its forge artifact
/// (`contracts/out/StepVerifier.sol/StepVerifier.json`).
pub fn verifier_init_code(artifact: &Path, data: &str) -> Result<Vec<u8>, RpcError> {
    let bad = |reason: String| RpcError::Artifact {
        path: artifact.display().to_string(),
        reason,
    };
    let mut init = artifact_bytecode(artifact)?;
    init.extend_from_slice(
        &address_word(data).ok_or_else(|| bad(format!("bad data address {data}")))?,
    );
    Ok(init)
}

/// The creation bytecode (`bytecode.object`) of a forge artifact.
fn artifact_bytecode(artifact: &Path) -> Result<Vec<u8>, RpcError> {
    let bad = |reason: String| RpcError::Artifact {
        path: artifact.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(artifact).map_err(|e| bad(e.to_string()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let code = v["bytecode"]["object"]
        .as_str()
        .ok_or_else(|| bad("no bytecode.object".into()))?;
    hex::decode(code.trim_start_matches("0x")).map_err(|e| bad(e.to_string()))
}

/// An address as an ABI word, or `None` if it is not 20 hex bytes.
fn address_word(addr: &str) -> Option<[u8; 32]> {
    let a = hex::decode(addr.trim_start_matches("0x"))
        .ok()
        .filter(|a| a.len() == 20)?;
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(&a);
    Some(word)
}

/// The creation code of a `DisputeGame` with its constructor arguments
/// (the bonds in wei), from its forge artifact.
pub fn game_init_code(
    artifact: &Path,
    verifier: &str,
    clock_seconds: u64,
    window_seconds: u64,
    max_b: u8,
    claim_bond: u128,
    challenge_bond: u128,
) -> Result<Vec<u8>, RpcError> {
    let bad = |reason: String| RpcError::Artifact {
        path: artifact.display().to_string(),
        reason,
    };
    let mut init = artifact_bytecode(artifact)?;
    let word =
        address_word(verifier).ok_or_else(|| bad(format!("bad verifier address {verifier}")))?;
    init.extend_from_slice(&word);
    for x in [
        clock_seconds.into(),
        window_seconds.into(),
        max_b.into(),
        claim_bond,
        challenge_bond,
    ] {
        let mut w = [0u8; 32];
        w[16..].copy_from_slice(&u128::to_be_bytes(x));
        init.extend_from_slice(&w);
    }
    Ok(init)
}
