//! The state-access interface of the micro-machine's step function, and
//! its three implementations side by side.
//!
//! [`super::step::ustep`] touches state only through [`StateAccess`], so the
//! same function runs directly on a state ([`direct`]), records a proof
//! while doing so ([`record`]) and replays a proof against a root
//! ([`replay`]). The step never knows whether it is proving.

pub mod direct;
pub mod record;
pub mod replay;

/// Everything the step function may read or write.
pub trait StateAccess {
    /// Why an access failed (recording and replay; direct access cannot fail).
    type Error;

    /// Reads word `i` (0..16) of `Q`.
    fn read_q(&mut self, i: usize) -> Result<u64, Self::Error>;

    /// Writes word `i` (0..16) of `Q`.
    fn write_q(&mut self, i: usize, v: u64) -> Result<(), Self::Error>;

    /// The micro-instruction at `upc` (taken modulo the microcode's slot count).
    fn fetch(&mut self, upc: u64) -> Result<u64, Self::Error>;

    /// Reads the 64-bit word of `S` at `addr` (8-aligned, below `2^34`).
    fn read_s(&mut self, addr: u64) -> Result<u64, Self::Error>;

    /// Writes the 64-bit word of `S` at `addr` (8-aligned, below `2^34`).
    fn write_s(&mut self, addr: u64, v: u64) -> Result<(), Self::Error>;
}

/// The essential state `S` as the step sees it: 64-bit words at 8-aligned
/// addresses below `2^34`. The full state (sparse pages, its Merkle tree)
/// lives in the `mswap` crate and implements this.
pub trait Words {
    /// The word at `addr`.
    fn read_word(&self, addr: u64) -> u64;
    /// Sets the word at `addr`.
    fn write_word(&mut self, addr: u64, v: u64);
}
