//! Whether a deployment is this repository's contracts: the players check
//! it before any transaction that carries value, and refuse otherwise.
//!
//! A contract's runtime code holds its immutables (the game's verifier,
//! policy and bonds; the verifier's data contract) at offsets the compiler
//! reports; the committed artifacts keep the runtime code with zeros there
//! and the offsets (`deployedBytecode`, `immutables`). The **canonical code
//! hash** of a deployment is keccak256 of its runtime code with those
//! ranges zeroed: equal to the artifact's, the code is ours whatever its
//! immutables, and its own views then tell the immutables truly. So a
//! player checks, in order:
//!
//! 1. the game's canonical code hash;
//! 2. the verifier it names (`verifier()`): its canonical code hash;
//! 3. the verifier's data contract (`DATA()`): its whole code, a `STOP`
//!    byte then this build's zero table and microcode (no immutables);
//! 4. the game's policy (`clockSeconds`, `windowSeconds`, `margin`,
//!    `minSpeed`, `maxB`) against the limits of `verify/src/rules/policy.rs`
//!    (a creation code other than ours could have set values the
//!    constructor refuses).

use super::bindings::{DISPUTE_GAME_JSON, DisputeGame, STEP_VERIFIER_JSON, StepVerifier};
use super::rpc::{Chain, RpcError};
use crate::rules::policy::{ChainPolicy, PolicyError};
use alloy::primitives::{Address, B256, keccak256};
use serde_json::Value;

/// Why a deployment is not ours.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    /// No code at the address.
    #[error("there is no contract at {addr} ({what})")]
    NoCode {
        /// Which contract was expected.
        what: &'static str,
        /// Where.
        addr: Address,
    },
    /// Code that is not this build's.
    #[error(
        "the {what} at {addr} is not this build's: its code hash (immutables zeroed) is {found}, this build's is {want}"
    )]
    Code {
        /// Which contract.
        what: &'static str,
        /// Where.
        addr: Address,
        /// Its canonical code hash.
        found: B256,
        /// This build's.
        want: B256,
    },
    /// A policy outside the limits.
    #[error("the game at {addr} has a policy no player can win under: {source}")]
    Policy {
        /// The game.
        addr: Address,
        /// What is wrong.
        source: PolicyError,
    },
    /// The node failed.
    #[error("{0}")]
    Rpc(#[from] RpcError),
}

/// A contract of this build as its artifact gives it.
pub struct Artifact {
    /// Runtime code with zeros at the immutables.
    pub runtime: Vec<u8>,
    /// Where the immutables are: `(start, length)`.
    pub immutables: Vec<(usize, usize)>,
}

impl Artifact {
    fn of(json: &str) -> Artifact {
        let v: Value = serde_json::from_str(json).expect("a committed artifact is JSON");
        let code = v["deployedBytecode"]
            .as_str()
            .expect("a committed artifact has its runtime code");
        let runtime = hex::decode(code.trim_start_matches("0x")).expect("the code is hex");
        let immutables = v["immutables"]
            .as_array()
            .expect("a committed artifact lists its immutables")
            .iter()
            .map(|r| {
                let n = |i: usize| r[i].as_u64().expect("an offset") as usize;
                (n(0), n(1))
            })
            .collect();
        Artifact {
            runtime,
            immutables,
        }
    }

    /// The `DisputeGame`'s.
    pub fn game() -> Artifact {
        Artifact::of(DISPUTE_GAME_JSON)
    }

    /// The `StepVerifier`'s.
    pub fn verifier() -> Artifact {
        Artifact::of(STEP_VERIFIER_JSON)
    }

    /// This build's canonical code hash.
    pub fn code_hash(&self) -> B256 {
        keccak256(&self.runtime)
    }

    /// The canonical code hash of deployed `code`: keccak256 with the
    /// immutables' ranges zeroed (of code of another length: of the code
    /// as it is, which cannot match).
    pub fn masked_hash(&self, code: &[u8]) -> B256 {
        if code.len() != self.runtime.len() {
            return keccak256(code);
        }
        let mut c = code.to_vec();
        for &(start, len) in &self.immutables {
            if let Some(r) = c.get_mut(start..start + len) {
                r.fill(0);
            }
        }
        keccak256(&c)
    }
}

/// The runtime code of this build's microcode data contract.
pub fn data_code() -> Vec<u8> {
    let mut code = vec![0x00];
    code.extend_from_slice(&super::solidity::verifier_data(
        crate::micro::microcode::microcode(),
    ));
    code
}

/// The three code hashes a deployment of this build has (what `deploy
/// --json` prints and the README tells how to check by hand).
pub fn code_hashes() -> [(&'static str, B256); 3] {
    [
        ("game", Artifact::game().code_hash()),
        ("verifier", Artifact::verifier().code_hash()),
        ("data", keccak256(data_code())),
    ]
}

/// A deployment found to be ours.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The step verifier.
    pub verifier: Address,
    /// Its data contract.
    pub data: Address,
    /// The game's policy.
    pub policy: ChainPolicy,
}

fn check_code(
    chain: &Chain,
    what: &'static str,
    addr: Address,
    art: &Artifact,
) -> Result<(), CanonicalError> {
    let code = chain.code(addr)?;
    if code.is_empty() {
        return Err(CanonicalError::NoCode { what, addr });
    }
    let found = art.masked_hash(&code);
    let want = art.code_hash();
    if found != want {
        return Err(CanonicalError::Code {
            what,
            addr,
            found,
            want,
        });
    }
    Ok(())
}

/// Checks that `game` is this build's `DisputeGame` over this build's
/// verifier and data, with a policy inside the limits (see the module).
/// Only views: nothing is sent.
pub fn check_game(chain: &Chain, game: Address) -> Result<Checked, CanonicalError> {
    check_code(chain, "DisputeGame", game, &Artifact::game())?;
    let verifier = chain.view(game, &DisputeGame::verifierCall {}, None)?;
    check_code(chain, "StepVerifier", verifier, &Artifact::verifier())?;
    let data = chain.view(verifier, &StepVerifier::DATACall {}, None)?;
    let code = chain.code(data)?;
    if code.is_empty() {
        return Err(CanonicalError::NoCode {
            what: "microcode data contract",
            addr: data,
        });
    }
    let want = data_code();
    if code != want {
        return Err(CanonicalError::Code {
            what: "microcode data contract",
            addr: data,
            found: keccak256(&code),
            want: keccak256(&want),
        });
    }
    let policy = ChainPolicy {
        clock_base: chain.view(game, &DisputeGame::clockSecondsCall {}, None)?,
        window_base: chain.view(game, &DisputeGame::windowSecondsCall {}, None)?,
        margin: chain.view(game, &DisputeGame::marginCall {}, None)?,
        min_speed: chain.view(game, &DisputeGame::minSpeedCall {}, None)?,
        max_b: u32::from(chain.view(game, &DisputeGame::maxBCall {}, None)?),
    };
    policy
        .check()
        .map_err(|source| CanonicalError::Policy { addr: game, source })?;
    Ok(Checked {
        verifier,
        data,
        policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artifacts_runtime_is_zero_at_its_immutables() {
        for a in [Artifact::game(), Artifact::verifier()] {
            assert!(!a.immutables.is_empty());
            for &(s, l) in &a.immutables {
                assert!(a.runtime[s..s + l].iter().all(|b| *b == 0));
            }
            // Any value at the immutables gives the same canonical hash;
            // a changed byte elsewhere does not.
            let mut c = a.runtime.clone();
            let (s, _) = a.immutables[0];
            c[s + 31] = 0x42;
            assert_eq!(a.masked_hash(&c), a.code_hash());
            let other = (0..c.len())
                .find(|i| !a.immutables.iter().any(|&(s, l)| (s..s + l).contains(i)))
                .expect("code outside the immutables");
            c[other] ^= 1;
            assert_ne!(a.masked_hash(&c), a.code_hash());
            c.push(0);
            assert_ne!(a.masked_hash(&c), a.code_hash());
        }
    }
}
