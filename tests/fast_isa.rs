//! Machine A, one instruction at a time, against expected values worked out
//! by hand from the RISC-V specification: every RV64I and M instruction with
//! its corner cases, every fault, and the three system calls. The C and A
//! extensions and misaligned accesses are in `tests/fast_rvc_amo.rs`.

mod support;

use mswap::fast::Machine;
use mswap::layout::{Fault, Status, ctrl, sys};
use mswap::state::State;
use support::{code_state, enc};

const MIN: u64 = i64::MIN as u64;
const NEG1: u64 = u64::MAX;

fn r(f7: u32, f3: u32, op: u32) -> u32 {
    enc::r(f7, 6, 5, f3, 7, op) // x7 = x5 op x6
}
fn imm(f3: u32, op: u32, imm: i32) -> u32 {
    enc::i(imm, 5, f3, 7, op) // x7 = x5 op imm
}

/// Runs one instruction with x5 = a, x6 = b; returns the machine.
fn one(word: u32, a: u64, b: u64) -> Machine {
    let mut m = Machine::new(code_state(&[word], &[(5, a), (6, b), (2, 0x8000)]));
    assert_eq!(m.run(1), 1);
    m
}

fn x7(word: u32, a: u64, b: u64) -> u64 {
    let m = one(word, a, b);
    assert_eq!(
        m.status(),
        Status::Running,
        "{}",
        mswap::fast::isa::disassemble(word)
    );
    assert_eq!(m.state().pc(), 0x1004);
    m.state().x(7)
}

#[test]
fn rv64i_register_register() {
    let cases: &[(&str, u32, u64, u64, u64)] = &[
        ("add", r(0, 0, 0x33), NEG1, 1, 0),
        ("add wraps", r(0, 0, 0x33), i64::MAX as u64, 1, MIN),
        ("sub", r(0x20, 0, 0x33), 0, 1, NEG1),
        ("sll by 63", r(0, 1, 0x33), 1, 63, MIN),
        ("sll uses 6 bits", r(0, 1, 0x33), 1, 64 + 3, 8),
        ("slt", r(0, 2, 0x33), NEG1, 0, 1),
        ("slt equal", r(0, 2, 0x33), 5, 5, 0),
        ("sltu", r(0, 3, 0x33), NEG1, 0, 0),
        ("xor", r(0, 4, 0x33), 0xff00, 0x0ff0, 0xf0f0),
        ("srl", r(0, 5, 0x33), MIN, 63, 1),
        ("sra", r(0x20, 5, 0x33), MIN, 63, NEG1),
        ("sra by 0", r(0x20, 5, 0x33), MIN, 64, MIN),
        ("or", r(0, 6, 0x33), 0xf0, 0x0f, 0xff),
        ("and", r(0, 7, 0x33), 0xf0, 0x3c, 0x30),
        (
            "addw sign-extends",
            r(0, 0, 0x3b),
            0x7fff_ffff,
            1,
            0xffff_ffff_8000_0000,
        ),
        (
            "addw ignores upper bits",
            r(0, 0, 0x3b),
            0x1234_0000_0001,
            0xffff_0000_0002,
            3,
        ),
        ("subw", r(0x20, 0, 0x3b), 0, 1, NEG1),
        ("sllw by 31", r(0, 1, 0x3b), 1, 31, 0xffff_ffff_8000_0000),
        ("sllw uses 5 bits", r(0, 1, 0x3b), 1, 32 + 1, 2),
        ("srlw", r(0, 5, 0x3b), 0xffff_ffff_8000_0000, 31, 1),
        (
            "srlw by 0 sign-extends",
            r(0, 5, 0x3b),
            0x8000_0000,
            0,
            0xffff_ffff_8000_0000,
        ),
        ("sraw", r(0x20, 5, 0x3b), 0x8000_0000, 31, NEG1),
    ];
    for &(name, w, a, b, want) in cases {
        assert_eq!(x7(w, a, b), want, "{name}");
    }
}

#[test]
fn rv64i_immediates_and_upper() {
    let cases: &[(&str, u32, u64, u64)] = &[
        ("addi -1", imm(0, 0x13, -1), 0, NEG1),
        ("addi 2047", imm(0, 0x13, 2047), 1, 2048),
        ("addi -2048", imm(0, 0x13, -2048), 0, (-2048i64) as u64),
        ("slti", imm(2, 0x13, -1), MIN, 1),
        ("sltiu -1 is the largest", imm(3, 0x13, -1), NEG1 - 1, 1),
        ("xori -1 is not", imm(4, 0x13, -1), 0x0f, !0x0f),
        ("ori", imm(6, 0x13, 0x555), 0xaa0, 0xff5),
        ("andi sign-extends", imm(7, 0x13, -16), 0xff, 0xf0),
        ("slli 63", imm(1, 0x13, 63), 1, MIN),
        ("srli 63", imm(5, 0x13, 63), MIN, 1),
        ("srai 63", imm(5, 0x13, 0x400 | 63), MIN, NEG1),
        ("srai 0", imm(5, 0x13, 0x400), 5, 5),
        ("addiw", imm(0, 0x1b, 1), 0x7fff_ffff, 0xffff_ffff_8000_0000),
        (
            "addiw 0 sign-extends",
            imm(0, 0x1b, 0),
            0x1_8000_0000,
            0xffff_ffff_8000_0000,
        ),
        ("slliw 31", imm(1, 0x1b, 31), 1, 0xffff_ffff_8000_0000),
        ("srliw 31", imm(5, 0x1b, 31), 0x8000_0000, 1),
        ("sraiw 31", imm(5, 0x1b, 0x400 | 31), 0x8000_0000, NEG1),
    ];
    for &(name, w, a, want) in cases {
        assert_eq!(x7(w, a, 0), want, "{name}");
    }
    // lui / auipc sign-extend their 32-bit result.
    assert_eq!(
        x7(0x8000_03b7, 0, 0),
        0xffff_ffff_8000_0000,
        "lui x7, 0x80000"
    );
    assert_eq!(x7(0x7fff_f3b7, 0, 0), 0x7fff_f000, "lui x7, 0x7ffff");
    assert_eq!(
        x7(0xffff_f397, 0, 0),
        0x1000u64.wrapping_sub(0x1000),
        "auipc x7, -1 at pc 0x1000"
    );
    assert_eq!(x7(0x0000_1397, 0, 0), 0x2000, "auipc x7, 1");
}

#[test]
fn m_extension_corner_cases() {
    let m = |f3| r(1, f3, 0x33);
    let w = |f3| r(1, f3, 0x3b);
    let cases: &[(&str, u32, u64, u64, u64)] = &[
        ("mul wraps", m(0), MIN, NEG1, MIN),
        ("mulh -1 * -1", m(1), NEG1, NEG1, 0),
        ("mulh min * min", m(1), MIN, MIN, 0x4000_0000_0000_0000),
        ("mulh min * -1", m(1), MIN, NEG1, 0),
        ("mulhsu -1 * max", m(2), NEG1, NEG1, NEG1),
        ("mulhsu 1 * max", m(2), 1, NEG1, 0),
        ("mulhu max * max", m(3), NEG1, NEG1, NEG1 - 1),
        ("div by zero", m(4), 7, 0, NEG1),
        ("div overflow", m(4), MIN, NEG1, MIN),
        (
            "div truncates toward zero",
            m(4),
            (-7i64) as u64,
            2,
            (-3i64) as u64,
        ),
        ("divu by zero", m(5), 7, 0, NEG1),
        ("divu", m(5), NEG1, 2, i64::MAX as u64),
        ("rem by zero", m(6), (-7i64) as u64, 0, (-7i64) as u64),
        ("rem overflow", m(6), MIN, NEG1, 0),
        ("rem sign of dividend", m(6), (-7i64) as u64, 2, NEG1),
        ("remu by zero", m(7), 7, 0, 7),
        ("remu", m(7), NEG1, 10, 5),
        ("mulw", w(0), 0x8000_0000, 2, 0),
        (
            "mulw sign-extends",
            w(0),
            0x4000_0000,
            2,
            0xffff_ffff_8000_0000,
        ),
        ("divw by zero", w(4), 7, 0, NEG1),
        (
            "divw overflow",
            w(4),
            0x8000_0000,
            0xffff_ffff,
            0xffff_ffff_8000_0000,
        ),
        (
            "divw ignores upper bits",
            w(4),
            0x5_0000_0010,
            0x7_0000_0004,
            4,
        ),
        ("divuw by zero", w(5), 7, 0, NEG1),
        ("divuw", w(5), 0xffff_ffff, 2, 0x7fff_ffff),
        (
            "divuw sign-extends",
            w(5),
            0xffff_fffe,
            1,
            0xffff_ffff_ffff_fffe,
        ),
        (
            "remw by zero",
            w(6),
            0x1_8000_0000,
            0,
            0xffff_ffff_8000_0000,
        ),
        ("remw overflow", w(6), 0x8000_0000, 0xffff_ffff, 0),
        (
            "remuw by zero",
            w(7),
            0x1_8000_0001,
            0,
            0xffff_ffff_8000_0001,
        ),
        ("remuw", w(7), 0xffff_ffff, 10, 5),
    ];
    for &(name, word, a, b, want) in cases {
        assert_eq!(x7(word, a, b), want, "{name}");
    }
}

fn run_code(code: &[u32], regs: &[(usize, u64)], steps: u64) -> Machine {
    let mut m = Machine::new(code_state(code, regs));
    m.run(steps);
    m
}

#[test]
fn loads_and_stores_of_every_width() {
    // sd x6, 0(x5); then loads of every width from 0(x5) + off.
    let v = 0x8081_8283_8485_8687u64;
    let base = 0x8000u64;
    for (f3, off, want) in [
        (0u32, 0i32, 0xffff_ffff_ffff_ff87u64), // lb
        (4, 0, 0x87),                           // lbu
        (0, 7, 0xffff_ffff_ffff_ff80),
        (1, 6, 0xffff_ffff_ffff_8081), // lh
        (5, 6, 0x8081),                // lhu
        (2, 4, 0xffff_ffff_8081_8283), // lw
        (6, 4, 0x8081_8283),           // lwu
        (3, 0, v),                     // ld
    ] {
        let m = run_code(
            &[enc::s(0, 6, 5, 3), enc::i(off, 5, f3, 7, 0x03)],
            &[(5, base), (6, v)],
            2,
        );
        assert_eq!(m.state().x(7), want, "load f3 {f3} off {off}");
    }
    for (f3, off, want) in [
        (0u32, 3i32, 0xaa00_0000u64),
        (1, 2, 0xaaaa_0000),
        (2, 4, 0xaaaa_aaaa_0000_0000),
        (3, 0, 0xaaaa_aaaa_aaaa_aaaa),
    ] {
        let m = run_code(
            &[enc::s(off, 6, 5, f3)],
            &[(5, base), (6, 0xaaaa_aaaa_aaaa_aaaa)],
            1,
        );
        assert_eq!(
            m.state().mem.read_u64(base),
            want,
            "store f3 {f3} off {off}"
        );
    }
    // A load into x0 still checks the address, and x0 stays 0.
    let m = run_code(&[enc::i(1, 5, 3, 0, 0x03)], &[(5, (1 << 32) - 8)], 1);
    assert_eq!(
        m.status(),
        Status::Faulted {
            fault: Fault::LoadAccess,
            tval: (1 << 32) - 7
        }
    );
    let m = run_code(&[enc::i(0, 5, 3, 0, 0x03)], &[(5, base)], 1);
    assert_eq!((m.status(), m.state().x(0)), (Status::Running, 0));
}

#[test]
fn jumps_and_branches() {
    // jal x1, +8
    let m = run_code(&[0x0080_00ef], &[], 1);
    assert_eq!((m.state().pc(), m.state().x(1)), (0x1008, 0x1004));
    // jalr x1, 3(x5) clears bit 0 of the target; rd == rs1 uses the old value.
    let m = run_code(&[enc::i(3, 5, 0, 5, 0x67)], &[(5, 0x1005)], 1);
    assert_eq!((m.state().pc(), m.state().x(5)), (0x1008, 0x1004));
    // jalr to a target that is 2 mod 4 is fine with compressed instructions.
    let m = run_code(&[enc::i(2, 5, 0, 7, 0x67)], &[(5, 0x1000)], 1);
    assert_eq!(m.status(), Status::Running);
    assert_eq!((m.state().pc(), m.state().x(7)), (0x1002, 0x1004));
    // Branches: taken, not taken, to 2 mod 4 as well.
    let b = |f3: u32, imm: u32| {
        ((imm >> 12 & 1) << 31)
            | ((imm >> 5 & 0x3f) << 25)
            | (6 << 20)
            | (5 << 15)
            | (f3 << 12)
            | ((imm >> 1 & 0xf) << 8)
            | ((imm >> 11 & 1) << 7)
            | 0x63
    };
    for (f3, a, bb, taken) in [
        (0u32, 1u64, 1u64, true),
        (1, 1, 1, false),
        (4, NEG1, 0, true),  // blt: -1 < 0
        (6, NEG1, 0, false), // bltu: max > 0
        (5, 0, NEG1, true),  // bge
        (7, 0, NEG1, false), // bgeu
    ] {
        let m = run_code(&[b(f3, 8)], &[(5, a), (6, bb)], 1);
        assert_eq!(
            m.state().pc(),
            if taken { 0x1008 } else { 0x1004 },
            "branch f3 {f3}"
        );
        let m = run_code(&[b(f3, 6)], &[(5, a), (6, bb)], 1);
        assert_eq!(
            (m.status(), m.state().pc()),
            (Status::Running, if taken { 0x1006 } else { 0x1004 }),
            "f3 {f3}"
        );
    }
}

#[test]
fn every_fault_halts_with_its_cause_and_changes_nothing_else() {
    type Case<'a> = (&'a str, u32, &'a [(usize, u64)], Fault, u64);
    let cases: &[Case] = &[
        (
            "illegal word",
            0xffff_ffff,
            &[],
            Fault::IllegalInstruction,
            0xffff_ffff,
        ),
        ("all zero", 0, &[], Fault::IllegalInstruction, 0),
        (
            "reserved compressed (c.lui x0, 0)",
            0x0000_6001,
            &[],
            Fault::IllegalInstruction,
            0x6001,
        ),
        ("c.ebreak", 0x0000_9002, &[], Fault::Breakpoint, 0x1000),
        (
            "slliw bit 25",
            0x0200_101b,
            &[],
            Fault::IllegalInstruction,
            0x0200_101b,
        ),
        (
            "srai funct6",
            0x6000_5013,
            &[],
            Fault::IllegalInstruction,
            0x6000_5013,
        ),
        (
            "lr.w with rs2 set",
            0x1010_222f,
            &[],
            Fault::IllegalInstruction,
            0x1010_222f,
        ),
        (
            "csrrs",
            0xc000_2573,
            &[],
            Fault::IllegalInstruction,
            0xc000_2573,
        ),
        ("ebreak", 0x0010_0073, &[], Fault::Breakpoint, 0x1000),
        (
            "unknown syscall",
            enc::ECALL,
            &[(17, 214)],
            Fault::UnknownSyscall,
            214,
        ),
        (
            "misaligned lr.d",
            0x1002_b3af, // lr.d x7, (x5)
            &[(5, 0x8004)],
            Fault::LoadMisaligned,
            0x8004,
        ),
        (
            "misaligned load past the end of memory",
            enc::i(-3, 5, 2, 7, 0x03),
            &[(5, 1 << 32)],
            Fault::LoadAccess,
            (1 << 32) - 3,
        ),
        (
            "load beyond memory",
            enc::i(0, 5, 3, 7, 0x03),
            &[(5, 1 << 32)],
            Fault::LoadAccess,
            1 << 32,
        ),
        (
            "load at -8",
            enc::i(-8, 0, 3, 7, 0x03),
            &[],
            Fault::LoadAccess,
            (-8i64) as u64,
        ),
        (
            "misaligned amoadd.w",
            0x0062_a3af, // amoadd.w x7, x6, (x5)
            &[(5, 0x8002)],
            Fault::StoreMisaligned,
            0x8002,
        ),
        (
            "misaligned sc.w",
            0x1862_a3af, // sc.w x7, x6, (x5)
            &[(5, 0x8001)],
            Fault::StoreMisaligned,
            0x8001,
        ),
        (
            "amoswap.d into code",
            0x0862_b3af, // amoswap.d x7, x6, (x5)
            &[(5, 0x1000)],
            Fault::StoreAccess,
            0x1000,
        ),
        (
            "misaligned store overlapping code",
            enc::s(-3, 6, 5, 3),
            &[(5, 0x1000)],
            Fault::StoreAccess,
            0xffd,
        ),
        (
            "store beyond memory",
            enc::s(0, 6, 5, 3),
            &[(5, 1 << 33)],
            Fault::StoreAccess,
            1 << 33,
        ),
        (
            "store into code",
            enc::s(0, 6, 5, 2),
            &[(5, 0x1000)],
            Fault::StoreAccess,
            0x1000,
        ),
    ];
    for &(name, word, regs, fault, tval) in cases {
        let s = code_state(&[word], regs);
        let mut m = Machine::new(s.clone());
        assert_eq!(
            m.run(5),
            1,
            "{name}: the faulting step counts, then nothing runs"
        );
        assert_eq!(m.status(), Status::Faulted { fault, tval }, "{name}");
        let d = m.state().first_difference(&s).expect("status changed");
        assert_eq!(d.what, "status", "{name}: only the status words change");
        assert_eq!(m.state().pc(), 0x1000, "{name}: pc stays");
        // A halted machine's step is the identity.
        let before = m.state().clone();
        assert_eq!(m.run(1), 0);
        assert!(m.state().first_difference(&before).is_none(), "{name}");
    }
    // A 32-bit instruction whose second half is outside the range: c.nop,
    // then the first half of an addi at 0x1002.
    let mut m = Machine::new(code_state(&[0x0013_0001], &[]));
    assert_eq!(m.run(5), 2);
    assert_eq!(
        m.status(),
        Status::Faulted {
            fault: Fault::InstructionAccess,
            tval: 0x1002
        }
    );
    // Fetch outside the executable range, or at an odd pc.
    for pc in [0x1004u64, 0x0ffc, 0x1001] {
        let mut s = code_state(&[enc::addi(5, 0, 1)], &[]);
        s.set_pc(pc);
        let mut m = Machine::new(s);
        m.run(1);
        assert_eq!(
            m.status(),
            Status::Faulted {
                fault: Fault::InstructionAccess,
                tval: pc
            }
        );
    }
}

fn syscall(regs: &[(usize, u64)], input: &[u8], setup: impl Fn(&mut State)) -> Machine {
    let mut s = code_state(&[enc::ECALL], regs);
    s.set_input(input);
    s.mem.write(0x8000, b"hello, world");
    setup(&mut s);
    let mut m = Machine::new(s);
    m.run(1);
    m
}

#[test]
fn system_calls() {
    // write to stdout and stderr, short at IO_CHUNK.
    let m = syscall(&[(17, 64), (10, 1), (11, 0x8000), (12, 5)], b"", |_| {});
    assert_eq!(
        (m.state().x(10), m.state().output()),
        (5, b"hello".to_vec())
    );
    let m = syscall(
        &[(17, 64), (10, 2), (11, 0x8000), (12, 10_000)],
        b"",
        |_| {},
    );
    assert_eq!(m.state().x(10), sys::IO_CHUNK);
    assert_eq!(m.state().output().len() as u64, sys::IO_CHUNK);
    // bad fd, bad buffer, len 0, full log.
    assert_eq!(
        syscall(&[(17, 64), (10, 3), (11, 0x8000), (12, 5)], b"", |_| {})
            .state()
            .x(10),
        sys::EBADF
    );
    assert_eq!(
        syscall(
            &[(17, 64), (10, 1), (11, (1 << 32) - 2), (12, 5)],
            b"",
            |_| {}
        )
        .state()
        .x(10),
        sys::EFAULT
    );
    assert_eq!(
        syscall(&[(17, 64), (10, 1), (11, 0x8000), (12, 0)], b"", |_| {})
            .state()
            .x(10),
        0
    );
    let full = syscall(&[(17, 64), (10, 1), (11, 0x8000), (12, 5)], b"", |s| {
        s.set_ctrl(ctrl::OUTPUT_LEN, 1 << 32)
    });
    assert_eq!(full.state().x(10), sys::ENOSPC);
    // read: short reads, EOF, bad fd, write-protected buffer.
    let m = syscall(
        &[(17, 63), (10, 0), (11, 0x9000), (12, 3)],
        b"abcdef",
        |_| {},
    );
    assert_eq!((m.state().x(10), m.state().ctrl(ctrl::INPUT_POS)), (3, 3));
    assert_eq!(&m.state().mem.read::<3>(0x9000).unwrap(), b"abc");
    let m = syscall(
        &[(17, 63), (10, 0), (11, 0x9000), (12, 100)],
        b"abcdef",
        |s| s.set_ctrl(ctrl::INPUT_POS, 6),
    );
    assert_eq!(m.state().x(10), 0, "end of input");
    assert_eq!(
        syscall(&[(17, 63), (10, 1), (11, 0x9000), (12, 3)], b"abc", |_| {})
            .state()
            .x(10),
        sys::EBADF
    );
    assert_eq!(
        syscall(&[(17, 63), (10, 0), (11, 0x0ffe), (12, 3)], b"abc", |_| {})
            .state()
            .x(10),
        sys::EFAULT
    );
    // exit keeps the full a0 and leaves pc at the ecall.
    let m = syscall(&[(17, 93), (10, 0x1_0000_0107)], b"", |_| {});
    assert_eq!(
        (m.status(), m.state().pc()),
        (Status::Exited(0x1_0000_0107), 0x1000)
    );
}

#[test]
fn running_in_chunks_ends_where_one_run_ends() {
    for name in ["sort", "numeric", "echo"] {
        let (elf, input) = support::guest_elf(name);
        let s0 = support::guest_state(&elf, &input);
        let mut whole = Machine::new(s0.clone());
        let total = whole.run(u64::MAX);
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3 {
            let mut m = Machine::new(s0.clone());
            let mut done = 0;
            while !m.state().halted() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = [1, 2, 3, 17, 1000, x % 50_000][(x % 6) as usize];
                done += m.run(n);
            }
            assert_eq!(done, total, "{name}: steps");
            assert!(
                m.state().first_difference(whole.state()).is_none(),
                "{name}: state"
            );
            // Running a halted machine does nothing.
            assert_eq!(m.run(10), 0);
        }
    }
}
