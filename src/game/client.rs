//! The players' side of the wire: the [`RefereeApi`] a player talks to
//! (the HTTP [`Client`] is one implementation; a chain-backed referee can
//! be another), the loop that plays a [`Player`] to the end of one dispute
//! ([`play`]), and the defender's loop over every dispute of its claim
//! ([`defend`]).

use super::levels::LevelKind;
use super::player::{Player, Query, Strategy, midpoint_query};
use super::rules::{Bisection, Game, Move, Outcome, Phase, Side};
use super::transcript::{Record, Transcript};
use super::wire::{
    ClaimStatus, ClaimView, CreateGame, Created, ErrorBody, Joined, MoveRequest, View,
};
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
    start: Option<&Game>,
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
    roots: std::collections::HashMap<(Query, Option<super::player::Place>), crate::hash::Hash>,
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
    fn root(&mut self, q: Query, place: Option<super::player::Place>) -> crate::hash::Hash {
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
    fn agrees(&mut self, q: Query, place: super::player::Place, root: &crate::hash::Hash) -> bool {
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

/// The defender's side of claim `id`: watches the claim and plays every
/// dispute opened against it, each on a thread of its own with the one
/// shared `strategy`, until the claim stands or is refuted and every
/// dispute it plays has ended. `say(n, side, line)` gets the lines of
/// dispute `n` (and `n = 0` for the claim's own news).
pub fn defend(
    api: &dyn RefereeApi,
    id: &str,
    token: &str,
    strategy: Box<dyn Strategy>,
    say: &(dyn Fn(u64, Side, String) + Sync),
) -> Result<ClaimEnd, ClientError> {
    let shared = Arc::new(Mutex::new(SharedState::new(strategy)));
    let outcomes = Mutex::new(Vec::new());
    let failure: Mutex<Option<ClientError>> = Mutex::new(None);
    let status = std::thread::scope(|s| -> Result<ClaimStatus, ClientError> {
        let mut started = 0u64;
        let mut told_window = false;
        let mut view = api.claim(id, None, 0)?;
        loop {
            if !told_window {
                say(
                    0,
                    Side::Defender,
                    format!(
                        "claim {id}: waiting {:.1} s for challengers (anyone may open a dispute until the window closes; the claim stands if none does or the defender wins every one)",
                        view.window_left_ms as f64 / 1000.0
                    ),
                );
                told_window = true;
            }
            while started < view.disputes.len() as u64 {
                started += 1;
                let n = started;
                say(
                    0,
                    Side::Defender,
                    format!("dispute {n} opened against claim {id}"),
                );
                let (shared, outcomes, failure) = (shared.clone(), &outcomes, &failure);
                // The dispute as it was opened, to tell its moves from the first.
                let start = Game::with_root(
                    view.claim.clone(),
                    view.levels.clone(),
                    view.initial_root,
                    view.clock_ms,
                    0,
                )
                .ok();
                s.spawn(move || {
                    let mut player = Player {
                        side: Side::Defender,
                        strategy: Box::new(Shared(shared)),
                    };
                    let r = play_from(
                        api,
                        id,
                        n,
                        token,
                        &mut player,
                        start.as_ref(),
                        &mut |side, line| say(n, side, line),
                    );
                    match r {
                        Ok(o) => outcomes
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((n, o)),
                        Err(e) => {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        }
                    }
                });
            }
            if view.status != ClaimStatus::Open {
                return Ok(view.status);
            }
            view = api.claim(id, Some(view.seq), 10_000)?;
        }
    })?;
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    outcomes.sort_by_key(|(n, _)| *n);
    Ok(ClaimEnd { status, outcomes })
}
