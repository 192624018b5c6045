//! Instruction fetch: the bits at `pc` as machine A reads them.

use super::isa;
use crate::state::State;

/// The instruction bits at `pc` as the fetch reads them: the halfword at
/// `pc`, and if it starts a 32-bit instruction the halfword at `pc + 2`
/// above it (each halfword read from its own word of `S`, so an instruction
/// may straddle words and leaves). `None` if `pc` is odd.
pub fn fetch(state: &State, pc: u64) -> Option<u32> {
    if pc & 1 != 0 {
        return None;
    }
    let half = |a: u64| (state.read_word(a) >> ((a & 6) * 8)) as u16 as u32;
    let lo = half(pc);
    Some(if isa::is_long(lo as u16) {
        lo | (half(pc.wrapping_add(2)) << 16)
    } else {
        lo
    })
}
