//! Random-program differential test, three ways: random straight-line
//! RV64IM programs (every ALU, M and W operation, loads and stores of every
//! width, short forward branches, lui/auipc) run under machine A, machine AB
//! and `qemu-riscv64`; all registers and the data memory are written out at
//! the end and must be identical.

mod support;

use mswap::check::check_range;
use mswap::elf::{PF_R, PF_W, PF_X, Program, write_elf};
use mswap::fast::Machine;
use mswap::micro::microcode::microcode;
use std::process::Command;
use support::Rng;
use support::enc::{b, i, r, s};

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
fn program(seed: u64, n: usize) -> Vec<u8> {
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

fn check_seed(seed: u64, qemu: bool) {
    let elf = program(seed, 300);
    let p = Program::load(&elf).expect("loads");
    let mut a = Machine::new(p.initial_state(&[]));
    a.run(10_000);
    let st = a.state();
    assert_eq!(st.status(), mswap::layout::Status::Exited(0), "seed {seed}");
    let ours = st.output();
    assert_eq!(ours.len(), 4096, "seed {seed}");
    check_range(p.initial_state(&[]), 0, 2000, microcode())
        .unwrap_or_else(|m| panic!("seed {seed}: A vs AB: {m}"));
    if qemu {
        let dir = std::env::temp_dir().join(format!("mswap-random-{}-{seed}", std::process::id()));
        std::fs::write(&dir, &elf).expect("write elf");
        // qemu-user, like execve, wants an executable file.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let out = Command::new("qemu-riscv64")
            .arg(&dir)
            .output()
            .expect("qemu runs");
        let _ = std::fs::remove_file(&dir);
        assert!(
            out.status.success(),
            "seed {seed}: qemu status {:?}",
            out.status
        );
        if out.stdout != ours {
            let i = ours
                .iter()
                .zip(&out.stdout)
                .position(|(x, y)| x != y)
                .unwrap_or(ours.len().min(out.stdout.len()))
                & !7;
            panic!(
                "seed {seed}: mswap and qemu differ ({} vs {} bytes) at output byte {i} ({}): {:02x?} vs {:02x?}",
                ours.len(),
                out.stdout.len(),
                if i < 248 {
                    format!("x{}", i / 8)
                } else {
                    "data".into()
                },
                &ours[i..(i + 8).min(ours.len())],
                &out.stdout[i..(i + 8).min(out.stdout.len())]
            );
        }
    }
}

#[test]
fn random_programs_agree_on_a_ab_and_qemu() {
    // Without qemu (and MSWAP_SKIP_QEMU=1), machine A against machine AB only.
    let qemu = support::qemu("qemu_random").is_some();
    let extra = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    for seed in (1..=400).chain((0..20).map(|k| extra.wrapping_add(k))) {
        check_seed(seed, qemu);
    }
}
