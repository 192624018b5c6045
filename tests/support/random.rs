//! The random RV64IMAC programs of the three-way differential test
//! (`qemu_random.rs`), shared with the JIT test: straight-line code with
//! every ALU, M and W operation, loads and stores of every width at aligned
//! and misaligned addresses, short forward branches, lui/auipc, compressed
//! instructions, every AMO, LR/SC pairs and lone SCs, fence.i.
//!
//! x31 holds the data address, x2 (sp) = data + 1024 is the base of the
//! atomics and of the sp-relative compressed forms, x8 = data + 1536 the
//! base of the other compressed loads and stores; no random instruction
//! writes these three. An LR is always followed by its SC (at most one
//! ALU instruction between), since qemu's SC also compares the value.

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
const SP: u32 = 2; // data + 1024: atomics and c.*sp
const CB: u32 = 8; // data + 1536: c.lw, c.ld, c.sw, c.sd

/// A destination register other than the three bases.
fn dest(g: &mut Rng) -> u32 {
    loop {
        let r = 1 + g.below(30) as u32;
        if r != SP && r != CB {
            return r;
        }
    }
}

/// One item of the program: halfwords, and whether it is a forward branch
/// over the next item (its offset is set once that item is known).
enum Item {
    Plain(Vec<u16>),
    /// A 32-bit branch (funct3, rs1, rs2) over the next item.
    Branch(u32, u32, u32),
    /// c.beqz (false) / c.bnez (true) on x(8 + r) over the next item.
    CBranch(bool, u32),
    /// c.j over the next item.
    CJump,
}

fn long(w: u32) -> Item {
    Item::Plain(vec![w as u16, (w >> 16) as u16])
}

fn short(h: u16) -> Item {
    Item::Plain(vec![h])
}

/// Bits `lo .. lo + n` of `v` at bit `at`.
fn f(v: u32, lo: u32, n: u32, at: u32) -> u16 {
    (((v >> lo) & ((1 << n) - 1)) << at) as u16
}

/// A random compressed instruction (no jumps; branches are items).
fn random_compressed(g: &mut Rng) -> Item {
    let rd = dest(g);
    let rs2 = 1 + g.below(31) as u32;
    let rdp = 9 + g.below(7) as u32; // x9..x15 (x8 is a base)
    let rsp = 8 + g.below(8) as u32;
    let imm = g.below(64) as u32; // imm6 / shamt6
    let ci =
        |op: u16, rd: u32, imm: u32| op | f(imm, 5, 1, 12) | ((rd as u16) << 7) | f(imm, 0, 5, 2);
    match g.below(20) {
        0 => short(ci(0x0001, rd, imm)),        // c.addi
        1 => short(ci(0x2001, rd, imm)),        // c.addiw
        2 => short(ci(0x4001, rd, imm)),        // c.li
        3 => short(ci(0x6001, rd, imm.max(1))), // c.lui
        4 => short(ci(0x8001, rdp - 8, imm)),   // c.srli
        5 => short(ci(0x8401, rdp - 8, imm)),   // c.srai
        6 => short(ci(0x8801, rdp - 8, imm)),   // c.andi
        7 | 8 => {
            let (b12, f2) =
                [(0u16, 0u16), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)][g.below(6) as usize];
            short(
                0x8c01
                    | (b12 << 12)
                    | (((rdp - 8) as u16) << 7)
                    | (f2 << 5)
                    | (((rsp - 8) as u16) << 2),
            )
        }
        9 => short(ci(0x0002, rd, imm)), // c.slli
        10 => short(0x8002 | ((rd as u16) << 7) | ((rs2 as u16) << 2)), // c.mv
        11 => short(0x9002 | ((rd as u16) << 7) | ((rs2 as u16) << 2)), // c.add
        12 => {
            let u = 4 * (1 + g.below(255) as u32); // c.addi4spn
            short(
                f(u, 4, 2, 11)
                    | f(u, 6, 4, 7)
                    | f(u, 2, 1, 6)
                    | f(u, 3, 1, 5)
                    | (((rdp - 8) as u16) << 2),
            )
        }
        13 => {
            let o = 4 * g.below(64) as u32; // c.lwsp
            short(0x4002 | f(o, 5, 1, 12) | ((rd as u16) << 7) | f(o, 2, 3, 4) | f(o, 6, 2, 2))
        }
        14 => {
            let o = 8 * g.below(64) as u32; // c.ldsp
            short(0x6002 | f(o, 5, 1, 12) | ((rd as u16) << 7) | f(o, 3, 2, 5) | f(o, 6, 3, 2))
        }
        15 => {
            let o = 4 * g.below(64) as u32; // c.swsp
            short(0xc002 | f(o, 2, 4, 9) | f(o, 6, 2, 7) | ((rs2 as u16) << 2))
        }
        16 => {
            let o = 8 * g.below(64) as u32; // c.sdsp
            short(0xe002 | f(o, 3, 3, 10) | f(o, 6, 3, 7) | ((rs2 as u16) << 2))
        }
        17 => {
            // c.lw / c.sw at off(x8)
            let o = 4 * g.below(32) as u32;
            let op = if g.below(2) == 0 { 0x4000 } else { 0xc000 };
            short(op | f(o, 3, 3, 10) | f(o, 2, 1, 6) | f(o, 6, 1, 5) | (((rdp - 8) as u16) << 2))
        }
        18 => {
            // c.ld / c.sd at off(x8)
            let o = 8 * g.below(32) as u32;
            let op = if g.below(2) == 0 { 0x6000 } else { 0xe000 };
            short(op | f(o, 3, 3, 10) | f(o, 6, 2, 5) | (((rdp - 8) as u16) << 2))
        }
        _ => match g.below(3) {
            0 => Item::CBranch(false, rsp - 8),
            1 => Item::CBranch(true, rsp - 8),
            _ => Item::CJump,
        },
    }
}

/// A random A-extension item at (x2): an AMO, an LR/SC pair (maybe with an
/// ALU instruction between) or a lone SC (which fails).
fn random_atomic(g: &mut Rng) -> Item {
    let (rd, rd2, rs2) = (dest(g), dest(g), g.below(32) as u32);
    let width = 2 + g.below(2) as u32;
    let aqrl = g.below(4) as u32;
    let amo = |f5: u32, rd: u32, rs2: u32| r((f5 << 2) | aqrl, rs2, SP, width, rd, 0x2f);
    match g.below(4) {
        0 | 1 => {
            let f5 = [0u32, 1, 4, 8, 12, 16, 20, 24, 28][g.below(9) as usize];
            long(amo(f5, rd, rs2))
        }
        2 => {
            let mut h = Vec::new();
            for w in [amo(2, rd, 0)]
                .into_iter()
                .chain((g.below(2) == 0).then(|| r(0, rs2, rd, 0, dest(g), R)))
                .chain([amo(3, rd2, rs2)])
            {
                h.extend([w as u16, (w >> 16) as u16]);
            }
            Item::Plain(h)
        }
        _ => long(amo(3, rd2, rs2)),
    }
}

fn random_instruction(g: &mut Rng) -> Item {
    match g.below(20) {
        0..=5 => return random_compressed(g),
        6 => return random_atomic(g),
        7 => {
            // a misaligned load or store at x31 + 1024 + something
            let off = 1024 + g.below(1000) as i32;
            return long(if g.below(2) == 0 {
                i(off, BASE, g.below(7) as u32, dest(g), 0x03)
            } else {
                s(off, g.below(32) as u32, BASE, g.below(4) as u32)
            });
        }
        8 if g.below(4) == 0 => return long(0x0000_100f), // fence.i
        _ => {}
    }
    let rd = dest(g);
    let rs1 = g.below(32) as u32;
    let rs2 = g.below(32) as u32;
    let imm = (g.next() as i32) >> 20;
    let w = match g.below(12) {
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
            // a forward branch over the next item
            _ => return Item::Branch([0u32, 1, 4, 5, 6, 7][g.below(6) as usize], rs1, rs2),
        },
    };
    long(w)
}

/// Lays out the items: each forward branch skips the item after it.
fn layout(items: Vec<Item>) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    let mut pending: Option<(usize, Item)> = None;
    for it in items {
        let start = out.len();
        match &it {
            Item::Plain(h) => out.extend(h),
            Item::Branch(..) => out.extend([0x0013, 0]), // patched below
            Item::CBranch(..) | Item::CJump => out.push(0x0001),
        }
        if let Some((at, br)) = pending.take() {
            // The offset covers the branch and the item after it.
            let o = 2 * (out.len() - at) as u32;
            match br {
                Item::Branch(f3, rs1, rs2) => {
                    let w = b(o as i32, rs2, rs1, f3);
                    out[at] = w as u16;
                    out[at + 1] = (w >> 16) as u16;
                }
                Item::CBranch(bnez, rp) => {
                    out[at] = if bnez { 0xe001 } else { 0xc001 }
                        | f(o, 8, 1, 12)
                        | f(o, 3, 2, 10)
                        | ((rp as u16) << 7)
                        | f(o, 6, 2, 5)
                        | f(o, 1, 2, 3)
                        | f(o, 5, 1, 2);
                }
                Item::CJump => {
                    out[at] = 0xa001
                        | f(o, 11, 1, 12)
                        | f(o, 4, 1, 11)
                        | f(o, 8, 2, 9)
                        | f(o, 10, 1, 8)
                        | f(o, 6, 1, 7)
                        | f(o, 7, 1, 6)
                        | f(o, 1, 3, 3)
                        | f(o, 5, 1, 2);
                }
                Item::Plain(_) => {}
            }
        }
        if !matches!(it, Item::Plain(_)) {
            pending = Some((start, it));
        }
    }
    // A branch at the very end skips a nop.
    if pending.is_some() {
        out.extend([0x0013, 0]);
        if let Some((at, Item::Branch(f3, rs1, rs2))) = pending {
            let w = b(2 * (out.len() - at) as i32, rs2, rs1, f3);
            out[at] = w as u16;
            out[at + 1] = (w >> 16) as u16;
        } else if let Some((at, _)) = pending {
            out[at] = 0x0001; // a compressed branch at the end stays a c.nop
        }
    }
    out
}

/// `blt rs1, rs2, pc - back`.
fn blt_back(rs1: u32, rs2: u32, back: i32) -> u32 {
    let imm = (-back) as u32;
    ((imm >> 12) & 1) << 31
        | ((imm >> 5) & 0x3f) << 25
        | rs2 << 20
        | rs1 << 15
        | 4 << 12
        | ((imm >> 1) & 0xf) << 8
        | ((imm >> 11) & 1) << 7
        | 0x63
}

/// A program: registers from the data page, `n` random instructions, then
/// registers and data written to stdout, exit 0.
pub fn program(seed: u64, n: usize) -> Vec<u8> {
    let mut g = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut code = vec![0x0002_0fb7]; // lui x31, 0x20
    for reg in 1..31 {
        code.push(i(8 * reg, BASE, 3, reg as u32, 0x03)); // ld xr, 8r(x31)
    }
    code.push(i(1024, BASE, 0, SP, 0x13)); // x2 = x31 + 1024
    code.push(i(1536, BASE, 0, CB, 0x13)); // x8 = x31 + 1536
    let halves = layout((0..n).map(|_| random_instruction(&mut g)).collect());
    let mut text: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    text.extend(halves.iter().flat_map(|h| h.to_le_bytes()));
    if !text.len().is_multiple_of(4) {
        text.extend(0x0001u16.to_le_bytes()); // c.nop: the tail stays 4-aligned
    }
    let mut code = Vec::new();
    for reg in 1..31 {
        code.push(s(8 * reg, reg as u32, BASE, 3)); // sd xr, 8r(x31)
    }
    code.push(i(0, BASE, 0, 11, 0x13)); // a1 = x31
    code.push(i(2047, 11, 0, 13, 0x13)); // a3 = a1 + 4096, the end
    code.push(i(2047, 13, 0, 13, 0x13));
    code.push(i(2, 13, 0, 13, 0x13));
    // A write may be short (at most `IO_CHUNK` bytes): loop until the end.
    code.push(i(64, 0, 0, 17, 0x13)); // loop: a7 = write
    code.push(i(1, 0, 0, 10, 0x13)); // a0 = 1
    code.push(0x4000_0033 | (11 << 20) | (13 << 15) | (12 << 7)); // a2 = a3 - a1
    code.push(0x73);
    code.push(0x33 | (10 << 20) | (11 << 15) | (11 << 7)); // a1 += a0
    code.push(blt_back(11, 13, 20)); // blt a1, a3, loop
    code.push(i(93, 0, 0, 17, 0x13));
    code.push(i(0, 0, 0, 10, 0x13));
    code.push(0x73);
    text.extend(code.iter().flat_map(|w| w.to_le_bytes()));
    let data: Vec<u8> = (0..512).flat_map(|_| value(&mut g).to_le_bytes()).collect();
    write_elf(
        &[
            (0x10000, PF_R | PF_X, &text, text.len() as u64),
            (0x20000, PF_R | PF_W, &data, 4096),
        ],
        0x10000,
    )
}
