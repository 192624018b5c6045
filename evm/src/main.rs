//! `mswap-evm`: the Ethereum state tests in the EVM guest on machine A.
//!
//! ```sh
//! mswap-evm statetest [--json] PATH...      # exit 0: all pass, 1: some fail, 2: bad usage or input
//! mswap-evm claim FILE --case NAME[:FORK:INDEX] -o case.bin
//! ```

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mswap::elf::Program;
use mswap::fast::jit::Engine;
use mswap_evm::encode::encode;
use mswap_evm::error::EvmError;
use mswap_evm::fixture::{Case, cases, json_files, read_file};
use mswap_evm::report::{JsonLine, table};
use mswap_evm::runner::{EngineChoice, GUEST_ELF, Verdict, check_case};
use rayon::prelude::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(Parser)]
#[command(
    name = "mswap-evm",
    version,
    about = "Ethereum state tests in the EVM guest on mswap's machine A"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    /// The interpreter for the first 5 million steps of a case, then the JIT.
    Auto,
    /// The JIT.
    Jit,
    /// The interpreter (the reference).
    Interp,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every (test, fork, post entry) of GeneralStateTests fixtures in
    /// the guest and compares its state root, logs hash and validity with
    /// the fixture. Exit 0 when all pass, 1 when some fail, 2 on bad usage
    /// or input.
    Statetest {
        /// One JSON object per case and line: file, name, fork, index,
        /// pass, steps, hash, logs (reasons of failures on stderr).
        #[arg(long)]
        json: bool,
        /// Only the cases of this fork (repeat for more).
        #[arg(long)]
        fork: Vec<String>,
        /// Steps after which a case counts as failed (still running).
        #[arg(long, default_value_t = 20_000_000_000)]
        max_steps: u64,
        /// Machine A's engine.
        #[arg(long, value_enum, default_value = "auto")]
        engine: EngineArg,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Fixture files, or directories searched for .json files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Writes the guest's input for one case, for `mswap run/check/defend/challenge`
    /// with `examples/guests/bin/rust_evm.elf`.
    Claim {
        /// The fixture file.
        file: PathBuf,
        /// `NAME`, `NAME:FORK` or `NAME:FORK:INDEX` (default: the newest
        /// fork of the test and index 0).
        #[arg(long)]
        case: String,
        /// Where to write the input.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Also write the guest's ELF here.
        #[arg(long)]
        write_elf: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Statetest {
            json,
            fork,
            max_steps,
            engine,
            threads,
            paths,
        } => statetest(json, &fork, max_steps, engine, threads, &paths),
        Command::Claim {
            file,
            case,
            output,
            write_elf,
        } => claim(&file, &case, &output, write_elf.as_deref()).map(|()| ExitCode::SUCCESS),
    };
    r.unwrap_or_else(|e| {
        eprintln!("mswap-evm: {e}");
        ExitCode::from(2)
    })
}

fn guest() -> Result<Program, EvmError> {
    Program::load(GUEST_ELF).map_err(|e| EvmError::Guest(e.to_string()))
}

fn statetest(
    json: bool,
    forks: &[String],
    max_steps: u64,
    engine: EngineArg,
    threads: Option<usize>,
    paths: &[PathBuf],
) -> Result<ExitCode, EvmError> {
    let program = guest()?;
    let engine = match engine {
        EngineArg::Auto => EngineChoice::Auto,
        EngineArg::Jit => EngineChoice::Only(Engine::Jit),
        EngineArg::Interp => EngineChoice::Only(Engine::Interp),
    };
    // Every file is read before anything runs: a bad file is an input
    // error (exit 2) found at once, not after an hour of running.
    let mut all: Vec<Case> = Vec::new();
    for f in json_files(paths)? {
        let file = read_file(&f)?;
        all.extend(
            cases(&f, file)
                .into_iter()
                .filter(|c| forks.is_empty() || forks.contains(&c.fork)),
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| EvmError::Guest(format!("thread pool: {e}")))?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(all.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} cases, {elapsed} ({eta} left) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    let failures = Mutex::new(0usize);
    let stdout = Mutex::new(std::io::stdout());
    let results: Vec<(Case, Verdict)> = pool.install(|| {
        all.into_par_iter()
            .map(|case| {
                let v = check_case(&case, &program, engine, max_steps);
                if !v.pass {
                    let mut n = failures.lock().unwrap_or_else(|e| e.into_inner());
                    *n += 1;
                    bar.set_message(format!("{n} failed"));
                }
                if json {
                    let line = serde_json::to_string(&JsonLine::new(&case, &v))
                        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
                    let mut out = stdout.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = writeln!(out, "{line}");
                    if let Some(r) = &v.reason {
                        eprintln!("FAIL {} {}: {r}", case.file.display(), v.id);
                    }
                }
                bar.inc(1);
                (case, v)
            })
            .collect()
    });
    bar.finish_and_clear();
    let failed: Vec<&(Case, Verdict)> = results.iter().filter(|(_, v)| !v.pass).collect();
    if !json {
        print!("{}", table(&results));
        for (case, v) in &failed {
            println!(
                "FAIL {} {}: {}",
                case.file.display(),
                v.id,
                v.reason.as_deref().unwrap_or("")
            );
        }
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The case `spec` names in `file`.
fn find_case(file: &std::path::Path, spec: &str) -> Result<Case, EvmError> {
    let no = |why: String| EvmError::NoCase {
        file: file.to_path_buf(),
        why,
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (name, fork, index) = match parts.as_slice() {
        [name] => (*name, None, 0),
        [name, fork] => (*name, Some(*fork), 0),
        [name, fork, index] => {
            let i = index.parse::<usize>().map_err(|_| {
                no(format!(
                    "--case {spec}: the index {index:?} is not a number"
                ))
            })?;
            (*name, Some(*fork), i)
        }
        _ => return Err(no(format!("--case {spec}: expected NAME[:FORK:INDEX]"))),
    };
    let tests = read_file(file)?;
    let all = cases(file, tests);
    let of_test: Vec<&Case> = all.iter().filter(|c| c.name == name).collect();
    if of_test.is_empty() {
        let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        names.dedup();
        return Err(no(format!(
            "no test {name:?}; the tests: {}",
            names.join(", ")
        )));
    }
    // Without a fork: the newest one the test has (in the guest's order).
    let fork = match fork {
        Some(f) => f.to_string(),
        None => of_test
            .iter()
            .max_by_key(|c| mswap_evm::encode::fork_code(&c.fork))
            .map(|c| c.fork.clone())
            .unwrap_or_default(),
    };
    let found = of_test
        .iter()
        .find(|c| c.fork == fork && c.index == index)
        .copied();
    found.cloned().ok_or_else(|| {
        let choices: Vec<String> = of_test
            .iter()
            .map(|c| format!("{}:{}", c.fork, c.index))
            .collect();
        no(format!(
            "test {name} has no case {fork}:{index}; it has {}",
            choices.join(", ")
        ))
    })
}

fn claim(
    file: &std::path::Path,
    spec: &str,
    output: &std::path::Path,
    write_elf: Option<&std::path::Path>,
) -> Result<(), EvmError> {
    let case = find_case(file, spec)?;
    let input = encode(&case).map_err(|e| EvmError::Encode {
        case: case.id(),
        source: e,
    })?;
    std::fs::write(output, &input).map_err(|e| EvmError::Write {
        path: output.to_path_buf(),
        source: e,
    })?;
    if let Some(p) = write_elf {
        std::fs::write(p, GUEST_ELF).map_err(|e| EvmError::Write {
            path: p.to_path_buf(),
            source: e,
        })?;
    }
    let post = case.post();
    println!("case: {}", case.id());
    println!("input: {} ({} bytes)", output.display(), input.len());
    println!(
        "program: examples/guests/bin/rust_evm.elf ({})",
        guest()?.hash
    );
    println!("expected state root: {}", post.hash);
    println!("expected logs hash: {}", post.logs);
    if let Some(x) = &post.expect_exception {
        println!("expected exception: {x}");
    }
    Ok(())
}
