//! Machine A's JIT against its interpreter: state for state on every guest,
//! on random programs, at every step of a window, on self-modifying code,
//! on compressed code and on faults at the edges of translated regions.

mod support;

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::fast::jit::{Engine, HOT_VISITS, WARM_HOT_VISITS, WARMUP_STEPS, available};
use mswap::layout::ctrl;
use mswap::state::State;
use mswap::state::tree::root;
use support::enc::{ECALL, addi, b, i, r, s};
use support::{Rng, code_state, guest_elf, guest_state, guests};

fn jit_or_skip() -> bool {
    if !available() {
        eprintln!("NOTICE: the JIT is not available here; nothing to compare");
    }
    available()
}

/// Both engines from `s`, in the same chunks of steps; after every chunk
/// the step counts, the states and the dirty pages must be equal. `hot`:
/// the visits that make code hot (0: the JIT translates code on its first
/// visit, so that code that runs once runs in generated code too; None:
/// the default).
fn agree(
    what: &str,
    s: &State,
    chunks: &mut dyn FnMut() -> u64,
    cap: u64,
    hot: impl Into<Option<u16>>,
) -> (Machine, Machine) {
    let mut a = Machine::with_engine(s.clone(), Engine::Interp);
    let mut j = Machine::with_engine(s.clone(), Engine::Jit);
    if let Some(h) = hot.into() {
        j.set_hot_visits(h);
    }
    a.record_writes = true;
    j.record_writes = true;
    let mut total = 0;
    while total < cap && !a.state().halted() {
        let n = chunks();
        let (na, nj) = (a.run(n), j.run(n));
        assert_eq!(na, nj, "{what}: steps of a run({n}) after {total}");
        total += na;
        if let Some(d) = a.state().first_difference(j.state()) {
            panic!("{what}: after {total} steps: {d} (interpreter vs JIT)");
        }
        assert_eq!(
            a.state().mem.dirty_pages(),
            j.state().mem.dirty_pages(),
            "{what}: dirty pages after {total} steps"
        );
        assert_eq!(a.take_writes(), j.take_writes(), "{what}: writes");
    }
    (a, j)
}

#[test]
fn every_guest_agrees_state_for_state() {
    if !jit_or_skip() {
        return;
    }
    let mut g = Rng(0x5eed);
    for (name, elf, input) in guests() {
        let s = guest_state(&elf, &input);
        for (eager, cap) in [(false, 20_000_000), (true, 1_000_000)] {
            let mut chunks = || match g.below(4) {
                0 => 1 + g.below(100),
                1 => 1000 + g.below(10_000),
                _ => 100_000 + g.below(1_000_000),
            };
            let what = format!("{name} (eager: {eager})");
            let (a, j) = agree(
                &what,
                &s,
                &mut chunks,
                cap,
                if eager { Some(0) } else { None },
            );
            assert_eq!(root(a.state()), root(j.state()), "{what}: root");
            assert_eq!(a.state().output(), j.state().output(), "{what}: output");
            if eager && !name.starts_with("fault") {
                assert!(j.jit_stats().jit_steps > 0, "{what}: the JIT ran");
            }
        }
    }
}

#[test]
fn loop_runs_mostly_in_generated_code() {
    if !jit_or_skip() {
        return;
    }
    let (elf, input) = guest_elf("loop");
    let mut m = Machine::with_engine(guest_state(&elf, &input), Engine::Jit);
    // The default threshold, with no warm-up (2 M steps would all be
    // interpreted otherwise).
    m.set_hot_visits(HOT_VISITS);
    let n = m.run(u64::MAX);
    let st = m.jit_stats();
    // 2 M steps: the interpreter's share is the loop's first HOT_VISITS laps.
    assert!(st.jit_steps * 100 >= n * 98, "{st:?} of {n}");
    assert!(st.interp_steps + st.jit_steps == n, "{st:?} of {n}");
}

#[test]
fn short_runs_stay_in_the_interpreter_and_long_ones_leave_it() {
    if !jit_or_skip() {
        return;
    }
    // With the default settings: nothing is translated in a run shorter
    // than WARM_HOT_VISITS steps (no block can have started that often);
    // once a block has (loop.elf's inner loop, within its first million
    // steps) the warm-up ends before its WARMUP_STEPS and hot code goes to
    // the JIT's thread at once; once its regions are placed the rest of
    // the run is mostly native.
    let (elf, _) = guest_elf("loop");
    // loop.elf: some 870 steps per lap.
    let s = guest_state(&elf, b"40000");
    let mut m = Machine::with_engine(s.clone(), Engine::Jit);
    let short = u64::from(WARM_HOT_VISITS);
    assert_eq!(m.run(short), short);
    let st = m.jit_stats();
    assert_eq!((st.regions, st.jit_steps), (0, 0), "{st:?}");
    let warm = m.run(WARMUP_STEPS - short);
    m.settle_jit();
    let st = m.jit_stats();
    assert!(st.regions > 0, "the warm-up ended early: {st:?}");
    let interpreted = st.interp_steps;
    let rest = m.run(u64::MAX);
    let st = m.jit_stats();
    assert!(
        st.jit_steps * 10 >= rest * 8,
        "{st:?} of {rest} after the regions were placed"
    );
    assert!(st.interp_steps - interpreted < rest / 10, "{st:?}");
    let mut r = Machine::with_engine(s, Engine::Interp);
    assert_eq!(r.run(u64::MAX), short + warm + rest);
    assert_eq!(root(r.state()), root(m.state()));
}

#[test]
fn grouped_accesses_leave_where_one_of_them_fails() {
    if !jit_or_skip() {
        return;
    }
    // Four accesses through x9 (one check covers them all), in a loop of
    // 30 laps, from bases where all are fine, where the first ones are
    // fine and a later one is out of memory or stores into the
    // write-protected code, or where the base is misaligned (the
    // interpreter performs those accesses): the JIT leaves before the
    // first access of the group and the interpreter goes on exactly.
    let code = [
        addi(5, 0, 30),        // 0x1000: x5 = 30
        addi(17, 0, 93),       // 0x1004: a7 = exit
        i(0, 9, 3, 12, 0x03),  // 0x1008: loop: ld x12, 0(x9)
        s(8, 12, 9, 3),        // 0x100c: sd x12, 8(x9)
        addi(12, 12, 1),       // 0x1010: x12 += 1
        i(16, 9, 3, 13, 0x03), // 0x1014: ld x13, 16(x9)
        s(24, 12, 9, 2),       // 0x1018: sw x12, 24(x9)
        addi(5, 5, -1),        // 0x101c: x5 -= 1
        b(-24, 0, 5, 1),       // 0x1020: bne x5, x0, loop
        ECALL,                 // 0x1024
    ];
    for (what, base, faults) in [
        ("inside memory", 0x20_0000u64, false),
        ("misaligned", 0x20_0004, false),
        ("the third access past 2^32", (1u64 << 32) - 16, true),
        ("the last store into the code", 0x1000 - 24, true),
        ("the last store just below the code", 0x1000 - 28, false),
        ("below zero", 0u64.wrapping_sub(8), true),
    ] {
        let st = code_state(&code, &[(9, base)]);
        // (Runs of fewer than MIN_JIT_STEPS steps are interpreted.)
        for chunk in [u64::MAX, 64, 97] {
            let mut c = || chunk;
            let label = format!("{what} (chunks of {chunk})");
            let (a, j) = agree(&label, &st, &mut c, 10_000, 0);
            let faulted = matches!(a.state().status(), mswap::layout::Status::Faulted { .. });
            assert_eq!(faulted, faults, "{label}: {}", a.state().status());
            assert!(j.jit_stats().jit_steps > 0, "{label}");
        }
    }
}

#[test]
fn random_programs_agree() {
    if !jit_or_skip() {
        return;
    }
    let mut g = Rng(77);
    for seed in 1..=150 {
        let elf = support::random::program(seed, 300);
        let s = Program::load(&elf).expect("loads").initial_state(&[]);
        let mut chunks = || {
            if seed % 3 == 0 {
                64 + g.below(300)
            } else {
                u64::MAX
            }
        };
        let (a, _) = agree(&format!("seed {seed}"), &s, &mut chunks, 100_000, 0);
        assert_eq!(
            a.state().status(),
            mswap::layout::Status::Exited(0),
            "seed {seed}"
        );
    }
}

#[test]
fn every_step_of_a_window_has_the_same_root() {
    if !jit_or_skip() {
        return;
    }
    for (name, from, len) in [
        ("sort", 200_000u64, 48u64),
        ("sha256", 10_000, 24),
        ("keccak", 50_000, 24),
    ] {
        let (elf, mut input) = guest_elf(name);
        if name == "sort" {
            // Its own 20 000 numbers: 6.9 M steps.
            input.clear();
        }
        let s = guest_state(&elf, &input);
        let mut reference = Machine::with_engine(s.clone(), Engine::Interp);
        reference.run(from);
        for t in from..from + len {
            let mut j = Machine::with_engine(s.clone(), Engine::Jit);
            // Hot early enough for generated code to run before the window.
            j.set_hot_visits(16);
            assert_eq!(j.run(t), t, "{name}: run({t})");
            assert!(j.jit_stats().jit_steps > 0);
            assert_eq!(
                root(j.state()),
                root(reference.state()),
                "{name}: root at step {t}"
            );
            reference.run(1);
        }
    }
}

/// `jal x0, off`.
fn jal0(off: i32) -> u32 {
    let o = off as u32;
    (((o >> 20) & 1) << 31)
        | (((o >> 1) & 0x3ff) << 21)
        | (((o >> 11) & 1) << 20)
        | (((o >> 12) & 0xff) << 12)
        | 0x6f
}

#[test]
fn self_modifying_code_is_seen() {
    if !jit_or_skip() {
        return;
    }
    // A loop adds x7 to x6 1000 times; after 500 rounds it rewrites its own
    // `add` into a `sub`, and the JIT must drop its translation.
    let sub = r(0x20, 7, 6, 0, 6, 0x33);
    let code = [
        addi(5, 0, 1000),       // 0x1000: x5 = 1000
        addi(7, 0, 3),          // 0x1004: x7 = 3
        0x0000_1937,            // 0x1008: lui x18, 1 (x18 = 0x1000)
        0x0000_0000,            // 0x100c: (lui x19, sub >> 12, patched below)
        addi(19, 19, 0),        // 0x1010: (addi x19, x19, sub & 0xfff)
        r(0, 7, 6, 0, 6, 0x33), // 0x1014: loop: add x6, x6, x7
        addi(5, 5, -1),         // 0x1018: x5 -= 1
        addi(8, 0, 500),        // 0x101c: x8 = 500
        b(8, 8, 5, 1),          // 0x1020: bne x5, x8, +8
        s(0x14, 19, 18, 2),     // 0x1024: sw x19, 0x14(x18): the add becomes sub
        b(-20, 0, 5, 1),        // 0x1028: bne x5, x0, loop
        addi(17, 0, 93),        // 0x102c
        ECALL,                  // 0x1030
    ];
    let mut code = code.to_vec();
    let (hi, lo) = (
        (sub.wrapping_add(0x800)) & 0xffff_f000,
        (sub & 0xfff) as i32,
    );
    code[3] = hi | (19 << 7) | 0x37;
    code[4] = i(lo, 19, 0, 19, 0x13);
    let mut st = code_state(&code, &[]);
    // Writable code: no write-protected range.
    st.set_ctrl(ctrl::RO_SIZE, 0);
    for chunk in [u64::MAX, 64, 97, 200] {
        let mut c = || chunk;
        let (a, j) = agree(&format!("chunks of {chunk}"), &st, &mut c, 100_000, 16);
        assert_eq!(
            a.state().status(),
            mswap::layout::Status::Exited(0),
            "chunk {chunk}"
        );
        assert_eq!(a.state().x(6), 0, "500 adds and 500 subs of 3");
        if chunk == u64::MAX {
            assert!(j.jit_stats().flushes > 0, "{:?}", j.jit_stats());
        }
    }
}

#[test]
fn regions_made_on_the_jit_thread_are_used_once_placed_and_dropped_when_code_changes() {
    if !jit_or_skip() {
        return;
    }
    // A loop adds x7 to x6 40,000 times; 1,000 rounds after it turned hot
    // (WARM_HOT_VISITS rounds, the warm-up's early end) it rewrites its own
    // `add` into a `sub`. With the default settings its region is asked of
    // the JIT's thread once the loop is hot, so the rewrite comes either
    // after the region was placed (then the JIT drops it) or while it is
    // still being made (then it is dropped when it arrives).
    let rewrite = u32::from(WARM_HOT_VISITS) + 1_000;
    let sub = r(0x20, 7, 6, 0, 6, 0x33);
    let lui = |rd: u32, v: u32| (v.wrapping_add(0x800) & 0xffff_f000) | (rd << 7) | 0x37;
    // The low 12 bits of `v`, sign-extended (what `addi` adds after `lui`).
    let low = |v: u32| ((v << 20) as i32) >> 20;
    let code = vec![
        lui(5, 40_000),                    // 0x1000
        addi(5, 5, low(40_000)),           // 0x1004: x5 = 40,000
        addi(7, 0, 3),                     // 0x1008: x7 = 3
        lui(18, 0x1000),                   // 0x100c: x18 = 0x1000
        lui(19, sub),                      // 0x1010
        i(low(sub), 19, 0, 19, 0x13),      // 0x1014: x19 = the sub
        lui(8, 40_000 - rewrite),          // 0x1018
        addi(8, 8, low(40_000 - rewrite)), // 0x101c: x8 = the round of the rewrite, counted down
        r(0, 7, 6, 0, 6, 0x33),            // 0x1020: loop: add x6, x6, x7
        addi(5, 5, -1),                    // 0x1024: x5 -= 1
        b(8, 8, 5, 1),                     // 0x1028: bne x5, x8, +8
        s(0x20, 19, 18, 2),                // 0x102c: sw x19, 0x20(x18): the add becomes sub
        b(-16, 0, 5, 1),                   // 0x1030: bne x5, x0, loop
        addi(17, 0, 93),                   // 0x1034
        ECALL,                             // 0x1038
    ];
    let mut st = code_state(&code, &[]);
    st.set_ctrl(ctrl::RO_SIZE, 0);
    let mut reference = Machine::with_engine(st.clone(), Engine::Interp);
    let total = reference.run(u64::MAX);
    let adds = u64::from(rewrite);
    assert_eq!(
        reference.state().x(6),
        (3 * adds).wrapping_sub(3 * (40_000 - adds)),
        "adds, then subs, of 3"
    );
    // Half-way between the loop turning hot and the rewrite (4 steps a round).
    let pause = 8 + 4 * u64::from(rewrite - 500);
    // (steps before a pause, whether to wait for the JIT's thread there)
    for (pause, settle) in [(pause, true), (pause, false), (u64::MAX, false)] {
        let mut j = Machine::with_engine(st.clone(), Engine::Jit);
        let mut n = j.run(pause);
        if settle {
            j.settle_jit();
            assert!(j.jit_stats().regions > 0, "the loop's region is placed");
        }
        n += j.run(u64::MAX);
        let what = format!("pause at {pause}, settle {settle}");
        assert_eq!(n, total, "{what}: steps");
        if let Some(d) = reference.state().first_difference(j.state()) {
            panic!("{what}: {d} (interpreter vs JIT)");
        }
        if settle {
            let st = j.jit_stats();
            assert!(st.jit_steps > 0 && st.flushes > 0, "{what}: {st:?}");
        }
    }
}

#[test]
fn faults_at_the_first_and_last_instruction_of_a_region() {
    if !jit_or_skip() {
        return;
    }
    // Instructions that leave generated code (x9 = 1, x10 = 2^32, x11 =
    // 0x1000 inside the code), and whether they fault: misaligned accesses
    // do not (the interpreter performs them), nor does a jump to a pc that
    // is 2 mod 4 (legal with compressed code; here the upper half of the
    // first instruction, which the interpreter then runs).
    let cases: [(&str, u32, bool); 9] = [
        ("load misaligned", i(0, 9, 3, 12, 0x03), false), // ld x12, 0(x9)
        ("load range", i(0, 10, 2, 12, 0x03), true),      // lw x12, 0(x10)
        ("store misaligned", s(0, 12, 9, 2), false),      // sw x12, 0(x9)
        ("store range", s(0, 12, 10, 0), true),           // sb x12, 0(x10)
        ("store code", s(0, 12, 11, 3), true),            // sd x12, 0(x11)
        ("illegal", 0xffff_ffff, true),
        ("ebreak", 0x0010_0073, true),
        ("jalr to 2 mod 4", i(2, 11, 0, 0, 0x67), false), // jalr x0, 2(x11)
        ("unknown ecall", ECALL, true),                   // a7 = 0
    ];
    for (what, bad, faults) in cases {
        for place in ["entry", "middle", "end"] {
            // A counted loop (so that generated code runs), then the fault:
            // at a region's entry (reached by jalr), in the middle of a block,
            // or as the last instruction before the block's branch.
            let mut code = vec![
                addi(5, 0, 40),
                addi(9, 0, 1),
                0x0000_0537 | (1 << 12) | (0xfff << 12), // lui x10, 0xfffff (then shifted)
                addi(11, 0, 0),
                addi(5, 5, -1),
                b(-4, 0, 5, 1), // bne x5, x0, -4
            ];
            // x10 = 2^32: lui x10, 1; slli x10, x10, 20.
            code[2] = (1 << 12) | (10 << 7) | 0x37;
            code.insert(3, i(20, 10, 1, 10, 0x13));
            // x11 = 0x1000 (the code's start).
            code[4] = (1 << 12) | (11 << 7) | 0x37;
            match place {
                "entry" => {
                    // auipc x20, 0; jalr x0, 12(x20); (skipped); fault
                    code.push(0x17 | (20 << 7));
                    code.push(i(12, 20, 0, 0, 0x67));
                    code.push(addi(6, 6, 1));
                    code.push(bad);
                }
                "middle" => {
                    code.extend([addi(6, 6, 1), addi(6, 6, 2), bad, addi(6, 6, 3)]);
                    code.push(jal0(-4));
                }
                _ => {
                    code.extend([addi(6, 6, 1), bad, b(8, 0, 0, 0), addi(6, 6, 5)]);
                    code.push(jal0(0));
                }
            }
            let st = code_state(&code, &[]);
            // One run of at most 1000 steps (the cases that do not fault loop).
            let mut c = || 1000;
            let (a, j) = agree(&format!("{what} at the {place}"), &st, &mut c, 1000, 0);
            if faults {
                assert!(
                    matches!(a.state().status(), mswap::layout::Status::Faulted { .. }),
                    "{what} at the {place}: {}",
                    a.state().status()
                );
            }
            assert!(j.jit_stats().jit_steps > 0, "{what} at the {place}");
        }
    }
}

#[test]
fn a_wrong_translation_is_caught_by_the_double_check_at_its_step() {
    use mswap::check::{Options, double_check};
    use mswap::fast::isa::{Op, decode};
    use mswap::micro::microcode::microcode;
    if !jit_or_skip() {
        return;
    }
    let (elf, input) = guest_elf("sort");
    let s = guest_state(&elf, &input);
    // The first conditional branch executed after step 2000, and the step
    // at which the interpreter executes it for the first time.
    let mut m = Machine::with_engine(s.clone(), Engine::Interp);
    m.run(2000);
    let word = |m: &Machine| {
        let pc = m.state().pc();
        decode(mswap::fast::fetch(m.state(), pc).unwrap_or(0))
    };
    while !matches!(
        word(&m).op,
        Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
    ) {
        m.run(1);
    }
    let pc = m.state().pc();
    let mut first = Machine::with_engine(s.clone(), Engine::Interp);
    let mut t = 0;
    while first.state().pc() != pc {
        first.run(1);
        t += 1;
    }
    let opts = |engine| Options {
        segment: 512,
        max_steps: 4000,
        engine,
        ..Options::default()
    };
    double_check(s.clone(), &opts(Engine::Jit), microcode()).expect("the JIT is right");
    let bad = double_check(s, &opts(Engine::FlawedJit(pc)), microcode())
        .expect_err("the flawed translation is caught");
    assert_eq!(bad.engine, Some(Engine::FlawedJit(pc)), "{bad}");
    assert_eq!((bad.step, bad.pc), (t, pc), "{bad}");
    assert_eq!(
        bad.difference.as_ref().map(|d| d.what.as_str()),
        Some("pc"),
        "{bad}"
    );
}

#[test]
fn the_cli_gives_the_same_roots_with_either_engine() {
    let exe = env!("CARGO_BIN_EXE_mswap");
    let dir = support::guest_dir();
    let elf = dir.join("bin/sort.elf");
    let input = dir.join("inputs/sort.txt");
    let root_with = |engine: &str, step: u64| {
        let out = std::process::Command::new(exe)
            .arg("root")
            .arg(&elf)
            .arg("--input")
            .arg(&input)
            .args(["--step", &step.to_string(), "--engine", engine])
            .output()
            .expect("mswap runs");
        assert!(out.status.success(), "{engine} {step}: {out:?}");
        out.stdout
    };
    for step in [0, 100, 2_345, 4_980, 10_000] {
        assert_eq!(
            root_with("jit", step),
            root_with("interp", step),
            "step {step}"
        );
    }
    let bad = std::process::Command::new(exe)
        .args(["run", "--engine", "fast"])
        .output()
        .expect("mswap runs");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown engine"),
        "{bad:?}"
    );
}

#[test]
fn compressed_code_runs_in_generated_code() {
    if !jit_or_skip() {
        return;
    }
    // A loop of compressed and 32-bit instructions whose head is 2 mod 4,
    // then a jalr to a pc that is 2 mod 4.
    let halves: Vec<u16> = vec![
        0x44d1, // 0x1000: c.li x9, 20
        0x0313, 0x0013, // 0x1002: loop: addi x6, x6, 1
        0x14fd, // 0x1006: c.addi x9, -1
        0xfced, // 0x1008: c.bnez x9, loop (-6)
        0x0a17, 0x0000, // 0x100a: auipc x20, 0
        0x0067, 0x00ca, // 0x100e: jalr x0, 12(x20) (to 0x1016)
        0x0315, // 0x1012: c.addi x6, 5 (skipped)
        0x031d, // 0x1014: c.addi x6, 7 (skipped)
        0x0893, 0x05d0, // 0x1016: addi x17, x0, 93
        0x0073, 0x0000, // 0x101a: ecall
    ];
    let words: Vec<u32> = halves
        .chunks(2)
        .map(|c| c[0] as u32 | (*c.get(1).unwrap_or(&0) as u32) << 16)
        .collect();
    let mut st = code_state(&words, &[]);
    st.set_ctrl(ctrl::EXEC_SIZE, 2 * halves.len() as u64);
    let mut c = || u64::MAX;
    let (a, j) = agree("compressed", &st, &mut c, 1000, 0);
    assert_eq!(a.state().status(), mswap::layout::Status::Exited(0));
    assert_eq!((a.state().x(6), a.state().x(9)), (20, 0));
    // 65 steps, every one but the ecall in generated code.
    let n = 1 + 3 * 20 + 3 + 1;
    assert_eq!(j.jit_stats().jit_steps, n - 1, "{:?}", j.jit_stats());
}

#[test]
fn regions_chain_on_calls_and_returns_and_agree() {
    if !jit_or_skip() {
        return;
    }
    // Rust guests call and return all the time: with every block hot at
    // once, regions end at every call and return and continue in the next
    // region through the entry table (jal to another region, jalr).
    for name in ["rust_json", "rust_words", "rust_sha256"] {
        let (elf, input) = guest_elf(name);
        let s = guest_state(&elf, &input);
        let mut g = Rng(11);
        let mut chunks = || 1 + g.below(50_000);
        for hot in [0u16, 2] {
            let what = format!("{name} (hot after {hot})");
            let (a, j) = agree(&what, &s, &mut chunks, u64::MAX, hot);
            assert!(a.state().halted(), "{what}: ran to its end");
            assert!(j.jit_stats().jit_steps > 0, "{what}: {:?}", j.jit_stats());
            // Jumps between regions are counted in profiled runs.
            let mut p = Machine::with_engine(s.clone(), Engine::Jit);
            p.set_hot_visits(hot);
            p.set_jit_profile(true);
            p.run(u64::MAX);
            assert_eq!(
                p.state().first_difference(a.state()),
                None,
                "{what}: profiled"
            );
            let st = p.jit_stats();
            assert!(st.chains > 0 && st.jit_steps > 0, "{what}: {st:?}");
        }
    }
}

#[test]
fn code_turns_hot_in_the_middle_of_a_run_at_every_step() {
    if !jit_or_skip() {
        return;
    }
    // A run of t steps for every t across the point where the loop turns
    // hot (it is translated and entered in the middle of `run`): the same
    // state as the interpreter's at every t, and after it the rest of the
    // run in generated code agrees too.
    let (elf, input) = guest_elf("loop");
    let s = guest_state(&elf, &input);
    let mut reference = Machine::with_engine(s.clone(), Engine::Interp);
    let mut tiered = 0;
    for t in 0..400u64 {
        let mut j = Machine::with_engine(s.clone(), Engine::Jit);
        j.set_hot_visits(5);
        assert_eq!(j.run(t), if reference.state().halted() { 0 } else { t });
        if let Some(d) = reference.state().first_difference(j.state()) {
            panic!("run({t}): {d}");
        }
        tiered += (j.jit_stats().jit_steps > 0) as u32;
        if t == 399 {
            let (na, nj) = (reference.run(u64::MAX), j.run(u64::MAX));
            assert_eq!(na, nj, "to the end");
            assert_eq!(root(reference.state()), root(j.state()), "at the end");
        } else {
            reference.run(1);
        }
    }
    assert!(tiered > 300, "generated code ran in {tiered} of 400 runs");
}

#[test]
fn a_new_state_of_the_same_program_keeps_its_translations() {
    if !jit_or_skip() {
        return;
    }
    // A player replays from checkpoints with one machine: the code is the
    // same, so nothing is translated again, and each replay agrees with
    // the interpreter.
    let (elf, input) = guest_elf("rust_words");
    let s = guest_state(&elf, &input);
    let mut reference = Machine::with_engine(s.clone(), Engine::Interp);
    let mut checkpoints = vec![(0, s.clone())];
    for k in 1..6 {
        // rust_words on its sample input: 36,201 steps.
        reference.run(5_000);
        checkpoints.push((k * 5_000, reference.state().clone()));
    }
    let mut j = Machine::with_engine(s.clone(), Engine::Jit);
    j.set_hot_visits(2);
    let total = j.run(u64::MAX);
    let regions = j.jit_stats().regions;
    assert!(regions > 0);
    for (at, cp) in checkpoints.iter().rev() {
        assert!(j.replace_state(cp.clone()), "kept at {at}");
        let n = j.run(u64::MAX);
        assert_eq!(at + n, total, "from {at}");
        let mut r = Machine::with_engine(cp.clone(), Engine::Interp);
        r.run(u64::MAX);
        if let Some(d) = r.state().first_difference(j.state()) {
            panic!("from {at}: {d}");
        }
    }
    // Replays use what the first run translated: six fresh machines would
    // translate about six times as much; the replays only add code that
    // their own runs turned hot.
    let added = j.jit_stats().regions - regions;
    assert!(added < regions, "{regions} regions, then {added} more");
    // Another program: everything is made again.
    let (other, other_input) = guest_elf("rust_json");
    assert!(!j.replace_state(guest_state(&other, &other_input)));
    assert_eq!(j.jit_stats().regions, 0);
    // Writable code changed between the states: not the same code either.
    let mut changed = s.clone();
    let lo = changed.ctrl(ctrl::EXEC_LO);
    let w = changed.mem.read_u32(lo);
    changed.mem.write(lo, &(w ^ 0x100).to_le_bytes());
    let mut k = Machine::with_engine(s.clone(), Engine::Jit);
    k.run(1000);
    assert!(!k.replace_state(changed));
}
