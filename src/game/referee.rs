//! The referee: a neutral HTTP/JSON service that holds every game, checks
//! every move with the rules ([`super::rules`]), settles the last step with
//! the verifier module, keeps the clocks, and logs every accepted event to
//! disk (synced) before it answers ([`super::store`]).
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
//!
//! ## Locks
//!
//! Each game has its own lock and condition variable; the log has one
//! lock, always taken after a game's. A move is checked (a proof verified)
//! and logged under its game's lock only, so long-polls of other games go
//! on meanwhile. A new game is set up (ELF loaded, `root(S_0)` computed)
//! and its program and input written out before any lock is taken.
//!
//! ## Clocks
//!
//! The side on turn loses when its clock runs out: every request about a
//! game checks it, and a ticker thread checks every game every 50 ms. A
//! timeout is logged like a move. When the referee starts it logs a
//! restart, and each running turn's clock restarts there: time the referee
//! was down is charged to nobody.

pub use super::http::{Limits, Server};
use super::levels::two_levels;
use super::rules::{Game, MoveError, Phase, Side};
use super::store::{Event, Log, StoreError, get_blob, put_blob};
use super::transcript::{Record, TRANSCRIPT_TYPE, Transcript};
use super::wire::{Clocks, CreateGame, Created, ErrorBody, Joined, MoveRequest, Summary, View};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Largest `POST /games` body (ELF and input, hex).
pub const MAX_CREATE_BODY: usize = 64 << 20;
/// Largest body of any other request.
pub const MAX_BODY: usize = 1 << 20;
/// Longest long-poll.
pub const MAX_WAIT_MS: u64 = 30_000;
/// Longest clock a game may have (7 days).
pub const MAX_CLOCK_MS: u64 = 7 * 24 * 3_600_000;
/// How often the ticker looks for clocks that ran out.
pub const TICK_MS: u64 = 50;
/// Most recent moves a view carries.
pub const MAX_RECENT: usize = 16;

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
    /// The HTTP service's bounds.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clock_ms: 300_000,
            limits: Limits::default(),
        }
    }
}

/// One game and what the referee keeps about it.
struct Entry {
    game: Game,
    program: Vec<u8>,
    input: Vec<u8>,
    created_ms: u64,
    initial_clock: u64,
    defender_token: String,
    challenger_token: Option<String>,
    moves: Vec<Record>,
}

/// A game behind its lock, with a condition variable for the long-polls
/// of the blocking API and a watch channel for those of the HTTP service.
struct Slot {
    entry: Mutex<Entry>,
    changed: Condvar,
    watch: tokio::sync::watch::Sender<()>,
}

impl Slot {
    fn new(entry: Entry) -> Slot {
        Slot {
            entry: Mutex::new(entry),
            changed: Condvar::new(),
            watch: tokio::sync::watch::Sender::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entry> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes everyone waiting for this game to change.
    fn notify(&self) {
        self.changed.notify_all();
        self.watch.send_replace(());
    }
}

struct Shared {
    dir: PathBuf,
    games: RwLock<BTreeMap<String, Arc<Slot>>>,
    log: Mutex<Log>,
    next_id: AtomicU64,
    config: Config,
    stop: AtomicBool,
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
    /// The data directory.
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

/// A fresh secret: 16 bytes from `/dev/urandom`, hex.
fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        // No /dev/urandom: fall back to a hash of the time and a counter.
        static N: AtomicUsize = AtomicUsize::new(0);
        let seed = format!(
            "{:?} {} {}",
            SystemTime::now(),
            std::process::id(),
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

/// An error body: `{"error": "one line"}`.
pub fn error_body(reason: &str) -> String {
    let line = reason.replace(['\n', '\r'], " ");
    serde_json::to_string(&ErrorBody { error: line }).unwrap_or_else(|_| "{\"error\":\"?\"}".into())
}

impl Entry {
    /// A new game's entry, from its creation event and its program and input.
    fn create(event: Event, program: Vec<u8>, input: Vec<u8>) -> Result<(String, Entry), String> {
        let Event::Create {
            game: id,
            time_ms,
            claim,
            levels,
            clock_ms,
            defender_token,
        } = event
        else {
            return Err("not a creation".into());
        };
        let game = Game::new(claim, &program, &input, levels, clock_ms, time_ms)
            .map_err(|e| format!("game {id}: {e}"))?;
        Ok((
            id,
            Entry {
                game,
                program,
                input,
                created_ms: time_ms,
                initial_clock: clock_ms,
                defender_token,
                challenger_token: None,
                moves: Vec::new(),
            },
        ))
    }

    /// Applies a logged event to this game (live requests and replay alike).
    fn apply(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Create { game, .. } => Err(format!("game {game} is created twice")),
            Event::Join {
                challenger_token, ..
            } => {
                self.challenger_token = Some(challenger_token);
                Ok(())
            }
            Event::Move {
                game,
                time_ms,
                side,
                seq,
                mv,
            } => {
                self.game
                    .apply(side, seq, &mv, time_ms)
                    .map_err(|err| format!("game {game} move {seq}: {err}"))?;
                self.moves.push(Record {
                    seq,
                    side,
                    time_ms,
                    mv,
                });
                Ok(())
            }
            Event::Timeout { time_ms, .. } => {
                // The logged timeout is a fact: end the game even if the
                // clock arithmetic differs by a tick.
                if !self.game.expire(time_ms) && !self.game.is_over() {
                    let turn = self.game.turn;
                    self.game.clock_ms[if turn == Side::Defender { 0 } else { 1 }] = 0;
                    self.game.expire(time_ms);
                }
                Ok(())
            }
            Event::Restart { time_ms } => {
                if !self.game.is_over() {
                    self.game.turn_since_ms = self.game.turn_since_ms.max(time_ms);
                }
                Ok(())
            }
        }
    }

    /// The view of the game at `now`, with the moves from number `since` on.
    fn view(&self, id: &str, now: u64, since: Option<u64>) -> View {
        let len = self.moves.len();
        let from = since.map_or(len.saturating_sub(1), |s| s.min(len as u64) as usize);
        let from = from.max(len.saturating_sub(MAX_RECENT));
        View {
            id: id.to_string(),
            game: self.game.clone(),
            challenged: self.challenger_token.is_some(),
            time_left_ms: Clocks {
                defender: self.game.time_left(Side::Defender, now),
                challenger: self.game.time_left(Side::Challenger, now),
            },
            waiting_for: self.game.waiting_for(),
            recent: self.moves.get(from..).unwrap_or_default().to_vec(),
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

    fn summary(&self, id: &str) -> Summary {
        Summary {
            id: id.to_string(),
            phase: match &self.game.phase {
                Phase::Open => "open",
                Phase::Bisect(_) => "bisect",
                Phase::Prove(_) => "prove",
                Phase::Done(_) => "done",
            }
            .to_string(),
            seq: self.game.seq,
            winner: self.game.outcome().map(|o| o.winner()),
            outcome: self.game.outcome().cloned(),
        }
    }
}

/// The number in a game id `gN`.
fn id_number(id: &str) -> Option<u64> {
    id.strip_prefix('g')?.parse().ok()
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
        for (i, event) in events.into_iter().enumerate() {
            let at = |r: String| RefereeError::Replay(format!("event {}: {r}", i + 1));
            match &event {
                Event::Create { claim, .. } => {
                    let program = get_blob(dir, &claim.program)?;
                    let input = get_blob(dir, &claim.input)?;
                    let (id, entry) = Entry::create(event, program, input).map_err(at)?;
                    next_id = next_id.max(id_number(&id).map_or(0, |n| n + 1));
                    games.insert(id, entry);
                }
                Event::Join { game, .. }
                | Event::Move { game, .. }
                | Event::Timeout { game, .. } => {
                    let game = game.clone();
                    games
                        .get_mut(&game)
                        .ok_or_else(|| at(format!("unknown game {game}")))?
                        .apply(event)
                        .map_err(at)?;
                }
                Event::Restart { .. } => {
                    for e in games.values_mut() {
                        e.apply(event.clone()).map_err(at)?;
                    }
                }
            }
        }
        let restart = Event::Restart { time_ms: now_ms() };
        log.append(&restart)?;
        for e in games.values_mut() {
            e.apply(restart.clone()).map_err(RefereeError::Replay)?;
        }
        let games = games
            .into_iter()
            .map(|(id, entry)| (id, Arc::new(Slot::new(entry))))
            .collect();
        Ok(Referee {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                games: RwLock::new(games),
                log: Mutex::new(log),
                next_id: AtomicU64::new(next_id),
                config,
                stop: AtomicBool::new(false),
            }),
        })
    }

    fn slot(&self, id: &str) -> Result<Arc<Slot>, Refusal> {
        let games = self.shared.games.read().unwrap_or_else(|p| p.into_inner());
        games
            .get(id)
            .cloned()
            .ok_or_else(|| refuse(404, format!("unknown game {id}")))
    }

    fn slots(&self) -> Vec<(String, Arc<Slot>)> {
        let games = self.shared.games.read().unwrap_or_else(|p| p.into_inner());
        games
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect()
    }

    /// Logs an event (synced) and applies it to its game: the one way a
    /// game changes. The caller holds the game's lock.
    fn commit(&self, entry: &mut Entry, event: Event) -> Result<(), Refusal> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&event)
            .map_err(|e| refuse(500, format!("cannot log the event: {e}")))?;
        entry
            .apply(event)
            .map_err(|r| refuse(500, format!("a logged event does not apply: {r}")))
    }

    /// Ends the game if the side on turn has run out of time at `now`
    /// (logged like a move); returns whether it did.
    fn expire(&self, id: &str, entry: &mut Entry, now: u64) -> Result<bool, Refusal> {
        if entry.game.is_over() || entry.game.time_left(entry.game.turn, now) > 0 {
            return Ok(false);
        }
        let event = Event::Timeout {
            game: id.to_string(),
            time_ms: now,
        };
        self.commit(entry, event)?;
        Ok(true)
    }

    /// Ends every game whose side on turn ran out of time; returns how many.
    pub fn expire_clocks(&self) -> Result<usize, Refusal> {
        let mut n = 0;
        for (id, slot) in self.slots() {
            let mut e = slot.lock();
            if self.expire(&id, &mut e, now_ms())? {
                n += 1;
                slot.notify();
            }
        }
        Ok(n)
    }

    /// Opens a game (`POST /games`).
    pub fn create(&self, req: CreateGame) -> Result<Created, Refusal> {
        let clock_ms = req.clock_ms.unwrap_or(self.shared.config.clock_ms);
        if clock_ms == 0 || clock_ms > MAX_CLOCK_MS {
            return Err(refuse(
                400,
                format!("clock_ms {clock_ms} is out of range (1 ms to 7 days)"),
            ));
        }
        let levels = req.levels.unwrap_or_else(|| two_levels(req.claim.b));
        // The slow part (loading the ELF, root(S_0), writing the program
        // and input out) happens before any lock.
        let now = now_ms();
        let game = Game::new(req.claim, &req.program, &req.input, levels, clock_ms, now)
            .map_err(|e| refuse(400, e.to_string()))?;
        for bytes in [&req.program, &req.input] {
            put_blob(&self.shared.dir, bytes)
                .map_err(|e| refuse(500, format!("cannot store the game: {e}")))?;
        }
        let token = random_hex(16);
        let id = format!("g{}", self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        let event = Event::Create {
            game: id.clone(),
            time_ms: now,
            claim: game.claim.clone(),
            levels: game.levels.clone(),
            clock_ms,
            defender_token: token.clone(),
        };
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&event)
            .map_err(|e| refuse(500, format!("cannot log the event: {e}")))?;
        let entry = Entry {
            game,
            program: req.program,
            input: req.input,
            created_ms: now,
            initial_clock: clock_ms,
            defender_token: token.clone(),
            challenger_token: None,
            moves: Vec::new(),
        };
        let slot = Arc::new(Slot::new(entry));
        self.shared
            .games
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), slot);
        Ok(Created { game: id, token })
    }

    /// A challenger joins (`POST /games/{id}/join`).
    pub fn join(&self, id: &str) -> Result<Joined, Refusal> {
        let slot = self.slot(id)?;
        let mut e = slot.lock();
        let now = now_ms();
        if self.expire(id, &mut e, now)? {
            slot.notify();
        }
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
        self.commit(&mut e, event)?;
        slot.notify();
        Ok(Joined { token })
    }

    /// A move (`POST /games/{id}/moves`).
    pub fn play(&self, id: &str, req: MoveRequest) -> Result<View, Refusal> {
        let slot = self.slot(id)?;
        let mut e = slot.lock();
        let now = now_ms();
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
        // A side whose time is up cannot move: the timeout comes first.
        if self.expire(id, &mut e, now)? {
            slot.notify();
        }
        // Check on a copy: a refused move changes nothing.
        let mut game = e.game.clone();
        game.apply(req.side, req.seq, &req.mv, now)
            .map_err(|err| refuse(move_status(&err), err.to_string()))?;
        let seq = req.seq;
        let event = Event::Move {
            game: id.to_string(),
            time_ms: now,
            side: req.side,
            seq,
            mv: req.mv,
        };
        self.commit(&mut e, event)?;
        slot.notify();
        Ok(e.view(id, now, Some(seq)))
    }

    /// Where a game stands (`GET /games/{id}`), waiting up to `wait_ms`
    /// for it to move past `after_seq` (or end).
    pub fn view(&self, id: &str, after_seq: Option<u64>, wait_ms: u64) -> Result<View, Refusal> {
        let slot = self.slot(id)?;
        let deadline = Instant::now() + Duration::from_millis(wait_ms.min(MAX_WAIT_MS));
        let mut e = slot.lock();
        loop {
            let now = now_ms();
            if self.expire(id, &mut e, now)? {
                slot.notify();
            }
            let moved = after_seq.is_none_or(|n| e.game.seq > n);
            let left = deadline.saturating_duration_since(Instant::now());
            if moved
                || e.game.is_over()
                || left.is_zero()
                || self.shared.stop.load(Ordering::Relaxed)
            {
                return Ok(e.view(id, now, after_seq));
            }
            // Wake up at the latest when the clock on turn runs out.
            let clock = e.game.time_left(e.game.turn, now);
            let tick = left.min(Duration::from_millis(clock.max(1)));
            e = slot
                .changed
                .wait_timeout(e, tick)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// The transcript of a game so far (`GET /games/{id}/transcript`).
    pub fn transcript(&self, id: &str) -> Result<Transcript, Refusal> {
        let slot = self.slot(id)?;
        let mut e = slot.lock();
        if self.expire(id, &mut e, now_ms())? {
            slot.notify();
        }
        Ok(e.transcript(id))
    }

    /// Every game (`GET /games`).
    pub fn list(&self) -> Vec<Summary> {
        self.slots()
            .iter()
            .map(|(id, slot)| slot.lock().summary(id))
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
            Err(e) => (e.status, error_body(&e.reason)),
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

    /// Serves HTTP on `addr` (e.g. `127.0.0.1:0`) with the configured
    /// limits until [`Server::stop`]; returns at once with the bound address.
    pub fn serve(&self, addr: &str) -> Result<Server, RefereeError> {
        super::http::serve(self, addr, self.shared.config.limits.clone())
    }

    /// The largest `POST /games` body.
    pub fn max_create_body(&self) -> usize {
        MAX_CREATE_BODY
    }

    /// A receiver that sees every change of game `id`.
    pub fn subscribe(&self, id: &str) -> Option<tokio::sync::watch::Receiver<()>> {
        self.slot(id).ok().map(|s| s.watch.subscribe())
    }

    /// For a long-poll of game `id` past `after`: `None` if it should be
    /// answered now (the game moved or ended, or is unknown), otherwise the
    /// milliseconds left on the clock of the side on turn.
    pub fn poll_wait(&self, id: &str, after: Option<u64>) -> Option<u64> {
        let slot = self.slot(id).ok()?;
        let e = slot.lock();
        let moved = after.is_none_or(|n| e.game.seq > n);
        if moved || e.game.is_over() {
            return None;
        }
        Some(e.game.time_left(e.game.turn, now_ms()))
    }

    /// Ends the games whose clock ran out (the ticker's job).
    pub fn tick(&self) {
        if let Err(e) = self.expire_clocks() {
            eprintln!("referee: cannot log a timeout: {}", e.reason);
        }
    }

    /// Wakes every waiting long-poll to end it (the service is stopping).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for (_, slot) in self.slots() {
            slot.notify();
        }
    }
}
