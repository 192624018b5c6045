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

/// Micro-instructions one A-step of `s` executes before its `IDLE`; the
/// IDLE must come before the cleaning step.
fn usteps_of(s: mswap::state::State, what: &dyn Fn() -> String) -> u64 {
    let mut m = MicroMachine::attach(s);
    let run = m.run_a_step(None);
    assert!(!run.overrun, "{}: the cleaning step came first", what());
    run.executed
}

/// The worst case of every instruction: every 16-bit encoding, every
/// 32-bit major opcode with every funct3 and the funct7 values that select
/// (R-type, shifts, the M extension and the AMOs) or make large and
/// negative immediates, over operands that reach the slow paths (AMOs and
/// sc at a valid address, misaligned loads and stores, faults out of
/// range), a fetch fault, and the system calls: every exit path, and read
/// and write of a full chunk and of short lengths with the source and the
/// destination at every alignment (those checked against machine A too,
/// with bytes that differ, as a shifted word copy must be).
///
/// The micro-instructions run at clocks `0 .. n`, the `IDLE` that ends
/// them at clock `n`, which must come before the cleaning step at
/// `CLEAN_AT = 2^a - 1`: `n <= 2^a - 2`. And `a` is the smallest that
/// fits: `n > 2^(a-1) - 2`.
#[test]
fn every_instruction_fits_in_2_to_the_a_micro_steps() {
    use mswap::layout::ctrl;
    let mut worst: Vec<(u64, String)> = Vec::new();
    let mut note = |n: u64, what: String| worst.push((n, what));
    let operands = [
        u64::MAX,
        0,
        1,
        0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000,
        0x5555_5555_5555_5555,
        0x8000, // an address: the AMOs and sc succeed there
        0x8003, // a misaligned one
    ];
    // Every 16-bit encoding (then c.nop), with the registers of the
    // compressed forms (x8..x15, sp) holding the operands.
    for h in (0..=0xffffu32).filter(|h| h & 3 != 3) {
        let mut most = 0;
        for &x in &operands[5..] {
            for &y in &operands[5..] {
                let mut regs = vec![(2, x)];
                regs.extend((8..16).map(|r| (r, if r % 2 == 0 { x } else { y })));
                let s = code_state(&[0x0001_0000 | h], &regs);
                most = most.max(usteps_of(s, &|| format!("{h:#06x} {x:#x} {y:#x}")));
            }
        }
        note(most, format!("{h:#06x} (16-bit)"));
    }
    // Every 32-bit major opcode: rd = x7, rs1 = x5, rs2 = x6.
    let funct7s = [
        0u32, 0x01, 0x20, 0x02, 0x04, 0x08, 0x0c, 0x10, 0x30, 0x40, 0x50, 0x60, 0x70, 0x3f, 0x7f,
    ];
    for opcode in (0..128u32).filter(|o| o & 3 == 3) {
        for f3 in 0..8 {
            for f7 in funct7s {
                let w = enc::r(f7, 6, 5, f3, 7, opcode);
                let mut most = 0;
                for &x in &operands {
                    for &y in &operands {
                        let mut s = code_state(&[w], &[(5, x), (6, y), (8, x)]);
                        s.set_ctrl(ctrl::RESERVATION, x | 1);
                        most = most.max(usteps_of(s, &|| format!("{w:#010x} {x:#x} {y:#x}")));
                    }
                }
                note(most, format!("{w:#010x}"));
            }
        }
    }
    // SYSTEM: ebreak, the CSR forms (illegal), and ecall with every number.
    for w in [0x0010_0073u32, 0x3400_2373, 0x0000_1073, 0x1050_0073] {
        note(
            usteps_of(code_state(&[w], &[]), &|| format!("{w:#010x}")),
            format!("{w:#010x}"),
        );
    }
    for a7 in [93u64, 94, 0, u64::MAX] {
        let s = code_state(&[enc::ECALL], &[(17, a7), (10, 3)]);
        note(
            usteps_of(s, &|| format!("ecall {a7}")),
            format!("ecall a7={a7}"),
        );
    }
    // A fetch fault: pc out of the executable range, and odd.
    for pc in [0x2000u64, 0x1001] {
        let mut s = code_state(&[enc::ECALL], &[]);
        s.set_pc(pc);
        note(
            usteps_of(s, &|| format!("fetch at {pc:#x}")),
            format!("fetch fault at {pc:#x}"),
        );
    }
    // read and write: bad fd, bad buffer, zero length, and every alignment
    // of the buffer and of the input position / output length, at full
    // chunk and short lengths.
    let input: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    for (a7, fd, name) in [(63u64, 0u64, "read"), (64, 1, "write")] {
        for (buf, len) in [(0x8000u64, 5000u64), (u64::MAX - 3, 8), (0x8000, 0)] {
            let mut s = code_state(&[enc::ECALL], &[(17, a7), (10, fd), (11, buf), (12, len)]);
            s.set_input(&input);
            note(
                usteps_of(s.clone(), &|| name.to_string()),
                format!("{name} buf {buf:#x} len {len}"),
            );
            let mut s = code_state(&[enc::ECALL], &[(17, a7), (10, 9), (11, buf), (12, len)]);
            s.set_input(&input);
            note(usteps_of(s, &|| name.to_string()), format!("{name} bad fd"));
        }
        for len in [1u64, 7, 8, 9, 15, 16, 17, 100, 5000] {
            for buf_off in 0..8 {
                for pos_off in 0..8 {
                    let mut s = code_state(
                        &[enc::ECALL],
                        &[(17, a7), (10, fd), (11, 0x8000 + buf_off), (12, len)],
                    );
                    s.set_input(&input);
                    s.set_ctrl(ctrl::INPUT_POS, pos_off);
                    s.set_ctrl(ctrl::OUTPUT_LEN, pos_off);
                    let what = || format!("{name} len {len} buf +{buf_off} pos +{pos_off}");
                    check_range(s.clone(), 0, 1, microcode())
                        .unwrap_or_else(|m| panic!("{}: {m}", what()));
                    note(usteps_of(s, &what), what());
                }
            }
        }
    }
    worst.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    println!(
        "the slowest instructions (micro-steps before the IDLE), the slowest case of each kind:"
    );
    let mut kinds = std::collections::BTreeSet::new();
    for (n, what) in &worst {
        let kind = match what {
            w if w.ends_with("(16-bit)") => "16-bit".to_string(),
            w if w.starts_with("0x") => "32-bit".to_string(),
            w => w.split(" len").next().unwrap_or(w).to_string(),
        };
        if kinds.len() < 12 && kinds.insert(kind) {
            println!("  {n:5}  {what}");
        }
    }
    let most = worst.first().map_or(0, |w| w.0);
    println!(
        "most micro-steps of any instruction: {most} (2^a - 2 = {})",
        CLEAN_AT - 1
    );
    assert!(
        most < CLEAN_AT,
        "{most} micro-steps and the IDLE do not come before the cleaning step at 2^a - 1 = {CLEAN_AT}"
    );
    assert!(
        most > USTEPS / 2 - 2,
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
