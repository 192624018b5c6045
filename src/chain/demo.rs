//! `mswap dispute --chain`: the players' demo ([`crate::players::demo`])
//! with the contracts as the referee, on a local `anvil` node that this
//! process starts itself ([`super::local`]): deploy, then a defender and a
//! challenger, each with its own development account and its own
//! [`ChainReferee`], every move a transaction told with its gas; the
//! transcript rebuilt from the logs and verified offline; both players
//! withdraw their credit.

use super::local::start_anvil_at;
use super::referee::{CHAIN_FAN, ChainReferee, GasEntry};
use super::rpc::{Chain, GamePolicy, Key, RpcError};
use crate::players::api::RefereeApi;
use crate::players::demo::{Backend, Say, Setup, play as play_demo, prepare};
use crate::players::player::Lie;
use crate::players::wire::ClaimStatus;
use crate::rules::Side;
use crate::rules::transcript::{Checked, Transcript};
use alloy::primitives::U256;
use std::path::Path;
use std::sync::Mutex;

/// Without `b`, the most steps run to find the program's halt.
const HALT_LIMIT: u64 = 1 << 24;

/// The demo's deployment policy: clocks of 10 minutes, a window of 10 s
/// (a claim whose defender won stands soon after), bonds of 1 and 0.1 ether.
pub fn demo_policy() -> GamePolicy {
    GamePolicy {
        clock_seconds: 600,
        window_seconds: 10,
        margin: 2,
        min_speed: 10_000_000,
        max_b: 48,
        claim_bond: U256::from(10u64).pow(U256::from(18)),
        challenge_bond: U256::from(10u64).pow(U256::from(17)),
    }
}

/// What a dispute on chain did.
pub struct Report {
    /// The transcript, rebuilt from the logs.
    pub transcript: Transcript,
    /// Its offline check.
    pub checked: Checked,
    /// The winner of the dispute.
    pub winner: Side,
    /// The side that told the truth, if only one lied.
    pub honest: Option<Side>,
    /// Where the claim stands.
    pub status: ClaimStatus,
    /// Every transaction of the game (deployment excepted): the defender's, then the challenger's.
    pub txs: Vec<(Side, GasEntry)>,
    /// What each side withdrew, wei.
    pub withdrawn: [U256; 2],
}

impl Report {
    /// Gas of every transaction of the game.
    pub fn total_gas(&self) -> u64 {
        self.txs.iter().map(|(_, e)| e.gas).sum()
    }
}

/// The two players' referees on one deployed `DisputeGame`, and the
/// lines of their moves put back in the game's order.
struct OnChain {
    defender: ChainReferee,
    challenger: ChainReferee,
    order: Mutex<InOrder>,
}

impl Backend for OnChain {
    fn defender(&self) -> &dyn RefereeApi {
        &self.defender
    }
    fn challenger(&self) -> &dyn RefereeApi {
        &self.challenger
    }
    /// The bonds are paid back once the claim is decided.
    fn whole_claim(&self) -> bool {
        true
    }
    fn claim_note(&self) -> String {
        format!(" ({} gas)", self.defender.total_gas())
    }
    /// Each side tells its own moves, with their gas; the two threads'
    /// lines are put back in the game's order (a refused move after the
    /// moves before it) before they are said.
    fn tell(&self, who: Side, n: u64, side: Side, line: &str, say: &Say) {
        let seq = line
            .strip_prefix("[seq ")
            .and_then(|r| r.split_once("] "))
            .and_then(|(k, text)| Some((k.parse::<u64>().ok()?, text)));
        match seq {
            Some((s, text)) if side == who => {
                let referee = match who {
                    Side::Defender => &self.defender,
                    Side::Challenger => &self.challenger,
                };
                let gas = referee
                    .gas_of(n, s)
                    .map_or(String::new(), |g| format!("{g:>7} gas  "));
                let accepted = !text.starts_with("refused");
                let line = format!("{gas}[seq {s}] {text}");
                let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
                order.put(s, accepted, who, line, say);
            }
            Some(_) => {}
            None if who == Side::Challenger || n == 0 => say(Some(who), line),
            None => {}
        }
    }
    fn flush(&self, say: &Say) {
        std::mem::take(&mut *self.order.lock().unwrap_or_else(|p| p.into_inner())).flush(say);
    }
}

/// The demo's lines as `say` takes them: each side's after `[side] `.
fn plain<'a>(say: &'a (dyn Fn(&str) + Sync)) -> impl Fn(Option<Side>, &str) + Sync + 'a {
    move |who: Option<Side>, line: &str| match who {
        None => say(line),
        Some(who) => say(&format!("[{who:<10}] {line}")),
    }
}

/// Plays a dispute on a fresh anvil node: `b` (default: the smallest that
/// covers the run, which must halt within 2^24 steps), two levels of the
/// chain's fan-out ([`CHAIN_FAN`]), the
/// defender and the challenger with the given lies (default: a defender
/// whose machine diverges in the middle of the run); `say` gets each line
/// (each move once, by the side that made it, with its gas).
pub fn dispute(
    anvil: &Path,
    elf: &[u8],
    input: &[u8],
    b: Option<u32>,
    defender_lies: Vec<Lie>,
    challenger_lies: Vec<Lie>,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Report, String> {
    let setup = Setup {
        b,
        defender_lies,
        challenger_lies,
        halt_limit: HALT_LIMIT,
        steps_k: CHAIN_FAN,
        micro_k: CHAIN_FAN,
        ..Setup::new(elf.to_vec(), input.to_vec())
    };
    // The run first: a program that does not halt is refused before a node starts.
    let prepared = prepare(setup, &plain(say), &|_| {}).map_err(|e| e.to_string())?;
    let node = start_anvil_at(anvil).map_err(|e| e.to_string())?;
    let deployer = Chain::connect(&node.url, &Key::Dev(0)).map_err(|e| e.to_string())?;
    let (verifier, vgas) = deployer
        .deploy_verifier()
        .map_err(|e: RpcError| e.to_string())?;
    let policy = demo_policy();
    let (game, r) = deployer
        .deploy_game(verifier, &policy)
        .map_err(|e| e.to_string())?;
    say(&format!(
        "anvil at {}; verifier {verifier} ({vgas} gas with its microcode's data contract), game {game} ({} gas)",
        node.url, r.gas_used
    ));
    say(&format!(
        "policy: clocks {} s, window {} s, claim bond {} wei, challenge bond {} wei",
        policy.clock_seconds, policy.window_seconds, policy.claim_bond, policy.challenge_bond
    ));
    settle(&node.url, game, prepared, say)
}

/// Plays one claim and one dispute on the `DisputeGame` at `game` of the
/// node at `url`: the defender from development account 1, the challenger
/// from account 2, each with its lies (`lies[0]` the defender's), `b`
/// steps in two levels of fan-out [`CHAIN_FAN`]; `say` gets each line.
pub fn play(
    url: &str,
    game: alloy::primitives::Address,
    elf: &[u8],
    input: &[u8],
    b: u32,
    lies: [Vec<Lie>; 2],
    say: &(dyn Fn(&str) + Sync),
) -> Result<Report, String> {
    let [defender_lies, challenger_lies] = lies;
    let setup = Setup {
        b: Some(b),
        defender_lies,
        challenger_lies,
        steps_k: CHAIN_FAN,
        micro_k: CHAIN_FAN,
        ..Setup::new(elf.to_vec(), input.to_vec())
    };
    let prepared = prepare(setup, &plain(say), &|_| {}).map_err(|e| e.to_string())?;
    settle(url, game, prepared, say)
}

/// Plays `prepared` on the `DisputeGame` at `game` of the node at `url`
/// (the defender from development account 1, the challenger from account
/// 2), then both withdraw their credit.
fn settle(
    url: &str,
    game: alloy::primitives::Address,
    prepared: crate::players::demo::Prepared,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Report, String> {
    let referee = |n: usize| -> Result<ChainReferee, String> {
        let chain = Chain::connect(url, &Key::Dev(n)).map_err(|e| e.to_string())?;
        let r = ChainReferee::connect(chain, game).map_err(|e| e.to_string())?;
        r.set_program(prepared.elf.clone(), prepared.input.clone());
        Ok(r)
    };
    let players = OnChain {
        defender: referee(1)?,
        challenger: referee(2)?,
        order: Mutex::new(InOrder::default()),
    };
    let r = play_demo(prepared, &players, &plain(say)).map_err(|e| e.to_string())?;
    let (Some(transcript), Some(checked), Some(outcome)) = (r.transcript, r.checked, r.outcome)
    else {
        return Err(format!(
            "the challenger found claim {} correct: there is no dispute to settle",
            r.id
        ));
    };
    let withdrawn = [
        players
            .defender
            .withdraw(&r.id)
            .map_err(|e| e.to_string())?,
        players
            .challenger
            .withdraw(&r.id)
            .map_err(|e| e.to_string())?,
    ];
    let txs: Vec<(Side, GasEntry)> = players
        .defender
        .gas_log()
        .into_iter()
        .map(|e| (Side::Defender, e))
        .chain(
            players
                .challenger
                .gas_log()
                .into_iter()
                .map(|e| (Side::Challenger, e)),
        )
        .collect();
    Ok(Report {
        transcript,
        checked,
        winner: outcome.winner(),
        honest: r.honest,
        status: r.claim_status.unwrap_or(ClaimStatus::Open),
        txs,
        withdrawn,
    })
}

/// Lines of one dispute, said in the order of its moves: the line of move
/// `seq` after those of the moves before it, a refused attempt at `seq`
/// (made when `seq` moves had been accepted) after the same.
#[derive(Default)]
struct InOrder {
    /// The next accepted move to say.
    next: u64,
    /// Lines waiting for an earlier one (with the side that says them),
    /// by (seq, accepted).
    waiting: std::collections::BTreeMap<(u64, bool), (Side, String)>,
}

impl InOrder {
    fn put(&mut self, seq: u64, accepted: bool, who: Side, line: String, say: &Say) {
        self.waiting.insert((seq, accepted), (who, line));
        while let Some(entry) = self.waiting.first_entry() {
            let (s, accepted) = *entry.key();
            if s > self.next {
                break;
            }
            let (who, line) = entry.remove();
            say(Some(who), &line);
            if accepted && s == self.next {
                self.next += 1;
            }
        }
    }

    /// Says whatever still waits (a move nobody told).
    fn flush(self, say: &Say) {
        for (who, line) in self.waiting.into_values() {
            say(Some(who), &line);
        }
    }
}
