//! One shard of a double-check: the K-th of N contiguous ranges of a run's
//! transitions, checked on its own (one job of a Slurm array or of a
//! Kubernetes Indexed Job) and summed up in a [`Certificate`].
//!
//! A shard first runs machine A over the whole run with the fast engine,
//! to learn the run's length (and so its own range) and to keep a ladder of
//! at most [`LADDER`] snapshots; it then reaches its range's start from
//! the nearest snapshot before it (at most `length / (LADDER / 2)` more
//! steps, in the interpreter) and double-checks the range like `mswap check` does. A shard
//! therefore costs one fast run of the whole program more than its share
//! of the check; [`super::merge`] turns a set of certificates into one
//! verdict without trusting any of them on how they fit together.

use super::{Mismatch, Options, double_check_to};
use crate::elf::Program;
use crate::fast::Machine;
use crate::hash::{Hash, keccak};
use crate::micro::microcode::Microcode;
use crate::state::State;
use crate::state::snapshot::Snapshot;
use crate::state::tree;
use serde::{Deserialize, Serialize};

/// The `format` of a certificate: the kind and its version.
pub const FORMAT: &str = "mswap-shard-certificate/1";

/// Most snapshots the length pass keeps (when there would be more, every
/// other one is dropped and the stride doubles).
pub const LADDER: usize = 32;

/// The first stride of the ladder, in steps.
const FIRST_STRIDE: u64 = 1 << 20;

/// Which shard: `k` of `n` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardId {
    /// This shard's index, below `n`.
    pub k: u64,
    /// The number of shards.
    pub n: u64,
}

/// Why `K/N` is not a shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardIdError {
    /// Not two numbers separated by `/`.
    #[error("{text:?} is not K/N (two whole numbers, e.g. 3/16)")]
    Syntax {
        /// The text given.
        text: String,
    },
    /// No shards at all.
    #[error("N is 0: there must be at least one shard")]
    Zero,
    /// `k >= n`.
    #[error("K = {k} is not below N = {n} (K counts from 0)")]
    Index {
        /// The index given.
        k: u64,
        /// The number of shards given.
        n: u64,
    },
}

impl std::str::FromStr for ShardId {
    type Err = ShardIdError;
    fn from_str(text: &str) -> Result<ShardId, ShardIdError> {
        let syntax = || ShardIdError::Syntax { text: text.into() };
        let (k, n) = text.split_once('/').ok_or_else(syntax)?;
        let k: u64 = k.trim().parse().map_err(|_| syntax())?;
        let n: u64 = n.trim().parse().map_err(|_| syntax())?;
        ShardId::new(k, n)
    }
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl ShardId {
    /// Shard `k` of `n`, if `k < n`.
    pub fn new(k: u64, n: u64) -> Result<ShardId, ShardIdError> {
        match (k, n) {
            (_, 0) => Err(ShardIdError::Zero),
            (k, n) if k >= n => Err(ShardIdError::Index { k, n }),
            _ => Ok(ShardId { k, n }),
        }
    }

    /// The range `[first, end)` of the shard's transitions in a run of
    /// `length` transitions: the run cut into `n` ranges whose lengths
    /// differ by at most one (some empty when `n > length`).
    pub fn range(&self, length: u64) -> (u64, u64) {
        let at = |k: u64| (k as u128 * length as u128 / self.n as u128) as u64;
        (at(self.k), at(self.k + 1))
    }
}

/// A mismatch as a certificate records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MismatchRecord {
    /// The failing A-step.
    pub step: u64,
    /// Its pc.
    pub pc: u64,
    /// The instruction word and its disassembly.
    pub instruction: String,
    /// What differs (the whole report).
    pub difference: String,
}

impl From<&Mismatch> for MismatchRecord {
    fn from(m: &Mismatch) -> Self {
        MismatchRecord {
            step: m.step,
            pc: m.pc,
            instruction: format!("{:#010x} {}", m.word, crate::fast::isa::disassemble(m.word)),
            difference: m.to_string(),
        }
    }
}

/// What one shard checked, as a JSON file (`mswap check --shard K/N --out`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// [`FORMAT`].
    pub format: String,
    /// Keccak-256 of the ELF file.
    pub program: Hash,
    /// Keccak-256 of the input.
    pub input: Hash,
    /// The root of the microcode AB ran.
    pub microcode: Hash,
    /// Where the ELF file was (absolute), for a merge that is not given it.
    pub elf_path: Option<String>,
    /// Where the input file was (absolute; `None`: standard input).
    pub input_path: Option<String>,
    /// The cap on the run's transitions (`--max-steps`), if any.
    pub max_steps: Option<u64>,
    /// The run's length in transitions, as an unsharded check counts them
    /// (up to the halt and the halted identity, or `max_steps`).
    pub run_transitions: u64,
    /// The run's halt (steps executed), as this shard's fast run saw it.
    pub halted_after: Option<u64>,
    /// This shard's index (0-based).
    pub shard: u64,
    /// The number of shards.
    pub shards: u64,
    /// The first transition of the range.
    pub first_step: u64,
    /// One past the last transition of the range.
    pub end_step: u64,
    /// `root(S_first_step)`.
    pub start_root: Hash,
    /// `root(S_end_step)`, the checked state (`None` after a mismatch).
    pub end_root: Option<Hash>,
    /// Transitions checked.
    pub transitions: u64,
    /// Micro-steps run by AB.
    pub micro_steps: u64,
    /// The most micro-steps of one instruction.
    pub max_micro_steps: u64,
    /// Whether every transition of the range checked.
    pub valid: bool,
    /// The first failing transition, if any.
    pub mismatch: Option<MismatchRecord>,
    /// Machine A's engine that produced the run.
    pub engine: String,
    /// Worker threads.
    pub threads: usize,
    /// Steps run by the fast engine before the check (the length pass and
    /// the way from the nearest snapshot to the range's start).
    pub fast_steps: u64,
    /// Wall-clock seconds of the whole shard.
    pub seconds: f64,
    /// Of them, seconds spent in the length pass and reaching the start.
    pub reach_seconds: f64,
}

/// The run's length and the nearest state before a step, from one fast run.
struct LengthPass {
    /// Transitions an unsharded check checks.
    transitions: u64,
    /// Steps executed until the halt, if it halted.
    halted_after: Option<u64>,
    /// `(step, snapshot)`, ascending; the first at step 0.
    ladder: Vec<(u64, Snapshot)>,
    /// Steps executed.
    steps: u64,
}

/// Runs machine A from `initial` to its halt (or `max_steps`), keeping the
/// snapshot ladder, whose stride starts at `stride`.
fn length_pass(initial: State, max_steps: u64, mut stride: u64) -> LengthPass {
    let mut m = Machine::new(initial);
    m.state_for_tree().mem.take_dirty();
    let mut ladder = vec![(0u64, Snapshot::take(m.state()))];
    let mut steps = 0u64;
    while steps < max_steps && !m.state().halted() {
        // Run to the next multiple of the stride, so that thinning the
        // ladder keeps the snapshots at multiples of the doubled stride.
        let to = ((steps / stride + 1) * stride).min(max_steps);
        let ran = m.run(to - steps);
        steps += ran;
        if ran == 0 {
            break;
        }
        if steps.is_multiple_of(stride) && steps < max_steps && !m.state().halted() {
            let dirty = m.state_for_tree().mem.take_dirty();
            let prev = &ladder[ladder.len() - 1].1;
            let snap = Snapshot::take_after(m.state(), prev, &dirty);
            ladder.push((steps, snap));
            if ladder.len() > LADDER {
                stride *= 2;
                ladder.retain(|(t, _)| t % stride == 0);
            }
        }
    }
    let halted = m.state().halted();
    LengthPass {
        // A halted run is checked up to its halt plus one identity transition.
        transitions: if halted {
            steps.saturating_add(1).min(max_steps)
        } else {
            steps
        },
        halted_after: halted.then_some(steps),
        ladder,
        steps,
    }
}

/// What [`check_shard`] needs besides the program and the input.
pub struct ShardOptions<'a> {
    /// Which shard.
    pub id: ShardId,
    /// The cap on the run's transitions.
    pub max_steps: Option<u64>,
    /// The options of the range's double-check (`max_steps` and `first`
    /// are set from the range).
    pub check: Options<'a>,
    /// Called once the range is known, with `(first, end)`.
    pub on_range: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

/// Checks shard `opts.id` of the run of `program` on `input` and returns
/// its certificate (a mismatch is a certificate too, with `valid` false).
/// The paths are only recorded.
///
/// ```
/// use mswap::check::Options;
/// use mswap::check::shard::{ShardId, ShardOptions, check_shard};
/// use mswap::micro::microcode::microcode;
///
/// let (_, elf, input) = mswap::guests::default_guest();
/// let program = mswap::elf::Program::load(elf)?;
/// let opts = |k| ShardOptions {
///     id: ShardId::new(k, 2).unwrap(),
///     max_steps: Some(4_000),
///     check: Options::default(),
///     on_range: None,
/// };
/// let a = check_shard(&program, input, &opts(0), microcode(), None, None);
/// let b = check_shard(&program, input, &opts(1), microcode(), None, None);
/// assert!(a.valid && b.valid);
/// assert_eq!((a.first_step, a.end_step, b.end_step), (0, 2_000, 4_000));
/// assert_eq!(a.end_root, Some(b.start_root)); // the two link
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_shard(
    program: &Program,
    input: &[u8],
    opts: &ShardOptions,
    code: &Microcode,
    elf_path: Option<String>,
    input_path: Option<String>,
) -> Certificate {
    let t0 = std::time::Instant::now();
    let max_steps = opts.max_steps.unwrap_or(u64::MAX);
    let pass = length_pass(program.initial_state(input), max_steps, FIRST_STRIDE);
    let (first, end) = opts.id.range(pass.transitions);
    if let Some(f) = opts.on_range {
        f(first, end);
    }
    // The nearest snapshot at or before the range's start; machine A's
    // interpreter runs the rest of the way: at most 1/16 of the run, and
    // unlike the JIT it starts at once (the JIT compiles the hot code again
    // for every new machine, which on some guests costs more than
    // interpreting these steps).
    let (at, snap) = pass
        .ladder
        .iter()
        .rev()
        .find(|(t, _)| *t <= first)
        .unwrap_or(&pass.ladder[0]);
    let mut m = Machine::with_engine(snap.restore(), crate::fast::jit::Engine::Interp);
    let ran = m.run(first - at);
    let start = m.into_state();
    drop(pass.ladder);
    let start_root = tree::root(&start);
    let reach_seconds = t0.elapsed().as_secs_f64();
    let check = Options {
        max_steps: end - first,
        first,
        progress: opts.check.progress,
        segment: opts.check.segment,
        engine: opts.check.engine,
        ab: opts.check.ab,
    };
    let result = if end > first {
        double_check_to(start, &check, code)
    } else {
        // An empty range (more shards than transitions) links its start to itself.
        Ok((super::Stats::default(), Some(start)))
    };
    let (stats, end_root, mismatch) = match result {
        Ok((stats, reached)) => {
            let root = reached.as_ref().map(tree::root).unwrap_or(start_root);
            (stats, Some(root), None)
        }
        Err(m) => (
            super::Stats::default(),
            None,
            Some(MismatchRecord::from(&m)),
        ),
    };
    Certificate {
        format: FORMAT.into(),
        program: program.hash,
        input: keccak(&[input]),
        microcode: code.root,
        elf_path,
        input_path,
        max_steps: opts.max_steps,
        run_transitions: pass.transitions,
        halted_after: pass.halted_after,
        shard: opts.id.k,
        shards: opts.id.n,
        first_step: first,
        end_step: end,
        start_root,
        end_root,
        transitions: stats.transitions,
        micro_steps: stats.usteps,
        max_micro_steps: stats.max_usteps(),
        valid: mismatch.is_none(),
        mismatch,
        engine: opts.check.engine.to_string(),
        threads: rayon::current_num_threads(),
        fast_steps: pass.steps + ran,
        seconds: t0.elapsed().as_secs_f64(),
        reach_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_tile_the_run() {
        for length in [0u64, 1, 5, 64, 1000, 1 << 40] {
            for n in [1u64, 2, 3, 4, 16, 64, 1000] {
                let mut next = 0;
                for k in 0..n {
                    let (a, b) = ShardId::new(k, n).unwrap().range(length);
                    assert_eq!(a, next, "length {length}, {k}/{n}");
                    assert!(b >= a && b - a <= length / n + 1);
                    next = b;
                }
                assert_eq!(next, length);
            }
        }
    }

    #[test]
    fn shard_ids_parse_or_say_why_not() {
        assert_eq!("3/16".parse(), Ok(ShardId { k: 3, n: 16 }));
        assert_eq!(
            "4/4".parse::<ShardId>(),
            Err(ShardIdError::Index { k: 4, n: 4 })
        );
        assert_eq!("0/0".parse::<ShardId>(), Err(ShardIdError::Zero));
        assert!(matches!(
            "3".parse::<ShardId>(),
            Err(ShardIdError::Syntax { .. })
        ));
        assert!(matches!(
            "-1/4".parse::<ShardId>(),
            Err(ShardIdError::Syntax { .. })
        ));
    }

    #[test]
    fn the_ladder_stays_short_and_reaches_every_step() {
        let (_, elf, input) = crate::guests::default_guest();
        let program = Program::load(elf).unwrap();
        // The guest runs about 10^6 steps: strides of 1024 thin the ladder
        // five times.
        let pass = length_pass(program.initial_state(input), u64::MAX, 1024);
        assert!(pass.halted_after.is_some());
        assert_eq!(pass.transitions, pass.steps + 1);
        assert!(pass.ladder.len() <= LADDER, "{}", pass.ladder.len());
        let stride = pass.ladder[1].0;
        assert!(stride >= 1024 << 4, "stride {stride}");
        assert!(pass.steps - pass.ladder[pass.ladder.len() - 1].0 <= stride);
        assert!(pass.ladder.windows(2).all(|w| w[1].0 - w[0].0 == stride));
        // A snapshot restores the state the run had at its step.
        let (t, snap) = &pass.ladder[pass.ladder.len() / 2];
        let mut m = Machine::new(program.initial_state(input));
        m.run(*t);
        assert_eq!(snap.restore().first_difference(m.state()), None);
    }
}
