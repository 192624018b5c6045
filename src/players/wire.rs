//! The JSON messages between players and the referee.

use crate::rules::claim::Claim;
use crate::rules::levels::Level;
use crate::rules::{DisputeState, Move, Outcome, Side};
use serde::{Deserialize, Serialize};

/// Most moves in one batch ([`Batch`]): the referee refuses more, and the
/// players send their due moves in chunks of this size.
pub const MAX_BATCH: usize = 64;

/// `POST /games`: a defender opens a game on its claim.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGame {
    /// The claim.
    pub claim: Claim,
    /// The ELF file, hex.
    #[serde(with = "crate::proof::hexbytes::vec")]
    pub program: Vec<u8>,
    /// The input, hex.
    #[serde(with = "crate::proof::hexbytes::vec")]
    pub input: Vec<u8>,
    /// The levels (default: steps `b`, then micro `a`).
    #[serde(default)]
    pub levels: Option<Vec<Level>>,
    /// Each side's clock in each dispute, milliseconds (default and
    /// least: the referee's policy for `b`; more may be asked).
    #[serde(default)]
    pub clock_ms: Option<u64>,
    /// How long disputes may be opened, milliseconds from now (default
    /// and least: the referee's policy for `b`).
    #[serde(default)]
    pub window_ms: Option<u64>,
}

/// Answer to `POST /games`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Created {
    /// The claim's id.
    pub game: String,
    /// The defender's secret (for every dispute of the claim).
    pub token: String,
    /// Each side's clock in each dispute, milliseconds.
    pub clock_ms: u64,
    /// When the challenge window closes (milliseconds since the epoch).
    pub window_ends_ms: u64,
}

/// Answer to `POST /games/{id}/join`: a dispute of one's own.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joined {
    /// The dispute's number within the claim.
    pub dispute: u64,
    /// The challenger's secret for this dispute.
    pub token: String,
    /// The dispute waits for a place among the claim's running disputes
    /// (its clocks stopped until it starts).
    #[serde(default)]
    pub queued: bool,
}

/// Where a claim stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimStatus {
    /// The window is open or a dispute is running.
    Open,
    /// The window has closed and the defender won every dispute.
    Stands,
    /// A challenger won a dispute.
    Refuted,
}

impl std::fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClaimStatus::Open => "open",
            ClaimStatus::Stands => "stands",
            ClaimStatus::Refuted => "refuted",
        })
    }
}

/// One dispute of a claim, in short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeSummary {
    /// Its number.
    pub dispute: u64,
    /// Open, bisect, prove or done.
    pub phase: String,
    /// Moves accepted.
    pub seq: u64,
    /// The winner, once decided.
    pub winner: Option<Side>,
    /// How it ended.
    pub outcome: Option<Outcome>,
}

/// `GET /games/{id}`: a claim and its disputes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimView {
    /// The claim's id.
    pub id: String,
    /// The claim.
    pub claim: Claim,
    /// The levels of its disputes.
    pub levels: Vec<Level>,
    /// `root(S_0)`, computed by the referee.
    pub initial_root: crate::hash::Hash,
    /// Each side's clock in each dispute, milliseconds.
    pub clock_ms: u64,
    /// When the claim was made (milliseconds since the epoch).
    pub created_ms: u64,
    /// When the challenge window closes.
    pub window_ends_ms: u64,
    /// Milliseconds left in the window (0: closed).
    pub window_left_ms: u64,
    /// Where the claim stands.
    pub status: ClaimStatus,
    /// Changes so far (disputes opened, disputes ended, the window's
    /// close): long-poll with `after_seq`.
    pub seq: u64,
    /// Disputes opened in all.
    #[serde(default)]
    pub disputes_total: u64,
    /// The disputes, a page of at most 100 from the `disputes_from`
    /// of the request (default 1).
    pub disputes: Vec<DisputeSummary>,
}

/// `POST /games/{id}/moves`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// Who moves.
    pub side: Side,
    /// That side's secret.
    pub token: String,
    /// The game's move number the move is for.
    pub seq: u64,
    /// The move.
    #[serde(rename = "move")]
    pub mv: Move,
}

/// Time left on both clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clocks {
    /// The defender's, in milliseconds.
    pub defender: u64,
    /// The challenger's, in milliseconds.
    pub challenger: u64,
}

/// `GET /games/{id}/disputes/{n}`: where a dispute stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct View {
    /// The claim's id.
    pub id: String,
    /// The dispute's number.
    pub dispute: u64,
    /// The game state (rules).
    pub game: DisputeState,
    /// Whether a challenger has joined.
    pub challenged: bool,
    /// Time left on both clocks.
    pub time_left_ms: Clocks,
    /// What the game waits for, in words.
    pub waiting_for: String,
    /// The accepted moves since the `after_seq` of the request (at most
    /// [`MAX_RECENT`], the latest), so that a player can show what its
    /// opponent did.
    #[serde(default)]
    pub recent: Vec<crate::rules::transcript::Record>,
    /// The dispute waits for a place among its claim's running disputes:
    /// no move is taken and its clocks do not run until it starts.
    #[serde(default)]
    pub queued: bool,
}

/// The most recent moves a [`View`] carries.
pub const MAX_RECENT: usize = 16;

/// What a queued dispute waits for, in words.
const QUEUED: &str = "its turn: the claim has as many disputes running as the referee allows; this one starts when one of them ends (its clocks are stopped until then)";

impl View {
    /// The view of dispute `dispute` of claim `id`: `game` at `now_ms`
    /// with the accepted moves `moves` from number `after_seq` on (without
    /// it, the latest; at most [`MAX_RECENT`], the latest). A `queued`
    /// dispute's clocks stand still at the game's `turn_since_ms`. The
    /// HTTP referee and the chain backend derive their views here.
    pub fn of(
        id: &str,
        dispute: u64,
        game: &DisputeState,
        moves: &[crate::rules::transcript::Record],
        now_ms: u64,
        after_seq: Option<u64>,
        queued: bool,
    ) -> View {
        let len = moves.len();
        let from = after_seq.map_or(len.saturating_sub(1), |s| s.min(len as u64) as usize);
        let from = from.max(len.saturating_sub(MAX_RECENT));
        let at = if queued { game.turn_since_ms } else { now_ms };
        View {
            id: id.to_string(),
            dispute,
            game: game.clone(),
            challenged: !matches!(game.phase, crate::rules::Phase::Open),
            time_left_ms: Clocks {
                defender: game.time_left(Side::Defender, at),
                challenger: game.time_left(Side::Challenger, at),
            },
            waiting_for: if queued {
                QUEUED.into()
            } else {
                game.waiting_for()
            },
            recent: moves[from..].to_vec(),
            queued,
        }
    }
}

/// One line of `GET /games`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// The claim's id.
    pub id: String,
    /// Where it stands.
    pub status: ClaimStatus,
    /// Disputes opened.
    pub disputes: u64,
    /// Milliseconds left in the challenge window.
    pub window_left_ms: u64,
}

/// `GET /policy`: the referee's rules of time and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyView {
    /// Clock per side before the re-execution allowance, ms.
    pub clock_base_ms: u64,
    /// Challenge window before the re-execution allowance, ms.
    pub window_base_ms: u64,
    /// The slowest machine A the policy allows for, steps per second.
    pub min_steps_per_s: u64,
    /// Re-executions of `2^b` steps that clock and window each allow.
    pub margin: u64,
    /// Largest `b`.
    pub max_b: u32,
    /// Largest program, bytes.
    pub max_program: u64,
    /// Largest input, bytes.
    pub max_input: u64,
}

/// A refusal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One line saying what is wrong.
    pub error: String,
}

/// `GET /games/{id}/disputes/{n}/moves`: a dispute's accepted moves (its
/// transcript without the program and input).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeMoves {
    /// The dispute's number.
    pub dispute: u64,
    /// Its accepted moves, in order.
    pub moves: Vec<crate::rules::transcript::Record>,
}

/// `GET /games/{id}/events?after=V&wait_ms=M`: what changed in a claim's
/// disputes since the feed's cursor `V`, so that one player can follow
/// any number of disputes through one connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    /// The claim's id.
    pub id: String,
    /// Where the claim stands.
    pub status: ClaimStatus,
    /// Milliseconds left in the challenge window.
    pub window_left_ms: u64,
    /// Disputes opened in all.
    pub disputes_total: u64,
    /// The cursor to ask with next (`after`).
    pub cursor: u64,
    /// More disputes changed than one answer carries: ask again at once.
    pub more: bool,
    /// The disputes that changed after the request's cursor (oldest change
    /// first, at most 64), each as its view with its latest moves.
    pub disputes: Vec<View>,
}

/// One move of a batch (`POST /games/{id}/moves`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchMove {
    /// The dispute.
    pub dispute: u64,
    /// Who moves.
    pub side: Side,
    /// That side's secret.
    pub token: String,
    /// The dispute's move number the move is for.
    pub seq: u64,
    /// The move.
    #[serde(rename = "move")]
    pub mv: Move,
}

impl BatchMove {
    /// The move of `req` in dispute `dispute`.
    pub fn new(dispute: u64, req: MoveRequest) -> BatchMove {
        BatchMove {
            dispute,
            side: req.side,
            token: req.token,
            seq: req.seq,
            mv: req.mv,
        }
    }

    /// The move as a request for its dispute.
    pub fn request(self) -> MoveRequest {
        MoveRequest {
            side: self.side,
            token: self.token,
            seq: self.seq,
            mv: self.mv,
        }
    }
}

/// `POST /games/{id}/moves`: moves in several disputes of one claim at
/// once (at most 64, one per dispute), logged with one sync.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The moves.
    pub moves: Vec<BatchMove>,
}

/// What became of one move of a batch: the dispute's view, or the refusal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchResult {
    /// The dispute.
    pub dispute: u64,
    /// The dispute's view after the move (accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<View>,
    /// The refusal's status (refused: nothing changed in this dispute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The refusal's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Answer to `POST /games/{id}/moves`, in the order of the request.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchAnswer {
    /// One result per move.
    pub results: Vec<BatchResult>,
}
