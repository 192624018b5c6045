//! The honest player's view of a run: state roots on demand.
//!
//! One pass of machine A takes a checkpoint at every multiple of a stride:
//! a snapshot that shares every page not written since the previous one,
//! and the list of pages written since then. No root is computed on the
//! way but the final one (one tree update over every page the run wrote):
//! hashing the pages a run keeps rewriting at every checkpoint cost many
//! times the run itself. A root is computed where the bisection asks: the
//! working cursor's tree (the last position asked) is moved to the asked
//! checkpoint by re-hashing only the pages written between the two, and
//! any other position is reached by replaying machine A from the nearest
//! checkpoint or from the cursor, its tree updated with only the pages the
//! replay dirtied. The first rounds of a bisection land exactly on
//! checkpoints; a bisection over `2^b` steps replays about `2^(b - c + 1)`
//! steps after the first pass, for `2^c` checkpoints.

use crate::elf::Program;
use crate::fast::Machine;
use crate::hash::Hash;
use crate::micro::microcode::microcode;
use crate::micro::{MicroMachine, q_root, r_root};
use crate::proof::StepProof;
use crate::prover::{ProveError, prove_next};
use crate::state::State;
use crate::state::snapshot::Snapshot;
use crate::state::tree::StateTree;

/// The most memory the first pass's checkpoints hold (an estimate: the
/// pages each copied, and its index of pages); past it the stride doubles,
/// so a run that writes much memory keeps fewer checkpoints and replays
/// longer stretches instead.
pub const CHECKPOINT_BYTES: usize = 32 << 20;

/// The most pages a cursor move copies to compare afterwards (16 MiB);
/// past it every page that may have changed is re-hashed.
const COMPARED_PAGES: usize = 4096;

/// Whether two pages hold the same bytes (`None`: zero).
fn same_bytes(a: Option<&[u8]>, b: Option<&[u8]>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y,
        (Some(z), None) | (None, Some(z)) => z.iter().all(|&v| v == 0),
        (None, None) => true,
    }
}

/// What the checkpoints hold, estimated from the pages written between
/// them (each copied once by its snapshot) and each snapshot's index of the
/// run's written pages.
fn held_bytes(checkpoints: &[Checkpoint]) -> usize {
    checkpoints
        .iter()
        .map(|c| c.dirty.len() * 4096 + c.snap.pages() * 16 + 4096)
        .sum()
}

struct Checkpoint {
    step: u64,
    snap: Snapshot,
    /// S pages written since the previous checkpoint (sorted, no repeats).
    dirty: Vec<u64>,
    /// Its root, once asked.
    root: Option<Hash>,
}

struct Cursor {
    step: u64,
    machine: Machine,
    tree: StateTree,
}

/// What the timeline has cost so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimelineStats {
    /// Steps run by the first pass.
    pub first_pass_steps: u64,
    /// Steps replayed to answer queries.
    pub replayed_steps: u64,
    /// Roots computed (incrementally) to answer queries.
    pub roots: u64,
    /// Checkpoints kept.
    pub checkpoints: u64,
}

/// State roots of one run, by A-step and by micro-step.
pub struct Timeline {
    checkpoints: Vec<Checkpoint>,
    cursor: Option<Cursor>,
    /// The machine halted after this many steps (`S_p = S_h` for `p >= h`).
    halted_at: Option<u64>,
    end: u64,
    final_root: Hash,
    final_status: String,
    final_output: Hash,
    /// Costs so far.
    pub stats: TimelineStats,
}

impl Timeline {
    /// Runs `program` on `input` for `2^b` steps (or until it halts), with
    /// at most `2^c + 1` checkpoints.
    pub fn new(program: &Program, input: &[u8], b: u32, c: u32) -> Timeline {
        Timeline::with_progress(program, input, b, c, &|_| {})
    }

    /// [`Timeline::new`], calling `progress` with the steps run after each checkpoint.
    pub fn with_progress(
        program: &Program,
        input: &[u8],
        b: u32,
        c: u32,
        progress: &dyn Fn(u64),
    ) -> Timeline {
        let end = 1u64.checked_shl(b).unwrap_or(u64::MAX);
        Timeline::first_pass(program, input, end, c, progress)
    }

    /// Runs `program` until it halts (at most `limit` steps) and picks the
    /// smallest `b` (at least 1) whose `2^b` steps cover the halting step:
    /// one pass, no separate run to find `b`. `None` if it does not halt.
    pub fn until_halt(
        program: &Program,
        input: &[u8],
        limit: u64,
        c: u32,
        progress: &dyn Fn(u64),
    ) -> Option<(Timeline, u32)> {
        let mut t = Timeline::first_pass(program, input, limit, c, progress);
        let b = crate::rules::claim::b_for_steps(t.halted_at?).max(1);
        t.end = 1u64.checked_shl(b).unwrap_or(u64::MAX);
        Some((t, b))
    }

    /// The first pass: checkpoints at the multiples of a power-of-two
    /// stride, so that the first rounds of any bisection land on them. The
    /// stride doubles (and every other checkpoint goes) whenever there are
    /// more than `2^c + 1`, so the pass works without knowing the run's length.
    fn first_pass(
        program: &Program,
        input: &[u8],
        end: u64,
        c: u32,
        progress: &dyn Fn(u64),
    ) -> Timeline {
        let max_checkpoints = (1usize << c.min(20)) + 1;
        let mut stride = (end >> c.min(63)).clamp(1, 1 << 20).next_power_of_two();
        let mut machine = Machine::new(program.initial_state(input));
        let mut tree = StateTree::build(machine.state());
        machine.state_for_tree().take_dirty();
        let mut checkpoints: Vec<Checkpoint> = Vec::new();
        let mut step = 0u64;
        let mut halted_at = None;
        let mut mem_dirty: Vec<u32> = Vec::new();
        let mut dirty: Vec<u64> = Vec::new();
        // Every page the run wrote, for the final root.
        let mut written: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
        loop {
            // Share the pages not written since the last snapshot (the
            // last checkpoint: thinning always keeps the newest).
            let snap = match checkpoints.last() {
                Some(prev) => Snapshot::take_after(machine.state(), &prev.snap, &mem_dirty),
                None => Snapshot::take(machine.state()),
            };
            checkpoints.push(Checkpoint {
                step,
                snap,
                dirty: std::mem::take(&mut dirty),
                root: (step == 0).then(|| tree.root()),
            });
            // Within both the count and the memory budget: a stride twice
            // as long keeps every other checkpoint.
            while checkpoints.len() > max_checkpoints
                || (checkpoints.len() > 2 && held_bytes(&checkpoints) > CHECKPOINT_BYTES)
            {
                stride = stride.saturating_mul(2);
                // A dropped checkpoint's pages count for the next one kept.
                let mut carried: Vec<u64> = Vec::new();
                let mut kept = Vec::with_capacity(checkpoints.len() / 2 + 1);
                for mut cp in checkpoints {
                    if cp.step % stride == 0 || cp.step == step {
                        if !carried.is_empty() {
                            carried.extend_from_slice(&cp.dirty);
                            carried.sort_unstable();
                            carried.dedup();
                            cp.dirty = std::mem::take(&mut carried);
                        }
                        kept.push(cp);
                    } else {
                        carried.extend_from_slice(&cp.dirty);
                    }
                }
                checkpoints = kept;
            }
            if step >= end || halted_at.is_some() {
                break;
            }
            let target = ((step / stride).saturating_add(1))
                .saturating_mul(stride)
                .min(end);
            let n = machine.run(target - step);
            step += n;
            if machine.state().halted() {
                halted_at = Some(step);
            } else {
                step = target;
            }
            progress(step);
            dirty = machine.state_for_tree().take_dirty();
            dirty.sort_unstable();
            dirty.dedup();
            mem_dirty = dirty
                .iter()
                .filter(|p| **p < 1 << 20)
                .map(|p| *p as u32)
                .collect();
            written.extend(dirty.iter().copied());
        }
        let final_status = machine.state().status().to_string();
        let final_output = crate::hash::keccak(&[&machine.state().output()]);
        let written: Vec<u64> = written.into_iter().collect();
        tree.update(machine.state(), &written);
        let final_root = tree.root();
        if let Some(last) = checkpoints.last_mut() {
            last.root = Some(final_root);
        }
        // The cursor starts at the end, with its tree.
        let cursor = Cursor {
            step,
            machine,
            tree,
        };
        Timeline {
            stats: TimelineStats {
                first_pass_steps: step,
                checkpoints: checkpoints.len() as u64,
                ..TimelineStats::default()
            },
            checkpoints,
            cursor: Some(cursor),
            halted_at,
            end,
            final_root,
            final_status,
            final_output,
        }
    }

    /// The claim of this run: `2^b` steps of `program` on `input` (hashes given).
    pub fn claim(
        &self,
        program: crate::hash::Hash,
        input: crate::hash::Hash,
        b: u32,
    ) -> crate::rules::claim::Claim {
        crate::rules::claim::Claim {
            program,
            input,
            b,
            final_root: self.final_root,
            status: self.final_status.clone(),
            output: self.final_output,
            halted_after: self.halted_at,
        }
    }

    /// `root(S_(2^b))`.
    pub fn final_root(&self) -> Hash {
        self.final_root
    }

    /// Steps after which the machine halted, if it did.
    pub fn halted_at(&self) -> Option<u64> {
        self.halted_at
    }

    /// The pages that may differ between the states at steps `a` and `b`:
    /// those written in every checkpoint interval that meets `(a, b]`.
    fn written_between(&self, a: u64, b: u64) -> Vec<u64> {
        let (lo, hi) = (a.min(b), a.max(b));
        let mut pages: Vec<u64> = Vec::new();
        let mut prev = 0u64;
        for cp in &self.checkpoints {
            // Interval (prev, cp.step]; the last one runs to the end.
            if cp.step > lo && prev < hi {
                pages.extend_from_slice(&cp.dirty);
            }
            prev = cp.step;
        }
        if prev < hi {
            // Past the last checkpoint (the halted end): every page written.
            return self
                .checkpoints
                .iter()
                .flat_map(|c| c.dirty.iter().copied())
                .collect();
        }
        pages.sort_unstable();
        pages.dedup();
        pages
    }

    /// Moves the cursor to A-step `p` (clamped to the halting step and `2^b`).
    ///
    /// The pages that may differ between the cursor's state and `S_p` are
    /// known from the first pass (those written in the checkpoint intervals
    /// between the two). The cursor's machine is rewound in place to the
    /// checkpoint at or before `p` where it must go back (only those pages
    /// are copied) and replayed to `p`; then, of the pages it may have
    /// changed, only those whose bytes differ from before are re-hashed. A
    /// copy and a comparison of a page cost about a thousandth of hashing
    /// it, and a run keeps rewriting the same pages: two positions of a
    /// bisection differ in far fewer pages than were written between them.
    fn seek(&mut self, p: u64) -> &mut Cursor {
        let p = p.min(self.end).min(self.halted_at.unwrap_or(u64::MAX));
        let cp = self.checkpoints.iter().rposition(|c| c.step <= p);
        let cp_step = cp.map_or(0, |i| self.checkpoints[i].step);
        let mut c = match self.cursor.take() {
            Some(c) => c,
            None => {
                // Not reached (the first pass leaves a cursor): start afresh
                // from the checkpoint.
                let state = cp.map_or_else(State::new, |i| self.checkpoints[i].snap.restore());
                let tree = StateTree::build(&state);
                let mut machine = Machine::new(state);
                machine.state_for_tree().take_dirty();
                Cursor {
                    step: cp_step,
                    machine,
                    tree,
                }
            }
        };
        if c.step != p {
            let from = c.step;
            let mut pages = self.written_between(from, p);
            // The bytes of those pages now, to compare afterwards (skipped
            // for very many pages: they are all re-hashed then).
            let before: Option<std::collections::HashMap<u64, Option<Box<[u8]>>>> =
                (pages.len() <= COMPARED_PAGES).then(|| {
                    pages
                        .iter()
                        .map(|&q| {
                            let b = c.machine.state().page_bytes(q);
                            (q, b.map(|b| Box::<[u8]>::from(&*b)))
                        })
                        .collect()
                });
            if let Some(i) = cp
                && !(from <= p && from >= cp_step)
            {
                // Back to the checkpoint (or forward past it): the same
                // machine throughout, its translations kept.
                let back = self.written_between(from, cp_step);
                c.machine.rewind_to(&self.checkpoints[i].snap, &back);
                pages.extend_from_slice(&back);
                c.step = cp_step;
            }
            if c.step < p {
                c.machine.run(p - c.step);
                self.stats.replayed_steps += p - c.step;
                c.step = p;
            }
            pages.extend(c.machine.state_for_tree().take_dirty());
            pages.sort_unstable();
            pages.dedup();
            if let Some(before) = &before {
                let state = c.machine.state();
                pages.retain(|&q| match before.get(&q) {
                    Some(old) => {
                        let now = state.page_bytes(q);
                        !same_bytes(old.as_deref(), now.as_deref())
                    }
                    None => true,
                });
            }
            c.tree.update(c.machine.state(), &pages);
            self.stats.roots += 1;
        }
        self.cursor.insert(c)
    }

    /// `root(S_p)`.
    pub fn root_at(&mut self, p: u64) -> Hash {
        let p = p.min(self.end).min(self.halted_at.unwrap_or(u64::MAX));
        let at = self.checkpoints.iter().position(|c| c.step == p);
        if let Some(r) = at.and_then(|i| self.checkpoints[i].root) {
            return r;
        }
        let r = self.seek(p).tree.root();
        if let Some(i) = at {
            self.checkpoints[i].root = Some(r);
        }
        r
    }

    /// A copy of `S_t` with its tree.
    pub fn state_at(&mut self, t: u64) -> (State, StateTree) {
        let c = self.seek(t);
        (c.machine.state().clone(), c.tree.clone())
    }

    /// `root(R_j)` of A-step `t`: `j` micro-steps from `attach(Q*, S_t)`.
    pub fn micro_root(&mut self, t: u64, j: u64) -> Hash {
        let (s, mut tree) = self.state_at(t);
        let mut m = MicroMachine::attach(s);
        m.s.take_dirty();
        m.run_usteps(j);
        self.stats.roots += 1;
        let s_root = tree.sync(&mut m.s);
        r_root(&q_root(&m.q), &s_root)
    }

    /// `root(S_p)` at each of `ps`, in one forward pass where the positions
    /// ascend (the roots of a round: the cursor moves from one to the next,
    /// replaying only the steps between and re-hashing the pages that changed).
    pub fn roots_at(&mut self, ps: &[u64]) -> Vec<Hash> {
        ps.iter().map(|&p| self.root_at(p)).collect()
    }

    /// `root(R_j)` of A-step `t` at each of `js` (ascending): one copy of
    /// `S_t`, micro-steps run once from `j = 0` to the last, the tree
    /// synced with the pages written since the previous root.
    pub fn micro_roots(&mut self, t: u64, js: &[u64]) -> Vec<Hash> {
        if !js.is_sorted() {
            return js.iter().map(|&j| self.micro_root(t, j)).collect();
        }
        let (s, mut tree) = self.state_at(t);
        let mut m = MicroMachine::attach(s);
        m.s.take_dirty();
        let mut at = 0u64;
        let mut roots = Vec::with_capacity(js.len());
        for &j in js {
            m.run_usteps(j - at);
            at = j;
            self.stats.roots += 1;
            let s_root = tree.sync(&mut m.s);
            roots.push(r_root(&q_root(&m.q), &s_root));
        }
        roots
    }

    /// The proof of micro-step `j` of A-step `t`, from the cursor's tree
    /// (in sync with `S_t`) updated with the pages the `j` micro-steps
    /// wrote, not a tree built afresh.
    pub fn proof(&mut self, t: u64, j: u64) -> Result<StepProof, ProveError> {
        if j >= crate::micro::USTEPS {
            return Err(ProveError::MicroStepRange(j));
        }
        let (s, mut tree) = self.state_at(t);
        let mut m = MicroMachine::attach(s);
        m.s.take_dirty();
        m.run_usteps(j);
        let mut q = m.q;
        let mut s = m.strip();
        tree.sync(&mut s);
        Ok(prove_next(&mut q, &mut s, &mut tree, microcode())?.proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::{PF_R, PF_X, write_elf};

    /// A countdown loop: x5 = n; loop: x5 -= 1; sd x5, (sp); bne x5, x0, loop; exit.
    /// `n` below 2048, or a multiple of 4096.
    fn countdown(n: i32) -> Program {
        let set = if n < 2048 {
            ((n as u32) << 20) | (5 << 7) | 0x13 // addi x5, x0, n
        } else {
            (n as u32 & 0xffff_f000) | (5 << 7) | 0x37 // lui x5, n >> 12
        };
        let words: [u32; 7] = [
            set,
            (0xfff << 20) | (5 << 15) | (5 << 7) | 0x13, // addi x5, x5, -1
            (5 << 20) | (2 << 15) | (3 << 12) | 0x23,    // sd x5, 0(sp)
            0xfe02_9ce3,                                 // bne x5, x0, -8
            (93 << 20) | (17 << 7) | 0x13,               // addi a7, x0, 93
            (5 << 15) | (10 << 7) | 0x13,                // addi a0, x5, 0
            0x73,                                        // ecall
        ];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        Program::load(&write_elf(
            &[(0x10000, PF_R | PF_X, &code, code.len() as u64)],
            0x10000,
        ))
        .expect("loads")
    }

    #[test]
    fn roots_match_a_plain_run_at_every_position_in_any_order() {
        let p = countdown(40);
        let mut tl = Timeline::new(&p, &[], 7, 3);
        assert_eq!(tl.halted_at(), Some(1 + 40 * 3 + 3));
        let reference = |t: u64| {
            let mut m = Machine::new(p.initial_state(&[]));
            m.run(t);
            crate::state::tree::root(m.state())
        };
        for t in [64u64, 32, 48, 40, 44, 42, 41, 0, 127, 128, 5, 124, 200] {
            assert_eq!(tl.root_at(t), reference(t.min(128)), "step {t}");
        }
        assert_eq!(tl.final_root(), reference(128));
    }

    #[test]
    fn one_pass_finds_b_and_keeps_few_checkpoints() {
        // 3 * 2^21 + 4 steps: the stride (2^20 at first) doubles twice.
        let n = 1 << 21;
        let p = countdown(n);
        let (mut tl, b) = Timeline::until_halt(&p, &[], 1 << 40, 2, &|_| {}).expect("halts");
        let h = 1 + 3 * n as u64 + 3;
        assert_eq!(tl.halted_at(), Some(h));
        assert_eq!(b, 23);
        assert!(
            tl.stats.checkpoints <= 5,
            "{} checkpoints",
            tl.stats.checkpoints
        );
        let mut reference = Timeline::new(&p, &[], b, 2);
        for t in [
            1u64 << 22,
            1 << 21,
            3 << 21,
            1 << 23,
            17,
            h - 1,
            h,
            h + 1,
            1 << 40,
        ] {
            assert_eq!(tl.root_at(t), reference.root_at(t), "step {t}");
        }
        assert_eq!(tl.final_root(), reference.final_root());
        assert!(
            Timeline::until_halt(&p, &[], 100, 2, &|_| {}).is_none(),
            "does not halt within 100 steps"
        );
    }

    #[test]
    fn proofs_from_the_cursor_equal_proofs_from_scratch() {
        let p = countdown(300);
        let mut tl = Timeline::new(&p, &[], 10, 3);
        for (t, j) in [
            (700u64, 0u64),
            (5, 3),
            (640, 17),
            (3, 0),
            (901, 40),
            (128, 9),
        ] {
            let mut m = Machine::new(p.initial_state(&[]));
            m.run(t);
            let scratch = crate::prover::prove_micro_step(m.into_state(), j, microcode())
                .expect("proves")
                .proof;
            let mine = tl.proof(t, j).expect("proves");
            assert_eq!(mine, scratch, "step {t}, micro-step {j}");
        }
        assert!(tl.proof(3, crate::micro::USTEPS).is_err());
    }

    #[test]
    fn the_roots_of_a_round_are_the_roots_one_by_one() {
        let p = countdown(300);
        let mut tl = Timeline::new(&p, &[], 10, 3);
        let mut fresh = Timeline::new(&p, &[], 10, 3);
        // A round of 16 parts over [512, 1024], then one over [544, 576].
        for ps in [
            (1..16).map(|i| 512 + 32 * i).collect::<Vec<u64>>(),
            (1..16).map(|i| 544 + 2 * i).collect(),
            vec![1000, 3, 700],
        ] {
            let one_by_one: Vec<Hash> = ps.iter().map(|&p| fresh.root_at(p)).collect();
            assert_eq!(tl.roots_at(&ps), one_by_one, "{ps:?}");
        }
        for (t, js) in [
            (
                700u64,
                vec![1u64, 2, 3, 200, 1024, 1025, crate::micro::USTEPS],
            ),
            (5, vec![0, 256, 512, 768, 1024]),
            (9, vec![40, 3, 17]),
        ] {
            let one_by_one: Vec<Hash> = js.iter().map(|&j| fresh.micro_root(t, j)).collect();
            assert_eq!(tl.micro_roots(t, &js), one_by_one, "t {t}");
        }
    }

    #[test]
    fn micro_roots_start_and_end_at_the_attached_step_roots() {
        let p = countdown(3);
        let mut tl = Timeline::new(&p, &[], 4, 2);
        for t in 0..6 {
            let a = tl.root_at(t);
            let b = tl.root_at(t + 1);
            assert_eq!(tl.micro_root(t, 0), crate::micro::attached_root(&a));
            assert_eq!(
                tl.micro_root(t, crate::micro::USTEPS),
                crate::micro::attached_root(&b),
                "t {t}"
            );
        }
    }
}
