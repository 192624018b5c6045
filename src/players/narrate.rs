//! The one-line narration of moves: what a move says, told from the
//! state it was made in ([`describe`]), and the `Narrator` that tells
//! each accepted move of a dispute once from the views a player gets.

use crate::players::player::{Query, query_at};
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

/// The root at a bisection's position: `root(S_t)`, or `root(R_j) of A-step t`.
fn root_name(b: &Bisection, position: u64) -> String {
    match query_at(b, position) {
        Query::Step(t) => format!("root(S_{t})"),
        Query::Micro { t, j } => format!("root(R_{j}) of A-step {t}"),
    }
}

/// The roots of a dissection: the one root, or the first and last.
fn roots_said(roots: &[crate::hash::Hash]) -> String {
    match roots {
        [] => "no roots".into(),
        [one] => short(one),
        [first, .., last] => format!("{} roots {} .. {}", roots.len(), short(first), short(last)),
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
        (Move::Dissect { roots, .. }, Phase::Bisect(b)) if roots.len() == 1 => format!(
            "{side} posts {} = {} ({})",
            root_name(b, b.first()),
            short(&roots[0]),
            interval(b, b.lo, b.hi)
        ),
        (Move::Dissect { roots, .. }, Phase::Bisect(b)) => format!(
            "{side} dissects {} into {} parts of {}: {} at {} .. {}",
            interval(b, b.lo, b.hi),
            b.parts(),
            b.step(),
            roots_said(roots),
            point(b, b.first()),
            point(b, b.hi - b.step())
        ),
        (Move::Pick { part, .. }, Phase::Bisect(b)) if *part < b.parts() => {
            let (lo, hi) = (b.lo + part * b.step(), b.lo + (part + 1) * b.step());
            // What a pick says under the rules: the part's start root is
            // right (for part 0, the interval's own start) and its end root
            // wrong; nothing about the roots it did not look at.
            let agreed = format!("agrees with {}", root_name(b, lo));
            let disputed = match b.roots.get(*part as usize) {
                Some(r) => format!("{} = {}", root_name(b, hi), short(r)),
                None => format!("{} = {}", root_name(b, hi), short(&b.hi_root)),
            };
            format!(
                "{side} picks part {part} of {}: {agreed}, disputes {disputed} (now {})",
                b.parts(),
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
        Move::Dissect {
            level,
            position,
            roots,
        } => format!(
            "{side} posts {} at level {level} from position {position}",
            roots_said(roots)
        ),
        Move::Pick {
            level,
            position,
            part,
        } => {
            format!("{side} picks part {part} at level {level} position {position}")
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
