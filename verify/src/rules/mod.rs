//! The rules of the bisection game: a deterministic state machine with no
//! I/O. The referee runs it on live moves; the offline transcript checker
//! runs the same code on recorded moves.
//!
//! ## Play
//!
//! 1. **Open.** The defender's claim stands unless the challenger
//!    challenges it (its clock runs meanwhile).
//! 2. **Bisect**, level by level. The interval `[lo, hi]` of a level has an
//!    agreed root at `lo` and the defender's disputed root at `hi`. A round
//!    splits it into `p = min(k, hi - lo)` parts of `step = (hi - lo) / p`
//!    units (`k` is the level's fan-out): the defender dissects it, posting
//!    its `p - 1` roots at `lo + step, lo + 2 step, ...`; the challenger
//!    picks the first part it disputes (it agrees with every root before
//!    that part), which becomes the interval. At `hi = lo + 1` the
//!    level hands over to the next: a steps level to the next steps level
//!    carries both roots; the last steps level hands A-step `t` to the micro
//!    levels with the roots `root(attach(Q*, S))`, computed by the referee
//!    from the two `root(S)`s.
//! 3. **Prove.** After the last level, one micro-step `j` is disputed:
//!    either side may submit its proof. The verifier module computes
//!    `root(R_(j+1))` from the agreed `root(R_j)`: if it is the defender's
//!    root the defender wins, otherwise the challenger. The defender's clock
//!    runs until a valid proof arrives.
//!
//! Nothing agreed comes from a player: `root(S_0)` is computed from the
//! program and input, and the level hand-overs from the roots in play.
//! Every move names its level and position, and carries the game's move
//! number (`seq`), so a stale, replayed or misdirected move is refused
//! without changing anything. A side whose clock runs out loses.

pub mod claim;
pub mod levels;
pub mod policy;
pub mod strict;
pub mod transcript;

use crate::hash::{Hash, keccak};
use crate::layout::image::{Image, ImageError};
use crate::proof::StepProof;
use crate::rules::claim::Claim;
use crate::rules::levels::{Level, LevelError, LevelKind, unit_log2, validate};
use crate::verify::{VerifyError, attach_root, verify_step};
use serde::{Deserialize, Serialize};

/// A player.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Stands by the claim.
    Defender,
    /// Disputes it.
    Challenger,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Defender => Side::Challenger,
            Side::Challenger => Side::Defender,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Defender => "defender",
            Side::Challenger => "challenger",
        })
    }
}

/// A move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Move {
    /// The challenger disputes the claim (with its own final root, for the record).
    Challenge {
        /// The challenger's `root(S_(2^b))`.
        root: Hash,
    },
    /// The defender's roots inside the current interval: `roots[i]` at
    /// `lo + (i + 1) * step`, [`Bisection::parts`] `- 1` of them.
    Dissect {
        /// Level index.
        level: usize,
        /// The first root's position ([`Bisection::first`]), in units of the level.
        position: u64,
        /// The roots.
        roots: Vec<Hash>,
    },
    /// The challenger picks the first part of the dissection it disputes.
    Pick {
        /// Level index.
        level: usize,
        /// The dissection's position ([`Bisection::first`]).
        position: u64,
        /// The part, `0..parts`: the challenger agrees with every root
        /// before it and disputes the root at its end.
        part: u64,
    },
    /// The one-step proof of the disputed micro-step.
    Proof {
        /// The proof.
        proof: Box<StepProof>,
    },
}

impl Move {
    /// A short name.
    pub fn name(&self) -> &'static str {
        match self {
            Move::Challenge { .. } => "challenge",
            Move::Dissect { .. } => "dissect",
            Move::Pick { .. } => "pick",
            Move::Proof { .. } => "proof",
        }
    }
}

/// The interval being dissected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bisection {
    /// Level index.
    pub level: usize,
    /// Kind of the level.
    pub kind: LevelKind,
    /// Fan-out of the level.
    pub k: u32,
    /// Absolute step (A-step or micro-step) of position 0 of this level.
    pub base: u64,
    /// log2 of the steps in one unit of this level.
    pub unit_log2: u32,
    /// The disputed A-step, once the steps levels are done.
    pub t: Option<u64>,
    /// Agreed end.
    pub lo: u64,
    /// Disputed end.
    pub hi: u64,
    /// Root at `lo` (agreed).
    pub lo_root: Hash,
    /// The defender's root at `hi` (disputed).
    pub hi_root: Hash,
    /// The defender's roots of the round, awaiting the challenger's pick
    /// (empty: the defender's turn).
    pub roots: Vec<Hash>,
}

impl Bisection {
    /// The parts of a round: `min(k, hi - lo)`.
    pub fn parts(&self) -> u64 {
        (self.k as u64).min(self.hi - self.lo).max(1)
    }

    /// The units of one part: `(hi - lo) / parts`.
    pub fn step(&self) -> u64 {
        (self.hi - self.lo) / self.parts()
    }

    /// The position of the round's first root, `lo + step` (for `k = 2`
    /// the midpoint): the position a dissection and its pick name.
    pub fn first(&self) -> u64 {
        self.lo + self.step()
    }

    /// The positions of the round's `parts - 1` roots.
    pub fn positions(&self) -> impl Iterator<Item = u64> {
        let (lo, step) = (self.lo, self.step());
        (1..self.parts()).map(move |i| lo + i * step)
    }

    /// Whether the defender has dissected the round (the challenger's turn).
    pub fn dissected(&self) -> bool {
        !self.roots.is_empty()
    }

    /// The absolute step (A-step, or micro-step of A-step `t`) of a position.
    pub fn absolute(&self, position: u64) -> u64 {
        self.base + (position << self.unit_log2)
    }
}

/// The disputed micro-step, awaiting its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disputed {
    /// The A-step.
    pub t: u64,
    /// The micro-step within it.
    pub j: u64,
    /// Agreed `root(R_j)`.
    pub root_before: Hash,
    /// The defender's `root(R_(j+1))`.
    pub root_after: Hash,
}

/// How a dispute ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "lowercase", deny_unknown_fields)]
pub enum Outcome {
    /// The proof decided: the step leads to `computed`.
    Proof {
        /// The winner.
        winner: Side,
        /// Who submitted the proof.
        by: Side,
        /// The root the verifier computed.
        computed: Hash,
    },
    /// A side ran out of time.
    Timeout {
        /// The winner.
        winner: Side,
    },
}

impl Outcome {
    /// The winner.
    pub fn winner(&self) -> Side {
        match self {
            Outcome::Proof { winner, .. } | Outcome::Timeout { winner } => *winner,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Proof {
                winner,
                by,
                computed,
            } => write!(
                f,
                "{winner} wins: the step proof (submitted by the {by}) leads to {computed}, {}",
                if *winner == Side::Defender {
                    "the defender's root"
                } else {
                    "not the defender's root"
                }
            ),
            Outcome::Timeout { winner } => {
                write!(f, "{winner} wins: the {} ran out of time", winner.other())
            }
        }
    }
}

/// Where a dispute stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "lowercase")]
pub enum Phase {
    /// Waiting for a challenge.
    Open,
    /// Bisecting.
    Bisect(Bisection),
    /// Waiting for the step proof.
    Prove(Disputed),
    /// Finished.
    Done(Outcome),
}

/// Why a dispute cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The program does not hash to the claim's program hash.
    #[error("program: the ELF hashes to {computed}, the claim says {claimed}")]
    ProgramHash {
        /// The claim's hash.
        claimed: Hash,
        /// The ELF's hash.
        computed: Hash,
    },
    /// The input does not hash to the claim's input hash.
    #[error("input: the input hashes to {computed}, the claim says {claimed}")]
    InputHash {
        /// The claim's hash.
        claimed: Hash,
        /// The input's hash.
        computed: Hash,
    },
    /// `b` is too large.
    #[error("b = {0} is too large (at most {max})", max = crate::rules::levels::MAX_B)]
    B(u32),
    /// Bad level list.
    #[error("levels: {0}")]
    Levels(#[from] LevelError),
    /// The input does not fit the state.
    #[error("input: {0}")]
    Image(#[from] ImageError),
}

/// Why a move is refused (nothing changes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// The dispute has ended.
    #[error("the game is over: {0}")]
    Over(String),
    /// Not this side's turn.
    #[error("out of turn: it is the {turn}'s turn, not the {side}'s")]
    OutOfTurn {
        /// Whose turn it is.
        turn: Side,
        /// Who moved.
        side: Side,
    },
    /// The move number is not the dispute's.
    #[error("stale or replayed move: it says seq {found}, the game is at seq {expected}")]
    Seq {
        /// The dispute's move number.
        expected: u64,
        /// The move's.
        found: u64,
    },
    /// A move of the wrong kind for the phase.
    #[error("a {got} move is not allowed now: {expected}")]
    Unexpected {
        /// What the dispute waits for.
        expected: String,
        /// The move's kind.
        got: &'static str,
    },
    /// Wrong level or position.
    #[error(
        "wrong place: the move is for level {level} position {position}, the game is at level {want_level} position {want_position}"
    )]
    Place {
        /// The move's level.
        level: usize,
        /// The move's position.
        position: u64,
        /// The dispute's level.
        want_level: usize,
        /// The dispute's position.
        want_position: u64,
    },
    /// A dissection with the wrong number of roots.
    #[error("wrong number of roots: this round has {parts} parts, so {expected} roots, the move has {found}", parts = expected + 1)]
    Roots {
        /// `parts - 1`.
        expected: usize,
        /// The move's.
        found: usize,
    },
    /// A pick of a part the round does not have.
    #[error("part {part} out of range: this round has {parts} parts (0 to {last})", last = parts - 1)]
    Part {
        /// The move's part.
        part: u64,
        /// The round's parts.
        parts: u64,
    },
    /// The proof does not verify.
    #[error("invalid proof: {0}")]
    Proof(#[from] VerifyError),
}

/// One dispute under the rules: the defender against one challenger over
/// a claim (a claim may have several disputes; the referee runs one of
/// these for each).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeState {
    /// The claim.
    pub claim: Claim,
    /// The levels.
    pub levels: Vec<Level>,
    /// `root(S_0)`, computed from the program and input.
    pub initial_root: Hash,
    /// Where the dispute stands.
    pub phase: Phase,
    /// Whose clock runs.
    pub turn: Side,
    /// Time left, in milliseconds, by side (defender, challenger).
    pub clock_ms: [u64; 2],
    /// When the current turn began (milliseconds since the epoch).
    pub turn_since_ms: u64,
    /// Moves accepted so far.
    pub seq: u64,
}

impl DisputeState {
    /// Sets up a dispute: checks the program and input against the claim,
    /// checks the levels and computes `root(S_0)` from the program's
    /// `image` (the ELF loader gives it: `Program::image` in the `mswap` crate).
    pub fn new(
        claim: Claim,
        elf: &[u8],
        input: &[u8],
        image: &Image,
        levels: Vec<Level>,
        clock_ms: u64,
        now_ms: u64,
    ) -> Result<DisputeState, SetupError> {
        let initial_root = initial_root(&claim, elf, input, image)?;
        DisputeState::with_root(claim, levels, initial_root, clock_ms, now_ms)
    }

    /// Sets up a dispute whose `root(S_0)` the caller computed with
    /// [`initial_root`] (the referee does it once per claim, not once per
    /// dispute); checks `b` and the levels.
    pub fn with_root(
        claim: Claim,
        levels: Vec<Level>,
        initial_root: Hash,
        clock_ms: u64,
        now_ms: u64,
    ) -> Result<DisputeState, SetupError> {
        if claim.b > crate::rules::levels::MAX_B {
            return Err(SetupError::B(claim.b));
        }
        validate(&levels, claim.b)?;
        Ok(DisputeState {
            claim,
            levels,
            initial_root,
            phase: Phase::Open,
            turn: Side::Challenger,
            clock_ms: [clock_ms; 2],
            turn_since_ms: now_ms,
            seq: 0,
        })
    }

    /// The referee stopped at `last_ms` (its last logged time) and resumes
    /// at `resume_ms`: the side on turn is charged up to `last_ms` (and
    /// loses if its clock ran out by then), nobody for the time between.
    pub fn pause(&mut self, last_ms: u64, resume_ms: u64) {
        if self.is_over() {
            return;
        }
        let at = last_ms.max(self.turn_since_ms);
        if self.expire(at) {
            return;
        }
        let used = at - self.turn_since_ms;
        let i = self.turn.index();
        self.clock_ms[i] = self.clock_ms[i].saturating_sub(used);
        self.turn_since_ms = resume_ms.max(at);
    }

    /// Time left for `side` at `now_ms`.
    pub fn time_left(&self, side: Side, now_ms: u64) -> u64 {
        let left = self.clock_ms[side.index()];
        if side == self.turn && !self.is_over() {
            left.saturating_sub(now_ms.saturating_sub(self.turn_since_ms))
        } else {
            left
        }
    }

    /// Whether the dispute has ended.
    pub fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    /// The outcome, if the dispute has ended.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.phase {
            Phase::Done(o) => Some(o),
            _ => None,
        }
    }

    /// Ends the dispute if the side on turn has run out of time; returns whether it did.
    pub fn expire(&mut self, now_ms: u64) -> bool {
        if self.is_over() || self.time_left(self.turn, now_ms) > 0 {
            return false;
        }
        self.clock_ms[self.turn.index()] = 0;
        self.phase = Phase::Done(Outcome::Timeout {
            winner: self.turn.other(),
        });
        true
    }

    /// What the dispute waits for, in words.
    pub fn waiting_for(&self) -> String {
        match &self.phase {
            Phase::Open => "the challenger may challenge the claim".into(),
            Phase::Bisect(b) if !b.dissected() => format!(
                "the defender's {} roots at level {} positions {}, {}, ... (every {})",
                b.parts() - 1,
                b.level,
                b.first(),
                b.first() + b.step(),
                b.step()
            ),
            Phase::Bisect(b) => format!(
                "the challenger's pick of one of {} parts at level {} position {}",
                b.parts(),
                b.level,
                b.first()
            ),
            Phase::Prove(d) => format!(
                "a proof of micro-step {} of A-step {} (from either side)",
                d.j, d.t
            ),
            Phase::Done(o) => format!("nothing: {o}"),
        }
    }

    /// Applies a move by `side` with move number `seq` at time `now_ms`.
    /// On error nothing changes.
    pub fn apply(&mut self, side: Side, seq: u64, mv: &Move, now_ms: u64) -> Result<(), MoveError> {
        if let Phase::Done(o) = &self.phase {
            return Err(MoveError::Over(o.to_string()));
        }
        if seq != self.seq {
            return Err(MoveError::Seq {
                expected: self.seq,
                found: seq,
            });
        }
        let proving = matches!(self.phase, Phase::Prove(_));
        if side != self.turn && !proving {
            return Err(MoveError::OutOfTurn {
                turn: self.turn,
                side,
            });
        }
        let next = self.next_phase(side, mv)?;
        // Accepted: charge the running clock and hand the turn over.
        let mover = self.turn;
        let used = now_ms.saturating_sub(self.turn_since_ms);
        self.clock_ms[mover.index()] = self.clock_ms[mover.index()].saturating_sub(used);
        self.turn_since_ms = now_ms;
        self.seq += 1;
        self.turn = match &next {
            Phase::Open => Side::Challenger,
            Phase::Bisect(b) if b.dissected() => Side::Challenger,
            Phase::Bisect(_) | Phase::Prove(_) => Side::Defender,
            Phase::Done(_) => mover,
        };
        self.phase = next;
        Ok(())
    }

    /// The phase after `mv`, without changing anything.
    fn next_phase(&self, side: Side, mv: &Move) -> Result<Phase, MoveError> {
        let unexpected = |expected: &str| MoveError::Unexpected {
            expected: expected.to_string(),
            got: mv.name(),
        };
        match (&self.phase, mv) {
            (Phase::Open, Move::Challenge { .. }) => {
                Ok(self.start_level(0, 0, None, self.initial_root, self.claim.final_root))
            }
            (Phase::Open, _) => Err(unexpected("the game waits for a challenge")),
            (
                Phase::Bisect(b),
                Move::Dissect {
                    level,
                    position,
                    roots,
                },
            ) if !b.dissected() => {
                check_place(b, *level, *position)?;
                let expected = (b.parts() - 1) as usize;
                if roots.len() != expected {
                    return Err(MoveError::Roots {
                        expected,
                        found: roots.len(),
                    });
                }
                let mut b = b.clone();
                b.roots = roots.clone();
                Ok(Phase::Bisect(b))
            }
            (
                Phase::Bisect(b),
                Move::Pick {
                    level,
                    position,
                    part,
                },
            ) if b.dissected() => {
                check_place(b, *level, *position)?;
                let parts = b.parts();
                if *part >= parts {
                    return Err(MoveError::Part { part: *part, parts });
                }
                let mut b = b.clone();
                let step = b.step();
                let roots = std::mem::take(&mut b.roots);
                let i = *part as usize;
                if i > 0 {
                    b.lo_root = roots[i - 1];
                }
                if i < roots.len() {
                    b.hi_root = roots[i];
                }
                b.lo += part * step;
                b.hi = b.lo + step;
                Ok(self.settle_level(b))
            }
            (Phase::Bisect(b), _) if !b.dissected() => Err(unexpected(&format!(
                "the defender dissects level {} at position {} ({} roots)",
                b.level,
                b.first(),
                b.parts() - 1
            ))),
            (Phase::Bisect(b), _) => Err(unexpected(&format!(
                "the challenger picks one of {} parts at level {} position {}",
                b.parts(),
                b.level,
                b.first()
            ))),
            (Phase::Prove(d), Move::Proof { proof }) => {
                let computed = verify_step(&d.root_before, proof)?;
                let winner = if computed == d.root_after {
                    Side::Defender
                } else {
                    Side::Challenger
                };
                Ok(Phase::Done(Outcome::Proof {
                    winner,
                    by: side,
                    computed,
                }))
            }
            (Phase::Prove(d), _) => Err(unexpected(&format!(
                "a proof of micro-step {} of A-step {}",
                d.j, d.t
            ))),
            (Phase::Done(o), _) => Err(MoveError::Over(o.to_string())),
        }
    }

    /// The phase at the start of level `level` over `[0, 2^log2]` with the given end roots.
    fn start_level(
        &self,
        level: usize,
        base: u64,
        t: Option<u64>,
        lo_root: Hash,
        hi_root: Hash,
    ) -> Phase {
        let l = self.levels.get(level).copied().unwrap_or(Level::micro(0));
        let b = Bisection {
            level,
            kind: l.kind,
            k: l.k,
            base,
            unit_log2: unit_log2(&self.levels, level),
            t,
            lo: 0,
            hi: 1u64 << l.log2,
            lo_root,
            hi_root,
            roots: Vec::new(),
        };
        self.settle_level(b)
    }

    /// A bisection whose interval is one unit hands over to the next level
    /// (or to the proof); otherwise it goes on.
    fn settle_level(&self, b: Bisection) -> Phase {
        if b.hi - b.lo > 1 {
            return Phase::Bisect(b);
        }
        let start = b.absolute(b.lo);
        match self.levels.get(b.level + 1) {
            Some(next) if next.kind == b.kind => {
                self.start_level(b.level + 1, start, b.t, b.lo_root, b.hi_root)
            }
            Some(_) => {
                // Steps -> micro: the referee attaches Q* to both roots itself.
                self.start_level(
                    b.level + 1,
                    0,
                    Some(start),
                    attach_root(&b.lo_root),
                    attach_root(&b.hi_root),
                )
            }
            None => Phase::Prove(Disputed {
                t: b.t.unwrap_or(start),
                j: start,
                root_before: b.lo_root,
                root_after: b.hi_root,
            }),
        }
    }
}

/// `root(S_0)` of a claim's program and input, after checking them
/// against the claim's hashes: derived from the program's `image` as the
/// contract derives it (loading the ELF into its image is the caller's:
/// `Program::image` in the `mswap` crate, so this crate parses no ELF).
pub fn initial_root(
    claim: &Claim,
    elf: &[u8],
    input: &[u8],
    image: &Image,
) -> Result<Hash, SetupError> {
    initial_root_with(claim, elf, input, image, crate::layout::image::input_root)
}

/// [`initial_root`] with the input region's root computed by `input_root`
/// (see [`Image::initial_root_with`]).
pub fn initial_root_with(
    claim: &Claim,
    elf: &[u8],
    input: &[u8],
    image: &Image,
    input_root: impl FnOnce(&[u8]) -> Hash,
) -> Result<Hash, SetupError> {
    let computed = keccak(&[elf]);
    if computed != claim.program {
        return Err(SetupError::ProgramHash {
            claimed: claim.program,
            computed,
        });
    }
    let computed = keccak(&[input]);
    if computed != claim.input {
        return Err(SetupError::InputHash {
            claimed: claim.input,
            computed,
        });
    }
    check_limits(claim, input)?;
    Ok(image.initial_root_with(input, input_root)?)
}

/// What [`initial_root_with`] checks besides the hashes: the claim's `b`
/// and the input's size within the rules' limits (for a player that
/// derives `root(S_0)` from its own run).
pub fn check_limits(claim: &Claim, input: &[u8]) -> Result<(), SetupError> {
    if claim.b > crate::rules::levels::MAX_B {
        return Err(SetupError::B(claim.b));
    }
    crate::layout::image::check_input(input)?;
    Ok(())
}

fn check_place(b: &Bisection, level: usize, position: u64) -> Result<(), MoveError> {
    if level != b.level || position != b.first() {
        return Err(MoveError::Place {
            level,
            position,
            want_level: b.level,
            want_position: b.first(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
