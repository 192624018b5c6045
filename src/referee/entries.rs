//! What the referee holds in memory of a claim in play: the claim and
//! its disputes ([`ClaimEntry`], [`Dispute`]), each behind its lock with
//! the channels that wake its watchers ([`ClaimSlot`], [`DisputeSlot`],
//! [`ClaimSignals`]), and the one-line refusal every request may end
//! with ([`Refusal`]). The referee's log replay and the archive of
//! finished claims both build these.

use super::config::MAX_PAGE;
use super::shares;
use crate::hash::Hash;
use crate::players::wire::{ClaimStatus, ClaimView, DisputeSummary, View};
use crate::referee::store::Event;
use crate::rules::transcript::Record;
use crate::rules::{DisputeState, Phase, Side};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One dispute: a game between the defender and one challenger.
pub(super) struct Dispute {
    pub(super) game: DisputeState,
    /// Waiting for a place among the claim's running disputes: its clocks
    /// do not run and no move is taken until it starts.
    pub(super) queued: bool,
    pub(super) created_ms: u64,
    pub(super) initial_clock: u64,
    pub(super) defender_token: Hash,
    pub(super) challenger_token: Hash,
    pub(super) moves: Vec<Record>,
    /// Where its claim's last line in the log ends (moved on by every
    /// line of the dispute).
    pub(super) claim_end: Arc<AtomicU64>,
}

/// A dispute behind its lock, with a channel that wakes its long-polls.
pub(super) struct DisputeSlot {
    pub(super) entry: Mutex<Dispute>,
    pub(super) watch: tokio::sync::watch::Sender<()>,
    /// The claim's channels: a dispute that ends changes its claim, and
    /// every change of a dispute is news for the claim's event feed.
    pub(super) claim: Arc<ClaimSignals>,
    /// The claim's change number of this dispute's last change.
    pub(super) changed: AtomicU64,
}

/// How a claim tells its watchers that something changed.
pub(super) struct ClaimSignals {
    /// Wakes long-polls of the claim (disputes opened or ended).
    pub(super) watch: tokio::sync::watch::Sender<()>,
    /// Wakes long-polls of the claim's event feed (any change).
    pub(super) feed: tokio::sync::watch::Sender<()>,
    /// Changes of the claim's disputes so far (the feed's cursor).
    pub(super) version: AtomicU64,
}

impl ClaimSignals {
    /// Signals whose change numbers start after `base`. Every change of a
    /// dispute is a line of the log, so starting a restarted referee's
    /// numbers at the log's length keeps them growing across restarts: a
    /// player's cursor from before is never ahead of them.
    pub(super) fn new(base: u64) -> Arc<ClaimSignals> {
        Arc::new(ClaimSignals {
            watch: tokio::sync::watch::Sender::new(()),
            feed: tokio::sync::watch::Sender::new(()),
            version: AtomicU64::new(base),
        })
    }
}

impl DisputeSlot {
    pub(super) fn lock(&self) -> MutexGuard<'_, Dispute> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the watchers of the dispute and of its claim that it
    /// changed (after the change, so that a reader who sees the new
    /// number sees the new state).
    pub(super) fn notify(&self, ended: bool) {
        let v = self.claim.version.fetch_add(1, Ordering::SeqCst) + 1;
        self.changed.store(v, Ordering::SeqCst);
        self.watch.send_replace(());
        self.claim.feed.send_replace(());
        if ended {
            self.claim.watch.send_replace(());
        }
    }
}

/// A claim and its disputes.
pub(super) struct ClaimEntry {
    pub(super) claim: crate::rules::claim::Claim,
    pub(super) levels: Vec<crate::rules::levels::Level>,
    pub(super) initial_root: Hash,
    pub(super) created_ms: u64,
    pub(super) clock_ms: u64,
    pub(super) window_ends_ms: u64,
    pub(super) defender_token: Hash,
    pub(super) disputes: Vec<Arc<DisputeSlot>>,
    /// Offset of its creation's line in the log.
    pub(super) first_at: u64,
    /// The latest time logged before its creation.
    pub(super) prior_ms: u64,
    /// Offset just after its last line in the log.
    pub(super) last_end: Arc<AtomicU64>,
    /// Its place among the open claims of its opener's address and
    /// network (given back when it leaves memory).
    pub(super) _held: Option<shares::Taken>,
}

pub(super) struct ClaimSlot {
    pub(super) entry: Mutex<ClaimEntry>,
    pub(super) signals: Arc<ClaimSignals>,
}

impl ClaimSlot {
    pub(super) fn lock(&self) -> MutexGuard<'_, ClaimEntry> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A refusal: status code and one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// The reason.
    pub reason: String,
}

pub(super) fn refuse(status: u16, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
    }
}

pub(super) fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::Open => "open",
        Phase::Bisect(_) => "bisect",
        Phase::Prove(_) => "prove",
        Phase::Done(_) => "done",
    }
}

impl Dispute {
    /// Applies a logged event to this dispute (live requests and replay alike).
    pub(super) fn apply(&mut self, event: &Event) -> Result<(), String> {
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
            Event::Start { time_ms, .. } => {
                if !self.queued {
                    return Err("a start of a dispute that is not queued".into());
                }
                self.queued = false;
                self.game.turn_since_ms = *time_ms;
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
    pub(super) fn view(&self, id: &str, n: u64, now: u64, since: Option<u64>) -> View {
        View::of(id, n, &self.game, &self.moves, now, since, self.queued)
    }

    /// Started and not over.
    pub(super) fn running(&self) -> bool {
        !self.queued && !self.game.is_over()
    }

    pub(super) fn summary(&self, n: u64) -> DisputeSummary {
        DisputeSummary {
            dispute: n,
            phase: if self.queued {
                "queued".into()
            } else {
                phase_name(&self.game.phase).to_string()
            },
            seq: self.game.seq,
            winner: self.game.outcome().map(|o| o.winner()),
            outcome: self.game.outcome().cloned(),
        }
    }
}

impl ClaimEntry {
    /// The claim a `Create` event logs, with no dispute yet; `first_at`,
    /// `prior_ms` and `last_end` place it in the log. `None` for any other
    /// event.
    pub(super) fn created(
        event: &Event,
        first_at: u64,
        prior_ms: u64,
        last_end: u64,
    ) -> Option<ClaimEntry> {
        let Event::Create {
            time_ms,
            claim,
            levels,
            clock_ms,
            window_ms,
            initial_root,
            defender_token,
            ..
        } = event
        else {
            return None;
        };
        Some(ClaimEntry {
            claim: claim.clone(),
            levels: levels.clone(),
            initial_root: *initial_root,
            created_ms: *time_ms,
            clock_ms: *clock_ms,
            window_ends_ms: time_ms.saturating_add(*window_ms),
            defender_token: *defender_token,
            disputes: Vec::new(),
            first_at,
            prior_ms,
            last_end: Arc::new(AtomicU64::new(last_end)),
            _held: None,
        })
    }

    /// Where the claim stands at `now`, and its change count.
    pub(super) fn status(&self, now: u64) -> (ClaimStatus, u64) {
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

    /// The claim's view with the summaries of disputes `from`,
    /// `from + 1`, ... (at most [`MAX_PAGE`]).
    pub(super) fn view(&self, id: &str, now: u64, from: u64) -> ClaimView {
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
            disputes_total: self.disputes.len() as u64,
            disputes: self
                .disputes
                .iter()
                .enumerate()
                .skip(from.saturating_sub(1) as usize)
                .take(MAX_PAGE)
                .map(|(i, d)| d.lock().summary(i as u64 + 1))
                .collect(),
        }
    }
}

/// Disputes of a claim started and not over.
pub(super) fn running_disputes(c: &ClaimEntry) -> usize {
    c.disputes.iter().filter(|d| d.lock().running()).count()
}

pub(super) fn new_dispute(
    c: &ClaimEntry,
    time_ms: u64,
    challenger_token: Hash,
    queued: bool,
) -> Result<Dispute, String> {
    let game = DisputeState::with_root(
        c.claim.clone(),
        c.levels.clone(),
        c.initial_root,
        c.clock_ms,
        time_ms,
    )
    .map_err(|e| e.to_string())?;
    Ok(Dispute {
        game,
        queued,
        created_ms: time_ms,
        initial_clock: c.clock_ms,
        defender_token: c.defender_token,
        challenger_token,
        moves: Vec::new(),
        claim_end: c.last_end.clone(),
    })
}

pub(super) fn dispute_slot(d: Dispute, claim: &Arc<ClaimSignals>) -> Arc<DisputeSlot> {
    let v = claim.version.fetch_add(1, Ordering::SeqCst) + 1;
    Arc::new(DisputeSlot {
        entry: Mutex::new(d),
        watch: tokio::sync::watch::Sender::new(()),
        claim: claim.clone(),
        changed: AtomicU64::new(v),
    })
}
