//! Command-line interface. Each command is one function that gathers the
//! library's errors into a one-line message and an exit code.

mod check;
mod game;
mod progress;
mod proof;
mod run;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

/// Machine Swapping: a fast RV64IM machine, its microcoded twin, one-step
/// proofs and a bisection game to settle disputed results.
#[derive(Parser)]
#[command(name = "mswap", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Machine A's engine: `jit` or `interp` (default: the JIT where it is
    /// built and passes its self-test, else the interpreter).
    #[arg(long, global = true)]
    engine: Option<mswap::fast::jit::Engine>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program like `qemu-riscv64 ELF`: its output on stdout/stderr, its exit code as ours.
    Run(run::RunArgs),
    /// Print the state root after N steps.
    Root(run::RootArgs),
    /// Double-check every step of a run with the micro-machine, in parallel.
    Check(check::CheckArgs),
    /// Write the proof of one micro-step of a run.
    Prove(proof::ProveArgs),
    /// Check a step proof or a game transcript offline.
    Verify(proof::VerifyArgs),
    /// Print the micro-machine's microcode as an assembly listing.
    Microcode,
    /// Serve games over HTTP/JSON as the referee.
    Referee(game::RefereeArgs),
    /// Claim a program's result and defend it in a game.
    Defend(game::DefendArgs),
    /// Check a claim and, if it is wrong, dispute it.
    Challenge(game::ChallengeArgs),
    /// A whole dispute in one process: referee, lying defender, honest challenger.
    Dispute(game::DisputeArgs),
}

/// A failure the CLI reports in one line.
pub struct CliError {
    /// The message.
    pub msg: String,
    /// The exit code.
    pub code: i32,
}

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError {
            msg: e.to_string(),
            code: 1,
        }
    }
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    if let Some(e) = cli.engine {
        if e != mswap::fast::jit::Engine::Interp && !mswap::fast::jit::available() {
            let why = mswap::fast::jit::self_test().err().unwrap_or_default();
            eprintln!("mswap: --engine jit: the JIT is not available here: {why}");
            return 1;
        }
        mswap::fast::jit::set_default_engine(e);
    }
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Root(a) => run::root(a),
        Command::Check(a) => check::check(a),
        Command::Prove(a) => proof::prove(a),
        Command::Verify(a) => proof::verify(a),
        Command::Referee(a) => game::referee(a),
        Command::Defend(a) => game::defend(a),
        Command::Challenge(a) => game::challenge(a),
        Command::Dispute(a) => game::dispute(a),
        Command::Microcode => {
            let m = mswap::micro::microcode::microcode();
            println!(
                "; mswap microcode: {} micro-instructions, {} slots, tree depth {}",
                m.program.words.len(),
                m.slots,
                m.depth
            );
            println!("; root 0x{}", m.root);
            println!(
                "; a = {} ({} micro-steps per A-step)",
                mswap::micro::LOG2_USTEPS,
                mswap::micro::USTEPS
            );
            print!("{}", m.listing());
            Ok(0)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mswap: {}", e.msg);
            e.code
        }
    }
}

/// Reads a file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError {
        msg: format!("cannot read {}: {e}", path.display()),
        code: 1,
    })
}

/// Reads an input: a file, `-` for standard input, or `default` when absent.
pub fn read_input(path: Option<&PathBuf>, stdin_by_default: bool) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    match path {
        Some(p) if p.as_os_str() != "-" => read_file(p),
        None if !stdin_by_default => Ok(Vec::new()),
        _ => {
            let mut v = Vec::new();
            std::io::stdin()
                .read_to_end(&mut v)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(v)
        }
    }
}

/// Loads a program, printing its warnings.
pub fn load_program(path: &Path) -> Result<mswap::elf::Program, CliError> {
    let bytes = read_file(path)?;
    let p = mswap::elf::Program::load(&bytes).map_err(|e| CliError {
        msg: format!("{}: {e}", path.display()),
        code: 1,
    })?;
    for w in &p.warnings {
        eprintln!("mswap: warning: {}: {w}", path.display());
    }
    Ok(p)
}
