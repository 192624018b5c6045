//! An Ethereum JSON-RPC client over HTTP with a local signer, on
//! [alloy](https://alloy.rs): the calls, transactions and logs the chain
//! players and `mswap deploy`/`verify --chain` need, behind a synchronous
//! interface (the game's players are threads, not tasks).
//!
//! - **Keys.** A transaction is signed here with a private key: one of
//!   anvil's well-known development keys ([`Key::Dev`], the default), or a
//!   key given on the command line or in `MSWAP_PRIVATE_KEY` ([`Key::Hex`]).
//!   A key is never printed; only its address is.
//! - **Nonces.** One process may send from several threads (a defender
//!   plays each dispute on a thread of its own): the next nonce is cached
//!   and taken under a lock held from the gas estimate to the node's
//!   acceptance of the signed transaction, so that sends from one account
//!   are ordered and a refused transaction (its gas estimate reverts)
//!   consumes no nonce. A send the node does not accept drops the cache,
//!   which is read again from the node; one refused for a nonce another
//!   process with the same account took is signed again with the next.
//! - **Reverts.** A transaction is estimated first, so a move the contract
//!   refuses comes back as [`RpcError::Reverted`] with the custom error's
//!   data before anything is signed or paid.
//! - **An unreachable node** is retried with a growing pause for as long
//!   as [`Chain::patience`] allows, telling [`Chain::on_wait`] about each
//!   retry, as the HTTP referee's client does.

use super::bindings::{
    DisputeGame, IStepVerifier, StepVerifier, dispute_game_bytecode, step_verifier_bytecode,
};
use super::solidity::verifier_data;
use crate::hash::Hash;
use alloy::consensus::TxEnvelope;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{BlockNumberOrTag, Filter, Log, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolConstructor};
use alloy::transports::{RpcError as AlloyError, TransportErrorKind};
use std::future::IntoFuture;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Why a request to the node failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The node's address is not a URL this client can use.
    #[error("bad node URL {url}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The node could not be reached for too long.
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The last error.
        reason: String,
    },
    /// The node answered with an error (other than a revert), or with
    /// something that is not a JSON-RPC answer.
    #[error("the node at {url} says: {message}")]
    Node {
        /// The URL.
        url: String,
        /// What it said.
        message: String,
    },
    /// The call or transaction reverts with this data.
    #[error("{}", super::bindings::describe_revert(.0))]
    Reverted(Vec<u8>),
    /// The transaction was mined but failed (no revert data found).
    #[error("transaction {0} failed")]
    Failed(String),
    /// The private key is unusable.
    #[error("bad private key: {0}")]
    Key(String),
}

/// Whether a node's refusal of a transaction says its nonce was taken
/// (by another sender with the same account).
fn stale_nonce(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("nonce too low") || m.contains("replacement transaction underpriced")
}

/// The most blocks one `eth_getLogs` of [`Chain::logs_in`] asks for.
pub const LOG_RANGE: u64 = 5_000;

/// Anvil's development accounts' private keys (from its default mnemonic,
/// `test test test test test test test test test test test junk`): public
/// knowledge, for local nodes only.
pub const DEV_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// The environment variable a private key may come from.
pub const KEY_ENV: &str = "MSWAP_PRIVATE_KEY";

/// Which key signs.
#[derive(Clone)]
pub enum Key {
    /// Anvil's development account `N` (0 to 9).
    Dev(usize),
    /// A private key, 32 bytes in hex (`0x` optional).
    Hex(String),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Dev(n) => write!(f, "Dev({n})"),
            Key::Hex(_) => f.write_str("Hex(<hidden>)"),
        }
    }
}

impl Key {
    /// The signer of this key.
    pub fn signer(&self) -> Result<PrivateKeySigner, RpcError> {
        let hex = match self {
            Key::Dev(n) => DEV_KEYS.get(*n).ok_or_else(|| {
                RpcError::Key(format!(
                    "there are {} development accounts (0 to {}), not {n}",
                    DEV_KEYS.len(),
                    DEV_KEYS.len() - 1
                ))
            })?,
            Key::Hex(h) => h.as_str(),
        };
        let h = hex.trim();
        let h = h.strip_prefix("0x").unwrap_or(h);
        // Say what is wrong without repeating the key.
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RpcError::Key(format!(
                "a private key is 64 hex digits (32 bytes, 0x optional); this one has {} characters{}",
                h.len(),
                if h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    ""
                } else {
                    " and some are not hex digits"
                }
            )));
        }
        h.parse::<PrivateKeySigner>()
            .map_err(|_| RpcError::Key("not a valid secp256k1 private key".into()))
    }
}

/// What a client tells about a retry.
pub type OnWait = Box<dyn Fn(&str) + Send + Sync>;

/// The runtime that drives every [`Chain`]'s requests; any thread may
/// block on it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mswap-chain")
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// A mined transaction.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// Its hash.
    pub hash: B256,
    /// Gas used by the whole transaction.
    pub gas_used: u64,
    /// The created contract, if any.
    pub contract: Option<Address>,
    /// The block it is in.
    pub block: u64,
    /// The logs it emitted.
    pub logs: Vec<Log>,
}

/// Checks a node URL: `http://` or `https://`, a host, no user.
pub fn check_url(url: &str) -> Result<reqwest_url::Url, RpcError> {
    let bad = |reason: &str| RpcError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let u: reqwest_url::Url = url
        .parse()
        .map_err(|e| bad(&format!("{e} (use e.g. http://127.0.0.1:8545)")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("use http:// or https://, e.g. http://127.0.0.1:8545"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("no user or password in the URL"));
    }
    Ok(u)
}

/// The URL type alloy's HTTP transport takes.
mod reqwest_url {
    pub use alloy::transports::http::reqwest::Url;
}

/// A node and the account that signs.
pub struct Chain {
    url: String,
    provider: RootProvider,
    wallet: EthereumWallet,
    address: Address,
    /// The next nonce, while known (see the module's notes).
    nonce: Mutex<Option<u64>>,
    chain_id: OnceLock<u64>,
    /// How long to keep retrying an unreachable node (`None`: as long as it takes).
    pub patience: Option<Duration>,
    /// Told about each retry: "waiting for the node at URL (retry N): reason".
    pub on_wait: Option<OnWait>,
}

impl Chain {
    /// A client of the node at `url` signing with `key`; a malformed URL
    /// or key is refused at once (the node is not contacted).
    pub fn connect(url: &str, key: &Key) -> Result<Chain, RpcError> {
        let u = check_url(url)?;
        let signer = key.signer()?;
        let address = signer.address();
        let client = alloy::transports::http::reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| RpcError::Node {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        // Built inside the runtime: the HTTP client's connections belong to it.
        let provider = {
            let _guard = runtime().enter();
            RootProvider::new(
                alloy::rpc::client::ClientBuilder::default().http_with_client(client, u),
            )
        };
        Ok(Chain {
            url: url.trim_end_matches('/').to_string(),
            provider,
            wallet: EthereumWallet::from(signer),
            address,
            nonce: Mutex::new(None),
            chain_id: OnceLock::new(),
            patience: Some(Duration::from_secs(30)),
            on_wait: None,
        })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The signing account.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Runs one request, retrying while the node cannot be reached.
    fn rpc<T, F, Fut>(&self, mut f: F) -> Result<T, RpcError>
    where
        F: FnMut() -> Fut,
        Fut: IntoFuture<Output = Result<T, AlloyError<TransportErrorKind>>>,
    {
        let start = Instant::now();
        let mut pause = Duration::from_millis(50);
        let mut retry = 0u64;
        loop {
            let reason = match runtime().block_on(f().into_future()) {
                Ok(v) => return Ok(v),
                Err(e) => self.classify(e)?,
            };
            if self.patience.is_some_and(|p| start.elapsed() >= p) {
                return Err(RpcError::Unreachable {
                    url: self.url.clone(),
                    reason,
                });
            }
            retry += 1;
            if let Some(tell) = &self.on_wait {
                tell(&format!(
                    "waiting for the node at {} (retry {retry}): {reason}",
                    self.url
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// `Ok(reason)` for an error worth retrying (the node is down or
    /// busy), the error otherwise.
    fn classify(&self, e: AlloyError<TransportErrorKind>) -> Result<String, RpcError> {
        let node = |message: String| RpcError::Node {
            url: self.url.clone(),
            message,
        };
        match e {
            AlloyError::ErrorResp(p) => match p.as_revert_data() {
                Some(data) => Err(RpcError::Reverted(data.to_vec())),
                None if p.message.contains("revert") => Err(RpcError::Reverted(Vec::new())),
                None => Err(node(format!("{} (code {})", p.message, p.code))),
            },
            AlloyError::Transport(k) => match k.as_http_error() {
                Some(h) if h.status < 500 && h.status != 429 => Err(node(format!(
                    "HTTP {}: is this a JSON-RPC endpoint? {}",
                    h.status,
                    h.body.chars().take(200).collect::<String>()
                ))),
                _ => Ok(transport_reason(&k)),
            },
            AlloyError::DeserError { text, .. } => Err(node(format!(
                "not a JSON-RPC answer: {}",
                text.chars().take(200).collect::<String>()
            ))),
            other => Err(node(other.to_string())),
        }
    }

    /// The chain's id.
    pub fn chain_id(&self) -> Result<u64, RpcError> {
        if let Some(id) = self.chain_id.get() {
            return Ok(*id);
        }
        let id = self.rpc(|| self.provider.get_chain_id())?;
        Ok(*self.chain_id.get_or_init(|| id))
    }

    /// `eth_call` from the signing account at the latest block (or at
    /// `block`): the return data, or [`RpcError::Reverted`].
    pub fn call_at(
        &self,
        to: Address,
        data: Vec<u8>,
        block: Option<u64>,
    ) -> Result<Vec<u8>, RpcError> {
        let tx = TransactionRequest::default()
            .from(self.address)
            .to(to)
            .input(Bytes::from(data).into());
        let block = block.map_or(BlockNumberOrTag::Latest, BlockNumberOrTag::Number);
        Ok(self
            .rpc(|| self.provider.call(tx.clone()).block(block.into()))?
            .to_vec())
    }

    /// `eth_call` at the latest block.
    pub fn call(&self, to: Address, data: Vec<u8>) -> Result<Vec<u8>, RpcError> {
        self.call_at(to, data, None)
    }

    /// A typed call to a contract at the latest block (or at `block`).
    pub fn view<C: SolCall>(
        &self,
        to: Address,
        call: &C,
        block: Option<u64>,
    ) -> Result<C::Return, RpcError> {
        let ret = self.call_at(to, call.abi_encode(), block)?;
        C::abi_decode_returns(&ret).map_err(|e| RpcError::Node {
            url: self.url.clone(),
            message: format!(
                "{} returned {} bytes that do not decode ({e}): is {to} the contract you think?",
                C::SIGNATURE,
                ret.len()
            ),
        })
    }

    /// The latest block's number.
    pub fn block_number(&self) -> Result<u64, RpcError> {
        self.rpc(|| self.provider.get_block_number())
    }

    /// A block's timestamp, seconds.
    pub fn block_time(&self, number: u64) -> Result<u64, RpcError> {
        let block = self.rpc(|| {
            self.provider
                .get_block_by_number(BlockNumberOrTag::Number(number))
        })?;
        block
            .map(|b| b.header.timestamp)
            .ok_or_else(|| RpcError::Node {
                url: self.url.clone(),
                message: format!("no block {number}"),
            })
    }

    /// Logs matching `filter`.
    pub fn logs(&self, filter: &Filter) -> Result<Vec<Log>, RpcError> {
        self.rpc(|| self.provider.get_logs(filter))
    }

    /// Logs matching `filter` in blocks `from..=to`, in order, asked in
    /// ranges of at most [`LOG_RANGE`] blocks (public nodes cap the range
    /// of one `eth_getLogs`); a range the node refuses is halved and asked
    /// again, down to one block. With `first`, stops after the first range
    /// that holds a log.
    pub fn logs_in(
        &self,
        filter: &Filter,
        from: u64,
        to: u64,
        first: bool,
    ) -> Result<Vec<Log>, RpcError> {
        let mut out = Vec::new();
        let mut start = from;
        let mut span = LOG_RANGE;
        while start <= to {
            let end = to.min(start.saturating_add(span - 1));
            match self.logs(&filter.clone().from_block(start).to_block(end)) {
                Ok(mut logs) => {
                    out.append(&mut logs);
                    if first && !out.is_empty() {
                        break;
                    }
                    start = end + 1;
                }
                Err(RpcError::Node { .. }) if span > 1 => span /= 2,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The first block up to `latest` whose time is at least `time_s`
    /// (`latest` if none is), by bisection: about log2(latest) block reads.
    pub fn first_block_at(&self, time_s: u64, latest: u64) -> Result<u64, RpcError> {
        let (mut lo, mut hi) = (0u64, latest);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.block_time(mid)? >= time_s {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo)
    }

    /// The runtime code at `addr`.
    pub fn code(&self, addr: Address) -> Result<Vec<u8>, RpcError> {
        Ok(self.rpc(|| self.provider.get_code_at(addr))?.to_vec())
    }

    /// The number of transactions `addr` has sent (its next nonce, mined).
    pub fn transaction_count(&self, addr: Address) -> Result<u64, RpcError> {
        self.rpc(|| self.provider.get_transaction_count(addr))
    }

    /// The balance of `addr`, wei.
    pub fn balance(&self, addr: Address) -> Result<U256, RpcError> {
        self.rpc(|| self.provider.get_balance(addr))
    }

    /// Signs and sends a transaction (to `to`, or creating a contract),
    /// paying `value`, and waits for its receipt. A transaction that would
    /// revert is refused before it is signed ([`RpcError::Reverted`]).
    pub fn send(
        &self,
        to: Option<Address>,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Receipt, RpcError> {
        let tx = TransactionRequest::default()
            .from(self.address)
            .input(Bytes::from(data).into())
            .value(value);
        let tx = match to {
            Some(a) => tx.to(a),
            None => tx.into_create(),
        };
        let chain_id = self.chain_id()?;
        let hash = {
            let mut next = self.nonce.lock().unwrap_or_else(|p| p.into_inner());
            let gas = self.rpc(|| self.provider.estimate_gas(tx.clone()))?;
            let fees = self.rpc(|| self.provider.estimate_eip1559_fees())?;
            // Another process signing with the same account makes the
            // cached nonce stale: the node's "nonce too low" then drops the
            // cache, and the transaction is signed again with the node's
            // next nonce (a few times at most).
            let mut attempt = 0;
            loop {
                let nonce = match *next {
                    Some(n) => n,
                    None => {
                        self.rpc(|| self.provider.get_transaction_count(self.address).pending())?
                    }
                };
                let signed = tx
                    .clone()
                    .with_nonce(nonce)
                    .with_chain_id(chain_id)
                    .with_gas_limit(gas + gas / 5 + 10_000)
                    .with_max_fee_per_gas(fees.max_fee_per_gas)
                    .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
                let envelope: TxEnvelope = runtime()
                    .block_on(signed.build(&self.wallet))
                    .map_err(|e| RpcError::Key(format!("cannot sign: {e}")))?;
                let raw = envelope.encoded_2718();
                let hash = *envelope.tx_hash();
                match self.send_raw(&raw, hash) {
                    Ok(()) => {
                        *next = Some(nonce + 1);
                        break hash;
                    }
                    Err(RpcError::Node { message, .. }) if attempt < 3 && stale_nonce(&message) => {
                        *next = None;
                        attempt += 1;
                    }
                    Err(e) => {
                        *next = None;
                        return Err(e);
                    }
                }
            }
        };
        let receipt = self.receipt(hash)?;
        if !receipt.status() {
            // Raced by another transaction since the estimate: the reason,
            // from the same call on the state before its block.
            let block = receipt.block_number.unwrap_or(1).saturating_sub(1);
            let call = TransactionRequest::default()
                .from(self.address)
                .input(tx.input.clone())
                .value(value);
            let call = match to {
                Some(a) => call.to(a),
                None => call.into_create(),
            };
            return Err(
                match self.rpc(|| {
                    self.provider
                        .call(call.clone())
                        .block(BlockNumberOrTag::Number(block).into())
                }) {
                    Err(e @ RpcError::Reverted(_)) => e,
                    _ => RpcError::Failed(format!("{hash}")),
                },
            );
        }
        Ok(Receipt {
            hash,
            gas_used: receipt.gas_used,
            contract: receipt.contract_address,
            block: receipt.block_number.unwrap_or(0),
            logs: receipt.inner.logs().to_vec(),
        })
    }

    /// Hands a signed transaction to the node. After a lost answer the
    /// same bytes are sent again: "already known" then means it arrived.
    fn send_raw(&self, raw: &[u8], hash: B256) -> Result<(), RpcError> {
        let r = self.rpc(|| self.provider.send_raw_transaction(raw));
        match r {
            Ok(_) => Ok(()),
            Err(RpcError::Node { message, .. })
                if message.contains("already known") || message.contains("nonce too low") =>
            {
                // A retry after a lost answer: the first copy may be in.
                match self.rpc(|| self.provider.get_transaction_by_hash(hash))? {
                    Some(_) => Ok(()),
                    None => Err(RpcError::Node {
                        url: self.url.clone(),
                        message,
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Waits for a transaction's receipt.
    fn receipt(&self, hash: B256) -> Result<alloy::rpc::types::TransactionReceipt, RpcError> {
        let start = Instant::now();
        loop {
            if let Some(r) = self.rpc(|| self.provider.get_transaction_receipt(hash))? {
                return Ok(r);
            }
            if start.elapsed() > Duration::from_secs(120) {
                return Err(RpcError::Node {
                    url: self.url.clone(),
                    message: format!("transaction {hash} not mined after 120 s"),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Creates a contract with creation code `init`; returns its address
    /// and the receipt. A refusal reports the constructor's revert data.
    pub fn create(&self, init: Vec<u8>) -> Result<(Address, Receipt), RpcError> {
        let r = self.send(None, init, U256::ZERO)?;
        let addr = r.contract.ok_or_else(|| RpcError::Node {
            url: self.url.clone(),
            message: "no contract address in the receipt".into(),
        })?;
        Ok((addr, r))
    }

    /// Deploys the microcode's data contract (code: a `STOP` byte, then
    /// the zero-subtree table and the microcode words), then the
    /// `StepVerifier` reading it, as `contracts/test/Deploy.sol` does;
    /// returns the verifier's address and the gas of both. The verifier's
    /// constructor checks the data against the microcode root it was
    /// compiled with: its refusal comes back as [`RpcError::Reverted`]
    /// (`MicrocodeMismatch`, ...).
    pub fn deploy_verifier(&self) -> Result<(Address, u64), RpcError> {
        let (data, r1) = self.create(data_init_code())?;
        let (verifier, r2) = self.create(verifier_init_code(data))?;
        Ok((verifier, r1.gas_used + r2.gas_used))
    }

    /// Deploys a `DisputeGame` over `verifier` with `policy`; returns its
    /// address and the receipt.
    pub fn deploy_game(
        &self,
        verifier: Address,
        policy: &GamePolicy,
    ) -> Result<(Address, Receipt), RpcError> {
        self.create(game_init_code(verifier, policy))
    }

    /// `step(rootBefore, proof)` of the verifier at `verifier`, by
    /// `eth_call`: the root after, or the revert data of the contract's error.
    pub fn verify(
        &self,
        verifier: Address,
        root_before: &Hash,
        proof: &[u8],
    ) -> Result<Result<Hash, Vec<u8>>, RpcError> {
        match self.view(
            verifier,
            &IStepVerifier::stepCall {
                rootBefore: root_before.0.into(),
                proof: proof.to_vec().into(),
            },
            None,
        ) {
            Ok(h) => Ok(Ok(Hash(h.0))),
            Err(RpcError::Reverted(data)) => Ok(Err(data)),
            Err(e) => Err(e),
        }
    }

    /// Checks that `verifier` is a `StepVerifier` carrying this build's
    /// microcode.
    pub fn check_verifier(&self, verifier: Address) -> Result<(), String> {
        if self.code(verifier).map_err(|e| e.to_string())?.is_empty() {
            return Err(format!("there is no contract at {verifier}"));
        }
        let root = self
            .view(verifier, &StepVerifier::microcodeRootCall {}, None)
            .map_err(|e| format!("{verifier} is not a StepVerifier of this build: {e}"))?;
        let want = crate::verify::MICROCODE_ROOT;
        if root.0 != want.0 {
            return Err(format!(
                "the verifier at {verifier} carries microcode 0x{}, this build's is 0x{want}: not a contract of this build",
                hex::encode(root.0)
            ));
        }
        Ok(())
    }
}

/// A transport failure in words: the innermost cause (reqwest's own
/// message is "error sending request for url (...)"; its source says why).
fn transport_reason(k: &TransportErrorKind) -> String {
    let mut e: &dyn std::error::Error = k;
    while let Some(inner) = e.source() {
        e = inner;
    }
    e.to_string()
}

/// The deployment policy of a `DisputeGame`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GamePolicy {
    /// Each side's clock before the re-execution allowance, seconds.
    pub clock_seconds: u64,
    /// The challenge window before the re-execution allowance, seconds.
    pub window_seconds: u64,
    /// Re-executions of `2^b` steps each clock and window allow.
    pub margin: u64,
    /// The slowest re-execution allowed for, steps per second.
    pub min_speed: u64,
    /// The largest `b` a claim may have.
    pub max_b: u8,
    /// The defender's bond per claim, wei.
    pub claim_bond: U256,
    /// A challenger's bond per dispute, wei.
    pub challenge_bond: U256,
}

/// The calldata of `claim(program, image, input, finalRoot, b, levels)`:
/// a claim on the program named `program` with the witness of `image`
/// (its memory, registers and words; the contract derives `root(S_0)`
/// from them and the input).
pub fn claim_calldata(
    program: &Hash,
    image: &crate::state::initial::Image,
    input: &[u8],
    final_root: &Hash,
    b: u8,
    levels: &[u8],
) -> Vec<u8> {
    DisputeGame::claimCall {
        program: program.0.into(),
        image: [
            image.mem.0.into(),
            image.regs.0.into(),
            image.words.0.into(),
        ],
        input: input.to_vec().into(),
        finalRoot: final_root.0.into(),
        b,
        levels: levels.to_vec().into(),
    }
    .abi_encode()
}

/// The calldata of `step(bytes32 rootBefore, bytes proof)`.
pub fn step_calldata(root_before: &Hash, proof: &[u8]) -> Vec<u8> {
    IStepVerifier::stepCall {
        rootBefore: root_before.0.into(),
        proof: proof.to_vec().into(),
    }
    .abi_encode()
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

/// The creation code of a `StepVerifier` reading the data contract at `data`.
pub fn verifier_init_code(data: Address) -> Vec<u8> {
    let mut init = step_verifier_bytecode();
    init.extend_from_slice(&StepVerifier::constructorCall { data }.abi_encode());
    init
}

/// The creation code of a `DisputeGame` over `verifier` with `policy`.
pub fn game_init_code(verifier: Address, policy: &GamePolicy) -> Vec<u8> {
    let mut init = dispute_game_bytecode();
    init.extend_from_slice(
        &DisputeGame::constructorCall {
            verifier_: verifier,
            clockSeconds_: policy.clock_seconds,
            windowSeconds_: policy.window_seconds,
            margin_: policy.margin,
            minSpeed_: policy.min_speed,
            maxB_: policy.max_b,
            claimBond_: policy.claim_bond,
            challengeBond_: policy.challenge_bond,
        }
        .abi_encode(),
    );
    init
}

/// Parses a contract address (`0x` and 40 hex digits).
pub fn parse_address(what: &str, s: &str) -> Result<Address, String> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if h.len() != 40 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{what}: {s:?} is not an address (0x and 40 hex digits)"
        ));
    }
    s.parse::<Address>()
        .map_err(|e| format!("{what}: {s:?} is not an address: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    /// The block ranges a test node was asked.
    type Asked = std::sync::Arc<Mutex<Vec<(u64, u64)>>>;

    /// A node that answers `eth_getLogs` over at most `cap` blocks (one
    /// log per asked range that holds block `log_at`) and refuses wider
    /// ranges, as public nodes do, and `eth_getBlockByNumber` with block
    /// `n`'s time `10 * n`. Returns its URL and the ranges it was asked.
    fn capped_node(cap: u64, log_at: u64) -> (String, Asked) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let asked = std::sync::Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut r = BufReader::new(conn.try_clone().expect("clone"));
                    let mut w = conn;
                    loop {
                        let mut len = 0usize;
                        loop {
                            let mut line = String::new();
                            if r.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let l = line.to_ascii_lowercase();
                            if let Some(v) = l.strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; len];
                        if r.read_exact(&mut body).is_err() {
                            return;
                        }
                        let req: serde_json::Value =
                            serde_json::from_slice(&body).expect("JSON-RPC");
                        let num = |v: &serde_json::Value| {
                            u64::from_str_radix(
                                v.as_str().unwrap_or("0x0").trim_start_matches("0x"),
                                16,
                            )
                            .unwrap_or(0)
                        };
                        let answer = match req["method"].as_str() {
                            Some("eth_getLogs") => {
                                let (from, to) = (
                                    num(&req["params"][0]["fromBlock"]),
                                    num(&req["params"][0]["toBlock"]),
                                );
                                seen.lock().expect("lock").push((from, to));
                                if to - from + 1 > cap {
                                    serde_json::json!({"error": {"code": -32005, "message": format!("query exceeds max block range {cap}")}})
                                } else if (from..=to).contains(&log_at) {
                                    let n = format!("{log_at:#x}");
                                    serde_json::json!({"result": [{
                                        "address": "0x0000000000000000000000000000000000000001",
                                        "topics": [], "data": "0x", "blockNumber": n,
                                        "transactionHash": format!("0x{}", "11".repeat(32)),
                                        "transactionIndex": "0x0", "blockHash": format!("0x{}", "22".repeat(32)),
                                        "logIndex": "0x0", "removed": false
                                    }]})
                                } else {
                                    serde_json::json!({"result": []})
                                }
                            }
                            Some("eth_getBlockByNumber") => {
                                let n = num(&req["params"][0]);
                                let mut block = serde_json::json!({
                                    "hash": format!("0x{}", "22".repeat(32)),
                                    "parentHash": format!("0x{}", "00".repeat(32)),
                                    "sha3Uncles": format!("0x{}", "00".repeat(32)),
                                    "miner": "0x0000000000000000000000000000000000000000",
                                    "stateRoot": format!("0x{}", "00".repeat(32)),
                                    "transactionsRoot": format!("0x{}", "00".repeat(32)),
                                    "receiptsRoot": format!("0x{}", "00".repeat(32)),
                                    "logsBloom": format!("0x{}", "00".repeat(256)),
                                    "difficulty": "0x0", "number": format!("{n:#x}"),
                                    "gasLimit": "0x0", "gasUsed": "0x0",
                                    "timestamp": format!("{:#x}", 10 * n),
                                    "extraData": "0x", "mixHash": format!("0x{}", "00".repeat(32)),
                                    "nonce": "0x0000000000000000", "baseFeePerGas": "0x0",
                                    "uncles": [], "transactions": [], "size": "0x0"
                                });
                                block["totalDifficulty"] = "0x0".into();
                                serde_json::json!({"result": block})
                            }
                            other => panic!("unexpected method {other:?}"),
                        };
                        let mut answer = answer;
                        answer["jsonrpc"] = "2.0".into();
                        answer["id"] = req["id"].clone();
                        let text = answer.to_string();
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            text.len()
                        );
                        if w.write_all(head.as_bytes())
                            .and_then(|_| w.write_all(text.as_bytes()))
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        (url, asked)
    }

    #[test]
    fn logs_are_asked_in_ranges_the_node_takes() {
        // A node capped at 1,000 blocks: ranges of LOG_RANGE are refused
        // and halved until taken; every block of 0..=23,456 is asked once.
        let (url, asked) = capped_node(1_000, 20_000);
        let chain = Chain::connect(&url, &Key::Dev(0)).expect("connect");
        let logs = chain
            .logs_in(&Filter::new(), 0, 23_456, false)
            .expect("logs");
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].block_number, Some(20_000));
        let asked = asked.lock().expect("lock").clone();
        let taken: Vec<_> = asked.iter().filter(|(f, t)| t - f < 1_000).collect();
        assert!(
            asked.iter().any(|(f, t)| t - f + 1 == LOG_RANGE),
            "{asked:?}"
        );
        let mut next = 0;
        for (f, t) in &taken {
            assert_eq!(*f, next, "{asked:?}");
            next = t + 1;
        }
        assert_eq!(next, 23_457);
        // With `first`, it stops at the range holding the log.
        let first = chain
            .logs_in(&Filter::new(), 19_000, 23_456, true)
            .expect("logs");
        assert_eq!(first.len(), 1);
    }

    #[test]
    fn the_block_of_a_time_is_found_by_bisection() {
        let (url, _) = capped_node(1_000, u64::MAX);
        let chain = Chain::connect(&url, &Key::Dev(0)).expect("connect");
        // Block n has time 10 n.
        assert_eq!(
            chain.first_block_at(12_345, 100_000).expect("search"),
            1_235
        );
        assert_eq!(
            chain.first_block_at(12_340, 100_000).expect("search"),
            1_234
        );
        assert_eq!(chain.first_block_at(0, 100_000).expect("search"), 0);
        assert_eq!(
            chain.first_block_at(u64::MAX, 100_000).expect("search"),
            100_000
        );
    }

    #[test]
    fn keys_are_checked_and_never_echoed() {
        // Anvil's account 0.
        let a = Key::Dev(0).signer().expect("dev key").address();
        assert_eq!(
            format!("{a:#x}"),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        let same = Key::Hex(format!("0x{}", DEV_KEYS[0]))
            .signer()
            .expect("hex key");
        assert_eq!(same.address(), a);
        for bad in ["12ab", &"zz".repeat(32), &"00".repeat(32), &"ab".repeat(33)] {
            let e = Key::Hex(bad.to_string())
                .signer()
                .expect_err(bad)
                .to_string();
            assert!(e.starts_with("bad private key"), "{e}");
            assert!(!e.contains(bad), "the key is echoed: {e}");
        }
        assert!(Key::Dev(10).signer().is_err());
        assert_eq!(format!("{:?}", Key::Hex("secret".into())), "Hex(<hidden>)");
    }

    #[test]
    fn urls_and_addresses_are_checked_before_any_request() {
        assert!(check_url("http://127.0.0.1:8545").is_ok());
        assert!(check_url("https://node.example/rpc/key").is_ok());
        for bad in [
            "127.0.0.1:8545",
            "ftp://x",
            "http://",
            "http://u:p@host:1",
            "",
        ] {
            assert!(
                matches!(check_url(bad), Err(RpcError::Url { .. })),
                "{bad} accepted"
            );
        }
        assert!(parse_address("--contract", "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0").is_ok());
        for bad in ["0x1234", "9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0zz", ""] {
            let e = parse_address("--contract", bad).expect_err(bad);
            assert!(e.contains("is not an address"), "{e}");
        }
    }
}
