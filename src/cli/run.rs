//! `mswap run` and `mswap root`.

use super::{CliError, load_program, read_input};
use clap::Args;
use mswap::fast::Machine;
use mswap::fast::isa::disassemble;
use mswap::layout::Status;
use mswap::state::tree::StateTree;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `mswap run`.
#[derive(Args)]
pub struct RunArgs {
    /// The program (a static RV64IM ELF file); default: the embedded guest.
    elf: Option<PathBuf>,
    /// The guest's input; without it, standard input is read to its end
    /// (the embedded default guest runs with an empty input).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Print steps, final state root and status to stderr.
    #[arg(long)]
    stats: bool,
    /// Stop after this many instructions.
    #[arg(long)]
    max_steps: Option<u64>,
}

/// Arguments of `mswap root`.
#[derive(Args)]
pub struct RootArgs {
    /// The program (a static RV64IM ELF file).
    elf: PathBuf,
    /// The guest's input file (`-` for standard input; empty by default).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The step after which to print the root (0 = the initial state).
    #[arg(long, default_value_t = 0)]
    step: u64,
}

/// Exit code when `--max-steps` stops a running guest.
pub const EXIT_STEP_LIMIT: i32 = 124;

const CHUNK: u64 = 1 << 24;

pub fn run(a: RunArgs) -> Result<i32, CliError> {
    // Standard input is the guest's input; it is read (to its end) only when
    // the guest first reads, so a guest that never reads does not wait for it.
    // That gives the same run: only `read` sees the input. `--stats` needs the
    // whole initial state, so it reads standard input first.
    let lazy_stdin = a.elf.is_some() && a.input.is_none() && !a.stats;
    let (program, input) = match &a.elf {
        Some(path) if lazy_stdin => (load_program(path)?, Vec::new()),
        Some(path) => (load_program(path)?, read_input(a.input.as_ref(), true)?),
        None => {
            let (name, elf, default_input) = mswap::guests::default_guest();
            let program = mswap::elf::Program::load(elf)
                .map_err(|e| format!("embedded guest {name}: {e}"))?;
            let input = match &a.input {
                Some(_) => read_input(a.input.as_ref(), false)?,
                None => default_input.to_vec(),
            };
            (program, input)
        }
    };
    let mut m = Machine::new(program.initial_state(&input));
    m.record_writes = true;
    m.stop_before_read = lazy_stdin;
    let limit = a.max_steps.unwrap_or(u64::MAX);
    let mut steps = 0u64;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    loop {
        let n = m.run((limit - steps).min(CHUNK));
        steps += n;
        for w in m.take_writes() {
            let bytes = m.state().output_range(w.start, w.start + w.len);
            // A closed pipe must not stop the guest; ignore write errors like a detached terminal.
            let _ = if w.fd == 2 {
                stderr.lock().write_all(&bytes)
            } else {
                stdout.lock().write_all(&bytes)
            };
        }
        let _ = stdout.lock().flush();
        if m.stop_before_read && m.at_read() {
            let data = read_input(None, true)?;
            m.with_state_mut(|s| s.set_input(&data));
            m.stop_before_read = false;
            continue;
        }
        if m.state().halted() || steps >= limit || n == 0 {
            break;
        }
    }
    let status = m.status();
    if a.stats {
        eprintln!("engine: {}", m.engine());
        let mut st = m.into_state();
        let root = StateTree::build(&st).root();
        let _ = st.take_dirty();
        eprintln!("steps: {steps}");
        eprintln!("root: 0x{root}");
        eprintln!("status: {status}");
        return Ok(exit_code(status, steps, &st));
    }
    Ok(exit_code(status, steps, m.state()))
}

fn exit_code(status: Status, steps: u64, st: &mswap::state::State) -> i32 {
    match status {
        Status::Exited(c) => (c & 0xff) as i32,
        Status::Running => {
            eprintln!("mswap: stopped after {steps} steps; the guest is still running");
            EXIT_STEP_LIMIT
        }
        Status::Faulted { fault, tval } => {
            let pc = st.pc();
            let word = st.mem.read_u32(pc);
            eprintln!(
                "mswap: guest fault at pc {pc:#x} (instruction {word:#010x}: {}): {} ({} {tval:#x})",
                disassemble(word),
                fault.describe(),
                fault.tval_name()
            );
            128 + fault.signal()
        }
        Status::Invalid { .. } => {
            eprintln!("mswap: {status}");
            1
        }
    }
}

pub fn root(a: RootArgs) -> Result<i32, CliError> {
    let program = load_program(&a.elf)?;
    let input = read_input(a.input.as_ref(), false)?;
    let mut m = Machine::new(program.initial_state(&input));
    let done = m.run(a.step);
    let root = StateTree::build(m.state()).root();
    println!("0x{root}");
    if done < a.step {
        eprintln!(
            "mswap: the machine halted after {done} steps; a halted machine's step is the identity"
        );
    }
    Ok(0)
}
