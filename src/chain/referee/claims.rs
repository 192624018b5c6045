//! The claims and their disputes as the contract holds them: the claim's
//! record and `ClaimMade` log, the disputes' openings, the claim's view,
//! and the bonds (credit, collect, withdraw).

use super::{
    CLAIM_WAIT, ChainReferee, ClaimMeta, Opening, POLL, Pending, levels_of, locked, parse_id,
    refused, rpc_err, side_of, small, status_of,
};
use crate::chain::bindings::DisputeGame;
use crate::chain::rpc::RpcError;
use crate::hash::Hash;
use crate::players::client::ClientError;
use crate::players::wire::{ClaimStatus, ClaimView, DisputeSummary};
use crate::rules::DisputeState;
use crate::rules::claim::Claim;
use alloy::primitives::{Address, U256};
use alloy::sol_types::SolEvent;

impl ChainReferee {
    /// What `credit(a)` says this account may withdraw, wei.
    pub fn credit(&self, who: Address) -> Result<U256, ClientError> {
        self.chain
            .view(
                self.contract,
                &<DisputeGame::creditCall as alloy::sol_types::SolCall>::new((who,)),
                None,
            )
            .map_err(rpc_err)
    }

    /// The contract's record of dispute `d` at block `block`.
    pub(super) fn record_at(
        &self,
        d: u64,
        block: u64,
    ) -> Result<DisputeGame::Dispute, ClientError> {
        self.chain
            .view(
                self.contract,
                &DisputeGame::getDisputeCall { d: U256::from(d) },
                Some(block),
            )
            .map_err(rpc_err)
    }

    /// Collects this account's rewards from the claim bond of claim `claim`
    /// (one per dispute of its that refuted the claim): the contract pays
    /// them once the window has closed and every dispute is decided, so
    /// this waits for that, sending `timeout` to any dispute whose side on
    /// turn has run out of time (a stalled dispute cannot hold the rewards
    /// back). Returns the number of rewards collected; nothing is done for a
    /// claim that has not fallen or that this account did not refute.
    pub fn collect(&self, claim: &str) -> Result<u64, ClientError> {
        use alloy::sol_types::SolCall;
        let cid = parse_id(claim)?;
        let meta = self.meta(cid)?;
        let me = self.chain.address();
        loop {
            let c = self.get_claim(cid)?;
            if c.status != 3 {
                return Ok(0);
            }
            let block = self.chain.block_number().map_err(rpc_err)?;
            let mut mine = Vec::new();
            let mut stalled = Vec::new();
            for o in self.openings(cid, &meta, block)? {
                let g = self.record_at(o.d, block)?;
                if g.phase == 2 {
                    if g.winner == 1 && o.challenger == me {
                        mine.push(o.d);
                    }
                    continue;
                }
                // By our time (a dev node's latest block may be old).
                let clock = g.clock[usize::from(g.turn & 1)];
                if g.turnSince.saturating_add(clock) <= self.now_s(block)? {
                    stalled.push(o.d);
                }
            }
            if mine.is_empty() {
                return Ok(0);
            }
            let ends = meta.created_s + self.policy.window_s(meta.claim.b);
            if c.undecided == 0 && self.now_s(block)? >= ends {
                let mut n = 0;
                for d in mine {
                    let data = DisputeGame::collectCall { d: U256::from(d) }.abi_encode();
                    match self.transact(
                        data,
                        U256::ZERO,
                        (claim.to_string(), None, None, "collect"),
                    ) {
                        Ok(_) => n += 1,
                        // Collected already (NoShare), or the node's clock
                        // is behind ours (WindowOpen): asked again below.
                        Err(RpcError::Reverted(d)) => {
                            let why = crate::chain::bindings::describe_revert(&d);
                            if !why.starts_with("NoShare") {
                                std::thread::sleep(POLL);
                                return self.collect(claim).map(|k| k + n);
                            }
                        }
                        Err(e) => return Err(rpc_err(e)),
                    }
                }
                return Ok(n);
            }
            for d in stalled {
                let data = DisputeGame::timeoutCall { d: U256::from(d) }.abi_encode();
                match self.transact(data, U256::ZERO, (claim.to_string(), None, None, "timeout")) {
                    // Someone else ended it first, or the node's time lags.
                    Ok(_) | Err(RpcError::Reverted(_)) => {}
                    Err(e) => return Err(rpc_err(e)),
                }
            }
            std::thread::sleep(POLL * 5);
        }
    }

    /// Withdraws this account's credit (nothing is sent when it is 0),
    /// after collecting its rewards from the claim bond of `claim`
    /// ([`ChainReferee::collect`]); returns the amount, wei.
    pub fn withdraw(&self, claim: &str) -> Result<U256, ClientError> {
        self.collect(claim)?;
        let amount = self.credit(self.chain.address())?;
        if amount.is_zero() {
            return Ok(amount);
        }
        use alloy::sol_types::SolCall;
        self.transact(
            DisputeGame::withdrawCall {}.abi_encode(),
            U256::ZERO,
            (claim.to_string(), None, None, "withdraw"),
        )
        .map_err(rpc_err)?;
        Ok(amount)
    }

    /// The input's bytes of claim `id`, from its `ClaimMade` log (checked
    /// against the input hash in the same log): with the program, all a
    /// challenger needs to rebuild the run.
    pub fn claim_input(&self, id: &str) -> Result<Vec<u8>, ClientError> {
        let cid = parse_id(id)?;
        let m = self.meta(cid)?;
        let logs = self.game_logs(
            DisputeGame::ClaimMade::SIGNATURE_HASH,
            cid,
            m.block,
            m.block,
            true,
        )?;
        let made = logs
            .iter()
            .find_map(|l| DisputeGame::ClaimMade::decode_log(&l.inner).ok())
            .ok_or_else(|| ClientError::Protocol(format!("no ClaimMade log for claim {cid}")))?;
        let input = made.data.inputBytes.to_vec();
        if crate::hash::keccak(&[&input]).0 != made.data.input.0 {
            return Err(ClientError::Protocol(format!(
                "claim {cid}: the input in its log does not hash to its input hash"
            )));
        }
        Ok(input)
    }

    /// The contract's numbers of claims and of disputes.
    pub fn counts(&self) -> Result<(u64, u64), ClientError> {
        let c = self
            .chain
            .view(self.contract, &DisputeGame::countsCall {}, None)
            .map_err(rpc_err)?;
        Ok((small(c._0), small(c._1)))
    }

    /// The claim's status on the contract.
    pub fn status(&self, id: &str) -> Result<ClaimStatus, ClientError> {
        let c = self.get_claim(parse_id(id)?)?;
        Ok(status_of(c.status))
    }

    pub(super) fn get_claim(&self, id: u64) -> Result<DisputeGame::Claim, ClientError> {
        // The next claim to be made (a challenger started with its
        // defender, as in the README's walkthrough) is waited for, up to
        // the node's patience (--connect-timeout) or CLAIM_WAIT; an id
        // further on is refused at once.
        let start = std::time::Instant::now();
        let bound = self.chain.patience.unwrap_or(CLAIM_WAIT).min(CLAIM_WAIT);
        let mut told = false;
        loop {
            let r = self.chain.view(
                self.contract,
                &DisputeGame::getClaimCall { id: U256::from(id) },
                None,
            );
            if !matches!(r, Err(RpcError::Reverted(_))) || start.elapsed() >= bound {
                break self.claim_or_refusal(id, r);
            }
            let made = self
                .chain
                .view(self.contract, &DisputeGame::countsCall {}, None)
                .map_err(rpc_err)?
                ._0;
            if U256::from(id) > made {
                break self.claim_or_refusal(id, r);
            }
            if U256::from(id) < made {
                // Made between the two reads: read it again at once.
                continue;
            }
            if !told {
                told = true;
                if let Some(tell) = &self.chain.on_wait {
                    tell(&format!(
                        "waiting for claim {id} to be made on the contract at {} (up to {} s)",
                        self.contract,
                        bound.as_secs()
                    ));
                }
            }
            std::thread::sleep(POLL);
        }
    }

    pub(super) fn claim_or_refusal(
        &self,
        id: u64,
        r: Result<DisputeGame::Claim, RpcError>,
    ) -> Result<DisputeGame::Claim, ClientError> {
        match r {
            Ok(c) => Ok(c),
            Err(RpcError::Reverted(d)) => Err(refused(
                404,
                format!(
                    "no claim {id} on the contract at {} ({})",
                    self.contract,
                    crate::chain::bindings::describe_revert(&d)
                ),
            )),
            Err(e) => Err(rpc_err(e)),
        }
    }

    pub(super) fn meta(&self, id: u64) -> Result<ClaimMeta, ClientError> {
        if let Some(m) = locked(&self.claims).get(&id) {
            return Ok(m.clone());
        }
        let c = self.get_claim(id)?;
        // The claim was made in the first block of its time (or a later
        // one of the same second, where a dev node gives several blocks
        // one time): found by bisection, then its log from there on.
        let latest = self.chain.block_number().map_err(rpc_err)?;
        let from = self
            .chain
            .first_block_at(c.createdAt, latest)
            .map_err(rpc_err)?;
        let logs = self.game_logs(
            DisputeGame::ClaimMade::SIGNATURE_HASH,
            id,
            from,
            latest,
            true,
        )?;
        let (block, made) = logs
            .first()
            .and_then(|l| {
                let made = DisputeGame::ClaimMade::decode_log(&l.inner).ok()?;
                Some((l.block_number?, made.data))
            })
            .ok_or_else(|| ClientError::Protocol(format!("no ClaimMade log for claim {id}")))?;
        // The contract keeps the program's image root and the input's hash
        // in this log only (root(S_0), which it stores, binds both).
        // The chain names the program by its image root; a player that
        // plays a program of that image sees the program's own hash (the
        // claim is about it), any other the image root (which differs).
        let image = Hash(made.program.0);
        let program = match &*locked(&self.own) {
            Some((elf, _)) => match crate::elf::Program::load(elf) {
                Ok(p) if p.image().root == image => p.hash,
                _ => image,
            },
            None => image,
        };
        let m = ClaimMeta {
            claim: Claim {
                program,
                input: Hash(made.input.0),
                b: u32::from(c.b),
                final_root: Hash(c.finalRoot.0),
                status: String::new(),
                output: Hash::default(),
                halted_after: None,
            },
            levels: levels_of(&c.levels),
            initial_root: Hash(c.initialRoot.0),
            defender: c.defender,
            created_s: c.createdAt,
            block,
        };
        locked(&self.claims).insert(id, m.clone());
        Ok(m)
    }

    /// The claim's game before any challenge.
    pub(super) fn open_game(
        &self,
        m: &ClaimMeta,
        now_ms: u64,
    ) -> Result<DisputeState, ClientError> {
        DisputeState::with_root(
            m.claim.clone(),
            m.levels.clone(),
            m.initial_root,
            self.policy.clock_ms(m.claim.b),
            now_ms,
        )
        .map_err(|e| {
            ClientError::Protocol(format!(
                "the contract holds a claim the Rust rules refuse: {e}"
            ))
        })
    }

    /// The disputes of claim `id` opened by block `to`.
    pub(super) fn openings(
        &self,
        id: u64,
        m: &ClaimMeta,
        to: u64,
    ) -> Result<Vec<Opening>, ClientError> {
        let logs = self.game_logs(
            DisputeGame::Challenged::SIGNATURE_HASH,
            id,
            m.block,
            to,
            false,
        )?;
        let mut out = Vec::new();
        for l in &logs {
            let e = DisputeGame::Challenged::decode_log(&l.inner)
                .map_err(|e| ClientError::Protocol(format!("a Challenged log: {e}")))?;
            let block = l.block_number.unwrap_or(0);
            let o = Opening {
                d: small(e.dispute),
                k: small(e.index),
                challenger: e.challenger,
                root: Hash(e.root.0),
                block,
                time_s: self.block_time(block, Some(l))?,
            };
            locked(&self.openings).insert(o.d, o.clone());
            out.push(o);
        }
        out.sort_by_key(|o| o.k);
        Ok(out)
    }

    /// The opening of global dispute `d` of claim `id`.
    pub(super) fn opening(&self, id: u64, m: &ClaimMeta, d: u64) -> Result<Opening, ClientError> {
        if let Some(o) = locked(&self.openings).get(&d) {
            return Ok(o.clone());
        }
        let to = self.chain.block_number().map_err(rpc_err)?;
        self.openings(id, m, to)?
            .into_iter()
            .find(|o| o.d == d)
            .ok_or_else(|| ClientError::Protocol(format!("no Challenged log for dispute {d}")))
    }

    /// Where the caller's dispute `n` of claim `id` is: pending, or the
    /// contract's dispute.
    pub(super) fn resolve_dispute(&self, id: u64, n: u64) -> Result<Pending, ClientError> {
        if let Some(p) = locked(&self.pending).get(&(id, n)) {
            return match p {
                Pending::Failed(reason) => Err(refused(
                    409,
                    format!("dispute {n} of claim {id} was never opened: {reason}"),
                )),
                p => Ok(p.clone()),
            };
        }
        if n == 0 {
            return Err(refused(
                404,
                format!("no dispute 0 of claim {id}: disputes are numbered from 1"),
            ));
        }
        match self.chain.view(
            self.contract,
            &DisputeGame::disputeOfCall {
                id: U256::from(id),
                k: U256::from(n - 1),
            },
            None,
        ) {
            Ok(d) => Ok(Pending::Real(small(d))),
            Err(RpcError::Reverted(_)) => {
                Err(refused(404, format!("no dispute {n} of claim {id}")))
            }
            Err(e) => Err(rpc_err(e)),
        }
    }

    pub(super) fn claim_now(&self, id: &str) -> Result<ClaimView, ClientError> {
        let cid = parse_id(id)?;
        let mut c = self.get_claim(cid)?;
        let meta = self.meta(cid)?;
        let block = self.chain.block_number().map_err(rpc_err)?;
        let now_s = self.now_s(block)?;
        let ends_s = meta.created_s + self.policy.window_s(meta.claim.b);
        if c.status == 1
            && now_s >= ends_s
            && c.undecided == 0
            && self.chain.address() == meta.defender
        {
            use alloy::sol_types::SolCall;
            let data = DisputeGame::resolveCall {
                id: U256::from(cid),
            }
            .abi_encode();
            match self.transact(data, U256::ZERO, (id.to_string(), None, None, "resolve")) {
                // The node's clock may be behind ours (WindowOpen): later.
                Ok(_) | Err(RpcError::Reverted(_)) => c = self.get_claim(cid)?,
                Err(e) => return Err(rpc_err(e)),
            }
        }
        let block = self.chain.block_number().map_err(rpc_err)?;
        let mut disputes = Vec::new();
        let mut ended = 0u64;
        for o in self.openings(cid, &meta, block)? {
            let g = self.record_at(o.d, block)?;
            let done = g.phase == 2;
            ended += u64::from(done);
            disputes.push(DisputeSummary {
                dispute: o.k + 1,
                phase: match g.phase {
                    0 => "bisect",
                    1 => "prove",
                    _ => "done",
                }
                .into(),
                seq: g.seq,
                winner: done.then(|| side_of(g.winner)),
                outcome: None,
            });
        }
        let status = status_of(c.status);
        let closed = now_s >= ends_s;
        Ok(ClaimView {
            id: id.to_string(),
            claim: meta.claim.clone(),
            levels: meta.levels.clone(),
            initial_root: meta.initial_root,
            clock_ms: self.policy.clock_ms(meta.claim.b),
            created_ms: meta.created_s * 1000,
            window_ends_ms: ends_s * 1000,
            window_left_ms: ends_s.saturating_sub(now_s) * 1000,
            status,
            seq: disputes.len() as u64
                + ended
                + u64::from(closed)
                + u64::from(status != ClaimStatus::Open),
            disputes_total: disputes.len() as u64,
            disputes,
        })
    }
}
