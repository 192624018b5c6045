//! The referee: a neutral HTTP/JSON service that holds every claim and its
//! disputes, checks every move with the rules ([`crate::rules`]), settles
//! the last step with the verifier module, keeps the clocks, and logs every
//! accepted event to disk (synced, hash-chained) before it answers
//! ([`crate::referee::store`]). The HTTP service around it is [`crate::referee::http`].
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
//! A claim whose window has closed and whose disputes have all ended
//! leaves memory: it is kept on disk (its lines in the log, a record in
//! the index of [`crate::referee::archive`]) and read back on demand, so
//! memory follows the claims in play, not the claims ever played.
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

pub use config::{
    Config, FEED_PAGE, HEARTBEAT_MS, Limits, MAX_BATCH, MAX_BODY, MAX_CLOCK_MS, MAX_PAGE,
    MAX_RECENT, MAX_STATUS, MAX_WAIT_MS, Policy, TICK_MS, now_ms,
};
pub use entries::Refusal;
pub use http::Server;

pub mod archive;
pub mod client;
mod config;
pub mod demo;
mod entries;
mod feed;
pub mod head;
pub mod http;
mod open;
mod routes;
mod shares;
pub mod store;
mod transcript_source;
pub mod web;
use crate::hash::{Hash, keccak};
use crate::players::wire::{
    ClaimStatus, ClaimView, CreateGame, Created, ErrorBody, Joined, PolicyView, Summary, View,
};
use crate::referee::store::{Appended, Event, Log, StoreError, put_blob};
use crate::rules::levels::default_levels;
use crate::rules::transcript::{Record, Transcript};
use crate::rules::{DisputeState, MoveError};
use crate::state::initial::initial_root_x8;
use entries::{
    ClaimEntry, ClaimSignals, ClaimSlot, Dispute, DisputeSlot, dispute_slot, new_dispute, refuse,
    running_disputes,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;
pub use transcript_source::TranscriptSource;

struct Shared {
    dir: PathBuf,
    claims: RwLock<BTreeMap<String, Arc<ClaimSlot>>>,
    log: Log,
    next_id: AtomicU64,
    config: Config,
    stop: AtomicBool,
    /// Recent opens (claims and disputes) by client address and by
    /// network.
    opens: Mutex<Opens>,
    /// Open claims by the address and network that opened them.
    held: Arc<shares::Tally>,
    /// Finished claims, on disk.
    index: archive::Index,
    /// Disputes running, for the heartbeat.
    running: AtomicUsize,
}

/// Recent opens, by client address and by network.
#[derive(Default)]
struct Opens {
    by_address: HashMap<IpAddr, VecDeque<u64>>,
    by_prefix: HashMap<IpAddr, VecDeque<u64>>,
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

/// The number in a claim id `gN`.
fn id_number(id: &str) -> Option<u64> {
    id.strip_prefix('g')?.parse().ok()
}

/// A running referee.
#[derive(Clone)]
pub struct Referee {
    shared: Arc<Shared>,
}

/// A claim in memory, or finished and on disk.
enum Found {
    Live(Arc<ClaimSlot>),
    Finished(archive::Record),
}

/// What the log's replay builds.
type Claims = BTreeMap<String, ClaimEntry>;

/// Why a game with a program and an input of these sizes is refused under
/// `policy` (413), if it is: the referee's words, which its client gives
/// too when it checks the sizes before sending them.
pub(crate) fn too_large(program: usize, input: usize, policy: &PolicyView) -> Option<String> {
    [
        ("program", program, policy.max_program),
        ("input", input, policy.max_input),
    ]
    .into_iter()
    .find(|&(_, len, max)| len as u64 > max)
    .map(|(what, len, max)| format!("the {what} is {len} bytes, over this referee's {max}"))
}

impl Referee {
    /// The referee's settings.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Claim `id` in memory, or finished and on disk.
    fn find(&self, id: &str) -> Result<Found, Refusal> {
        let live = {
            let claims = self.shared.claims.read().unwrap_or_else(|p| p.into_inner());
            claims.get(id).cloned()
        };
        if let Some(slot) = live {
            return Ok(Found::Live(slot));
        }
        match id_number(id).and_then(|k| self.shared.index.get(k)) {
            Some(r) => Ok(Found::Finished(r)),
            None => Err(refuse(404, format!("unknown game {id}"))),
        }
    }

    /// Claim `id` in memory, to change it: a finished claim changes no
    /// more (409).
    fn claim_slot(&self, id: &str) -> Result<Arc<ClaimSlot>, Refusal> {
        match self.find(id)? {
            Found::Live(slot) => Ok(slot),
            Found::Finished(r) => Err(refuse(
                409,
                format!(
                    "game {id} is decided ({}): its window has closed and every dispute has ended; it no longer changes (its views and transcripts stay readable)",
                    r.status
                ),
            )),
        }
    }

    /// Claim `id` to read: in memory, or rebuilt from the log (with
    /// dispute `only`'s moves, or every dispute's).
    fn readable(&self, id: &str, only: Option<u64>) -> Result<Arc<ClaimSlot>, Refusal> {
        match self.find(id)? {
            Found::Live(slot) => Ok(slot),
            Found::Finished(r) => self.shared.index.rebuild(id, &r, only),
        }
    }

    fn nth(claim: &ClaimSlot, id: &str, n: u64) -> Result<Arc<DisputeSlot>, Refusal> {
        claim
            .lock()
            .disputes
            .get((n as usize).wrapping_sub(1))
            .cloned()
            .ok_or_else(|| refuse(404, format!("game {id} has no dispute {n}")))
    }

    fn dispute_slot(&self, id: &str, n: u64) -> Result<Arc<DisputeSlot>, Refusal> {
        Self::nth(&*self.claim_slot(id)?, id, n)
    }

    /// Dispute `n` of claim `id` to read (see [`Referee::readable`]).
    fn readable_dispute(&self, id: &str, n: u64) -> Result<Arc<DisputeSlot>, Refusal> {
        Self::nth(&*self.readable(id, Some(n))?, id, n)
    }

    /// Claims held in memory (open ones, and decided ones until the
    /// ticker moves them to disk); every other claim is on disk.
    pub fn claims_in_memory(&self) -> usize {
        self.shared
            .claims
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Moves every claim that is finished (window closed, every dispute
    /// ended) from memory to the index on disk; returns how many.
    fn retire_finished(&self) -> usize {
        let now = now_ms();
        let mut n = 0;
        for (id, claim) in self.claim_slots() {
            let Some(k) = id_number(&id) else { continue };
            let record = {
                let c = claim.lock();
                if now < c.window_ends_ms || c.disputes.iter().any(|d| !d.lock().game.is_over()) {
                    continue;
                }
                let (status, seq) = c.status(now);
                archive::Record {
                    status,
                    first_at: c.first_at,
                    last_end: c.last_end.load(Ordering::SeqCst),
                    prior_ms: c.prior_ms,
                    window_ends_ms: c.window_ends_ms,
                    disputes: c.disputes.len() as u64,
                    version: claim.signals.version.load(Ordering::SeqCst),
                    seq,
                }
            };
            // The log must show the referee alive past the window's close,
            // or a restart would move the window on by the downtime and
            // open the claim again.
            if self.shared.log.last_ms() < record.window_ends_ms
                && let Err(e) = self.shared.log.append(&Event::Heartbeat {
                    time_ms: now.max(record.window_ends_ms),
                })
            {
                eprintln!("referee: cannot log a heartbeat: {e}");
                continue;
            }
            // On disk first: a reader finds it in one place or the other.
            if let Err(e) = self.shared.index.put(k, &record) {
                eprintln!("referee: {e}");
                continue;
            }
            self.shared
                .claims
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            // Long-polls of it answer now (from the log).
            claim.signals.watch.send_replace(());
            claim.signals.feed.send_replace(());
            n += 1;
        }
        n
    }

    fn claim_slots(&self) -> Vec<(String, Arc<ClaimSlot>)> {
        let claims = self.shared.claims.read().unwrap_or_else(|p| p.into_inner());
        claims
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect()
    }

    fn append(&self, event: &Event) -> Result<Appended, Refusal> {
        self.shared
            .log
            .append(event)
            .map_err(|e| refuse(500, format!("cannot log the event: {e}")))
    }

    /// Logs an event (synced) and applies it to its dispute: the one way a
    /// dispute changes. The caller holds the dispute's lock.
    fn commit(&self, d: &mut Dispute, event: Event) -> Result<(), Refusal> {
        let was_over = d.game.is_over();
        let at = self.append(&event)?;
        d.claim_end.fetch_max(at.end, Ordering::SeqCst);
        d.apply(&event)
            .map_err(|e| refuse(500, format!("a logged event does not apply: {e}")))?;
        if !was_over && d.game.is_over() {
            self.shared.running.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Ends a dispute whose side on turn ran out of time; returns whether it did.
    fn expire(&self, id: &str, n: u64, d: &mut Dispute, now: u64) -> Result<bool, Refusal> {
        if !d.running() || d.game.time_left(d.game.turn, now) > 0 {
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
        self.retire_finished();
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
                    self.ended(&id, slot);
                }
            }
        }
        // While a clock runs or a window is open, a restart must know how
        // long the referee was up.
        if window_open || self.shared.running.load(Ordering::Relaxed) > 0 {
            let log = &self.shared.log;
            let now = now_ms();
            if now >= log.last_ms() + HEARTBEAT_MS {
                log.append(&Event::Heartbeat { time_ms: now })
                    .map_err(|e| refuse(500, format!("cannot log a heartbeat: {e}")))?;
            }
        }
        Ok(n)
    }

    /// Counts an open by `client` against the quotas of its address and
    /// of its network.
    fn charge(&self, client: Option<IpAddr>, what: &str) -> Result<(), Refusal> {
        let Some(ip) = client else { return Ok(()) };
        let cfg = &self.shared.config;
        let now = now_ms();
        let mut guard = self.shared.opens.lock().unwrap_or_else(|p| p.into_inner());
        let opens = &mut *guard;
        let net = shares::prefix(ip);
        for (map, key, max, whose) in [
            (
                &mut opens.by_address,
                ip,
                cfg.max_opens_per_minute,
                "client address".to_string(),
            ),
            (
                &mut opens.by_prefix,
                net,
                cfg.max_opens_per_minute_per_prefix,
                format!("network ({net} and its neighbours)"),
            ),
        ] {
            let q = map.entry(key).or_default();
            while q.front().is_some_and(|t| now.saturating_sub(*t) >= 60_000) {
                q.pop_front();
            }
            if q.len() >= max {
                return Err(refuse(
                    429,
                    format!(
                        "too many {what}: at most {max} claims and disputes a minute per {whose}"
                    ),
                ));
            }
        }
        for (map, key) in [(&mut opens.by_address, ip), (&mut opens.by_prefix, net)] {
            map.entry(key).or_default().push_back(now);
            if map.len() > 100_000 {
                map.retain(|_, q| q.back().is_some_and(|t| now.saturating_sub(*t) < 60_000));
            }
        }
        Ok(())
    }

    /// A place among the open claims for one opened by `client`, within
    /// the shares of its address and network.
    fn hold(&self, client: Option<IpAddr>) -> Result<Option<shares::Taken>, Refusal> {
        let Some(ip) = client else { return Ok(None) };
        let cfg = &self.shared.config;
        self.shared.held.take(ip, 1, 0).map(Some).map_err(|over| {
            let (max, whose) = match over {
                shares::Over::Address => (cfg.max_open_claims_per_address, "client address".to_string()),
                shares::Over::Prefix => (
                    cfg.max_open_claims_per_prefix,
                    format!("network ({} and its neighbours)", shares::prefix(ip)),
                ),
                shares::Over::Total => (cfg.max_open_claims, "referee".to_string()),
            };
            refuse(
                429,
                format!("{max} claims opened from this {whose} are open, its most; retry when one is decided"),
            )
        })
    }

    /// Opens a claim (`POST /games`).
    pub fn create(&self, req: CreateGame) -> Result<Created, Refusal> {
        self.create_from(req, None)
    }

    /// Opens a claim for `client` (counted against its quota).
    pub fn create_from(&self, req: CreateGame, client: Option<IpAddr>) -> Result<Created, Refusal> {
        let cfg = &self.shared.config;
        let b = req.claim.b;
        if req.claim.status.len() > MAX_STATUS {
            return Err(refuse(
                400,
                format!(
                    "the claim's status is {} bytes, over {MAX_STATUS}: it is a short note for people",
                    req.claim.status.len()
                ),
            ));
        }
        if b > cfg.policy.max_b {
            return Err(refuse(
                400,
                format!(
                    "b = {b} is over this referee's largest, {}",
                    cfg.policy.max_b
                ),
            ));
        }
        if let Some(why) = too_large(req.program.len(), req.input.len(), &self.policy()) {
            return Err(refuse(413, why));
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
        let levels = req.levels.unwrap_or_else(|| default_levels(b));
        let open = self.open_claims();
        if open >= cfg.max_open_claims {
            return Err(refuse(
                429,
                format!("{open} claims are open, this referee's most; retry later"),
            ));
        }
        self.charge(client, "claims")?;
        let held = self.hold(client)?;
        // The slow part (loading the ELF, root(S_0), writing the program
        // and input out) happens before any lock; root(S_0) as the rules
        // derive it, the input's pages eight hashes at a time.
        let image =
            crate::elf::image_of(&req.program).map_err(|e| refuse(400, format!("program: {e}")))?;
        let root = initial_root_x8(&req.claim, &req.program, &req.input, &image)
            .map_err(|e| refuse(400, e.to_string()))?;
        let now = now_ms();
        let game = DisputeState::with_root(req.claim, levels, root, clock_ms, now)
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
        let at = self.append(&event)?;
        let entry = ClaimEntry {
            claim: game.claim,
            levels: game.levels,
            initial_root: root,
            created_ms: now,
            clock_ms,
            window_ends_ms: now.saturating_add(window_ms),
            defender_token: token_hash(&token),
            disputes: Vec::new(),
            first_at: at.at,
            prior_ms: at.prior_ms,
            last_end: Arc::new(AtomicU64::new(at.end)),
            _held: held,
        };
        let slot = Arc::new(ClaimSlot {
            entry: Mutex::new(entry),
            signals: ClaimSignals::new(self.shared.log.head().lines),
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
        // Past the claim's share of running disputes, a dispute waits its
        // turn with its clocks stopped (the claim stays open meanwhile).
        let queued = running_disputes(&c) >= self.shared.config.max_running_disputes.max(1);
        let event = Event::Join {
            game: id.to_string(),
            dispute: n,
            time_ms: now,
            challenger_token: token_hash(&token),
            queued,
        };
        let d = new_dispute(&c, now, token_hash(&token), queued).map_err(|e| refuse(500, e))?;
        let at = self.append(&event)?;
        c.last_end.fetch_max(at.end, Ordering::SeqCst);
        c.disputes.push(dispute_slot(d, &claim.signals));
        self.shared.running.fetch_add(1, Ordering::Relaxed);
        drop(c);
        claim.signals.watch.send_replace(());
        claim.signals.feed.send_replace(());
        Ok(Joined {
            dispute: n,
            token,
            queued,
        })
    }

    /// Where dispute `n` of claim `id` stands (`GET /games/{id}/disputes/{n}`),
    /// with the moves after `after_seq`.
    pub fn view(&self, id: &str, n: u64, after_seq: Option<u64>) -> Result<View, Refusal> {
        let slot = self.readable_dispute(id, n)?;
        let mut d = slot.lock();
        let now = now_ms();
        if self.expire(id, n, &mut d, now)? {
            drop(d);
            self.ended(id, &slot);
            d = slot.lock();
        }
        Ok(d.view(id, n, now, after_seq))
    }

    /// Where claim `id` stands (`GET /games/{id}`), with its first
    /// [`MAX_PAGE`] disputes.
    pub fn claim(&self, id: &str) -> Result<ClaimView, Refusal> {
        self.claim_page(id, 1)
    }

    /// Where claim `id` stands, with the disputes from number `from` on
    /// (at most [`MAX_PAGE`]).
    pub fn claim_page(&self, id: &str, from: u64) -> Result<ClaimView, Refusal> {
        let slot = self.readable(id, None)?;
        let c = slot.lock();
        Ok(c.view(id, now_ms(), from))
    }

    /// Where claim `id` stands, with the views of its first `most`
    /// disputes (at most [`MAX_PAGE`]); a finished claim is read from the
    /// log once for all of them.
    pub fn claim_with_views(
        &self,
        id: &str,
        most: usize,
    ) -> Result<(ClaimView, Vec<View>), Refusal> {
        let slot = self.readable(id, None)?;
        let now = now_ms();
        let (view, disputes) = {
            let c = slot.lock();
            let view = c.view(id, now, 1);
            let most = most.min(MAX_PAGE);
            (
                view,
                c.disputes.iter().take(most).cloned().collect::<Vec<_>>(),
            )
        };
        let mut views = Vec::with_capacity(disputes.len());
        for (i, d) in disputes.iter().enumerate() {
            let n = i as u64 + 1;
            let mut g = d.lock();
            if self.expire(id, n, &mut g, now)? {
                drop(g);
                self.ended(id, d);
                g = d.lock();
            }
            views.push(g.view(id, n, now, None));
        }
        Ok((view, views))
    }

    /// The transcript of dispute `n` so far (`GET /games/{id}/disputes/{n}/transcript`),
    /// written by its [`TranscriptSource`] (as the HTTP service streams it) and read back.
    pub fn transcript(&self, id: &str, n: u64) -> Result<Transcript, Refusal> {
        let source = self.transcript_source(id, n)?;
        let mut bytes = Vec::new();
        source
            .write(&mut bytes)
            .map_err(|e| refuse(500, format!("cannot write the transcript: {e}")))?;
        crate::rules::strict::from_slice(&bytes)
            .map_err(|e| refuse(500, format!("the transcript does not read back: {e}")))
    }

    /// The moves of dispute `n` of claim `id` (a dispute has at most a
    /// few per round of its levels).
    pub fn moves(&self, id: &str, n: u64) -> Result<Vec<Record>, Refusal> {
        let slot = self.readable_dispute(id, n)?;
        let d = slot.lock();
        Ok(d.moves.clone())
    }

    /// What streaming the transcript of dispute `n` of claim `id` needs:
    /// checked before the answer starts (the dispute exists, its program
    /// and input are there and whole), written after.
    pub fn transcript_source(&self, id: &str, n: u64) -> Result<TranscriptSource, Refusal> {
        let slot = self.readable_dispute(id, n)?;
        let mut d = slot.lock();
        if self.expire(id, n, &mut d, now_ms())? {
            drop(d);
            self.ended(id, &slot);
            d = slot.lock();
        }
        let dir = &self.shared.dir;
        for h in [&d.game.claim.program, &d.game.claim.input] {
            transcript_source::check_blob(dir, h)
                .map_err(|e| refuse(500, format!("cannot read: {e}")))?;
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
        self.list_page(None, MAX_PAGE)
    }

    /// A page of claims, the newest first: at most `limit` (and
    /// [`MAX_PAGE`]) of those numbered below `before` (`GET
    /// /games?before=N&limit=L`).
    pub fn list_page(&self, before: Option<u64>, limit: usize) -> Vec<Summary> {
        let now = now_ms();
        let limit = limit.clamp(1, MAX_PAGE);
        let next = self.shared.next_id.load(Ordering::Relaxed);
        let mut k = before.unwrap_or(next).min(next);
        let mut page = Vec::with_capacity(limit);
        // Numbers with no claim (a creation that failed to be logged) are
        // rare; the walk is bounded all the same.
        let mut looked = 0;
        while k > 1 && page.len() < limit && looked < 10 * MAX_PAGE {
            k -= 1;
            looked += 1;
            let id = format!("g{k}");
            match self.find(&id) {
                Ok(Found::Live(slot)) => {
                    let c = slot.lock();
                    page.push(Summary {
                        id,
                        status: c.status(now).0,
                        disputes: c.disputes.len() as u64,
                        window_left_ms: c.window_ends_ms.saturating_sub(now),
                    });
                }
                Ok(Found::Finished(r)) => page.push(Summary {
                    id,
                    status: r.status,
                    disputes: r.disputes,
                    window_left_ms: 0,
                }),
                Err(_) => {}
            }
        }
        page
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
            None => self
                .claim_slot(id)
                .ok()
                .map(|s| s.signals.watch.subscribe()),
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
                if d.queued {
                    // No clock runs: it changes when it starts (which
                    // wakes the poll).
                    return Some(MAX_WAIT_MS);
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
        if let Err(e) = self.shared.log.sync_head() {
            eprintln!("referee: {e}");
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
            claim.signals.watch.send_replace(());
            claim.signals.feed.send_replace(());
            for d in claim.lock().disputes.iter() {
                d.watch.send_replace(());
            }
        }
    }
}
