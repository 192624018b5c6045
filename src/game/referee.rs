//! The referee: a neutral HTTP/JSON service that holds every game, checks
//! every move with the rules ([`super::rules`]), settles the last step with
//! the verifier module, keeps the clocks, and logs every accepted event to
//! disk (synced) before it answers.
//!
//! Endpoints (JSON bodies; a refusal is a 4xx answer `{"error": "..."}`
//! that changes nothing):
//!
//! | method and path | body | answer |
//! |-----------------|------|--------|
//! | `POST /games` | [`CreateGame`] | 201 [`Created`] |
//! | `POST /games/{id}/join` | `{}` | 200 [`Joined`] (once per game) |
//! | `POST /games/{id}/moves` | [`MoveRequest`] | 200 [`View`] |
//! | `GET /games/{id}?after_seq=N&wait_ms=M` | - | 200 [`View`], as soon as the game moves past `N` or after `M` ms |
//! | `GET /games/{id}/transcript` | - | 200 [`Transcript`] |
//! | `GET /games` | - | 200 list of [`Summary`] |
//! | `GET /health` | - | 200 |

use super::levels::two_levels;
use super::rules::{Game, MoveError, Phase, Side};
use super::store::{Event, Log, StoreError};
use super::transcript::{Record, TRANSCRIPT_TYPE, Transcript};
use super::wire::{Clocks, CreateGame, Created, ErrorBody, Joined, MoveRequest, Summary, View};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest `POST /games` body (ELF and input, hex).
pub const MAX_CREATE_BODY: usize = 64 << 20;
/// Largest body of any other request.
pub const MAX_BODY: usize = 1 << 20;
/// Longest long-poll.
pub const MAX_WAIT_MS: u64 = 30_000;
/// Most requests served at once.
pub const MAX_IN_FLIGHT: usize = 512;

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Referee settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Default clock per side, milliseconds.
    pub clock_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { clock_ms: 300_000 }
    }
}

struct Entry {
    game: Game,
    program: Vec<u8>,
    input: Vec<u8>,
    created_ms: u64,
    defender_token: String,
    challenger_token: Option<String>,
    moves: Vec<Record>,
    initial_clock: u64,
}

struct State {
    games: BTreeMap<String, Entry>,
    log: Log,
    next_id: u64,
}

impl State {
    /// Logs an event (synced) and applies it: the one way state changes.
    fn commit(&mut self, event: Event) -> Result<(), Refusal> {
        self.log
            .append(&event)
            .map_err(|e| refuse(500, e.to_string()))?;
        apply_event(&mut self.games, &mut self.next_id, event).map_err(|r| refuse(500, r))
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    config: Config,
    stop: AtomicBool,
    in_flight: AtomicUsize,
}

/// A refusal: status code and one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// The reason.
    pub reason: String,
}

fn refuse(status: u16, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
    }
}

/// Why the referee cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RefereeError {
    /// The log.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A logged event does not replay (the log does not belong to these rules).
    #[error("the log does not replay: {0}")]
    Replay(String),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        // No /dev/urandom: fall back to a hash of the time and a counter.
        static N: AtomicUsize = AtomicUsize::new(0);
        let seed = format!(
            "{:?} {}",
            SystemTime::now(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        b = crate::hash::keccak(&[seed.as_bytes()]).0[..bytes.min(32)].to_vec();
    }
    hex::encode(b)
}

/// Compares secrets without an early exit.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn move_status(e: &MoveError) -> u16 {
    match e {
        MoveError::Proof(_) => 422,
        _ => 409,
    }
}

impl Entry {
    fn view(&self, id: &str, now: u64) -> View {
        View {
            id: id.to_string(),
            game: self.game.clone(),
            challenged: self.challenger_token.is_some(),
            time_left_ms: Clocks {
                defender: self.game.time_left(Side::Defender, now),
                challenger: self.game.time_left(Side::Challenger, now),
            },
            waiting_for: self.game.waiting_for(),
        }
    }

    fn transcript(&self, id: &str) -> Transcript {
        Transcript {
            kind: TRANSCRIPT_TYPE.to_string(),
            game: id.to_string(),
            claim: self.game.claim.clone(),
            program: self.program.clone(),
            input: self.input.clone(),
            levels: self.game.levels.clone(),
            clock_ms: self.initial_clock,
            created_ms: self.created_ms,
            moves: self.moves.clone(),
            outcome: self.game.outcome().cloned(),
        }
    }
}

/// A running referee.
#[derive(Clone)]
pub struct Referee {
    shared: Arc<Shared>,
}

impl Referee {
    /// Opens the referee on a data directory, replaying its log.
    pub fn open(dir: &Path, config: Config) -> Result<Referee, RefereeError> {
        let (mut log, events) = Log::open(dir)?;
        let mut games: BTreeMap<String, Entry> = BTreeMap::new();
        let mut next_id = 1;
        for (i, e) in events.into_iter().enumerate() {
            apply_event(&mut games, &mut next_id, e)
                .map_err(|r| RefereeError::Replay(format!("event {}: {r}", i + 1)))?;
        }
        let restart = Event::Restart { time_ms: now_ms() };
        log.append(&restart)?;
        apply_event(&mut games, &mut next_id, restart).map_err(RefereeError::Replay)?;
        Ok(Referee {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    games,
                    log,
                    next_id,
                }),
                changed: Condvar::new(),
                config,
                stop: AtomicBool::new(false),
                in_flight: AtomicUsize::new(0),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends games whose side on turn ran out of time (logged like any event).
    pub fn expire_clocks(&self) -> Result<usize, Refusal> {
        let now = now_ms();
        let mut st = self.lock();
        let due: Vec<String> = st
            .games
            .iter()
            .filter(|(_, e)| !e.game.is_over() && e.game.time_left(e.game.turn, now) == 0)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &due {
            st.commit(Event::Timeout {
                game: id.clone(),
                time_ms: now,
            })?;
        }
        if !due.is_empty() {
            self.shared.changed.notify_all();
        }
        Ok(due.len())
    }

    /// Opens a game (`POST /games`).
    pub fn create(&self, req: CreateGame) -> Result<Created, Refusal> {
        let now = now_ms();
        let clock_ms = req.clock_ms.unwrap_or(self.shared.config.clock_ms);
        if clock_ms == 0 || clock_ms > 7 * 24 * 3_600_000 {
            return Err(refuse(
                400,
                format!("clock_ms {clock_ms} is out of range (1 ms to 7 days)"),
            ));
        }
        let levels = req.levels.unwrap_or_else(|| two_levels(req.claim.b));
        // Loading the ELF and computing root(S_0) happen outside the lock.
        let game = Game::new(req.claim, &req.program, &req.input, levels, clock_ms, now)
            .map_err(|e| refuse(400, e.to_string()))?;
        let token = random_hex(16);
        let mut st = self.lock();
        let id = format!("g{}", st.next_id);
        let event = Event::Create {
            game: id.clone(),
            time_ms: now,
            claim: game.claim.clone(),
            program: req.program,
            input: req.input,
            levels: game.levels.clone(),
            clock_ms,
            defender_token: token.clone(),
        };
        st.commit(event)?;
        self.shared.changed.notify_all();
        Ok(Created { game: id, token })
    }

    /// A challenger joins (`POST /games/{id}/join`).
    pub fn join(&self, id: &str) -> Result<Joined, Refusal> {
        let now = now_ms();
        let mut st = self.lock();
        let e = st
            .games
            .get(id)
            .ok_or_else(|| refuse(404, format!("unknown game {id}")))?;
        if e.challenger_token.is_some() {
            return Err(refuse(409, format!("game {id} already has a challenger")));
        }
        if e.game.is_over() {
            return Err(refuse(409, format!("game {id} is over")));
        }
        let token = random_hex(16);
        let event = Event::Join {
            game: id.to_string(),
            time_ms: now,
            challenger_token: token.clone(),
        };
        st.commit(event)?;
        self.shared.changed.notify_all();
        Ok(Joined { token })
    }

    /// A move (`POST /games/{id}/moves`).
    pub fn play(&self, id: &str, req: MoveRequest) -> Result<View, Refusal> {
        let now = now_ms();
        let mut st = self.lock();
        let e = st
            .games
            .get(id)
            .ok_or_else(|| refuse(404, format!("unknown game {id}")))?;
        let secret = match req.side {
            Side::Defender => Some(&e.defender_token),
            Side::Challenger => e.challenger_token.as_ref(),
        };
        match secret {
            None => return Err(refuse(403, "no challenger has joined this game")),
            Some(s) if !same_secret(s, &req.token) => {
                return Err(refuse(403, format!("wrong token for the {}", req.side)));
            }
            _ => {}
        }
        // A side whose time is up cannot move; the timeout is logged first.
        if !e.game.is_over() && e.game.time_left(e.game.turn, now) == 0 {
            drop(st);
            self.expire_clocks()?;
            st = self.lock();
        }
        let e = st
            .games
            .get(id)
            .ok_or_else(|| refuse(404, format!("unknown game {id}")))?;
        let mut game = e.game.clone();
        game.apply(req.side, req.seq, &req.mv, now)
            .map_err(|err| refuse(move_status(&err), err.to_string()))?;
        let event = Event::Move {
            game: id.to_string(),
            time_ms: now,
            side: req.side,
            seq: req.seq,
            mv: req.mv,
        };
        st.commit(event)?;
        self.shared.changed.notify_all();
        let e = st
            .games
            .get(id)
            .ok_or_else(|| refuse(500, "game vanished"))?;
        Ok(e.view(id, now))
    }

    /// Where a game stands (`GET /games/{id}`), waiting up to `wait_ms`
    /// for it to move past `after_seq`.
    pub fn view(&self, id: &str, after_seq: Option<u64>, wait_ms: u64) -> Result<View, Refusal> {
        let deadline = std::time::Instant::now() + Duration::from_millis(wait_ms.min(MAX_WAIT_MS));
        let mut st = self.lock();
        loop {
            let e = st
                .games
                .get(id)
                .ok_or_else(|| refuse(404, format!("unknown game {id}")))?;
            let moved = after_seq.is_none_or(|n| e.game.seq > n);
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if moved
                || e.game.is_over()
                || left.is_zero()
                || self.shared.stop.load(Ordering::Relaxed)
            {
                return Ok(e.view(id, now_ms()));
            }
            // Wake up at least when a clock may run out.
            let tick = left.min(Duration::from_millis(
                e.game.time_left(e.game.turn, now_ms()).max(1),
            ));
            st = self
                .shared
                .changed
                .wait_timeout(st, tick)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// The transcript of a game so far (`GET /games/{id}/transcript`).
    pub fn transcript(&self, id: &str) -> Result<Transcript, Refusal> {
        let st = self.lock();
        let e = st
            .games
            .get(id)
            .ok_or_else(|| refuse(404, format!("unknown game {id}")))?;
        Ok(e.transcript(id))
    }

    /// Every game (`GET /games`).
    pub fn list(&self) -> Vec<Summary> {
        let st = self.lock();
        st.games
            .iter()
            .map(|(id, e)| Summary {
                id: id.clone(),
                phase: match &e.game.phase {
                    Phase::Open => "open",
                    Phase::Bisect(_) => "bisect",
                    Phase::Prove(_) => "prove",
                    Phase::Done(_) => "done",
                }
                .to_string(),
                seq: e.game.seq,
                winner: e.game.outcome().map(|o| o.winner()),
                outcome: e.game.outcome().cloned(),
            })
            .collect()
    }

    /// Answers one HTTP request: `(status, JSON body)`.
    pub fn handle(&self, method: &str, url: &str, body: &[u8]) -> (u16, String) {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let param = |name: &str| -> Result<Option<u64>, Refusal> {
            for kv in query.split('&') {
                if let Some(v) = kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                    return v.parse::<u64>().map(Some).map_err(|_| {
                        refuse(
                            400,
                            format!("query parameter {name} must be a number, found {v:?}"),
                        )
                    });
                }
            }
            Ok(None)
        };
        let json = |r: Result<String, Refusal>, ok: u16| match r {
            Ok(s) => (ok, s),
            Err(e) => (
                e.status,
                serde_json::to_string(&ErrorBody { error: e.reason }).unwrap_or_default(),
            ),
        };
        fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Refusal> {
            serde_json::to_string(v).map_err(|e| refuse(500, e.to_string()))
        }
        fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
            serde_json::from_slice(body).map_err(|e| refuse(400, format!("malformed request: {e}")))
        }
        match (method, parts.as_slice()) {
            ("GET", ["health"]) => (200, "{\"ok\":true}".into()),
            ("GET", ["games"]) => json(to_json(&self.list()), 200),
            ("POST", ["games"]) => json(
                parse::<CreateGame>(body)
                    .and_then(|r| self.create(r))
                    .and_then(|c| to_json(&c)),
                201,
            ),
            ("GET", ["games", id]) => json(
                param("after_seq").and_then(|after| {
                    let wait = param("wait_ms")?.unwrap_or(0);
                    to_json(&self.view(id, after, wait)?)
                }),
                200,
            ),
            ("GET", ["games", id, "transcript"]) => {
                json(self.transcript(id).and_then(|t| to_json(&t)), 200)
            }
            ("POST", ["games", id, "join"]) => json(self.join(id).and_then(|j| to_json(&j)), 200),
            ("POST", ["games", id, "moves"]) => json(
                parse::<MoveRequest>(body)
                    .and_then(|m| self.play(id, m))
                    .and_then(|v| to_json(&v)),
                200,
            ),
            (
                _,
                ["health" | "games"] | ["games", _] | ["games", _, "transcript" | "join" | "moves"],
            ) => json(
                Err(refuse(405, format!("{method} is not allowed on {path}"))),
                200,
            ),
            _ => json(
                Err(refuse(404, format!("no such endpoint: {method} {path}"))),
                200,
            ),
        }
    }

    /// Serves HTTP on `addr` (e.g. `127.0.0.1:0`) until [`Server::stop`];
    /// returns at once with the bound address.
    pub fn serve(&self, addr: &str) -> Result<Server, RefereeError> {
        let server = tiny_http::Server::http(addr).map_err(|e| RefereeError::Listen {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
        let local = server
            .server_addr()
            .to_ip()
            .map(|a| a.to_string())
            .unwrap_or_else(|| addr.to_string());
        let server = Arc::new(server);
        let me = self.clone();
        let srv = server.clone();
        let accept = std::thread::spawn(move || me.accept_loop(&srv));
        let me = self.clone();
        let ticker = std::thread::spawn(move || {
            while !me.shared.stop.load(Ordering::Relaxed) {
                if let Err(e) = me.expire_clocks() {
                    eprintln!("referee: cannot log a timeout: {}", e.reason);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Ok(Server {
            addr: local,
            referee: self.clone(),
            server,
            threads: vec![accept, ticker],
        })
    }

    fn accept_loop(&self, server: &tiny_http::Server) {
        while !self.shared.stop.load(Ordering::Relaxed) {
            let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(100)) else {
                continue;
            };
            if self.shared.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                respond(
                    request,
                    503,
                    "{\"error\":\"too many requests in flight\"}".into(),
                );
                continue;
            }
            self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
            let me = self.clone();
            std::thread::spawn(move || {
                me.answer(request);
                me.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }

    fn answer(&self, mut request: tiny_http::Request) {
        let method = request.method().as_str().to_string();
        let url = request.url().to_string();
        let limit = if method == "POST" && url.trim_end_matches('/') == "/games" {
            MAX_CREATE_BODY
        } else {
            MAX_BODY
        };
        let too_big = |n: usize| {
            format!("{{\"error\":\"request body of {n} bytes is too large (at most {limit})\"}}")
        };
        if let Some(n) = request.body_length().filter(|n| *n > limit) {
            respond(request, 413, too_big(n));
            return;
        }
        let mut body = Vec::new();
        let read = request
            .as_reader()
            .take(limit as u64 + 1)
            .read_to_end(&mut body);
        if let Err(e) = read {
            respond(
                request,
                400,
                format!("{{\"error\":\"cannot read the request body: {e}\"}}"),
            );
            return;
        }
        if body.len() > limit {
            respond(request, 413, too_big(body.len()));
            return;
        }
        let (status, text) = self.handle(&method, &url, &body);
        respond(request, status, text);
    }
}

fn respond(request: tiny_http::Request, status: u16, body: String) {
    let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]);
    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
    if let Ok(h) = header {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

/// A serving referee.
pub struct Server {
    /// The address it listens on.
    pub addr: String,
    referee: Referee,
    server: Arc<tiny_http::Server>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The base URL, e.g. `http://127.0.0.1:4000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the service threads.
    pub fn stop(self) {
        self.referee.shared.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        self.referee.shared.changed.notify_all();
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Applies one logged event to the games (shared by live requests and replay).
fn apply_event(
    games: &mut BTreeMap<String, Entry>,
    next_id: &mut u64,
    e: Event,
) -> Result<(), String> {
    match e {
        Event::Create {
            game,
            time_ms,
            claim,
            program,
            input,
            levels,
            clock_ms,
            defender_token,
        } => {
            let g = Game::new(claim, &program, &input, levels, clock_ms, time_ms)
                .map_err(|e| format!("game {game}: {e}"))?;
            if let Some(n) = game.strip_prefix('g').and_then(|n| n.parse::<u64>().ok()) {
                *next_id = (*next_id).max(n + 1);
            }
            games.insert(
                game,
                Entry {
                    game: g,
                    program,
                    input,
                    created_ms: time_ms,
                    defender_token,
                    challenger_token: None,
                    moves: Vec::new(),
                    initial_clock: clock_ms,
                },
            );
        }
        Event::Join {
            game,
            challenger_token,
            ..
        } => {
            let e = games
                .get_mut(&game)
                .ok_or(format!("join of unknown game {game}"))?;
            e.challenger_token = Some(challenger_token);
        }
        Event::Move {
            game,
            time_ms,
            side,
            seq,
            mv,
        } => {
            let e = games
                .get_mut(&game)
                .ok_or(format!("move in unknown game {game}"))?;
            e.game
                .apply(side, seq, &mv, time_ms)
                .map_err(|err| format!("game {game} move {seq}: {err}"))?;
            e.moves.push(Record {
                seq,
                side,
                time_ms,
                mv,
            });
        }
        Event::Timeout { game, time_ms } => {
            let e = games
                .get_mut(&game)
                .ok_or(format!("timeout in unknown game {game}"))?;
            // The logged timeout is a fact: end the game even if the clock arithmetic differs by a tick.
            if !e.game.expire(time_ms) && !e.game.is_over() {
                let i = if e.game.turn == Side::Defender { 0 } else { 1 };
                e.game.clock_ms[i] = 0;
                e.game.expire(time_ms);
            }
        }
        Event::Restart { time_ms } => {
            for e in games.values_mut() {
                if !e.game.is_over() {
                    e.game.turn_since_ms = e.game.turn_since_ms.max(time_ms);
                }
            }
        }
    }
    Ok(())
}
