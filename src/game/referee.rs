//! The referee: a neutral HTTP/JSON service that holds every claim and its
//! disputes, checks every move with the rules ([`super::rules`]), settles
//! the last step with the verifier module, keeps the clocks, and logs every
//! accepted event to disk (synced, hash-chained) before it answers
//! ([`super::store`]). The HTTP service around it is [`super::http`].
//!
//! ## Claims and disputes
//!
//! A defender opens a **claim**. Until its challenge window closes, anyone
//! may open a **dispute** against it (`POST /games/{id}/join`), as many as
//! want to: each dispute is a game of the rules of its own between the
//! defender and that one challenger, with its own clocks and the
//! challenger's own secret. Nobody can take another's place or lock anyone
//! out. The claim is **refuted** as soon as a challenger wins a dispute;
//! it **stands** once the window has closed and the defender has won every
//! dispute opened in it. So the defender must beat every challenger, and
//! one honest challenger is enough to refute a false claim, whatever
//! squatters, colluders or the defender's own sock puppets do in their own
//! disputes.
//!
//! ## Policy
//!
//! Clocks, the window and the largest `b` are the referee's ([`Policy`]),
//! never the claimant's: each grows with the work it must cover,
//! re-executing `2^b` steps at the policy's slowest speed, times a margin.
//! A claim may ask for more time, never for less.
//!
//! Endpoints (JSON bodies; a refusal is a 4xx answer `{"error": "..."}`
//! that changes nothing):
//!
//! | method and path | body | answer |
//! |-----------------|------|--------|
//! | `POST /games` | [`CreateGame`] | 201 [`Created`] |
//! | `GET /games/{id}?after_seq=N&wait_ms=M` | - | 200 [`ClaimView`] (long-poll) |
//! | `POST /games/{id}/join` | `{}` | 201 [`Joined`]: a dispute of one's own |
//! | `GET /games/{id}/disputes/{n}?after_seq=N&wait_ms=M` | - | 200 [`View`] (long-poll) |
//! | `POST /games/{id}/disputes/{n}/moves` | [`MoveRequest`] | 200 [`View`] |
//! | `GET /games/{id}/disputes/{n}/transcript` | - | 200 [`Transcript`] |
//! | `GET /games` | - | 200 list of [`Summary`] |
//! | `GET /policy` | - | 200 [`PolicyView`] |
//! | `GET /health` | - | 200 |
//!
//! ## Locks
//!
//! Each claim has a lock, each dispute its own, and the log one, taken in
//! that order. A move is checked (a proof verified) and logged under its
//! dispute's lock only, so other games go on meanwhile. A new claim is set
//! up (ELF loaded, `root(S_0)` computed) and its program and input written
//! out before any lock is taken.
//!
//! ## Clocks
//!
//! The side on turn loses when its clock runs out: every request about a
//! dispute checks it, and a ticker checks every dispute every 50 ms. A
//! timeout is logged like a move. While a dispute runs or a challenge
//! window is open, the referee logs a heartbeat every second; when it
//! restarts, each running turn is charged up to the last logged time and restarts its clock there: time the
//! referee was down is charged to nobody, and the challenge windows move
//! on by the downtime.

pub use super::http::{Limits, Server};
use super::levels::two_levels;
use super::rules::{Game, MoveError, Phase, Side, initial_root};
use super::store::{Event, Log, StoreError, has_blob, put_blob};
use super::transcript::{Record, TRANSCRIPT_TYPE, Transcript};
use super::wire::{
    ClaimStatus, ClaimView, Clocks, CreateGame, Created, DisputeSummary, ErrorBody, Joined,
    MoveRequest, PolicyView, Summary, View,
};
use crate::hash::{Hash, keccak};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest body of a request other than a new claim.
pub const MAX_BODY: usize = 1 << 20;
/// Longest long-poll.
pub const MAX_WAIT_MS: u64 = 30_000;
/// Longest clock or window a claim may ask for (7 days).
pub const MAX_CLOCK_MS: u64 = 7 * 24 * 3_600_000;
/// How often the ticker looks for clocks that ran out.
pub const TICK_MS: u64 = 50;
/// How often a heartbeat is logged while a dispute runs.
pub const HEARTBEAT_MS: u64 = 1_000;
/// Most recent moves a view carries.
pub const MAX_RECENT: usize = 16;

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The referee's rules of time and size.
///
/// Re-executing `2^b` steps at `min_steps_per_s` takes
/// `r(b) = ceil(2^b * 1000 / min_steps_per_s)` ms. Each side's clock in a
/// dispute is `clock_base_ms + margin * r(b)` and the challenge window
/// `window_base_ms + margin * r(b)`: the window covers a challenger's
/// re-execution before it disputes, the clock the honest side's replays
/// during the bisection (at most about one re-execution in all, from its
/// checkpoints) plus the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Clock per side before the re-execution allowance, ms.
    pub clock_base_ms: u64,
    /// Challenge window before the re-execution allowance, ms.
    pub window_base_ms: u64,
    /// The slowest machine A allowed for, steps per second.
    pub min_steps_per_s: u64,
    /// Re-executions of `2^b` steps the clock and window each allow.
    pub margin: u64,
    /// Largest `b` a claim may have.
    pub max_b: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            clock_base_ms: 60_000,
            window_base_ms: 60_000,
            min_steps_per_s: 10_000_000,
            margin: 2,
            max_b: 36,
        }
    }
}

impl Policy {
    /// Milliseconds to re-execute `2^b` steps at the slowest speed allowed.
    pub fn reexec_ms(&self, b: u32) -> u64 {
        super::policy::reexec(b, self.min_steps_per_s, 1000)
    }

    /// Each side's clock in a dispute of a claim over `2^b` steps.
    pub fn clock_ms(&self, b: u32) -> u64 {
        let p = self;
        super::policy::scaled(p.clock_base_ms, p.margin, p.min_steps_per_s, b, 1000)
    }

    /// The challenge window of a claim over `2^b` steps.
    pub fn window_ms(&self, b: u32) -> u64 {
        let p = self;
        super::policy::scaled(p.window_base_ms, p.margin, p.min_steps_per_s, b, 1000)
    }
}

/// Referee settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Rules of time.
    pub policy: Policy,
    /// Largest program, bytes.
    pub max_program: usize,
    /// Largest input, bytes.
    pub max_input: usize,
    /// Most claims open (window open or disputes running) at once.
    pub max_open_claims: usize,
    /// Most claims and disputes one client address may open per minute.
    pub max_opens_per_minute: usize,
    /// The HTTP service's bounds.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: Policy::default(),
            max_program: 16 << 20,
            max_input: 16 << 20,
            max_open_claims: 10_000,
            max_opens_per_minute: 60,
            limits: Limits::default(),
        }
    }
}

/// One dispute: a game between the defender and one challenger.
struct Dispute {
    game: Game,
    created_ms: u64,
    initial_clock: u64,
    defender_token: Hash,
    challenger_token: Hash,
    moves: Vec<Record>,
}

/// A dispute behind its lock, with a channel that wakes its long-polls.
struct DisputeSlot {
    entry: Mutex<Dispute>,
    watch: tokio::sync::watch::Sender<()>,
    /// The claim's channel: a dispute that ends changes its claim.
    claim_watch: Arc<tokio::sync::watch::Sender<()>>,
}

impl DisputeSlot {
    fn lock(&self) -> MutexGuard<'_, Dispute> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self, ended: bool) {
        self.watch.send_replace(());
        if ended {
            self.claim_watch.send_replace(());
        }
    }
}

/// A claim and its disputes.
struct ClaimEntry {
    claim: super::claim::Claim,
    levels: Vec<super::levels::Level>,
    initial_root: Hash,
    created_ms: u64,
    clock_ms: u64,
    window_ends_ms: u64,
    defender_token: Hash,
    disputes: Vec<Arc<DisputeSlot>>,
}

struct ClaimSlot {
    entry: Mutex<ClaimEntry>,
    watch: Arc<tokio::sync::watch::Sender<()>>,
}

impl ClaimSlot {
    fn lock(&self) -> MutexGuard<'_, ClaimEntry> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Shared {
    dir: PathBuf,
    claims: RwLock<BTreeMap<String, Arc<ClaimSlot>>>,
    log: Mutex<Log>,
    next_id: AtomicU64,
    config: Config,
    stop: AtomicBool,
    /// Recent opens (claims and disputes) by client address.
    opens: Mutex<HashMap<IpAddr, VecDeque<u64>>>,
    /// Disputes running, for the heartbeat.
    running: AtomicUsize,
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
        b = keccak(&[seed.as_bytes()]).0[..bytes.min(32)].to_vec();
    }
    hex::encode(b)
}

/// What the referee keeps of a secret: its Keccak-256.
fn token_hash(token: &str) -> Hash {
    keccak(&[b"mswap token", token.as_bytes()])
}

/// Whether `token` is the secret whose hash is `h` (without an early exit).
fn is_token(h: &Hash, token: &str) -> bool {
    token_hash(token)
        .0
        .iter()
        .zip(h.0.iter())
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

fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::Open => "open",
        Phase::Bisect(_) => "bisect",
        Phase::Prove(_) => "prove",
        Phase::Done(_) => "done",
    }
}

impl Dispute {
    /// Applies a logged event to this dispute (live requests and replay alike).
    fn apply(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::Move {
                game,
                dispute,
                time_ms,
                side,
                seq,
                mv,
            } => {
                self.game
                    .apply(*side, *seq, mv, *time_ms)
                    .map_err(|err| format!("game {game} dispute {dispute} move {seq}: {err}"))?;
                self.moves.push(Record {
                    seq: *seq,
                    side: *side,
                    time_ms: *time_ms,
                    mv: mv.clone(),
                });
                Ok(())
            }
            Event::Timeout { time_ms, .. } => {
                // The logged timeout is a fact: end the game even if the
                // clock arithmetic differs by a tick.
                if !self.game.expire(*time_ms) && !self.game.is_over() {
                    let turn = self.game.turn;
                    self.game.clock_ms[if turn == Side::Defender { 0 } else { 1 }] = 0;
                    self.game.expire(*time_ms);
                }
                Ok(())
            }
            _ => Err("not an event of a dispute".into()),
        }
    }

    /// The view of the dispute at `now`, with the moves from number `since` on.
    fn view(&self, id: &str, n: u64, now: u64, since: Option<u64>) -> View {
        let len = self.moves.len();
        let from = since.map_or(len.saturating_sub(1), |s| s.min(len as u64) as usize);
        let from = from.max(len.saturating_sub(MAX_RECENT));
        View {
            id: id.to_string(),
            dispute: n,
            game: self.game.clone(),
            challenged: !matches!(self.game.phase, Phase::Open),
            time_left_ms: Clocks {
                defender: self.game.time_left(Side::Defender, now),
                challenger: self.game.time_left(Side::Challenger, now),
            },
            waiting_for: self.game.waiting_for(),
            recent: self.moves.get(from..).unwrap_or_default().to_vec(),
        }
    }

    fn summary(&self, n: u64) -> DisputeSummary {
        DisputeSummary {
            dispute: n,
            phase: phase_name(&self.game.phase).to_string(),
            seq: self.game.seq,
            winner: self.game.outcome().map(|o| o.winner()),
            outcome: self.game.outcome().cloned(),
        }
    }
}

impl ClaimEntry {
    /// Where the claim stands at `now`, and its change count.
    fn status(&self, now: u64) -> (ClaimStatus, u64) {
        let mut ended = 0u64;
        let mut refuted = false;
        for d in &self.disputes {
            let d = d.lock();
            if let Some(o) = d.game.outcome() {
                ended += 1;
                refuted |= o.winner() == Side::Challenger;
            }
        }
        let closed = now >= self.window_ends_ms;
        let seq = self.disputes.len() as u64 + ended + closed as u64;
        let status = if refuted {
            ClaimStatus::Refuted
        } else if closed && ended == self.disputes.len() as u64 {
            ClaimStatus::Stands
        } else {
            ClaimStatus::Open
        };
        (status, seq)
    }

    fn view(&self, id: &str, now: u64) -> ClaimView {
        let (status, seq) = self.status(now);
        ClaimView {
            id: id.to_string(),
            claim: self.claim.clone(),
            levels: self.levels.clone(),
            initial_root: self.initial_root,
            clock_ms: self.clock_ms,
            created_ms: self.created_ms,
            window_ends_ms: self.window_ends_ms,
            window_left_ms: self.window_ends_ms.saturating_sub(now),
            status,
            seq,
            disputes: self
                .disputes
                .iter()
                .enumerate()
                .map(|(i, d)| d.lock().summary(i as u64 + 1))
                .collect(),
        }
    }
}

/// The number in a claim id `gN`.
fn id_number(id: &str) -> Option<u64> {
    id.strip_prefix('g')?.parse().ok()
}

/// A running referee.
#[derive(Clone)]
pub struct Referee {
    shared: Arc<Shared>,
}

/// What the log's replay builds.
type Claims = BTreeMap<String, ClaimEntry>;

fn new_dispute(c: &ClaimEntry, time_ms: u64, challenger_token: Hash) -> Result<Dispute, String> {
    let game = Game::with_root(
        c.claim.clone(),
        c.levels.clone(),
        c.initial_root,
        c.clock_ms,
        time_ms,
    )
    .map_err(|e| e.to_string())?;
    Ok(Dispute {
        game,
        created_ms: time_ms,
        initial_clock: c.clock_ms,
        defender_token: c.defender_token,
        challenger_token,
        moves: Vec::new(),
    })
}

fn dispute_slot(d: Dispute, claim_watch: &Arc<tokio::sync::watch::Sender<()>>) -> Arc<DisputeSlot> {
    Arc::new(DisputeSlot {
        entry: Mutex::new(d),
        watch: tokio::sync::watch::Sender::new(()),
        claim_watch: claim_watch.clone(),
    })
}

impl Referee {
    /// Opens the referee on a data directory, replaying its log.
    pub fn open(dir: &Path, config: Config) -> Result<Referee, RefereeError> {
        let (mut log, events) = Log::open(dir)?;
        // Replay into plain values first, then put them behind locks.
        let mut claims: Claims = BTreeMap::new();
        let mut disputes: BTreeMap<String, Vec<Dispute>> = BTreeMap::new();
        let mut next_id = 1;
        let mut last_ms = 0u64;
        for (i, event) in events.into_iter().enumerate() {
            let at = |r: String| RefereeError::Replay(format!("event {}: {r}", i + 1));
            match &event {
                Event::Create {
                    game,
                    time_ms,
                    claim,
                    levels,
                    clock_ms,
                    window_ms,
                    initial_root,
                    defender_token,
                } => {
                    has_blob(dir, &claim.program)?;
                    has_blob(dir, &claim.input)?;
                    if claims.contains_key(game) {
                        return Err(at(format!("claim {game} is created twice")));
                    }
                    next_id = next_id.max(id_number(game).map_or(0, |n| n + 1));
                    claims.insert(
                        game.clone(),
                        ClaimEntry {
                            claim: claim.clone(),
                            levels: levels.clone(),
                            initial_root: *initial_root,
                            created_ms: *time_ms,
                            clock_ms: *clock_ms,
                            window_ends_ms: time_ms.saturating_add(*window_ms),
                            defender_token: *defender_token,
                            disputes: Vec::new(),
                        },
                    );
                    disputes.insert(game.clone(), Vec::new());
                }
                Event::Join {
                    game,
                    dispute,
                    time_ms,
                    challenger_token,
                } => {
                    let c = claims
                        .get(game)
                        .ok_or_else(|| at(format!("unknown claim {game}")))?;
                    let list = disputes.entry(game.clone()).or_default();
                    if *dispute != list.len() as u64 + 1 {
                        return Err(at(format!("dispute {dispute} of {game} out of order")));
                    }
                    list.push(new_dispute(c, *time_ms, *challenger_token).map_err(at)?);
                }
                Event::Move { game, dispute, .. } | Event::Timeout { game, dispute, .. } => {
                    disputes
                        .get_mut(game)
                        .and_then(|l| l.get_mut((*dispute as usize).wrapping_sub(1)))
                        .ok_or_else(|| at(format!("unknown dispute {dispute} of {game}")))?
                        .apply(&event)
                        .map_err(at)?;
                }
                Event::Heartbeat { .. } => {}
                Event::Restart { time_ms } => resume(&mut claims, &mut disputes, last_ms, *time_ms),
            }
            last_ms = last_ms.max(event.time_ms());
        }
        let now = now_ms().max(last_ms);
        log.append(&Event::Restart { time_ms: now })?;
        resume(&mut claims, &mut disputes, last_ms, now);
        let mut running = 0;
        let claims = claims
            .into_iter()
            .map(|(id, mut entry)| {
                let watch = Arc::new(tokio::sync::watch::Sender::new(()));
                for d in disputes.remove(&id).unwrap_or_default() {
                    running += !d.game.is_over() as usize;
                    entry.disputes.push(dispute_slot(d, &watch));
                }
                let slot = ClaimSlot {
                    entry: Mutex::new(entry),
                    watch,
                };
                (id, Arc::new(slot))
            })
            .collect();
        Ok(Referee {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                claims: RwLock::new(claims),
                log: Mutex::new(log),
                next_id: AtomicU64::new(next_id),
                config,
                stop: AtomicBool::new(false),
                opens: Mutex::new(HashMap::new()),
                running: AtomicUsize::new(running),
            }),
        })
    }

    /// The referee's settings.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    fn claim_slot(&self, id: &str) -> Result<Arc<ClaimSlot>, Refusal> {
        let claims = self.shared.claims.read().unwrap_or_else(|p| p.into_inner());
        claims
            .get(id)
            .cloned()
            .ok_or_else(|| refuse(404, format!("unknown game {id}")))
    }

    fn dispute_slot(&self, id: &str, n: u64) -> Result<Arc<DisputeSlot>, Refusal> {
        let claim = self.claim_slot(id)?;
        let c = claim.lock();
        c.disputes
            .get((n as usize).wrapping_sub(1))
            .cloned()
            .ok_or_else(|| refuse(404, format!("game {id} has no dispute {n}")))
    }

    fn claim_slots(&self) -> Vec<(String, Arc<ClaimSlot>)> {
        let claims = self.shared.claims.read().unwrap_or_else(|p| p.into_inner());
        claims
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect()
    }

    fn append(&self, event: &Event) -> Result<(), Refusal> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(event)
            .map_err(|e| refuse(500, format!("cannot log the event: {e}")))
    }

    /// Logs an event (synced) and applies it to its dispute: the one way a
    /// dispute changes. The caller holds the dispute's lock.
    fn commit(&self, d: &mut Dispute, event: Event) -> Result<(), Refusal> {
        let was_over = d.game.is_over();
        self.append(&event)?;
        d.apply(&event)
            .map_err(|e| refuse(500, format!("a logged event does not apply: {e}")))?;
        if !was_over && d.game.is_over() {
            self.shared.running.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Ends a dispute whose side on turn ran out of time; returns whether it did.
    fn expire(&self, id: &str, n: u64, d: &mut Dispute, now: u64) -> Result<bool, Refusal> {
        if d.game.is_over() || d.game.time_left(d.game.turn, now) > 0 {
            return Ok(false);
        }
        let event = Event::Timeout {
            game: id.to_string(),
            dispute: n,
            time_ms: now,
        };
        self.commit(d, event)?;
        Ok(true)
    }

    /// Ends every dispute whose side on turn ran out of time, and logs a
    /// heartbeat if one is due; returns how many disputes ended.
    pub fn expire_clocks(&self) -> Result<usize, Refusal> {
        let mut n = 0;
        let mut window_open = false;
        for (id, claim) in self.claim_slots() {
            let disputes = {
                let c = claim.lock();
                window_open |= c.window_ends_ms > now_ms();
                c.disputes.clone()
            };
            for (i, slot) in disputes.iter().enumerate() {
                let mut d = slot.lock();
                if self.expire(&id, i as u64 + 1, &mut d, now_ms())? {
                    n += 1;
                    drop(d);
                    slot.notify(true);
                }
            }
        }
        // While a clock runs or a window is open, a restart must know how
        // long the referee was up.
        if window_open || self.shared.running.load(Ordering::Relaxed) > 0 {
            let mut log = self.shared.log.lock().unwrap_or_else(|p| p.into_inner());
            let now = now_ms();
            if now >= log.last_ms() + HEARTBEAT_MS {
                log.append(&Event::Heartbeat { time_ms: now })
                    .map_err(|e| refuse(500, format!("cannot log a heartbeat: {e}")))?;
            }
        }
        Ok(n)
    }

    /// Counts an open by `client` against its quota.
    fn charge(&self, client: Option<IpAddr>, what: &str) -> Result<(), Refusal> {
        let Some(ip) = client else { return Ok(()) };
        let max = self.shared.config.max_opens_per_minute;
        let now = now_ms();
        let mut opens = self.shared.opens.lock().unwrap_or_else(|p| p.into_inner());
        let q = opens.entry(ip).or_default();
        while q.front().is_some_and(|t| now.saturating_sub(*t) >= 60_000) {
            q.pop_front();
        }
        if q.len() >= max {
            return Err(refuse(
                429,
                format!("too many {what}: at most {max} claims and disputes a minute per client"),
            ));
        }
        q.push_back(now);
        if opens.len() > 100_000 {
            opens.retain(|_, q| q.back().is_some_and(|t| now.saturating_sub(*t) < 60_000));
        }
        Ok(())
    }

    /// Opens a claim (`POST /games`).
    pub fn create(&self, req: CreateGame) -> Result<Created, Refusal> {
        self.create_from(req, None)
    }

    /// Opens a claim for `client` (counted against its quota).
    pub fn create_from(&self, req: CreateGame, client: Option<IpAddr>) -> Result<Created, Refusal> {
        let cfg = &self.shared.config;
        let b = req.claim.b;
        if b > cfg.policy.max_b {
            return Err(refuse(
                400,
                format!(
                    "b = {b} is over this referee's largest, {}",
                    cfg.policy.max_b
                ),
            ));
        }
        for (what, len, max) in [
            ("program", req.program.len(), cfg.max_program),
            ("input", req.input.len(), cfg.max_input),
        ] {
            if len > max {
                return Err(refuse(
                    413,
                    format!("the {what} is {len} bytes, over this referee's {max}"),
                ));
            }
        }
        let ask = |asked: Option<u64>, least: u64, what: &str| match asked {
            None => Ok(least),
            Some(ms) if ms < least => Err(refuse(
                400,
                format!(
                    "{what} {ms} ms is less than this referee's policy for b = {b}: at least {least} ms"
                ),
            )),
            Some(ms) if ms > MAX_CLOCK_MS.max(least) => {
                Err(refuse(400, format!("{what} {ms} ms is over 7 days")))
            }
            Some(ms) => Ok(ms),
        };
        let clock_ms = ask(req.clock_ms, cfg.policy.clock_ms(b), "clock_ms")?;
        let window_ms = ask(req.window_ms, cfg.policy.window_ms(b), "window_ms")?;
        let levels = req.levels.unwrap_or_else(|| two_levels(b));
        let open = self.open_claims();
        if open >= cfg.max_open_claims {
            return Err(refuse(
                429,
                format!("{open} claims are open, this referee's most; retry later"),
            ));
        }
        self.charge(client, "claims")?;
        // The slow part (loading the ELF, root(S_0), writing the program
        // and input out) happens before any lock.
        let root = initial_root(&req.claim, &req.program, &req.input)
            .map_err(|e| refuse(400, e.to_string()))?;
        let now = now_ms();
        let game = Game::with_root(req.claim, levels, root, clock_ms, now)
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
            window_ms,
            initial_root: root,
            defender_token: token_hash(&token),
        };
        self.append(&event)?;
        let entry = ClaimEntry {
            claim: game.claim,
            levels: game.levels,
            initial_root: root,
            created_ms: now,
            clock_ms,
            window_ends_ms: now.saturating_add(window_ms),
            defender_token: token_hash(&token),
            disputes: Vec::new(),
        };
        let slot = Arc::new(ClaimSlot {
            entry: Mutex::new(entry),
            watch: Arc::new(tokio::sync::watch::Sender::new(())),
        });
        self.shared
            .claims
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), slot);
        Ok(Created {
            game: id,
            token,
            clock_ms,
            window_ends_ms: now.saturating_add(window_ms),
        })
    }

    /// Claims whose window is open or which have a dispute running.
    fn open_claims(&self) -> usize {
        let now = now_ms();
        self.claim_slots()
            .iter()
            .filter(|(_, c)| c.lock().status(now).0 == ClaimStatus::Open)
            .count()
    }

    /// Opens a dispute of one's own against claim `id` (`POST /games/{id}/join`).
    pub fn join(&self, id: &str) -> Result<Joined, Refusal> {
        self.join_from(id, None)
    }

    /// [`Referee::join`] for `client` (counted against its quota).
    pub fn join_from(&self, id: &str, client: Option<IpAddr>) -> Result<Joined, Refusal> {
        let claim = self.claim_slot(id)?;
        let mut c = claim.lock();
        let now = now_ms();
        if now >= c.window_ends_ms {
            return Err(refuse(
                409,
                format!(
                    "the challenge window of game {id} closed {} ms ago",
                    now - c.window_ends_ms
                ),
            ));
        }
        self.charge(client, "disputes")?;
        let token = random_hex(16);
        let n = c.disputes.len() as u64 + 1;
        let event = Event::Join {
            game: id.to_string(),
            dispute: n,
            time_ms: now,
            challenger_token: token_hash(&token),
        };
        let d = new_dispute(&c, now, token_hash(&token)).map_err(|e| refuse(500, e))?;
        self.append(&event)?;
        c.disputes.push(dispute_slot(d, &claim.watch));
        self.shared.running.fetch_add(1, Ordering::Relaxed);
        drop(c);
        claim.watch.send_replace(());
        Ok(Joined { dispute: n, token })
    }

    /// A move in dispute `n` of claim `id` (`POST /games/{id}/disputes/{n}/moves`).
    pub fn play(&self, id: &str, n: u64, req: MoveRequest) -> Result<View, Refusal> {
        let slot = self.dispute_slot(id, n)?;
        let mut d = slot.lock();
        let now = now_ms();
        let secret = match req.side {
            Side::Defender => &d.defender_token,
            Side::Challenger => &d.challenger_token,
        };
        if !is_token(secret, &req.token) {
            return Err(refuse(
                403,
                format!("wrong token for the {} of dispute {n}", req.side),
            ));
        }
        // A side whose time is up cannot move: the timeout comes first.
        if self.expire(id, n, &mut d, now)? {
            slot.notify(true);
        }
        // Check on a copy: a refused move changes nothing.
        let mut game = d.game.clone();
        game.apply(req.side, req.seq, &req.mv, now)
            .map_err(|err| refuse(move_status(&err), err.to_string()))?;
        let seq = req.seq;
        let event = Event::Move {
            game: id.to_string(),
            dispute: n,
            time_ms: now,
            side: req.side,
            seq,
            mv: req.mv,
        };
        self.commit(&mut d, event)?;
        let ended = d.game.is_over();
        let view = d.view(id, n, now, Some(seq));
        drop(d);
        slot.notify(ended);
        Ok(view)
    }

    /// Where dispute `n` of claim `id` stands (`GET /games/{id}/disputes/{n}`),
    /// with the moves after `after_seq`.
    pub fn view(&self, id: &str, n: u64, after_seq: Option<u64>) -> Result<View, Refusal> {
        let slot = self.dispute_slot(id, n)?;
        let mut d = slot.lock();
        let now = now_ms();
        if self.expire(id, n, &mut d, now)? {
            slot.notify(true);
        }
        Ok(d.view(id, n, now, after_seq))
    }

    /// Where claim `id` stands (`GET /games/{id}`).
    pub fn claim(&self, id: &str) -> Result<ClaimView, Refusal> {
        let slot = self.claim_slot(id)?;
        let c = slot.lock();
        Ok(c.view(id, now_ms()))
    }

    /// The transcript of dispute `n` so far (`GET /games/{id}/disputes/{n}/transcript`),
    /// written by its [`TranscriptSource`] (as the HTTP service streams it) and read back.
    pub fn transcript(&self, id: &str, n: u64) -> Result<Transcript, Refusal> {
        let source = self.transcript_source(id, n)?;
        let mut bytes = Vec::new();
        source
            .write(&mut bytes)
            .map_err(|e| refuse(500, format!("cannot write the transcript: {e}")))?;
        super::strict::from_slice(&bytes)
            .map_err(|e| refuse(500, format!("the transcript does not read back: {e}")))
    }

    /// What streaming the transcript of dispute `n` of claim `id` needs:
    /// checked before the answer starts (the dispute exists, its program
    /// and input are there and whole), written after.
    pub fn transcript_source(&self, id: &str, n: u64) -> Result<TranscriptSource, Refusal> {
        let slot = self.dispute_slot(id, n)?;
        let mut d = slot.lock();
        if self.expire(id, n, &mut d, now_ms())? {
            slot.notify(true);
        }
        let dir = &self.shared.dir;
        for h in [&d.game.claim.program, &d.game.claim.input] {
            check_blob(dir, h).map_err(|e| refuse(500, format!("cannot read: {e}")))?;
        }
        Ok(TranscriptSource {
            dir: dir.clone(),
            game: id.to_string(),
            dispute: n,
            claim: d.game.claim.clone(),
            levels: d.game.levels.clone(),
            clock_ms: d.initial_clock,
            created_ms: d.created_ms,
            moves: d.moves.clone(),
            outcome: d.game.outcome().cloned(),
        })
    }

    /// Every claim (`GET /games`).
    pub fn list(&self) -> Vec<Summary> {
        let now = now_ms();
        self.claim_slots()
            .iter()
            .map(|(id, slot)| {
                let c = slot.lock();
                Summary {
                    id: id.clone(),
                    status: c.status(now).0,
                    disputes: c.disputes.len() as u64,
                    window_left_ms: c.window_ends_ms.saturating_sub(now),
                }
            })
            .collect()
    }

    /// The policy (`GET /policy`).
    pub fn policy(&self) -> PolicyView {
        let c = &self.shared.config;
        PolicyView {
            clock_base_ms: c.policy.clock_base_ms,
            window_base_ms: c.policy.window_base_ms,
            min_steps_per_s: c.policy.min_steps_per_s,
            margin: c.policy.margin,
            max_b: c.policy.max_b,
            max_program: c.max_program as u64,
            max_input: c.max_input as u64,
        }
    }

    /// Answers one HTTP request from `client`: `(status, JSON body)`.
    pub fn handle(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
        client: Option<IpAddr>,
    ) -> (u16, String) {
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
        let number = |n: &str| -> Result<u64, Refusal> {
            n.parse::<u64>().map_err(|_| {
                refuse(
                    404,
                    format!("no dispute {n:?}: disputes are numbered 1, 2, ..."),
                )
            })
        };
        let json = |r: Result<String, Refusal>, ok: u16| match r {
            Ok(s) => (ok, s),
            Err(e) => (e.status, error_body(&e.reason)),
        };
        fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Refusal> {
            serde_json::to_string(v).map_err(|e| refuse(500, e.to_string()))
        }
        fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
            super::strict::from_slice(body)
                .map_err(|e| refuse(400, format!("malformed request: {e}")))
        }
        match (method, parts.as_slice()) {
            ("GET", ["health"]) => (200, "{\"ok\":true}".into()),
            ("GET", ["policy"]) => json(to_json(&self.policy()), 200),
            ("GET", ["games"]) => json(to_json(&self.list()), 200),
            ("POST", ["games"]) => json(
                parse::<CreateGame>(body)
                    .and_then(|r| self.create_from(r, client))
                    .and_then(|c| to_json(&c)),
                201,
            ),
            ("GET", ["games", id]) => json(
                param("after_seq")
                    .and_then(|_| param("wait_ms"))
                    .and_then(|_| to_json(&self.claim(id)?)),
                200,
            ),
            ("POST", ["games", id, "join" | "disputes"]) => {
                json(self.join_from(id, client).and_then(|j| to_json(&j)), 201)
            }
            ("GET", ["games", id, "disputes", n]) => json(
                param("after_seq").and_then(|after| {
                    param("wait_ms")?;
                    to_json(&self.view(id, number(n)?, after)?)
                }),
                200,
            ),
            ("GET", ["games", id, "disputes", n, "transcript"]) => json(
                number(n)
                    .and_then(|n| self.transcript(id, n))
                    .and_then(|t| to_json(&t)),
                200,
            ),
            ("POST", ["games", id, "disputes", n, "moves"]) => json(
                parse::<MoveRequest>(body)
                    .and_then(|m| self.play(id, number(n)?, m))
                    .and_then(|v| to_json(&v)),
                200,
            ),
            (
                _,
                ["health" | "games" | "policy"]
                | ["games", _]
                | ["games", _, "join" | "disputes"]
                | ["games", _, "disputes", _]
                | ["games", _, "disputes", _, "transcript" | "moves"],
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

    /// The largest `POST /games` body: the program and input in hex, and room
    /// for the rest.
    pub fn max_create_body(&self) -> usize {
        let c = &self.shared.config;
        2 * (c.max_program + c.max_input) + (64 << 10)
    }

    /// A receiver that sees every change of claim `id` (`n = None`) or of
    /// its dispute `n`.
    pub fn subscribe(&self, id: &str, n: Option<u64>) -> Option<tokio::sync::watch::Receiver<()>> {
        match n {
            None => self.claim_slot(id).ok().map(|s| s.watch.subscribe()),
            Some(n) => self.dispute_slot(id, n).ok().map(|s| s.watch.subscribe()),
        }
    }

    /// For a long-poll of claim `id` (`n = None`) or of its dispute `n`,
    /// past `after`: `None` if it should be answered now (it moved or
    /// ended, or is unknown), otherwise the milliseconds until the next
    /// change of time (a clock running out, the window closing).
    pub fn poll_wait(&self, id: &str, n: Option<u64>, after: Option<u64>) -> Option<u64> {
        let now = now_ms();
        match n {
            None => {
                let slot = self.claim_slot(id).ok()?;
                let c = slot.lock();
                let (status, seq) = c.status(now);
                if after.is_none_or(|a| seq > a) || status != ClaimStatus::Open {
                    return None;
                }
                // Wake when the window closes; disputes ending wake us too
                // (after the close, only they change the claim).
                Some(match c.window_ends_ms.saturating_sub(now) {
                    0 => MAX_WAIT_MS,
                    left => left.min(MAX_WAIT_MS),
                })
            }
            Some(n) => {
                let slot = self.dispute_slot(id, n).ok()?;
                let d = slot.lock();
                if after.is_none_or(|a| d.game.seq > a) || d.game.is_over() {
                    return None;
                }
                Some(d.game.time_left(d.game.turn, now))
            }
        }
    }

    /// Ends the disputes whose clock ran out and logs heartbeats (the
    /// ticker's job).
    pub fn tick(&self) {
        if let Err(e) = self.expire_clocks() {
            eprintln!("referee: {}", e.reason);
        }
    }

    /// Whether the service is stopping.
    pub fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// Wakes every waiting long-poll to end it (the service is stopping).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for (_, claim) in self.claim_slots() {
            claim.watch.send_replace(());
            for d in claim.lock().disputes.iter() {
                d.watch.send_replace(());
            }
        }
    }
}

/// A dispute's transcript, ready to be written out as JSON without
/// holding the program and input in memory (they are read from their
/// blobs in chunks).
pub struct TranscriptSource {
    dir: PathBuf,
    game: String,
    dispute: u64,
    claim: super::claim::Claim,
    levels: Vec<super::levels::Level>,
    clock_ms: u64,
    created_ms: u64,
    moves: Vec<Record>,
    outcome: Option<super::rules::Outcome>,
}

impl TranscriptSource {
    /// Writes the transcript, the same document as [`Transcript`]'s JSON.
    pub fn write(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        use std::io::Write;
        let json = |w: &mut dyn Write, v: &dyn erased::Json| v.write_json(w);
        write!(w, "{{\"type\":\"{TRANSCRIPT_TYPE}\",\"game\":")?;
        json(w, &self.game)?;
        write!(w, ",\"dispute\":{},\"claim\":", self.dispute)?;
        json(w, &self.claim)?;
        for (name, h) in [
            ("program", &self.claim.program),
            ("input", &self.claim.input),
        ] {
            write!(w, ",\"{name}\":\"")?;
            stream_hex(&self.dir, h, w)?;
            w.write_all(b"\"")?;
        }
        w.write_all(b",\"levels\":")?;
        json(w, &self.levels)?;
        write!(
            w,
            ",\"clock_ms\":{},\"created_ms\":{},\"moves\":[",
            self.clock_ms, self.created_ms
        )?;
        for (i, m) in self.moves.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            json(w, m)?;
        }
        w.write_all(b"],\"outcome\":")?;
        json(w, &self.outcome)?;
        w.write_all(b"}")
    }
}

/// Serializing through `dyn` (serde's traits are not object safe).
mod erased {
    /// A value that writes itself as JSON.
    pub trait Json {
        fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(w, self).map_err(std::io::Error::other)
        }
    }
}

/// Checks a blob's hash by reading it in chunks.
fn check_blob(dir: &Path, h: &Hash) -> std::io::Result<()> {
    let mut k = tiny_keccak::Keccak::v256();
    let mut f = std::fs::File::open(super::store::blob_path(dir, h))?;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tiny_keccak::Hasher::update(&mut k, &buf[..n]);
    }
    let mut out = [0u8; 32];
    tiny_keccak::Hasher::finalize(k, &mut out);
    if Hash(out) != *h {
        return Err(std::io::Error::other(format!("blob {h} is damaged")));
    }
    Ok(())
}

/// Writes a blob as hex, 64 KiB at a time.
fn stream_hex(dir: &Path, h: &Hash, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut f = std::fs::File::open(super::store::blob_path(dir, h))?;
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        w.write_all(hex::encode(&buf[..n]).as_bytes())?;
    }
}

/// A restart at `resume_ms` after the referee's last logged time
/// `last_ms`: running turns are charged up to `last_ms` and restart at
/// `resume_ms`; open windows move on by the downtime.
fn resume(
    claims: &mut Claims,
    disputes: &mut BTreeMap<String, Vec<Dispute>>,
    last_ms: u64,
    resume_ms: u64,
) {
    let down = resume_ms.saturating_sub(last_ms);
    for (id, c) in claims.iter_mut() {
        if c.window_ends_ms > last_ms {
            c.window_ends_ms = c.window_ends_ms.saturating_add(down);
        }
        for d in disputes.get_mut(id).into_iter().flatten() {
            d.game.pause(last_ms, resume_ms);
        }
    }
}
