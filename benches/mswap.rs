//! mswap's benchmarks. Run all sections, or some:
//!
//! ```text
//! cargo bench --bench mswap                 # fast micro proof game
//! cargo bench --bench mswap -- fast proof   # some sections
//! MSWAP_BENCH_ITERS=200000 cargo bench --bench mswap -- fast   # a shorter loop
//! ```
//!
//! Every figure is measured side by side in the same run (the machines are
//! shared and noisy: read the ratios, not the absolute numbers), and each
//! section ends with one line of its key ratios. Every engine gets the same
//! treatment: the best of `MSWAP_BENCH_RUNS` runs (default 2), the runs of
//! the engines interleaved, timed in CPU time (of the thread, or of the
//! child process for qemu, less qemu's start-up measured on an empty
//! guest) as well as wall time. A figure of another system
//! that is not measured here says where it comes from.
//!
//! - `fast`: machine A on `examples/guests/bin/loop.elf` (1.26 * 10^9
//!   instructions by default) against `qemu-riscv64` (a JIT: the ceiling)
//!   and the `ckb-vm` crate's interpreters (`TraceMachine` in Rust,
//!   `AsmMachine` in assembly), all on the same ELF with their outputs and
//!   exit codes compared; plus the cost of a full state root and of
//!   incremental ones over an image with 8 MiB of touched memory.
//! - `micro`: machine AB's micro-steps per second, its cost per A-step as a
//!   ratio to machine A, and `mswap check` throughput on 1 and 2 threads.
//! - `check`: the double-check's transitions per second on one core
//!   (`numeric.elf`, or `MSWAP_BENCH_CHECK_GUEST`), machine AB on the
//!   reference step function and on the fast engine side by side, and
//!   each as a ratio to the JIT running the same program.
//! - `proof`: size (binary, JSON) and verify time of each kind of step proof.
//! - `game`: the honest player's cost against one plain run (first pass,
//!   checkpoints, replays and roots for a whole bisection) and one dispute
//!   over loopback HTTP (rounds, time, bytes).
//! - `fanout`: rounds, moves, bytes over loopback HTTP and wall time of a
//!   whole dispute at `b = 20, 30, 40` for fan-outs `k = 2, 4, 8, 16, 32`
//!   (both levels) and the default levels, on `hello.elf` (a claim over
//!   `2^b` steps of a program that halts early: rounds depend on `b`, `a`
//!   and `k` only) with a defender whose only lie is its final root, so the
//!   bisection goes all the way down to the last micro-step of the last step.
//! - `fanout-long`: the same over `loop.elf` run for about `10^9` steps
//!   (`b = 30`, 1 200 000 iterations) with binary and the default levels,
//!   the honest players' replays and roots included.
//! - `imac`: micro-steps per instruction of the RV64IMAC classes (compressed
//!   beside their 32-bit expansion, atomics, misaligned loads and stores), as
//!   `mswap check --classes` counts them, and machine A on a Rust guest
//!   (`rust_sha256`, compressed code) against `qemu-riscv64` and ckb-vm
//!   (RV64IMC + A). `MSWAP_BENCH_RUST_MB` sets its input size (default 4).
//! - `disputes`: one `mswap defend` process against 1, 10, 100 and 1,000
//!   lying disputes of its true claim (`MSWAP_BENCH_DISPUTES=1,10`): its
//!   moves a second, CPU and peak memory; the referee's memory, and under
//!   attack from many loopback networks.

use mswap::check::{Options, double_check};
use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::micro::MicroMachine;
use mswap::micro::microcode::microcode;
use mswap::state::tree::StateTree;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

use support::{Time, ckb, cpu_secs, guest, line, memory_mib, qemu, root, runs, secs, timed};

// ---------------------------------------------------------------- fast

fn bench_fast() {
    line();
    println!("fast: machine A on loop.elf, beside qemu-riscv64 and ckb-vm");
    let elf = guest("loop");
    let input: Vec<u8> = std::env::var("MSWAP_BENCH_ITERS")
        .map(|s| s.into_bytes())
        .unwrap_or_default();
    let program = Program::load(&elf).expect("loads");
    let runs = runs();

    // Every engine runs `runs` times, in turn (mswap, qemu, ckb-vm Rust,
    // ckb-vm asm, then again), so that warm-up and the machine's other load
    // favour none; each keeps its best run. All must give mswap's output
    // and exit code.
    let names = [
        "mswap (machine A)",
        "qemu-riscv64 (JIT)",
        "ckb-vm TraceMachine (Rust)",
        "ckb-vm AsmMachine (asm)",
    ];
    let mut best = [Time::NONE; 4];
    let mut counts = [0u64; 4];
    // qemu runs as a whole process, mswap and ckb-vm in this one: qemu's
    // start-up (an empty guest's whole run) is taken off its times.
    let qemu_startup = support::startup(3, qemu);
    let mut qemu_missing = qemu_startup.as_ref().err().cloned();
    for _ in 0..runs {
        let ((steps, m), t) = timed(|| {
            let mut m = Machine::new(program.initial_state(&input));
            let steps = m.run(u64::MAX);
            (steps, m)
        });
        let output = m.state().output();
        let code = match m.status() {
            mswap::layout::Status::Exited(c) => c as i8,
            s => panic!("loop.elf ends with {s}"),
        };
        (counts[0], best[0]) = (steps, best[0].best(t));
        match qemu_startup
            .clone()
            .and_then(|s0| Ok((qemu(&elf, &input)?, s0)))
        {
            Ok(((out, c, t), s0)) => {
                let t = t.minus(s0);
                assert_eq!(
                    (out, c),
                    (output.clone(), i32::from(code)),
                    "qemu and mswap agree"
                );
                // qemu does not count: its instructions are mswap's.
                (counts[1], best[1]) = (steps, best[1].best(t));
            }
            Err(e) => qemu_missing = Some(e),
        }
        for (i, ckb_run) in [(2, ckb::trace as ckb::Run), (3, ckb::asm)] {
            let ((n, out, c), t) = timed(|| ckb_run(&elf, &input, ckb::MEMORY));
            assert_eq!(
                (out.as_slice(), c),
                (output.as_slice(), code),
                "{} and mswap agree",
                names[i]
            );
            (counts[i], best[i]) = (n, best[i].best(t));
        }
    }
    println!(
        "{:<28} {:>14} {:>8} {:>8} {:>9} {:>9}",
        format!("engine (best of {runs})"),
        "instructions",
        "wall s",
        "cpu s",
        "MIPS",
        "mswap is"
    );
    let mips = |i: usize| counts[i] as f64 / best[i].cpu / 1e6;
    let mut ratios = Vec::new();
    for i in 0..4 {
        if best[i].cpu == f64::MAX {
            println!(
                "{:<28} not run: {}",
                names[i],
                qemu_missing.clone().unwrap_or_default()
            );
            continue;
        }
        let r = mips(0) / mips(i);
        println!(
            "{:<28} {:>14} {:>8.3} {:>8.3} {:>9.1} {:>8.2}x",
            names[i],
            counts[i],
            best[i].wall,
            best[i].cpu,
            mips(i),
            r
        );
        if i > 0 {
            ratios.push(format!(
                "{} {r:.2}x",
                names[i].split(" (").next().unwrap_or(names[i])
            ));
        }
    }
    println!(
        "(same output and exit code from all; ckb-vm counts its instructions itself; qemu's count is mswap's; MIPS in CPU time)"
    );
    if let Ok(s0) = &qemu_startup {
        println!(
            "(qemu: the whole process's times less its start-up, {:.1} ms wall and {:.2} s CPU, measured on an empty guest)",
            s0.wall * 1e3,
            s0.cpu
        );
    }

    // Merkle roots over an image of realistic size: the loaded program
    // plus 8 MiB of touched memory (a heap of 6 MiB and 512 pages scattered
    // over the 4 GiB), each page written with distinct data.
    let mut big = program.initial_state(&input);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let heap = 0x0100_0000u64;
    let mut pages: Vec<u64> = (0..1536u64).map(|p| heap + (p << 12)).collect();
    pages.extend((0..512).map(|_| (next() % 0xf000_0000) & !0xfff));
    for &p in &pages {
        for w in 0..512u64 {
            big.mem.write_u64(p + 8 * w, next());
        }
    }
    let touched = big.nonzero_pages().len();
    let mut full = Time::NONE;
    for _ in 0..runs {
        let t = timed(|| std::hint::black_box(StateTree::build(&big).root())).1;
        if t.wall < full.wall {
            full = t;
        }
    }
    let mut tree = StateTree::build(&big);
    big.take_dirty();
    let reps = 1000u64;
    let (_, one) = timed(|| {
        for i in 0..reps {
            big.mem.write_u64(heap + 8 * (i % 4096), i);
            big.set_x(5, i);
            std::hint::black_box(tree.sync(&mut big));
        }
    });
    let (_, scattered) = timed(|| {
        for i in 0..reps {
            for k in 0..16u64 {
                let p = pages[((i * 16 + k) * 7919 % pages.len() as u64) as usize];
                big.mem.write_u64(p + 8 * (i % 512), i);
            }
            std::hint::black_box(tree.sync(&mut big));
        }
    });
    println!(
        "state root over {touched} touched pages ({:.1} MiB), wall time (the tree hashes pages on the rayon pool): full build {:.1} ms (best of {runs}); incremental after 1 store and a register {:.1} us, after 16 stores on 16 pages {:.1} us",
        touched as f64 * 4096.0 / (1 << 20) as f64,
        full.wall * 1e3,
        one.wall / reps as f64 * 1e6,
        scattered.wall / reps as f64 * 1e6
    );
    println!(
        "ratios (CPU time; > 1: mswap is faster): {}",
        ratios.join(", ")
    );
}

// ---------------------------------------------------------------- micro

fn bench_micro() {
    line();
    println!("micro: machine AB beside machine A on loop.elf (3000 iterations)");
    let elf = guest("loop");
    let input = b"3000".to_vec();
    let program = Program::load(&elf).expect("loads");

    // Both machines get the same number of runs, interleaved; the best of
    // each counts (CPU time).
    let runs = runs();
    let (mut a_t, mut ab_t) = (Time::NONE, Time::NONE);
    let mut a = Machine::new(program.initial_state(&input));
    let mut ab = MicroMachine::attach(program.initial_state(&input));
    let (mut steps, mut usteps) = (0u64, 0u64);
    for _ in 0..runs {
        let ((m, n), t) = timed(|| {
            let mut m = Machine::new(program.initial_state(&input));
            let n = m.run(u64::MAX);
            (m, n)
        });
        (a, steps, a_t) = (m, n, a_t.best(t));
        let ((m, u), t) = timed(|| {
            let mut m = MicroMachine::attach(program.initial_state(&input));
            let mut u = 0u64;
            for _ in 0..steps {
                u += m.run_a_step(None).executed;
            }
            (m, u)
        });
        (ab, usteps, ab_t) = (m, u, ab_t.best(t));
    }
    let (a_s, ab_s) = (a_t.cpu, ab_t.cpu);
    assert!(
        a.state().first_difference(&ab.s).is_none(),
        "A and AB end equal"
    );
    println!(
        "A-steps {steps}; micro-steps executed {usteps} ({:.1} per A-step; idle ticks skipped)",
        usteps as f64 / steps as f64
    );
    println!("best of {runs} runs each, CPU time:");
    println!(
        "machine A:  {:>8.2} ns per A-step",
        a_s / steps as f64 * 1e9
    );
    println!(
        "machine AB: {:>8.2} ns per A-step, {:.1} M micro-steps/s",
        ab_s / steps as f64 * 1e9,
        usteps as f64 / ab_s / 1e6
    );
    // The check on a longer run (10000 iterations), for a steadier speedup.
    let long = b"10000".to_vec();
    let mut times = Vec::new();
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        // The best of `runs` runs for each pool (wall time: the work is
        // spread over threads).
        let mut s = f64::MAX;
        let mut stats = None;
        for _ in 0..runs {
            let t = Instant::now();
            let r = pool
                .install(|| {
                    double_check(
                        program.initial_state(&long),
                        &Options::default(),
                        microcode(),
                    )
                })
                .expect("check passes");
            s = s.min(secs(t.elapsed()));
            stats = Some(r);
        }
        let stats = stats.expect("ran");
        times.push(s);
        println!(
            "check, {threads} thread(s): {} transitions in {s:.3} s = {:.2} M transitions/s",
            stats.transitions,
            stats.transitions as f64 / s / 1e6
        );
    }
    println!(
        "ratios: AB/A per A-step {:.1}x (goal <= 30x), check speedup 2 threads / 1 thread {:.2}x (goal >= 1.8x)",
        ab_s / a_s,
        times[0] / times[1]
    );
}

// ---------------------------------------------------------------- check

/// The double-check's cost per core, machine AB on the reference step
/// function, on the fast engine's interpreter of the decoded microcode and
/// on the fast engine with the compiled microcode, beside the JIT on the
/// same program; then machine AB alone on each (A-step after A-step to the
/// halt, no machine A, no comparison).
fn bench_check() {
    use mswap::check::engine::FastAb;
    use mswap::check::{AbEngine, Pair, Stats};
    use mswap::fast::jit::Engine;
    use mswap::micro::{MicroMachine, Q_PRISTINE};
    line();
    let name = std::env::var("MSWAP_BENCH_CHECK_GUEST").unwrap_or_else(|_| "numeric".into());
    println!(
        "check: one core double-checking {name}.elf, AB's reference step against its fast engine (interpreted, compiled), beside the JIT"
    );
    let program = Program::load(&guest(&name)).expect("loads");
    let input: Vec<u8> = Vec::new();
    let runs = runs();
    let code = microcode();
    // One core's work: A's interpreter and AB side by side over every
    // transition (the pair a segment's worker runs), timed in thread CPU.
    let check = |ab: AbEngine| {
        let mut pair = Pair::with_ab(program.initial_state(&input), code, ab);
        let mut stats = Stats::default();
        let mut t = 0;
        loop {
            let halted = pair.state().halted();
            pair.check_next(t, &mut stats).expect("check passes");
            t += 1;
            if halted {
                break;
            }
        }
        stats
    };
    // AB alone: A-steps to the halt, returning the micro-instructions.
    let alone = |ab: AbEngine| {
        let mut s = program.initial_state(&input);
        let mut written = Vec::new();
        let mut executed = 0;
        let fast = match ab {
            AbEngine::Fast => FastAb::new(code),
            _ => FastAb::interpreted(code),
        };
        if ab == AbEngine::Reference {
            let mut m = MicroMachine::with_microcode(s, code);
            while !m.s.halted() {
                written.clear();
                executed += m.run_a_step(Some(&mut written)).executed;
            }
            return executed;
        }
        let mut q = Q_PRISTINE;
        while !s.halted() {
            written.clear();
            executed += fast.run_a_step(&mut q, &mut s, &mut written).executed;
        }
        executed
    };
    let engines = [
        ("reference AB", AbEngine::Reference),
        ("interp. AB", AbEngine::Interpreted),
        ("compiled AB", AbEngine::Fast),
    ];
    let mut check_t = [Time::NONE; 3];
    let mut alone_t = [Time::NONE; 3];
    let mut jit_t = Time::NONE;
    let (mut stats, mut steps, mut usteps) = (Stats::default(), 0u64, 0u64);
    for _ in 0..runs {
        let (n, t) = timed(|| {
            let mut m = Machine::with_engine(program.initial_state(&input), Engine::Jit);
            m.run(u64::MAX)
        });
        (steps, jit_t) = (n, jit_t.best(t));
        let mut all = Vec::new();
        let mut counts = Vec::new();
        for (i, &(_, ab)) in engines.iter().enumerate() {
            let (st, t) = timed(|| check(ab));
            check_t[i] = check_t[i].best(t);
            all.push(st);
            let (n, t) = timed(|| alone(ab));
            alone_t[i] = alone_t[i].best(t);
            counts.push(n);
        }
        assert!(
            all.windows(2).all(|w| w[0] == w[1]),
            "every engine counts the same micro-steps"
        );
        assert!(counts.windows(2).all(|w| w[0] == w[1]));
        (stats, usteps) = (all[0].clone(), counts[0]);
    }
    println!(
        "{} transitions ({steps} steps to the halt), {} micro-steps executed ({:.1} per transition)",
        stats.transitions,
        stats.usteps,
        stats.usteps as f64 / stats.transitions as f64
    );
    println!("best of {runs} runs each, CPU time of one thread:");
    let jit_rate = steps as f64 / jit_t.cpu;
    println!(
        "JIT:                {:>8.3} s  {:>8.2} M steps/s",
        jit_t.cpu,
        jit_rate / 1e6
    );
    let mut rates = Vec::new();
    for (i, (what, _)) in engines.iter().enumerate() {
        let t = check_t[i];
        let rate = stats.transitions as f64 / t.cpu;
        rates.push(rate);
        println!(
            "check, {what:<12} {:>8.3} s  {:>8.2} M transitions/s per core, {:>6.1} M micro-steps/s, {:>6.0}x slower than the JIT",
            t.cpu,
            rate / 1e6,
            stats.usteps as f64 / t.cpu / 1e6,
            jit_rate / rate
        );
    }
    let mut alone_rates = Vec::new();
    for (i, (what, _)) in engines.iter().enumerate() {
        let t = alone_t[i];
        let rate = usteps as f64 / t.cpu;
        alone_rates.push(rate);
        println!(
            "AB alone, {what:<12} {:>5.3} s  {:>8.2} M A-steps/s per core, {:>6.1} M micro-steps/s, {:>6.0}x slower than the JIT",
            t.cpu,
            steps as f64 / t.cpu / 1e6,
            rate / 1e6,
            jit_rate / (steps as f64 / t.cpu)
        );
    }
    println!(
        "ratios: check per core, compiled AB / reference AB {:.2}x (goal >= 2x), compiled / interpreted AB {:.2}x; AB alone, compiled / interpreted {:.2}x",
        rates[2] / rates[0],
        rates[2] / rates[1],
        alone_rates[2] / alone_rates[1]
    );
}

// ---------------------------------------------------------------- proof

fn bench_proof() {
    use mswap::proof::{ProofFile, binary};
    use mswap::verify::verify_step;
    line();
    println!("proof: size and verify time per kind of micro-step (proofs/*.json)");
    let dir = root().join("proofs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("proofs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("transcript.json"))
        .collect();
    files.sort();
    println!(
        "{:<8} {:>8} {:>8} {:>12}  micro-instruction",
        "kind", "binary", "JSON", "verify (us)"
    );
    let (mut largest, mut slowest) = (0usize, 0f64);
    for f in files {
        let text = std::fs::read(&f).expect("read");
        let pf: ProofFile = serde_json::from_slice(&text).expect("parses");
        let bin = binary::encode(&pf.proof).len();
        let json = serde_json::to_vec(&pf.proof).expect("json").len();
        let reps = 2000;
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(verify_step(&pf.root_before, &pf.proof).expect("verifies"));
        }
        let us = secs(t.elapsed()) / reps as f64 * 1e6;
        largest = largest.max(bin);
        slowest = slowest.max(us);
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{name:<8} {bin:>8} {json:>8} {us:>12.1}  {}",
            pf.context.as_ref().map_or(String::new(), |c| c.uop.clone())
        );
    }
    println!(
        "ratios: largest proof {largest} bytes = {:.2} of 2 KiB; slowest verify {slowest:.1} us = {:.2} of 100 us",
        largest as f64 / 2048.0,
        slowest / 100.0
    );
    // Not measured here: the settlement issue's table (#9, Foundry 1.7.1),
    // proof bytes per step.
    println!(
        "for comparison (not measured here; source: the settlement issue #9's table, Foundry 1.7.1): proof bytes per step, Cannon MIPS.sol 2,212; MIPS2.sol 580 / 2,372 / 3,268 (min / median / max); Cartesi UArchStep 3,840 / 17,280 / 24,960"
    );
}

// ---------------------------------------------------------------- game

fn bench_game() {
    use mswap::players::player::{Honest, Query, Strategy};
    use mswap::players::timeline::Timeline;
    use mswap::rules::claim::b_for_steps;
    line();
    let iters = std::env::var("MSWAP_BENCH_ITERS").unwrap_or_else(|_| "1400000".into());
    println!(
        "game: the honest player's cost on loop.elf ({iters} iterations), and a dispute over HTTP"
    );
    let elf = guest("loop");
    let input = iters.into_bytes();
    let program = Program::load(&elf).expect("loads");

    let plain_run = || {
        let t = Instant::now();
        let mut m = Machine::new(program.initial_state(&input));
        let steps = m.run(u64::MAX);
        (steps, secs(t.elapsed()))
    };
    let (steps, _) = plain_run();
    let b = b_for_steps(steps);

    // The honest player: first pass with checkpoints, then every root a
    // bisection asks for (a path that goes left and right), then the proof.
    let player = || {
        let t = Instant::now();
        let mut h = Honest {
            timeline: Timeline::new(&program, &input, b, 10),
        };
        let first = secs(t.elapsed());
        let (mut lo, mut hi) = (0u64, 1u64 << b);
        let mut k = 0;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            std::hint::black_box(h.root(Query::Step(mid), None));
            if k % 3 == 0 {
                hi = mid
            } else {
                lo = mid
            }
            k += 1;
        }
        let (mut jlo, mut jhi) = (0u64, mswap::micro::USTEPS);
        while jhi - jlo > 1 {
            let mid = jlo + (jhi - jlo) / 2;
            std::hint::black_box(h.root(Query::Micro { t: lo, j: mid }, None));
            if k % 2 == 0 {
                jhi = mid
            } else {
                jlo = mid
            }
            k += 1;
        }
        std::hint::black_box(h.proof(lo, jlo));
        (h, first, secs(t.elapsed()))
    };
    // The plain run and the player the same number of times, interleaved;
    // the best of each counts (wall time, as a player waits for it).
    let runs = runs();
    let (mut plain, mut first, mut total) = (f64::MAX, f64::MAX, f64::MAX);
    let mut h = None;
    for _ in 0..runs {
        plain = plain.min(plain_run().1);
        let (hp, f, t) = player();
        if t < total {
            (first, total) = (f, t);
        }
        h = Some(hp);
    }
    let h = h.expect("ran");
    let st = h.timeline.stats;
    println!("plain run:      {steps} steps in {plain:.3} s (best of {runs}, as the player)");
    println!(
        "honest player:  first pass {first:.3} s ({} checkpoints), whole bisection {total:.3} s ({} steps replayed, {} roots)",
        st.checkpoints, st.replayed_steps, st.roots
    );

    // One dispute over loopback HTTP on the default guest.
    let (rounds, moves, bytes, game_s) = http_game();
    println!(
        "dispute over HTTP (collatz, lying defender): {rounds} rounds, {moves} moves, {bytes} bytes, {game_s:.2} s"
    );
    println!(
        "ratios: honest player / plain run {:.2}x (goal <= 2x)",
        total / plain
    );
}

fn http_game() -> (usize, usize, u64, f64) {
    use mswap::players::player::Lie;
    use mswap::rules::claim::b_for_steps;
    let (_, elf, input) = mswap::guests::default_guest();
    let program = Program::load(elf).expect("loads");
    let halt = program.steps_to_halt(input, 1 << 30).expect("halts");
    let b = b_for_steps(halt);
    let g = game_over_http(
        elf,
        input,
        b,
        None,
        vec![Lie::From {
            from: halt / 2,
            micro_from: 30,
        }],
    );
    (g.rounds, g.moves, g.bytes, g.secs)
}

/// One dispute over loopback HTTP.
struct HttpGame {
    /// Dissections (rounds).
    rounds: usize,
    /// Moves.
    moves: usize,
    /// Body bytes both players exchanged with the referee, from the
    /// challenge on (the claim's creation, which carries the program, left out).
    bytes: u64,
    /// Body bytes of the moves alone (their JSON in the transcript).
    move_bytes: u64,
    /// Wall time from the players' first passes to the end.
    secs: f64,
    /// Wall time of the bisection alone (after both first passes).
    play_secs: f64,
}

/// A referee on loopback, a lying defender (`lies`) and an honest
/// challenger, each player in a thread of its own with its own timeline
/// and HTTP client (as the three processes of `mswap referee`, `defend`,
/// `challenge`); `levels` as the claim asks (`None`: the referee's default).
fn game_over_http(
    elf: &[u8],
    input: &[u8],
    b: u32,
    levels: Option<Vec<mswap::rules::levels::Level>>,
    lies: Vec<mswap::players::player::Lie>,
) -> HttpGame {
    use mswap::players::client::play;
    use mswap::players::player::{Honest, Liar, Player, claimed_by};
    use mswap::players::timeline::Timeline;
    use mswap::players::wire::CreateGame;
    use mswap::referee::client::Client;
    use mswap::referee::{Config, Referee};
    use mswap::rules::{Move, Side};
    let program = Program::load(elf).expect("loads");
    let dir = support::scratch("game");
    // Claims up to the rules' largest b (the bench plays b = 40).
    let mut config = Config::default();
    config.policy.max_b = mswap::rules::levels::MAX_B;
    let server = Referee::open(&dir, config)
        .expect("referee")
        .serve("127.0.0.1:0")
        .expect("serves");
    let url = server.url();
    let t = Instant::now();
    // Each player's first pass, side by side, as two processes would.
    let (liar_timeline, honest_timeline) = std::thread::scope(|s| {
        let a = s.spawn(|| Timeline::new(&program, input, b, 10));
        let c = Timeline::new(&program, input, b, 10);
        (a.join().expect("first pass"), c)
    });
    let mut liar = Liar::new(
        Honest {
            timeline: liar_timeline,
        },
        lies,
    );
    let claim = claimed_by(
        honest_timeline.claim(program.hash, mswap::hash::keccak(&[input]), b),
        &mut liar,
    );
    let dc = Client::new(&url);
    let created = dc
        .create(&CreateGame {
            claim,
            program: elf.to_vec(),
            input: input.to_vec(),
            levels,
            clock_ms: None,
            window_ms: None,
        })
        .expect("creates");
    let (id, token) = (created.game.clone(), created.token.clone());
    let cc = Client::new(&url);
    let joined = cc.join(&created.game).expect("joins");
    let n = joined.dispute;
    let start_bytes = dc.bytes() + cc.bytes();
    let played = Instant::now();
    let d = std::thread::spawn(move || {
        let mut p = Player {
            side: Side::Defender,
            strategy: Box::new(liar),
        };
        let o = play(&dc, &id, n, &token, &mut p, &mut |_| {}).expect("plays");
        (o, dc.bytes())
    });
    let mut p = Player {
        side: Side::Challenger,
        strategy: Box::new(Honest {
            timeline: honest_timeline,
        }),
    };
    let o = play(&cc, &created.game, n, &joined.token, &mut p, &mut |_| {}).expect("plays");
    let (_, dbytes) = d.join().expect("defender");
    let (s, play_secs) = (secs(t.elapsed()), secs(played.elapsed()));
    assert_eq!(o.winner(), Side::Challenger);
    let tr = cc.transcript(&created.game, n).expect("transcript");
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let rounds = tr
        .moves
        .iter()
        .filter(|m| matches!(m.mv, Move::Dissect { .. }))
        .count();
    let move_bytes = tr
        .moves
        .iter()
        .map(|m| serde_json::to_vec(&m.mv).map_or(0, |v| v.len() as u64))
        .sum();
    HttpGame {
        rounds,
        moves: tr.moves.len(),
        bytes: dbytes + cc.bytes() - start_bytes,
        move_bytes,
        secs: s,
        play_secs,
    }
}

// ---------------------------------------------------------------- fan-out

/// The levels of a row of the fan-out table: `k` at both levels, or the
/// default levels.
fn fan_levels(b: u32, k: Option<u32>) -> Vec<mswap::rules::levels::Level> {
    use mswap::rules::levels::{default_levels, kary_levels};
    match k {
        Some(k) => kary_levels(b, k, k),
        None => default_levels(b),
    }
}

fn fan_name(k: Option<u32>) -> String {
    use mswap::rules::levels::{DEFAULT_MICRO_K, DEFAULT_STEPS_K};
    match k {
        Some(k) => format!("{k}"),
        None => format!("{DEFAULT_STEPS_K}/{DEFAULT_MICRO_K}"),
    }
}

fn fanout_row(b: u32, k: Option<u32>, g: &HttpGame) {
    println!(
        "{b:>3} {:>6} {:>6} {:>6} {:>9} {:>10} {:>9} {:>8.3} {:>8.3}",
        fan_name(k),
        g.rounds,
        g.moves,
        g.bytes,
        g.bytes / g.moves.max(1) as u64,
        g.move_bytes,
        g.play_secs,
        g.secs
    );
}

fn fanout_header() {
    println!("  b      k rounds  moves     bytes bytes/move move bytes   play s  total s");
}

fn bench_fanout() {
    use mswap::players::player::Lie;
    line();
    println!(
        "fan-out over loopback HTTP: hello.elf claimed over 2^b steps, the defender lies only at the final root (k: steps/micro when they differ)"
    );
    let elf = guest("hello");
    fanout_header();
    for b in [20u32, 30, 40] {
        for k in [Some(2u32), Some(4), Some(8), Some(16), Some(32), None] {
            let g = game_over_http(&elf, &[], b, Some(fan_levels(b, k)), vec![Lie::Final]);
            let want: u32 = fan_levels(b, k).iter().map(|l| l.rounds()).sum();
            assert_eq!(g.rounds as u32, want, "b {b} k {k:?}");
            fanout_row(b, k, &g);
        }
    }
}

fn bench_fanout_long() {
    use mswap::players::player::Lie;
    line();
    let iterations: u64 = std::env::var("MSWAP_BENCH_LOOP_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_200_000);
    let elf = guest("loop");
    let input = format!("{iterations}\n").into_bytes();
    let program = Program::load(&elf).expect("loads");
    let halt = program
        .steps_to_halt(&input, 1 << 36)
        .expect("loop.elf halts");
    let b = mswap::rules::claim::b_for_steps(halt);
    println!(
        "fan-out over loopback HTTP: loop.elf, {iterations} iterations, {halt} steps (b = {b}), the defender diverges at the final step's last micro-step and lies from there"
    );
    fanout_header();
    let lie = Lie::From {
        from: halt,
        micro_from: (1 << mswap::micro::LOG2_USTEPS) - 1,
    };
    for k in [Some(2u32), None] {
        let g = game_over_http(&elf, &input, b, Some(fan_levels(b, k)), vec![lie.clone()]);
        fanout_row(b, k, &g);
    }
}

// ---------------------------------------------------------------- referee

/// Starts `mswap referee` on `dir`; returns it and its URL once it answers.
fn start_referee(dir: &Path) -> (std::process::Child, String, f64) {
    start_referee_with(dir, &[])
}

/// [`start_referee`] with more options.
fn start_referee_with(dir: &Path, extra: &[&str]) -> (std::process::Child, String, f64) {
    use std::io::BufRead;
    let t = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mswap"))
        .args([
            "referee",
            "--listen",
            "127.0.0.1:0",
            "--max-opens-per-minute",
            "100000",
            "--max-opens-per-minute-per-prefix",
            "1000000",
            "--max-open-claims-per-address",
            "1000000",
            "--max-open-claims-per-prefix",
            "1000000",
        ])
        .args(extra)
        .arg("--data")
        .arg(dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mswap referee starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the referee's URL")
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    mswap::referee::client::Client::new(&url)
        .claim("g1", None, 0)
        .ok();
    (child, url, secs(t.elapsed()))
}

fn bench_referee() {
    use mswap::players::timeline::Timeline;
    use mswap::players::wire::{CreateGame, MoveRequest};
    use mswap::referee::client::Client;
    line();
    let games: usize = std::env::var("MSWAP_BENCH_GAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    println!("referee: {games} open claims with a dispute each, requests/s, restart");
    let (elf, input) = support::example();
    let program = Program::load(&elf).expect("loads");
    let dir = support::scratch("referee");
    let (mut child, url, _) = start_referee(&dir);
    let idle_rss = memory_mib(child.id(), "VmRSS");
    let mut claim = Timeline::new(&program, &input, 5, 3).claim(
        program.hash,
        mswap::hash::keccak(&[&input]),
        5,
    );
    claim.final_root = mswap::hash::keccak(&[b"a false claim"]);
    let client = Client::new(&url);
    let create = CreateGame {
        claim: claim.clone(),
        program: elf.clone(),
        input: input.clone(),
        levels: None,
        clock_ms: None,
        window_ms: None,
    };
    // One request at a time: each waits for its own synced log line, so
    // these rates are the cost of one durable append each.
    let t = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..games {
        ids.push(client.create(&create).expect("creates").game);
    }
    let created = secs(t.elapsed());
    let t = Instant::now();
    let mut joined = Vec::new();
    for id in &ids {
        joined.push(client.join(id).expect("joins"));
    }
    let joins = secs(t.elapsed());
    let t = Instant::now();
    for (id, j) in ids.iter().zip(&joined) {
        client
            .send(
                id,
                j.dispute,
                &MoveRequest {
                    side: mswap::rules::Side::Challenger,
                    token: j.token.clone(),
                    seq: 0,
                    mv: mswap::rules::Move::Challenge {
                        root: claim.final_root,
                    },
                },
            )
            .expect("challenges");
    }
    let moves = secs(t.elapsed());
    let opened = created + joins + moves;
    let rss = memory_mib(child.id(), "VmRSS");
    println!(
        "  one client: {:.0} claims opened a second, {:.0} disputes joined a second, {:.0} moves a second (one synced log line each)",
        games as f64 / created,
        games as f64 / joins,
        games as f64 / moves
    );
    println!(
        "  {games} claims opened, joined and challenged in {opened:.2} s ({:.0} a second, 3 synced log lines each)",
        games as f64 / opened
    );
    println!("  referee memory: {idle_rss:.1} MiB idle, {rss:.1} MiB with {games} open claims");
    // Reads under load: 4 clients for 3 seconds, views of disputes.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let count = std::sync::atomic::AtomicU64::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for k in 0..4 {
            let (url, ids, stop, count) = (&url, &ids, &stop, &count);
            s.spawn(move || {
                let c = Client::new(url);
                let mut i = k;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    c.view(&ids[i % ids.len()], 1, None, 0).expect("view");
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    i += 4;
                }
            });
        }
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let n = count.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "  {:.0} dispute views answered a second (4 keep-alive clients on loopback, client and referee on the same cores)",
        n as f64 / secs(t.elapsed())
    );
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::metadata(dir.join("referee.log")).map_or(0, |m| m.len());
    let (mut child, _, restart) = start_referee(&dir);
    println!(
        "  restart with {games} claims ({:.1} MiB of log): answering again after {restart:.2} s, {:.1} MiB",
        log as f64 / (1 << 20) as f64,
        memory_mib(child.id(), "VmRSS")
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    // Memory per claim while claims are open, and once they are finished
    // (window closed, nothing disputed): finished claims leave memory.
    let games: usize = std::env::var("MSWAP_BENCH_FINISHED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for (what, window) in [("open", "600000"), ("finished", "100")] {
        let dir = std::env::temp_dir().join(format!(
            "mswap-bench-finished-{what}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut child, url, _) = start_referee_with(&dir, &["--window-ms", window]);
        let client = Client::new(&url);
        // Warm up (the first claim loads the program), then measure.
        client.create(&create).expect("creates");
        std::thread::sleep(Duration::from_millis(500));
        let before = memory_mib(child.id(), "VmRSS");
        for _ in 0..games {
            client.create(&create).expect("creates");
        }
        // The last windows close; the ticker moves finished claims out.
        std::thread::sleep(Duration::from_millis(1500));
        let after = memory_mib(child.id(), "VmRSS");
        println!(
            "  {games} claims {what}: referee memory {before:.1} -> {after:.1} MiB, {:.0} bytes a claim",
            (after - before).max(0.0) * (1 << 20) as f64 / games as f64
        );
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// One honest `mswap defend` process against `n` lying disputes of its
/// true claim (a referee process with the default clocks; the liars in this
/// process, on one feed per swarm): the defender's moves a second, CPU and
/// peak memory, and the referee's peak memory.
fn defender_against(n: usize, elf: &Path, input: &Path) -> (f64, f64, f64, f64, f64) {
    use mswap::players::client::challenge_many;
    use mswap::players::player::{Honest, Liar, Lie};
    use mswap::players::timeline::Timeline;
    use mswap::referee::client::Client;
    use std::io::BufRead;
    let dir = support::scratch(&format!("defend-{n}"));
    let (mut referee, url, _) = start_referee_with(&dir, &["--window-ms", "15000"]);
    let mut defender = std::process::Command::new(env!("CARGO_BIN_EXE_mswap"))
        .args(["defend", "--referee", &url, "--b", "5"])
        .arg(elf)
        .arg("--input")
        .arg(input)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mswap defend starts");
    let mut lines = std::io::BufReader::new(defender.stdout.take().expect("stdout")).lines();
    let id = lines
        .next()
        .and_then(|l| l.ok())
        .and_then(|l| l.strip_prefix("game: ").map(str::to_string))
        .expect("the claim's id");
    let own_moves = std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .filter(|l| l.contains("] defender "))
            .count()
    });
    let client = Client::new(&url);
    let joined: Vec<(u64, String)> = (0..n)
        .map(|_| {
            let j = client.join(&id).expect("joins");
            (j.dispute, j.token)
        })
        .collect();
    let t = Instant::now();
    let elf_bytes = std::fs::read(elf).expect("elf");
    let input_bytes = std::fs::read(input).expect("input");
    let program = Program::load(&elf_bytes).expect("loads");
    std::thread::scope(|s| {
        for (k, lie) in [Lie::DisputeCorrect, Lie::Random(7)]
            .into_iter()
            .enumerate()
        {
            let mine: Vec<(u64, String)> = joined
                .iter()
                .filter(|j| j.0 as usize % 2 == k)
                .cloned()
                .collect();
            let (url, id, program, input) = (&url, &id, &program, &input_bytes);
            s.spawn(move || {
                let liar = Liar::new(
                    Honest {
                        timeline: Timeline::new(program, input, 5, 3),
                    },
                    vec![lie],
                );
                challenge_many(&Client::new(url), id, &mine, Box::new(liar), &|_, _, _| {})
                    .expect("the liars play")
            });
        }
    });
    let played = secs(t.elapsed());
    let referee_peak = memory_mib(referee.id(), "VmHWM");
    // The defender's CPU and memory, read just before it exits (it does
    // once the window has closed).
    let (mut cpu, mut peak) = (0.0, 0.0);
    while defender.try_wait().ok().flatten().is_none() {
        cpu = cpu_secs(defender.id());
        peak = memory_mib(defender.id(), "VmHWM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let moves = own_moves.join().unwrap_or(0);
    let status = client.claim(&id, None, 0).map(|c| c.status);
    assert!(
        matches!(status, Ok(mswap::players::wire::ClaimStatus::Stands)),
        "{n} disputes: the true claim must stand: {status:?}"
    );
    let _ = client.bytes();
    let _ = referee.kill();
    let _ = referee.wait();
    let _ = std::fs::remove_dir_all(&dir);
    (moves as f64 / played, played, cpu, peak, referee_peak)
}

/// Many disputes against one defender, and the referee's memory under
/// attack (long-polls, unread downloads, stalled bodies from many networks).
fn bench_disputes() {
    use std::io::Write;
    line();
    println!(
        "disputes: one honest defender (mswap defend) against N lying disputes of its true claim"
    );
    let (elf, input) = support::example_paths();
    let counts: Vec<usize> = std::env::var("MSWAP_BENCH_DISPUTES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 100, 1000]);
    println!(
        "  disputes  defender moves/s  play s  defender CPU s  defender peak MiB  referee peak MiB"
    );
    for n in counts {
        let (rate, played, cpu, peak, referee) = defender_against(n, &elf, &input);
        println!(
            "  {n:>8}  {rate:>16.0}  {played:>6.1}  {cpu:>14.2}  {peak:>17.1}  {referee:>16.1}"
        );
    }
    // Memory under attack.
    let dir = support::scratch("attack");
    let (mut referee, url, _) = start_referee_with(&dir, &[]);
    let to: std::net::SocketAddr = url.trim_start_matches("http://").parse().expect("addr");
    let client = mswap::referee::client::Client::new(&url);
    let elf_bytes = std::fs::read(&elf).expect("elf");
    let big_input = vec![7u8; 4 << 20];
    let program = Program::load(&elf_bytes).expect("loads");
    let claim = mswap::players::timeline::Timeline::new(&program, &big_input, 5, 3).claim(
        program.hash,
        mswap::hash::keccak(&[&big_input]),
        5,
    );
    let c = client
        .create(&mswap::players::wire::CreateGame {
            claim,
            program: elf_bytes,
            input: big_input,
            levels: None,
            clock_ms: None,
            window_ms: None,
        })
        .expect("creates");
    client.join(&c.game).expect("joins");
    let before = memory_mib(referee.id(), "VmRSS");
    let connect = |k: usize| {
        use socket2::{Domain, Socket, Type};
        let from = std::net::SocketAddr::new(
            [
                127,
                1 + (k / 1024) as u8,
                ((k / 4) % 256) as u8,
                1 + (k % 4) as u8,
            ]
            .into(),
            0,
        );
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
        s.bind(&from.into()).ok()?;
        s.connect(&to.into()).ok()?;
        Some(std::net::TcpStream::from(s))
    };
    let mut held = Vec::new();
    let max = 2 * (16usize << 20) * 2 + (64 << 10);
    for k in 0..2304 {
        let Some(mut s) = connect(k) else { continue };
        let req = match k % 16 {
            0 => format!(
                "GET /games/{}/disputes/1/transcript HTTP/1.1
Host: x

",
                c.game
            ),
            1 => format!(
                "POST /games HTTP/1.1
Host: x
Content-Length: {max}

{{"
            ),
            _ => format!(
                "GET /games/{}?after_seq=100&wait_ms=30000 HTTP/1.1
Host: x

",
                c.game
            ),
        };
        let _ = s.write_all(req.as_bytes());
        held.push(s);
    }
    let mut worst = 0.0f64;
    let mut health = 0.0f64;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(250));
        worst = worst.max(memory_mib(referee.id(), "VmRSS"));
        let t = Instant::now();
        let _ = client.claim(&c.game, None, 0);
        health = health.max(secs(t.elapsed()));
    }
    println!(
        "  referee memory under attack (2,304 connections from 576 addresses: long-polls, unread 8 MiB transcripts, stalled bodies): {before:.1} MiB before, {worst:.1} MiB at most; slowest answer to an honest client {:.0} ms",
        health * 1000.0
    );
    drop(held);
    let _ = referee.kill();
    let _ = referee.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = [
        "fast",
        "micro",
        "check",
        "proof",
        "game",
        "fanout",
        "fanout-long",
        "referee",
        "disputes",
    ];
    let chosen: Vec<&str> = if args.is_empty() {
        all.to_vec()
    } else {
        all.iter()
            .copied()
            .filter(|s| args.iter().any(|a| a == s))
            .collect()
    };
    println!(
        "mswap benchmarks ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for s in chosen {
        match s {
            "fast" => bench_fast(),
            "micro" => bench_micro(),
            "check" => bench_check(),
            "proof" => bench_proof(),
            "game" => bench_game(),
            "fanout" => bench_fanout(),
            "fanout-long" => bench_fanout_long(),
            "referee" => bench_referee(),
            "disputes" => bench_disputes(),
            _ => {}
        }
    }
    line();
}
