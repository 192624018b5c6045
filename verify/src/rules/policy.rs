//! The limits of a claim and of a deployment, and the clock and window as a
//! function of `b`: one source for the HTTP referee, the contracts (written
//! into `contracts/src/Generated.sol` as the library `Policy`, see
//! `src/chain/solidity.rs` in the `mswap` crate) and the players, which refuse a deployment
//! outside them.
//!
//! Re-executing `2^b` steps at `min_speed` steps per second takes
//! `r(b) = ceil(2^b * unit / min_speed)` in units of `1 / unit` seconds
//! (the HTTP referee counts milliseconds, `unit` = 1000; the contract
//! seconds, `unit` = 1). Each side's clock in a dispute is
//! `clock_base + margin * r(b)` and the challenge window
//! `window_base + margin * r(b)` ([`scaled`]): the window covers a
//! challenger's re-execution before it disputes, the clock the honest
//! side's replays during the bisection plus the network.

/// The largest `b` a claim may have: the players keep a root per
/// checkpoint of a run of `2^b` steps and the contract's record counts
/// positions in 64 bits.
pub const MAX_B: u32 = 48;

/// The largest fan-out of a level: a round splits its interval into at
/// most `MAX_FAN` parts, so a move carries at most `MAX_FAN - 1` roots
/// (the HTTP referee's body limit and the contract's calldata both take
/// that many).
pub const MAX_FAN: u32 = 64;

/// The largest input a claim on chain may carry, bytes (its bytes are in
/// the claim's calldata and its event, and the contract hashes them).
pub const MAX_INPUT_BYTES: u64 = 64 * 1024;

/// The shortest clock base a deployment may set, seconds: a player must
/// see the opponent's move and have its own mined.
pub const MIN_CLOCK_SECONDS: u64 = 10;

/// The shortest window base a deployment may set, seconds: a challenger
/// must see the claim and have its challenge mined.
pub const MIN_WINDOW_SECONDS: u64 = 5;

/// The smallest margin (re-executions of `2^b` steps a clock allows).
pub const MIN_MARGIN: u64 = 1;

/// The largest margin.
pub const MAX_MARGIN: u64 = 1000;

/// The longest clock or window, seconds (the contract keeps clocks in 48
/// bits: 8.9 million years).
pub const MAX_SECONDS: u64 = (1 << 48) - 1;

/// The fastest re-execution a deployment may assume, steps per second:
/// a deployment that assumes faster players gives clocks the players
/// cannot keep.
pub const MAX_MIN_SPEED: u64 = 100_000_000;

/// The longest clock or window base, seconds (about 34 years).
pub const MAX_BASE_SECONDS: u64 = 1 << 30;

/// Gas per transaction of each move on chain, the largest the gas bench
/// measures (`cargo bench --bench gas`, contracts/README.md): what the
/// bonds must pay for.
pub mod gas {
    /// A claim (it derives `root(S_0)` and carries a short input).
    pub const CLAIM: u64 = 169_600;
    /// A challenge.
    pub const CHALLENGE: u64 = 162_200;
    /// A dissection of a round of two parts (its one root; the first of a
    /// dispute). A round of `p` parts costs more (at `p = 32` at most
    /// 79.9k) but narrows `log2 p` units: per unit, two parts cost most.
    pub const DISSECT: u64 = 56_400;
    /// A pick of a round of two parts (the one that ends a level; a
    /// round's last in a level of fan-out 4 measures 64.1k).
    pub const PICK: u64 = 64_200;
    /// The step proof.
    pub const PROVE: u64 = 81_600;
    /// A timeout.
    pub const TIMEOUT: u64 = 61_700;
    /// Settling a claim that stands.
    pub const RESOLVE: u64 = 37_800;
    /// Collecting a reward from the claim bond.
    pub const COLLECT: u64 = 44_700;
    /// A withdrawal.
    pub const WITHDRAW: u64 = 35_000;
}

/// The most bisection rounds a dispute over `2^b` steps can have: one per
/// halving of the steps and of the micro-steps, as in a binary level list
/// (a claim chooses its levels; a round of `p` parts narrows `log2 p`
/// units, so no list has more rounds, nor more gas per unit narrowed).
pub fn rounds(b: u32) -> u64 {
    u64::from(b) + u64::from(crate::micro::LOG2_USTEPS)
}

/// The most gas an honest defender spends on one dispute of a claim over
/// `2^b` steps: a dissection every round, the proof or a timeout, a
/// withdrawal.
pub fn defender_gas(b: u32) -> u64 {
    rounds(b) * gas::DISSECT + gas::PROVE + gas::TIMEOUT + gas::WITHDRAW
}

/// The most gas an honest challenger spends refuting a claim over `2^b`
/// steps: the challenge, a pick every round, the proof or a timeout,
/// collecting its share, a withdrawal.
pub fn challenger_gas(b: u32) -> u64 {
    gas::CHALLENGE
        + rounds(b) * gas::PICK
        + gas::PROVE
        + gas::TIMEOUT
        + gas::COLLECT
        + gas::WITHDRAW
}

/// How many rewards the default claim bond holds: each dispute that
/// refutes a claim is rewarded one challenge bond from it (the rest is
/// burnt), in full while at most this many disputes refute the claim.
pub const CLAIM_SHARES: u64 = 4;

/// The default bonds of a deployment whose largest `b` is `max_b`, at
/// `gas_price` wei per gas: `(claim bond, challenge bond)`. The challenge
/// bond pays the gas of the larger side of one dispute (the challenger's):
/// a griefer that loses pays the honest defender's gas, and the reward a
/// refuting dispute takes from the claim bond (one challenge bond) pays an
/// honest challenger's. The claim bond holds [`CLAIM_SHARES`] rewards.
pub fn bonds(max_b: u32, gas_price: u128) -> (u128, u128) {
    let most = defender_gas(max_b).max(challenger_gas(max_b));
    let challenge = u128::from(most).saturating_mul(gas_price);
    let claim = challenge.saturating_mul(u128::from(CLAIM_SHARES));
    (claim, challenge)
}

/// `ceil(2^b * unit / min_speed)`: re-executing `2^b` steps at `min_speed`
/// steps per second, in units of `1 / unit` seconds (saturating).
pub fn reexec(b: u32, min_speed: u64, unit: u64) -> u64 {
    let steps = 1u128 << b.min(64);
    let t = (steps * unit as u128).div_ceil(min_speed.max(1) as u128);
    t.min(u64::MAX as u128) as u64
}

/// `base + margin * reexec(b, min_speed, unit)` (saturating): a clock or a
/// window for a claim over `2^b` steps.
pub fn scaled(base: u64, margin: u64, min_speed: u64, b: u32, unit: u64) -> u64 {
    base.saturating_add(margin.saturating_mul(reexec(b, min_speed, unit)))
}

/// A deployment's rules of time on chain, seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainPolicy {
    /// Clock base per side, seconds.
    pub clock_base: u64,
    /// Window base, seconds.
    pub window_base: u64,
    /// Re-executions of `2^b` steps the clock and window each allow.
    pub margin: u64,
    /// The slowest machine A allowed for, steps per second.
    pub min_speed: u64,
    /// The largest `b`.
    pub max_b: u32,
}

/// Why a deployment's policy is refused (the constructor's errors of the
/// same names).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `max_b` out of range.
    #[error("the largest b is {max_b}; it must be from 1 to {limit}")]
    MaxB {
        /// The deployment's.
        max_b: u32,
        /// [`MAX_B`].
        limit: u32,
    },
    /// A clock base out of range.
    #[error("the clock base is {seconds} s; it must be from {min} to {max} s")]
    Clock {
        /// The deployment's.
        seconds: u64,
        /// [`MIN_CLOCK_SECONDS`].
        min: u64,
        /// [`MAX_BASE_SECONDS`].
        max: u64,
    },
    /// A window base out of range.
    #[error("the window base is {seconds} s; it must be from {min} to {max} s")]
    Window {
        /// The deployment's.
        seconds: u64,
        /// [`MIN_WINDOW_SECONDS`].
        min: u64,
        /// [`MAX_BASE_SECONDS`].
        max: u64,
    },
    /// A margin out of range.
    #[error("the margin is {margin}; it must be from {min} to {max}")]
    Margin {
        /// The deployment's.
        margin: u64,
        /// [`MIN_MARGIN`].
        min: u64,
        /// [`MAX_MARGIN`].
        max: u64,
    },
    /// A speed out of range.
    #[error("the slowest speed allowed for is {speed} steps/s; it must be from 1 to {max}")]
    Speed {
        /// The deployment's.
        speed: u64,
        /// [`MAX_MIN_SPEED`].
        max: u64,
    },
    /// The clock or the window at the largest `b` is too long to count.
    #[error("at b = {b} the clock or the window would be {seconds} s, beyond {max} s")]
    TooLong {
        /// The deployment's largest `b`.
        b: u32,
        /// The longer of the two.
        seconds: u64,
        /// [`MAX_SECONDS`].
        max: u64,
    },
}

impl ChainPolicy {
    /// Checks the policy against the limits (as the constructor does).
    pub fn check(&self) -> Result<(), PolicyError> {
        if self.max_b == 0 || self.max_b > MAX_B {
            return Err(PolicyError::MaxB {
                max_b: self.max_b,
                limit: MAX_B,
            });
        }
        if !(MIN_CLOCK_SECONDS..=MAX_BASE_SECONDS).contains(&self.clock_base) {
            return Err(PolicyError::Clock {
                seconds: self.clock_base,
                min: MIN_CLOCK_SECONDS,
                max: MAX_BASE_SECONDS,
            });
        }
        if !(MIN_WINDOW_SECONDS..=MAX_BASE_SECONDS).contains(&self.window_base) {
            return Err(PolicyError::Window {
                seconds: self.window_base,
                min: MIN_WINDOW_SECONDS,
                max: MAX_BASE_SECONDS,
            });
        }
        if !(MIN_MARGIN..=MAX_MARGIN).contains(&self.margin) {
            return Err(PolicyError::Margin {
                margin: self.margin,
                min: MIN_MARGIN,
                max: MAX_MARGIN,
            });
        }
        if self.min_speed == 0 || self.min_speed > MAX_MIN_SPEED {
            return Err(PolicyError::Speed {
                speed: self.min_speed,
                max: MAX_MIN_SPEED,
            });
        }
        let longest = self.clock(self.max_b).max(self.window(self.max_b));
        if longest > MAX_SECONDS {
            return Err(PolicyError::TooLong {
                b: self.max_b,
                seconds: longest,
                max: MAX_SECONDS,
            });
        }
        Ok(())
    }

    /// Each side's clock in a dispute of a claim over `2^b` steps, seconds.
    pub fn clock(&self, b: u32) -> u64 {
        scaled(self.clock_base, self.margin, self.min_speed, b, 1)
    }

    /// The challenge window of a claim over `2^b` steps, seconds.
    pub fn window(&self, b: u32) -> u64 {
        scaled(self.window_base, self.margin, self.min_speed, b, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_scale_with_b() {
        assert_eq!(reexec(0, 10_000_000, 1000), 1);
        assert_eq!(reexec(36, 10_000_000, 1000), 6_871_948);
        assert_eq!(reexec(48, 1, 1), 1 << 48);
        assert_eq!(scaled(60, 2, 10_000_000, 40, 1), 60 + 2 * 109_952);
        assert_eq!(scaled(u64::MAX, 2, 1, 48, 1), u64::MAX);
    }

    #[test]
    fn the_bonds_cover_the_honest_sides_gas() {
        assert_eq!(
            defender_gas(48),
            (48 + u64::from(crate::micro::LOG2_USTEPS)) * 56_400 + 81_600 + 61_700 + 35_000
        );
        let (claim, challenge) = bonds(48, 20_000_000_000);
        assert!(challenger_gas(48) > defender_gas(48));
        assert_eq!(challenge, u128::from(challenger_gas(48)) * 20_000_000_000);
        assert_eq!(claim, 4 * challenge);
        assert!(bonds(20, 1).0 < bonds(48, 1).0);
    }

    #[test]
    fn the_contracts_figures_are_the_rust_ones() {
        // contracts/test/DisputeGame.t.sol `test_badPoliciesAreRefused`.
        let p = ChainPolicy {
            clock_base: 60,
            window_base: 60,
            margin: 2,
            min_speed: 10_000_000,
            max_b: 48,
        };
        assert_eq!(p.clock(48), 56_295_056);
        assert_eq!(p.window(20), 62);
    }

    #[test]
    fn the_limits_keep_every_clock_in_48_bits() {
        let p = ChainPolicy {
            clock_base: MAX_BASE_SECONDS,
            window_base: MAX_BASE_SECONDS,
            margin: MAX_MARGIN,
            min_speed: 10_000,
            max_b: MAX_B,
        };
        assert_eq!(p.check(), Ok(()));
        assert!(p.clock(MAX_B) <= MAX_SECONDS, "{}", p.clock(MAX_B));
        let p = ChainPolicy { min_speed: 1, ..p };
        assert!(matches!(p.check(), Err(PolicyError::TooLong { b: 48, .. })));
    }

    #[test]
    fn a_policy_outside_the_limits_is_refused() {
        let ok = ChainPolicy {
            clock_base: 60,
            window_base: 60,
            margin: 2,
            min_speed: 10_000_000,
            max_b: 48,
        };
        assert_eq!(ok.check(), Ok(()));
        let bad = [
            ChainPolicy { max_b: 0, ..ok },
            ChainPolicy { max_b: 49, ..ok },
            ChainPolicy {
                clock_base: 0,
                ..ok
            },
            ChainPolicy {
                window_base: 0,
                ..ok
            },
            ChainPolicy { margin: 0, ..ok },
            ChainPolicy { min_speed: 0, ..ok },
            ChainPolicy {
                min_speed: MAX_MIN_SPEED + 1,
                ..ok
            },
        ];
        for p in bad {
            assert!(p.check().is_err(), "{p:?}");
        }
    }
}
