//! Range checks shared by the run loop, the system calls and the JIT.

/// The largest executable range that is pre-decoded (larger ranges decode
/// on the fly) and that the JIT translates.
pub const MAX_CACHED_CODE: u64 = 16 << 20;

/// Whether `[a, a + n)` meets `[lo, lo + size)`, with wrapping arithmetic
/// (`n >= 1`). The microcode uses the same formula.
#[inline(always)]
pub fn overlaps(a: u64, n: u64, lo: u64, size: u64) -> bool {
    a.wrapping_sub(lo) < size || (size != 0 && lo.wrapping_sub(a) < n)
}
