//! A game played in memory between two players, with a virtual clock: the
//! rules without the network, for tests and benches.

use crate::players::player::Player;
use crate::rules::transcript::{Record, TRANSCRIPT_TYPE, Transcript};
use crate::rules::{DisputeState, Move, MoveError, Phase, Side};

/// One attempted move.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Who.
    pub side: Side,
    /// What.
    pub mv: Move,
    /// When (virtual milliseconds).
    pub time_ms: u64,
    /// Accepted, or why not.
    pub result: Result<(), MoveError>,
}

/// Plays until the game ends, nobody can move, or `max_moves` attempts.
/// A side that does not move when the game waits for it loses on time.
/// Each attempt advances the virtual clock by one millisecond.
pub fn play(
    game: &mut DisputeState,
    defender: &mut Player,
    challenger: &mut Player,
    max_moves: usize,
) -> Vec<Attempt> {
    let mut log = Vec::new();
    let mut now = game.turn_since_ms;
    while !game.is_over() && log.len() < max_moves {
        let movers: Vec<Side> = match game.phase {
            // Either side may prove; the honest one will.
            Phase::Prove(_) => vec![Side::Challenger, Side::Defender],
            _ => vec![game.turn],
        };
        let mut progressed = false;
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
            let seq = game.seq;
            let result = game.apply(side, seq, &mv, now);
            let ok = result.is_ok();
            log.push(Attempt {
                side,
                mv,
                time_ms: now,
                result,
            });
            if ok {
                progressed = true;
                break;
            }
        }
        if !progressed {
            if matches!(game.phase, Phase::Open) {
                // The challenger does not dispute: the claim stands, no game.
                break;
            }
            // Nobody moves: the running clock runs out.
            now += game.time_left(game.turn, now);
            game.expire(now);
        }
    }
    log
}

/// The transcript of a game played with [`play`].
pub fn transcript(
    game_id: &str,
    start: &DisputeState,
    program: &[u8],
    input: &[u8],
    log: &[Attempt],
    end: &DisputeState,
) -> Transcript {
    let moves = log
        .iter()
        .filter(|a| a.result.is_ok())
        .enumerate()
        .map(|(seq, a)| Record {
            seq: seq as u64,
            side: a.side,
            time_ms: a.time_ms,
            mv: a.mv.clone(),
        })
        .collect();
    Transcript {
        kind: TRANSCRIPT_TYPE.to_string(),
        version: crate::rules::transcript::TRANSCRIPT_VERSION,
        game: game_id.to_string(),
        dispute: 0,
        claim: start.claim.clone(),
        program: program.to_vec(),
        input: input.to_vec(),
        levels: start.levels.clone(),
        clock_ms: start.clock_ms[0],
        created_ms: start.turn_since_ms,
        moves,
        outcome: end.outcome().cloned(),
    }
}
