//! [`RefereeApi`] on the contract: a claim, joining, moves as transactions,
//! views and transcripts.

use super::{
    ChainReferee, GasEntry, Pending, level_bytes, locked, parse_id, refused, rpc_err, small,
    status_of,
};
use crate::chain::bindings::DisputeGame;
use crate::chain::rpc::RpcError;
use crate::players::client::{ClientError, RefereeApi};
use crate::players::wire::{
    ClaimStatus, ClaimView, CreateGame, Created, Joined, MoveRequest, View,
};
use crate::proof::binary;
use crate::rules::levels::two_levels;
use crate::rules::transcript::{TRANSCRIPT_TYPE, Transcript};
use crate::rules::{DisputeState, Move};
use alloy::primitives::U256;
use alloy::sol_types::SolEvent;
use std::sync::atomic::Ordering;

impl RefereeApi for ChainReferee {
    fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        let clock_ms = self.policy.clock_ms(req.claim.b);
        let window_ms = self.policy.window_s(req.claim.b).saturating_mul(1000);
        if req.claim.b > u32::from(self.policy.max_b) {
            return Err(refused(
                400,
                format!(
                    "b = {} is beyond the contract's largest b, {}",
                    req.claim.b, self.policy.max_b
                ),
            ));
        }
        let max_input = crate::rules::policy::MAX_INPUT_BYTES;
        if req.input.len() as u64 > max_input {
            return Err(refused(
                413,
                format!(
                    "the input is {} bytes; a claim on chain carries at most {max_input}",
                    req.input.len()
                ),
            ));
        }
        if req.clock_ms.is_some_and(|c| c != clock_ms) {
            return Err(refused(
                400,
                format!(
                    "the contract's clocks are {} s each at b = {} (its deployment's policy): a claim cannot ask for other clocks",
                    clock_ms / 1000,
                    req.claim.b
                ),
            ));
        }
        if req.window_ms.is_some_and(|w| w != window_ms) {
            return Err(refused(
                400,
                format!(
                    "the contract's challenge window is {} s at b = {} (its deployment's policy): a claim cannot ask for another",
                    window_ms / 1000,
                    req.claim.b
                ),
            ));
        }
        let levels = req
            .levels
            .clone()
            .unwrap_or_else(|| two_levels(req.claim.b));
        // The program by its image (the contract derives root(S_0) from it
        // and the input's bytes).
        let program =
            crate::elf::Program::load(&req.program).map_err(|e| refused(400, e.to_string()))?;
        let image = program.image();
        let game = DisputeState::new(
            req.claim.clone(),
            &req.program,
            &req.input,
            &image,
            levels,
            clock_ms,
            0,
        )
        .map_err(|e| refused(400, e.to_string()))?;
        let b = u8::try_from(req.claim.b)
            .map_err(|_| refused(400, format!("b = {} is too large", req.claim.b)))?;
        let data = crate::chain::rpc::claim_calldata(
            &image.root,
            &image,
            &req.input,
            &req.claim.final_root,
            b,
            &level_bytes(&game.levels),
        );
        // The claim's id is in its receipt; the gas entry is named after it.
        let r = self
            .chain
            .send(Some(self.contract), data.clone(), self.policy.claim_bond)
            .map_err(rpc_err)?;
        self.sent_bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        let made = r
            .logs
            .iter()
            .find_map(|l| DisputeGame::ClaimMade::decode_log(&l.inner).ok())
            .ok_or_else(|| {
                ClientError::Protocol("no ClaimMade log in the claim's receipt".into())
            })?;
        let id = small(made.claim);
        let e = GasEntry {
            claim: id.to_string(),
            dispute: None,
            seq: None,
            what: "claim".into(),
            gas: r.gas_used,
            tx: r.hash,
        };
        if let Some(tell) = &self.on_tx {
            tell(&e);
        }
        locked(&self.gas).push(e);
        *locked(&self.own) = Some((req.program.clone(), req.input.clone()));
        let created_s = self.block_time(r.block, None)?;
        Ok(Created {
            game: id.to_string(),
            token: String::new(),
            clock_ms,
            window_ends_ms: (created_s + self.policy.window_s(req.claim.b)) * 1000,
        })
    }

    fn claim(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<ClaimView, ClientError> {
        self.long_poll(
            after_seq,
            wait_ms,
            || self.claim_now(id),
            |v, s| v.seq > s || v.status != ClaimStatus::Open,
        )
    }

    fn join(&self, id: &str) -> Result<Joined, ClientError> {
        let cid = parse_id(id)?;
        let c = self.get_claim(cid)?;
        let meta = self.meta(cid)?;
        if c.status != 1 {
            return Err(refused(
                409,
                format!("claim {id} is decided: it {}", status_of(c.status)),
            ));
        }
        let block = self.chain.block_number().map_err(rpc_err)?;
        let ends = meta.created_s + self.policy.window_s(meta.claim.b);
        if self.now_s(block)? >= ends {
            return Err(refused(
                409,
                format!("the challenge window of claim {id} has closed"),
            ));
        }
        let mut pending = locked(&self.pending);
        let mut n = u64::from(c.disputes) + 1;
        while pending.contains_key(&(cid, n)) {
            n += 1;
        }
        pending.insert((cid, n), Pending::Open);
        Ok(Joined {
            dispute: n,
            token: String::new(),
            queued: false,
        })
    }

    fn view(
        &self,
        id: &str,
        dispute: u64,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        self.long_poll(
            after_seq,
            wait_ms,
            || self.view_now(id, dispute, after_seq),
            |v, s| v.game.seq > s || v.game.is_over(),
        )
    }

    fn send(&self, id: &str, dispute: u64, req: &MoveRequest) -> Result<View, ClientError> {
        use alloy::sol_types::SolCall;
        let cid = parse_id(id)?;
        let entry = |what: &str| {
            (
                id.to_string(),
                Some(dispute),
                Some(req.seq),
                what.to_string(),
            )
        };
        let d = match self.resolve_dispute(cid, dispute)? {
            Pending::Open => {
                let Move::Challenge { root } = &req.mv else {
                    return Err(refused(
                        409,
                        format!(
                            "a {} move is not allowed now: the game waits for a challenge",
                            req.mv.name()
                        ),
                    ));
                };
                if req.seq != 0 {
                    return Err(refused(
                        409,
                        format!(
                            "stale or replayed move: it says seq {}, the game is at seq 0",
                            req.seq
                        ),
                    ));
                }
                let data = DisputeGame::challengeCall {
                    id: U256::from(cid),
                    root: root.0.into(),
                }
                .abi_encode();
                let (c, n, s, w) = entry("challenge");
                let r = match self.transact(data, self.policy.challenge_bond, (c, n, s, &w)) {
                    Ok(r) => r,
                    Err(e @ RpcError::Reverted(_)) => {
                        let reason = format!("the contract refuses the challenge: {e}");
                        locked(&self.pending)
                            .insert((cid, dispute), Pending::Failed(reason.clone()));
                        return Err(refused(400, reason));
                    }
                    Err(e) => return Err(rpc_err(e)),
                };
                let opened = r
                    .logs
                    .iter()
                    .find_map(|l| DisputeGame::Challenged::decode_log(&l.inner).ok())
                    .ok_or_else(|| {
                        ClientError::Protocol("no Challenged log in the challenge's receipt".into())
                    })?;
                let d = small(opened.dispute);
                locked(&self.pending).insert((cid, dispute), Pending::Real(d));
                return Ok(self.view_of(id, &self.rebuild(cid, d)?, Some(req.seq)));
            }
            Pending::Real(d) => d,
            Pending::Failed(reason) => return Err(refused(409, reason)),
        };
        let now = self.rebuild(cid, d)?;
        if now.game.is_over() {
            return Err(refused(
                409,
                format!("the game is over: {}", now.game.waiting_for()),
            ));
        }
        if req.seq != now.game.seq {
            return Err(refused(
                409,
                format!(
                    "stale or replayed move: it says seq {}, the game is at seq {}",
                    req.seq, now.game.seq
                ),
            ));
        }
        if self.me(&now.meta, &now.opening) != Some(req.side) {
            return Err(refused(
                403,
                format!(
                    "the account {} does not play the {} in this dispute",
                    self.chain.address(),
                    req.side
                ),
            ));
        }
        let dd = U256::from(d);
        let data = match &req.mv {
            Move::Challenge { .. } => {
                return Err(refused(
                    409,
                    "a challenge move is not allowed now: the dispute is open",
                ));
            }
            // The contract bisects in halves: a dissection of one root is
            // its midpoint, a pick of part 1 or 0 its agree or disagree.
            Move::Dissect {
                level,
                position,
                roots,
            } if roots.len() == 1 => DisputeGame::midpointCall {
                d: dd,
                level: u8::try_from(*level).unwrap_or(u8::MAX),
                position: *position,
                root: roots[0].0.into(),
            }
            .abi_encode(),
            Move::Pick {
                level,
                position,
                part: 1,
            } => DisputeGame::agreeCall {
                d: dd,
                level: u8::try_from(*level).unwrap_or(u8::MAX),
                position: *position,
            }
            .abi_encode(),
            Move::Pick {
                level,
                position,
                part: 0,
            } => DisputeGame::disagreeCall {
                d: dd,
                level: u8::try_from(*level).unwrap_or(u8::MAX),
                position: *position,
            }
            .abi_encode(),
            Move::Dissect { .. } | Move::Pick { .. } => {
                return Err(refused(
                    409,
                    "the contract bisects in halves: one root per dissection, part 0 or 1",
                ));
            }
            Move::Proof { proof } => DisputeGame::proveCall {
                d: dd,
                proof: binary::encode(proof).into(),
            }
            .abi_encode(),
        };
        // The contract's names of the binary moves.
        let (c, n, s, w) = entry(match &req.mv {
            Move::Dissect { .. } => "midpoint",
            Move::Pick { part: 1, .. } => "agree",
            Move::Pick { .. } => "disagree",
            mv => mv.name(),
        });
        self.transact(data, U256::ZERO, (c, n, s, &w))
            .map_err(rpc_err)?;
        Ok(self.view_of(id, &self.rebuild(cid, d)?, Some(req.seq)))
    }

    fn transcript(&self, id: &str, dispute: u64) -> Result<Transcript, ClientError> {
        let cid = parse_id(id)?;
        let d = match self.resolve_dispute(cid, dispute)? {
            Pending::Real(d) => d,
            _ => {
                return Err(refused(
                    409,
                    format!("dispute {dispute} of claim {id} has not been opened"),
                ));
            }
        };
        let r = self.rebuild(cid, d)?;
        let (program, input) = locked(&self.own)
            .clone()
            .ok_or_else(|| {
                ClientError::Protocol(
                    "the chain does not hold the program's bytes: the referee needs the player's program and input for a transcript".into(),
                )
            })?;
        Ok(Transcript {
            kind: TRANSCRIPT_TYPE.into(),
            version: crate::rules::transcript::TRANSCRIPT_VERSION,
            game: id.to_string(),
            dispute: r.opening.k + 1,
            claim: r.meta.claim.clone(),
            program,
            input,
            levels: r.meta.levels.clone(),
            clock_ms: self.policy.clock_ms(r.meta.claim.b),
            created_ms: r.opening.time_s * 1000,
            moves: r.records,
            outcome: r.game.outcome().cloned(),
        })
    }

    fn bytes(&self) -> u64 {
        self.sent_bytes.load(Ordering::Relaxed)
    }
}
