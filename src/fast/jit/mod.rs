//! Machine A's second engine: a JIT that translates guest code to native
//! code with Cranelift and runs it with exactly the interpreter's results.
//!
//! - **Regions** ([`region`]): from an entry pc, the basic blocks reachable
//!   by fall-through, branches and `jal`, up to a size limit; a pc becomes
//!   an entry once it is hot ([`HOT_VISITS`]), until then the interpreter
//!   runs its block. Compressed instructions are translated as the 32-bit
//!   ones they expand to (any even pc may start a block). Registers stay
//!   in host registers within a block (stored through to the state);
//!   branches between a region's blocks are native jumps, loops included.
//! - **Translation on a thread of its own**: a hot region goes to the
//!   machine's JIT thread, which makes its machine code with Cranelift
//!   while the interpreter goes on running it; the machine places the code
//!   and uses it from its next look at the dispatcher on (between two runs
//!   of generated code, on its own thread: no code runs while it is
//!   placed). So the translation time comes off the run's wall time where
//!   a second core is free (`rust_json`: 0.31x qemu's speed -> 0.45x,
//!   `rust_evm` 0.66x -> 1.0x, `cargo bench --bench jit`), for somewhat
//!   more CPU time (the steps interpreted meanwhile; the bench's `cpu j/i`).
//!   A store into code drops the regions being made too. Tests that set a
//!   threshold ([`Machine::set_hot_visits`](super::Machine::set_hot_visits))
//!   translate on the machine's thread, at the exact step the code turns
//!   hot, and [`Machine::settle_jit`](super::Machine::settle_jit) waits for
//!   the JIT thread.
//! - **Exact step counts**: a region checks the remaining budget on entry
//!   and at each loop head, for the longest way to the next check, and
//!   every block counts its steps, so `run(t)` stops exactly at step `t`;
//!   code that would cross the limit is left to the interpreter.
//! - **The interpreter stays the reference**: system calls, faults, any
//!   instruction the translator does not know (LR/SC, `fence.i`),
//!   misaligned accesses (the interpreter performs them) or out-of-range
//!   ones and stores near the write-protected or executable ranges all
//!   leave generated code before the instruction, and the interpreter
//!   executes it. Ordinary stores leave the LR/SC reservation alone in
//!   both engines. A store into the executable range (or a `read` into it)
//!   drops every translation.
//! - **Safety**: the only `unsafe` code is in [`native`]; generated code
//!   touches guest memory only at addresses it checked to be below `2^32`.
//!
//! [`Engine`] selects the engine of a [`Machine`]; the default is the JIT
//! where it is built (x86-64, aarch64), else the interpreter. The JIT runs
//! [`self_test`] (once per process) before its first translation, not at
//! start-up, so a run that never turns hot does not pay for it; where the
//! self-test fails, the machine goes on in the interpreter.
//!
//! This module does not know the machine: it sees it through [`Host`]
//! (its state, its JIT [`Slot`], its interpreter and whether the JIT
//! passed its self-test), which the machine implements. The engine
//! selection that needs a whole machine ([`available`], [`self_test`],
//! [`default_engine`]) is the machine's, re-exported here.
//!
//! [`Machine`]: super::Machine

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod native;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub mod region;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod translate;

pub use super::{available, default_engine, self_test};
use crate::state::State;
use std::sync::atomic::{AtomicU8, Ordering};

/// Which engine runs machine A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The interpreter (the reference).
    Interp,
    /// The JIT (falls back to the interpreter where it is not available).
    Jit,
    /// Test only: the JIT with a deliberately wrong translation of the
    /// instruction at this pc (a branch goes the other way, a written
    /// register is off by one), to show that the double-check catches a
    /// wrong engine. It translates code on its first visit (not once it is
    /// hot), so the flaw shows the first time the instruction runs.
    #[doc(hidden)]
    FlawedJit(u64),
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        match s {
            "jit" => Ok(Engine::Jit),
            "interp" => Ok(Engine::Interp),
            _ => Err(format!("unknown engine {s:?} (expected jit or interp)")),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Interp => write!(f, "interp"),
            Engine::Jit => write!(f, "jit"),
            Engine::FlawedJit(pc) => write!(f, "jit (flawed at {pc:#x})"),
        }
    }
}

/// 0: not set (the JIT if available), 1: interpreter, 2: JIT.
static DEFAULT: AtomicU8 = AtomicU8::new(0);

/// Sets the engine of machines made by [`Machine::new`](super::Machine::new)
/// from now on.
pub fn set_default_engine(e: Engine) {
    DEFAULT.store(if e == Engine::Interp { 1 } else { 2 }, Ordering::Relaxed);
}

/// The engine [`set_default_engine`] set, if any.
pub(super) fn engine_set() -> Option<Engine> {
    match DEFAULT.load(Ordering::Relaxed) {
        1 => Some(Engine::Interp),
        2 => Some(Engine::Jit),
        _ => None,
    }
}

/// Whether the JIT is built for this platform.
pub const BUILT: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Runs shorter than this go to the interpreter (translating is not worth it).
pub const MIN_JIT_STEPS: u64 = 64;

/// A pc is translated once it has started this many blocks in the
/// interpreter. Translating costs about 1,000 times as much per
/// instruction as interpreting it (`run --stats` shows the translation
/// time: 8,512 instructions of `rust_sha256` in some 70 ms), so a
/// threshold of 1,000 would bound what a block that stops running right
/// after it turned hot costs to about twice the interpreter's time. Code
/// that turns hot mostly keeps running, though: on `rust_sha256` (4 MiB)
/// a threshold of 1,000 took 0.21 s of CPU, 300 took 0.19 s and 100 took
/// 0.18 s (less interpreting before the hot loop turns native), with the
/// same figures on `rust_words` and `loop.elf`; 300 keeps most of that
/// gain while translating little code that runs only a few hundred times.
/// Short runs are kept from translating at all by [`WARMUP_STEPS`].
pub const HOT_VISITS: u16 = 300;

/// A block joins a region only if it has started this many blocks in the
/// interpreter (it ran, and more than by accident). Translation costs
/// some 20 us per instruction, so a block that runs only a few dozen times
/// is not worth copying into every region that reaches it. A trade-off,
/// measured in CPU ms (`perf stat -r 5`, whole process) at 16 / 32 / 64:
/// `rust_json` (256 KiB) 123 / 114 / 99 (5,306 / 4,802 / 3,762
/// instructions translated), `rust_words` (2 MB) 144 / 153 / 180: there
/// blocks that had run a few dozen times when their region was made turn
/// hot later, in regions of their own, and the jumps between regions
/// double (19.5 M -> 35 M). 64 takes the guest that translation dominates
/// closer to qemu (0.22x -> 0.27x) while `rust_words` stays near it
/// (1.0x -> 0.8x); 128 and 300 were no faster on `rust_json` (more
/// regions and exits). Regions that grow once such blocks turn hot would
/// give both. With [`HOT_VISITS`] at 1,000 instead of 300 (the lukewarm
/// blocks have run 64 times by then), `rust_words` took 122-131 ms instead
/// of 169-180 and `rust_json` 90-95 instead of 98-101, but `rust_sha256`
/// 205-218 instead of 182-194 and `rust_evm` 109-113 instead of 101 (more
/// of them interpreted before their hot code turns native).
pub const JOIN_VISITS: u16 = 64;

/// Nothing is translated before the interpreter has run this many steps
/// of a machine (some 8 ms). A program's first translations can cost more
/// than a short run of it: `rust_evm` on one transaction (0.4 M steps,
/// 11 ms in the interpreter) turns 3 regions of long straight-line blocks
/// hot and spent 45 ms translating them. Measured (CPU ms, whole process,
/// best of 5) with no warm-up / 1 M / 4 M steps: `rust_evm` 23.5 / 15.6 /
/// 15.7, `rust_json` 6.6 / 3.8 / 3.7, `numeric` 10.4 / 12.6 / 15.7, `sha256`
/// on 256 KiB 19.9 / 26.1 / 41.3, `keccak` 45.4 / 45.3 / 65.2.
pub const WARMUP_STEPS: u64 = 1_000_000;

/// The warm-up ends early at a block that has started this many times in
/// it: a loop that hot pays for its translation whatever the run's length.
/// `numeric` (2.55 M steps, its hot loop in the second half) went from
/// 0.7x to about 1.9x the interpreter with it (`cargo bench --bench jit`),
/// while `rust_evm`'s blocks (a few thousand visits) still never turn hot;
/// at 4,096 visits `rust_evm` translated 705 instructions in 17 ms and ran
/// at a third of the interpreter's speed. 16,384 rather than 32,768 (CPU
/// ms, whole process, `perf stat -r 9`, side by side): `numeric` 8.5 ->
/// 7.7, `sha256` 23.0 -> 17.6, `keccak` 50 -> 38, `rust_evm` on one
/// transaction 10.2 -> 10.1 and on its bench loop 82.8 -> 81.7; at 8,192
/// the loop took 91 (regions made before their blocks had run
/// [`JOIN_VISITS`] times). Those figures are from when the machine waited
/// for its translations. Since they are made on the JIT's own thread, an
/// early translation costs the run little wall time, and 2,048 takes the
/// short runs past twice the interpreter's speed (`cargo bench --bench
/// jit`, wall, 16,384 / 4,096 / 2,048): `alu` (1 M steps) 1.57x / 2.13x /
/// 2.29x, `numeric` 2.6x / 3.0x / 3.4x, the others within the noise; the
/// CPU time (`cpu j/i`) stays above the interpreter's on every guest
/// (`alu` 1.05x / 1.35x / 1.43x, `rust_evm` 3.0x / 2.9x / 2.7x). `rust_evm`
/// on one transaction (0.39 M steps, `evm_add11.bin`; `perf stat -r 9`,
/// whole process) takes 12.3 / - / 12.5 ms of wall time, 11.4 / - / 13.2
/// ms of CPU (the interpreter: 10.6 and 10.2).
pub const WARM_HOT_VISITS: u16 = 2048;

/// The JIT part of a [`Machine`](super::Machine): its engine and, once used, its translations.
pub(super) struct Slot {
    engine: Engine,
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    jit: Option<Box<imp::Jit>>,
    /// The JIT cannot run this state (set when a translator could not be made
    /// or the state is outside what generated code assumes).
    off: bool,
    /// Visits that make a pc hot.
    hot: u16,
    /// Interpreted steps before anything is translated.
    warmup: u64,
    /// Translate without asking [`available`] first (the self-test's own
    /// machine, which `available` is waiting for).
    vetted: bool,
    /// Measure where the time goes (see [`JitStats`]).
    profile: bool,
    /// Translate on a thread of the JIT's own while the interpreter goes
    /// on (off where [`Slot::set_hot_visits`] asked for exact tiering).
    background: bool,
}

impl Slot {
    pub(super) fn new(engine: Engine) -> Slot {
        Slot {
            engine,
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            jit: None,
            off: engine == Engine::Interp,
            hot: match engine {
                Engine::FlawedJit(_) => 0,
                _ => HOT_VISITS,
            },
            warmup: match engine {
                Engine::FlawedJit(_) => 0,
                _ => WARMUP_STEPS,
            },
            vetted: false,
            profile: false,
            background: true,
        }
    }

    /// Forgets every translation (the state was changed from outside).
    pub(super) fn reset(&mut self) {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        {
            self.jit = None;
        }
        self.off = self.engine == Engine::Interp;
    }

    pub(super) fn engine(&self) -> Engine {
        self.engine
    }

    /// The tiering view of the translations, for the interpreter.
    pub(super) fn tier(&mut self) -> Option<Tier<'_>> {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        if let Some(j) = self.jit.as_deref_mut() {
            return Some(j.tier());
        }
        None
    }
}

/// Table value: not looked at yet.
const UNKNOWN: u32 = 0;
/// Table value: the interpreter runs this pc.
const INTERP: u32 = 1;
/// Table value: the JIT's thread is translating the region at this pc; the
/// interpreter runs it meanwhile.
const PENDING: u32 = u32::MAX;
/// Table value: a block inside a region the JIT's thread is translating
/// (not its entry). The interpreter runs it without counting its heat, as
/// it would not run it at all once the region is placed: in the meantime
/// it turning hot would make it a region of its own, a second copy of the
/// same code. No other region takes it in meanwhile.
const COVERED: u32 = u32::MAX - 1;

/// What the interpreter sees of the JIT while it runs code for it: the
/// heat of each block start and which have translations.
pub(super) struct Tier<'a> {
    lo: u64,
    hot: u16,
    /// Per 2-byte slot: `UNKNOWN`, `INTERP`, `PENDING`, `COVERED` or 2 +
    /// a translation's index.
    table: &'a [u32],
    heat: &'a mut [u16],
}

impl Tier<'_> {
    /// A block starts at `pc`: counts the visit; whether the interpreter
    /// stops before it (it has a translation, or has just become hot).
    #[inline(always)]
    pub(super) fn visit(&mut self, pc: u64) -> bool {
        let k = (pc.wrapping_sub(self.lo) >> 1) as usize;
        let (Some(&t), Some(h)) = (self.table.get(k), self.heat.get_mut(k)) else {
            return false;
        };
        match t {
            UNKNOWN => {
                *h = h.saturating_add(1);
                *h > self.hot
            }
            INTERP | PENDING | COVERED => false,
            _ => true,
        }
    }
}

/// Statistics of a machine's JIT. The times are measured only where
/// [`Machine::set_jit_profile`](super::Machine::set_jit_profile) asked for them (reading the clock at every
/// dispatch costs more than a dispatch); `translate_secs` always.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct JitStats {
    /// Regions translated.
    pub regions: u64,
    /// Guest instructions in them.
    pub insts: u64,
    /// Basic blocks in them.
    pub blocks: u64,
    /// Seconds in generated code (profiled runs only).
    pub native_secs: f64,
    /// Seconds in the interpreter on the JIT's behalf (profiled runs only).
    pub interp_secs: f64,
    /// Seconds in the dispatcher: looking up pcs, counting heat, entering
    /// and leaving generated code (profiled runs only).
    pub dispatch_secs: f64,
    /// Seconds spent translating, most of them on the JIT's own thread
    /// while the machine ran on.
    pub translate_secs: f64,
    /// Seconds the machine's own thread spent translating (the regions it
    /// translates itself) or placing code the JIT's thread made.
    pub blocked_secs: f64,
    /// Times every translation was dropped (stores into code).
    pub flushes: u64,
    /// Steps executed by generated code.
    pub jit_steps: u64,
    /// Steps the interpreter executed for the JIT (cold code, system
    /// calls, faults, what the translator leaves out).
    pub interp_steps: u64,
    /// Times the dispatcher entered generated code.
    pub entries: u64,
    /// Jumps from one region straight into another (no dispatcher;
    /// counted in profiled runs only: the count costs rust_words 10%).
    pub chains: u64,
    /// Exits to the dispatcher at a jump whose target has no region yet
    /// (or lies outside the executable range).
    pub exits_jump: u64,
    /// Exits before an instruction the interpreter executes (system calls,
    /// faults, LR/SC, misaligned accesses, stores near code or
    /// write-protected data).
    pub exits_interp: u64,
    /// Exits because the step budget of the run ended.
    pub exits_budget: u64,
}

/// What the JIT needs of the machine it runs (machine A implements it).
pub(super) trait Host {
    /// The state, the JIT's slot, and the interpreter's count of stores
    /// into the executable range.
    fn parts(&mut self) -> (&mut State, &mut Slot, u64);
    /// Runs the interpreter alone (the JIT cannot run this state).
    fn interpret_alone(&mut self, max_steps: u64) -> u64;
    /// Runs the interpreter on the JIT's behalf: it stops before a block
    /// that has a translation or has just become hot (see [`Tier`]).
    fn interpret_for_jit(&mut self, max_steps: u64) -> u64;
    /// Whether the JIT passed its self-test (asked before the first
    /// translation of a machine that is not the self-test's own).
    fn available() -> bool;
}

impl Slot {
    /// Sets the visits that make a pc hot, with no warm-up; drops every
    /// translation (see `Machine::set_hot_visits`).
    pub(super) fn set_hot_visits(&mut self, visits: u16) {
        self.reset();
        self.hot = visits;
        self.warmup = 0;
        self.background = false;
    }

    /// Waits for the translations being made on the JIT's thread and
    /// places them (see `Machine::settle_jit`).
    pub(super) fn settle(&mut self) {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        if let Some(j) = self.jit.as_deref_mut() {
            j.collect(true);
        }
    }

    /// Measures where the JIT's time goes from now on.
    pub(super) fn set_profile(&mut self, on: bool) {
        self.profile = on;
    }

    /// Translates without asking [`available`] first (for the self-test's
    /// own machine, which `available` is waiting for).
    pub(super) fn set_vetted(&mut self) {
        self.vetted = true;
    }

    /// What the JIT did so far (zero for the interpreter).
    pub(super) fn stats(&self) -> JitStats {
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        if let Some(j) = &self.jit {
            return j.stats;
        }
        JitStats::default()
    }

    /// Whether a run of `max_steps` goes to the JIT.
    pub(super) fn takes(&self, max_steps: u64) -> bool {
        BUILT && !self.off && max_steps >= MIN_JIT_STEPS
    }
}

/// Runs at most `max_steps` steps of `m`, in generated code where
/// possible; returns the steps run.
pub(super) fn run<H: Host>(m: &mut H, max_steps: u64) -> u64 {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    return imp::run(m, max_steps);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    m.interpret_alone(max_steps)
}

/// Whether Cranelift can make code on this host (the self-test's first part).
pub(super) fn translator_works() -> Result<(), String> {
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return Err("the JIT is not built for this platform".into());
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    imp::translator_works()
}

/// The self-test's state: a loop over ALU, multiply/divide, loads and stores.
pub(super) fn self_test_state() -> State {
    use crate::layout::{STACK_TOP, ctrl};
    let r = |f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32| {
        (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    };
    let i = |imm: i32, rs1: u32, f3: u32, rd: u32, op: u32| {
        ((imm as u32) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    };
    let s = |imm: i32, rs2: u32, rs1: u32, f3: u32| {
        let imm = imm as u32;
        ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23
    };
    let bne_back = |words: i32, rs1: u32, rs2: u32| {
        let off = (-4 * words) as u32;
        let b12 = (off >> 12) & 1;
        let b11 = (off >> 11) & 1;
        let b10_5 = (off >> 5) & 0x3f;
        let b4_1 = (off >> 1) & 0xf;
        (b12 << 31)
            | (b10_5 << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (1 << 12)
            | (b4_1 << 8)
            | (b11 << 7)
            | 0x63
    };
    let code = [
        i(1000, 0, 0, 5, 0x13),         // addi x5, x0, 1000
        i(7, 0, 0, 6, 0x13),            // addi x6, x0, 7
        (0x10 << 12) | (7 << 7) | 0x37, // lui x7, 0x10
        r(1, 5, 5, 0, 8, 0x33),         // mul x8, x5, x5
        r(0, 8, 6, 0, 6, 0x33),         // add x6, x6, x8
        r(1, 5, 6, 4, 9, 0x33),         // div x9, x6, x5
        r(1, 9, 6, 6, 12, 0x33),        // rem x12, x6, x9
        s(0, 6, 7, 3),                  // sd x6, 0(x7)
        i(0, 7, 2, 10, 0x03),           // lw x10, 0(x7)
        r(0, 10, 6, 4, 6, 0x33),        // xor x6, x6, x10
        i(3, 6, 5, 11, 0x13),           // srli x11, x6, 3
        r(0, 11, 6, 0, 6, 0x3b),        // addw x6, x6, x11
        i(8, 7, 0, 7, 0x13),            // addi x7, x7, 8
        i(-1, 5, 0, 5, 0x13),           // addi x5, x5, -1
        bne_back(11, 5, 0),             // bne x5, x0, (back to mul)
        i(93, 0, 0, 17, 0x13),          // addi x17, x0, 93
        0x73,                           // ecall
    ];
    let mut st = State::new();
    let lo = 0x1000u64;
    for (k, w) in code.iter().enumerate() {
        st.mem.write(lo + 4 * k as u64, &w.to_le_bytes());
    }
    st.set_ctrl(ctrl::EXEC_LO, lo);
    st.set_ctrl(ctrl::EXEC_SIZE, 4 * code.len() as u64);
    st.set_ctrl(ctrl::RO_LO, lo);
    st.set_ctrl(ctrl::RO_SIZE, 0x1000);
    st.set_pc(lo);
    st.set_x(2, STACK_TOP);
    st
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod imp {
    use super::native::{EXIT_BUDGET, EXIT_INTERP, EXIT_JUMP, Entry};
    use super::region::{CodeRange, Region, discover};
    use super::translate::{Code, Compiler, Env, Translator};
    use super::{Engine, Host, JOIN_VISITS, JitStats, Slot, WARM_HOT_VISITS};
    use crate::fast::ranges::MAX_CACHED_CODE;
    use crate::layout::{MEM_SIZE, ctrl};
    use crate::state::State;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::Instant;

    use super::{COVERED, INTERP, PENDING, UNKNOWN};
    /// While translations are pending, the interpreter runs at most this
    /// many steps between looks for finished ones (some 0.1 ms).
    const PENDING_CHUNK: u64 = 20_000;

    /// A region for the worker to compile.
    struct Job {
        generation: u64,
        slot: usize,
        region: Region,
        env: Env,
    }

    /// A region the worker compiled.
    struct Done {
        generation: u64,
        slot: usize,
        /// The JIT failed its self-test: no region will come.
        unavailable: bool,
        code: Result<Code, String>,
        secs: f64,
        /// The region's instructions and blocks.
        size: (u64, u64),
    }

    /// A region's instructions and blocks (for the statistics).
    fn size(region: &Region) -> (u64, u64) {
        let insts = region.blocks.iter().map(|b| b.insts.len() as u64).sum();
        (insts, region.blocks.len() as u64)
    }

    /// A thread that compiles one machine's regions while the machine goes
    /// on in the interpreter (on a second core, the translation time comes
    /// off the run's; a region's code is placed in code memory, and used,
    /// only by the machine's own thread, between two runs of code). It
    /// ends when the machine's JIT is dropped.
    struct Worker {
        jobs: mpsc::Sender<Job>,
        done: mpsc::Receiver<Done>,
        /// The JIT's generation (see `Jit::generation`), or `u64::MAX`
        /// once the machine dropped it: the worker skips the jobs of
        /// another generation rather than compile code no one will run.
        current: Arc<AtomicU64>,
    }

    impl Drop for Worker {
        fn drop(&mut self) {
            self.current.store(u64::MAX, Ordering::Relaxed);
        }
    }

    impl Worker {
        /// Starts a worker; with `vet`, it asks that (the JIT's
        /// self-test) first and, where it fails, answers every job with
        /// `unavailable`.
        fn start(vet: Option<fn() -> bool>) -> Option<Worker> {
            let mut compiler = Compiler::new().ok()?;
            let (jobs, todo) = mpsc::channel::<Job>();
            let (tell, done) = mpsc::channel();
            let current = Arc::new(AtomicU64::new(0));
            let now = current.clone();
            std::thread::Builder::new()
                .name("mswap-jit".into())
                .spawn(move || {
                    let usable = vet.is_none_or(|f| f());
                    for j in todo {
                        match now.load(Ordering::Relaxed) {
                            u64::MAX => break,
                            g if g != j.generation => continue,
                            _ => {}
                        }
                        let t = Instant::now();
                        let code = if usable {
                            compiler.compile(&j.region, &j.env)
                        } else {
                            Err("the JIT's self-test failed".into())
                        };
                        let d = Done {
                            generation: j.generation,
                            slot: j.slot,
                            unavailable: !usable,
                            code,
                            secs: t.elapsed().as_secs_f64(),
                            size: size(&j.region),
                        };
                        if tell.send(d).is_err() {
                            break;
                        }
                    }
                })
                .ok()?;
            Some(Worker {
                jobs,
                done,
                current,
            })
        }
    }

    /// The translations of one machine.
    pub(super) struct Jit {
        /// Made when the first region is translated (a run that never
        /// turns hot pays nothing for Cranelift).
        tr: Option<Translator>,
        /// Per 2-byte slot of the executable range: UNKNOWN, INTERP, or 2 + an index into `entries`.
        table: Vec<u32>,
        /// Per slot: blocks started there in the interpreter so far.
        heat: Vec<u16>,
        /// Visits that make a pc hot.
        hot: u16,
        /// Interpreted steps before the translator is made.
        warmup: u64,
        /// Whether the translator may be made without asking
        /// [`super::available`] first.
        vetted: bool,
        entries: Vec<Entry>,
        range: CodeRange,
        env: Env,
        /// The interpreter's count of stores into code when the table was made.
        code_writes: u64,
        /// Translate on the worker (not where a threshold was set, where
        /// tests want a region at once, nor for a flawed translation, nor
        /// on the self-test's machine, which must run its loop in generated
        /// code).
        background: bool,
        /// The worker, once asked for a region (`None` with `background`:
        /// not started, or could not start: translate on this thread).
        worker: Option<Worker>,
        /// Translations asked of the worker and not placed yet.
        pending: usize,
        /// Per pending region's entry slot: the slots of its other blocks
        /// (`COVERED` until it is placed).
        covered: std::collections::HashMap<usize, Vec<usize>>,
        /// Counts the flushes: the worker's regions made before the last
        /// flush are dropped.
        generation: u64,
        pub(super) stats: JitStats,
    }

    /// Whether Cranelift can make code on this host.
    pub(super) fn translator_works() -> Result<(), String> {
        Translator::new(1).map(drop)
    }

    impl Jit {
        /// A JIT for the machine's state, or `None` where generated code's
        /// assumptions do not hold (ranges beyond guest memory, a non-zero `x0`).
        fn new(state: &State, slot: &Slot, code_writes: u64) -> Option<Jit> {
            let w = state.ctrl_words();
            let word = |off: u64| w[(off / 8) as usize];
            let exec = (word(ctrl::EXEC_LO), word(ctrl::EXEC_SIZE));
            let ro = (word(ctrl::RO_LO), word(ctrl::RO_SIZE));
            let inside = |(lo, size): (u64, u64)| lo <= MEM_SIZE && size <= MEM_SIZE - lo;
            if !inside(exec) || !inside(ro) || exec.1 > MAX_CACHED_CODE || w[0] != 0 {
                return None;
            }
            let flaw = match slot.engine {
                Engine::FlawedJit(pc) => Some(pc),
                _ => None,
            };
            let slots = exec.1.div_ceil(2) as usize;
            Some(Jit {
                tr: None,
                table: vec![UNKNOWN; slots],
                heat: vec![0; slots],
                hot: slot.hot,
                warmup: slot.warmup,
                vetted: slot.vetted,
                entries: Vec::new(),
                range: CodeRange {
                    lo: exec.0,
                    size: exec.1,
                },
                env: Env {
                    ro,
                    exec,
                    flaw,
                    count_chains: slot.profile,
                },
                code_writes,
                background: slot.background && slot.hot > 0 && flaw.is_none() && !slot.vetted,
                worker: None,
                pending: 0,
                covered: std::collections::HashMap::new(),
                generation: 0,
                stats: JitStats::default(),
            })
        }

        /// Whether the warm-up is still on (nothing is translated yet).
        fn warming(&self) -> bool {
            self.tr.is_none() && self.stats.interp_steps < self.warmup
        }

        /// The interpreter's view (see [`super::Tier`]); while warming up,
        /// it counts visits but stops at none.
        pub(super) fn tier(&mut self) -> super::Tier<'_> {
            super::Tier {
                lo: self.range.lo,
                hot: if self.warming() {
                    WARM_HOT_VISITS.max(self.hot)
                } else {
                    self.hot
                },
                table: &self.table,
                heat: &mut self.heat,
            }
        }

        /// Drops every translation (code was written).
        fn flush(&mut self, code_writes: u64) {
            // The entries go before the code memory they point into.
            self.entries.clear();
            self.tr = None;
            self.generation += 1;
            if let Some(w) = &self.worker {
                w.current.store(self.generation, Ordering::Relaxed);
            }
            self.pending = 0;
            self.covered.clear();
            self.table.iter_mut().for_each(|t| *t = UNKNOWN);
            self.heat.iter_mut().for_each(|t| *t = 0);
            self.stats.flushes += 1;
            self.code_writes = code_writes;
        }

        /// The translation at `pc`, made once `pc` is hot; else the
        /// interpreter runs (until a jump lands on a hot or translated block).
        fn lookup(&mut self, m_state: &State, pc: u64, available: fn() -> bool) -> Look {
            let off = pc.wrapping_sub(self.range.lo);
            if off >= self.range.size || pc & 1 != 0 {
                return Look::Interp;
            }
            let slot = (off >> 1) as usize;
            match self.table.get(slot).copied() {
                Some(UNKNOWN) => {}
                Some(INTERP | PENDING | COVERED) | None => return Look::Interp,
                Some(k) => {
                    return match self.entries.get((k - 2) as usize) {
                        Some(&e) => Look::Run(e),
                        None => Look::Interp,
                    };
                }
            }
            if let Some(h) = self.heat.get_mut(slot)
                && *h < self.hot
            {
                *h += 1;
                return Look::Interp;
            }
            if self.warming() {
                if self
                    .heat
                    .get(slot)
                    .is_some_and(|&h| h > WARM_HOT_VISITS.max(self.hot))
                {
                    // A loop this hot: the warm-up ends here.
                    self.warmup = self.stats.interp_steps;
                } else {
                    return Look::Interp;
                }
            }
            if self.background && self.worker.is_none() {
                // The worker runs the self-test (where this machine needs
                // it) before its first region, off this thread.
                self.worker = Worker::start((!self.vetted).then_some(available));
                self.background = self.worker.is_some();
            }
            if self.worker.is_none() && self.tr.is_none() && !self.vetted {
                if !available() {
                    // No translations for this machine: it interprets, and
                    // the interpreter never stops for hot code again.
                    self.warmup = u64::MAX;
                    return Look::Interp;
                }
                self.vetted = true;
            }
            let t0 = Instant::now();
            let Some(region) = self.form(m_state, pc) else {
                self.set(slot, INTERP);
                return Look::Interp;
            };
            if let Some(w) = &self.worker {
                let lo = self.range.lo;
                let inner: Vec<usize> = region.blocks[1..]
                    .iter()
                    .map(|b| (b.start.wrapping_sub(lo) >> 1) as usize)
                    .filter(|&k| self.table.get(k) == Some(&UNKNOWN))
                    .collect();
                let job = Job {
                    generation: self.generation,
                    slot,
                    region,
                    env: self.env,
                };
                if w.jobs.send(job).is_ok() {
                    self.pending += 1;
                    self.set(slot, PENDING);
                    for &k in &inner {
                        self.set(k, COVERED);
                    }
                    self.covered.insert(slot, inner);
                    self.blocked(t0);
                    return Look::Interp;
                }
                // (The worker is gone: translate here from now on.)
                self.worker = None;
                self.background = false;
                self.blocked(t0);
                return Look::Interp;
            }
            if self.tr.is_none() {
                self.tr = Translator::new(self.table.len()).ok();
            }
            let made = self
                .tr
                .as_mut()
                .and_then(|tr| tr.translate(&region, &self.env).ok());
            if made.is_some() {
                self.count(size(&region));
            }
            self.blocked(t0);
            self.place(slot, made)
        }

        /// The region to translate at `pc`. Only blocks that ran (in the
        /// interpreter) join it, so translation is proportional to what
        /// runs; a jump to any other block leaves the region and finds it
        /// through the entry table once it is translated itself. With a
        /// threshold of 0 (translate on first sight) nothing has run yet:
        /// every reachable block joins. A block where another region
        /// starts (or is being translated) is never copied in: the region
        /// jumps there instead (otherwise a loop longer than a region is
        /// translated again from every place a region ended).
        fn form(&mut self, state: &State, pc: u64) -> Option<Region> {
            let (heat, hot, lo, table) = (&self.heat, self.hot, self.range.lo, &self.table);
            let ran = |at: u64, cont: bool| {
                let k = (at.wrapping_sub(lo) >> 1) as usize;
                table.get(k).is_some_and(|&t| t == UNKNOWN)
                    && (hot == 0 || cont || heat.get(k).is_some_and(|&h| h >= JOIN_VISITS.min(hot)))
            };
            let region = discover(state, self.range, pc, &ran)?;
            // The code goes on where the size limit cut the region: those
            // blocks are translated the first time they are reached.
            for &c in &region.cut {
                if let Some(h) = self.heat.get_mut((c.wrapping_sub(lo) >> 1) as usize) {
                    *h = (*h).max(self.hot);
                }
            }
            Some(region)
        }

        /// Counts a translated region's instructions and blocks (its `size`).
        fn count(&mut self, (insts, blocks): (u64, u64)) {
            self.stats.insts += insts;
            self.stats.blocks += blocks;
        }

        /// Adds the time since `t0` to this thread's translation time.
        fn blocked(&mut self, t0: Instant) {
            let s = t0.elapsed().as_secs_f64();
            self.stats.blocked_secs += s;
            self.stats.translate_secs += s;
        }

        fn set(&mut self, slot: usize, v: u32) {
            if let Some(t) = self.table.get_mut(slot) {
                *t = v;
            }
        }

        /// Makes `made` the region at `slot` (or leaves the slot to the
        /// interpreter where there is none).
        fn place(&mut self, slot: usize, made: Option<Entry>) -> Look {
            let v = match made {
                Some(e) => {
                    if let Some(tr) = self.tr.as_mut() {
                        tr.publish(slot, e);
                    }
                    self.entries.push(e);
                    self.stats.regions += 1;
                    self.entries.len() as u32 + 1
                }
                None => INTERP,
            };
            self.set(slot, v);
            match made {
                Some(e) => Look::Run(e),
                None => Look::Interp,
            }
        }

        /// Places the regions the worker finished (those asked before the
        /// last flush are dropped); with `wait`, waits for every pending one.
        pub(super) fn collect(&mut self, wait: bool) {
            let Some(w) = &self.worker else {
                return;
            };
            let mut done = Vec::new();
            let mut left = if wait { self.pending } else { 0 };
            let gone = loop {
                let d = if left > 0 {
                    w.done.recv().map_err(|_| mpsc::TryRecvError::Disconnected)
                } else {
                    w.done.try_recv()
                };
                match d {
                    Ok(d) => {
                        left = left.saturating_sub(usize::from(d.generation == self.generation));
                        done.push(d);
                    }
                    Err(e) => break e == mpsc::TryRecvError::Disconnected,
                }
            };
            for d in done {
                if d.unavailable {
                    self.give_up();
                    return;
                }
                if d.generation != self.generation {
                    continue;
                }
                self.pending = self.pending.saturating_sub(1);
                self.stats.translate_secs += d.secs;
                for k in self.covered.remove(&d.slot).unwrap_or_default() {
                    if self.table.get(k) == Some(&COVERED) {
                        self.set(k, UNKNOWN);
                    }
                }
                let t0 = Instant::now();
                if d.code.is_ok() && self.tr.is_none() {
                    self.tr = Translator::new(self.table.len()).ok();
                }
                let made = match (&d.code, self.tr.as_mut()) {
                    (Ok(code), Some(tr)) => tr.place(code).ok(),
                    _ => None,
                };
                if made.is_some() {
                    self.count(d.size);
                }
                self.blocked(t0);
                self.place(d.slot, made);
            }
            if gone {
                // The worker ended (it panicked): what it had is lost.
                self.give_up();
            }
        }

        /// Stops translating on the worker: every pending region goes back
        /// to the interpreter, and the machine translates on its own
        /// thread from now on, after asking `available` itself (which says
        /// no where the worker's self-test failed: then nothing is
        /// translated again).
        fn give_up(&mut self) {
            self.worker = None;
            self.background = false;
            self.pending = 0;
            for (slot, inner) in std::mem::take(&mut self.covered) {
                self.set(slot, UNKNOWN);
                for k in inner {
                    self.set(k, UNKNOWN);
                }
            }
        }
    }

    /// What the dispatcher does at a pc.
    enum Look {
        /// Enter this translation.
        Run(Entry),
        /// Interpret (at least one step).
        Interp,
    }

    /// Runs at most `max_steps` steps, in generated code where possible.
    pub(super) fn run<H: Host>(m: &mut H, max_steps: u64) -> u64 {
        let (state, slot, writes) = m.parts();
        if slot.jit.is_none() {
            match Jit::new(state, slot, writes) {
                Some(j) => slot.jit = Some(Box::new(j)),
                None => {
                    slot.off = true;
                    return m.interpret_alone(max_steps);
                }
            }
        }
        let profile = slot.profile;
        let clock = || profile.then(Instant::now);
        let since = |t: Option<Instant>| t.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let t_run = clock();
        let (mut native, mut interp_secs) = (0.0, 0.0);
        let translated0 = slot.jit.as_ref().map_or(0.0, |j| j.stats.blocked_secs);
        let mut done = 0u64;
        while done < max_steps {
            let (state, slot, writes) = m.parts();
            if state.halted() {
                break;
            }
            let Some(jit) = slot.jit.as_deref_mut() else {
                break;
            };
            if jit.code_writes != writes {
                jit.flush(writes);
            }
            if jit.pending > 0 {
                jit.collect(false);
            }
            let pc = state.pc();
            // Whether the interpreter runs next (else: look up again), and
            // whether for one instruction only.
            let mut one = false;
            let interp = match jit.lookup(state, pc, H::available) {
                Look::Interp => true,
                // (An entry exists only with its translator.)
                Look::Run(entry) if jit.tr.is_some() => {
                    let Some(tr) = jit.tr.as_mut() else {
                        continue;
                    };
                    let t = clock();
                    let exit = tr.code_mut().enter(entry, state, max_steps - done);
                    native += since(t);
                    let n = exit.steps;
                    done += n;
                    jit.stats.jit_steps += n;
                    jit.stats.entries += 1;
                    jit.stats.chains += exit.chains;
                    match exit.why {
                        EXIT_JUMP => jit.stats.exits_jump += 1,
                        EXIT_BUDGET => jit.stats.exits_budget += 1,
                        _ => jit.stats.exits_interp += 1,
                    }
                    // The instruction generated code left for the
                    // interpreter (a system call, LR/SC, a misaligned
                    // access) is followed by code that is as hot as the
                    // region was: the dispatcher looks at the next pc
                    // right away instead of interpreting up to the next
                    // jump (after each of `rust_sha256`'s 262,144 `read`s,
                    // 8 steps).
                    one = exit.why == EXIT_INTERP;
                    exit.why != EXIT_JUMP
                }
                Look::Run(_) => true,
            };
            if interp && done < max_steps {
                let t = clock();
                // While warming up, up to the end of the warm-up.
                let budget = if one {
                    1
                } else if jit.pending > 0 {
                    PENDING_CHUNK.min(max_steps - done)
                } else if jit.warming() {
                    (jit.warmup - jit.stats.interp_steps).min(max_steps - done)
                } else {
                    max_steps - done
                };
                let n = m.interpret_for_jit(budget);
                interp_secs += since(t);
                done += n;
                if let Some(j) = m.parts().1.jit.as_deref_mut() {
                    j.stats.interp_steps += n;
                }
                if n == 0 {
                    // Stopped before a `read` (stop_before_read) or halted.
                    break;
                }
            }
        }
        if profile && let Some(j) = m.parts().1.jit.as_deref_mut() {
            let translating = j.stats.blocked_secs - translated0;
            j.stats.native_secs += native;
            j.stats.interp_secs += interp_secs;
            j.stats.dispatch_secs += (since(t_run) - native - interp_secs - translating).max(0.0);
        }
        done
    }
}
