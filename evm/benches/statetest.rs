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
use mswap::fast::Machine;
use mswap::fast::jit::Engine;
use mswap::micro::microcode::microcode;
use mswap_evm::encode::encode;
use mswap_evm::fixture::{Case, cases, json_files, read_file};
use mswap_evm::runner::{EngineChoice, GUEST_ELF, check_case};
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

/// Runs `cases` on `threads` threads with `engine`; (seconds, total steps).
fn timed(all: &[Case], p: &Program, engine: EngineChoice, threads: usize) -> (f64, u64) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let t = Instant::now();
    let steps: u64 = pool.install(|| {
        all.par_iter()
            .map(|c| {
                let v = check_case(c, p, engine, u64::MAX);
                assert!(v.pass, "{}: {:?}", v.id, v.reason);
                v.run.map_or(0, |r| r.steps)
            })
            .sum()
    });
    (t.elapsed().as_secs_f64(), steps)
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
            let (s, steps) = timed(&all, p, engine, t);
            println!(
                "{name:>6} {t} thread(s): {:>8.1} cases/s, {:>7.1} M steps/s, {s:.2} s",
                all.len() as f64 / s,
                steps as f64 / s / 1e6
            );
            rows.push((name, t, s));
        }
    }
    let (auto1, jit1, interp1) = (rows[0].2, rows[2].2, rows[4].2);
    println!(
        "ratios on 1 thread: JIT / auto time = {:.2}, interpreter / auto time = {:.2}",
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
/// run, transitions checked, micro-steps, check seconds, plain-run seconds).
fn check_one(p: &Program, case: &Case, limit: u64) -> (u64, u64, u64, f64, f64) {
    let input = encode(case).expect("encodes");
    let t = Instant::now();
    let mut m = Machine::new(p.initial_state(&input));
    let steps = m.run(u64::MAX);
    let plain = t.elapsed().as_secs_f64();
    let opts = Options {
        max_steps: limit,
        ..Options::default()
    };
    let t = Instant::now();
    let stats =
        double_check(p.initial_state(&input), &opts, microcode()).expect("the check passes");
    (
        steps,
        stats.transitions,
        stats.usteps,
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
    let pick = |file: &str, name: &str, fork_index: usize| -> Case {
        let f = root().join(file);
        cases(&f, read_file(&f).expect("fixture"))
            .into_iter()
            .filter(|c| c.name == name && c.fork == "Cancun")
            .nth(fork_index)
            .unwrap_or_else(|| panic!("{file} {name}"))
    };
    let list = [
        ("typical (add11)", pick("stExample/add11.json", "add11", 0)),
        (
            "ecmul (0x07)",
            pick(
                "stZeroKnowledge2/ecmul_0-3_5616_28000_96.json",
                "ecmul_0-3_5616_28000_96",
                0,
            ),
        ),
        (
            "point evaluation (0x0a)",
            pick(
                "stPreCompiledContracts/precompsEIP2929Cancun.json",
                "precompsEIP2929Cancun",
                0,
            ),
        ),
        (
            "modexp (0x05)",
            pick("stPreCompiledContracts/modexpTests.json", "modexpTests", 0),
        ),
    ];
    for (what, case) in list {
        let (steps, checked, usteps, secs, plain) = check_one(p, &case, limit);
        let per = secs / checked as f64;
        let full = if checked >= steps {
            format!("{secs:.2} s")
        } else {
            format!("{:.1} s projected", per * steps as f64)
        };
        println!(
            "{what:<26} {}: {steps} A-steps, {checked} checked, {:.1} micro-steps per A-step, \
             {:.2} us per A-step, whole run {full}; plain run {plain:.3} s (check / run = {:.0}x)",
            case.id(),
            usteps as f64 / checked as f64,
            per * 1e6,
            per * steps as f64 / plain
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
