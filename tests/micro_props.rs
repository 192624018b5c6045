//! Property tests: machine AB agrees with machine A on single instructions
//! with random encodings and random register, memory and I/O contents,
//! including every corner case of division, shifts, W forms, compressed
//! instructions, atomics with and without a reservation, misaligned
//! accesses, illegal encodings and faults.

mod support;

use mswap::check::{Pair, Stats};
use mswap::layout::{CTRL_BASE, ctrl};
use mswap::micro::microcode::microcode;
use mswap::state::State;
use proptest::prelude::*;

const EDGES: [u64; 16] = [
    0,
    1,
    2,
    3,
    7,
    31,
    32,
    63,
    64,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
];

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => prop::sample::select(EDGES.to_vec()),
        2 => any::<u64>(),
        1 => (0u64..64).prop_map(|s| 1u64 << s),
        1 => any::<i16>().prop_map(|v| v as i64 as u64),
        2 => (0x1_0000u64..0x1_1000).prop_map(|a| a & !3), // addresses in the test's memory
        1 => 0xffff_fc00u64..0x1_0000_0010, // buffers at the top of memory
        1 => 0x1_0000u64..0x1_1000, // misaligned too
        1 => 0xffff_fff0u64..0x1_0000_0008, // straddling the end of memory
    ]
}

/// Instruction words: mostly well-formed RV64IMA encodings with random
/// fields, some with one reserved field bit flipped, some entirely random,
/// and compressed instructions (random 16-bit words, whose high half is
/// another random halfword).
fn word() -> impl Strategy<Value = u32> {
    let opcode = prop::sample::select(vec![
        0x03u32, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x2f, 0x2f, 0x33, 0x37, 0x3b, 0x63, 0x67, 0x6f, 0x73,
    ]);
    let funct7 = prop::sample::select(vec![0u32, 0x01, 0x20, 0x21, 0x02, 0x40]);
    let formed = (
        opcode,
        0u32..32,
        0u32..8,
        0u32..32,
        0u32..32,
        funct7,
        any::<bool>(),
    )
        .prop_map(|(op, rd, f3, rs1, rs2, f7, small)| {
            let f7 = if op == 0x73 && small { 0 } else { f7 };
            let (rs1, rs2) = if op == 0x73 && small {
                (0, rs2 & 1)
            } else {
                (rs1, rs2)
            };
            let rd = if op == 0x73 && small { 0 } else { rd };
            let f3 = if op == 0x73 && small { 0 } else { f3 };
            // AMOs: funct5 from the defined ones, random aq/rl, .w/.d mostly.
            let (f7, f3, rs2) = if op == 0x2f {
                let f5 = [0u32, 1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 5][(rs2 % 12) as usize];
                let rs2 = if f5 == 2 && small { 0 } else { rs2 };
                (
                    (f5 << 2) | (f7 & 3),
                    if small { 2 + (f3 & 1) } else { f3 },
                    rs2,
                )
            } else {
                (f7, f3, rs2)
            };
            (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
        });
    let compressed = (any::<u16>(), any::<u16>()).prop_map(|(h, hi)| {
        let h = if h & 3 == 3 { h & !1 } else { h };
        ((hi as u32) << 16) | h as u32
    });
    prop_oneof![
        8 => formed.clone(),
        6 => compressed,
        1 => (formed, 0u32..32).prop_map(|(w, b)| w ^ (1 << b)),
        1 => any::<u32>(),
    ]
}

/// A state with `w` at pc 0x10000 (sometimes misaligned or outside the
/// executable range), random registers and memory, input and output.
fn state() -> impl Strategy<Value = State> {
    (
        word(),
        prop::collection::vec(value(), 31),
        prop::collection::vec(any::<u64>(), 64),
        prop::collection::vec(any::<u8>(), 0..600),
        (0u64..600, prop_oneof![3 => Just(0u64), 1 => 0u64..0x2000]),
        prop_oneof![
            12 => Just(0x10000u64),
            2 => Just(0x10002u64),
            1 => Just(0x10001u64),
            1 => Just(0x10ffeu64), // a 32-bit instruction would reach past the range
            1 => Just(0x20000u64),
            1 => Just(0x1_0000_0000u64),
        ],
        any::<u64>(),
    )
        .prop_map(|(w, regs, mem, input, (pos, out_len), pc, flags)| {
            let mut s = State::new();
            s.mem.write(0x10000, &w.to_le_bytes());
            s.mem.write(0x10004, &0x0000_0013u32.to_le_bytes());
            s.mem.write(0x10ffe, &w.to_le_bytes());
            for (i, v) in mem.iter().enumerate() {
                s.mem.write_u64(0x10800 + 8 * i as u64, *v);
            }
            for (i, v) in regs.iter().enumerate() {
                s.set_x(i + 1, *v);
            }
            // Syscalls: bias a7 to the three numbers and the fds.
            match flags % 5 {
                0 => s.set_x(17, 64),
                1 => s.set_x(17, 63),
                2 => s.set_x(17, 93),
                _ => {}
            }
            if flags & 0x30 == 0 {
                // fd is an unsigned int: sometimes with upper bits set.
                s.set_x(10, ((flags >> 8) % 4) | (((flags >> 40) & 3) << 32));
            }
            if flags & 0xc0 == 0 {
                s.set_x(12, (flags >> 12) % 600);
            }
            s.set_pc(pc);
            s.set_ctrl(ctrl::EXEC_LO, 0x10000);
            s.set_ctrl(ctrl::EXEC_SIZE, if flags & 0x100 == 0 { 0x1000 } else { 8 });
            // Write-protected range: the code page, none, or a data window.
            let (ro_lo, ro_size) = match (flags >> 16) % 3 {
                0 => (0x10000, 0x1000),
                1 => (0, 0),
                _ => (0x10800, 0x100),
            };
            s.set_ctrl(ctrl::RO_LO, ro_lo);
            s.set_ctrl(ctrl::RO_SIZE, ro_size);
            s.set_input(&input);
            s.set_ctrl(ctrl::INPUT_POS, pos);
            s.set_ctrl(ctrl::OUTPUT_LEN, out_len);
            // The LR/SC reservation: none, or on the address in some register.
            if flags & 0x600 != 0 {
                let r = 1 + ((flags >> 24) % 31) as usize;
                s.set_ctrl(ctrl::RESERVATION, s.x(r) | 1);
            }
            s.write_output_at(0, &vec![0x5a; out_len as usize]);
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10000, ..ProptestConfig::default() })]

    #[test]
    fn ab_agrees_with_a_on_one_instruction(s in state()) {
        let pc = s.pc();
        let word = mswap::fast::fetch(&s, pc).unwrap_or(0);
        let mut pair = Pair::new(s, microcode());
        let mut stats = Stats::default();
        let r = pair.check_next(0, &mut stats);
        prop_assert!(r.is_ok(), "word {word:#010x} ({}) at pc {pc:#x}: {}", mswap::fast::isa::disassemble(word), r.unwrap_err());
        // A halted machine's step is the identity on both machines.
        let r = pair.check_next(1, &mut stats);
        prop_assert!(r.is_ok(), "second step: {}", r.unwrap_err());
    }
}

#[test]
fn status_words_outside_the_defined_values_halt_both_machines() {
    let mut s = support::code_state(&[support::enc::addi(5, 0, 1)], &[]);
    s.write_word(CTRL_BASE + ctrl::STATUS, 7);
    let mut pair = Pair::new(s, microcode());
    let mut stats = Stats::default();
    pair.check_next(0, &mut stats).expect("both idle");
    assert_eq!(pair.state().x(5), 0);
}

/// The system calls as Linux does them, on both machines: every case runs
/// on machine A and machine AB (which must agree on the whole state) and
/// must return the value Linux (and qemu-user) returns.
#[test]
fn system_calls_follow_linux_on_both_machines() {
    use mswap::layout::{IO_CAPACITY, MEM_SIZE, sys};
    const W: u64 = sys::WRITE;
    const R: u64 = sys::READ;
    let top = MEM_SIZE;
    // (what, a7, fd, buf, len, input position, output length, a0 after, bytes moved)
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, u64, u64, u64, u64, u64, u64, u64, u64)] = &[
        ("write", W, 1, 0x8000, 5, 0, 0, 5, 5),
        (
            "write: fd is an unsigned int",
            W,
            0xffff_ffff_0000_0001,
            0x8000,
            5,
            0,
            0,
            5,
            5,
        ),
        (
            "write: fd 2 with upper bits",
            W,
            0x8000_0000_0000_0002,
            0x8000,
            5,
            0,
            0,
            5,
            5,
        ),
        (
            "write: fd 3 with upper bits",
            W,
            0x1_0000_0003,
            0x8000,
            5,
            0,
            0,
            sys::EBADF,
            0,
        ),
        (
            "write: fd 0x1_0000_0000 is fd 0",
            W,
            0x1_0000_0000,
            0x8000,
            5,
            0,
            0,
            sys::EBADF,
            0,
        ),
        (
            "write: short at the chunk",
            W,
            1,
            0x8000,
            10_000,
            0,
            0,
            sys::IO_CHUNK,
            sys::IO_CHUNK,
        ),
        // The whole range counts, not the chunk that would move.
        (
            "write: range leaves memory",
            W,
            1,
            top - 600,
            1000,
            0,
            0,
            sys::EFAULT,
            0,
        ),
        (
            "write: range ends at the top",
            W,
            1,
            top - 600,
            600,
            0,
            0,
            sys::IO_CHUNK,
            sys::IO_CHUNK,
        ),
        (
            "write: range wraps around",
            W,
            1,
            0x8000,
            u64::MAX - 0x7000,
            0,
            0,
            sys::EFAULT,
            0,
        ),
        (
            "write: buffer above memory",
            W,
            1,
            top,
            1,
            0,
            0,
            sys::EFAULT,
            0,
        ),
        ("write: len 0 anywhere", W, 1, u64::MAX, 0, 0, 0, 0, 0),
        (
            "write: bad fd before len 0",
            W,
            5,
            0x8000,
            0,
            0,
            0,
            sys::EBADF,
            0,
        ),
        (
            "write: bad fd before bad buffer",
            W,
            5,
            top,
            9,
            0,
            0,
            sys::EBADF,
            0,
        ),
        (
            "write: bad buffer before full log",
            W,
            1,
            top,
            9,
            0,
            IO_CAPACITY,
            sys::EFAULT,
            0,
        ),
        (
            "write: full log",
            W,
            1,
            0x8000,
            9,
            0,
            IO_CAPACITY,
            sys::ENOSPC,
            0,
        ),
        (
            "write: nearly full log",
            W,
            1,
            0x8000,
            9,
            0,
            IO_CAPACITY - 2,
            2,
            2,
        ),
        ("write: from the code page", W, 1, 0x1000, 4, 0, 0, 4, 4),
        ("read", R, 0, 0x9000, 3, 0, 0, 3, 3),
        (
            "read: fd is an unsigned int",
            R,
            0xffff_ffff_0000_0000,
            0x9000,
            3,
            0,
            0,
            3,
            3,
        ),
        (
            "read: fd 1 with upper bits",
            R,
            0x1_0000_0001,
            0x9000,
            3,
            0,
            0,
            sys::EBADF,
            0,
        ),
        (
            "read: range leaves memory",
            R,
            0,
            top - 600,
            1000,
            0,
            0,
            sys::EFAULT,
            0,
        ),
        (
            "read: range leaves memory at the end of input",
            R,
            0,
            top - 2,
            3,
            6,
            0,
            sys::EFAULT,
            0,
        ),
        ("read: end of input", R, 0, 0x9000, 100, 6, 0, 0, 0),
        ("read: len 0 anywhere", R, 0, u64::MAX, 0, 0, 0, 0, 0),
        (
            "read: bad fd before bad buffer",
            R,
            7,
            top,
            3,
            0,
            0,
            sys::EBADF,
            0,
        ),
        // The write-protected page: the whole range, not the bytes that would move.
        (
            "read: into the code page",
            R,
            0,
            0x1000,
            3,
            0,
            0,
            sys::EFAULT,
            0,
        ),
        (
            "read: range reaches the code page",
            R,
            0,
            0x1000 - 600,
            1000,
            0,
            0,
            sys::EFAULT,
            0,
        ),
        (
            "read: range just below the code page",
            R,
            0,
            0x1000 - 600,
            600,
            0,
            0,
            6,
            6,
        ),
        (
            "read: the rest of the code page",
            R,
            0,
            0x1ffd,
            3,
            0,
            0,
            sys::EFAULT,
            0,
        ),
        (
            "read: just above the code page",
            R,
            0,
            0x2000,
            3,
            0,
            0,
            3,
            3,
        ),
    ];
    for &(what, a7, fd, buf, len, pos, out_len, ret, moved) in cases {
        let mut s = support::code_state(
            &[support::enc::ECALL],
            &[(17, a7), (10, fd), (11, buf), (12, len)],
        );
        // The loader protects whole pages: the code page here.
        s.set_ctrl(ctrl::RO_SIZE, 0x1000);
        s.mem.write(0x8000, &[0x61; 1024]);
        s.set_input(b"abcdef");
        s.set_ctrl(ctrl::INPUT_POS, pos);
        s.set_ctrl(ctrl::OUTPUT_LEN, out_len);
        let mut pair = Pair::new(s, microcode());
        pair.check_next(0, &mut Stats::default())
            .unwrap_or_else(|e| panic!("{what}: the machines disagree: {e}"));
        let st = pair.state();
        assert_eq!(st.x(10), ret, "{what}: a0");
        assert_eq!(st.pc(), 0x1004, "{what}: goes on");
        if a7 == W {
            assert_eq!(
                st.ctrl(ctrl::OUTPUT_LEN) - out_len,
                moved,
                "{what}: bytes written"
            );
        } else {
            assert_eq!(st.ctrl(ctrl::INPUT_POS) - pos, moved, "{what}: bytes read");
        }
    }
}
