//! The JSON messages between players and the referee.

use super::claim::Claim;
use super::levels::Level;
use super::rules::{Game, Move, Outcome, Side};
use serde::{Deserialize, Serialize};

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
    /// Each side's clock in milliseconds (default: the referee's).
    #[serde(default)]
    pub clock_ms: Option<u64>,
}

/// Answer to `POST /games`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Created {
    /// The game's id.
    pub game: String,
    /// The defender's secret.
    pub token: String,
}

/// Answer to `POST /games/{id}/join`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Joined {
    /// The challenger's secret.
    pub token: String,
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

/// `GET /games/{id}`: where a game stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct View {
    /// The game's id.
    pub id: String,
    /// The game state (rules).
    pub game: Game,
    /// Whether a challenger has joined.
    pub challenged: bool,
    /// Time left on both clocks.
    pub time_left_ms: Clocks,
    /// What the game waits for, in words.
    pub waiting_for: String,
    /// The accepted moves since the `after_seq` of the request (at most 16,
    /// the latest), so that a player can show what its opponent did.
    #[serde(default)]
    pub recent: Vec<super::transcript::Record>,
}

/// One line of `GET /games`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// The game's id.
    pub id: String,
    /// Open, bisect, prove or done.
    pub phase: String,
    /// Moves accepted.
    pub seq: u64,
    /// The winner, once decided.
    pub winner: Option<Side>,
    /// How it ended.
    pub outcome: Option<Outcome>,
}

/// A refusal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One line saying what is wrong.
    pub error: String,
}
