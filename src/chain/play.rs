//! A game played on chain: the `DisputeGame` contract is the referee, each
//! move a real transaction from the side's account. The players decide
//! with the same strategies as over HTTP ([`crate::game::player::Player`]),
//! from a local copy of the game that applies the same rules
//! ([`crate::game::rules::Game`]); after every move the contract's state
//! must match the local one, so a disagreement between the contract and
//! the Rust rules stops the game with an error.
//!
//! The chain side is reached through [`ChainReferee`], a small interface of
//! its own (claim, challenge, the four moves, the dispute's state), so that
//! a player client written against a common referee trait can take it as
//! its chain implementation.

use super::abi::selector;
use super::rpc::{Rpc, RpcError};
use crate::game::levels::{Level, LevelKind};
use crate::game::player::Player;
use crate::game::rules::{Game, Move, Phase, Side};
use crate::hash::Hash;
use crate::proof::binary;

/// The contract's view of one dispute (`DisputeGame.getDispute`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainDispute {
    /// 0 bisect, 1 prove, 2 done.
    pub phase: u8,
    /// Whose turn (0 defender, 1 challenger).
    pub turn: u8,
    /// The winner once done (0 defender, 1 challenger).
    pub winner: u8,
    /// Current level.
    pub level: u8,
    /// Agreed and disputed ends of the interval.
    pub lo: u64,
    /// Disputed end.
    pub hi: u64,
    /// Root at `lo`.
    pub lo_root: Hash,
    /// Root at `hi`.
    pub hi_root: Hash,
}

/// The moves of a dispute game on chain, one transaction each; every
/// method returns the transaction's gas.
pub trait ChainReferee {
    /// The defender claims a run; returns the claim id and the gas.
    fn claim(&self, game: &Game) -> Result<(u64, u64), RpcError>;
    /// A challenger disputes claim `id`; returns the dispute id and the gas.
    fn challenge(&self, id: u64, root: &Hash) -> Result<(u64, u64), RpcError>;
    /// A move of the bisection or the proof, by `side`.
    fn play(&self, dispute: u64, side: Side, mv: &Move) -> Result<u64, RpcError>;
    /// The dispute's state as the contract holds it.
    fn dispute(&self, dispute: u64) -> Result<ChainDispute, RpcError>;
}

/// A `DisputeGame` deployed at `game`, played from two accounts of a node.
pub struct Contract<'a> {
    /// The node.
    pub rpc: &'a Rpc,
    /// The contract's address.
    pub game: String,
    /// The defender's account.
    pub defender: String,
    /// The challenger's account.
    pub challenger: String,
}

fn word_u64(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// ABI-encodes a call whose arguments are static words followed by at most
/// one `bytes` (placed last).
fn encode_call(sig: &str, words: &[[u8; 32]], tail: Option<&[u8]>) -> Vec<u8> {
    let mut out = selector(sig).to_vec();
    let head = words.len() + usize::from(tail.is_some());
    for w in words {
        out.extend_from_slice(w);
    }
    if let Some(b) = tail {
        out.extend_from_slice(&word_u64(32 * head as u64));
        out.extend_from_slice(&word_u64(b.len() as u64));
        out.extend_from_slice(b);
        out.resize(out.len() + (32 - b.len() % 32) % 32, 0);
    }
    out
}

/// The contract's encoding of a level list: one byte each, bit 7 for a
/// micro level, bits 0..6 its log2.
pub fn level_bytes(levels: &[Level]) -> Vec<u8> {
    levels
        .iter()
        .map(|l| l.log2 as u8 | if l.kind == LevelKind::Micro { 0x80 } else { 0 })
        .collect()
}

impl Contract<'_> {
    fn counts(&self) -> Result<(u64, u64), RpcError> {
        let r = self.rpc.call(&self.game, &selector("counts()"))?;
        let w = |i: usize| {
            r.get(i * 32 + 24..i * 32 + 32)
                .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
                .unwrap_or(0)
        };
        Ok((w(0), w(1)))
    }
}

impl ChainReferee for Contract<'_> {
    fn claim(&self, game: &Game) -> Result<(u64, u64), RpcError> {
        let (id, _) = self.counts()?;
        let data = encode_call(
            "claim(bytes32,bytes32,bytes32,bytes32,uint8,bytes)",
            &[
                game.claim.program.0,
                game.claim.input.0,
                game.initial_root.0,
                game.claim.final_root.0,
                word_u64(game.claim.b as u64),
            ],
            Some(&level_bytes(&game.levels)),
        );
        let r = self.rpc.send(&self.defender, Some(&self.game), &data)?;
        Ok((id, r.gas_used))
    }

    fn challenge(&self, id: u64, root: &Hash) -> Result<(u64, u64), RpcError> {
        let (_, d) = self.counts()?;
        let data = encode_call("challenge(uint256,bytes32)", &[word_u64(id), root.0], None);
        let r = self.rpc.send(&self.challenger, Some(&self.game), &data)?;
        Ok((d, r.gas_used))
    }

    fn play(&self, dispute: u64, side: Side, mv: &Move) -> Result<u64, RpcError> {
        let d = word_u64(dispute);
        let data = match mv {
            Move::Midpoint {
                level,
                position,
                root,
            } => encode_call(
                "midpoint(uint256,uint8,uint64,bytes32)",
                &[d, word_u64(*level as u64), word_u64(*position), root.0],
                None,
            ),
            Move::Agree { level, position } => encode_call(
                "agree(uint256,uint8,uint64)",
                &[d, word_u64(*level as u64), word_u64(*position)],
                None,
            ),
            Move::Disagree { level, position } => encode_call(
                "disagree(uint256,uint8,uint64)",
                &[d, word_u64(*level as u64), word_u64(*position)],
                None,
            ),
            Move::Proof { proof } => {
                encode_call("prove(uint256,bytes)", &[d], Some(&binary::encode(proof)))
            }
            Move::Challenge { .. } => {
                return Err(RpcError::Transport(
                    "a challenge opens a dispute: use ChainReferee::challenge".into(),
                ));
            }
        };
        let from = match side {
            Side::Defender => &self.defender,
            Side::Challenger => &self.challenger,
        };
        Ok(self.rpc.send(from, Some(&self.game), &data)?.gas_used)
    }

    fn dispute(&self, dispute: u64) -> Result<ChainDispute, RpcError> {
        let r = self.rpc.call(
            &self.game,
            &encode_call("getDispute(uint256)", &[word_u64(dispute)], None),
        )?;
        // A static struct: its 20 fields, one word each, in declaration order.
        let word = |i: usize| -> [u8; 32] {
            r.get(i * 32..i * 32 + 32)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 32])
        };
        let small = |i: usize| u64::from_be_bytes(word(i)[24..].try_into().unwrap_or([0; 8]));
        Ok(ChainDispute {
            phase: small(2) as u8,
            turn: small(3) as u8,
            winner: small(4) as u8,
            level: small(7) as u8,
            lo: small(11),
            hi: small(12),
            lo_root: Hash(word(17)),
            hi_root: Hash(word(18)),
        })
    }
}

/// One accepted move with its gas.
#[derive(Clone, Debug)]
pub struct ChainMove {
    /// Who moved.
    pub side: Side,
    /// The move.
    pub mv: Move,
    /// Gas of its transaction.
    pub gas: u64,
}

/// Why an on-chain game stopped.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// The node refused or reverted a move.
    #[error("chain: {0}")]
    Rpc(#[from] RpcError),
    /// The local rules refused a move the strategy made.
    #[error("rules: {0}")]
    Rules(#[from] crate::game::rules::MoveError),
    /// The contract and the local rules disagree.
    #[error("the contract and the Rust rules disagree after move {seq}: {what}")]
    Diverged {
        /// The move number.
        seq: u64,
        /// What differs.
        what: String,
    },
    /// Nobody moved while the game waited.
    #[error("no player moves at seq {0}")]
    Stuck(u64),
}

/// A game played on chain.
#[derive(Clone, Debug)]
pub struct ChainGame {
    /// Gas of the claim's transaction.
    pub claim_gas: u64,
    /// Every accepted move (the challenge first), with its gas.
    pub moves: Vec<ChainMove>,
}

impl ChainGame {
    /// Gas of every transaction, the claim's included.
    pub fn total_gas(&self) -> u64 {
        self.claim_gas + self.moves.iter().map(|m| m.gas).sum::<u64>()
    }
}

/// Plays `game` (not yet challenged) on chain: the defender's claim, the
/// challenger's dispute, every move a transaction. The local game ends in
/// the same state as the contract's dispute.
pub fn play(
    referee: &dyn ChainReferee,
    game: &mut Game,
    defender: &mut Player,
    challenger: &mut Player,
    max_moves: usize,
) -> Result<ChainGame, PlayError> {
    let mut log = Vec::new();
    let (id, claim_gas) = referee.claim(game)?;
    let mut now = game.turn_since_ms;
    let mut dispute = None;
    while !game.is_over() && log.len() < max_moves {
        let movers = match game.phase {
            Phase::Prove(_) => vec![Side::Challenger, Side::Defender],
            _ => vec![game.turn],
        };
        let mut moved = false;
        for side in movers {
            let player = if side == Side::Defender {
                &mut *defender
            } else {
                &mut *challenger
            };
            let Some(mv) = player.decide(game) else {
                continue;
            };
            now += 1;
            let mut local = game.clone();
            if local.apply(side, local.seq, &mv, now).is_err() {
                continue;
            }
            let gas = match (&mv, dispute) {
                (Move::Challenge { root }, _) => {
                    let (d, gas) = referee.challenge(id, root)?;
                    dispute = Some(d);
                    gas
                }
                (_, Some(d)) => referee.play(d, side, &mv)?,
                (_, None) => return Err(PlayError::Stuck(game.seq)),
            };
            *game = local;
            log.push(ChainMove { side, mv, gas });
            if let Some(d) = dispute {
                check(&referee.dispute(d)?, game)?;
            }
            moved = true;
            break;
        }
        if !moved {
            return Err(PlayError::Stuck(game.seq));
        }
    }
    Ok(ChainGame {
        claim_gas,
        moves: log,
    })
}

/// The contract's dispute against the local game.
fn check(c: &ChainDispute, g: &Game) -> Result<(), PlayError> {
    let diverged = |what: String| PlayError::Diverged { seq: g.seq, what };
    match &g.phase {
        Phase::Bisect(b) => {
            let want = (0u8, b.level as u8, b.lo, b.hi, b.lo_root, b.hi_root);
            let got = (c.phase, c.level, c.lo, c.hi, c.lo_root, c.hi_root);
            if want != got {
                return Err(diverged(format!("local {want:?}, contract {got:?}")));
            }
        }
        Phase::Prove(d) => {
            if c.phase != 1 || c.lo_root != d.root_before || c.hi_root != d.root_after {
                return Err(diverged(format!(
                    "local awaits the proof of micro-step {} from {}, contract {c:?}",
                    d.j, d.root_before
                )));
            }
        }
        Phase::Done(o) => {
            let winner = u8::from(o.winner() == Side::Challenger);
            if c.phase != 2 || c.winner != winner {
                return Err(diverged(format!("local outcome {o}, contract {c:?}")));
            }
        }
        Phase::Open => return Err(diverged("the local game is still open".into())),
    }
    Ok(())
}
