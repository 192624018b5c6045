//! `mswap run` and `mswap root`.

use super::input::{InputArg, Source, load_program, read_stdin};
use super::output::{self, CliError, Exit, outln};
use super::progress::Progress;
use clap::Args;
use mswap::fast::Machine;
use mswap::fast::isa::disassemble;
use mswap::fast::jit::{Engine, JitStats};
use mswap::hash::{Hash, keccak};
use mswap::layout::Status;
use mswap::state::tree::StateTree;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Arguments of `mswap run`.
#[derive(Args)]
pub struct RunArgs {
    /// The program (a static RV64IMAC ELF file); default: the embedded guest.
    elf: Option<PathBuf>,
    #[command(flatten)]
    input: InputArg,
    /// Print steps, final state root and status to stderr when the run ends.
    #[arg(long)]
    stats: bool,
    /// With the statistics as one JSON document, the last line on stderr
    /// (stdout stays the guest's); implies --stats.
    #[arg(long)]
    json: bool,
    /// Stop after this many instructions.
    #[arg(long)]
    max_steps: Option<u64>,
}

/// Arguments of `mswap root`.
#[derive(Args)]
pub struct RootArgs {
    /// The program (a static RV64IMAC ELF file).
    elf: PathBuf,
    #[command(flatten)]
    input: InputArg,
    /// The number of steps after which to print the root (0 = the initial state).
    #[arg(long, default_value_t = 0)]
    step: u64,
    /// Print one JSON document instead of the bare root.
    #[arg(long)]
    json: bool,
}

/// Exit code when `--max-steps` stops a running guest.
pub const EXIT_STEP_LIMIT: i32 = 124;

const CHUNK: u64 = 1 << 24;

/// `mswap run --json`: the statistics of a run (field names as in a claim).
#[derive(Serialize)]
struct RunStats {
    program: Hash,
    input: Hash,
    steps: u64,
    final_root: Hash,
    status: String,
    output: Hash,
    halted_after: Option<u64>,
    exit_code: i32,
    engine: String,
    /// What the JIT did (absent for the interpreter).
    #[serde(skip_serializing_if = "Option::is_none")]
    jit: Option<JitStats>,
}

pub fn run(a: RunArgs) -> Result<i32, CliError> {
    if a.max_steps == Some(0) {
        return Err(CliError::usage("--max-steps 0: at least 1"));
    }
    a.input.check()?;
    let (program, elf_hash) = match &a.elf {
        Some(path) => {
            let p = load_program(path)?;
            let h = p.hash;
            (p, h)
        }
        None => {
            let (name, elf, _) = mswap::guests::default_guest();
            let p = mswap::elf::Program::load(elf)
                .map_err(|e| format!("embedded guest {name}: {e}"))?;
            let h = p.hash;
            (p, h)
        }
    };
    // Standard input is read (to its end) only when the guest first reads,
    // so a guest that never reads does not wait for it. That gives the same
    // run: only `read` sees the input.
    let source = a.input.source();
    let lazy = !matches!(source, Source::File(_));
    let input = if lazy { Vec::new() } else { a.input.read()? };
    let mut m = Machine::new(program.initial_state(&input));
    m.record_writes = true;
    m.stop_before_read = lazy;
    m.set_jit_profile(a.stats || a.json);
    let mut read_input = !lazy;
    let limit = a.max_steps.unwrap_or(u64::MAX);
    let done = Arc::new(AtomicU64::new(0));
    let counter = done.clone();
    output::on_interrupt(move || {
        eprintln!(
            "mswap: interrupted after {} steps; the guest was still running",
            counter.load(Ordering::Relaxed)
        )
    });
    let mut steps = 0u64;
    let stderr = std::io::stderr();
    let mut input_bytes = input;
    loop {
        let n = m.run((limit - steps).min(CHUNK));
        steps += n;
        done.store(steps, Ordering::Relaxed);
        for w in m.take_writes() {
            let bytes = m.state().output_range(w.start, w.start + w.len);
            if w.fd == 2 {
                // A closed stderr must not stop the guest (as a detached terminal).
                let _ = stderr.lock().write_all(&bytes);
            } else {
                // A closed stdout ends the run quietly, as it ends `cat`.
                output::write_out_bytes(&bytes);
            }
        }
        if m.stop_before_read && m.at_read() {
            input_bytes = read_stdin()?;
            m.with_state_mut(|s| s.set_input(&input_bytes));
            m.stop_before_read = false;
            read_input = true;
            continue;
        }
        if m.state().halted() || steps >= limit || n == 0 {
            break;
        }
    }
    output::clear_interrupt();
    let status = m.status();
    if !(a.stats || a.json) {
        return Ok(exit_code(status, steps, m.state()));
    }
    // (Taken before the input is set below: a state changed from outside
    // drops the JIT's translations and figures.)
    let engine = m.engine();
    let jit = (engine != Engine::Interp).then(|| m.jit_stats());
    // The input is part of the state: one the guest never read is still
    // standard input (a terminal gives an empty one, by the input rule).
    if !read_input && source == Source::Stdin {
        input_bytes = read_stdin()?;
        m.with_state_mut(|s| s.set_input(&input_bytes));
    }
    let mut st = m.into_state();
    let root = StateTree::build(&st).root();
    let _ = st.take_dirty();
    let code = exit_code(status, steps, &st);
    if a.json {
        let stats = RunStats {
            program: elf_hash,
            input: keccak(&[&input_bytes]),
            steps,
            final_root: root,
            status: status.to_string(),
            output: keccak(&[&st.output()]),
            halted_after: st.halted().then_some(steps),
            exit_code: code,
            engine: engine.to_string(),
            jit,
        };
        eprintln!(
            "{}",
            serde_json::to_string(&stats).map_err(|e| e.to_string())?
        );
    } else {
        eprintln!("engine: {engine}");
        eprintln!("steps: {steps}");
        eprintln!("root: {}", output::hash(&root));
        eprintln!("status: {status}");
        if let Some(j) = jit {
            print_jit_stats(&j, steps);
        }
    }
    Ok(code)
}

/// The JIT's figures, one topic a line.
fn print_jit_stats(j: &JitStats, steps: u64) {
    let pct = |n: u64| 100.0 * n as f64 / steps.max(1) as f64;
    eprintln!(
        "jit steps: {} in generated code ({:.1}%), {} interpreted ({:.1}%)",
        j.jit_steps,
        pct(j.jit_steps),
        j.interp_steps,
        pct(j.interp_steps)
    );
    eprintln!(
        "jit regions: {} translated ({} instructions, {} blocks), {:.1} ms translating (on the JIT's own thread while the run went on), {} flushes",
        j.regions,
        j.insts,
        j.blocks,
        j.translate_secs * 1e3,
        j.flushes
    );
    eprintln!(
        "jit time: {:.1} ms in generated code, {:.1} ms interpreting, {:.1} ms translating or placing code, {:.1} ms dispatching",
        j.native_secs * 1e3,
        j.interp_secs * 1e3,
        j.blocked_secs * 1e3,
        j.dispatch_secs * 1e3
    );
    eprintln!(
        "jit transfers: {} entries from the dispatcher, {} region-to-region jumps; exits: {} at jumps to untranslated code, {} to the interpreter (system calls, faults, ...), {} at the step limit",
        j.entries, j.chains, j.exits_jump, j.exits_interp, j.exits_budget
    );
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
            let word = mswap::fast::fetch(st, pc).unwrap_or(0);
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
            Exit::Negative.code()
        }
    }
}

/// `mswap root --json`.
#[derive(Serialize)]
struct RootOut {
    program: Hash,
    input: Hash,
    step: u64,
    root: Hash,
    halted_after: Option<u64>,
}

pub fn root(a: RootArgs) -> Result<i32, CliError> {
    a.input.check()?;
    let program = load_program(&a.elf)?;
    let input = a.input.read()?;
    let mut m = Machine::new(program.initial_state(&input));
    let progress = Arc::new(Progress::new("running", Some(a.step)));
    progress.on_interrupt(|done| format!(" after {done}"));
    let mut done = 0u64;
    while done < a.step {
        let n = m.run((a.step - done).min(CHUNK));
        done += n;
        progress.add(n);
        if n == 0 || m.state().halted() {
            break;
        }
    }
    progress.finish();
    output::clear_interrupt();
    let root = StateTree::build(m.state()).root();
    let halted_after = m.state().halted().then_some(done);
    if a.json {
        output::json(&RootOut {
            program: program.hash,
            input: keccak(&[&input]),
            step: a.step,
            root,
            halted_after,
        });
    } else {
        outln!("{}", output::hash(&root));
    }
    if let Some(h) = halted_after.filter(|h| *h < a.step) {
        eprintln!(
            "mswap: the machine halted after {h} steps; a halted machine's step is the identity"
        );
    }
    Ok(Exit::Ok.code())
}
