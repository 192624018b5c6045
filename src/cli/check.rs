//! `mswap check`: the parallel double-check of a run.

use super::{CliError, load_program, read_input};
use clap::Args;
use mswap::check::{Options, Stats, double_check};
use mswap::micro::microcode::microcode;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `mswap check`.
#[derive(Args)]
pub struct CheckArgs {
    /// The program (a static RV64IMAC ELF file).
    elf: PathBuf,
    /// The guest's input file (`-` for standard input; empty by default).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Check at most this many transitions.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Print micro-steps per instruction class.
    #[arg(long)]
    classes: bool,
}

pub fn check(a: CheckArgs) -> Result<i32, CliError> {
    let program = load_program(&a.elf)?;
    let input = read_input(a.input.as_ref(), false)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    let code = microcode();
    let progress = super::progress::Progress::new("checking", a.max_steps);
    let report = |n: u64| progress.add(n);
    let opts = Options {
        max_steps: a.max_steps.unwrap_or(u64::MAX),
        progress: Some(&report),
        ..Options::default()
    };
    let start = Instant::now();
    let result = pool.install(|| double_check(program.initial_state(&input), &opts, code));
    progress.finish();
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(stats) => {
            print_stats(&stats, secs, pool.current_num_threads(), a.classes);
            Ok(0)
        }
        Err(m) => Err(CliError {
            msg: format!("double-check failed at {m}"),
            code: 1,
        }),
    }
}

fn print_stats(s: &Stats, secs: f64, threads: usize, classes: bool) {
    println!("transitions checked: {}", s.transitions);
    match s.halted_at {
        Some(t) => {
            println!("halted at step:      {t} (later steps are the identity, checked once)")
        }
        None => println!("halted at step:      - (still running at the end)"),
    }
    println!("micro-steps run:     {}", s.usteps);
    println!(
        "most micro-steps:    {} per instruction (bound 2^a - 1 = {})",
        s.max_usteps(),
        mswap::micro::CLEAN_AT
    );
    println!("threads:             {threads}");
    println!("time:                {secs:.3} s");
    println!(
        "throughput:          {:.0} transitions/s",
        s.transitions as f64 / secs.max(1e-9)
    );
    if classes {
        println!(
            "{:<10} {:>12} {:>10} {:>6}",
            "class", "count", "mean", "max"
        );
        for (i, (n, total, max)) in s.per_op.iter().enumerate() {
            if *n > 0 {
                println!(
                    "{:<10} {:>12} {:>10.1} {:>6}",
                    Stats::class_name(i),
                    n,
                    *total as f64 / *n as f64,
                    max
                );
            }
        }
    }
}
