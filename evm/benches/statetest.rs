//! The EVM guest's costs on the committed state tests:
//!
//! ```text
//! cargo bench -p mswap-evm                   # all sections
//! cargo bench -p mswap-evm -- cases steps    # some: cases steps check
//! ```
//!
//! - `cases`: cases per second through the runner (machine A's JIT and
//!   interpreter side by side, one thread and all), on the light fixtures
//!   of `MSWAP_EVM_BENCH_DIRS` (default `stExample stShift stLogTests`,
//!   under `tests/fixtures/GeneralStateTests`).
//! - `steps`: A-steps per case, median and worst, per folder, over every
//!   committed fixture the runner's test leaves out (`evm/heavy.txt`) and
//!   the light ones above; each heavy case is also checked to pass.
//! - `check`: the double-check (every A-step re-run by the micro-machine,
//!   `mswap check`) of a typical case in full, and of the heaviest
//!   precompile cases up to `MSWAP_EVM_BENCH_CHECK_STEPS` transitions
//!   (default 3 000 000), with the time per A-step projected to the whole
//!   run (marked as projected).
//!
//! Read the ratios: the machine is shared and noisy.

use mswap::check::{Options, double_check};
use mswap::elf::Program;
use mswap::fast::jit::Engine;
use mswap::micro::microcode::microcode;
use mswap_evm::encode::encode;
use mswap_evm::fixture::{Case, cases, json_files, read_file};
use mswap_evm::runner::{EngineChoice, GUEST_ELF, check_case, run_guest};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/GeneralStateTests")
}

fn heavy() -> Vec<PathBuf> {
    let list: &[&str] = include!("../heavy.txt");
    list.iter().map(|f| root().join(f)).collect()
}

fn load(paths: &[PathBuf]) -> Vec<Case> {
    let mut all = Vec::new();
    for f in json_files(paths).expect("fixtures") {
        all.extend(cases(&f, read_file(&f).expect("a fixture")));
    }
    all
}

fn light_dirs() -> Vec<PathBuf> {
    let dirs = std::env::var("MSWAP_EVM_BENCH_DIRS")
        .unwrap_or_else(|_| "stExample stShift stLogTests".to_string());
    dirs.split_whitespace().map(|d| root().join(d)).collect()
}

fn median_worst(mut v: Vec<u64>) -> (u64, u64) {
    v.sort_unstable();
    (
        v.get(v.len() / 2).copied().unwrap_or(0),
        v.last().copied().unwrap_or(0),
    )
}

/// CPU seconds of this process so far (user and system, from
/// `/proc/self/stat`; 0 where there is none), so that the figures do not
/// count the time other processes of a shared machine take.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name (which may hold spaces), from the
    // third: utime and stime are the 14th and 15th, in clock ticks (100/s).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Runs `cases` on `threads` threads with `engine`; (wall seconds, CPU
/// seconds, total steps).
fn timed(all: &[Case], p: &Program, engine: EngineChoice, threads: usize) -> (f64, f64, u64) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let t = Instant::now();
    let cpu = cpu_seconds();
    let steps: u64 = pool.install(|| {
        all.par_iter()
            .map(|c| {
                let v = check_case(c, p, engine, u64::MAX);
                assert!(v.pass, "{}: {:?}", v.id, v.reason);
                v.run.map_or(0, |r| r.steps)
            })
            .sum()
    });
    (t.elapsed().as_secs_f64(), cpu_seconds() - cpu, steps)
}

fn cases_section(p: &Program) {
    let heavy = heavy();
    let all: Vec<Case> = load(&light_dirs())
        .into_iter()
        .filter(|c| !heavy.contains(&c.file))
        .collect();
    println!("== cases: {} light cases", all.len());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();
    for (name, engine) in [
        ("auto", EngineChoice::Auto),
        ("jit", EngineChoice::Only(Engine::Jit)),
        ("interp", EngineChoice::Only(Engine::Interp)),
    ] {
        for t in [1, threads] {
            let (s, cpu, steps) = timed(&all, p, engine, t);
            println!(
                "{name:>6} {t} thread(s): {:>7.1} cases/s ({:>6.1} per CPU second), \
                 {:>6.1} M steps per CPU second; {s:.2} s, {cpu:.2} CPU s",
                all.len() as f64 / s,
                all.len() as f64 / cpu.max(0.01),
                steps as f64 / cpu.max(0.01) / 1e6
            );
            rows.push((name, t, cpu));
        }
    }
    let (auto1, jit1, interp1) = (rows[0].2, rows[2].2, rows[4].2);
    println!(
        "ratios on 1 thread: JIT / auto CPU time = {:.2}, interpreter / auto CPU time = {:.2}",
        jit1 / auto1,
        interp1 / auto1
    );
}

fn steps_section(p: &Program) {
    println!("== steps: A-steps per case");
    let mut paths = light_dirs();
    paths.extend(heavy());
    let all = load(&paths);
    let results: Vec<(String, u64, bool)> = all
        .par_iter()
        .map(|c| {
            let v = check_case(c, p, EngineChoice::Auto, u64::MAX);
            let folder = c
                .file
                .parent()
                .and_then(|d| d.file_name())
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !v.pass {
                println!("FAIL {}: {:?}", v.id, v.reason);
            }
            (folder, v.run.map_or(0, |r| r.steps), v.pass)
        })
        .collect();
    let mut folders: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (f, s, _) in &results {
        folders.entry(f.clone()).or_default().push(*s);
    }
    for (f, v) in &folders {
        let (m, w) = median_worst(v.clone());
        println!(
            "{f:<32} {:>5} cases  median {m:>12}  worst {w:>12}",
            v.len()
        );
    }
    let (m, w) = median_worst(results.iter().map(|r| r.1).collect());
    let failed = results.iter().filter(|r| !r.2).count();
    println!(
        "all: {} cases, {failed} failed, median {m} A-steps, worst {w}",
        results.len()
    );
}

/// Double-checks `case` up to `limit` transitions: (A-steps of the whole
/// run, transitions checked, micro-steps, check CPU seconds, check wall
/// seconds, plain-run CPU seconds).
fn check_one(p: &Program, case: &Case, limit: u64) -> (u64, u64, u64, f64, f64, f64) {
    let input = encode(case).expect("encodes");
    let cpu = cpu_seconds();
    let steps = run_guest(p, &input, EngineChoice::Auto, u64::MAX).steps;
    let plain = cpu_seconds() - cpu;
    let opts = Options {
        max_steps: limit,
        ..Options::default()
    };
    let t = Instant::now();
    let cpu = cpu_seconds();
    let stats =
        double_check(p.initial_state(&input), &opts, microcode()).expect("the check passes");
    (
        steps,
        stats.transitions,
        stats.usteps,
        cpu_seconds() - cpu,
        t.elapsed().as_secs_f64(),
        plain,
    )
}

fn check_section(p: &Program) {
    let limit: u64 = std::env::var("MSWAP_EVM_BENCH_CHECK_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000_000);
    println!(
        "== check: the double-check on {} threads",
        rayon::current_num_threads()
    );
    // The case of `file` with the most A-steps.
    let heaviest = |file: &str| -> Case {
        let f = root().join(file);
        let all = cases(&f, read_file(&f).expect("fixture"));
        let steps: Vec<u64> = all
            .par_iter()
            .map(|c| {
                let v = check_case(c, p, EngineChoice::Auto, u64::MAX);
                v.run.map_or(0, |r| r.steps)
            })
            .collect();
        let i = (0..all.len()).max_by_key(|&i| steps[i]).expect("a case");
        all[i].clone()
    };
    let list = [
        ("typical (add11)", heaviest("stExample/add11.json")),
        (
            "ecadd (0x06)",
            heaviest("stZeroKnowledge2/ecadd_1-2_1-2_21000_192.json"),
        ),
        (
            "ecrecover (0x01)",
            heaviest("stPreCompiledContracts/sec80.json"),
        ),
        (
            "blake2f (0x09)",
            heaviest("stPreCompiledContracts/blake2B.json"),
        ),
        (
            "modexp (0x05)",
            heaviest("stPreCompiledContracts/modexp.json"),
        ),
        (
            "point evaluation (0x0a)",
            heaviest("Pyspecs/cancun/eip4844_blobs/point_evaluation_precompile_calls.json"),
        ),
    ];
    for (what, case) in list {
        let (steps, checked, usteps, cpu, wall, plain) = check_one(p, &case, limit);
        let per = cpu / checked as f64;
        let whole = if checked >= steps {
            format!("{cpu:.2} CPU s ({wall:.2} s)")
        } else {
            format!("{:.1} CPU s projected", per * steps as f64)
        };
        println!(
            "{what:<24} {}: {steps} A-steps, {checked} checked, {:.1} micro-steps per A-step, \
             {:.2} CPU us per A-step, whole run {whole}; plain run {plain:.2} CPU s \
             (check / run = {:.0}x)",
            case.id(),
            usteps as f64 / checked as f64,
            per * 1e6,
            per * steps as f64 / plain.max(0.01)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let on = |s: &str| args.is_empty() || args.iter().any(|a| a == s);
    let p = Program::load(GUEST_ELF).expect("the guest loads");
    if on("cases") {
        cases_section(&p);
    }
    if on("steps") {
        steps_section(&p);
    }
    if on("check") {
        check_section(&p);
    }
}
