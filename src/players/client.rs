//! The players' side of the wire: the [`RefereeApi`] a player talks to
//! (the HTTP [`Client`] is one implementation; a chain-backed referee can
//! be another), the loop that plays a [`Player`] to the end of one dispute
//! ([`play`]), and the defender's loop over every dispute of its claim
//! ([`defend`]).

use crate::players::player::{Player, Query, Strategy, midpoint_query};
use crate::players::wire::{
    Batch, BatchAnswer, BatchMove, BatchResult, ClaimStatus, ClaimView, CreateGame, Created,
    ErrorBody, Feed, Joined, MoveRequest, View,
};
use crate::rules::levels::LevelKind;
use crate::rules::transcript::{Record, Transcript};
use crate::rules::{Bisection, DisputeState, Move, Outcome, Phase, Side};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// What a client tells about a retry.
pub type OnWait = Box<dyn Fn(&str) + Send + Sync>;

/// A connection to a referee over HTTP.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    /// Request body bytes sent (answered requests).
    pub sent: AtomicU64,
    /// Response body bytes received.
    pub received: AtomicU64,
    /// How long to keep retrying an unreachable or overloaded referee
    /// (`None`: as long as it takes; the referee charges nobody's clock
    /// while it is down, so the game stays open).
    pub patience: Option<Duration>,
    /// Told about each retry: "waiting for the referee at URL (retry N): reason".
    pub on_wait: Option<OnWait>,
}

/// Checks a referee URL: `http://HOST:PORT` (a trailing `/` allowed; no
/// path, query or user; `[...]` around an IPv6 host). Returns it without
/// the trailing `/`.
pub fn check_url(url: &str) -> Result<String, ClientError> {
    let bad = |reason: &str| ClientError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("use http://HOST:PORT, e.g. http://127.0.0.1:4000"))?;
    let hostport = rest.trim_end_matches('/');
    if hostport.contains(['/', '?', '#', '@']) || hostport.contains(char::is_whitespace) {
        return Err(bad("only http://HOST:PORT, no path, query or user"));
    }
    let (host, port) = if hostport.starts_with('[') {
        match hostport.split_once("]:") {
            Some((h, p)) => (h.trim_start_matches('['), Some(p)),
            None => (hostport, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    match port.map(str::parse::<u16>) {
        Some(Ok(0)) | Some(Err(_)) => Err(bad("the port must be a number from 1 to 65535")),
        None => Err(bad("no port (e.g. :4000)")),
        Some(Ok(_)) => Ok(format!("http://{hostport}")),
    }
}

impl Client {
    /// A client of the referee at `base` (e.g. `http://127.0.0.1:4000`);
    /// a malformed URL is refused at once.
    pub fn connect(base: &str) -> Result<Client, ClientError> {
        let base = check_url(base)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Ok(Client {
            agent: config.into(),
            base,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            patience: Some(Duration::from_secs(60)),
            on_wait: None,
        })
    }

    /// A client of the referee at `base`, for URLs known to be good (tests,
    /// the demo); panics on a malformed one.
    pub fn new(base: &str) -> Client {
        Client::connect(base).unwrap_or_else(|e| panic!("{e}"))
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
        let mut retry = 0u64;
        let mut wait = |reason: String| -> Result<(), ClientError> {
            if self.patience.is_some_and(|p| start.elapsed() >= p) {
                return Err(ClientError::Unreachable {
                    url: url.clone(),
                    reason,
                });
            }
            retry += 1;
            if let Some(tell) = &self.on_wait {
                tell(&format!(
                    "waiting for the referee at {} (retry {retry}): {reason}",
                    self.base
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
            Ok(())
        };
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
                    let status = resp.status().as_u16();
                    let text = resp
                        .body_mut()
                        .with_config()
                        .limit(256 << 20)
                        .read_to_string()
                        .map_err(|e| ClientError::Protocol(e.to_string()))?;
                    if (200..300).contains(&status) {
                        self.sent.fetch_add(sent as u64, Ordering::Relaxed);
                        self.received
                            .fetch_add(text.len() as u64, Ordering::Relaxed);
                        return Ok(text);
                    }
                    let reason = serde_json::from_str::<ErrorBody>(&text).map_or(text, |e| e.error);
                    if status >= 500 {
                        // Busy or restarting: nothing changed; try again.
                        wait(format!("{status}: {reason}"))?;
                        continue;
                    }
                    return Err(ClientError::Refused { status, reason });
                }
                Err(e) => wait(e.to_string())?,
            }
        }
    }

    fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ClientError> {
        serde_json::from_str(text).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Opens a claim.
    pub fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        let body = serde_json::to_string(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Self::json(&self.request("POST", "/games", Some(&body))?)
    }

    /// Where a claim stands, waiting up to `wait_ms` for it to change past `after_seq`.
    pub fn claim(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<ClaimView, ClientError> {
        let q = match after_seq {
            Some(n) => format!("?after_seq={n}&wait_ms={wait_ms}"),
            None => String::new(),
        };
        Self::json(&self.request("GET", &format!("/games/{id}{q}"), None)?)
    }

    /// Opens a dispute of one's own against claim `id`.
    pub fn join(&self, id: &str) -> Result<Joined, ClientError> {
        Self::json(&self.request("POST", &format!("/games/{id}/join"), None)?)
    }

    /// Where dispute `n` of claim `id` stands, waiting up to `wait_ms` for
    /// it to move past `after_seq`.
    pub fn view(
        &self,
        id: &str,
        n: u64,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        let q = match after_seq {
            Some(s) => format!("?after_seq={s}&wait_ms={wait_ms}"),
            None => String::new(),
        };
        Self::json(&self.request("GET", &format!("/games/{id}/disputes/{n}{q}"), None)?)
    }

    /// Sends a move in dispute `n` of claim `id`.
    pub fn send(&self, id: &str, n: u64, req: &MoveRequest) -> Result<View, ClientError> {
        let body = serde_json::to_string(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Self::json(&self.request(
            "POST",
            &format!("/games/{id}/disputes/{n}/moves"),
            Some(&body),
        )?)
    }

    /// The transcript of dispute `n` of claim `id`.
    pub fn transcript(&self, id: &str, n: u64) -> Result<Transcript, ClientError> {
        Self::json(&self.request("GET", &format!("/games/{id}/disputes/{n}/transcript"), None)?)
    }

    /// What changed in claim `id`'s disputes after cursor `after`
    /// (`GET /games/{id}/events`), waiting up to `wait_ms`.
    pub fn feed(&self, id: &str, after: u64, wait_ms: u64) -> Result<Feed, ClientError> {
        Self::json(&self.request(
            "GET",
            &format!("/games/{id}/events?after={after}&wait_ms={wait_ms}"),
            None,
        )?)
    }

    /// Moves in several disputes of claim `id` (`POST /games/{id}/moves`).
    pub fn send_batch(
        &self,
        id: &str,
        moves: &[BatchMove],
    ) -> Result<Vec<BatchResult>, ClientError> {
        let body = serde_json::to_string(&Batch {
            moves: moves.to_vec(),
        })
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let a: BatchAnswer =
            Self::json(&self.request("POST", &format!("/games/{id}/moves"), Some(&body))?)?;
        if a.results.len() != moves.len() {
            return Err(ClientError::Protocol(format!(
                "{} results for {} moves",
                a.results.len(),
                moves.len()
            )));
        }
        Ok(a.results)
    }
}

impl RefereeApi for Client {
    fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        Client::create(self, req)
    }
    fn claim(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<ClaimView, ClientError> {
        Client::claim(self, id, after_seq, wait_ms)
    }
    fn join(&self, id: &str) -> Result<Joined, ClientError> {
        Client::join(self, id)
    }
    fn view(
        &self,
        id: &str,
        dispute: u64,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        Client::view(self, id, dispute, after_seq, wait_ms)
    }
    fn send(&self, id: &str, dispute: u64, req: &MoveRequest) -> Result<View, ClientError> {
        Client::send(self, id, dispute, req)
    }
    fn transcript(&self, id: &str, dispute: u64) -> Result<Transcript, ClientError> {
        Client::transcript(self, id, dispute)
    }
    fn bytes(&self) -> u64 {
        Client::bytes(self)
    }
    fn feed(&self, id: &str, after: u64, wait_ms: u64) -> Result<Feed, ClientError> {
        Client::feed(self, id, after, wait_ms)
    }
    fn send_batch(&self, id: &str, moves: &[BatchMove]) -> Result<Vec<BatchResult>, ClientError> {
        Client::send_batch(self, id, moves)
    }
}

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
struct Narrator {
    /// The game as of the last move said.
    known: DisputeState,
}

impl Narrator {
    fn new(game: &DisputeState) -> Narrator {
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

/// Plays `player` in dispute `n` of claim `id` with `token` until the
/// dispute ends; `say` gets one line per accepted move (the player's and
/// its opponent's), per refused move of the player's, and about the end.
/// Returns the outcome.
pub fn play(
    api: &dyn RefereeApi,
    id: &str,
    n: u64,
    token: &str,
    player: &mut Player,
    say: &mut dyn FnMut(String),
) -> Result<Outcome, ClientError> {
    play_with(api, id, n, token, player, &mut |_, line| say(line))
}

/// [`play`], telling `say` which side each line is about.
pub fn play_with(
    api: &dyn RefereeApi,
    id: &str,
    n: u64,
    token: &str,
    player: &mut Player,
    say: &mut dyn FnMut(Side, String),
) -> Result<Outcome, ClientError> {
    play_from(api, id, n, token, player, None, say)
}

/// [`play_with`]; with `start` (the dispute as it was opened), the moves
/// made before the player looked are told too.
pub fn play_from(
    api: &dyn RefereeApi,
    id: &str,
    n: u64,
    token: &str,
    player: &mut Player,
    start: Option<&DisputeState>,
    say: &mut dyn FnMut(Side, String),
) -> Result<Outcome, ClientError> {
    let mut view = api.view(id, n, start.map(|_| 0), 0)?;
    let mut narrator = Narrator::new(start.unwrap_or(&view.game));
    if start.is_none() {
        // Moves before we looked are not ours to tell.
        view.recent.clear();
    }
    let mut refused_at: Option<u64> = None;
    loop {
        narrator.follow(&view, say);
        if let Phase::Done(o) = &view.game.phase {
            if matches!(o, Outcome::Timeout { .. }) {
                say(view.game.turn, describe_end(o));
            }
            return Ok(o.clone());
        }
        if view.queued {
            // Its clocks are stopped: wait for it to start.
            view = api.view(id, n, Some(view.game.seq), 10_000)?;
            continue;
        }
        let my_turn = view.game.turn == player.side || matches!(view.game.phase, Phase::Prove(_));
        let mv = if my_turn && refused_at != Some(view.game.seq) {
            player.decide(&view.game)
        } else {
            None
        };
        let Some(mv) = mv else {
            // Not our turn, nothing to say, or silent: wait for the game to move.
            view = api.view(id, n, Some(view.game.seq), 10_000)?;
            continue;
        };
        let line = describe(&view.game, player.side, &mv);
        let req = MoveRequest {
            side: player.side,
            token: token.to_string(),
            seq: view.game.seq,
            mv,
        };
        match api.send(id, n, &req) {
            Ok(v) => view = v,
            Err(ClientError::Refused { status, reason }) => {
                refused_at = Some(req.seq);
                let before = req.seq;
                view = api.view(id, n, Some(req.seq), 10_000)?;
                // Either side may submit the step proof: the other's coming
                // first is the normal end of a game, not a refusal to report.
                let raced =
                    status == 409 && matches!(req.mv, Move::Proof { .. }) && view.game.is_over();
                if !raced {
                    say(
                        player.side,
                        format!("[seq {before}] refused ({status}): {line}: {reason}"),
                    );
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A strategy shared by the defender's games (one per dispute): each
/// call takes the lock, so one timeline serves every dispute, and the
/// roots it gave are remembered, so that many disputes asking the same
/// points (their bisections start alike) cost one replay each.
pub struct Shared(pub Arc<Mutex<SharedState>>);

/// The strategy behind [`Shared`] and the roots it gave.
pub struct SharedState {
    strategy: Box<dyn Strategy>,
    roots: std::collections::HashMap<
        (Query, Option<crate::players::player::Place>),
        crate::hash::Hash,
    >,
}

impl SharedState {
    /// Shares `strategy`.
    pub fn new(strategy: Box<dyn Strategy>) -> SharedState {
        SharedState {
            strategy,
            roots: std::collections::HashMap::new(),
        }
    }
}

impl Shared {
    fn get(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Strategy for Shared {
    fn root(
        &mut self,
        q: Query,
        place: Option<crate::players::player::Place>,
    ) -> crate::hash::Hash {
        let mut s = self.get();
        if let Some(h) = s.roots.get(&(q, place)) {
            return *h;
        }
        let h = s.strategy.root(q, place);
        s.roots.insert((q, place), h);
        h
    }
    fn proof(&mut self, t: u64, j: u64) -> Option<crate::proof::StepProof> {
        self.get().strategy.proof(t, j)
    }
    fn answers(&mut self, seq: u64) -> bool {
        self.get().strategy.answers(seq)
    }
    fn disputes(&mut self, claimed: &crate::hash::Hash) -> bool {
        self.get().strategy.disputes(claimed)
    }
    fn agrees(
        &mut self,
        q: Query,
        place: crate::players::player::Place,
        root: &crate::hash::Hash,
    ) -> bool {
        self.get().strategy.agrees(q, place, root)
    }
}

/// How a claim ended for its defender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimEnd {
    /// Stands or refuted.
    pub status: ClaimStatus,
    /// Each dispute's outcome, by number.
    pub outcomes: Vec<(u64, Outcome)>,
}

/// The defender's side of claim `id`: follows every dispute opened
/// against it through the claim's event feed (one connection, however
/// many disputes) and plays them all with the one `strategy` (one run,
/// one set of checkpoints, one cache of roots), sending the moves due in
/// all disputes as batches, until the claim stands or is refuted and
/// every dispute has ended. `say(n, side, line)` gets the lines of
/// dispute `n` (and `n = 0` for the claim's own news).
pub fn defend(
    api: &dyn RefereeApi,
    id: &str,
    token: &str,
    strategy: Box<dyn Strategy>,
    say: &(dyn Fn(u64, Side, String) + Sync),
) -> Result<ClaimEnd, ClientError> {
    let seats = Seats::All(token.to_string());
    let (status, outcomes) = follow(api, id, Side::Defender, &seats, strategy, say)?;
    Ok(ClaimEnd {
        status: status.unwrap_or(ClaimStatus::Open),
        outcomes,
    })
}

/// Plays the challenger's side of several disputes of claim `id` (those
/// joined, with their tokens) with one `strategy`, through the claim's
/// event feed and batches of moves, until each has ended; their outcomes.
pub fn challenge_many(
    api: &dyn RefereeApi,
    id: &str,
    joined: &[(u64, String)],
    strategy: Box<dyn Strategy>,
    say: &(dyn Fn(u64, Side, String) + Sync),
) -> Result<Vec<(u64, Outcome)>, ClientError> {
    let seats = Seats::These(joined.iter().cloned().collect());
    follow(api, id, Side::Challenger, &seats, strategy, say).map(|(_, o)| o)
}

/// Which disputes of a claim a player plays, with which token.
enum Seats {
    /// Every dispute, with one token (the defender).
    All(String),
    /// These disputes, each with its own token (challengers).
    These(std::collections::BTreeMap<u64, String>),
}

impl Seats {
    fn token(&self, n: u64) -> Option<&str> {
        match self {
            Seats::All(t) => Some(t),
            Seats::These(m) => m.get(&n).map(String::as_str),
        }
    }
}

/// One dispute a player follows.
struct Followed {
    view: View,
    narrator: Narrator,
    /// The move number at which the player's move was refused (it does
    /// not try again until the game moves).
    refused_at: Option<u64>,
    ended: bool,
}

/// The claim's status once decided (when the player plays every dispute)
/// and each followed dispute's outcome, by number.
type FollowEnd = (Option<ClaimStatus>, Vec<(u64, Outcome)>);

/// The loop behind [`defend`] and [`challenge_many`]: one feed, one
/// strategy, batches of moves. Returns the claim's status once decided
/// (if the player plays every dispute) and each dispute's outcome.
fn follow(
    api: &dyn RefereeApi,
    id: &str,
    side: Side,
    seats: &Seats,
    strategy: Box<dyn Strategy>,
    say: &(dyn Fn(u64, Side, String) + Sync),
) -> Result<FollowEnd, ClientError> {
    let shared = Arc::new(Mutex::new(SharedState::new(strategy)));
    let mut player = Player {
        side,
        strategy: Box::new(Shared(shared)),
    };
    let mut disputes: std::collections::BTreeMap<u64, Followed> = Default::default();
    let mut outcomes = Vec::new();
    let mut cursor = 0u64;
    let mut told_window = false;
    let mut wait = 0u64;
    loop {
        let feed = api.feed(id, cursor, wait)?;
        if !told_window && matches!(seats, Seats::All(_)) {
            say(
                0,
                side,
                format!(
                    "claim {id}: waiting {:.1} s for challengers (anyone may open a dispute until the window closes; the claim stands if none does or the defender wins every one)",
                    feed.window_left_ms as f64 / 1000.0
                ),
            );
        }
        told_window = true;
        cursor = feed.cursor;
        for v in feed.disputes {
            let n = v.dispute;
            if seats.token(n).is_none() {
                continue;
            }
            let f = disputes.entry(n).or_insert_with(|| {
                if matches!(seats, Seats::All(_)) {
                    say(0, side, format!("dispute {n} opened against claim {id}"));
                }
                // The dispute as it was opened, to tell its moves from the first.
                let start = DisputeState::with_root(
                    v.game.claim.clone(),
                    v.game.levels.clone(),
                    v.game.initial_root,
                    v.game.clock_ms[0],
                    0,
                )
                .unwrap_or_else(|_| v.game.clone());
                Followed {
                    view: v.clone(),
                    narrator: Narrator::new(&start),
                    refused_at: None,
                    ended: false,
                }
            });
            f.update(n, v, say, &mut outcomes);
        }
        // The moves due now, in every dispute at once.
        let mut due: Vec<(BatchMove, String)> = Vec::new();
        for (n, f) in disputes.iter_mut() {
            let g = &f.view.game;
            if f.ended || f.view.queued || f.refused_at == Some(g.seq) {
                continue;
            }
            if g.turn != side && !matches!(g.phase, Phase::Prove(_)) {
                continue;
            }
            let Some(mv) = player.decide(g) else { continue };
            let line = describe(g, side, &mv);
            let token = seats.token(*n).unwrap_or_default().to_string();
            let req = MoveRequest {
                side,
                token,
                seq: g.seq,
                mv,
            };
            due.push((BatchMove::new(*n, req), line));
        }
        for chunk in due.chunks(crate::referee::MAX_BATCH) {
            let moves: Vec<BatchMove> = chunk.iter().map(|(m, _)| m.clone()).collect();
            let results = api.send_batch(id, &moves)?;
            for ((m, line), r) in chunk.iter().zip(results) {
                let Some(f) = disputes.get_mut(&m.dispute) else {
                    continue;
                };
                match (r.view, r.status) {
                    (Some(v), _) => f.update(m.dispute, v, say, &mut outcomes),
                    (None, status) => {
                        say(
                            m.dispute,
                            side,
                            format!(
                                "[seq {}] refused ({}): {line}: {}",
                                m.seq,
                                status.unwrap_or(0),
                                r.error.unwrap_or_default()
                            ),
                        );
                        f.refused_at = Some(m.seq);
                    }
                }
            }
        }
        let all_seen = match seats {
            Seats::All(_) => disputes.len() as u64 >= feed.disputes_total,
            Seats::These(m) => disputes.len() >= m.len(),
        };
        let all_ended = all_seen && disputes.values().all(|f| f.ended);
        let decided = feed.status != ClaimStatus::Open;
        match seats {
            Seats::All(_) if decided && all_ended && !feed.more => {
                outcomes.sort_by_key(|(n, _)| *n);
                return Ok((Some(feed.status), outcomes));
            }
            Seats::These(_) if all_ended => {
                outcomes.sort_by_key(|(n, _)| *n);
                return Ok((None, outcomes));
            }
            _ => {}
        }
        // Moves sent or more news waiting: look again at once; otherwise
        // wait for the next change.
        wait = if feed.more || !due.is_empty() {
            0
        } else {
            10_000
        };
    }
}

impl Followed {
    /// Catches up with a newer view of dispute `n`: tells its new moves,
    /// and its end once.
    fn update(
        &mut self,
        n: u64,
        v: View,
        say: &(dyn Fn(u64, Side, String) + Sync),
        outcomes: &mut Vec<(u64, Outcome)>,
    ) {
        if v.game.seq < self.view.game.seq || (self.ended && !v.game.is_over()) {
            return; // older news
        }
        self.narrator
            .follow(&v, &mut |side, line| say(n, side, line));
        if v.game.seq != self.view.game.seq || v.queued != self.view.queued {
            self.refused_at = None;
        }
        if let (Phase::Done(o), false) = (&v.game.phase, self.ended) {
            if matches!(o, Outcome::Timeout { .. }) {
                say(n, v.game.turn, describe_end(o));
            }
            outcomes.push((n, o.clone()));
            self.ended = true;
        }
        self.view = v;
    }
}
