//! [`ChainReferee`]: the game's
//! [`RefereeApi`](crate::players::client::RefereeApi) against a
//! `DisputeGame` contract, so that the players of `src/players/client.rs`
//! (one loop, one set of strategies, lies and transcripts) play on a chain
//! as they play over HTTP. Here the referee itself, its policy and its
//! transactions; `claims.rs` the claims, the disputes' openings and the
//! bonds; `rebuild.rs` a dispute rebuilt from the logs and its view;
//! `api.rs` the [`RefereeApi`](crate::players::client::RefereeApi) itself.
//!
//! - **Ids.** A claim's id is the contract's claim number in decimal; a
//!   dispute's number is 1-based within its claim, as at the HTTP referee
//!   (`k + 1` for the contract's `disputeOf(id, k)` and `Challenged.index`).
//! - **The game a player sees is rebuilt from the contract's event logs**
//!   (`ClaimMade`, `Challenged`, `Dissected`, `Picked`,
//!   `Proved` with its proof's bytes, `TimedOut`): each move is replayed
//!   with the Rust rules ([`DisputeState::apply`](crate::rules::DisputeState::apply)) at its block's timestamp in
//!   milliseconds (clocks are the contract's `clockSeconds * 1000`), and
//!   the result is checked against the contract's own `getDispute` at the
//!   same block. A difference is a [`ClientError::Protocol`] naming the
//!   field: the contract and the Rust rules must agree. While the
//!   contract's record still matches the last rebuild, that rebuild serves
//!   (a poll reads one `getDispute`, not the dispute's logs).
//! - **Joining.** The contract's `challenge(id, root)` opens a dispute and
//!   makes the challenge move at once, but [`RefereeApi::join`](crate::players::client::RefereeApi::join) cannot know
//!   the challenger's root. So `join` hands out a *pending* dispute, local
//!   to this referee: its view is the claim's game in [`Phase::Open`](crate::rules::Phase::Open) until
//!   the player sends its [`Move::Challenge`](crate::rules::Move::Challenge), which sends `challenge` with
//!   the bond; from then on the pending number maps to the real dispute
//!   (the number `join` gave is the claim's next dispute number when it
//!   was asked; the real one may differ if another challenger came first,
//!   and the views and transcripts say the real one).
//! - **Long-polls** poll the node every [`POLL`] up to `wait_ms`.
//! - **Time.** A side whose opponent's clock has run out (by the latest
//!   block's time, or the wall clock where it is later: a dev node mines
//!   only on transactions) sends `timeout(d)` itself; the side whose clock
//!   ran out sends it too after [`GRACE_MS`], so that a game always ends.
//!   A claim whose window has closed with no undecided dispute is settled
//!   with `resolve(id)` by its defender's client.
//! - **Refusals.** A reverted move comes back as [`ClientError::Refused`]
//!   with the contract's custom error and its arguments in words; nothing
//!   is paid for it (transactions are estimated before they are signed).
//! - **Programs.** The contract names a claim's program by its image root
//!   (and derives `root(S_0)` from it and the input's bytes, which its
//!   `ClaimMade` carries). A player that plays a program of that image
//!   ([`ChainReferee::set_program`]) sees the claim's `program` as its ELF's
//!   hash, as at the HTTP referee; any other player sees the image root,
//!   which differs from its program's hash.
//! - **Transcripts.** [`RefereeApi::transcript`](crate::players::client::RefereeApi::transcript) builds the transcript the
//!   HTTP referee gives; the chain does not hold the program's bytes, so the
//!   bytes are the player's own ([`ChainReferee::set_program`], or the
//!   claim's when this referee made it).
//! - **Gas.** Every transaction the player sends is in [`ChainReferee::gas_log`]
//!   (and told to [`ChainReferee::on_tx`] as it is mined).

use super::bindings::DisputeGame;
use super::rpc::{Chain, RpcError};
use crate::hash::Hash;
use crate::players::client::ClientError;
use crate::players::wire::ClaimStatus;
use crate::rules::claim::Claim;
use crate::rules::levels::{Level, LevelKind};
use crate::rules::transcript::Record;
use crate::rules::{DisputeState, Side};
use alloy::primitives::{Address, B256, U256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod api;
mod claims;
mod rebuild;

/// How often a long-poll asks the node.
pub const POLL: Duration = Duration::from_millis(200);
/// How long after its own clock ran out a side sends the timeout itself.
pub const GRACE_MS: u64 = 3_000;
/// How long a player waits for the next claim to be made when it asks for
/// it before its defender has made it (less with `--connect-timeout`).
pub const CLAIM_WAIT: Duration = Duration::from_secs(60);

/// What a referee tells about each transaction it sends.
pub type OnTx = Box<dyn Fn(&GasEntry) + Send + Sync>;

/// One transaction the player sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GasEntry {
    /// The claim.
    pub claim: String,
    /// The dispute number the caller used, for a move.
    pub dispute: Option<u64>,
    /// The move number the move was sent at, for a move.
    pub seq: Option<u64>,
    /// What it was: `claim`, `challenge`, `dissect`, `pick`, ..., `timeout`, `resolve`, `withdraw`.
    pub what: String,
    /// Gas used.
    pub gas: u64,
    /// The transaction's hash.
    pub tx: B256,
}

/// The contract's deployment policy, as read from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractPolicy {
    /// The step verifier.
    pub verifier: Address,
    /// Each side's clock before the re-execution allowance, seconds.
    pub clock_seconds: u64,
    /// The challenge window before the re-execution allowance, seconds.
    pub window_seconds: u64,
    /// Re-executions of `2^b` steps each clock and window allow.
    pub margin: u64,
    /// The slowest re-execution allowed for, steps per second.
    pub min_speed: u64,
    /// The largest `b`.
    pub max_b: u8,
    /// The defender's bond, wei.
    pub claim_bond: U256,
    /// A challenger's bond, wei.
    pub challenge_bond: U256,
}

impl ContractPolicy {
    /// The rules of time, as `verify/src/rules/policy.rs` states them.
    pub fn limits(&self) -> crate::rules::policy::ChainPolicy {
        crate::rules::policy::ChainPolicy {
            clock_base: self.clock_seconds,
            window_base: self.window_seconds,
            margin: self.margin,
            min_speed: self.min_speed,
            max_b: u32::from(self.max_b),
        }
    }

    /// Each side's clock in a dispute of a claim over `2^b` steps, ms
    /// (the contract's `clockFor(b)`, seconds, in ms).
    pub fn clock_ms(&self, b: u32) -> u64 {
        self.limits().clock(b).saturating_mul(1000)
    }

    /// The challenge window of a claim over `2^b` steps, seconds (`windowFor(b)`).
    pub fn window_s(&self, b: u32) -> u64 {
        self.limits().window(b)
    }
}

/// A claim as the contract holds it.
#[derive(Clone, Debug)]
struct ClaimMeta {
    claim: Claim,
    levels: Vec<Level>,
    initial_root: Hash,
    defender: Address,
    created_s: u64,
    /// The block of its `ClaimMade`.
    block: u64,
}

/// A dispute's opening (its `Challenged` log).
#[derive(Clone, Debug)]
struct Opening {
    /// Global id.
    d: u64,
    /// 0-based number within the claim.
    k: u64,
    challenger: Address,
    root: Hash,
    block: u64,
    time_s: u64,
}

/// A dispute handed out by `join` (see the module's notes).
#[derive(Clone, Debug)]
enum Pending {
    /// Not challenged yet.
    Open,
    /// Challenged: the real dispute.
    Real(u64),
    /// The contract refused the challenge.
    Failed(String),
}

/// A dispute rebuilt from the logs.
#[derive(Clone)]
struct Rebuilt {
    game: DisputeState,
    records: Vec<Record>,
    opening: Opening,
    meta: ClaimMeta,
    /// Seconds, by the latest block or the wall clock.
    now_s: u64,
}

/// The game's referee on a chain: a `DisputeGame` contract, reached with
/// the player's own key.
pub struct ChainReferee {
    chain: Chain,
    contract: Address,
    policy: ContractPolicy,
    own: Mutex<Option<(Vec<u8>, Vec<u8>)>>,
    pending: Mutex<HashMap<(u64, u64), Pending>>,
    claims: Mutex<HashMap<u64, ClaimMeta>>,
    openings: Mutex<HashMap<u64, Opening>>,
    block_times: Mutex<HashMap<u64, u64>>,
    /// The last rebuild of each dispute (by its global id): reused while
    /// the contract's record still matches it, so that a long-poll reads
    /// one `getDispute` a round instead of every log of the dispute.
    rebuilt: Mutex<HashMap<u64, Rebuilt>>,
    gas: Mutex<Vec<GasEntry>>,
    sent_bytes: AtomicU64,
    /// Told about each transaction as it is mined.
    pub on_tx: Option<OnTx>,
}

fn rpc_err(e: RpcError) -> ClientError {
    match e {
        RpcError::Url { url, reason } => ClientError::Url { url, reason },
        RpcError::Unreachable { url, reason } => ClientError::Unreachable { url, reason },
        RpcError::Reverted(_) => ClientError::Refused {
            status: 400,
            reason: format!("the contract refuses: {e}"),
        },
        other => ClientError::Protocol(other.to_string()),
    }
}

fn refused(status: u16, reason: impl Into<String>) -> ClientError {
    ClientError::Refused {
        status,
        reason: reason.into(),
    }
}

fn small(x: U256) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

fn side_of(x: u8) -> Side {
    if x == 0 {
        Side::Defender
    } else {
        Side::Challenger
    }
}

/// The chain's default fan-out, of every level: the whole game's gas is
/// the smallest at `b` = 20, 30 and 40 among k = 2, 4, 8, 16, 32
/// (`cargo bench --bench gas`; contracts/README.md, "k-ary bisection":
/// 1.19M at `b` = 20, 1.69M at 40). The HTTP referee's defaults
/// ([`crate::rules::levels::default_levels`]) count rounds and bytes instead.
pub const CHAIN_FAN: u32 = 32;

/// The chain's default levels for `b`: `[steps b, micro a]`, both of
/// fan-out [`CHAIN_FAN`].
pub fn chain_levels(b: u32) -> Vec<Level> {
    crate::rules::levels::kary_levels(b, CHAIN_FAN, CHAIN_FAN)
}

/// The contract's encoding of a level list: two bytes each, byte 0 bit 7
/// for a micro level, bits 0..6 its log2, byte 1 the log2 of its fan-out
/// `k` (a fan-out the rules accept is a power of two: `validate` refuses
/// the others before a claim is sent).
pub fn level_bytes(levels: &[Level]) -> Vec<u8> {
    levels
        .iter()
        .flat_map(|l| {
            [
                l.log2 as u8 | if l.kind == LevelKind::Micro { 0x80 } else { 0 },
                l.k.max(1).ilog2() as u8,
            ]
        })
        .collect()
}

/// The level list of the contract's encoding (of a claim the contract
/// took: two bytes a level, each fan-out byte from 1 to log2 `MAX_FAN`).
pub fn levels_of(bytes: &[u8]) -> Vec<Level> {
    bytes
        .chunks(2)
        .map(|b| Level {
            kind: if b[0] & 0x80 != 0 {
                LevelKind::Micro
            } else {
                LevelKind::Steps
            },
            log2: u32::from(b[0] & 0x7f),
            k: 1u32
                .checked_shl(u32::from(b.get(1).copied().unwrap_or(1)))
                .unwrap_or(0),
        })
        .collect()
}

fn parse_id(id: &str) -> Result<u64, ClientError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.len() > 19 {
        return Err(refused(
            404,
            format!("no claim {id:?}: claims on chain are numbered 0, 1, 2, ..."),
        ));
    }
    id.parse()
        .map_err(|_| refused(404, format!("no claim {id:?}")))
}

/// The value behind `m`, locked: a panic while another thread held it
/// leaves caches and logs that are still whole, so a poisoned lock is
/// taken all the same.
pub(super) fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn wall_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ChainReferee {
    /// The game's logs of the events `sigs` whose first topic is `id` (a
    /// claim's or a dispute's), from block `from` to `to`; with `first`,
    /// only those of the first block that holds any.
    pub(super) fn game_logs(
        &self,
        sigs: impl Into<alloy::rpc::types::Topic>,
        id: u64,
        from: u64,
        to: u64,
        first: bool,
    ) -> Result<Vec<alloy::rpc::types::Log>, ClientError> {
        let filter = alloy::rpc::types::Filter::new()
            .address(self.contract)
            .event_signature(sigs)
            .topic1(U256::from(id));
        self.chain
            .logs_in(&filter, from, to, first)
            .map_err(rpc_err)
    }

    /// The referee of the `DisputeGame` at `contract`, reached through
    /// `chain`: checks that it is a contract of this build (its verifier
    /// carries this build's microcode) and reads its policy. No contract
    /// there, or another one, is a [`ClientError::Refused`].
    pub fn connect(chain: Chain, contract: Address) -> Result<ChainReferee, ClientError> {
        // Our contracts only, checked before anything is sent.
        let checked = super::canonical::check_game(&chain, contract).map_err(|e| match e {
            super::canonical::CanonicalError::Rpc(e) => rpc_err(e),
            other => refused(
                404,
                format!(
                    "refusing the game at {contract} on {}: {other}",
                    chain.url()
                ),
            ),
        })?;
        let not_ours = |e: RpcError| rpc_err(e);
        let l = checked.policy;
        let policy = ContractPolicy {
            verifier: checked.verifier,
            clock_seconds: l.clock_base,
            window_seconds: l.window_base,
            margin: l.margin,
            min_speed: l.min_speed,
            max_b: l.max_b as u8,
            claim_bond: chain
                .view(contract, &DisputeGame::claimBondCall {}, None)
                .map_err(not_ours)?,
            challenge_bond: chain
                .view(contract, &DisputeGame::challengeBondCall {}, None)
                .map_err(not_ours)?,
        };
        Ok(ChainReferee {
            chain,
            contract,
            policy,
            own: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashMap::new()),
            openings: Mutex::new(HashMap::new()),
            rebuilt: Mutex::new(HashMap::new()),
            block_times: Mutex::new(HashMap::new()),
            gas: Mutex::new(Vec::new()),
            sent_bytes: AtomicU64::new(0),
            on_tx: None,
        })
    }

    /// The program and input the player plays (the chain holds the
    /// program's image root, not its bytes): transcripts carry them.
    pub fn set_program(&self, elf: Vec<u8>, input: Vec<u8>) {
        *locked(&self.own) = Some((elf, input));
        // A claim's program as this player sees it depends on the program
        // (see the module's notes): claims read before are read again.
        locked(&self.claims).clear();
        locked(&self.rebuilt).clear();
    }

    /// The contract's policy.
    pub fn policy(&self) -> &ContractPolicy {
        &self.policy
    }

    /// The contract's address.
    pub fn contract(&self) -> Address {
        self.contract
    }

    /// The node and the signing account.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Every transaction sent so far.
    pub fn gas_log(&self) -> Vec<GasEntry> {
        locked(&self.gas).clone()
    }

    /// Gas of every transaction sent so far.
    pub fn total_gas(&self) -> u64 {
        self.gas_log().iter().map(|e| e.gas).sum()
    }

    /// The gas of the move sent in dispute `dispute` at move number `seq`.
    pub fn gas_of(&self, dispute: u64, seq: u64) -> Option<u64> {
        locked(&self.gas)
            .iter()
            .find(|e| e.dispute == Some(dispute) && e.seq == Some(seq))
            .map(|e| e.gas)
    }

    /// Sends a transaction to the contract and logs its gas.
    fn transact(
        &self,
        data: Vec<u8>,
        value: U256,
        entry: (String, Option<u64>, Option<u64>, &str),
    ) -> Result<super::rpc::Receipt, RpcError> {
        let len = data.len() as u64;
        let r = self.chain.send(Some(self.contract), data, value)?;
        self.sent_bytes.fetch_add(len, Ordering::Relaxed);
        let e = GasEntry {
            claim: entry.0,
            dispute: entry.1,
            seq: entry.2,
            what: entry.3.to_string(),
            gas: r.gas_used,
            tx: r.hash,
        };
        if let Some(tell) = &self.on_tx {
            tell(&e);
        }
        locked(&self.gas).push(e);
        Ok(r)
    }
}

fn status_of(s: u8) -> ClaimStatus {
    match s {
        2 => ClaimStatus::Stands,
        3 => ClaimStatus::Refuted,
        _ => ClaimStatus::Open,
    }
}
