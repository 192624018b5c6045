//! Opening a referee: the log replayed through the rules into claims and
//! disputes, and the clocks of running turns resumed fairly.

use super::{
    AtomicBool, AtomicU64, AtomicUsize, BTreeMap, ClaimEntry, ClaimSignals, ClaimSlot, Claims,
    Config, Dispute, Mutex, Opens, Referee, RefereeError, RwLock, Shared, archive, dispute_slot,
    id_number, new_dispute, now_ms, shares,
};
use crate::referee::store::{Event, Log, Logged, has_blob};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Referee {
    /// Opens the referee on a data directory, replaying its log.
    pub fn open(dir: &Path, config: Config) -> Result<Referee, RefereeError> {
        let (log, events) = Log::open_logged(dir)?;
        // Replay into plain values first, then put them behind locks.
        let mut claims: Claims = BTreeMap::new();
        let mut disputes: BTreeMap<String, Vec<Dispute>> = BTreeMap::new();
        let mut next_id = 1;
        let mut last_ms = 0u64;
        for (i, logged) in events.into_iter().enumerate() {
            let Logged {
                event,
                at: line_at,
                end: line_end,
            } = logged;
            let at = |r: String| RefereeError::Replay(format!("event {}: {r}", i + 1));
            match &event {
                Event::Create { game, claim, .. } => {
                    has_blob(dir, &claim.program)?;
                    has_blob(dir, &claim.input)?;
                    if claims.contains_key(game) {
                        return Err(at(format!("claim {game} is created twice")));
                    }
                    next_id = next_id.max(id_number(game).map_or(0, |n| n + 1));
                    if let Some(entry) = ClaimEntry::created(&event, line_at, last_ms, line_end) {
                        claims.insert(game.clone(), entry);
                    }
                    disputes.insert(game.clone(), Vec::new());
                }
                Event::Join {
                    game,
                    dispute,
                    time_ms,
                    challenger_token,
                    queued,
                } => {
                    let c = claims
                        .get(game)
                        .ok_or_else(|| at(format!("unknown claim {game}")))?;
                    let list = disputes.entry(game.clone()).or_default();
                    if *dispute != list.len() as u64 + 1 {
                        return Err(at(format!("dispute {dispute} of {game} out of order")));
                    }
                    list.push(new_dispute(c, *time_ms, *challenger_token, *queued).map_err(at)?);
                    c.last_end.store(line_end, Ordering::SeqCst);
                }
                Event::Move { game, dispute, .. }
                | Event::Timeout { game, dispute, .. }
                | Event::Start { game, dispute, .. } => {
                    disputes
                        .get_mut(game)
                        .and_then(|l| l.get_mut((*dispute as usize).wrapping_sub(1)))
                        .ok_or_else(|| at(format!("unknown dispute {dispute} of {game}")))?
                        .apply(&event)
                        .map_err(at)?;
                    if let Some(c) = claims.get(game) {
                        c.last_end.store(line_end, Ordering::SeqCst);
                    }
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
        let base = log.head().lines;
        // Finished claims go to the index on disk; the others to memory.
        let index = archive::Index::create(dir)?;
        let mut live = BTreeMap::new();
        for (id, mut entry) in claims {
            let signals = ClaimSignals::new(base);
            for d in disputes.remove(&id).unwrap_or_default() {
                running += !d.game.is_over() as usize;
                entry.disputes.push(dispute_slot(d, &signals));
            }
            let finished = now >= entry.window_ends_ms
                && entry.disputes.iter().all(|d| d.lock().game.is_over());
            if let (true, Some(k)) = (finished, id_number(&id)) {
                let (status, seq) = entry.status(now);
                index.put(
                    k,
                    &archive::Record {
                        status,
                        first_at: entry.first_at,
                        last_end: entry.last_end.load(Ordering::SeqCst),
                        prior_ms: entry.prior_ms,
                        window_ends_ms: entry.window_ends_ms,
                        disputes: entry.disputes.len() as u64,
                        version: signals.version.load(Ordering::SeqCst),
                        seq,
                    },
                )?;
                continue;
            }
            let slot = ClaimSlot {
                entry: Mutex::new(entry),
                signals,
            };
            live.insert(id, Arc::new(slot));
        }
        let claims = live;
        let c = &config;
        let held = shares::Tally::new(shares::Share {
            total: c.max_open_claims,
            per_address: c.max_open_claims_per_address,
            per_prefix: c.max_open_claims_per_prefix,
        });
        Ok(Referee {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                claims: RwLock::new(claims),
                log,
                next_id: AtomicU64::new(next_id),
                config,
                stop: AtomicBool::new(false),
                opens: Mutex::new(Opens::default()),
                held,
                index,
                running: AtomicUsize::new(running),
            }),
        })
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
            if d.queued {
                // Its clocks start when it does.
                continue;
            }
            d.game.pause(last_ms, resume_ms);
        }
    }
}
