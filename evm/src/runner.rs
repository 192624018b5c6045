//! One case in the EVM guest on machine A, and its verdict against the
//! fixture.

use crate::encode::encode;
use crate::fixture::Case;
use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::fast::jit::Engine;
use mswap::layout::Status;

/// The committed EVM guest (`examples/guests/rust/evm`, built by
/// `examples/guests/rust/build.sh --evm`).
pub const GUEST_ELF: &[u8] = include_bytes!("../../examples/guests/bin/rust_evm.elf");

/// What the guest said about one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRun {
    /// A-steps to the halt.
    pub steps: u64,
    /// How the machine stopped.
    pub status: Status,
    /// The `state root:` line, `0x` and 64 hex digits.
    pub state_root: Option<String>,
    /// The `logs hash:` line.
    pub logs_hash: Option<String>,
    /// The `result:` line (`success`, `revert`, `halt ...`, `invalid ...`).
    pub result: Option<String>,
    /// The guest's whole output (stdout and stderr, in order).
    pub output: String,
}

impl GuestRun {
    /// Whether the guest found the transaction invalid.
    pub fn invalid(&self) -> bool {
        self.result
            .as_deref()
            .is_some_and(|r| r.starts_with("invalid"))
    }
}

/// The verdict on one case.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The case's `NAME:FORK:INDEX`.
    pub id: String,
    /// Whether the guest's roots and validity match the fixture.
    pub pass: bool,
    /// Why not, when it does not pass.
    pub reason: Option<String>,
    /// The guest's run, when the case could be encoded.
    pub run: Option<GuestRun>,
}

/// Machine A's engine for the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// The interpreter for the first [`INTERP_FIRST`] steps, then the JIT:
    /// most cases end within a million steps, where translating revm's hot
    /// code would cost more than it saves.
    Auto,
    /// One engine throughout.
    Only(Engine),
}

/// Steps [`EngineChoice::Auto`] runs in the interpreter before the JIT.
pub const INTERP_FIRST: u64 = 5_000_000;

/// Runs the guest `program` on `input` with machine A for at most
/// `max_steps` steps.
pub fn run_guest(
    program: &Program,
    input: &[u8],
    engine: EngineChoice,
    max_steps: u64,
) -> GuestRun {
    let (mut m, first) = match engine {
        EngineChoice::Only(e) => (Machine::with_engine(program.initial_state(input), e), 0),
        EngineChoice::Auto => {
            let mut m = Machine::with_engine(program.initial_state(input), Engine::Interp);
            let n = m.run(max_steps.min(INTERP_FIRST));
            if m.state().halted() || n == max_steps {
                (m, n)
            } else {
                // Both engines give the same states: the run goes on in the JIT.
                (Machine::with_engine(m.into_state(), Engine::Jit), n)
            }
        }
    };
    let steps = first + m.run(max_steps - first);
    let output = String::from_utf8_lossy(&m.state().output()).into_owned();
    let line = |key: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    GuestRun {
        steps,
        status: m.status(),
        state_root: line("state root:"),
        logs_hash: line("logs hash:"),
        result: line("result:"),
        output: output.clone(),
    }
}

/// Lower-case hex of a fixture's hash, without leading zeros removed.
fn norm(h: &str) -> String {
    h.to_ascii_lowercase()
}

/// Runs one case and compares with its fixture: the state root, the logs
/// hash, and whether the transaction is invalid must all match.
pub fn check_case(case: &Case, program: &Program, engine: EngineChoice, max_steps: u64) -> Verdict {
    let id = case.id();
    let input = match encode(case) {
        Ok(i) => i,
        Err(e) => {
            return Verdict {
                id,
                pass: false,
                reason: Some(format!("cannot encode: {e}")),
                run: None,
            };
        }
    };
    let run = run_guest(program, &input, engine, max_steps);
    let post = case.post();
    let reason = match (&run.status, &run.state_root, &run.logs_hash) {
        (Status::Running, _, _) => Some(format!("still running after {} steps", run.steps)),
        (Status::Exited(0), Some(root), Some(logs)) => {
            let mut why = Vec::new();
            match (&post.expect_exception, run.invalid()) {
                (Some(x), false) => why.push(format!(
                    "expected the exception {x}, the guest ran it: {}",
                    run.result.as_deref().unwrap_or("?")
                )),
                (None, true) => why.push(format!(
                    "the guest found it {}",
                    run.result.as_deref().unwrap_or("?")
                )),
                _ => {}
            }
            if norm(root) != norm(&post.hash) {
                why.push(format!("state root {root}, expected {}", post.hash));
            }
            if norm(logs) != norm(&post.logs) {
                why.push(format!("logs hash {logs}, expected {}", post.logs));
            }
            (!why.is_empty()).then(|| why.join("; "))
        }
        (status, _, _) => Some(format!(
            "the guest stopped with {status:?}: {}",
            run.output.trim()
        )),
    };
    Verdict {
        id,
        pass: reason.is_none(),
        reason,
        run: Some(run),
    }
}
