//! The honest player's view of a run: state roots on demand.
//!
//! One pass of machine A takes a checkpoint (snapshot, Merkle tree and
//! root) at every multiple of a stride; the first rounds of a bisection
//! land exactly on checkpoints. Any other position is reached by replaying
//! machine A from the nearest checkpoint or from the working cursor (the
//! last position asked, usually the agreed end of the interval), and its
//! root comes from the cursor's tree updated with only the pages dirtied by
//! the replay. A bisection over `2^b` steps thus replays about
//! `2^(b - c + 1)` steps after the first pass, for `2^c` checkpoints.

use crate::elf::Program;
use crate::fast::Machine;
use crate::hash::Hash;
use crate::micro::microcode::microcode;
use crate::micro::{MicroMachine, q_root, r_root};
use crate::proof::StepProof;
use crate::prover::{ProveError, prove_micro_step};
use crate::state::State;
use crate::state::snapshot::Snapshot;
use crate::state::tree::StateTree;

struct Checkpoint {
    step: u64,
    snap: Snapshot,
    tree: StateTree,
    root: Hash,
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
    /// The first pass's machine, until the cursor takes it over: its
    /// pre-decoded code and JIT translations serve every replay (see
    /// [`Machine::replace_state`]).
    spare: Option<Machine>,
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
        let b = super::claim::b_for_steps(t.halted_at?).max(1);
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
        let mut last_snap: Option<Snapshot> = None;
        let mut step = 0u64;
        let mut halted_at = None;
        let mut mem_dirty: Vec<u32> = Vec::new();
        loop {
            // Share the pages not written since the last snapshot.
            let snap = match &last_snap {
                Some(prev) => Snapshot::take_after(machine.state(), prev, &mem_dirty),
                None => Snapshot::take(machine.state()),
            };
            last_snap = Some(snap.clone());
            checkpoints.push(Checkpoint {
                step,
                snap,
                tree: tree.clone(),
                root: tree.root(),
            });
            if checkpoints.len() > max_checkpoints {
                stride = stride.saturating_mul(2);
                checkpoints.retain(|cp| cp.step % stride == 0 || cp.step == step);
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
            let dirty = machine.state_for_tree().take_dirty();
            mem_dirty = dirty
                .iter()
                .filter(|p| **p < 1 << 20)
                .map(|p| *p as u32)
                .collect();
            tree.update(machine.state(), &dirty);
        }
        let final_status = machine.state().status().to_string();
        let final_output = crate::hash::keccak(&[&machine.state().output()]);
        let final_root = tree.root();
        Timeline {
            stats: TimelineStats {
                first_pass_steps: step,
                checkpoints: checkpoints.len() as u64,
                ..TimelineStats::default()
            },
            checkpoints,
            cursor: None,
            spare: Some(machine),
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
    ) -> super::claim::Claim {
        super::claim::Claim {
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

    /// Moves the cursor to A-step `p` (clamped to the halting step and `2^b`).
    fn seek(&mut self, p: u64) -> &mut Cursor {
        let p = p.min(self.end).min(self.halted_at.unwrap_or(u64::MAX));
        let cp = self
            .checkpoints
            .iter()
            .rev()
            .find(|c| c.step <= p)
            .or(self.checkpoints.first());
        let cursor_ok = self
            .cursor
            .as_ref()
            .is_some_and(|c| c.step <= p && cp.is_none_or(|cp| c.step >= cp.step));
        if !cursor_ok && let Some(cp) = cp {
            // The same machine throughout: the code is the run's, so its
            // translations stay.
            let mut machine = match self.cursor.take().map(|c| c.machine).or(self.spare.take()) {
                Some(mut m) => {
                    m.replace_state(cp.snap.restore());
                    m
                }
                None => Machine::new(cp.snap.restore()),
            };
            machine.state_for_tree().take_dirty();
            self.cursor = Some(Cursor {
                step: cp.step,
                machine,
                tree: cp.tree.clone(),
            });
        }
        let stats = &mut self.stats;
        let c = self.cursor.get_or_insert_with(|| Cursor {
            step: 0,
            machine: Machine::new(State::new()),
            tree: StateTree::build(&State::new()),
        });
        if c.step < p {
            c.machine.run(p - c.step);
            stats.replayed_steps += p - c.step;
            c.step = p;
            c.tree.sync(c.machine.state_for_tree());
            stats.roots += 1;
        }
        c
    }

    /// `root(S_p)`.
    pub fn root_at(&mut self, p: u64) -> Hash {
        let p = p.min(self.end).min(self.halted_at.unwrap_or(u64::MAX));
        if let Some(cp) = self.checkpoints.iter().find(|c| c.step == p) {
            return cp.root;
        }
        self.seek(p).tree.root()
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

    /// The proof of micro-step `j` of A-step `t`.
    pub fn proof(&mut self, t: u64, j: u64) -> Result<StepProof, ProveError> {
        let (s, _) = self.state_at(t);
        Ok(prove_micro_step(s, j, microcode())?.proof)
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
