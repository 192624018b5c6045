//! `mswap check`: the parallel double-check of a run, whole or as one
//! shard (`--shard K/N --out FILE.json`), and the merge of a set of shard
//! certificates into one verdict (`--merge FILE.json...`).

use super::input::{InputArg, load_program};
use super::output::{self, CliError, Exit, outln};
use super::progress::Progress;
use clap::Args;
use mswap::check::shard::{MismatchRecord, ShardId};
use mswap::check::{Options, Stats, double_check_to};
use mswap::fast::Machine;
use mswap::hash::{Hash, keccak};
use mswap::micro::microcode::microcode;
use mswap::state::tree;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `mswap check`.
#[derive(Args)]
pub struct CheckArgs {
    /// The program (a static RV64IMAC ELF file); with --merge, taken by
    /// its path in the certificates when not given.
    #[arg(required_unless_present = "merge")]
    elf: Option<PathBuf>,
    #[command(flatten)]
    input: InputArg,
    /// Worker threads (default: all cores; at most 4 per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Check at most this many transitions.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Print micro-steps per instruction class.
    #[arg(long)]
    classes: bool,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Check only the K-th (from 0) of N contiguous ranges of the run's
    /// transitions and write its certificate to --out.
    #[arg(long, value_name = "K/N", requires = "out", conflicts_with_all = ["merge", "classes"])]
    shard: Option<ShardId>,
    /// The shard's certificate (JSON; `-` for standard output).
    #[arg(long, value_name = "FILE.json", requires = "shard")]
    out: Option<PathBuf>,
    /// Merge shard certificates into one verdict (the input, like the ELF
    /// file, is taken by its path in the certificates when not given).
    #[arg(long, value_name = "FILE.json", num_args = 1.., conflicts_with_all = ["threads", "max_steps", "classes"])]
    merge: Vec<PathBuf>,
}

/// One instruction class in `mswap check --json`.
#[derive(Serialize)]
struct Class {
    class: &'static str,
    count: u64,
    mean_micro_steps: f64,
    max_micro_steps: u64,
}

/// `mswap check --json`.
#[derive(Serialize)]
struct CheckOut {
    #[serde(flatten)]
    run: super::shards::RunOut,
    threads: usize,
    seconds: f64,
    /// The root of the last state checked (`null` after a mismatch).
    final_root: Option<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    classes: Vec<Class>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Where A and AB disagree.
    mismatch: Option<MismatchRecord>,
}

pub fn check(a: CheckArgs) -> Result<i32, CliError> {
    if !a.merge.is_empty() {
        return super::shards::merge(&a.merge, a.elf.as_deref(), &a.input, a.json);
    }
    super::validate::threads(a.threads)?;
    if a.max_steps == Some(0) {
        return Err(CliError::usage("--max-steps 0: at least 1"));
    }
    a.input.check()?;
    let Some(elf) = a.elf.as_deref() else {
        return Err(CliError::usage("the ELF file is missing"));
    };
    if let (Some(id), Some(out)) = (a.shard, a.out.as_deref()) {
        let shard = super::shards::ShardArgs {
            elf,
            input: &a.input,
            id,
            out,
            threads: a.threads,
            max_steps: a.max_steps,
            json: a.json,
        };
        return super::shards::shard(shard);
    }
    let program = load_program(elf)?;
    let input = a.input.read()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()
        .map_err(|e| CliError::io(format!("cannot start worker threads: {e}")))?;
    let max_steps = a.max_steps.unwrap_or(u64::MAX);
    let total = count_transitions(&program, &input, max_steps);
    let code = microcode();
    let progress = Arc::new(Progress::with_unit("checking", "transitions", Some(total)));
    progress.on_interrupt(|done| format!(": {done} checked, no mismatch in them"));
    let report = |n: u64| progress.add(n);
    let opts = Options {
        max_steps,
        progress: Some(&report),
        ..Options::default()
    };
    let start = Instant::now();
    let result = pool.install(|| double_check_to(program.initial_state(&input), &opts, code));
    progress.finish();
    output::clear_interrupt();
    let secs = start.elapsed().as_secs_f64();
    let threads = pool.current_num_threads();
    let mut out = CheckOut {
        run: super::shards::RunOut {
            program: program.hash,
            input: keccak(&[&input]),
            valid: result.is_ok(),
            transitions: 0,
            halted_after: None,
            micro_steps: 0,
            max_micro_steps: 0,
        },
        threads,
        seconds: secs,
        final_root: None,
        classes: Vec::new(),
        mismatch: None,
    };
    match result {
        Ok((stats, reached)) => {
            out.final_root = reached.as_ref().map(tree::root);
            if a.json {
                out.run.transitions = stats.transitions;
                out.run.halted_after = stats.halted_at.map(|t| t + 1);
                out.run.micro_steps = stats.usteps;
                out.run.max_micro_steps = stats.max_usteps();
                out.classes = classes(&stats);
                output::json(&out);
            } else {
                print_stats(&stats, secs, threads, a.classes);
                if let Some(r) = out.final_root {
                    outln!("final root:          {}", output::hash(&r));
                }
            }
            Ok(Exit::Ok.code())
        }
        Err(m) => {
            if a.json {
                out.mismatch = Some(MismatchRecord::from(&m));
                output::json_final(&out);
            }
            Err(CliError::negative(format!("double-check failed at {m}")))
        }
    }
}

/// The first pass: machine A alone (about 1% of the check's time) finds
/// the run's length, so that the check can show a total and time left.
fn count_transitions(program: &mswap::elf::Program, input: &[u8], max_steps: u64) -> u64 {
    const CHUNK: u64 = 1 << 24;
    let progress = Arc::new(Progress::new(
        "running the program to find its length",
        None,
    ));
    progress.on_interrupt(|done| {
        format!(" while finding the run's length: {done} run, nothing checked yet")
    });
    let mut m = Machine::new(program.initial_state(input));
    let mut steps = 0u64;
    while steps < max_steps && !m.state().halted() {
        let n = m.run((max_steps - steps).min(CHUNK));
        steps += n;
        progress.add(n);
        if n == 0 {
            break;
        }
    }
    progress.finish();
    // A halted run is checked up to its halt plus one identity transition.
    if m.state().halted() {
        (steps + 1).min(max_steps)
    } else {
        steps
    }
}

fn classes(s: &Stats) -> Vec<Class> {
    s.per_op
        .iter()
        .enumerate()
        .filter(|(_, (n, _, _))| *n > 0)
        .map(|(i, (n, total, max))| Class {
            class: Stats::class_name(i),
            count: *n,
            mean_micro_steps: *total as f64 / *n as f64,
            max_micro_steps: *max,
        })
        .collect()
}

/// Prints the figures of a check (a whole run's or one shard's).
pub(super) fn print_stats(s: &Stats, secs: f64, threads: usize, classes: bool) {
    outln!("transitions checked: {}", s.transitions);
    match s.halted_at {
        Some(t) => outln!(
            "halted after:        {} steps (later steps are the identity, checked once)",
            t + 1
        ),
        None => outln!("halted after:        - (still running at the end)"),
    }
    outln!("micro-steps run:     {}", s.usteps);
    outln!(
        "most micro-steps:    {} per instruction (bound 2^a - 1 = {})",
        s.max_usteps(),
        mswap::micro::CLEAN_AT
    );
    outln!("threads:             {threads}");
    outln!("time:                {secs:.3} s");
    outln!(
        "throughput:          {}/s transitions",
        output::human(s.transitions as f64 / secs.max(1e-9))
    );
    if classes {
        outln!(
            "{:<10} {:>12} {:>10} {:>6}",
            "class",
            "count",
            "mean",
            "max"
        );
        for c in self::classes(s) {
            outln!(
                "{:<10} {:>12} {:>10.1} {:>6}",
                c.class,
                c.count,
                c.mean_micro_steps,
                c.max_micro_steps
            );
        }
    }
}
