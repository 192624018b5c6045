//! The interface the players know a referee by, whatever it runs on:
//! [`RefereeApi`] (the HTTP service's client in `src/referee/client.rs`
//! and the chain's `ChainReferee` implement it), and its errors.

use crate::players::wire::{
    BatchMove, BatchResult, ClaimStatus, ClaimView, CreateGame, Created, DisputeMoves, Feed,
    Joined, MoveRequest, View,
};
use crate::rules::transcript::Transcript;
use std::time::{Duration, Instant};

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The referee refused (4xx): nothing changed.
    #[error("refused ({status}): {reason}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The referee's reason.
        reason: String,
    },
    /// The referee could not be reached for too long.
    #[error("cannot reach the referee at {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The last error.
        reason: String,
    },
    /// The referee's address is not a URL this client can use.
    #[error("bad referee URL {url}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The answer is not what the protocol says.
    #[error("bad answer from the referee: {0}")]
    Protocol(String),
}

/// What a player needs from a referee, whatever it runs on (this HTTP
/// service, or a contract on a chain).
pub trait RefereeApi: Send + Sync {
    /// Opens a claim.
    fn create(&self, req: &CreateGame) -> Result<Created, ClientError>;
    /// Where a claim stands, waiting up to `wait_ms` for it to change past `after_seq`.
    fn claim(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<ClaimView, ClientError>;
    /// Opens a dispute of one's own against a claim.
    fn join(&self, id: &str) -> Result<Joined, ClientError>;
    /// Where a dispute stands, waiting up to `wait_ms` for it to move past `after_seq`.
    fn view(
        &self,
        id: &str,
        dispute: u64,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError>;
    /// Sends a move in a dispute.
    fn send(&self, id: &str, dispute: u64, req: &MoveRequest) -> Result<View, ClientError>;
    /// A dispute's transcript.
    fn transcript(&self, id: &str, dispute: u64) -> Result<Transcript, ClientError>;
    /// A dispute's accepted moves and its number as the transcript gives
    /// it (on chain, 0 until its challenge was mined): the transcript
    /// without the program and input, which may be megabytes. This default
    /// takes them from the transcript.
    fn moves(&self, id: &str, dispute: u64) -> Result<DisputeMoves, ClientError> {
        let t = self.transcript(id, dispute)?;
        Ok(DisputeMoves {
            dispute: t.dispute,
            moves: t.moves,
        })
    }
    /// Bytes exchanged so far (bodies only).
    fn bytes(&self) -> u64;

    /// What changed in claim `id`'s disputes after cursor `after`, waiting
    /// up to `wait_ms` for a change. This default builds it from the
    /// claim's view and the views of its disputes, polling (a referee
    /// with an event feed answers it in one request); its cursor is the
    /// claim's change count plus its disputes' move counts.
    fn feed(&self, id: &str, after: u64, wait_ms: u64) -> Result<Feed, ClientError> {
        let deadline = Instant::now() + Duration::from_millis(wait_ms);
        loop {
            let c = self.claim(id, None, 0)?;
            let cursor = c.seq + c.disputes.iter().map(|d| d.seq).sum::<u64>();
            if cursor > after || c.status != ClaimStatus::Open || Instant::now() >= deadline {
                let mut disputes = Vec::new();
                for d in &c.disputes {
                    disputes.push(self.view(id, d.dispute, Some(d.seq.saturating_sub(4)), 0)?);
                }
                return Ok(Feed {
                    id: id.to_string(),
                    status: c.status,
                    window_left_ms: c.window_left_ms,
                    disputes_total: c.disputes.len() as u64,
                    cursor,
                    more: false,
                    disputes,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            std::thread::sleep(left.min(Duration::from_millis(500)));
        }
    }

    /// Moves in several disputes of claim `id`; one result per move, in
    /// order. This default sends them one by one.
    fn send_batch(&self, id: &str, moves: &[BatchMove]) -> Result<Vec<BatchResult>, ClientError> {
        let mut out = Vec::new();
        for m in moves {
            let r = self.send(id, m.dispute, &m.clone().request());
            out.push(match r {
                Ok(view) => BatchResult {
                    dispute: m.dispute,
                    view: Some(view),
                    status: None,
                    error: None,
                },
                Err(ClientError::Refused { status, reason }) => BatchResult {
                    dispute: m.dispute,
                    view: None,
                    status: Some(status),
                    error: Some(reason),
                },
                Err(e) => return Err(e),
            });
        }
        Ok(out)
    }
}
