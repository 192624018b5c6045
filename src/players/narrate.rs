//! The one-line narration of moves: what a move says, told from the
//! state it was made in ([`describe`]), and the `Narrator` that tells
//! each accepted move of a dispute once from the views a player gets.

use crate::players::player::{Query, midpoint_query};
use crate::players::wire::View;
use crate::rules::levels::LevelKind;
use crate::rules::transcript::Record;
use crate::rules::{Bisection, DisputeState, Move, Outcome, Phase, Side};

fn short(h: &crate::hash::Hash) -> String {
    format!("{}..", &h.to_hex()[..12])
}

/// "1 access", "12 accesses".
fn accesses(n: usize) -> String {
    if n == 1 {
        "1 access".into()
    } else {
        format!("{n} accesses")
    }
}

/// The point a bisection's position stands for: `S_t`, or `R_j` (of the disputed A-step).
fn point(b: &Bisection, position: u64) -> String {
    match b.kind {
        LevelKind::Micro => format!("R_{}", b.absolute(position)),
        LevelKind::Steps => format!("S_{}", b.absolute(position)),
    }
}

/// The root a bisection's midpoint is: `root(S_t)`, or `root(R_j) of A-step t`.
fn midpoint(b: &Bisection) -> String {
    match midpoint_query(b) {
        Query::Step(t) => format!("root(S_{t})"),
        Query::Micro { t, j } => format!("root(R_{j}) of A-step {t}"),
    }
}

/// Where a bisection stands: its level, interval and the points at its ends.
fn interval(b: &Bisection, lo: u64, hi: u64) -> String {
    let of = match (b.kind, b.t) {
        (LevelKind::Micro, Some(t)) => format!(" of A-step {t}"),
        _ => String::new(),
    };
    format!(
        "level {} [{lo}, {hi}] = {} .. {}{of}",
        b.level,
        point(b, lo),
        point(b, hi)
    )
}

/// One line about `mv` by `side`, made in `game` (the state before the
/// move). Lines start with the side that moved.
pub fn describe(game: &DisputeState, side: Side, mv: &Move) -> String {
    match (mv, &game.phase) {
        (Move::Challenge { root }, _) => format!(
            "{side} challenges the claimed final root {}: its own is {}",
            short(&game.claim.final_root),
            short(root)
        ),
        (Move::Midpoint { root, .. }, Phase::Bisect(b)) => {
            format!(
                "{side} posts {} = {} ({})",
                midpoint(b),
                short(root),
                interval(b, b.lo, b.hi)
            )
        }
        (Move::Agree { .. } | Move::Disagree { .. }, Phase::Bisect(b)) => {
            let agrees = matches!(mv, Move::Agree { .. });
            let (lo, hi) = if agrees {
                (b.mid(), b.hi)
            } else {
                (b.lo, b.mid())
            };
            format!(
                "{side} {} {} = {} (now {})",
                if agrees { "agrees with" } else { "disputes" },
                midpoint(b),
                b.mid_root.as_ref().map_or("?".into(), short),
                interval(b, lo, hi)
            )
        }
        (Move::Proof { proof }, Phase::Prove(d)) => format!(
            "{side} submits the proof of micro-step {} of A-step {} ({}) from {}; the defender says it leads to {}",
            d.j,
            d.t,
            accesses(proof.accesses.len()),
            short(&d.root_before),
            short(&d.root_after)
        ),
        (mv, _) => describe_record_move(side, mv),
    }
}

/// One line about a move, without the game it was made in.
fn describe_record_move(side: Side, mv: &Move) -> String {
    match mv {
        Move::Challenge { root } => format!("{side} challenges: its final root is {}", short(root)),
        Move::Midpoint {
            level,
            position,
            root,
        } => format!(
            "{side} posts {} at level {level} position {position}",
            short(root)
        ),
        Move::Agree { level, position } => {
            format!("{side} agrees at level {level} position {position}")
        }
        Move::Disagree { level, position } => {
            format!("{side} disputes level {level} position {position}")
        }
        Move::Proof { proof } => format!(
            "{side} submits a step proof ({})",
            accesses(proof.accesses.len())
        ),
    }
}

/// One line about a recorded move, without the game it was made in.
pub fn describe_record(r: &Record) -> String {
    describe_record_move(r.side, &r.mv)
}

/// One line about how a game ended.
pub fn describe_end(o: &Outcome) -> String {
    format!("game over: {o}")
}

/// Follows a game from the views a player gets and says each accepted
/// move once, described from the state it was made in.
pub(crate) struct Narrator {
    /// The game as of the last move said.
    known: DisputeState,
}

impl Narrator {
    pub(crate) fn new(game: &DisputeState) -> Narrator {
        Narrator {
            known: game.clone(),
        }
    }

    /// Says the moves of `view` not said yet, then catches up with it.
    pub(crate) fn follow(&mut self, view: &View, say: &mut dyn FnMut(Side, String)) {
        let from = self.known.seq;
        for r in view.recent.iter().filter(|r| r.seq >= from) {
            let line = if r.seq == self.known.seq {
                let line = describe(&self.known, r.side, &r.mv);
                if self.known.apply(r.side, r.seq, &r.mv, r.time_ms).is_err() {
                    self.known = view.game.clone();
                }
                line
            } else {
                // A gap (more moves than a view carries): no context.
                describe_record(r)
            };
            say(r.side, format!("[seq {}] {line}", r.seq));
        }
        if self.known.seq != view.game.seq || self.known.is_over() != view.game.is_over() {
            self.known = view.game.clone();
        }
    }
}
