//! Claims: "program P with input I, run for `2^b` A-steps, ends in state
//! root F". Making one runs machine A: `Program::claim` in the `mswap` crate.

use crate::hash::Hash;
use serde::{Deserialize, Serialize};

/// A claimed result. `program`, `input`, `b` and `final_root` are what the
/// game settles; the rest is for people to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Keccak-256 of the ELF file.
    pub program: Hash,
    /// Keccak-256 of the input.
    pub input: Hash,
    /// The run is `2^b` A-steps (a halted machine's step is the identity).
    pub b: u32,
    /// `root(S_(2^b))`.
    pub final_root: Hash,
    /// The final status, e.g. "exited with code 0" (informational, optional).
    #[serde(default)]
    pub status: String,
    /// Keccak-256 of the output log (informational, optional).
    #[serde(default)]
    pub output: Hash,
    /// Steps until the machine halted, if it did within `2^b` (informational, optional).
    #[serde(default)]
    pub halted_after: Option<u64>,
}

/// The smallest `b` whose `2^b` steps include the halting step of a run of
/// `steps` instructions (the run halts after `steps` steps).
pub fn b_for_steps(steps: u64) -> u32 {
    64 - steps.saturating_sub(1).leading_zeros().min(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b_covers_the_halting_step() {
        assert_eq!(b_for_steps(1), 0);
        assert_eq!(b_for_steps(2), 1);
        assert_eq!(b_for_steps(3), 2);
        assert_eq!(b_for_steps(1024), 10);
        assert_eq!(b_for_steps(1025), 11);
    }
}
