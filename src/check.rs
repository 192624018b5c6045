//! Double-checking: every transition `S_t -> S_(t+1)` of machine A is
//! re-done by machine AB from `attach(Q*, S_t)` and the two results are
//! compared (the fast-forward equation `A(S) == strip(AB^(2^a)(attach(Q*, S)))`).
//!
//! A run is cut into segments. One pass of machine A takes a snapshot at
//! every segment start (pages shared with the previous snapshot unless
//! written since); the segments are then checked in parallel with rayon,
//! each worker re-creating `S_t` with machine A and stepping AB beside it.
//! Memory stays bounded: only one wave of snapshots is alive at a time.
//!
//! Equal states have equal roots, so the check compares states, not
//! hashes: the control words, every `S` word AB wrote and every page A
//! wrote. On a mismatch the report names the first differing field.

use crate::fast::Machine;
use crate::fast::isa::{self, disassemble};
use crate::fast::jit::Engine;
use crate::layout::ctrl;
use crate::micro::microcode::Microcode;
use crate::micro::{CLEAN_AT, MicroMachine};
use crate::state::snapshot::Snapshot;
use crate::state::{CTRL_PAGE, Difference, State};
use rayon::prelude::*;

pub mod codegen;
#[rustfmt::skip]
mod compiled;
pub mod engine;
pub mod merge;
pub mod shard;

/// A transition where A and AB disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The A-step `t` of the transition `S_t -> S_(t+1)`.
    pub step: u64,
    /// `pc` of `S_t`.
    pub pc: u64,
    /// The instruction word at `pc`.
    pub word: u32,
    /// The first differing field of `S_(t+1)` (A's value left, AB's right).
    pub difference: Option<Difference>,
    /// AB did not reach `IDLE` before the cleaning step.
    pub overrun: bool,
    /// Set when machine A's fast engine (the one that produced the run)
    /// disagrees with A's interpreter, whose steps AB checked: the
    /// difference is then the engine's `S_(t+1)` against the checked one.
    pub engine: Option<Engine>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} (pc {:#x}, {:#010x} {}): ",
            self.step,
            self.pc,
            self.word,
            disassemble(self.word)
        )?;
        if self.overrun {
            write!(
                f,
                "the microcode did not finish within 2^a - 1 micro-steps; "
            )?;
        }
        match (&self.difference, self.engine) {
            (Some(d), Some(e)) => write!(
                f,
                "machine A's {e} engine disagrees with the checked step on {d} (engine vs checked)"
            ),
            (Some(d), None) => write!(f, "A and AB disagree on {d} (A vs AB)"),
            (None, _) => write!(f, "A and AB agree on the state"),
        }
    }
}

/// Number of distinct instruction classes ([`isa::class`]).
pub const OP_CLASSES: usize = isa::CLASSES;

/// Figures of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Transitions checked.
    pub transitions: u64,
    /// Micro-instructions executed by AB (idle ticks skipped).
    pub usteps: u64,
    /// Per instruction class: (count, total micro-steps, most micro-steps).
    pub per_op: Vec<(u64, u64, u64)>,
    /// The step at which the machine halted, if it did.
    pub halted_at: Option<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            transitions: 0,
            usteps: 0,
            per_op: vec![(0, 0, 0); OP_CLASSES],
            halted_at: None,
        }
    }
}

impl Stats {
    fn merge(&mut self, o: &Stats) {
        self.transitions += o.transitions;
        self.usteps += o.usteps;
        for (a, b) in self.per_op.iter_mut().zip(&o.per_op) {
            a.0 += b.0;
            a.1 += b.1;
            a.2 = a.2.max(b.2);
        }
        self.halted_at = match (self.halted_at, o.halted_at) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
    }

    /// The most micro-steps any checked instruction took.
    pub fn max_usteps(&self) -> u64 {
        self.per_op.iter().map(|x| x.2).max().unwrap_or(0)
    }

    /// The name of an instruction class index.
    pub fn class_name(i: usize) -> &'static str {
        isa::class_name(i)
    }
}

/// Which implementation of machine AB re-does the steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AbEngine {
    /// [`engine::FastAb`]: the microcode compiled into Rust
    /// (`src/check/compiled.rs`), the decoded microcode in a tight loop
    /// for what the compiled blocks leave.
    #[default]
    Fast,
    /// [`engine::FastAb`] without the compiled microcode: the decoded
    /// microcode in a tight loop only (benches compare).
    Interpreted,
    /// The reference step function [`crate::micro::step::ustep`], one call
    /// per micro-step (benches compare the two).
    Reference,
}

/// Machine A and machine AB side by side on equal states. AB runs on
/// [`engine::FastAb`] unless told otherwise; `tests/check_engine.rs` checks
/// it micro-step by micro-step against the reference step function.
pub struct Pair<'c> {
    a: Machine,
    ab: MicroMachine<'c, State>,
    fast: Option<engine::FastAb>,
    written: Vec<u64>,
    pages: Vec<u64>,
    /// Instruction words and their classes, direct-mapped ([`isa::class`]
    /// searches its tables).
    classes: Box<[(u32, usize)]>,
}

/// log2 of the entries of [`Pair`]'s class cache.
const CLASS_CACHE_BITS: u32 = 12;
/// Entries of [`Pair`]'s class cache.
const CLASS_CACHE: usize = 1 << CLASS_CACHE_BITS;

impl<'c> Pair<'c> {
    /// Both machines at `s`.
    pub fn new(s: State, code: &'c Microcode) -> Pair<'c> {
        Pair::with_ab(s, code, AbEngine::Fast)
    }

    /// Both machines at `s`, AB on the engine `ab`.
    pub fn with_ab(s: State, code: &'c Microcode, ab: AbEngine) -> Pair<'c> {
        let copy = s.clone();
        Pair::from_states(s, copy, code, ab)
    }

    /// Machine A at `s` and AB at `copy`, two equal states.
    fn from_states(s: State, copy: State, code: &'c Microcode, ab: AbEngine) -> Pair<'c> {
        Pair {
            // The interpreter is the reference for single steps.
            a: Machine::with_engine(s, Engine::Interp),
            ab: MicroMachine::with_microcode(copy, code),
            fast: match ab {
                AbEngine::Fast => Some(engine::FastAb::new(code)),
                AbEngine::Interpreted => Some(engine::FastAb::interpreted(code)),
                AbEngine::Reference => None,
            },
            written: Vec::new(),
            pages: Vec::new(),
            // Every entry starts as a word that is its own class's.
            classes: vec![(u32::MAX, isa::class(u32::MAX)); CLASS_CACHE].into_boxed_slice(),
        }
    }

    /// The current state (equal on both sides).
    pub fn state(&self) -> &State {
        self.a.state()
    }

    /// Checks the next transition (numbered `t`), recording into `stats`.
    pub fn check_next(&mut self, t: u64, stats: &mut Stats) -> Result<(), Mismatch> {
        let pc = self.a.state().pc();
        let word = crate::fast::fetch(self.a.state(), pc).unwrap_or(0);
        let was_halted = self.a.state().halted();
        self.a.run(1);
        self.written.clear();
        let run = match &self.fast {
            Some(f) => f.run_a_step(&mut self.ab.q, &mut self.ab.s, &mut self.written),
            None => self.ab.run_a_step(Some(&mut self.written)),
        };
        stats.transitions += 1;
        if !was_halted {
            stats.usteps += run.executed;
            // A compressed instruction's class is its low half's (the
            // high half is the next instruction's).
            let key = if word & 3 == 3 { word } else { word & 0xffff };
            let slot = (key.wrapping_mul(0x9e37_79b1) >> (32 - CLASS_CACHE_BITS)) as usize;
            let class = match self.classes.get(slot) {
                Some(&(w, c)) if w == key => c,
                _ => {
                    let c = isa::class(key);
                    if let Some(e) = self.classes.get_mut(slot) {
                        *e = (key, c);
                    }
                    c
                }
            };
            let class = &mut stats.per_op[class];
            class.0 += 1;
            class.1 += run.executed;
            class.2 = class.2.max(run.executed);
            if self.a.state().halted() {
                stats.halted_at = Some(t);
            }
        }
        if run.overrun || !self.agree() {
            return Err(Mismatch {
                step: t,
                pc,
                word,
                difference: self.a.state().first_difference(&self.ab.s),
                overrun: run.overrun,
                engine: None,
            });
        }
        Ok(())
    }

    /// Whether the two states are equal, given that they were equal before
    /// the last step: compares the control words, every word AB wrote and
    /// every page A wrote.
    fn agree(&mut self) -> bool {
        let (sa, sb) = (self.a.state(), &self.ab.s);
        if sa.ctrl_words()[..ctrl::WORDS] != sb.ctrl_words()[..ctrl::WORDS] {
            return false;
        }
        if self
            .written
            .iter()
            .any(|&w| sa.read_word(w) != sb.read_word(w))
        {
            return false;
        }
        self.pages.clear();
        self.a.state_for_tree().drain_dirty_into(&mut self.pages);
        let mut scratch = Vec::new();
        self.ab.s.drain_dirty_into(&mut scratch);
        let (sa, sb) = (self.a.state(), &self.ab.s);
        self.pages
            .iter()
            .filter(|&&p| p != CTRL_PAGE)
            .all(|&p| sa.page_bytes(p) == sb.page_bytes(p))
    }
}

/// Checks `count` transitions starting from `s`, numbered from `first`.
/// Stops early (successfully) after checking one transition of a halted
/// machine: every later transition is that same identity.
pub fn check_range(s: State, first: u64, count: u64, code: &Microcode) -> Result<Stats, Mismatch> {
    let pair = Pair::with_ab(s, code, AbEngine::Fast);
    check_pair(pair, first, count).map(|(stats, _)| stats)
}

/// [`check_range`] from `pair`'s state, also giving the state reached.
fn check_pair(mut pair: Pair, first: u64, count: u64) -> Result<(Stats, State), Mismatch> {
    let mut stats = Stats::default();
    for t in first..first + count {
        let halted_before = pair.state().halted();
        pair.check_next(t, &mut stats)?;
        if halted_before {
            break;
        }
    }
    Ok((stats, pair.a.into_state()))
}

/// The link between two segments: the state that the checked steps of a
/// segment reach must be the state the fast engine handed out for the next
/// segment's start. If it is not, the engine's first wrong step is found by
/// bisection over runs of `k` steps from the segment's start, engine
/// against interpreter (both stop exactly at `k`).
fn check_link(
    start: &Snapshot,
    first: u64,
    count: u64,
    checked_end: &State,
    engine_end: &Snapshot,
    engine: Engine,
) -> Result<(), Mismatch> {
    if checked_end
        .first_difference(&engine_end.restore())
        .is_none()
    {
        return Ok(());
    }
    let run = |k: u64, e: Engine| {
        let mut m = Machine::with_engine(start.restore(), e);
        m.run(k);
        m.into_state()
    };
    let differs = |k: u64| run(k, engine).first_difference(&run(k, Engine::Interp));
    // differs(0) is None, differs(count) is Some.
    let (mut lo, mut hi) = (0u64, count);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if differs(mid).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let before = run(hi - 1, Engine::Interp);
    let pc = before.pc();
    Err(Mismatch {
        step: first + hi - 1,
        pc,
        word: (before.read_word(pc) >> ((pc & 4) * 8)) as u32,
        difference: differs(hi).or_else(|| checked_end.first_difference(&engine_end.restore())),
        overrun: false,
        engine: Some(engine),
    })
}

/// Options of [`double_check`].
pub struct Options<'a> {
    /// Check at most this many transitions (the run is cut there).
    pub max_steps: u64,
    /// Transitions per segment (a unit of parallel work).
    pub segment: u64,
    /// Called with the number of transitions checked so far.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// The engine of machine A that produces the run (each segment's start
    /// state); AB checks the interpreter's steps, and each segment's end is
    /// checked against the engine's state for the next segment.
    pub engine: Engine,
    /// The step number of the initial state in its run: transitions are
    /// numbered from it (a shard checks a range that starts past 0).
    pub first: u64,
    /// The engine of machine AB (the fast one unless a bench compares).
    pub ab: AbEngine,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            max_steps: u64::MAX,
            segment: 1 << 15,
            progress: None,
            engine: crate::fast::jit::default_engine(),
            first: 0,
            ab: AbEngine::Fast,
        }
    }
}

/// Double-checks a run from `initial`: every transition until the machine
/// halts (plus the halted identity) or `max_steps` transitions, in
/// parallel on the current rayon pool. Machine A runs ahead on its own
/// thread and hands out a snapshot per segment through a bounded channel
/// (so memory stays bounded), while the pool checks segments as they come.
/// On a mismatch the earliest failing step is reported.
///
/// ```
/// use mswap::check::{Options, double_check};
/// use mswap::micro::microcode::microcode;
///
/// let (_, elf, input) = mswap::guests::default_guest();
/// let program = mswap::elf::Program::load(elf)?;
/// let opts = Options { max_steps: 5_000, ..Options::default() };
/// let stats = double_check(program.initial_state(input), &opts, microcode())
///     .map_err(|m| m.to_string())?; // a Mismatch names the step and the field
/// assert_eq!(stats.transitions, 5_000);
/// assert!(stats.max_usteps() < 2048); // every instruction within 2^a - 1 micro-steps
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn double_check(initial: State, opts: &Options, code: &Microcode) -> Result<Stats, Mismatch> {
    double_check_to(initial, opts, code).map(|(stats, _)| stats)
}

/// [`double_check`], also giving the last state the checked steps reach
/// (`None` when nothing was checked, `max_steps` 0): its root is the final
/// root of a run that checks whole.
pub fn double_check_to(
    initial: State,
    opts: &Options,
    code: &Microcode,
) -> Result<(Stats, Option<State>), Mismatch> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    let depth = rayon::current_num_threads() * 2;
    type Segment = (u64, u64, Snapshot, Option<Snapshot>);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Segment>(depth);
    // The earliest failing step found so far (u64::MAX: none). Segments that
    // start after it are skipped; earlier ones are still checked, so the
    // report names the first failing step.
    let failed_at = AtomicU64::new(u64::MAX);
    let seg = opts.segment.max(1);
    let max_steps = opts.max_steps;
    let engine = opts.engine;
    let first_step = opts.first;
    let ab = opts.ab;
    // The state reached by the latest segment checked so far (by its first
    // step): the final state once every segment is in. Earlier ones are
    // dropped as soon as a later one arrives, so at most one is kept.
    let last: Mutex<Option<(u64, State)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        let last = &last;
        let failed_at = &failed_at;
        scope.spawn(move || {
            let mut a = Machine::with_engine(initial, engine);
            a.state_for_tree().mem.take_dirty();
            let mut snap = Snapshot::take(a.state());
            let mut t = first_step;
            let end_step = first_step.saturating_add(max_steps);
            while t < end_step && failed_at.load(Ordering::Relaxed) > t {
                // Restoring a snapshot costs about a microsecond per page: keep
                // it a small part of checking a segment (about 300 ns a step).
                let pages = (snap.memory_bytes() / 4096) as u64;
                let count = seg.max(pages.saturating_mul(32)).min(end_step - t);
                // Past a halt every step is the same identity: one segment checks it.
                let mut ran = 0;
                let end = if a.state().halted() {
                    None
                } else {
                    ran = a.run(count);
                    let dirty = a.state_for_tree().mem.take_dirty();
                    Some(Snapshot::take_after(a.state(), &snap, &dirty))
                };
                if tx.send((t, count, snap.clone(), end.clone())).is_err() {
                    break;
                }
                match end {
                    Some(e) => snap = e,
                    None => break,
                }
                t += count;
                // A halt inside the segment: that segment also checks the
                // halted identity after it, so no other needs to (checking it
                // twice would count it twice).
                if a.state().halted() && ran < count {
                    break;
                }
            }
        });
        let results: Vec<Result<Stats, Mismatch>> = rx
            .into_iter()
            .par_bridge()
            .map(|(first, count, snap, end)| {
                if failed_at.load(Ordering::Relaxed) < first {
                    return Ok(Stats::default());
                }
                // Both machines' states restored from the snapshot (a
                // copy each, where cloning the first would take two).
                let pair = Pair::from_states(snap.restore(), snap.restore(), code, ab);
                let r = check_pair(pair, first, count).and_then(|(stats, reached)| {
                    if let Some(e) = &end {
                        check_link(&snap, first, count, &reached, e, engine)?;
                    }
                    // The state put aside is dropped after the lock is released.
                    let _older = {
                        let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
                        if l.as_ref().is_none_or(|(f, _)| *f < first) {
                            l.replace((first, reached))
                        } else {
                            Some((first, reached))
                        }
                    };
                    Ok(stats)
                });
                match (&r, opts.progress) {
                    (Ok(s), Some(p)) => p(s.transitions),
                    (Err(m), _) => {
                        failed_at.fetch_min(m.step, Ordering::Relaxed);
                    }
                    _ => {}
                }
                r
            })
            .collect();
        let mut stats = Stats::default();
        let mut first_bad: Option<Mismatch> = None;
        for r in results {
            match r {
                Ok(s) => stats.merge(&s),
                Err(m) => {
                    if first_bad.as_ref().is_none_or(|b| m.step < b.step) {
                        first_bad = Some(m);
                    }
                }
            }
        }
        match first_bad {
            Some(m) => Err(m),
            None => {
                let reached = last.lock().unwrap_or_else(|p| p.into_inner()).take();
                Ok((stats, reached.map(|(_, s)| s)))
            }
        }
    })
}

/// The largest number of micro-steps an instruction may take (`2^a - 1`).
pub const MAX_USTEPS: u64 = CLEAN_AT;
