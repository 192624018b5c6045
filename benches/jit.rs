//! Machine A's engines side by side: the JIT, the interpreter,
//! `qemu-riscv64` (a JIT: the ceiling) and ckb-vm's assembly interpreter,
//! on `loop.elf` and the compute guests, all in one run with their outputs
//! compared; the JIT's translation time; and the honest player's first
//! pass with each engine.
//!
//! ```text
//! cargo bench --bench jit
//! MSWAP_BENCH_ITERS=100000 cargo bench --bench jit   # a shorter loop.elf
//! MSWAP_BENCH_RUNS=1 cargo bench --bench jit          # one run each (default 2)
//! ```
//!
//! mswap's engines and ckb-vm run in this process, `qemu-riscv64` as a
//! process of its own; all are timed in wall time. So that qemu is not
//! charged for starting, its figure is its whole run less its start-up
//! (the best of 5 whole runs of an empty guest, measured in the same run).
//! Beside it, `proc j/q` compares two whole processes of the same kind,
//! qemu and `mswap --engine jit run`, with no subtraction at all. On short
//! runs (a few ms) the subtraction is within the noise: read `proc j/q`.
//!
//! The machine is shared and noisy: read the ratios, not the absolute numbers.

#[path = "support/mod.rs"]
mod support;

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::fast::jit::{Engine, available, set_default_engine};
use std::time::Instant;
use support::{ckb, guest, mswap_process, qemu, root, runs, startup};

/// One engine on a guest: (steps, seconds, output, translation seconds, regions, instructions translated).
fn mswap(p: &Program, input: &[u8], engine: Engine) -> (u64, f64, Vec<u8>, f64, u64, u64) {
    let s0 = p.initial_state(input);
    let t = Instant::now();
    let mut m = Machine::with_engine(s0, engine);
    let n = m.run(u64::MAX);
    let s = t.elapsed().as_secs_f64();
    assert!(m.state().halted(), "the guest halts");
    let st = m.jit_stats();
    (
        n,
        s,
        m.state().output(),
        st.translate_secs,
        st.regions,
        st.insts,
    )
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "--list") {
        return;
    }
    println!(
        "jit: machine A's engines ({} cores); JIT available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        available()
    );
    let runs = runs();
    let iters = std::env::var("MSWAP_BENCH_ITERS").unwrap_or_else(|_| "300000".into());
    let text = std::fs::read(root().join("examples/guests/inputs/text.txt")).expect("text.txt");
    let big_text: Vec<u8> = text.iter().copied().cycle().take(256 << 10).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("loop", iters.clone().into_bytes()),
        ("sha256", big_text.clone()),
        ("keccak", big_text),
        ("collatz", b"30000".to_vec()),
        ("numeric", Vec::new()),
    ];
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
        "{:<8} {:>12} | {:>8} {:>8} {:>8} {:>8} | {:>7} {:>7} {:>8} {:>9} | {:>8} {:>7} {:>6}",
        "guest",
        "instrs",
        "interp",
        "jit",
        "qemu",
        "ckb-asm",
        "jit/int",
        "jit/ckb",
        "jit/qemu",
        "proc j/q",
        "transl.",
        "regions",
        "insts"
    );
    println!(
        "{:<21} | {:^35} | {:^35} | {:^23}",
        "", "MIPS", "speed ratios", "translated"
    );
    for (name, input) in &cases {
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
        let (mut q, mut sp): (Result<f64, String>, Result<f64, String>) =
            (Ok(f64::MAX), Ok(f64::MAX));
        let mut translated = (0.0, 0, 0);
        for _ in 0..runs {
            let (ni, s, outi, ..) = mswap(&p, input, Engine::Interp);
            let (n, out) = reference.get_or_insert_with(|| (ni, outi.clone()));
            let (n, out) = (*n, out.as_slice());
            assert_eq!(
                (ni, outi.as_slice()),
                (n, out),
                "{name}: the interpreter repeats"
            );
            si = si.min(s);
            let (nj, s, outj, tr, regions, insts) = mswap(&p, input, Engine::Jit);
            assert_eq!(
                (nj, outj.as_slice()),
                (n, out),
                "{name}: JIT and interpreter agree"
            );
            if s < sj {
                (sj, translated) = (s, (tr, regions, insts));
            }
            q = q.and_then(|b| Ok(b.min(whole(qemu(&elf, input), out, "qemu")?)));
            sp = sp.and_then(|b| {
                Ok(b.min(whole(mswap_process(&elf, input, "jit"), out, "mswap run")?))
            });
            let t = Instant::now();
            let (_, co, _) = ckb::asm(&elf, input, ckb::MEMORY);
            sc = sc.min(t.elapsed().as_secs_f64());
            assert_eq!(co, out, "{name}: ckb-vm asm agrees");
        }
        let (n, _) = reference.expect("at least one run");
        let (tr, regions, insts) = translated;
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
            "{:<8} {:>12} | {:>8.0} {:>8} {:>8} {:>8.0} | {:>6.2}x {:>6.2}x {:>8} {:>9} | {:>6.1}ms {:>7} {:>6}",
            name,
            n,
            mips(si),
            format!("{:.0}", mips(sj)),
            known(mips(sq), 0, ""),
            mips(sc),
            si / sj,
            sc / sj,
            known(sq / sj, 2, "x"),
            known(proc_ratio, 2, "x"),
            tr * 1e3,
            regions,
            insts
        );
    }
    println!("(n/a: qemu's run is within the noise of its start-up; read proc j/q)");
    println!(
        "(wall time, the best of {runs} runs each; jit includes its translation time; qemu: its whole process less its start-up; proc j/q: qemu's whole process / `mswap --engine jit run`'s, start-ups included on both sides; ratios > 1: the JIT is faster)"
    );

    // The honest player's first pass (checkpoints and roots) with each engine.
    use mswap::game::claim::b_for_steps;
    use mswap::game::timeline::Timeline;
    let elf = guest("loop");
    let input = iters.into_bytes();
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

/// A figure with `digits` decimals and `unit`, or "n/a" where it could not be measured.
fn known(x: f64, digits: usize, unit: &str) -> String {
    if x.is_finite() {
        format!("{x:.digits$}{unit}")
    } else {
        "n/a".to_string()
    }
}
