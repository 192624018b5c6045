//! [`ChainReferee`]: the game's [`RefereeApi`] against a `DisputeGame`
//! contract, so that the players of `src/players/client.rs` (one loop, one
//! set of strategies, lies and transcripts) play on a chain as they play
//! over HTTP.
//!
//! - **Ids.** A claim's id is the contract's claim number in decimal; a
//!   dispute's number is 1-based within its claim, as at the HTTP referee
//!   (`k + 1` for the contract's `disputeOf(id, k)` and `Challenged.index`).
//! - **The game a player sees is rebuilt from the contract's event logs**
//!   (`ClaimMade`, `Challenged`, `Midpoint`, `Agreed`, `Disagreed`,
//!   `Proved` with its proof's bytes, `TimedOut`): each move is replayed
//!   with the Rust rules ([`Game::apply`]) at its block's timestamp in
//!   milliseconds (clocks are the contract's `clockSeconds * 1000`), and
//!   the result is checked against the contract's own `getDispute` at the
//!   same block. A difference is a [`ClientError::Protocol`] naming the
//!   field: the contract and the Rust rules must agree. While the
//!   contract's record still matches the last rebuild, that rebuild serves
//!   (a poll reads one `getDispute`, not the dispute's logs).
//! - **Joining.** The contract's `challenge(id, root)` opens a dispute and
//!   makes the challenge move at once, but [`RefereeApi::join`] cannot know
//!   the challenger's root. So `join` hands out a *pending* dispute, local
//!   to this referee: its view is the claim's game in [`Phase::Open`] until
//!   the player sends its [`Move::Challenge`], which sends `challenge` with
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
//! - **Transcripts.** [`RefereeApi::transcript`] builds the transcript the
//!   HTTP referee gives; the chain does not hold the program's bytes, so the
//!   bytes are the player's own ([`ChainReferee::set_program`], or the
//!   claim's when this referee made it).
//! - **Gas.** Every transaction the player sends is in [`ChainReferee::gas_log`]
//!   (and told to [`ChainReferee::on_tx`] as it is mined).

use super::bindings::DisputeGame;
use super::rpc::{Chain, RpcError};
use crate::hash::Hash;
use crate::players::client::{ClientError, RefereeApi};
use crate::players::wire::{
    ClaimStatus, ClaimView, Clocks, CreateGame, Created, DisputeSummary, Joined, MoveRequest, View,
};
use crate::proof::binary;
use crate::rules::claim::Claim;
use crate::rules::levels::{Level, LevelKind, two_levels};
use crate::rules::transcript::{Record, TRANSCRIPT_TYPE, Transcript};
use crate::rules::{Game, Move, Outcome, Phase, Side};
use crate::state::initial::Image;
use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a long-poll asks the node.
pub const POLL: Duration = Duration::from_millis(200);
/// How long after its own clock ran out a side sends the timeout itself.
pub const GRACE_MS: u64 = 3_000;
/// The most recent moves a view carries (as the HTTP referee's).
const MAX_RECENT: usize = 16;
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
    /// What it was: `claim`, `challenge`, `midpoint`, ..., `timeout`, `resolve`, `withdraw`.
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
    /// The rules of time, as `src/rules/policy.rs` states them.
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
    game: Game,
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

/// The contract's encoding of a level list: one byte each, bit 7 for a
/// micro level, bits 0..6 its log2.
pub fn level_bytes(levels: &[Level]) -> Vec<u8> {
    levels
        .iter()
        .map(|l| l.log2 as u8 | if l.kind == LevelKind::Micro { 0x80 } else { 0 })
        .collect()
}

/// The level list of the contract's encoding.
pub fn levels_of(bytes: &[u8]) -> Vec<Level> {
    bytes
        .iter()
        .map(|b| Level {
            kind: if b & 0x80 != 0 {
                LevelKind::Micro
            } else {
                LevelKind::Steps
            },
            log2: u32::from(b & 0x7f),
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

fn wall_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ChainReferee {
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
        *self.own.lock().unwrap_or_else(|p| p.into_inner()) = Some((elf, input));
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
        self.gas.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Gas of every transaction sent so far.
    pub fn total_gas(&self) -> u64 {
        self.gas_log().iter().map(|e| e.gas).sum()
    }

    /// The gas of the move sent in dispute `dispute` at move number `seq`.
    pub fn gas_of(&self, dispute: u64, seq: u64) -> Option<u64> {
        self.gas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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
        self.gas.lock().unwrap_or_else(|p| p.into_inner()).push(e);
        Ok(r)
    }

    /// What `credit(a)` says this account may withdraw, wei.
    pub fn credit(&self, who: Address) -> Result<U256, ClientError> {
        self.chain
            .view(
                self.contract,
                &<DisputeGame::creditCall as alloy::sol_types::SolCall>::new((who,)),
                None,
            )
            .map_err(rpc_err)
    }

    /// Collects this account's shares of the claim bond of claim `claim`
    /// (one per dispute of its that refuted the claim): the contract pays
    /// them once the window has closed and every dispute is decided, so
    /// this waits for that, sending `timeout` to any dispute whose side on
    /// turn has run out of time (a stalled dispute cannot hold the shares
    /// back). Returns the number of shares collected; nothing is done for a
    /// claim that has not fallen or that this account did not refute.
    pub fn collect(&self, claim: &str) -> Result<u64, ClientError> {
        use alloy::sol_types::SolCall;
        let cid = parse_id(claim)?;
        let meta = self.meta(cid)?;
        let me = self.chain.address();
        loop {
            let c = self.get_claim(cid)?;
            if c.status != 3 {
                return Ok(0);
            }
            let block = self.chain.block_number().map_err(rpc_err)?;
            let mut mine = Vec::new();
            let mut stalled = Vec::new();
            for o in self.openings(cid, &meta, block)? {
                let g = self
                    .chain
                    .view(
                        self.contract,
                        &DisputeGame::getDisputeCall { d: U256::from(o.d) },
                        Some(block),
                    )
                    .map_err(rpc_err)?;
                if g.phase == 2 {
                    if g.winner == 1 && o.challenger == me {
                        mine.push(o.d);
                    }
                    continue;
                }
                // By our time (a dev node's latest block may be old).
                let clock = g.clock[usize::from(g.turn & 1)];
                if g.turnSince.saturating_add(clock) <= self.now_s(block)? {
                    stalled.push(o.d);
                }
            }
            if mine.is_empty() {
                return Ok(0);
            }
            let ends = meta.created_s + self.policy.window_s(meta.claim.b);
            if c.undecided == 0 && self.now_s(block)? >= ends {
                let mut n = 0;
                for d in mine {
                    let data = DisputeGame::collectCall { d: U256::from(d) }.abi_encode();
                    match self.transact(
                        data,
                        U256::ZERO,
                        (claim.to_string(), None, None, "collect"),
                    ) {
                        Ok(_) => n += 1,
                        // Collected already (NoShare), or the node's clock
                        // is behind ours (WindowOpen): asked again below.
                        Err(RpcError::Reverted(d)) => {
                            let why = super::bindings::describe_revert(&d);
                            if !why.starts_with("NoShare") {
                                std::thread::sleep(POLL);
                                return self.collect(claim).map(|k| k + n);
                            }
                        }
                        Err(e) => return Err(rpc_err(e)),
                    }
                }
                return Ok(n);
            }
            for d in stalled {
                let data = DisputeGame::timeoutCall { d: U256::from(d) }.abi_encode();
                match self.transact(data, U256::ZERO, (claim.to_string(), None, None, "timeout")) {
                    // Someone else ended it first, or the node's time lags.
                    Ok(_) | Err(RpcError::Reverted(_)) => {}
                    Err(e) => return Err(rpc_err(e)),
                }
            }
            std::thread::sleep(POLL * 5);
        }
    }

    /// Withdraws this account's credit (nothing is sent when it is 0),
    /// after collecting its shares of the claim bond of `claim`
    /// ([`ChainReferee::collect`]); returns the amount, wei.
    pub fn withdraw(&self, claim: &str) -> Result<U256, ClientError> {
        self.collect(claim)?;
        let amount = self.credit(self.chain.address())?;
        if amount.is_zero() {
            return Ok(amount);
        }
        use alloy::sol_types::SolCall;
        self.transact(
            DisputeGame::withdrawCall {}.abi_encode(),
            U256::ZERO,
            (claim.to_string(), None, None, "withdraw"),
        )
        .map_err(rpc_err)?;
        Ok(amount)
    }

    /// The input's bytes of claim `id`, from its `ClaimMade` log (checked
    /// against the input hash in the same log): with the program, all a
    /// challenger needs to rebuild the run.
    pub fn claim_input(&self, id: &str) -> Result<Vec<u8>, ClientError> {
        let cid = parse_id(id)?;
        let m = self.meta(cid)?;
        let logs = self
            .chain
            .logs_in(
                &Filter::new()
                    .address(self.contract)
                    .event_signature(DisputeGame::ClaimMade::SIGNATURE_HASH)
                    .topic1(U256::from(cid)),
                m.block,
                m.block,
                true,
            )
            .map_err(rpc_err)?;
        let made = logs
            .iter()
            .find_map(|l| DisputeGame::ClaimMade::decode_log(&l.inner).ok())
            .ok_or_else(|| ClientError::Protocol(format!("no ClaimMade log for claim {cid}")))?;
        let input = made.data.inputBytes.to_vec();
        if crate::hash::keccak(&[&input]).0 != made.data.input.0 {
            return Err(ClientError::Protocol(format!(
                "claim {cid}: the input in its log does not hash to its input hash"
            )));
        }
        Ok(input)
    }

    /// The contract's numbers of claims and of disputes.
    pub fn counts(&self) -> Result<(u64, u64), ClientError> {
        let c = self
            .chain
            .view(self.contract, &DisputeGame::countsCall {}, None)
            .map_err(rpc_err)?;
        Ok((small(c._0), small(c._1)))
    }

    /// The claim's status on the contract.
    pub fn status(&self, id: &str) -> Result<ClaimStatus, ClientError> {
        let c = self.get_claim(parse_id(id)?)?;
        Ok(status_of(c.status))
    }

    fn get_claim(&self, id: u64) -> Result<DisputeGame::Claim, ClientError> {
        // The next claim to be made (a challenger started with its
        // defender, as in the README's walkthrough) is waited for, up to
        // the node's patience (--connect-timeout) or CLAIM_WAIT; an id
        // further on is refused at once.
        let start = std::time::Instant::now();
        let bound = self.chain.patience.unwrap_or(CLAIM_WAIT).min(CLAIM_WAIT);
        let mut told = false;
        loop {
            let r = self.chain.view(
                self.contract,
                &DisputeGame::getClaimCall { id: U256::from(id) },
                None,
            );
            if !matches!(r, Err(RpcError::Reverted(_))) || start.elapsed() >= bound {
                break self.claim_or_refusal(id, r);
            }
            let made = self
                .chain
                .view(self.contract, &DisputeGame::countsCall {}, None)
                .map_err(rpc_err)?
                ._0;
            if U256::from(id) != made {
                break self.claim_or_refusal(id, r);
            }
            if !told {
                told = true;
                if let Some(tell) = &self.chain.on_wait {
                    tell(&format!(
                        "waiting for claim {id} to be made on the contract at {} (up to {} s)",
                        self.contract,
                        bound.as_secs()
                    ));
                }
            }
            std::thread::sleep(POLL);
        }
    }

    fn claim_or_refusal(
        &self,
        id: u64,
        r: Result<DisputeGame::Claim, RpcError>,
    ) -> Result<DisputeGame::Claim, ClientError> {
        match r {
            Ok(c) => Ok(c),
            Err(RpcError::Reverted(d)) => Err(refused(
                404,
                format!(
                    "no claim {id} on the contract at {} ({})",
                    self.contract,
                    super::bindings::describe_revert(&d)
                ),
            )),
            Err(e) => Err(rpc_err(e)),
        }
    }

    fn block_time(&self, block: u64, log: Option<&Log>) -> Result<u64, ClientError> {
        if let Some(t) = self
            .block_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&block)
        {
            return Ok(*t);
        }
        let t = match log.and_then(|l| l.block_timestamp) {
            Some(t) => t,
            None => self.chain.block_time(block).map_err(rpc_err)?,
        };
        self.block_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(block, t);
        Ok(t)
    }

    /// Seconds now: the latest block's time, or the wall clock where later.
    fn now_s(&self, latest: u64) -> Result<u64, ClientError> {
        Ok(self.block_time(latest, None)?.max(wall_s()))
    }

    fn meta(&self, id: u64) -> Result<ClaimMeta, ClientError> {
        if let Some(m) = self
            .claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(m.clone());
        }
        let c = self.get_claim(id)?;
        // The claim was made in the first block of its time (or a later
        // one of the same second, where a dev node gives several blocks
        // one time): found by bisection, then its log from there on.
        let latest = self.chain.block_number().map_err(rpc_err)?;
        let from = self
            .chain
            .first_block_at(c.createdAt, latest)
            .map_err(rpc_err)?;
        let logs = self
            .chain
            .logs_in(
                &Filter::new()
                    .address(self.contract)
                    .event_signature(DisputeGame::ClaimMade::SIGNATURE_HASH)
                    .topic1(U256::from(id)),
                from,
                latest,
                true,
            )
            .map_err(rpc_err)?;
        let (block, made) = logs
            .first()
            .and_then(|l| {
                let made = DisputeGame::ClaimMade::decode_log(&l.inner).ok()?;
                Some((l.block_number?, made.data))
            })
            .ok_or_else(|| ClientError::Protocol(format!("no ClaimMade log for claim {id}")))?;
        // The contract keeps the program's image root and the input's hash
        // in this log only (root(S_0), which it stores, binds both).
        // The chain names the program by its image root; a player that
        // plays a program of that image sees the program's own hash (the
        // claim is about it), any other the image root (which differs).
        let image = Hash(made.program.0);
        let program = match &*self.own.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((elf, _)) => match crate::elf::Program::load(elf) {
                Ok(p) if Image::of_state(&p.initial_state(&[])).root == image => p.hash,
                _ => image,
            },
            None => image,
        };
        let m = ClaimMeta {
            claim: Claim {
                program,
                input: Hash(made.input.0),
                b: u32::from(c.b),
                final_root: Hash(c.finalRoot.0),
                status: String::new(),
                output: Hash::default(),
                halted_after: None,
            },
            levels: levels_of(&c.levels),
            initial_root: Hash(c.initialRoot.0),
            defender: c.defender,
            created_s: c.createdAt,
            block,
        };
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, m.clone());
        Ok(m)
    }

    /// The claim's game before any challenge.
    fn open_game(&self, m: &ClaimMeta, now_ms: u64) -> Result<Game, ClientError> {
        Game::with_root(
            m.claim.clone(),
            m.levels.clone(),
            m.initial_root,
            self.policy.clock_ms(m.claim.b),
            now_ms,
        )
        .map_err(|e| {
            ClientError::Protocol(format!(
                "the contract holds a claim the Rust rules refuse: {e}"
            ))
        })
    }

    /// The disputes of claim `id` opened by block `to`.
    fn openings(&self, id: u64, m: &ClaimMeta, to: u64) -> Result<Vec<Opening>, ClientError> {
        let logs = self
            .chain
            .logs_in(
                &Filter::new()
                    .address(self.contract)
                    .event_signature(DisputeGame::Challenged::SIGNATURE_HASH)
                    .topic1(U256::from(id)),
                m.block,
                to,
                false,
            )
            .map_err(rpc_err)?;
        let mut out = Vec::new();
        for l in &logs {
            let e = DisputeGame::Challenged::decode_log(&l.inner)
                .map_err(|e| ClientError::Protocol(format!("a Challenged log: {e}")))?;
            let block = l.block_number.unwrap_or(0);
            let o = Opening {
                d: small(e.dispute),
                k: small(e.index),
                challenger: e.challenger,
                root: Hash(e.root.0),
                block,
                time_s: self.block_time(block, Some(l))?,
            };
            self.openings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(o.d, o.clone());
            out.push(o);
        }
        out.sort_by_key(|o| o.k);
        Ok(out)
    }

    /// The opening of global dispute `d` of claim `id`.
    fn opening(&self, id: u64, m: &ClaimMeta, d: u64) -> Result<Opening, ClientError> {
        if let Some(o) = self
            .openings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&d)
        {
            return Ok(o.clone());
        }
        let to = self.chain.block_number().map_err(rpc_err)?;
        self.openings(id, m, to)?
            .into_iter()
            .find(|o| o.d == d)
            .ok_or_else(|| ClientError::Protocol(format!("no Challenged log for dispute {d}")))
    }

    /// Where the caller's dispute `n` of claim `id` is: pending, or the
    /// contract's dispute.
    fn resolve_dispute(&self, id: u64, n: u64) -> Result<Pending, ClientError> {
        if let Some(p) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(id, n))
        {
            return match p {
                Pending::Failed(reason) => Err(refused(
                    409,
                    format!("dispute {n} of claim {id} was never opened: {reason}"),
                )),
                p => Ok(p.clone()),
            };
        }
        if n == 0 {
            return Err(refused(
                404,
                format!("no dispute 0 of claim {id}: disputes are numbered from 1"),
            ));
        }
        match self.chain.view(
            self.contract,
            &DisputeGame::disputeOfCall {
                id: U256::from(id),
                k: U256::from(n - 1),
            },
            None,
        ) {
            Ok(d) => Ok(Pending::Real(small(d))),
            Err(RpcError::Reverted(_)) => {
                Err(refused(404, format!("no dispute {n} of claim {id}")))
            }
            Err(e) => Err(rpc_err(e)),
        }
    }

    /// Which side this referee's account plays in a dispute.
    fn me(&self, m: &ClaimMeta, o: &Opening) -> Option<Side> {
        let a = self.chain.address();
        if a == m.defender {
            Some(Side::Defender)
        } else if a == o.challenger {
            Some(Side::Challenger)
        } else {
            None
        }
    }

    /// Rebuilds dispute `d` of claim `id` from the logs up to the latest
    /// block and checks it against the contract's `getDispute` there. A
    /// node may answer for its latest block before that block's logs are
    /// indexed: a difference is asked again a few times before it is
    /// reported.
    fn rebuild(&self, id: u64, d: u64) -> Result<Rebuilt, ClientError> {
        let mut tries = 0;
        loop {
            match self.rebuild_once(id, d) {
                Err(ClientError::Protocol(_)) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(POLL);
                }
                r => return r,
            }
        }
    }

    fn rebuild_once(&self, id: u64, d: u64) -> Result<Rebuilt, ClientError> {
        let meta = self.meta(id)?;
        let opening = self.opening(id, &meta, d)?;
        let block = self.chain.block_number().map_err(rpc_err)?;
        let now_s = self.now_s(block)?;
        let c = self
            .chain
            .view(
                self.contract,
                &DisputeGame::getDisputeCall { d: U256::from(d) },
                Some(block),
            )
            .map_err(rpc_err)?;
        // Nothing moved since the last rebuild (the contract's record is
        // still that game, `seq` included): no logs to read again.
        if let Some(r) = self
            .rebuilt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&d)
            .filter(|r| cross_check(&c, &r.game).is_ok())
        {
            return Ok(Rebuilt { now_s, ..r.clone() });
        }
        let sigs = vec![
            DisputeGame::Midpoint::SIGNATURE_HASH,
            DisputeGame::Agreed::SIGNATURE_HASH,
            DisputeGame::Disagreed::SIGNATURE_HASH,
            DisputeGame::Proved::SIGNATURE_HASH,
            DisputeGame::TimedOut::SIGNATURE_HASH,
        ];
        let mut logs = self
            .chain
            .logs_in(
                &Filter::new()
                    .address(self.contract)
                    .event_signature(sigs)
                    .topic1(U256::from(d)),
                opening.block,
                block,
                false,
            )
            .map_err(rpc_err)?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let t0 = opening.time_s * 1000;
        let mut game = self.open_game(&meta, t0)?;
        let mut records = Vec::new();
        let challenge = Move::Challenge { root: opening.root };
        game.apply(Side::Challenger, 0, &challenge, t0)
            .map_err(|e| ClientError::Protocol(format!("dispute {d}: the challenge: {e}")))?;
        records.push(Record {
            seq: 0,
            side: Side::Challenger,
            time_ms: t0,
            mv: challenge,
        });
        let bad = |what: String| {
            ClientError::Protocol(format!(
                "the contract and the Rust rules disagree on dispute {d} of claim {id}: {what}"
            ))
        };
        for l in &logs {
            let time_ms = self.block_time(l.block_number.unwrap_or(0), Some(l))? * 1000;
            let topic = l.topic0().copied().unwrap_or_default();
            let decode_err =
                |e: alloy::sol_types::Error| bad(format!("a log does not decode: {e}"));
            let (side, mv) = if topic == DisputeGame::Midpoint::SIGNATURE_HASH {
                let e = DisputeGame::Midpoint::decode_log(&l.inner).map_err(decode_err)?;
                (
                    Side::Defender,
                    Move::Midpoint {
                        level: usize::from(e.level),
                        position: e.position,
                        root: Hash(e.root.0),
                    },
                )
            } else if topic == DisputeGame::Agreed::SIGNATURE_HASH {
                let e = DisputeGame::Agreed::decode_log(&l.inner).map_err(decode_err)?;
                (
                    Side::Challenger,
                    Move::Agree {
                        level: usize::from(e.level),
                        position: e.position,
                    },
                )
            } else if topic == DisputeGame::Disagreed::SIGNATURE_HASH {
                let e = DisputeGame::Disagreed::decode_log(&l.inner).map_err(decode_err)?;
                (
                    Side::Challenger,
                    Move::Disagree {
                        level: usize::from(e.level),
                        position: e.position,
                    },
                )
            } else if topic == DisputeGame::Proved::SIGNATURE_HASH {
                let e = DisputeGame::Proved::decode_log(&l.inner).map_err(decode_err)?;
                let proof = binary::decode(&e.proof).map_err(|err| {
                    bad(format!("the proof of a Proved log does not decode: {err}"))
                })?;
                let by = if e.by == meta.defender {
                    Side::Defender
                } else {
                    Side::Challenger
                };
                let mv = Move::Proof {
                    proof: Box::new(proof),
                };
                let seq = game.seq;
                game.apply(by, seq, &mv, time_ms).map_err(|err| {
                    bad(format!(
                        "the contract accepted the proof at seq {seq}, the rules refuse it: {err}"
                    ))
                })?;
                match game.outcome() {
                    Some(Outcome::Proof {
                        winner, computed, ..
                    }) if *winner == side_of(e.winner) && computed.0 == e.computed.0 => {}
                    other => {
                        return Err(bad(format!(
                            "field `winner`/`computed`: the contract says the {} wins with 0x{}, the rules say {other:?}",
                            side_of(e.winner),
                            hex::encode(e.computed.0)
                        )));
                    }
                }
                records.push(Record {
                    seq,
                    side: by,
                    time_ms,
                    mv,
                });
                continue;
            } else if topic == DisputeGame::TimedOut::SIGNATURE_HASH {
                let e = DisputeGame::TimedOut::decode_log(&l.inner).map_err(decode_err)?;
                if !game.expire(time_ms) {
                    return Err(bad(format!(
                        "the contract timed out the {} at {time_ms} ms, the rules give it {} ms more",
                        game.turn,
                        game.time_left(game.turn, time_ms)
                    )));
                }
                if game.outcome().map(Outcome::winner) != Some(side_of(e.winner)) {
                    return Err(bad(format!(
                        "field `winner`: the contract says the {} wins on time, the rules {:?}",
                        side_of(e.winner),
                        game.outcome()
                    )));
                }
                continue;
            } else {
                continue;
            };
            let seq = game.seq;
            game.apply(side, seq, &mv, time_ms).map_err(|err| {
                bad(format!(
                    "the contract accepted a {} at seq {seq}, the rules refuse it: {err}",
                    mv.name()
                ))
            })?;
            records.push(Record {
                seq,
                side,
                time_ms,
                mv,
            });
        }
        cross_check(&c, &game).map_err(bad)?;
        let r = Rebuilt {
            game,
            records,
            opening,
            meta,
            now_s,
        };
        self.rebuilt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(d, r.clone());
        Ok(r)
    }

    /// Rebuilds dispute `d`, first ending it on time where a clock has run
    /// out (see the module's notes).
    fn rebuild_live(&self, id: u64, d: u64) -> Result<Rebuilt, ClientError> {
        let r = self.rebuild(id, d)?;
        let g = &r.game;
        if g.is_over() {
            return Ok(r);
        }
        let now_ms = r.now_s * 1000;
        let left = g.time_left(g.turn, now_ms);
        let overdue = now_ms.saturating_sub(g.turn_since_ms + g.clock_ms[g.turn as usize]);
        let mine = self.me(&r.meta, &r.opening);
        let send = left == 0
            && match mine {
                Some(s) if s == g.turn => overdue >= GRACE_MS,
                Some(_) => true,
                None => false,
            };
        if !send {
            return Ok(r);
        }
        use alloy::sol_types::SolCall;
        let data = DisputeGame::timeoutCall { d: U256::from(d) }.abi_encode();
        match self.transact(data, U256::ZERO, (id.to_string(), None, None, "timeout")) {
            // Sent, or the node's clock is behind ours (ClockLeft), or
            // someone else ended it first (Over): look again.
            Ok(_) | Err(RpcError::Reverted(_)) => self.rebuild(id, d),
            Err(e) => Err(rpc_err(e)),
        }
    }

    fn view_of(&self, id: &str, r: &Rebuilt, after_seq: Option<u64>) -> View {
        let now_ms = r.now_s * 1000;
        let len = r.records.len();
        let from = after_seq.map_or(len.saturating_sub(1), |s| (s as usize).min(len));
        let from = from.max(len.saturating_sub(MAX_RECENT));
        View {
            id: id.to_string(),
            dispute: r.opening.k + 1,
            game: r.game.clone(),
            challenged: true,
            time_left_ms: Clocks {
                defender: r.game.time_left(Side::Defender, now_ms),
                challenger: r.game.time_left(Side::Challenger, now_ms),
            },
            waiting_for: r.game.waiting_for(),
            recent: r.records[from..].to_vec(),
            queued: false,
        }
    }

    fn pending_view(&self, id: &str, cid: u64, n: u64) -> Result<View, ClientError> {
        let meta = self.meta(cid)?;
        let block = self.chain.block_number().map_err(rpc_err)?;
        let now_ms = self.now_s(block)? * 1000;
        let game = self.open_game(&meta, now_ms)?;
        Ok(View {
            id: id.to_string(),
            dispute: n,
            challenged: false,
            time_left_ms: Clocks {
                defender: game.clock_ms[0],
                challenger: game.clock_ms[1],
            },
            waiting_for: game.waiting_for(),
            game,
            recent: Vec::new(),
            queued: false,
        })
    }

    fn view_now(&self, id: &str, n: u64, after_seq: Option<u64>) -> Result<View, ClientError> {
        let cid = parse_id(id)?;
        match self.resolve_dispute(cid, n)? {
            Pending::Open => self.pending_view(id, cid, n),
            Pending::Real(d) => Ok(self.view_of(id, &self.rebuild_live(cid, d)?, after_seq)),
            Pending::Failed(reason) => Err(refused(409, reason)),
        }
    }

    fn claim_now(&self, id: &str) -> Result<ClaimView, ClientError> {
        let cid = parse_id(id)?;
        let mut c = self.get_claim(cid)?;
        let meta = self.meta(cid)?;
        let block = self.chain.block_number().map_err(rpc_err)?;
        let now_s = self.now_s(block)?;
        let ends_s = meta.created_s + self.policy.window_s(meta.claim.b);
        if c.status == 1
            && now_s >= ends_s
            && c.undecided == 0
            && self.chain.address() == meta.defender
        {
            use alloy::sol_types::SolCall;
            let data = DisputeGame::resolveCall {
                id: U256::from(cid),
            }
            .abi_encode();
            match self.transact(data, U256::ZERO, (id.to_string(), None, None, "resolve")) {
                // The node's clock may be behind ours (WindowOpen): later.
                Ok(_) | Err(RpcError::Reverted(_)) => c = self.get_claim(cid)?,
                Err(e) => return Err(rpc_err(e)),
            }
        }
        let block = self.chain.block_number().map_err(rpc_err)?;
        let mut disputes = Vec::new();
        let mut ended = 0u64;
        for o in self.openings(cid, &meta, block)? {
            let g = self
                .chain
                .view(
                    self.contract,
                    &DisputeGame::getDisputeCall { d: U256::from(o.d) },
                    Some(block),
                )
                .map_err(rpc_err)?;
            let done = g.phase == 2;
            ended += u64::from(done);
            disputes.push(DisputeSummary {
                dispute: o.k + 1,
                phase: match g.phase {
                    0 => "bisect",
                    1 => "prove",
                    _ => "done",
                }
                .into(),
                seq: g.seq,
                winner: done.then(|| side_of(g.winner)),
                outcome: None,
            });
        }
        let status = status_of(c.status);
        let closed = now_s >= ends_s;
        Ok(ClaimView {
            id: id.to_string(),
            claim: meta.claim.clone(),
            levels: meta.levels.clone(),
            initial_root: meta.initial_root,
            clock_ms: self.policy.clock_ms(meta.claim.b),
            created_ms: meta.created_s * 1000,
            window_ends_ms: ends_s * 1000,
            window_left_ms: ends_s.saturating_sub(now_s) * 1000,
            status,
            seq: disputes.len() as u64
                + ended
                + u64::from(closed)
                + u64::from(status != ClaimStatus::Open),
            disputes_total: disputes.len() as u64,
            disputes,
        })
    }

    fn long_poll<T>(
        &self,
        after_seq: Option<u64>,
        wait_ms: u64,
        mut now: impl FnMut() -> Result<T, ClientError>,
        moved: impl Fn(&T, u64) -> bool,
    ) -> Result<T, ClientError> {
        let deadline = Instant::now() + Duration::from_millis(wait_ms);
        loop {
            let v = now()?;
            match after_seq {
                Some(s) if !moved(&v, s) && Instant::now() < deadline => {
                    std::thread::sleep(
                        POLL.min(deadline.saturating_duration_since(Instant::now())),
                    );
                }
                _ => return Ok(v),
            }
        }
    }
}

fn status_of(s: u8) -> ClaimStatus {
    match s {
        2 => ClaimStatus::Stands,
        3 => ClaimStatus::Refuted,
        _ => ClaimStatus::Open,
    }
}

/// The contract's dispute against the rebuilt game: `Err` names the first
/// field that differs.
fn cross_check(c: &DisputeGame::Dispute, g: &Game) -> Result<(), String> {
    fn field<T: PartialEq + std::fmt::Debug>(
        name: &str,
        contract: T,
        rules: T,
    ) -> Result<(), String> {
        if contract == rules {
            Ok(())
        } else {
            Err(format!(
                "field `{name}`: the contract has {contract:?}, the rules {rules:?}"
            ))
        }
    }
    field("seq", c.seq, g.seq)?;
    field(
        "clock",
        [
            c.clock[0].saturating_mul(1000),
            c.clock[1].saturating_mul(1000),
        ],
        g.clock_ms,
    )?;
    match &g.phase {
        Phase::Open => Err("the rules' game is not challenged".into()),
        Phase::Bisect(b) => {
            field("phase", c.phase, 0)?;
            field("turn", side_of(c.turn), g.turn)?;
            field("turnSince", c.turnSince * 1000, g.turn_since_ms)?;
            field("level", usize::from(c.level), b.level)?;
            field("lo", c.lo, b.lo)?;
            field("hi", c.hi, b.hi)?;
            field("base", c.base, b.base)?;
            field("unitLog2", u32::from(c.unitLog2), b.unit_log2)?;
            field("loRoot", Hash(c.loRoot.0), b.lo_root)?;
            field("hiRoot", Hash(c.hiRoot.0), b.hi_root)?;
            field("hasMid", c.hasMid, b.mid_root.is_some())?;
            if let Some(m) = b.mid_root {
                field("midRoot", Hash(c.midRoot.0), m)?;
            }
            Ok(())
        }
        Phase::Prove(d) => {
            field("phase", c.phase, 1)?;
            field("turn", side_of(c.turn), g.turn)?;
            field("turnSince", c.turnSince * 1000, g.turn_since_ms)?;
            field("t", c.t, d.t)?;
            field("loRoot", Hash(c.loRoot.0), d.root_before)?;
            field("hiRoot", Hash(c.hiRoot.0), d.root_after)
        }
        Phase::Done(o) => {
            field("phase", c.phase, 2)?;
            field("winner", side_of(c.winner), o.winner())
        }
    }
}

impl RefereeApi for ChainReferee {
    fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        let clock_ms = self.policy.clock_ms(req.claim.b);
        let window_ms = self.policy.window_s(req.claim.b).saturating_mul(1000);
        if req.claim.b > u32::from(self.policy.max_b) {
            return Err(refused(
                400,
                format!(
                    "b = {} is beyond the contract's largest b, {}",
                    req.claim.b, self.policy.max_b
                ),
            ));
        }
        let max_input = crate::rules::policy::MAX_INPUT_BYTES;
        if req.input.len() as u64 > max_input {
            return Err(refused(
                413,
                format!(
                    "the input is {} bytes; a claim on chain carries at most {max_input}",
                    req.input.len()
                ),
            ));
        }
        if req.clock_ms.is_some_and(|c| c != clock_ms) {
            return Err(refused(
                400,
                format!(
                    "the contract's clocks are {} s each at b = {} (its deployment's policy): a claim cannot ask for other clocks",
                    clock_ms / 1000,
                    req.claim.b
                ),
            ));
        }
        if req.window_ms.is_some_and(|w| w != window_ms) {
            return Err(refused(
                400,
                format!(
                    "the contract's challenge window is {} s at b = {} (its deployment's policy): a claim cannot ask for another",
                    window_ms / 1000,
                    req.claim.b
                ),
            ));
        }
        let levels = req
            .levels
            .clone()
            .unwrap_or_else(|| two_levels(req.claim.b));
        let game = Game::new(
            req.claim.clone(),
            &req.program,
            &req.input,
            levels,
            clock_ms,
            0,
        )
        .map_err(|e| refused(400, e.to_string()))?;
        let b = u8::try_from(req.claim.b)
            .map_err(|_| refused(400, format!("b = {} is too large", req.claim.b)))?;
        // The program by its image (the contract derives root(S_0) from it
        // and the input's bytes).
        let program =
            crate::elf::Program::load(&req.program).map_err(|e| refused(400, e.to_string()))?;
        let image = Image::of_state(&program.initial_state(&[]));
        use alloy::sol_types::SolCall;
        let data = DisputeGame::claimCall {
            program: image.root.0.into(),
            image: [
                image.mem.0.into(),
                image.regs.0.into(),
                image.words.0.into(),
            ],
            input: req.input.clone().into(),
            finalRoot: req.claim.final_root.0.into(),
            b,
            levels: level_bytes(&game.levels).into(),
        }
        .abi_encode();
        // The claim's id is in its receipt; the gas entry is named after it.
        let r = self
            .chain
            .send(Some(self.contract), data.clone(), self.policy.claim_bond)
            .map_err(rpc_err)?;
        self.sent_bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        let made = r
            .logs
            .iter()
            .find_map(|l| DisputeGame::ClaimMade::decode_log(&l.inner).ok())
            .ok_or_else(|| {
                ClientError::Protocol("no ClaimMade log in the claim's receipt".into())
            })?;
        let id = small(made.claim);
        let e = GasEntry {
            claim: id.to_string(),
            dispute: None,
            seq: None,
            what: "claim".into(),
            gas: r.gas_used,
            tx: r.hash,
        };
        if let Some(tell) = &self.on_tx {
            tell(&e);
        }
        self.gas.lock().unwrap_or_else(|p| p.into_inner()).push(e);
        *self.own.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((req.program.clone(), req.input.clone()));
        let created_s = self.block_time(r.block, None)?;
        Ok(Created {
            game: id.to_string(),
            token: String::new(),
            clock_ms,
            window_ends_ms: (created_s + self.policy.window_s(req.claim.b)) * 1000,
        })
    }

    fn claim(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<ClaimView, ClientError> {
        self.long_poll(
            after_seq,
            wait_ms,
            || self.claim_now(id),
            |v, s| v.seq > s || v.status != ClaimStatus::Open,
        )
    }

    fn join(&self, id: &str) -> Result<Joined, ClientError> {
        let cid = parse_id(id)?;
        let c = self.get_claim(cid)?;
        let meta = self.meta(cid)?;
        if c.status != 1 {
            return Err(refused(
                409,
                format!("claim {id} is decided: it {}", status_of(c.status)),
            ));
        }
        let block = self.chain.block_number().map_err(rpc_err)?;
        let ends = meta.created_s + self.policy.window_s(meta.claim.b);
        if self.now_s(block)? >= ends {
            return Err(refused(
                409,
                format!("the challenge window of claim {id} has closed"),
            ));
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut n = u64::from(c.disputes) + 1;
        while pending.contains_key(&(cid, n)) {
            n += 1;
        }
        pending.insert((cid, n), Pending::Open);
        Ok(Joined {
            dispute: n,
            token: String::new(),
            queued: false,
        })
    }

    fn view(
        &self,
        id: &str,
        dispute: u64,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        self.long_poll(
            after_seq,
            wait_ms,
            || self.view_now(id, dispute, after_seq),
            |v, s| v.game.seq > s || v.game.is_over(),
        )
    }

    fn send(&self, id: &str, dispute: u64, req: &MoveRequest) -> Result<View, ClientError> {
        use alloy::sol_types::SolCall;
        let cid = parse_id(id)?;
        let entry = |what: &str| {
            (
                id.to_string(),
                Some(dispute),
                Some(req.seq),
                what.to_string(),
            )
        };
        let d = match self.resolve_dispute(cid, dispute)? {
            Pending::Open => {
                let Move::Challenge { root } = &req.mv else {
                    return Err(refused(
                        409,
                        format!(
                            "a {} move is not allowed now: the game waits for a challenge",
                            req.mv.name()
                        ),
                    ));
                };
                if req.seq != 0 {
                    return Err(refused(
                        409,
                        format!(
                            "stale or replayed move: it says seq {}, the game is at seq 0",
                            req.seq
                        ),
                    ));
                }
                let data = DisputeGame::challengeCall {
                    id: U256::from(cid),
                    root: root.0.into(),
                }
                .abi_encode();
                let (c, n, s, w) = entry("challenge");
                let r = match self.transact(data, self.policy.challenge_bond, (c, n, s, &w)) {
                    Ok(r) => r,
                    Err(e @ RpcError::Reverted(_)) => {
                        let reason = format!("the contract refuses the challenge: {e}");
                        self.pending
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert((cid, dispute), Pending::Failed(reason.clone()));
                        return Err(refused(400, reason));
                    }
                    Err(e) => return Err(rpc_err(e)),
                };
                let opened = r
                    .logs
                    .iter()
                    .find_map(|l| DisputeGame::Challenged::decode_log(&l.inner).ok())
                    .ok_or_else(|| {
                        ClientError::Protocol("no Challenged log in the challenge's receipt".into())
                    })?;
                let d = small(opened.dispute);
                self.pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((cid, dispute), Pending::Real(d));
                return Ok(self.view_of(id, &self.rebuild(cid, d)?, Some(req.seq)));
            }
            Pending::Real(d) => d,
            Pending::Failed(reason) => return Err(refused(409, reason)),
        };
        let now = self.rebuild(cid, d)?;
        if now.game.is_over() {
            return Err(refused(
                409,
                format!("the game is over: {}", now.game.waiting_for()),
            ));
        }
        if req.seq != now.game.seq {
            return Err(refused(
                409,
                format!(
                    "stale or replayed move: it says seq {}, the game is at seq {}",
                    req.seq, now.game.seq
                ),
            ));
        }
        if self.me(&now.meta, &now.opening) != Some(req.side) {
            return Err(refused(
                403,
                format!(
                    "the account {} does not play the {} in this dispute",
                    self.chain.address(),
                    req.side
                ),
            ));
        }
        let dd = U256::from(d);
        let data = match &req.mv {
            Move::Challenge { .. } => {
                return Err(refused(
                    409,
                    "a challenge move is not allowed now: the dispute is open",
                ));
            }
            Move::Midpoint {
                level,
                position,
                root,
            } => DisputeGame::midpointCall {
                d: dd,
                level: u8::try_from(*level).unwrap_or(u8::MAX),
                position: *position,
                root: root.0.into(),
            }
            .abi_encode(),
            Move::Agree { level, position } => DisputeGame::agreeCall {
                d: dd,
                level: u8::try_from(*level).unwrap_or(u8::MAX),
                position: *position,
            }
            .abi_encode(),
            Move::Disagree { level, position } => DisputeGame::disagreeCall {
                d: dd,
                level: u8::try_from(*level).unwrap_or(u8::MAX),
                position: *position,
            }
            .abi_encode(),
            Move::Proof { proof } => DisputeGame::proveCall {
                d: dd,
                proof: binary::encode(proof).into(),
            }
            .abi_encode(),
        };
        let (c, n, s, w) = entry(req.mv.name());
        self.transact(data, U256::ZERO, (c, n, s, &w))
            .map_err(rpc_err)?;
        Ok(self.view_of(id, &self.rebuild(cid, d)?, Some(req.seq)))
    }

    fn transcript(&self, id: &str, dispute: u64) -> Result<Transcript, ClientError> {
        let cid = parse_id(id)?;
        let d = match self.resolve_dispute(cid, dispute)? {
            Pending::Real(d) => d,
            _ => {
                return Err(refused(
                    409,
                    format!("dispute {dispute} of claim {id} has not been opened"),
                ));
            }
        };
        let r = self.rebuild(cid, d)?;
        let (program, input) = self
            .own
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                ClientError::Protocol(
                    "the chain does not hold the program's bytes: the referee needs the player's program and input for a transcript".into(),
                )
            })?;
        Ok(Transcript {
            kind: TRANSCRIPT_TYPE.into(),
            game: id.to_string(),
            dispute: r.opening.k + 1,
            claim: r.meta.claim.clone(),
            program,
            input,
            levels: r.meta.levels.clone(),
            clock_ms: self.policy.clock_ms(r.meta.claim.b),
            created_ms: r.opening.time_s * 1000,
            moves: r.records,
            outcome: r.game.outcome().cloned(),
        })
    }

    fn bytes(&self) -> u64 {
        self.sent_bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::levels::with_strides;

    #[test]
    fn level_lists_round_trip_through_the_contracts_encoding() {
        for levels in [two_levels(20), with_strides(20, &[10, 4])] {
            assert_eq!(levels_of(&level_bytes(&levels)), levels);
        }
        assert_eq!(level_bytes(&two_levels(5)), vec![5, 0x80 | 11]);
    }

    #[test]
    fn claim_ids_are_decimal_numbers() {
        assert_eq!(parse_id("0"), Ok(0));
        assert_eq!(parse_id("42"), Ok(42));
        for bad in ["", "-1", "0x10", "1e3", "99999999999999999999"] {
            assert!(
                matches!(parse_id(bad), Err(ClientError::Refused { status: 404, .. })),
                "{bad:?}"
            );
        }
    }

    /// The contract's record of a dispute that agrees with `g`.
    fn record_of(g: &Game) -> DisputeGame::Dispute {
        let Phase::Bisect(b) = &g.phase else {
            panic!("a bisection")
        };
        DisputeGame::Dispute {
            claim: U256::ZERO,
            challenger: Address::ZERO,
            phase: 0,
            turn: g.turn as u8,
            winner: 0,
            hasMid: b.mid_root.is_some(),
            hasT: b.t.is_some(),
            level: b.level as u8,
            unitLog2: b.unit_log2 as u8,
            base: b.base,
            t: b.t.unwrap_or(0),
            lo: b.lo,
            hi: b.hi,
            turnSince: g.turn_since_ms / 1000,
            seq: g.seq,
            clock: [g.clock_ms[0] / 1000, g.clock_ms[1] / 1000],
            loRoot: b.lo_root.0.into(),
            hiRoot: b.hi_root.0.into(),
            midRoot: b.mid_root.unwrap_or_default().0.into(),
        }
    }

    #[test]
    fn a_difference_between_the_contract_and_the_rules_names_the_field() {
        let claim = Claim {
            program: Hash::default(),
            input: Hash::default(),
            b: 5,
            final_root: Hash([7; 32]),
            status: String::new(),
            output: Hash::default(),
            halted_after: None,
        };
        let mut g =
            Game::with_root(claim, two_levels(5), Hash([1; 32]), 60_000, 5_000).expect("a game");
        g.apply(
            Side::Challenger,
            0,
            &Move::Challenge {
                root: Hash([9; 32]),
            },
            5_000,
        )
        .expect("challenge");
        g.apply(
            Side::Defender,
            1,
            &Move::Midpoint {
                level: 0,
                position: 16,
                root: Hash([3; 32]),
            },
            7_000,
        )
        .expect("midpoint");
        let good = record_of(&g);
        assert_eq!(cross_check(&good, &g), Ok(()));
        let mut c = good.clone();
        c.seq += 1;
        assert!(
            cross_check(&c, &g)
                .expect_err("seq")
                .starts_with("field `seq`")
        );
        let mut c = good.clone();
        c.clock[0] -= 1;
        assert!(
            cross_check(&c, &g)
                .expect_err("clock")
                .starts_with("field `clock`")
        );
        let mut c = good.clone();
        c.midRoot = [4; 32].into();
        assert!(
            cross_check(&c, &g)
                .expect_err("mid")
                .starts_with("field `midRoot`")
        );
        let mut c = good;
        c.lo = 1;
        assert!(
            cross_check(&c, &g)
                .expect_err("lo")
                .starts_with("field `lo`")
        );
    }
}
