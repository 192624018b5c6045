//! The transcript of a game: the claim, the program and input, every
//! accepted move and the result. [`verify_transcript`] replays it with the
//! same rules and the verifier module, trusting nothing the referee said.

use crate::layout::image::Image;
use crate::rules::claim::Claim;
use crate::rules::levels::Level;
use crate::rules::{DisputeState, Move, MoveError, Outcome, Phase, SetupError, Side};
use serde::{Deserialize, Serialize};

/// The `type` of a transcript file.
pub const TRANSCRIPT_TYPE: &str = "transcript";

/// The version of the transcript format this crate reads and writes: 2,
/// the moves of k-ary bisection (`dissect`, `pick`). Version 1 (no
/// `version` field) had the binary `midpoint`, `agree` and `disagree`.
pub const TRANSCRIPT_VERSION: u32 = 2;

fn version_one() -> u32 {
    1
}

/// One accepted move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Move number.
    pub seq: u64,
    /// Who moved.
    pub side: Side,
    /// When the referee accepted it (milliseconds since the epoch).
    pub time_ms: u64,
    /// The move.
    #[serde(rename = "move")]
    pub mv: Move,
}

/// A whole game.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// Always [`TRANSCRIPT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`TRANSCRIPT_VERSION`] (a file without it is version 1).
    #[serde(default = "version_one")]
    pub version: u32,
    /// The claim's id at the referee.
    pub game: String,
    /// The dispute's number within the claim (0: not given).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dispute: u64,
    /// The claim.
    pub claim: Claim,
    /// The ELF file, hex.
    #[serde(with = "crate::proof::hexbytes::vec")]
    pub program: Vec<u8>,
    /// The input, hex.
    #[serde(with = "crate::proof::hexbytes::vec")]
    pub input: Vec<u8>,
    /// The levels.
    pub levels: Vec<Level>,
    /// Each side's clock at the start, milliseconds.
    pub clock_ms: u64,
    /// When the game was created (milliseconds since the epoch).
    pub created_ms: u64,
    /// Every accepted move, in order.
    pub moves: Vec<Record>,
    /// The result the referee announced (`None` while the game runs).
    pub outcome: Option<Outcome>,
}

impl Transcript {
    /// The game at the transcript's start: the claim, program, input,
    /// levels and clocks it names (the referee's `root(S_0)` recomputed
    /// from `image`, the image of the transcript's program).
    pub fn start(&self, image: &Image) -> Result<DisputeState, SetupError> {
        DisputeState::new(
            self.claim.clone(),
            &self.program,
            &self.input,
            image,
            self.levels.clone(),
            self.clock_ms,
            self.created_ms,
        )
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Why a transcript does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    /// Wrong `type`.
    #[error("not a transcript (type {0:?})")]
    Type(String),
    /// A transcript format this crate does not read.
    #[error(
        "transcript format version {found}: this verifier reads version {expected} only (k-ary moves `dissect` and `pick`)"
    )]
    Version {
        /// The file's version.
        found: u32,
        /// [`TRANSCRIPT_VERSION`].
        expected: u32,
    },
    /// The game cannot be set up from the claim, program and input.
    #[error("setup: {0}")]
    Setup(#[from] SetupError),
    /// A recorded move breaks the rules.
    #[error("move {seq} ({side} {name}): {error}")]
    Move {
        /// Move number.
        seq: u64,
        /// Who moved.
        side: Side,
        /// Kind of move.
        name: &'static str,
        /// What is wrong.
        error: MoveError,
    },
    /// The recorded result is not what the moves lead to.
    #[error("result: the moves lead to {replayed}, the transcript says {recorded}")]
    Outcome {
        /// Replayed outcome.
        replayed: String,
        /// Recorded outcome.
        recorded: String,
    },
}

/// What an offline check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The replayed game at the end.
    pub game: DisputeState,
    /// The winner, if the game ended.
    pub winner: Option<Side>,
    /// Whether the result rests on the referee's clock (a timeout), which
    /// an offline check cannot re-measure.
    pub by_timeout: bool,
    /// The last phase before the game ended (where the bisection
    /// stopped), or the phase it is in if it has not ended.
    pub last_phase: Option<Phase>,
}

impl Checked {
    /// What in the result rests on the referee's clock, which an offline
    /// check cannot re-measure: a timeout, and the times of the moves
    /// (whether each came in time; restarts, which charge nobody for the
    /// downtime, are not in a transcript).
    pub fn clock_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let (true, Some(w)) = (self.by_timeout, self.winner) {
            notes.push(format!(
                "the result (the {} ran out of time) rests on the referee's clock: not re-checked offline",
                w.other()
            ));
        }
        if self.game.seq > 0 {
            notes.push(format!(
                "the times of the {} moves (whether each came in time) are the referee's: taken as given",
                self.game.seq
            ));
        }
        notes
    }
}

/// Reads a transcript strictly: unknown fields and duplicate keys are
/// refused, and so is a transcript of another format version (named in the
/// error, before its moves are read: a version 1 file's binary moves would
/// only say "unknown variant").
pub fn read_transcript(bytes: &[u8]) -> Result<Transcript, serde_json::Error> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "type", default)]
        kind: Option<String>,
        #[serde(default = "version_one")]
        version: u32,
    }
    if let Ok(head) = serde_json::from_slice::<Head>(bytes)
        && head.kind.as_deref() == Some(TRANSCRIPT_TYPE)
        && head.version != TRANSCRIPT_VERSION
    {
        return Err(<serde_json::Error as serde::de::Error>::custom(
            TranscriptError::Version {
                found: head.version,
                expected: TRANSCRIPT_VERSION,
            },
        ));
    }
    crate::rules::strict::from_slice(bytes)
}

/// Replays a transcript with the rules and the verifier module, with
/// `root(S_0)` derived from `image`, the image of the transcript's program
/// (`Program::image` in the `mswap` crate loads it from `t.program`).
pub fn verify_transcript(t: &Transcript, image: &Image) -> Result<Checked, TranscriptError> {
    if t.kind != TRANSCRIPT_TYPE {
        return Err(TranscriptError::Type(t.kind.clone()));
    }
    if t.version != TRANSCRIPT_VERSION {
        return Err(TranscriptError::Version {
            found: t.version,
            expected: TRANSCRIPT_VERSION,
        });
    }
    let mut game = t.start(image)?;
    let mut last_phase = None;
    for r in &t.moves {
        if !game.is_over() {
            last_phase = Some(game.phase.clone());
        }
        game.apply(r.side, r.seq, &r.mv, r.time_ms)
            .map_err(|error| TranscriptError::Move {
                seq: r.seq,
                side: r.side,
                name: r.mv.name(),
                error,
            })?;
    }
    let mut by_timeout = false;
    match (&t.outcome, game.outcome().cloned()) {
        (None, None) => {}
        (Some(rec), Some(rep)) if *rec == rep => {}
        (Some(Outcome::Timeout { winner }), None) => {
            // The loser must be the side whose clock was running.
            if game.turn != winner.other() {
                return Err(TranscriptError::Outcome {
                    replayed: format!("the {} to move", game.turn),
                    recorded: format!("a timeout of the {}", winner.other()),
                });
            }
            by_timeout = true;
            game.phase = crate::rules::Phase::Done(Outcome::Timeout { winner: *winner });
        }
        (rec, rep) => {
            return Err(TranscriptError::Outcome {
                replayed: rep.map_or("an unfinished game".into(), |o| o.to_string()),
                recorded: rec
                    .as_ref()
                    .map_or("an unfinished game".into(), |o| o.to_string()),
            });
        }
    }
    if !game.is_over() {
        last_phase = Some(game.phase.clone());
    }
    Ok(Checked {
        winner: game.outcome().map(Outcome::winner),
        game,
        by_timeout,
        last_phase,
    })
}
