//! Command-line interface. Each command is one function that gathers the
//! library's errors into a one-line message and an exit code.

mod chain;
mod check;
mod game;
pub mod input;
mod microcode;
mod new;
pub mod output;
mod play;
mod progress;
mod proof;
mod run;
mod shards;
pub mod validate;

use clap::{Parser, Subcommand};
use output::Exit;

/// Machine Swapping: a fast RV64IMAC machine, its microcoded twin, one-step
/// proofs and a bisection game to settle disputed results.
#[derive(Parser)]
#[command(name = "mswap", version, after_help = output::EXIT_CODES_HELP)]
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
    #[command(after_help = output::EXIT_CODES_HELP)]
    Run(run::RunArgs),
    /// Print the state root after N steps.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Root(run::RootArgs),
    /// Double-check every step of a run with the micro-machine, in parallel.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Check(check::CheckArgs),
    /// Write the proof of one micro-step of a run.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Prove(proof::ProveArgs),
    /// Check a step proof or a game transcript offline.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Verify(proof::VerifyArgs),
    /// Print the micro-machine's microcode as an assembly listing.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Microcode(microcode::MicrocodeArgs),
    /// Deploy the step verifier and the dispute game on a local node (anvil).
    #[command(after_help = output::EXIT_CODES_HELP)]
    Deploy(chain::DeployArgs),
    /// Serve games over HTTP/JSON as the referee.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Referee(game::RefereeArgs),
    /// Claim a program's result and defend it in a game.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Defend(game::DefendArgs),
    /// Check a claim and, if it is wrong, dispute it.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Challenge(game::ChallengeArgs),
    /// A whole dispute in one process: referee, lying defender, honest challenger.
    #[command(after_help = output::EXIT_CODES_HELP)]
    Dispute(game::DisputeArgs),
    /// Write a ready guest project (Rust with the guest crate, or C).
    New(new::NewArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    output::install();
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let _ = e.print();
            if json {
                let msg = e.kind().to_string();
                output::json(&Failed {
                    error: &msg,
                    exit: Exit::Usage.code(),
                });
            }
            return Exit::Usage.code();
        }
    };
    if let Some(e) = cli.engine {
        if e != mswap::fast::jit::Engine::Interp && !mswap::fast::jit::available() {
            let why = mswap::fast::jit::self_test().err().unwrap_or_default();
            eprintln!("mswap: --engine jit: the JIT is not available here: {why}");
            return 1;
        }
        mswap::fast::jit::set_default_engine(e);
    }
    // `--json` promises a JSON document even on failure (`run --json`
    // keeps its documents on standard error, standard output being the guest's).
    let json_on_stderr = matches!(cli.command, Command::Run(_));
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Root(a) => run::root(a),
        Command::Check(a) => check::check(a),
        Command::Prove(a) => proof::prove(a),
        Command::Verify(a) => proof::verify(a),
        Command::Deploy(a) => chain::deploy(a),
        Command::Referee(a) => game::referee(a),
        Command::Defend(a) => game::defend(a),
        Command::Challenge(a) => game::challenge(a),
        Command::Dispute(a) => game::dispute(a),
        Command::New(a) => new::new(a),
        Command::Microcode(a) => microcode::microcode(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mswap: {}", e.msg);
            if json && !output::final_json_printed() {
                let doc = Failed {
                    error: &e.msg,
                    exit: e.code,
                };
                if json_on_stderr {
                    eprintln!("{}", serde_json::to_string(&doc).unwrap_or_default());
                } else {
                    output::json(&doc);
                }
            }
            e.code
        }
    }
}

/// What `--json` prints when a command fails.
#[derive(serde::Serialize)]
struct Failed<'a> {
    /// The one-line message (also on standard error).
    error: &'a str,
    /// The exit code.
    exit: i32,
}
