//! Machine AB against machine A: every step of every committed guest, the
//! fast path against stepping every tick, the cleaning invariant, the
//! micro-step bound of the slowest instructions, and a deliberately broken
//! microcode caught at the right step.

mod support;

use mswap::check::{Options, Stats, check_range, double_check};
use mswap::fast::Machine;
use mswap::fast::isa::{Op, decode};
use mswap::micro::isa::{Uop, op};
use mswap::micro::microcode::{Microcode, assemble, microcode};
use mswap::micro::{CLEAN_AT, MicroMachine, Q_PRISTINE, USTEPS, q_root, r_root};
use mswap::state::tree::root;
use support::{code_state, enc, guest_elf, guest_state, guests};

/// Guests every test run must find (the suite is committed with its ELFs).
const REQUIRED: [&str; 6] = ["hello", "echo", "sort", "sha256", "numeric", "alu"];

#[test]
fn ab_equals_a_on_every_step_of_every_guest() {
    let all = guests();
    for name in REQUIRED {
        assert!(
            all.iter().any(|(n, _, _)| n == name),
            "guest {name} is missing from examples/guests/bin"
        );
    }
    let mut classes_seen = vec![0u64; Stats::default().per_op.len()];
    for (name, elf, input) in all {
        // Machine A alone: how many steps the guest takes to halt (the long
        // benchmark loop runs with its small sample input).
        let mut a = Machine::new(guest_state(&elf, &input));
        let n = a.run(10_000_000);
        assert!(a.state().halted(), "{name}: still running after {n} steps");
        // The cap is only a guard: the check must see the halt.
        let opts = Options {
            max_steps: 10_000_000,
            ..Options::default()
        };
        let stats = double_check(guest_state(&elf, &input), &opts, microcode())
            .unwrap_or_else(|m| panic!("{name}: {m}"));
        assert_eq!(
            stats.halted_at,
            Some(n - 1),
            "{name}: the check saw the halt at A's last step"
        );
        assert_eq!(
            stats.transitions,
            n + 1,
            "{name}: every step and the halted identity"
        );
        // The statistics add up: one class per executed instruction, their
        // micro-steps sum to the total, none above 2^a - 1, and an
        // instruction takes at least the fetch and decode.
        let count: u64 = stats.per_op.iter().map(|c| c.0).sum();
        let usteps: u64 = stats.per_op.iter().map(|c| c.1).sum();
        assert_eq!(count, n, "{name}: instructions by class");
        assert_eq!(usteps, stats.usteps, "{name}: micro-steps by class");
        assert!(
            stats.max_usteps() <= CLEAN_AT,
            "{name}: {} micro-steps",
            stats.max_usteps()
        );
        assert!(
            stats.usteps >= 8 * n,
            "{name}: {} micro-steps for {n} instructions",
            stats.usteps
        );
        for (seen, c) in classes_seen.iter_mut().zip(&stats.per_op) {
            assert!(
                c.2 <= c.1 && c.1 >= c.0,
                "{name}: a class's most, total and count disagree"
            );
            *seen += c.0;
        }
    }
    // Together the guests execute every instruction class of RV64IM (and
    // the illegal one, in the fault guests), except `fence`, a no-op that
    // the single-instruction tests cover (tests/micro_props.rs). The C and
    // A classes and `fence.i` that no guest here executes are run on both
    // machines by tests/fast_rvc_amo.rs (every encoding) and, step by step
    // with the micro-machine, by the official tests in
    // tests/qemu_riscv_tests.rs.
    let missing: Vec<&str> = classes_seen
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == 0)
        .map(|(i, _)| Stats::class_name(i))
        .filter(|c| *c != "fence")
        .filter(|c| !(c.starts_with("c.") || c.starts_with("amo") || *c == "fence.i"))
        .collect();
    assert!(missing.is_empty(), "no guest executes {missing:?}");
}

#[test]
fn the_fast_path_ends_where_stepping_every_tick_ends_and_q_is_pristine_at_every_boundary() {
    // A mix of instructions, including a write system call and an exit.
    let code = [
        enc::addi(5, 0, 7),
        enc::r(1, 5, 5, 0, 6, 0x33), // mul x6, x5, x5
        enc::r(1, 5, 6, 4, 7, 0x33), // div x7, x6, x5
        enc::s(8, 6, 2, 3),          // sd x6, 8(sp)
        enc::addi(17, 0, 64),
        enc::addi(10, 0, 1),
        enc::addi(11, 2, 8),
        enc::addi(12, 0, 8),
        enc::ECALL,
        enc::addi(17, 0, 93),
        enc::ECALL,
        enc::addi(5, 0, 1), // never reached: the machine halted
    ];
    let s0 = code_state(&code, &[(2, 0x8000)]);
    let mut fast = MicroMachine::attach(s0.clone());
    let mut full = MicroMachine::attach(s0.clone());
    let mut a = Machine::new(s0);
    for t in 0..13 {
        fast.run_a_step(None);
        for k in 0..USTEPS {
            full.step();
            if k < USTEPS - 1 {
                assert!(full.clock() == k + 1, "t {t}: clock after {k} ticks");
            }
        }
        assert_eq!(full.q, Q_PRISTINE, "t {t}: Q == Q* at the 2^a boundary");
        assert_eq!(fast.q, Q_PRISTINE, "t {t}: fast path Q");
        assert!(
            fast.s.first_difference(&full.s).is_none(),
            "t {t}: fast path == every tick"
        );
        a.run(1);
        assert!(
            a.state().first_difference(&full.s).is_none(),
            "t {t}: A == strip(AB^(2^a))"
        );
        // The halted identity from t = 11 on: the status stays exited.
        assert_eq!(a.state().halted(), t >= 10, "t {t}: halted after the exit");
    }
    assert_eq!(a.state().output(), 49u64.to_le_bytes());
    assert_eq!(a.state().pc(), 0x1000 + 4 * 10, "pc stays at the exit");
    // root(R) at a boundary is the attached root of root(S).
    assert_eq!(
        r_root(&q_root(&full.q), &root(&full.s)),
        mswap::micro::attached_root(&root(a.state()))
    );
}

#[test]
fn the_slowest_instructions_fit_in_2_to_the_a_micro_steps() {
    let worst = [
        ("mulh", enc::r(1, 6, 5, 1, 7, 0x33)),
        ("mulhsu", enc::r(1, 6, 5, 2, 7, 0x33)),
        ("mulhu", enc::r(1, 6, 5, 3, 7, 0x33)),
        ("mul", enc::r(1, 6, 5, 0, 7, 0x33)),
        ("div", enc::r(1, 6, 5, 4, 7, 0x33)),
        ("divu", enc::r(1, 6, 5, 5, 7, 0x33)),
        ("rem", enc::r(1, 6, 5, 6, 7, 0x33)),
        ("remu", enc::r(1, 6, 5, 7, 7, 0x33)),
        ("divw", enc::r(1, 6, 5, 4, 7, 0x3b)),
        ("remuw", enc::r(1, 6, 5, 7, 7, 0x3b)),
        ("mulw", enc::r(1, 6, 5, 0, 7, 0x3b)),
        // The slowest of the new classes: AMOs with a comparison, sc with a
        // reservation, misaligned loads and stores, compressed instructions
        // with scattered immediates.
        ("amomaxu.d", 0xe062_b3af),
        ("amomin.w", 0x8062_a3af),
        ("sc.d", 0x1862_b3af),
        ("ld misaligned", enc::i(0x7ff, 5, 3, 7, 0x03)),
        ("sd misaligned", enc::s(0x7ff, 6, 5, 3)),
        ("c.j + c.nop", 0x0001_b001),
        ("c.bnez + c.nop", 0x0001_ec7d),
        ("c.addi16sp + c.nop", 0x0001_617d),
    ];
    let operands = [
        u64::MAX,
        1,
        3,
        0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0001,
        0x5555_5555_5555_5555,
        0x8000, // an address: the AMOs and sc succeed there
    ];
    let mut most = 0;
    for (name, w) in worst {
        for &x in &operands {
            for &y in &operands {
                let mut s = code_state(&[w], &[(5, x), (6, y), (8, x)]);
                s.set_ctrl(mswap::layout::ctrl::RESERVATION, x | 1);
                check_range(s.clone(), 0, 1, microcode()).unwrap_or_else(|m| panic!("{name}: {m}"));
                let mut m = MicroMachine::attach(s);
                let run = m.run_a_step(None);
                assert!(!run.overrun, "{name} {x:#x} {y:#x}");
                most = most.max(run.executed);
            }
        }
    }
    // write and read of a full chunk (IO_CHUNK bytes), unaligned buffers.
    for (a7, fd) in [(64u64, 1u64), (63, 0)] {
        let mut s = code_state(
            &[enc::ECALL],
            &[(17, a7), (10, fd), (11, 0x8003), (12, 5000)],
        );
        s.set_input(&[7u8; 5000]);
        let mut m = MicroMachine::attach(s.clone());
        let run = m.run_a_step(None);
        assert!(!run.overrun);
        most = most.max(run.executed);
        check_range(s, 0, 1, microcode()).expect("A == AB on a full chunk");
    }
    println!("most micro-steps of any instruction: {most} (2^a - 1 = {CLEAN_AT})");
    assert!(
        most <= CLEAN_AT,
        "{most} micro-steps do not fit in 2^a - 1 = {CLEAN_AT}"
    );
    // a is the smallest that fits, give or take one doubling of margin.
    assert!(
        most > CLEAN_AT / 4,
        "a = {} is larger than needed for {most} micro-steps",
        mswap::micro::LOG2_USTEPS
    );
}

/// The assembled microcode and the address of its label `name`.
fn assembled_at(name: &str) -> (mswap::micro::asm::Program, usize) {
    let program = assemble().expect("assembles");
    let at = program
        .names
        .iter()
        .find(|(_, n)| n == name)
        .map(|(a, _)| *a)
        .unwrap_or_else(|| panic!("{name} label"));
    (program, at)
}

#[test]
fn a_broken_microcode_routine_is_caught_at_the_right_step() {
    // Break `add`: make its ALU operation a subtraction.
    let (mut program, at) = assembled_at("add");
    let mut u = Uop::decode(program.words[at]);
    assert_eq!(u.op, op::ADD, "the add handler starts with its ALU op");
    u.op = op::SUB;
    program.words[at] = u.encode();
    let broken = Microcode::new(program);
    assert_ne!(broken.root, microcode().root);

    // Five instructions; the add (x7 = x5 + x6) is the fourth.
    let code = [
        enc::addi(5, 0, 9),
        enc::addi(6, 0, 4),
        enc::addi(8, 0, 1),
        enc::r(0, 6, 5, 0, 7, 0x33),
        enc::addi(9, 0, 1),
    ];
    let s = code_state(&code, &[]);
    let first_add = (0..code.len())
        .find(|&i| decode(code[i]).op == Op::Add)
        .unwrap() as u64;
    let m = check_range(s.clone(), 0, 10, &broken).expect_err("the broken microcode is caught");
    assert_eq!(m.step, first_add);
    let d = m.difference.expect("a difference");
    assert_eq!((d.what.as_str(), d.left, d.right), ("x7", 13, 5));
    // The good microcode passes the same run.
    check_range(s, 0, 10, microcode()).expect("the real microcode agrees");
}

#[test]
fn a_microcode_that_overruns_is_reported() {
    // Make `addi` loop forever: its ALU op becomes a jump to itself.
    let (mut program, at) = assembled_at("addi");
    program.words[at] = Uop {
        op: op::JAL,
        rd: 0,
        ra: 0,
        rb: 0,
        func: 0,
        imm: at as i64,
    }
    .encode();
    let broken = Microcode::new(program);
    let m = check_range(code_state(&[enc::addi(5, 0, 1)], &[]), 0, 1, &broken).expect_err("caught");
    assert!(m.overrun, "{m}");
    assert_eq!(m.step, 0);
}

#[test]
fn the_parallel_check_reports_the_first_failing_step() {
    // Break `sub` (less frequent than add): its ALU operation becomes an addition.
    let (mut program, at) = assembled_at("sub");
    let mut u = Uop::decode(program.words[at]);
    u.op = op::ADD;
    program.words[at] = u.encode();
    let broken = Microcode::new(program);
    let (elf, input) = guest_elf("sort");
    // The first `sub` whose operands make add and sub differ (rs2 != 0).
    let mut a = Machine::new(guest_state(&elf, &input));
    let mut first = None;
    for t in 0..2_000_000u64 {
        let s = a.state();
        let i = decode(s.mem.read_u32(s.pc()));
        if i.op == Op::Sub && s.x(i.rs2 as usize) != 0 {
            first = Some(t);
            break;
        }
        a.run(1);
    }
    let first = first.expect("sort subtracts");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let opts = Options {
            segment: 64,
            ..Options::default()
        };
        let m = pool
            .install(|| double_check(guest_state(&elf, &input), &opts, &broken))
            .expect_err("the broken microcode is caught");
        assert_eq!(m.step, first, "{threads} thread(s): the first failing step");
    }
}
