//! Machine A's engines side by side: the JIT, the interpreter,
//! `qemu-riscv64` (a JIT: the ceiling) and ckb-vm's assembly interpreter,
//! on `loop.elf`, the C compute guests and the Rust guests (SHA-256 of
//! 4 MiB of random bytes, word frequencies of 2 MB of text, a revm EVM
//! transaction of a contract looping 2,000 times, 256 KiB of JSON), all in
//! one run with their outputs and step counts compared; the JIT's
//! translation time and where its time went; and the honest player's first
//! pass with each engine.
//!
//! ```text
//! cargo bench --bench jit
//! cargo bench --bench jit -- rust_      # only the cases whose name contains rust_
//! MSWAP_BENCH_ITERS=100000 cargo bench --bench jit   # a shorter loop.elf
//! MSWAP_BENCH_RUNS=1 cargo bench --bench jit          # one run each (default 2)
//! cargo bench --bench jit -- --write-input rust_words FILE  # a guest's input, to FILE
//! ```
//!
//! mswap's engines and ckb-vm run in this process, `qemu-riscv64` as a
//! process of its own; all are timed in wall time. So that qemu is not
//! charged for starting, its figure is its whole run less its start-up
//! (the best of 5 whole runs of an empty guest, measured in the same run).
//! Beside it, `proc j/q` compares two whole processes of the same kind,
//! qemu and `mswap --engine jit run`, with no subtraction at all. On short
//! runs (a few ms) the subtraction is within the noise: read `proc j/q`.
//! The JIT translates on a thread of its own while the interpreter goes
//! on, so it takes more CPU time than wall time where it translates much:
//! `cpu j/i` compares the CPU time of the JIT's run (both threads) with
//! the interpreter's.
//!
//! The machine is shared and noisy: read the ratios, not the absolute numbers.

#[path = "support/mod.rs"]
mod support;

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::fast::jit::{Engine, JitStats, available, set_default_engine};
use std::time::Instant;
use support::{
    ckb, evm_loop, guest, mswap_process, people_json, process_cpu, qemu, random_bytes, root, runs,
    startup, word_text,
};

/// One engine on a guest: (steps, wall seconds, output, the JIT's
/// figures, CPU seconds of the process: the JIT translates on a thread of
/// its own).
fn mswap(p: &Program, input: &[u8], engine: Engine) -> (u64, f64, Vec<u8>, JitStats, f64) {
    let s0 = p.initial_state(input);
    let c0 = process_cpu();
    let t = Instant::now();
    let mut m = Machine::with_engine(s0, engine);
    let n = m.run(u64::MAX);
    let s = t.elapsed().as_secs_f64();
    let cpu = match (c0, process_cpu()) {
        (Some(a), Some(b)) => b - a,
        _ => s,
    };
    assert!(m.state().halted(), "the guest halts");
    (n, s, m.state().output(), m.jit_stats(), cpu)
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "--list") {
        return;
    }
    // `--write-input GUEST FILE`: writes the bench's input of GUEST (for
    // runs outside the bench, e.g. benches/honest_player.sh).
    let args: Vec<String> = std::env::args().collect();
    if let Some(k) = args.iter().position(|a| a == "--write-input") {
        let (Some(name), Some(file)) = (args.get(k + 1), args.get(k + 2)) else {
            eprintln!("usage: --write-input GUEST FILE");
            std::process::exit(2);
        };
        let Some(input) = bench_input(name) else {
            eprintln!("no bench input for guest {name:?}");
            std::process::exit(2);
        };
        std::fs::write(file, input).unwrap_or_else(|e| panic!("cannot write {file}: {e}"));
        return;
    }
    // Arguments that are not options pick cases by name.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!(
        "jit: machine A's engines ({} cores); JIT available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        available()
    );
    let runs = runs();
    // (guest, whether ckb-vm runs it: its 4 MiB memory does not hold the
    // Rust guests' heaps and inputs)
    let cases: Vec<(&str, Vec<u8>, bool)> = [
        ("loop", true),
        ("sha256", true),
        ("keccak", true),
        ("collatz", true),
        ("numeric", true),
        ("sort", false),
        ("alu", true),
        ("rust_sha256", false),
        ("rust_words", false),
        ("rust_evm", false),
        ("rust_json", false),
    ]
    .into_iter()
    .map(|(n, ckb)| (n, bench_input(n).expect("a bench input"), ckb))
    .collect();
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|(n, ..)| only.is_empty() || only.iter().any(|o| n.contains(o.as_str())))
        .collect();
    // qemu runs as a whole process and mswap's engines in this one, so
    // qemu's figure is its whole run less its start-up (the best of 5 runs
    // of an empty guest). As a cross-check that needs no subtraction, the
    // JIT also runs as a whole process (`mswap --engine jit run`) beside
    // qemu's whole process.
    let qemu_startup = startup(5, qemu);
    let mswap_startup = startup(5, |e, i| mswap_process(e, i, "jit"));
    let ms = |s: &Result<support::Time, String>| {
        s.as_ref().map_or_else(
            |e| format!("not measured ({e})"),
            |t| format!("{:.1} ms", t.wall * 1e3),
        )
    };
    println!(
        "start-up of a whole process on an empty guest (best of 5, wall): qemu-riscv64 {}, mswap run {}",
        ms(&qemu_startup),
        ms(&mswap_startup)
    );
    println!(
        "{:<11} {:>10} | {:>8} {:>8} {:>8} {:>8} | {:>7} {:>7} {:>7} {:>8} {:>9} | {:>8} {:>7} {:>6}",
        "guest",
        "instrs",
        "interp",
        "jit",
        "qemu",
        "ckb-asm",
        "jit/int",
        "cpu j/i",
        "jit/ckb",
        "jit/qemu",
        "proc j/q",
        "transl.",
        "regions",
        "insts"
    );
    println!(
        "{:<22} | {:^35} | {:^43} | {:^23}",
        "", "MIPS", "speed ratios", "translated"
    );
    let mut profiles = Vec::new();
    for (name, input, with_ckb) in &cases {
        let elf = guest(name);
        let p = Program::load(&elf).expect("loads");
        // Wall seconds of a whole process that must print `out`.
        let whole = |r: Result<(Vec<u8>, i32, support::Time), String>, out: &[u8], who: &str| {
            r.map(|(o, _, t)| {
                assert_eq!(o, out, "{name}: {who} agrees");
                t.wall
            })
        };
        // Every engine runs `runs` times, in turn; each keeps its best. The
        // interpreter's first run gives the count and output all must match.
        let mut reference: Option<(u64, Vec<u8>)> = None;
        let (mut si, mut sj, mut sc) = (f64::MAX, f64::MAX, f64::MAX);
        // CPU seconds of the runs above (the best by wall time).
        let (mut ci, mut cj) = (f64::NAN, f64::NAN);
        let (mut q, mut sp): (Result<f64, String>, Result<f64, String>) =
            (Ok(f64::MAX), Ok(f64::MAX));
        let mut translated = JitStats::default();
        for _ in 0..runs {
            let (ni, s, outi, _, cpu) = mswap(&p, input, Engine::Interp);
            let (n, out) = reference.get_or_insert_with(|| (ni, outi.clone()));
            let (n, out) = (*n, out.as_slice());
            assert_eq!(
                (ni, outi.as_slice()),
                (n, out),
                "{name}: the interpreter repeats"
            );
            if s < si {
                (si, ci) = (s, cpu);
            }
            let (nj, s, outj, st, cpu) = mswap(&p, input, Engine::Jit);
            assert_eq!(
                (nj, outj.as_slice()),
                (n, out),
                "{name}: JIT and interpreter agree"
            );
            if s < sj {
                (sj, translated, cj) = (s, st, cpu);
            }
            q = q.and_then(|b| Ok(b.min(whole(qemu(&elf, input), out, "qemu")?)));
            sp = sp.and_then(|b| {
                Ok(b.min(whole(mswap_process(&elf, input, "jit"), out, "mswap run")?))
            });
            if *with_ckb {
                let t = Instant::now();
                let (_, co, _) = ckb::asm(&elf, input, ckb::MEMORY);
                sc = sc.min(t.elapsed().as_secs_f64());
                assert_eq!(co, out, "{name}: ckb-vm asm agrees");
            } else {
                sc = f64::NAN;
            }
        }
        let (n, _) = reference.expect("at least one run");
        profiles.push((name.to_string(), profile(&p, input)));
        let (tr, regions, insts) = (
            translated.translate_secs,
            translated.regions,
            translated.insts,
        );
        // Net of start-up; at or below zero the run is within the noise of
        // the start-up itself ("n/a": read `proc j/q`).
        let sq = match (&q, &qemu_startup) {
            (Ok(q), Ok(s0)) if q > &s0.wall => q - s0.wall,
            _ => f64::NAN,
        };
        let mips = |s: f64| n as f64 / s / 1e6;
        let proc_ratio = match (&q, &sp) {
            (Ok(q), Ok(sp)) => q / sp,
            _ => f64::NAN,
        };
        println!(
            "{:<11} {:>10} | {:>8.0} {:>8} {:>8} {:>8} | {:>6.2}x {:>7} {:>7} {:>8} {:>9} | {:>6.1}ms {:>7} {:>6}",
            name,
            n,
            mips(si),
            format!("{:.0}", mips(sj)),
            known(mips(sq), 0, ""),
            known(mips(sc), 0, ""),
            si / sj,
            known(ci / cj, 2, "x"),
            known(sc / sj, 2, "x"),
            known(sq / sj, 2, "x"),
            known(proc_ratio, 2, "x"),
            tr * 1e3,
            regions,
            insts
        );
    }
    println!(
        "(n/a: qemu's run is within the noise of its start-up, read proc j/q; ckb-vm does not run the Rust guests)"
    );
    println!("where the JIT's time goes (one profiled run each):");
    for (name, j) in &profiles {
        println!(
            "  {name:<11} generated code {:>7.1} ms, interpreter {:>6.1} ms, translation {:>6.1} ms ({} regions, {} instructions, {:.1} us each; on the JIT's thread), dispatcher {:>5.1} ms; {} entries, {} chained jumps, exits: {} jump, {} interp, {} budget",
            j.native_secs * 1e3,
            j.interp_secs * 1e3,
            j.translate_secs * 1e3,
            j.regions,
            j.insts,
            j.translate_secs * 1e6 / j.insts.max(1) as f64,
            j.dispatch_secs * 1e3,
            j.entries,
            j.chains,
            j.exits_jump,
            j.exits_interp,
            j.exits_budget
        );
    }
    println!(
        "(wall time, the best of {runs} runs each; jit includes the time it waits for translations (made on a thread of their own while the interpreter goes on); cpu j/i: the interpreter's CPU time / the JIT's, its translation thread's included; qemu: its whole process less its start-up; proc j/q: qemu's whole process / `mswap --engine jit run`'s, start-ups included on both sides; ratios > 1: the JIT is faster)"
    );

    // The honest player's first pass (checkpoints and roots) with each engine.
    if !only.is_empty() && !only.iter().any(|o| o == "player") {
        return;
    }
    use mswap::players::timeline::Timeline;
    use mswap::rules::claim::b_for_steps;
    let elf = guest("loop");
    let input = bench_input("loop").expect("loop's input");
    let p = Program::load(&elf).expect("loads");
    let (steps, ..) = mswap(&p, &input, Engine::Interp);
    let b = b_for_steps(steps);
    let mut times = Vec::new();
    for engine in [Engine::Interp, Engine::Jit] {
        set_default_engine(engine);
        let t = Instant::now();
        let tl = Timeline::new(&p, &input, b, 10);
        times.push((engine, t.elapsed().as_secs_f64(), tl));
    }
    let roots: Vec<_> = times.iter().map(|(_, _, tl)| tl.final_root()).collect();
    assert_eq!(roots[0], roots[1], "both first passes end at the same root");
    println!(
        "honest player's first pass on loop.elf ({steps} steps, b = {b}): interp {:.2} s, jit {:.2} s ({:.2}x)",
        times[0].1,
        times[1].1,
        times[0].1 / times[1].1
    );
}

/// The bench's input of a guest (the same bytes on every run).
fn bench_input(name: &str) -> Option<Vec<u8>> {
    let text = || {
        let t = std::fs::read(root().join("examples/guests/inputs/text.txt")).expect("text.txt");
        t.iter().copied().cycle().take(256 << 10).collect()
    };
    Some(match name {
        "loop" => std::env::var("MSWAP_BENCH_ITERS")
            .unwrap_or_else(|_| "300000".into())
            .into_bytes(),
        "sha256" | "keccak" => text(),
        "collatz" => b"30000".to_vec(),
        "numeric" => Vec::new(),
        // Its own 20,000 numbers (7.4 M steps).
        "sort" => Vec::new(),
        // Every RV64I instruction on edge operands, each result printed in
        // hex (1 M steps): a short run, translation a large part of it.
        "alu" => Vec::new(),
        "rust_sha256" => random_bytes(4 << 20, 0x5eed),
        "rust_words" => word_text(2_000_000, 0x5eed),
        // One transaction of a contract that loops 2,000 times (some 41 M
        // steps; the add11 case's 6 opcodes ran 0.39 M steps, 8 ms, and
        // never left the interpreter's warm-up).
        "rust_evm" => evm_loop(2_000),
        // The example's 10 people run in under 1 ms: a real JSON document
        // is larger (256 KiB here, some 3,800 people).
        "rust_json" => people_json(256 << 10, 0x5eed),
        _ => return None,
    })
}

/// The JIT's figures for one profiled run of `p` on `input`.
fn profile(p: &Program, input: &[u8]) -> JitStats {
    let mut m = Machine::with_engine(p.initial_state(input), Engine::Jit);
    m.set_jit_profile(true);
    m.run(u64::MAX);
    m.jit_stats()
}

/// A figure with `digits` decimals and `unit`, or "n/a" where it could not be measured.
fn known(x: f64, digits: usize, unit: &str) -> String {
    if x.is_finite() {
        format!("{x:.digits$}{unit}")
    } else {
        "n/a".to_string()
    }
}
