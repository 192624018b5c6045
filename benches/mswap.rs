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
//! section ends with one line of its key ratios.
//!
//! - `fast`: machine A on `examples/guests/bin/loop.elf` (1.26 * 10^9
//!   instructions by default) against `qemu-riscv64` (a JIT: the ceiling)
//!   and the `ckb-vm` crate's interpreters (`TraceMachine` in Rust,
//!   `AsmMachine` in assembly), all on the same ELF with their outputs
//!   compared; plus the cost of a full state root and of an incremental one.
//! - `micro`: machine AB's micro-steps per second, its cost per A-step as a
//!   ratio to machine A, and `mswap check` throughput on 1 and 2 threads.
//! - `proof`: size (binary, JSON) and verify time of each kind of step proof.
//! - `game`: the honest player's cost against one plain run (first pass,
//!   checkpoints, replays and roots for a whole bisection) and one dispute
//!   over loopback HTTP (rounds, time, bytes).

use mswap::check::{Options, double_check};
use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::micro::MicroMachine;
use mswap::micro::microcode::microcode;
use mswap::state::tree::StateTree;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn guest(name: &str) -> Vec<u8> {
    std::fs::read(
        root()
            .join("examples/guests/bin")
            .join(format!("{name}.elf")),
    )
    .expect("guest ELF")
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn line() {
    println!("{}", "-".repeat(78));
}

// ---------------------------------------------------------------- fast

#[path = "support/ckb.rs"]
mod ckb;

fn bench_fast() {
    line();
    println!("fast: machine A on loop.elf, beside qemu-riscv64 and ckb-vm");
    let elf = guest("loop");
    let input: Vec<u8> = std::env::var("MSWAP_BENCH_ITERS")
        .map(|s| s.into_bytes())
        .unwrap_or_default();
    let program = Program::load(&elf).expect("loads");

    // The better of two runs (the others run once: this favours nobody much).
    let mut mswap_s = f64::MAX;
    let mut m = Machine::new(program.initial_state(&input));
    let mut steps = 0;
    for _ in 0..2 {
        let t = Instant::now();
        m = Machine::new(program.initial_state(&input));
        steps = m.run(u64::MAX);
        mswap_s = mswap_s.min(secs(t.elapsed()));
    }
    let output = m.state().output();
    assert!(m.state().halted(), "loop.elf halts");
    println!(
        "{:<28} {:>14} {:>10} {:>10}",
        "engine", "instructions", "seconds", "MIPS"
    );
    let row = |name: &str, n: u64, s: f64| {
        println!("{name:<28} {n:>14} {s:>10.3} {:>10.1}", n as f64 / s / 1e6)
    };
    row("mswap (machine A)", steps, mswap_s);

    let mut ratios = Vec::new();
    // qemu-riscv64: wall clock of the whole process, same ELF and input.
    let tmp = std::env::temp_dir().join(format!("mswap-bench-{}.elf", std::process::id()));
    std::fs::write(&tmp, &elf).expect("write ELF");
    {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755));
        let t = Instant::now();
        let child = std::process::Command::new("qemu-riscv64")
            .arg(&tmp)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn();
        match child {
            Ok(mut c) => {
                if let Some(mut si) = c.stdin.take() {
                    let _ = si.write_all(&input);
                }
                let out = c.wait_with_output().expect("qemu ends");
                let s = secs(t.elapsed());
                assert_eq!(out.stdout, output, "qemu and mswap agree on the output");
                row("qemu-riscv64 (JIT)", steps, s);
                ratios.push(format!("mswap/qemu {:.3}", s / mswap_s));
            }
            Err(e) => println!("qemu-riscv64 (JIT)           not run: {e}"),
        }
    }
    let _ = std::fs::remove_file(&tmp);

    let t = Instant::now();
    let (n, out, code) = ckb::trace(&elf, &input);
    let s = secs(t.elapsed());
    assert_eq!(
        (out.as_slice(), code),
        (output.as_slice(), 0),
        "ckb-vm and mswap agree"
    );
    row("ckb-vm TraceMachine (Rust)", n, s);
    ratios.push(format!("mswap/ckb-trace {:.2}x", s / mswap_s));

    let t = Instant::now();
    let (n, out, code) = ckb::asm(&elf, &input);
    let s = secs(t.elapsed());
    assert_eq!(
        (out.as_slice(), code),
        (output.as_slice(), 0),
        "ckb-vm asm and mswap agree"
    );
    row("ckb-vm AsmMachine (asm)", n, s);
    ratios.push(format!("mswap/ckb-asm {:.2}x", s / mswap_s));
    println!("(ckb-vm counts its instructions itself; mswap's count is used for qemu)");

    // Merkle roots.
    let s0 = program.initial_state(&input);
    let reps = 20;
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(StateTree::build(&s0).root());
    }
    let full = secs(t.elapsed()) / reps as f64;
    let mut st = program.initial_state(&input);
    let mut tree = StateTree::build(&st);
    st.take_dirty();
    let t = Instant::now();
    for i in 0..1000u64 {
        st.mem.write_u64(0x20000 + 8 * (i % 64), i);
        st.set_x(5, i);
        std::hint::black_box(tree.sync(&mut st));
    }
    let inc = secs(t.elapsed()) / 1000.0;
    println!(
        "state root: full build over the loaded image {:.1} us ({} pages); incremental after a store {:.1} us",
        full * 1e6,
        s0.nonzero_pages().len(),
        inc * 1e6
    );
    println!(
        "ratios: speed relative to mswap (higher = mswap faster): {}",
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

    // Machine A is quick here: the best of five runs.
    let mut a_s = f64::MAX;
    let mut a = Machine::new(program.initial_state(&input));
    let mut steps = 0;
    for _ in 0..5 {
        let t = Instant::now();
        a = Machine::new(program.initial_state(&input));
        steps = a.run(u64::MAX);
        a_s = a_s.min(secs(t.elapsed()));
    }

    let t = Instant::now();
    let mut ab = MicroMachine::attach(program.initial_state(&input));
    let mut usteps = 0u64;
    for _ in 0..steps {
        usteps += ab.run_a_step(None).executed;
    }
    let ab_s = secs(t.elapsed());
    assert!(
        a.state().first_difference(&ab.s).is_none(),
        "A and AB end equal"
    );
    println!(
        "A-steps {steps}; micro-steps executed {usteps} ({:.1} per A-step; idle ticks skipped)",
        usteps as f64 / steps as f64
    );
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
        // The better of two runs, so that warm-up favours neither side.
        let mut s = f64::MAX;
        let mut stats = None;
        for _ in 0..2 {
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
        "ratios: largest proof {largest} bytes = {:.2} of 2 KiB (Cannon's MIPS64 step: about 4.2 KB); slowest verify {slowest:.1} us = {:.2} of 100 us",
        largest as f64 / 2048.0,
        slowest / 100.0
    );
}

// ---------------------------------------------------------------- game

fn bench_game() {
    use mswap::game::claim::b_for_steps;
    use mswap::game::player::{Honest, Query, Strategy};
    use mswap::game::timeline::Timeline;
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
    let (steps, plain_before) = plain_run();
    let b = b_for_steps(steps);

    // The honest player: first pass with checkpoints, then every root a
    // bisection asks for (a path that goes left and right), then the proof.
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
    let total = secs(t.elapsed());
    // The plain run again after the player, and the better of the two (noise).
    let plain = plain_before.min(plain_run().1);
    let st = h.timeline.stats;
    println!("plain run:      {steps} steps in {plain:.3} s");
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
    use mswap::game::claim::{b_for_steps, steps_to_halt};
    use mswap::game::client::{Client, play};
    use mswap::game::player::{Honest, Liar, Lie, Player, claimed_by};
    use mswap::game::referee::{Config, Referee};
    use mswap::game::rules::{Move, Side};
    use mswap::game::timeline::Timeline;
    use mswap::game::wire::CreateGame;
    let (_, elf, input) = mswap::guests::default_guest();
    let program = Program::load(elf).expect("loads");
    let halt = steps_to_halt(&program, input, 1 << 30).expect("halts");
    let b = b_for_steps(halt);
    let dir = std::env::temp_dir().join(format!("mswap-bench-game-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = Referee::open(&dir, Config::default())
        .expect("referee")
        .serve("127.0.0.1:0")
        .expect("serves");
    let url = server.url();
    let t = Instant::now();
    let honest = || Honest {
        timeline: Timeline::new(&program, input, b, 10),
    };
    let mut liar = Liar::new(
        honest(),
        vec![Lie::From {
            from: halt / 2,
            micro_from: 30,
        }],
    );
    let claim = claimed_by(
        honest()
            .timeline
            .claim(program.hash, mswap::hash::keccak(&[input]), b),
        &mut liar,
    );
    let dc = Client::new(&url);
    let created = dc
        .create(&CreateGame {
            claim,
            program: elf.to_vec(),
            input: input.to_vec(),
            levels: None,
            clock_ms: None,
        })
        .expect("creates");
    let (id, token) = (created.game.clone(), created.token.clone());
    let d = std::thread::spawn(move || {
        let mut p = Player {
            side: Side::Defender,
            strategy: Box::new(liar),
        };
        let o = play(&dc, &id, &token, &mut p, &mut |_| {}).expect("plays");
        (o, dc.bytes())
    });
    let cc = Client::new(&url);
    let joined = cc.join(&created.game).expect("joins");
    let mut p = Player {
        side: Side::Challenger,
        strategy: Box::new(honest()),
    };
    let o = play(&cc, &created.game, &joined.token, &mut p, &mut |_| {}).expect("plays");
    let (_, dbytes) = d.join().expect("defender");
    let s = secs(t.elapsed());
    assert_eq!(o.winner(), Side::Challenger);
    let tr = cc.transcript(&created.game).expect("transcript");
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let rounds = tr
        .moves
        .iter()
        .filter(|m| matches!(m.mv, Move::Midpoint { .. }))
        .count();
    (rounds, tr.moves.len(), dbytes + cc.bytes(), s)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = ["fast", "micro", "proof", "game"];
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
            "proof" => bench_proof(),
            "game" => bench_game(),
            _ => {}
        }
    }
    line();
}
