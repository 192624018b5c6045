//! The players' side of the wire: an HTTP client for the referee and the
//! loop that plays a [`Player`] to the end of a game.

use super::player::{Player, midpoint_query};
use super::rules::{Game, Move, Outcome, Phase, Side};
use super::transcript::Transcript;
use super::wire::{CreateGame, Created, ErrorBody, Joined, MoveRequest, View};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The answer is not what the protocol says.
    #[error("bad answer from the referee: {0}")]
    Protocol(String),
}

/// A connection to a referee.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    /// Request bytes sent.
    pub sent: AtomicU64,
    /// Response bytes received.
    pub received: AtomicU64,
    /// How long to keep retrying an unreachable referee.
    pub patience: Duration,
}

impl Client {
    /// A client of the referee at `base` (e.g. `http://127.0.0.1:4000`).
    pub fn new(base: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Client {
            agent: config.into(),
            base: base.trim_end_matches('/').to_string(),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            patience: Duration::from_secs(60),
        }
    }

    /// Bytes exchanged so far (requests and responses).
    pub fn bytes(&self) -> u64 {
        self.sent.load(Ordering::Relaxed) + self.received.load(Ordering::Relaxed)
    }

    fn request(&self, method: &str, path: &str, body: Option<&str>) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let start = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let result = match body {
                Some(b) => self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .send(b),
                None if method == "GET" => self.agent.get(&url).call(),
                None => self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .send("{}"),
            };
            match result {
                Ok(mut resp) => {
                    self.sent.fetch_add(
                        body.map_or(2, str::len) as u64 + path.len() as u64,
                        Ordering::Relaxed,
                    );
                    let status = resp.status().as_u16();
                    let text = resp
                        .body_mut()
                        .with_config()
                        .limit(256 << 20)
                        .read_to_string()
                        .map_err(|e| ClientError::Protocol(e.to_string()))?;
                    self.received
                        .fetch_add(text.len() as u64, Ordering::Relaxed);
                    if (200..300).contains(&status) {
                        return Ok(text);
                    }
                    if status >= 500 && start.elapsed() < self.patience {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_secs(1));
                        continue;
                    }
                    let reason = serde_json::from_str::<ErrorBody>(&text).map_or(text, |e| e.error);
                    return Err(ClientError::Refused { status, reason });
                }
                Err(e) => {
                    // The referee may be restarting: retry with backoff.
                    if start.elapsed() >= self.patience {
                        return Err(ClientError::Unreachable {
                            url,
                            reason: e.to_string(),
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ClientError> {
        serde_json::from_str(text).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Opens a game.
    pub fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        let body = serde_json::to_string(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Self::json(&self.request("POST", "/games", Some(&body))?)
    }

    /// Joins a game as its challenger.
    pub fn join(&self, id: &str) -> Result<Joined, ClientError> {
        Self::json(&self.request("POST", &format!("/games/{id}/join"), None)?)
    }

    /// Where a game stands, waiting up to `wait_ms` for it to move past `after_seq`.
    pub fn view(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        let q = match after_seq {
            Some(n) => format!("?after_seq={n}&wait_ms={wait_ms}"),
            None => String::new(),
        };
        Self::json(&self.request("GET", &format!("/games/{id}{q}"), None)?)
    }

    /// Sends a move.
    pub fn send(&self, id: &str, req: &MoveRequest) -> Result<View, ClientError> {
        let body = serde_json::to_string(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Self::json(&self.request("POST", &format!("/games/{id}/moves"), Some(&body))?)
    }

    /// The game's transcript.
    pub fn transcript(&self, id: &str) -> Result<Transcript, ClientError> {
        Self::json(&self.request("GET", &format!("/games/{id}/transcript"), None)?)
    }
}

fn short(h: &crate::hash::Hash) -> String {
    format!("0x{}..", &h.to_hex()[..12])
}

/// One line about a move, for the round-by-round log.
pub fn describe(game: &Game, side: Side, mv: &Move) -> String {
    match (mv, &game.phase) {
        (Move::Challenge { root }, _) => {
            format!("{side} challenges: its final root is {}", short(root))
        }
        (
            Move::Midpoint {
                level,
                position,
                root,
            },
            Phase::Bisect(b),
        ) => {
            let what = match midpoint_query(b) {
                super::player::Query::Step(t) => format!("root(S_{t})"),
                super::player::Query::Micro { t, j } => format!("root(R_{j}) of A-step {t}"),
            };
            format!(
                "level {level} [{}, {}]: {side} posts {what} = {} at position {position}",
                b.lo,
                b.hi,
                short(root)
            )
        }
        (Move::Agree { level, position }, _) => {
            format!("level {level}: {side} agrees at position {position}")
        }
        (Move::Disagree { level, position }, _) => {
            format!("level {level}: {side} disagrees at position {position}")
        }
        (Move::Proof { proof }, Phase::Prove(d)) => format!(
            "{side} submits the proof of micro-step {} of A-step {} ({} accesses)",
            d.j,
            d.t,
            proof.accesses.len()
        ),
        (mv, _) => format!("{side} {}", mv.name()),
    }
}

/// Plays `player` in game `id` with `token` until the game ends; `say`
/// gets one line per event. Returns the outcome.
pub fn play(
    client: &Client,
    id: &str,
    token: &str,
    player: &mut Player,
    say: &mut dyn FnMut(String),
) -> Result<Outcome, ClientError> {
    let mut view = client.view(id, None, 0)?;
    let mut refused_at: Option<u64> = None;
    loop {
        if let Phase::Done(o) = &view.game.phase {
            return Ok(o.clone());
        }
        let my_turn = view.game.turn == player.side || matches!(view.game.phase, Phase::Prove(_));
        let mv = if my_turn && refused_at != Some(view.game.seq) {
            player.decide(&view.game)
        } else {
            None
        };
        match mv {
            Some(mv) => {
                let line = describe(&view.game, player.side, &mv);
                let req = MoveRequest {
                    side: player.side,
                    token: token.to_string(),
                    seq: view.game.seq,
                    mv,
                };
                match client.send(id, &req) {
                    Ok(v) => {
                        say(format!("[seq {}] {line}", req.seq));
                        view = v;
                    }
                    Err(ClientError::Refused { status, reason }) => {
                        say(format!(
                            "[seq {}] {line}: refused ({status}): {reason}",
                            req.seq
                        ));
                        refused_at = Some(req.seq);
                        view = client.view(id, Some(view.game.seq), 10_000)?;
                    }
                    Err(e) => return Err(e),
                }
            }
            // Not our turn, nothing to say, or silent: wait for the game to move.
            None => view = client.view(id, Some(view.game.seq), 10_000)?,
        }
    }
}
