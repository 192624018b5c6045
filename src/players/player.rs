//! Players: what a side answers at each point of the game.
//!
//! A [`Strategy`] knows roots and proofs; [`Player::decide`] turns the game
//! state into the next move. [`Honest`] answers from a [`Timeline`]; the
//! dishonest strategies ([`Lie`]) exist to test that the honest side wins
//! against every one of them.

use crate::hash::{Hash, keccak};
use crate::players::timeline::Timeline;
use crate::proof::StepProof;
use crate::rules::claim::Claim;
use crate::rules::levels::LevelKind;
use crate::rules::{Bisection, DisputeState, Move, Phase, Side};

/// A point whose root a player is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Query {
    /// `root(S_t)`.
    Step(u64),
    /// `root(R_j)` of A-step `t`.
    Micro {
        /// The A-step.
        t: u64,
        /// The micro-step.
        j: u64,
    },
}

/// Where in the game a query comes from (for targeted lies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Place {
    /// Level index.
    pub level: usize,
    /// Position in the level.
    pub position: u64,
}

/// The query for a position of a bisection.
pub fn query_at(b: &Bisection, position: u64) -> Query {
    let abs = b.absolute(position);
    match (b.kind, b.t) {
        (LevelKind::Micro, Some(t)) => Query::Micro { t, j: abs },
        _ => Query::Step(abs),
    }
}

/// The queries of a round: one for each of its `parts - 1` roots, in
/// order, with their places.
pub fn round_queries(b: &Bisection) -> Vec<(Query, Place)> {
    b.positions()
        .map(|position| {
            (
                query_at(b, position),
                Place {
                    level: b.level,
                    position,
                },
            )
        })
        .collect()
}

/// What a side knows and says.
pub trait Strategy: Send {
    /// The root the side states for `q` (asked at `place`, if in a bisection).
    fn root(&mut self, q: Query, place: Option<Place>) -> Hash;
    /// The proof the side submits for micro-step `j` of A-step `t`, if any.
    fn proof(&mut self, t: u64, j: u64) -> Option<StepProof>;
    /// Whether the side still answers (a silent side lets its clock run out).
    fn answers(&mut self, _seq: u64) -> bool {
        true
    }
    /// Whether a challenger disputes a claim whose final root is `claimed`.
    fn disputes(&mut self, claimed: &Hash) -> bool {
        *claimed != self.root(Query::Step(u64::MAX), None)
    }
    /// Whether a challenger agrees with the defender's `root` at `place`.
    fn agrees(&mut self, q: Query, place: Place, root: &Hash) -> bool {
        self.root(q, Some(place)) == *root
    }
    /// The roots the side states for the queries of a round (a defender's
    /// dissection), in order.
    fn roots(&mut self, asked: &[(Query, Place)]) -> Vec<Hash> {
        asked
            .iter()
            .map(|&(q, place)| self.root(q, Some(place)))
            .collect()
    }
    /// The part a challenger picks from a dissection whose roots `roots`
    /// answer `asked`: the first whose end root it does not agree with
    /// (`roots.len()`, the last part, when it agrees with all).
    fn pick(&mut self, asked: &[(Query, Place)], roots: &[Hash]) -> u64 {
        asked
            .iter()
            .zip(roots)
            .position(|(&(q, place), root)| !self.agrees(q, place, root))
            .unwrap_or(roots.len()) as u64
    }
}

/// Whether every query is a micro-root of the same A-step (then its
/// micro-steps), for a timeline's one-pass batch.
fn micro_batch(asked: &[(Query, Place)]) -> Option<(u64, Vec<u64>)> {
    let t = match asked.first()?.0 {
        Query::Micro { t, .. } => t,
        Query::Step(_) => return None,
    };
    asked
        .iter()
        .map(|(q, _)| match *q {
            Query::Micro { t: u, j } if u == t => Some(j),
            _ => None,
        })
        .collect::<Option<Vec<u64>>>()
        .map(|js| (t, js))
}

/// The honest strategy: true roots from a timeline, valid proofs.
pub struct Honest {
    /// The run.
    pub timeline: Timeline,
}

impl Strategy for Honest {
    fn root(&mut self, q: Query, _: Option<Place>) -> Hash {
        match q {
            Query::Step(t) => self.timeline.root_at(t),
            Query::Micro { t, j } => self.timeline.micro_root(t, j),
        }
    }

    fn proof(&mut self, t: u64, j: u64) -> Option<StepProof> {
        self.timeline.proof(t, j).ok()
    }

    fn roots(&mut self, asked: &[(Query, Place)]) -> Vec<Hash> {
        match micro_batch(asked) {
            Some((t, js)) => self.timeline.micro_roots(t, &js),
            None => asked
                .iter()
                .map(|&(q, place)| self.root(q, Some(place)))
                .collect(),
        }
    }

    fn pick(&mut self, asked: &[(Query, Place)], roots: &[Hash]) -> u64 {
        if micro_batch(asked).is_some() {
            // Micro-roots come cheapest all at once.
            let mine = self.roots(asked);
            return mine
                .iter()
                .zip(roots)
                .position(|(m, r)| m != r)
                .unwrap_or(roots.len()) as u64;
        }
        // A-step roots: a binary search for a part whose start root it
        // agrees with and whose end root it does not (the dissected
        // interval's start is agreed and its end disputed, so one exists).
        // Any such part is a sound pick: its end root is wrong, its start
        // right. About log2(k) roots of a k-way round instead of up to
        // k - 1, each a move of the timeline's cursor (a replay and the
        // pages it wrote re-hashed).
        let n = asked.len().min(roots.len());
        // Part `lo` starts at a root it agrees with, part `hi` ends at one
        // it does not (`hi == n`: the interval's end).
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (q, place) = asked[mid];
            if self.root(q, Some(place)) == roots[mid] {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        hi as u64
    }
}

/// A dishonest variation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lie {
    /// Defender: every A-step root from step `from` on is wrong (a machine
    /// that diverged there), and so are its micro-roots from micro-step `micro_from`.
    From {
        /// First wrong A-step.
        from: u64,
        /// First wrong micro-step of the diverging A-step.
        micro_from: u64,
    },
    /// Defender: a wrong final root, every root of every round true.
    Final,
    /// A wrong root (defender) or a wrong verdict on the root there
    /// (challenger) at one place: the position of a root of a round.
    At(Place),
    /// Each answer wrong or right by a coin toss: a story that changes.
    Random(u64),
    /// Challenger: disputes a correct claim and disagrees with every root
    /// (always picks the first part).
    DisputeCorrect,
    /// Submits a broken proof instead of the valid one.
    BadProof,
    /// Stops answering after `after` moves of the game.
    Silent {
        /// The game's move count at which it falls silent.
        after: u64,
    },
}

impl std::fmt::Display for Lie {
    /// The lie as `--lie` spells it (`from:STEP:MICRO`, `final`, ...).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lie::From { from, micro_from } => write!(f, "from:{from}:{micro_from}"),
            Lie::Final => f.write_str("final"),
            Lie::At(p) => write!(f, "at:{}:{}", p.level, p.position),
            Lie::Random(seed) => write!(f, "random:{seed}"),
            Lie::DisputeCorrect => f.write_str("dispute-correct"),
            Lie::BadProof => f.write_str("bad-proof"),
            Lie::Silent { after } => write!(f, "silent:{after}"),
        }
    }
}

/// Lies as a list for people: `from:9:40, final`, or `none`.
pub fn describe_lies(lies: &[Lie]) -> String {
    if lies.is_empty() {
        return "none".into();
    }
    lies.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::str::FromStr for Lie {
    type Err = String;

    /// `from:STEP[:MICRO]`, `final`, `at:LEVEL:POSITION`, `random:SEED`,
    /// `dispute-correct`, `bad-proof`, `silent[:AFTER]`.
    fn from_str(s: &str) -> Result<Lie, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |i: usize| -> Result<u64, String> {
            parts
                .get(i)
                .ok_or_else(|| format!("lie {s:?}: missing number {i}"))?
                .parse::<u64>()
                .map_err(|e| format!("lie {s:?}: {e}"))
        };
        match parts.first().copied().unwrap_or("") {
            "from" => Ok(Lie::From {
                from: num(1)?,
                micro_from: if parts.len() > 2 { num(2)? } else { 0 },
            }),
            "final" => Ok(Lie::Final),
            "at" => Ok(Lie::At(Place {
                level: num(1)? as usize,
                position: num(2)?,
            })),
            "random" => Ok(Lie::Random(num(1)?)),
            "dispute-correct" => Ok(Lie::DisputeCorrect),
            "bad-proof" => Ok(Lie::BadProof),
            "silent" => Ok(Lie::Silent {
                after: if parts.len() > 1 { num(1)? } else { 0 },
            }),
            other => Err(format!(
                "unknown lie {other:?}: use from:STEP[:MICRO], final, at:LEVEL:POSITION, random:SEED, dispute-correct, bad-proof, silent[:AFTER]"
            )),
        }
    }
}

/// A wrong root derived from the true one (deterministic, never equal to it).
pub fn forge(true_root: &Hash, salt: u64) -> Hash {
    keccak(&[b"mswap lie", &true_root.0, &salt.to_le_bytes()])
}

/// The honest strategy bent by one or more lies.
pub struct Liar {
    /// The truth.
    pub honest: Honest,
    /// The lies.
    pub lies: Vec<Lie>,
    rng: u64,
}

impl Liar {
    /// A liar.
    pub fn new(honest: Honest, lies: Vec<Lie>) -> Liar {
        let seed = lies.iter().find_map(|l| match l {
            Lie::Random(seed) => Some(*seed),
            _ => None,
        });
        Liar {
            honest,
            lies,
            rng: seed.unwrap_or(1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        }
    }

    fn coin(&mut self) -> bool {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng & 1 == 1
    }

    fn has(&self, f: impl Fn(&Lie) -> bool) -> bool {
        self.lies.iter().any(f)
    }

    /// Whether the liar's root for `q` at `place` is a lie.
    fn lies_about(&mut self, q: Query, place: Option<Place>) -> bool {
        let mut wrong = false;
        for i in 0..self.lies.len() {
            wrong |= match (self.lies[i].clone(), q) {
                (Lie::From { from, .. }, Query::Step(t)) => t >= from,
                (Lie::From { from, micro_from }, Query::Micro { t, j }) => {
                    t >= from || (t + 1 == from && j >= micro_from.max(1))
                }
                (Lie::Final | Lie::Random(_), Query::Step(u64::MAX)) => true,
                (Lie::At(p), _) => place == Some(p),
                (Lie::Random(_), _) => place.is_some() && self.coin(),
                _ => false,
            };
        }
        wrong
    }
}

impl Strategy for Liar {
    fn root(&mut self, q: Query, place: Option<Place>) -> Hash {
        let truth = self.honest.root(q, place);
        if self.lies_about(q, place) {
            forge(&truth, 0)
        } else {
            truth
        }
    }

    fn proof(&mut self, t: u64, j: u64) -> Option<StepProof> {
        let story = self.has(|l| matches!(l, Lie::From { .. } | Lie::Final | Lie::Random(_)));
        let mut p = self.honest.proof(t, j)?;
        if story || self.has(|l| *l == Lie::BadProof) {
            // A liar has no valid proof of its story; it submits a broken one.
            p.q[1] ^= 1;
        }
        Some(p)
    }

    fn answers(&mut self, seq: u64) -> bool {
        !self.has(|l| matches!(l, Lie::Silent { after } if seq >= *after))
    }

    fn disputes(&mut self, claimed: &Hash) -> bool {
        self.has(|l| matches!(l, Lie::DisputeCorrect | Lie::At(_) | Lie::Random(_)))
            || *claimed != self.root(Query::Step(u64::MAX), None)
    }

    fn agrees(&mut self, q: Query, place: Place, root: &Hash) -> bool {
        let right = self.honest.root(q, Some(place)) == *root;
        self.verdict(place, right)
    }

    fn roots(&mut self, asked: &[(Query, Place)]) -> Vec<Hash> {
        let truth = self.honest.roots(asked);
        asked
            .iter()
            .zip(truth)
            .map(|(&(q, place), truth)| {
                if self.lies_about(q, Some(place)) {
                    forge(&truth, 0)
                } else {
                    truth
                }
            })
            .collect()
    }

    fn pick(&mut self, asked: &[(Query, Place)], roots: &[Hash]) -> u64 {
        let truth = self.honest.roots(asked);
        for (i, ((_, place), (mine, theirs))) in
            asked.iter().zip(truth.iter().zip(roots)).enumerate()
        {
            if !self.verdict(*place, mine == theirs) {
                return i as u64;
            }
        }
        roots.len() as u64
    }
}

impl Liar {
    /// The liar's verdict on a root at `place` whose truth is `right`.
    fn verdict(&mut self, place: Place, right: bool) -> bool {
        let mut verdict = right;
        for i in 0..self.lies.len() {
            match self.lies[i].clone() {
                Lie::DisputeCorrect => verdict = false,
                Lie::At(p) if p == place => verdict = !verdict,
                Lie::Random(_) => verdict ^= self.coin(),
                _ => {}
            }
        }
        verdict
    }
}

/// A side of a game with its strategy.
pub struct Player {
    /// Which side.
    pub side: Side,
    /// What it knows and says.
    pub strategy: Box<dyn Strategy>,
}

impl Player {
    /// The claim an honest defender makes: its final root for `2^b` steps.
    pub fn claim_root(&mut self) -> Hash {
        self.strategy.root(Query::Step(u64::MAX), None)
    }

    /// The move this player makes in `game` now, if any.
    pub fn decide(&mut self, game: &DisputeState) -> Option<Move> {
        if !self.strategy.answers(game.seq) {
            return None;
        }
        match (&game.phase, self.side) {
            (Phase::Open, Side::Challenger) => {
                let mine = self.strategy.root(Query::Step(u64::MAX), None);
                self.strategy
                    .disputes(&game.claim.final_root)
                    .then_some(Move::Challenge { root: mine })
            }
            (Phase::Bisect(b), Side::Defender) if !b.dissected() => Some(Move::Dissect {
                level: b.level,
                position: b.first(),
                roots: self.strategy.roots(&round_queries(b)),
            }),
            (Phase::Bisect(b), Side::Challenger) if b.dissected() => Some(Move::Pick {
                level: b.level,
                position: b.first(),
                part: self.strategy.pick(&round_queries(b), &b.roots),
            }),
            (Phase::Prove(d), _) => self
                .strategy
                .proof(d.t, d.j)
                .map(|p| Move::Proof { proof: Box::new(p) }),
            _ => None,
        }
    }
}

/// Fills `claim.final_root` from a strategy (a lying defender's claim).
pub fn claimed_by(mut claim: Claim, strategy: &mut dyn Strategy) -> Claim {
    claim.final_root = strategy.root(Query::Step(u64::MAX), None);
    claim
}
