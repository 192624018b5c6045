//! A dispute rebuilt from the contract's logs by the Rust rules, checked
//! against the contract's record, and its view.

use super::{
    ChainReferee, ClaimMeta, GRACE_MS, Opening, POLL, Pending, Rebuilt, locked, parse_id, refused,
    rpc_err, side_of, wall_s,
};
use crate::chain::bindings::DisputeGame;
use crate::chain::rpc::RpcError;
use crate::hash::Hash;
use crate::players::client::ClientError;
use crate::players::wire::{Clocks, View};
use crate::proof::binary;
use crate::rules::transcript::Record;
use crate::rules::{DisputeState, Move, Outcome, Phase, Side};
use alloy::primitives::U256;
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;
use std::time::{Duration, Instant};

impl ChainReferee {
    pub(super) fn block_time(&self, block: u64, log: Option<&Log>) -> Result<u64, ClientError> {
        if let Some(t) = locked(&self.block_times).get(&block) {
            return Ok(*t);
        }
        let t = match log.and_then(|l| l.block_timestamp) {
            Some(t) => t,
            None => self.chain.block_time(block).map_err(rpc_err)?,
        };
        locked(&self.block_times).insert(block, t);
        Ok(t)
    }

    /// Seconds now: the latest block's time, or the wall clock where later.
    pub(super) fn now_s(&self, latest: u64) -> Result<u64, ClientError> {
        Ok(self.block_time(latest, None)?.max(wall_s()))
    }

    /// Which side this referee's account plays in a dispute.
    pub(super) fn me(&self, m: &ClaimMeta, o: &Opening) -> Option<Side> {
        let a = self.chain.address();
        if a == m.defender {
            Some(Side::Defender)
        } else if a == o.challenger {
            Some(Side::Challenger)
        } else {
            None
        }
    }

    /// Rebuilds dispute `d` of claim `id` from the logs up to the latest
    /// block and checks it against the contract's `getDispute` there. A
    /// node may answer for its latest block before that block's logs are
    /// indexed: a difference is asked again a few times before it is
    /// reported.
    pub(super) fn rebuild(&self, id: u64, d: u64) -> Result<Rebuilt, ClientError> {
        let mut tries = 0;
        loop {
            match self.rebuild_once(id, d) {
                Err(ClientError::Protocol(_)) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(POLL);
                }
                r => return r,
            }
        }
    }

    pub(super) fn rebuild_once(&self, id: u64, d: u64) -> Result<Rebuilt, ClientError> {
        let meta = self.meta(id)?;
        let opening = self.opening(id, &meta, d)?;
        let block = self.chain.block_number().map_err(rpc_err)?;
        let now_s = self.now_s(block)?;
        let c = self.record_at(d, block)?;
        // Nothing moved since the last rebuild (the contract's record is
        // still that game, `seq` included): no logs to read again.
        if let Some(r) = locked(&self.rebuilt)
            .get(&d)
            .filter(|r| cross_check(&c, &r.game).is_ok())
        {
            return Ok(Rebuilt { now_s, ..r.clone() });
        }
        let sigs = vec![
            DisputeGame::Dissected::SIGNATURE_HASH,
            DisputeGame::Picked::SIGNATURE_HASH,
            DisputeGame::Proved::SIGNATURE_HASH,
            DisputeGame::TimedOut::SIGNATURE_HASH,
        ];
        let mut logs = self.game_logs(sigs, d, opening.block, block, false)?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let t0 = opening.time_s * 1000;
        let mut game = self.open_game(&meta, t0)?;
        let mut records = Vec::new();
        let challenge = Move::Challenge { root: opening.root };
        game.apply(Side::Challenger, 0, &challenge, t0)
            .map_err(|e| ClientError::Protocol(format!("dispute {d}: the challenge: {e}")))?;
        records.push(Record {
            seq: 0,
            side: Side::Challenger,
            time_ms: t0,
            mv: challenge,
        });
        let bad = |what: String| {
            ClientError::Protocol(format!(
                "the contract and the Rust rules disagree on dispute {d} of claim {id}: {what}"
            ))
        };
        for l in &logs {
            let time_ms = self.block_time(l.block_number.unwrap_or(0), Some(l))? * 1000;
            let topic = l.topic0().copied().unwrap_or_default();
            let decode_err =
                |e: alloy::sol_types::Error| bad(format!("a log does not decode: {e}"));
            let (side, mv) = if topic == DisputeGame::Dissected::SIGNATURE_HASH {
                let e = DisputeGame::Dissected::decode_log(&l.inner).map_err(decode_err)?;
                (
                    Side::Defender,
                    Move::Dissect {
                        level: usize::from(e.level),
                        position: e.position,
                        roots: e.roots.iter().map(|r| Hash(r.0)).collect(),
                    },
                )
            } else if topic == DisputeGame::Picked::SIGNATURE_HASH {
                let e = DisputeGame::Picked::decode_log(&l.inner).map_err(decode_err)?;
                (
                    Side::Challenger,
                    Move::Pick {
                        level: usize::from(e.level),
                        position: e.position,
                        part: u64::from(e.part),
                    },
                )
            } else if topic == DisputeGame::Proved::SIGNATURE_HASH {
                let e = DisputeGame::Proved::decode_log(&l.inner).map_err(decode_err)?;
                let proof = binary::decode(&e.proof).map_err(|err| {
                    bad(format!("the proof of a Proved log does not decode: {err}"))
                })?;
                let by = if e.by == meta.defender {
                    Side::Defender
                } else {
                    Side::Challenger
                };
                let mv = Move::Proof {
                    proof: Box::new(proof),
                };
                let seq = game.seq;
                game.apply(by, seq, &mv, time_ms).map_err(|err| {
                    bad(format!(
                        "the contract accepted the proof at seq {seq}, the rules refuse it: {err}"
                    ))
                })?;
                match game.outcome() {
                    Some(Outcome::Proof {
                        winner, computed, ..
                    }) if *winner == side_of(e.winner) && computed.0 == e.computed.0 => {}
                    other => {
                        return Err(bad(format!(
                            "field `winner`/`computed`: the contract says the {} wins with 0x{}, the rules say {other:?}",
                            side_of(e.winner),
                            hex::encode(e.computed.0)
                        )));
                    }
                }
                records.push(Record {
                    seq,
                    side: by,
                    time_ms,
                    mv,
                });
                continue;
            } else if topic == DisputeGame::TimedOut::SIGNATURE_HASH {
                let e = DisputeGame::TimedOut::decode_log(&l.inner).map_err(decode_err)?;
                if !game.expire(time_ms) {
                    return Err(bad(format!(
                        "the contract timed out the {} at {time_ms} ms, the rules give it {} ms more",
                        game.turn,
                        game.time_left(game.turn, time_ms)
                    )));
                }
                if game.outcome().map(Outcome::winner) != Some(side_of(e.winner)) {
                    return Err(bad(format!(
                        "field `winner`: the contract says the {} wins on time, the rules {:?}",
                        side_of(e.winner),
                        game.outcome()
                    )));
                }
                continue;
            } else {
                continue;
            };
            let seq = game.seq;
            game.apply(side, seq, &mv, time_ms).map_err(|err| {
                bad(format!(
                    "the contract accepted a {} at seq {seq}, the rules refuse it: {err}",
                    mv.name()
                ))
            })?;
            records.push(Record {
                seq,
                side,
                time_ms,
                mv,
            });
        }
        cross_check(&c, &game).map_err(bad)?;
        let r = Rebuilt {
            game,
            records,
            opening,
            meta,
            now_s,
        };
        locked(&self.rebuilt).insert(d, r.clone());
        Ok(r)
    }

    /// Rebuilds dispute `d`, first ending it on time where a clock has run
    /// out (see the module's notes).
    pub(super) fn rebuild_live(&self, id: u64, d: u64) -> Result<Rebuilt, ClientError> {
        let r = self.rebuild(id, d)?;
        let g = &r.game;
        if g.is_over() {
            return Ok(r);
        }
        let now_ms = r.now_s * 1000;
        let left = g.time_left(g.turn, now_ms);
        let overdue = now_ms.saturating_sub(g.turn_since_ms + g.clock_ms[g.turn as usize]);
        let mine = self.me(&r.meta, &r.opening);
        let send = left == 0
            && match mine {
                Some(s) if s == g.turn => overdue >= GRACE_MS,
                Some(_) => true,
                None => false,
            };
        if !send {
            return Ok(r);
        }
        use alloy::sol_types::SolCall;
        let data = DisputeGame::timeoutCall { d: U256::from(d) }.abi_encode();
        match self.transact(data, U256::ZERO, (id.to_string(), None, None, "timeout")) {
            // Sent, or the node's clock is behind ours (ClockLeft), or
            // someone else ended it first (Over): look again.
            Ok(_) | Err(RpcError::Reverted(_)) => self.rebuild(id, d),
            Err(e) => Err(rpc_err(e)),
        }
    }

    pub(super) fn view_of(&self, id: &str, r: &Rebuilt, after_seq: Option<u64>) -> View {
        let n = r.opening.k + 1;
        View::of(id, n, &r.game, &r.records, r.now_s * 1000, after_seq, false)
    }

    pub(super) fn pending_view(&self, id: &str, cid: u64, n: u64) -> Result<View, ClientError> {
        let meta = self.meta(cid)?;
        let block = self.chain.block_number().map_err(rpc_err)?;
        let now_ms = self.now_s(block)? * 1000;
        let game = self.open_game(&meta, now_ms)?;
        Ok(View {
            id: id.to_string(),
            dispute: n,
            challenged: false,
            time_left_ms: Clocks {
                defender: game.clock_ms[0],
                challenger: game.clock_ms[1],
            },
            waiting_for: game.waiting_for(),
            game,
            recent: Vec::new(),
            queued: false,
        })
    }

    pub(super) fn view_now(
        &self,
        id: &str,
        n: u64,
        after_seq: Option<u64>,
    ) -> Result<View, ClientError> {
        let cid = parse_id(id)?;
        match self.resolve_dispute(cid, n)? {
            Pending::Open => self.pending_view(id, cid, n),
            Pending::Real(d) => Ok(self.view_of(id, &self.rebuild_live(cid, d)?, after_seq)),
            Pending::Failed(reason) => Err(refused(409, reason)),
        }
    }

    pub(super) fn long_poll<T>(
        &self,
        after_seq: Option<u64>,
        wait_ms: u64,
        mut now: impl FnMut() -> Result<T, ClientError>,
        moved: impl Fn(&T, u64) -> bool,
    ) -> Result<T, ClientError> {
        let deadline = Instant::now() + Duration::from_millis(wait_ms);
        loop {
            let v = now()?;
            match after_seq {
                Some(s) if !moved(&v, s) && Instant::now() < deadline => {
                    std::thread::sleep(
                        POLL.min(deadline.saturating_duration_since(Instant::now())),
                    );
                }
                _ => return Ok(v),
            }
        }
    }
}

/// The contract's dispute against the rebuilt game: `Err` names the first
/// field that differs.
/// `keccak256(abi.encodePacked(roots))`, the contract's record of a dissection.
fn roots_hash(roots: &[Hash]) -> Hash {
    let parts: Vec<&[u8]> = roots.iter().map(|r| &r.0[..]).collect();
    crate::hash::keccak(&parts)
}

pub(super) fn cross_check(c: &DisputeGame::Dispute, g: &DisputeState) -> Result<(), String> {
    fn field<T: PartialEq + std::fmt::Debug>(
        name: &str,
        contract: T,
        rules: T,
    ) -> Result<(), String> {
        if contract == rules {
            Ok(())
        } else {
            Err(format!(
                "field `{name}`: the contract has {contract:?}, the rules {rules:?}"
            ))
        }
    }
    field("seq", c.seq, g.seq)?;
    field(
        "clock",
        [
            c.clock[0].saturating_mul(1000),
            c.clock[1].saturating_mul(1000),
        ],
        g.clock_ms,
    )?;
    match &g.phase {
        Phase::Open => Err("the rules' game is not challenged".into()),
        Phase::Bisect(b) => {
            field("phase", c.phase, 0)?;
            field("turn", side_of(c.turn), g.turn)?;
            field("turnSince", c.turnSince * 1000, g.turn_since_ms)?;
            field("level", usize::from(c.level), b.level)?;
            field("lo", c.lo, b.lo)?;
            field("hi", c.hi, b.hi)?;
            field("base", c.base, b.base)?;
            field("unitLog2", u32::from(c.unitLog2), b.unit_log2)?;
            field("loRoot", Hash(c.loRoot.0), b.lo_root)?;
            field("hiRoot", Hash(c.hiRoot.0), b.hi_root)?;
            field("fanLog2", u32::from(c.fanLog2), b.k.max(1).ilog2())?;
            field("hasRoots", c.hasRoots, b.dissected())?;
            if b.dissected() {
                field("rootsHash", Hash(c.rootsHash.0), roots_hash(&b.roots))?;
            }
            Ok(())
        }
        Phase::Prove(d) => {
            field("phase", c.phase, 1)?;
            field("turn", side_of(c.turn), g.turn)?;
            field("turnSince", c.turnSince * 1000, g.turn_since_ms)?;
            field("t", c.t, d.t)?;
            field("loRoot", Hash(c.loRoot.0), d.root_before)?;
            field("hiRoot", Hash(c.hiRoot.0), d.root_after)
        }
        Phase::Done(o) => {
            field("phase", c.phase, 2)?;
            field("winner", side_of(c.winner), o.winner())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{chain_levels, level_bytes, levels_of};
    use super::*;
    use crate::rules::claim::Claim;
    use crate::rules::levels::{kary_levels, two_levels, with_strides};
    use alloy::primitives::Address;

    #[test]
    fn level_lists_round_trip_through_the_contracts_encoding() {
        for levels in [
            two_levels(20),
            with_strides(20, &[10, 4]),
            kary_levels(20, 16, 8),
            kary_levels(48, 64, 2),
            chain_levels(40),
        ] {
            assert_eq!(levels_of(&level_bytes(&levels)), levels);
        }
        let micro = 0x80 | crate::micro::LOG2_USTEPS as u8;
        assert_eq!(level_bytes(&two_levels(5)), vec![5, 1, micro, 1]);
        // Byte 1 is log2 k: the chain's default, k = 32 at both kinds.
        assert_eq!(level_bytes(&chain_levels(20)), vec![20, 5, micro, 5]);
        assert_eq!(level_bytes(&kary_levels(20, 16, 8)), vec![20, 4, micro, 3]);
    }

    #[test]
    fn claim_ids_are_decimal_numbers() {
        assert_eq!(parse_id("0"), Ok(0));
        assert_eq!(parse_id("42"), Ok(42));
        for bad in ["", "-1", "0x10", "1e3", "99999999999999999999"] {
            assert!(
                matches!(parse_id(bad), Err(ClientError::Refused { status: 404, .. })),
                "{bad:?}"
            );
        }
    }

    /// The contract's record of a dispute that agrees with `g`.
    fn record_of(g: &DisputeState) -> DisputeGame::Dispute {
        let Phase::Bisect(b) = &g.phase else {
            panic!("a bisection")
        };
        DisputeGame::Dispute {
            claim: U256::ZERO,
            challenger: Address::ZERO,
            phase: 0,
            turn: g.turn as u8,
            winner: 0,
            hasRoots: b.dissected(),
            hasT: b.t.is_some(),
            level: b.level as u8,
            fanLog2: b.k.ilog2() as u8,
            unitLog2: b.unit_log2 as u8,
            base: b.base,
            t: b.t.unwrap_or(0),
            lo: b.lo,
            hi: b.hi,
            turnSince: g.turn_since_ms / 1000,
            seq: g.seq,
            clock: [g.clock_ms[0] / 1000, g.clock_ms[1] / 1000],
            loRoot: b.lo_root.0.into(),
            hiRoot: b.hi_root.0.into(),
            rootsHash: if b.dissected() {
                roots_hash(&b.roots).0.into()
            } else {
                Default::default()
            },
        }
    }

    #[test]
    fn a_difference_between_the_contract_and_the_rules_names_the_field() {
        let claim = Claim {
            program: Hash::default(),
            input: Hash::default(),
            b: 5,
            final_root: Hash([7; 32]),
            status: String::new(),
            output: Hash::default(),
            halted_after: None,
        };
        let mut g = DisputeState::with_root(claim, two_levels(5), Hash([1; 32]), 60_000, 5_000)
            .expect("a game");
        g.apply(
            Side::Challenger,
            0,
            &Move::Challenge {
                root: Hash([9; 32]),
            },
            5_000,
        )
        .expect("challenge");
        g.apply(
            Side::Defender,
            1,
            &Move::Dissect {
                level: 0,
                position: 16,
                roots: vec![Hash([3; 32])],
            },
            7_000,
        )
        .expect("dissect");
        let good = record_of(&g);
        assert_eq!(cross_check(&good, &g), Ok(()));
        let mut c = good.clone();
        c.seq += 1;
        assert!(
            cross_check(&c, &g)
                .expect_err("seq")
                .starts_with("field `seq`")
        );
        let mut c = good.clone();
        c.clock[0] -= 1;
        assert!(
            cross_check(&c, &g)
                .expect_err("clock")
                .starts_with("field `clock`")
        );
        let mut c = good.clone();
        c.rootsHash = [4; 32].into();
        assert!(
            cross_check(&c, &g)
                .expect_err("roots")
                .starts_with("field `rootsHash`")
        );
        let mut c = good;
        c.lo = 1;
        assert!(
            cross_check(&c, &g)
                .expect_err("lo")
                .starts_with("field `lo`")
        );
    }
}
