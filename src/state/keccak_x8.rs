//! Page hashes eight Keccak-256 at a time, on AVX-512.
//!
//! A page's subtree is 255 Keccak-f[1600] permutations of one block each
//! (128 leaves of 32 bytes, 127 nodes of 64), and the players hash every
//! page a run writes: on one core that was most of an honest player's
//! time. The hashes of one level are independent, so eight of them run at
//! once, one per 64-bit lane of the 25 AVX-512 registers of the state
//! (about 8x the throughput of one permutation at a time). The result is
//! the same Keccak-256 as [`crate::hash`], bit for bit (tests below); on a
//! processor without AVX-512 [`page_hash`] is `None` and the caller hashes
//! one at a time.
#![allow(unsafe_code)]

use crate::hash::Hash;

/// The hash of a 4096-byte page's subtree (height 7), eight hashes at a
/// time; `None` where AVX-512 is not available.
pub fn page_hash(page: &[u8]) -> Option<Hash> {
    #[cfg(target_arch = "x86_64")]
    {
        if page.len() == 4096 && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F (checked just above).
            return Some(unsafe { x86::page_hash(page) });
        }
    }
    let _ = page;
    None
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use crate::hash::Hash;
    use std::arch::x86_64::*;

    const RC: [u64; 24] = [
        0x0000000000000001,
        0x0000000000008082,
        0x800000000000808a,
        0x8000000080008000,
        0x000000000000808b,
        0x0000000080000001,
        0x8000000080008081,
        0x8000000000008009,
        0x000000000000008a,
        0x0000000000000088,
        0x0000000080008009,
        0x000000008000000a,
        0x000000008000808b,
        0x800000000000008b,
        0x8000000000008089,
        0x8000000000008003,
        0x8000000000008002,
        0x8000000000000080,
        0x000000000000800a,
        0x800000008000000a,
        0x8000000080008081,
        0x8000000000008080,
        0x0000000080000001,
        0x8000000080008008,
    ];
    /// Rotation of each lane on the path of the rho-pi step.
    const RHO: [i64; 24] = [
        1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
    ];
    /// The lane each step of the rho-pi path moves to.
    const PI: [usize; 24] = [
        10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
    ];

    /// Keccak-f[1600] on eight states, lane `i` of state `k` in lane `k` of `a[i]`.
    #[target_feature(enable = "avx512f")]
    fn f1600_x8(a: &mut [__m512i; 25]) {
        for rc in RC {
            // theta: three-way xors (ternary logic 0x96).
            let mut c = [_mm512_setzero_si512(); 5];
            for x in 0..5 {
                let t = _mm512_ternarylogic_epi64::<0x96>(a[x], a[x + 5], a[x + 10]);
                c[x] = _mm512_ternarylogic_epi64::<0x96>(t, a[x + 15], a[x + 20]);
            }
            for x in 0..5 {
                let r = _mm512_rol_epi64::<1>(c[(x + 1) % 5]);
                for y in 0..5 {
                    a[y * 5 + x] =
                        _mm512_ternarylogic_epi64::<0x96>(a[y * 5 + x], c[(x + 4) % 5], r);
                }
            }
            // rho and pi
            let mut last = a[1];
            for i in 0..24 {
                let j = PI[i];
                let t = a[j];
                a[j] = _mm512_rolv_epi64(last, _mm512_set1_epi64(RHO[i]));
                last = t;
            }
            // chi: a ^ (!b & c) (ternary logic 0xd2)
            for y in 0..5 {
                let row = [
                    a[y * 5],
                    a[y * 5 + 1],
                    a[y * 5 + 2],
                    a[y * 5 + 3],
                    a[y * 5 + 4],
                ];
                for x in 0..5 {
                    a[y * 5 + x] = _mm512_ternarylogic_epi64::<0xd2>(
                        row[x],
                        row[(x + 1) % 5],
                        row[(x + 2) % 5],
                    );
                }
            }
            // iota
            a[0] = _mm512_xor_si512(a[0], _mm512_set1_epi64(rc as i64));
        }
    }

    /// Keccak-256 of eight messages of `W` words each (`W` is 4 or 8: one
    /// block with its padding), written to `out`.
    #[target_feature(enable = "avx512f")]
    fn hash8<const W: usize>(inp: &[[u64; W]; 8], out: &mut [[u64; 4]; 8]) {
        let mut lanes = [[0u64; 8]; 25];
        for (k, msg) in inp.iter().enumerate() {
            for (w, &v) in msg.iter().enumerate() {
                lanes[w][k] = v;
            }
            // Keccak's padding: 0x01 after the message, 0x80 in the last
            // byte of the 136-byte rate.
            lanes[W][k] ^= 1;
            lanes[16][k] ^= 0x80 << 56;
        }
        let mut a = [_mm512_setzero_si512(); 25];
        for (r, l) in a.iter_mut().zip(&lanes) {
            // SAFETY: `l` is 8 u64 = 64 bytes, an unaligned load.
            *r = unsafe { _mm512_loadu_si512(l.as_ptr().cast()) };
        }
        f1600_x8(&mut a);
        for (r, l) in a.iter().zip(lanes.iter_mut()).take(4) {
            // SAFETY: as above, an unaligned store of 64 bytes.
            unsafe { _mm512_storeu_si512(l.as_mut_ptr().cast(), *r) };
        }
        for (k, o) in out.iter_mut().enumerate() {
            for (w, v) in o.iter_mut().enumerate() {
                *v = lanes[w][k];
            }
        }
    }

    fn words<const W: usize>(bytes: &[u8]) -> [u64; W] {
        let mut w = [0u64; W];
        for (d, c) in w.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            *d = u64::from_le_bytes(b);
        }
        w
    }

    /// The subtree hash of a 4096-byte page: its 128 leaves, then each
    /// level of nodes, eight hashes per permutation run.
    #[target_feature(enable = "avx512f")]
    pub(super) fn page_hash(page: &[u8]) -> Hash {
        let mut level = [[0u64; 4]; 128];
        for (chunk, out) in page.chunks_exact(256).zip(level.chunks_exact_mut(8)) {
            let mut inp = [[0u64; 4]; 8];
            for (m, leaf) in inp.iter_mut().zip(chunk.chunks_exact(32)) {
                *m = words::<4>(leaf);
            }
            let mut o = [[0u64; 4]; 8];
            hash8::<4>(&inp, &mut o);
            out.copy_from_slice(&o);
        }
        let mut n = 128;
        while n > 1 {
            n /= 2;
            let mut next = [[0u64; 4]; 64];
            for (base, out) in (0..n).step_by(8).zip(next.chunks_mut(8)) {
                let mut inp = [[0u64; 8]; 8];
                for (k, m) in inp.iter_mut().enumerate().take(n - base) {
                    let (l, r) = (level[2 * (base + k)], level[2 * (base + k) + 1]);
                    m[..4].copy_from_slice(&l);
                    m[4..].copy_from_slice(&r);
                }
                let mut o = [[0u64; 4]; 8];
                hash8::<8>(&inp, &mut o);
                let m = out.len();
                out.copy_from_slice(&o[..m]);
            }
            level[..n].copy_from_slice(&next[..n]);
        }
        let mut h = [0u8; 32];
        for (d, w) in h.chunks_exact_mut(8).zip(level[0]) {
            d.copy_from_slice(&w.to_le_bytes());
        }
        Hash(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::subtree_hash;

    #[test]
    fn page_hashes_equal_the_one_at_a_time_hashes() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut page = vec![0u8; 4096];
        for round in 0..40 {
            for b in page.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Some pages sparse, some dense.
                *b = if round % 3 == 0 && !x.is_multiple_of(5) {
                    0
                } else {
                    x as u8
                };
            }
            if let Some(h) = page_hash(&page) {
                assert_eq!(h, subtree_hash(&page, 7), "round {round}");
            }
        }
        if let Some(h) = page_hash(&[0u8; 4096]) {
            assert_eq!(h, crate::hash::zero_hash(7));
        }
    }
}
