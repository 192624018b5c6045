//! The loops that play a [`Player`] against a [`RefereeApi`]: one
//! dispute ([`play`]), the defender's every dispute of its claim
//! ([`defend`]) and a challenger's several disputes ([`challenge_many`]),
//! the last two over the claim's event feed with one shared strategy
//! ([`Shared`]) whose roots are computed once.

use crate::players::api::{ClientError, RefereeApi};
use crate::players::narrate::{Narrator, describe, describe_end};
use crate::players::player::{Player, Query, Strategy};
use crate::players::wire::{BatchMove, ClaimStatus, MAX_BATCH, MoveRequest, View};
use crate::rules::{DisputeState, Move, Outcome, Phase, Side};
use std::sync::{Arc, Mutex};

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
    fn roots(
        &mut self,
        asked: &[(Query, crate::players::player::Place)],
    ) -> Vec<crate::hash::Hash> {
        let mut s = self.get();
        let missing: Vec<(Query, crate::players::player::Place)> = asked
            .iter()
            .filter(|&&(q, place)| !s.roots.contains_key(&(q, Some(place))))
            .copied()
            .collect();
        if !missing.is_empty() {
            let found = s.strategy.roots(&missing);
            for ((q, place), h) in missing.into_iter().zip(found) {
                s.roots.insert((q, Some(place)), h);
            }
        }
        asked
            .iter()
            .map(|&(q, place)| s.roots[&(q, Some(place))])
            .collect()
    }
    fn pick(
        &mut self,
        asked: &[(Query, crate::players::player::Place)],
        roots: &[crate::hash::Hash],
    ) -> u64 {
        self.get().strategy.pick(asked, roots)
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
        for chunk in due.chunks(MAX_BATCH) {
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
