//! The state-access interface of the micro-machine's step function.
//!
//! [`super::step::ustep`] touches state only through this trait, so the same
//! function runs directly on a state ([`super::direct`]), records a proof
//! while doing so (`crate::proof::record`) and replays a proof against a
//! root (`crate::verify::replay`).

/// Everything the step function may read or write.
pub trait Access {
    /// Why an access failed (replay only; direct access cannot fail).
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
