//! The players' side of the wire: an HTTP client for the referee and the
//! loop that plays a [`Player`] to the end of a game.

use super::levels::LevelKind;
use super::player::{Player, Query, midpoint_query};
use super::rules::{Bisection, Game, Move, Outcome, Phase, Side};
use super::transcript::{Record, Transcript};
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
    /// Request body bytes sent (answered requests).
    pub sent: AtomicU64,
    /// Response body bytes received.
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

    /// Body bytes exchanged so far (requests and responses; HTTP headers
    /// not counted).
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
                    let sent = match (body, method) {
                        (Some(b), _) => b.len(),
                        (None, "GET") => 0,
                        (None, _) => 2,
                    };
                    self.sent.fetch_add(sent as u64, Ordering::Relaxed);
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

/// The point a bisection's position stands for: `S_t`, or `R_j` (of the disputed A-step).
fn point(b: &Bisection, position: u64) -> String {
    match b.kind {
        LevelKind::Micro => format!("R_{}", b.absolute(position)),
        LevelKind::Steps => format!("S_{}", b.absolute(position)),
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
pub fn describe(game: &Game, side: Side, mv: &Move) -> String {
    match (mv, &game.phase) {
        (Move::Challenge { root }, _) => format!(
            "{side} challenges the claimed final root {}: its own is {}",
            short(&game.claim.final_root),
            short(root)
        ),
        (Move::Midpoint { root, .. }, Phase::Bisect(b)) => {
            let what = match midpoint_query(b) {
                Query::Step(t) => format!("root(S_{t})"),
                Query::Micro { t, j } => format!("root(R_{j}) of A-step {t}"),
            };
            format!(
                "{side} posts {what} = {} ({})",
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
                match midpoint_query(b) {
                    Query::Step(t) => format!("root(S_{t})"),
                    Query::Micro { t, j } => format!("root(R_{j}) of A-step {t}"),
                },
                b.mid_root.as_ref().map_or("?".into(), short),
                interval(b, lo, hi)
            )
        }
        (Move::Proof { proof }, Phase::Prove(d)) => format!(
            "{side} submits the proof of micro-step {} of A-step {} ({} accesses) from {}; the defender says it leads to {}",
            d.j,
            d.t,
            proof.accesses.len(),
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
            "{side} submits a step proof ({} accesses)",
            proof.accesses.len()
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
struct Narrator {
    /// The game as of the last move said.
    known: Game,
}

impl Narrator {
    fn new(game: &Game) -> Narrator {
        Narrator {
            known: game.clone(),
        }
    }

    /// Says the moves of `view` not said yet, then catches up with it.
    fn follow(&mut self, view: &View, say: &mut dyn FnMut(Side, String)) {
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

/// Plays `player` in game `id` with `token` until the game ends; `say`
/// gets one line per accepted move (the player's and its opponent's), per
/// refused move of the player's, and about the end. Returns the outcome.
pub fn play(
    client: &Client,
    id: &str,
    token: &str,
    player: &mut Player,
    say: &mut dyn FnMut(String),
) -> Result<Outcome, ClientError> {
    play_with(client, id, token, player, &mut |_, line| say(line))
}

/// [`play`], telling `say` which side each line is about.
pub fn play_with(
    client: &Client,
    id: &str,
    token: &str,
    player: &mut Player,
    say: &mut dyn FnMut(Side, String),
) -> Result<Outcome, ClientError> {
    let mut view = client.view(id, None, 0)?;
    let mut narrator = Narrator::new(&view.game);
    // Moves before we looked are not ours to tell.
    view.recent.clear();
    let mut refused_at: Option<u64> = None;
    loop {
        narrator.follow(&view, say);
        if let Phase::Done(o) = &view.game.phase {
            if matches!(o, Outcome::Timeout { .. }) {
                say(view.game.turn, describe_end(o));
            }
            return Ok(o.clone());
        }
        let my_turn = view.game.turn == player.side || matches!(view.game.phase, Phase::Prove(_));
        let mv = if my_turn && refused_at != Some(view.game.seq) {
            player.decide(&view.game)
        } else {
            None
        };
        let Some(mv) = mv else {
            // Not our turn, nothing to say, or silent: wait for the game to move.
            view = client.view(id, Some(view.game.seq), 10_000)?;
            continue;
        };
        let line = describe(&view.game, player.side, &mv);
        let req = MoveRequest {
            side: player.side,
            token: token.to_string(),
            seq: view.game.seq,
            mv,
        };
        match client.send(id, &req) {
            Ok(v) => view = v,
            Err(ClientError::Refused { status, reason }) => {
                say(
                    player.side,
                    format!("[seq {}] refused ({status}): {line}: {reason}", req.seq),
                );
                refused_at = Some(req.seq);
                view = client.view(id, Some(req.seq), 10_000)?;
            }
            Err(e) => return Err(e),
        }
    }
}
