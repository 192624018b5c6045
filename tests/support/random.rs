//! The random RV64IM programs of the three-way differential test
//! (`qemu_random.rs`), shared with the JIT test.

use super::Rng;
use super::enc::{b, i, r, s};
use mswap::elf::{PF_R, PF_W, PF_X, write_elf};

/// Random values, with a bias to edge cases.
fn value(g: &mut Rng) -> u64 {
    const EDGES: [u64; 10] = [
        0,
        1,
        u64::MAX,
        i64::MIN as u64,
        i64::MAX as u64,
        0x8000_0000,
        0x7fff_ffff,
        0xffff_ffff,
        63,
        32,
    ];
    match g.below(4) {
        0 => EDGES[g.below(10) as usize],
        1 => g.below(64),
        _ => g.next(),
    }
}

const R: u32 = 0x33;
const R32: u32 = 0x3b;
const BASE: u32 = 31; // x31 holds the data address

fn random_instruction(g: &mut Rng) -> u32 {
    let rd = 1 + g.below(30) as u32;
    let rs1 = g.below(32) as u32;
    let rs2 = g.below(32) as u32;
    let imm = (g.next() as i32) >> 20;
    match g.below(12) {
        0 | 1 => {
            let (f7, f3) = [
                (0, 0),
                (0x20, 0),
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (0, 5),
                (0x20, 5),
                (0, 6),
                (0, 7),
            ][g.below(10) as usize];
            r(f7, rs2, rs1, f3, rd, R)
        }
        2 | 3 => r(1, rs2, rs1, g.below(8) as u32, rd, R),
        4 => {
            let (f7, f3) = [
                (0, 0),
                (0x20, 0),
                (0, 1),
                (0, 5),
                (0x20, 5),
                (1, 0),
                (1, 4),
                (1, 5),
                (1, 6),
                (1, 7),
            ][g.below(10) as usize];
            r(f7, rs2, rs1, f3, rd, R32)
        }
        5 | 6 => {
            let f3 = [0u32, 2, 3, 4, 6, 7][g.below(6) as usize];
            i(imm, rs1, f3, rd, 0x13)
        }
        7 => {
            let sh = g.below(64) as i32;
            match g.below(3) {
                0 => i(sh, rs1, 1, rd, 0x13),
                1 => i(sh, rs1, 5, rd, 0x13),
                _ => i(sh | 0x400, rs1, 5, rd, 0x13),
            }
        }
        8 => {
            let sh = g.below(32) as i32;
            match g.below(4) {
                0 => i(imm, rs1, 0, rd, 0x1b),
                1 => i(sh, rs1, 1, rd, 0x1b),
                2 => i(sh, rs1, 5, rd, 0x1b),
                _ => i(sh | 0x400, rs1, 5, rd, 0x1b),
            }
        }
        9 => {
            // load of a random width at an aligned offset of the data buffer
            let f3 = g.below(7) as u32;
            let size = 1i32 << (f3 & 3);
            let off = (g.below(1024 / size as u64) as i32) * size + 1024;
            i(off, BASE, f3, rd, 0x03)
        }
        10 => {
            let f3 = g.below(4) as u32;
            let size = 1i32 << f3;
            let off = (g.below(1024 / size as u64) as i32) * size + 1024;
            s(off, rs2, BASE, f3)
        }
        _ => match g.below(3) {
            0 => ((g.next() as u32) & 0xffff_f000) | (rd << 7) | 0x37,
            1 => ((g.next() as u32) & 0xffff_f000) | (rd << 7) | 0x17,
            // a forward branch over the next instruction
            _ => b(8, rs2, rs1, [0u32, 1, 4, 5, 6, 7][g.below(6) as usize]),
        },
    }
}

/// A program: registers from the data page, `n` random instructions, then
/// registers and data written to stdout, exit 0.
pub fn program(seed: u64, n: usize) -> Vec<u8> {
    let mut g = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut code = vec![0x0002_0fb7]; // lui x31, 0x20
    for reg in 1..31 {
        code.push(i(8 * reg, BASE, 3, reg as u32, 0x03)); // ld xr, 8r(x31)
    }
    for _ in 0..n {
        code.push(random_instruction(&mut g));
    }
    for reg in 1..31 {
        code.push(s(8 * reg, reg as u32, BASE, 3)); // sd xr, 8r(x31)
    }
    code.push(i(0, BASE, 0, 11, 0x13)); // a1 = x31
    for _ in 0..8 {
        code.push(i(64, 0, 0, 17, 0x13)); // a7 = write
        code.push(i(1, 0, 0, 10, 0x13)); // a0 = 1
        code.push(i(512, 0, 0, 12, 0x13)); // a2 = 512
        code.push(0x73);
        code.push(i(512, 11, 0, 11, 0x13)); // a1 += 512
    }
    code.push(i(93, 0, 0, 17, 0x13));
    code.push(i(0, 0, 0, 10, 0x13));
    code.push(0x73);
    let text: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let data: Vec<u8> = (0..512).flat_map(|_| value(&mut g).to_le_bytes()).collect();
    write_elf(
        &[
            (0x10000, PF_R | PF_X, &text, text.len() as u64),
            (0x20000, PF_R | PF_W, &data, 4096),
        ],
        0x10000,
    )
}
