//! The referee's side of players that follow many disputes at once: a
//! claim's event feed (what changed in its disputes since a cursor, paged
//! and long-polled), batches of moves in several disputes logged with one
//! sync, and the queue of disputes beyond a claim's share of running ones
//! (their clocks stopped until they start).

use super::{
    Dispute, DisputeSlot, FEED_PAGE, MAX_BATCH, MAX_WAIT_MS, Referee, Refusal, is_token,
    move_status, now_ms, refuse, running_disputes,
};
use crate::players::wire::{BatchMove, BatchResult, ClaimStatus, Feed, MoveRequest, View};
use crate::referee::store::Event;
use crate::rules::Side;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

impl Referee {
    /// What changed in claim `id`'s disputes after cursor `after`
    /// (`GET /games/{id}/events?after=V`): at most [`FEED_PAGE`] disputes,
    /// the oldest changes first; `more` if there are others.
    pub fn feed(&self, id: &str, after: u64) -> Result<Feed, Refusal> {
        let claim = match self.find(id)? {
            super::Found::Live(c) => c,
            super::Found::Finished(r) => return self.finished_feed(id, &r, after),
        };
        // The cursor is read before the disputes: a change numbered after
        // it is told again next time, never missed.
        let cursor = claim.signals.version.load(Ordering::SeqCst);
        let (status, window_left_ms, slots) = {
            let c = claim.lock();
            let now = now_ms();
            (
                c.status(now).0,
                c.window_ends_ms.saturating_sub(now),
                c.disputes.clone(),
            )
        };
        let mut changed: Vec<(u64, u64)> = slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.changed.load(Ordering::SeqCst), i as u64 + 1))
            .filter(|(v, _)| *v > after)
            .collect();
        changed.sort_unstable();
        let more = changed.len() > FEED_PAGE;
        changed.truncate(FEED_PAGE);
        let cursor = if more {
            changed.last().map_or(cursor, |(v, _)| *v)
        } else {
            cursor.max(after)
        };
        let now = now_ms();
        let mut disputes = Vec::with_capacity(changed.len());
        for (_, n) in changed {
            let slot = &slots[(n - 1) as usize];
            let mut d = slot.lock();
            if self.expire(id, n, &mut d, now)? {
                drop(d);
                self.ended(id, slot);
                d = slot.lock();
            }
            // The latest few moves: a player that follows the feed sees
            // every move of its opponent (one at a time, between its own).
            let since = d.game.seq.saturating_sub(FEED_RECENT);
            disputes.push(d.view(id, n, now, Some(since)));
        }
        Ok(Feed {
            id: id.to_string(),
            status,
            window_left_ms,
            disputes_total: slots.len() as u64,
            cursor,
            more,
            disputes,
        })
    }

    /// The feed of a finished claim (rebuilt from the log): its change
    /// numbers are gone, so every dispute is told once more, in pages,
    /// from a reader behind the claim's last change (`record.version`);
    /// the cursor counts the disputes told past that number.
    fn finished_feed(
        &self,
        id: &str,
        r: &super::archive::Record,
        after: u64,
    ) -> Result<Feed, Refusal> {
        let from = after.saturating_sub(r.version).min(r.disputes);
        let slot = self.shared.index.rebuild(id, r, None)?;
        let c = slot.lock();
        let now = now_ms();
        let disputes: Vec<View> = c
            .disputes
            .iter()
            .enumerate()
            .skip(from as usize)
            .take(FEED_PAGE)
            .map(|(i, d)| {
                let d = d.lock();
                d.view(
                    id,
                    i as u64 + 1,
                    now,
                    Some(d.game.seq.saturating_sub(FEED_RECENT)),
                )
            })
            .collect();
        let told = from + disputes.len() as u64;
        Ok(Feed {
            id: id.to_string(),
            status: r.status,
            window_left_ms: 0,
            disputes_total: r.disputes,
            cursor: (r.version + told).max(after),
            more: told < r.disputes,
            disputes,
        })
    }

    /// For a long-poll of claim `id`'s feed past `after`: `None` if it
    /// should be answered now (something changed, the claim is decided or
    /// unknown), otherwise the milliseconds until the window closes.
    pub fn feed_wait(&self, id: &str, after: u64) -> Option<u64> {
        let claim = self.claim_slot(id).ok()?;
        if claim.signals.version.load(Ordering::SeqCst) > after {
            return None;
        }
        let c = claim.lock();
        let now = now_ms();
        if c.status(now).0 != ClaimStatus::Open {
            return None;
        }
        Some(match c.window_ends_ms.saturating_sub(now) {
            0 => MAX_WAIT_MS,
            left => left.min(MAX_WAIT_MS),
        })
    }

    /// A receiver woken by every change of claim `id`'s disputes.
    pub fn subscribe_feed(&self, id: &str) -> Option<tokio::sync::watch::Receiver<()>> {
        self.claim_slot(id).ok().map(|s| s.signals.feed.subscribe())
    }

    /// Whether dispute `n` of claim `id` is queued (a long-poll of it
    /// answers when it starts).
    pub fn queued(&self, id: &str, n: u64) -> bool {
        self.dispute_slot(id, n).is_ok_and(|s| s.lock().queued)
    }

    /// A move in dispute `n` of claim `id` (`POST /games/{id}/disputes/{n}/moves`).
    pub fn play(&self, id: &str, n: u64, req: MoveRequest) -> Result<View, Refusal> {
        let mut results = self.play_batch(id, vec![BatchMove::new(n, req)])?;
        match results.pop() {
            Some(BatchResult {
                view: Some(view), ..
            }) => Ok(view),
            Some(BatchResult {
                status: Some(status),
                error: Some(reason),
                ..
            }) => Err(Refusal { status, reason }),
            _ => Err(refuse(500, "a move without a result")),
        }
    }

    /// Moves in several disputes of claim `id` (`POST /games/{id}/moves`):
    /// each checked as if alone (a refused one changes nothing and does
    /// not stop the others), the accepted ones logged with one sync.
    /// Results in the order of `moves`.
    pub fn play_batch(&self, id: &str, moves: Vec<BatchMove>) -> Result<Vec<BatchResult>, Refusal> {
        if moves.is_empty() || moves.len() > MAX_BATCH {
            return Err(refuse(
                400,
                format!("a batch has 1 to {MAX_BATCH} moves, not {}", moves.len()),
            ));
        }
        let mut order: Vec<usize> = (0..moves.len()).collect();
        order.sort_by_key(|i| moves[*i].dispute);
        if order
            .windows(2)
            .any(|w| moves[w[0]].dispute == moves[w[1]].dispute)
        {
            return Err(refuse(400, "a batch has at most one move per dispute"));
        }
        let claim = self.claim_slot(id)?;
        let slots: Vec<Option<Arc<DisputeSlot>>> = {
            let c = claim.lock();
            moves
                .iter()
                .map(|m| {
                    c.disputes
                        .get((m.dispute as usize).wrapping_sub(1))
                        .cloned()
                })
                .collect()
        };
        // Locks in the order of the disputes' numbers (the only order
        // anyone takes more than one in), held until the moves are logged.
        let mut guards: Vec<Option<MutexGuard<'_, Dispute>>> =
            (0..moves.len()).map(|_| None).collect();
        for &i in &order {
            guards[i] = slots[i].as_ref().map(|s| s.lock());
        }
        let now = now_ms();
        let mut results: Vec<Result<(), Refusal>> = Vec::with_capacity(moves.len());
        let mut events = Vec::new();
        let mut timed_out = Vec::new();
        for (i, m) in moves.iter().enumerate() {
            let n = m.dispute;
            let Some(d) = guards[i].as_mut() else {
                results.push(Err(refuse(404, format!("game {id} has no dispute {n}"))));
                continue;
            };
            let most = crate::rules::policy::MAX_FAN as usize - 1;
            if let crate::rules::Move::Dissect { roots, .. } = &m.mv
                && roots.len() > most
            {
                results.push(Err(refuse(
                    400,
                    format!(
                        "a dissection carries at most {most} roots (a fan-out of at most {}), this one has {}",
                        crate::rules::policy::MAX_FAN,
                        roots.len()
                    ),
                )));
                continue;
            }
            let secret = match m.side {
                Side::Defender => &d.defender_token,
                Side::Challenger => &d.challenger_token,
            };
            if !is_token(secret, &m.token) {
                results.push(Err(refuse(
                    403,
                    format!("wrong token for the {} of dispute {n}", m.side),
                )));
                continue;
            }
            if d.queued {
                results.push(Err(refuse(
                    409,
                    format!(
                        "dispute {n} is queued: it starts when one of the claim's running disputes ends (its clocks are stopped until then)"
                    ),
                )));
                continue;
            }
            // A side whose time is up cannot move: the timeout comes first.
            match self.expire(id, n, d, now) {
                Ok(true) => timed_out.push(i),
                Ok(false) => {}
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            }
            // Check on a copy: a refused move changes nothing.
            let mut game = d.game.clone();
            match game.apply(m.side, m.seq, &m.mv, now) {
                Err(err) => results.push(Err(refuse(move_status(&err), err.to_string()))),
                Ok(()) => {
                    events.push((
                        i,
                        Event::Move {
                            game: id.to_string(),
                            dispute: n,
                            time_ms: now,
                            side: m.side,
                            seq: m.seq,
                            mv: m.mv.clone(),
                        },
                    ));
                    results.push(Ok(()));
                }
            }
        }
        let logged: Vec<Event> = events.iter().map(|(_, e)| e.clone()).collect();
        let (log_failed, log_end) = if logged.is_empty() {
            (None, 0)
        } else {
            match self.shared.log.append_all(&logged) {
                Ok(at) => (None, at.end),
                Err(e) => (Some(refuse(500, format!("cannot log the moves: {e}"))), 0),
            }
        };
        let mut ended = Vec::new();
        for (i, event) in events {
            if let Some(e) = &log_failed {
                results[i] = Err(e.clone());
                continue;
            }
            let Some(d) = guards[i].as_mut() else {
                continue;
            };
            let was_over = d.game.is_over();
            d.claim_end.fetch_max(log_end, Ordering::SeqCst);
            if let Err(e) = d.apply(&event) {
                results[i] = Err(refuse(500, format!("a logged event does not apply: {e}")));
                continue;
            }
            if !was_over && d.game.is_over() {
                self.shared.running.fetch_sub(1, Ordering::Relaxed);
                ended.push(i);
            }
        }
        let out: Vec<BatchResult> = moves
            .iter()
            .zip(results)
            .enumerate()
            .map(|(i, (m, r))| match r {
                Ok(()) => BatchResult {
                    dispute: m.dispute,
                    view: guards[i]
                        .as_ref()
                        .map(|d| d.view(id, m.dispute, now, Some(m.seq))),
                    status: None,
                    error: None,
                },
                Err(e) => BatchResult {
                    dispute: m.dispute,
                    view: None,
                    status: Some(e.status),
                    error: Some(e.reason),
                },
            })
            .collect();
        drop(guards);
        for (i, slot) in slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            if ended.contains(&i) || timed_out.contains(&i) {
                self.ended(id, slot);
            } else if out[i].view.is_some() {
                slot.notify(false);
            }
        }
        Ok(out)
    }

    /// After dispute `slot` of claim `id` ended: tells its watchers, and
    /// starts queued disputes of the claim in their order while it has
    /// room for them.
    pub(super) fn ended(&self, id: &str, slot: &DisputeSlot) {
        slot.notify(true);
        if let Err(e) = self.start_queued(id) {
            eprintln!("referee: {}", e.reason);
        }
    }

    fn start_queued(&self, id: &str) -> Result<(), Refusal> {
        let claim = self.claim_slot(id)?;
        let c = claim.lock();
        let room = self.shared.config.max_running_disputes.max(1);
        let mut running = running_disputes(&c);
        for (i, slot) in c.disputes.iter().enumerate() {
            if running >= room {
                break;
            }
            let mut d = slot.lock();
            if !d.queued {
                continue;
            }
            let event = Event::Start {
                game: id.to_string(),
                dispute: i as u64 + 1,
                time_ms: now_ms(),
            };
            self.commit(&mut d, event)?;
            running += 1;
            drop(d);
            slot.notify(false);
        }
        Ok(())
    }
}

/// Moves of each dispute a feed answer carries (the latest).
const FEED_RECENT: u64 = 4;
