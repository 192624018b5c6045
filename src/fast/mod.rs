//! Machine A: the fast RV64IMAC interpreter. One step is one instruction
//! (a compressed instruction is one step too).
//!
//! The interpreter keeps the registers in a local array while it runs and
//! fetches pre-decoded instructions ([`isa::Inst`]) from a cache of the
//! executable range; the plain run path does no hashing and no allocation.
//! Every instruction, system call and fault follows the semantics written
//! down in [`crate::layout`] and in the handlers below; machine AB's
//! microcode implements the same semantics independently.

mod fetch;
pub mod isa;
pub mod jit;
mod ranges;
mod syscall;

pub use fetch::fetch;
pub use ranges::{MAX_CACHED_CODE, overlaps};
pub use syscall::WriteEvent;

use crate::layout::{Fault, MEM_SIZE, Status, ctrl};
use crate::state::State;
use isa::{Inst, Op, decode};

/// Decoded instructions of the executable range, one per halfword (an
/// instruction may start at any 2-byte boundary), each decoded the first
/// time it runs ([`Op::Undecoded`] until then).
struct CodeCache {
    lo: u64,
    size: u64,
    insts: Vec<Inst>,
    /// Stores (and reads) into the executable range so far: the JIT drops
    /// its translations when this changes.
    writes: u64,
}

impl CodeCache {
    fn build(state: &State) -> CodeCache {
        let lo = state.ctrl(ctrl::EXEC_LO);
        let size = state.ctrl(ctrl::EXEC_SIZE);
        // Only a range inside guest memory is cached (others are hand-made).
        if lo & 1 != 0 || size > MAX_CACHED_CODE || lo > MEM_SIZE || MEM_SIZE - lo < size {
            return CodeCache {
                lo,
                size: 0,
                insts: Vec::new(),
                writes: 0,
            };
        }
        CodeCache {
            lo,
            size,
            insts: vec![UNDECODED; (size / 2) as usize],
            writes: 0,
        }
    }

    /// Decodes the instruction at `pc` (even, inside the cached range) into
    /// its slot and returns it.
    #[cold]
    fn decode_at(&mut self, state: &State, pc: u64) -> Inst {
        let inst = match fetch(state, pc) {
            Some(word) if !isa::is_long(word as u16) || pc + 2 - self.lo < self.size => {
                decode(word)
            }
            // A 32-bit instruction reaching past the range faults at fetch.
            _ => Inst {
                op: Op::FetchFault,
                ..decode(0)
            },
        };
        if let Some(slot) = self.insts.get_mut(((pc - self.lo) / 2) as usize) {
            *slot = inst;
        }
        inst
    }

    /// Forgets the instructions overlapping `[addr, addr + len)` (including
    /// one that starts 2 bytes before and straddles `addr`): they are
    /// decoded again when they run.
    fn refresh(&mut self, addr: u64, len: u64) {
        self.writes += 1;
        let end = self.lo + 2 * self.insts.len() as u64;
        let first = addr.saturating_sub(2).max(self.lo);
        let last = addr.saturating_add(len).min(end);
        let mut a = first & !1;
        while a < last {
            self.insts[((a - self.lo) / 2) as usize] = UNDECODED;
            a += 2;
        }
    }
}

/// A code cache slot not decoded yet.
const UNDECODED: Inst = Inst {
    op: Op::Undecoded,
    rd: 0,
    rs1: 0,
    rs2: 0,
    imm: 0,
    len: 0,
};

/// Whether two states hold the same code where machine A's caches look:
/// the same executable and write-protected ranges, `x0` zero in both, and
/// the same bytes in every page of the executable range.
fn same_code(a: &State, b: &State) -> bool {
    let (wa, wb) = (a.ctrl_words(), b.ctrl_words());
    let w = |ws: &[u64], off: u64| ws[(off / 8) as usize];
    let ranges = [ctrl::EXEC_LO, ctrl::EXEC_SIZE, ctrl::RO_LO, ctrl::RO_SIZE];
    if ranges.iter().any(|&o| w(wa, o) != w(wb, o)) || wa[0] != 0 || wb[0] != 0 {
        return false;
    }
    let (lo, size) = (w(wa, ctrl::EXEC_LO), w(wa, ctrl::EXEC_SIZE));
    if size > MAX_CACHED_CODE || lo > MEM_SIZE || MEM_SIZE - lo < size {
        return false;
    }
    if size == 0 {
        return true;
    }
    let page = crate::state::memory::LOG2_PAGE;
    let (first, last) = (lo >> page, (lo + size - 1) >> page);
    (first..=last).all(|p| a.mem.page(p as u32) == b.mem.page(p as u32))
}

/// Whether `a` is not a multiple of the access size `n` (a power of two).
#[inline(always)]
fn misaligned(a: u64, n: u64) -> bool {
    a & (n - 1) != 0
}

/// Whether `[a, a + n)` lies in guest memory.
#[inline(always)]
fn in_memory(a: u64, n: u64) -> bool {
    a < MEM_SIZE && MEM_SIZE - a >= n
}

/// Machine A over one state.
pub struct Machine {
    state: State,
    cache: CodeCache,
    /// Record write events for [`Machine::take_writes`].
    pub record_writes: bool,
    /// Stop (before executing it) at the first `read` system call, so that a
    /// caller can install the input lazily ([`Machine::run`] returns early
    /// and [`Machine::at_read`] says so).
    pub stop_before_read: bool,
    writes: Vec<WriteEvent>,
    jit: jit::Slot,
}

impl Machine {
    /// Wraps a state (pre-decodes its executable range); the engine is
    /// [`default_engine`].
    pub fn new(state: State) -> Machine {
        Machine::with_engine(state, default_engine())
    }

    /// Machine A over `state` with the given engine.
    pub fn with_engine(state: State, engine: jit::Engine) -> Machine {
        let cache = CodeCache::build(&state);
        Machine {
            state,
            cache,
            record_writes: false,
            stop_before_read: false,
            writes: Vec::new(),
            jit: jit::Slot::new(engine),
        }
    }

    /// The state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Mutable access to the state; the code cache is rebuilt afterwards.
    pub fn with_state_mut<R>(&mut self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.state);
        self.cache = CodeCache::build(&self.state);
        self.jit.reset();
        r
    }

    /// Replaces the state by `state` (a checkpoint of the same run, say).
    /// Where the new state has the same executable and write-protected
    /// ranges and the same code bytes, the pre-decoded code and the JIT's
    /// translations are kept (they depend on nothing else), so that a
    /// player replaying from checkpoints translates its code once; else
    /// both are made again, as by [`Machine::with_state_mut`]. Returns
    /// whether they were kept.
    pub fn replace_state(&mut self, state: State) -> bool {
        let keep = same_code(&self.state, &state);
        self.state = state;
        self.writes.clear();
        if !keep {
            self.cache = CodeCache::build(&self.state);
            self.jit.reset();
        }
        keep
    }

    /// Rewinds the state in place to `snap`, a checkpoint of the same run:
    /// only the memory pages of `pages` (those written between the two, a
    /// superset is fine) are compared and copied, instead of the whole
    /// state as [`Machine::replace_state`] would. The pre-decoded code and
    /// the translations are kept unless the ranges or a code page may have
    /// changed. Returns whether they were kept.
    pub fn rewind_to(&mut self, snap: &crate::state::snapshot::Snapshot, pages: &[u64]) -> bool {
        let code = |s: &State| {
            let w = s.ctrl_words();
            let at = |off: u64| w[(off / 8) as usize];
            [
                at(ctrl::EXEC_LO),
                at(ctrl::EXEC_SIZE),
                at(ctrl::RO_LO),
                at(ctrl::RO_SIZE),
            ]
        };
        let before = code(&self.state);
        snap.restore_into(&mut self.state, pages);
        self.writes.clear();
        let [lo, size, ..] = before;
        let page = crate::state::memory::LOG2_PAGE;
        let keep = code(&self.state) == before
            && !pages
                .iter()
                .any(|&p| size != 0 && overlaps(p << page, 1 << page, lo, size));
        if !keep {
            self.cache = CodeCache::build(&self.state);
            self.jit.reset();
        }
        keep
    }

    /// Mutable access for callers that only take dirty pages or hash (no change to S).
    pub fn state_for_tree(&mut self) -> &mut State {
        &mut self.state
    }

    /// Gives the state back.
    pub fn into_state(self) -> State {
        self.state
    }

    /// The machine status.
    pub fn status(&self) -> Status {
        self.state.status()
    }

    /// Write events since the last call (only if `record_writes` is set).
    pub fn take_writes(&mut self) -> Vec<WriteEvent> {
        std::mem::take(&mut self.writes)
    }

    /// Whether the machine stands at a `read` system call (see `stop_before_read`).
    pub fn at_read(&self) -> bool {
        let pc = self.state.pc();
        !self.state.halted()
            && self.state.x(17) == crate::layout::sys::READ
            && fetch(&self.state, pc) == Some(0x73)
    }

    /// One step (one instruction); the identity on a halted machine.
    /// Returns whether an instruction was executed.
    pub fn step(&mut self) -> bool {
        self.run(1) == 1
    }

    /// Runs until the machine halts or `max_steps` instructions have been
    /// executed; returns the number executed (a faulting instruction counts).
    /// Both engines give the same result; the JIT takes long runs.
    pub fn run(&mut self, max_steps: u64) -> u64 {
        if self.jit.takes(max_steps) && !self.state.halted() {
            return jit::run(self, max_steps);
        }
        self.interpret(max_steps)
    }

    /// The engine this machine was made with.
    pub fn engine(&self) -> jit::Engine {
        self.jit.engine()
    }

    /// Sets the visits that make a pc hot (default [`jit::HOT_VISITS`]; 0
    /// translates code on its first visit, which runs even code that runs
    /// once in generated code, as tests want), with no warm-up
    /// ([`jit::WARMUP_STEPS`]): translation starts at once, and on the
    /// machine's own thread, so that a region is used from the moment its
    /// code turns hot (by default the JIT translates on a thread of its
    /// own while the interpreter goes on). Drops every translation.
    pub fn set_hot_visits(&mut self, visits: u16) {
        self.jit.set_hot_visits(visits);
    }

    /// Waits until the regions the JIT's thread is translating are done
    /// and ready to run (tests and measurements that want the generated
    /// code in use from a known step on).
    pub fn settle_jit(&mut self) {
        self.jit.settle();
    }

    /// Measures where the JIT's time goes from now on (the times of
    /// [`jit::JitStats`]): `mswap run --stats` does.
    pub fn set_jit_profile(&mut self, on: bool) {
        self.jit.set_profile(on);
    }

    /// What the JIT did so far (zero for the interpreter).
    pub fn jit_stats(&self) -> jit::JitStats {
        self.jit.stats()
    }

    /// [`Machine::run`] in the interpreter.
    fn interpret(&mut self, max_steps: u64) -> u64 {
        self.interpret_tiered::<false>(max_steps)
    }

    /// [`Machine::interpret`]; with `TIER`, on the JIT's behalf: after every
    /// jump or branch it counts a visit of the block it lands on and stops
    /// there (before it) if that block has a translation or has just become
    /// hot ([`jit::Tier`]), so that cold code runs at the interpreter's
    /// speed and hot code leaves it as soon as it is hot.
    fn interpret_tiered<const TIER: bool>(&mut self, max_steps: u64) -> u64 {
        if self.state.halted() || max_steps == 0 {
            return 0;
        }
        let Machine {
            state,
            cache,
            record_writes,
            stop_before_read,
            writes,
            jit,
        } = self;
        let mut tier = if TIER { jit.tier() } else { None };
        // Set by jumps and taken or not taken branches: a block starts at pc.
        let mut jumped = false;
        // Registers live in a local array while running (x[32] absorbs writes to x0).
        let mut x = [0u64; 64];
        let words = state.ctrl_words();
        x[..32].copy_from_slice(&words[..32]);
        let word = |off: u64| words[(off / 8) as usize];
        let mut pc = word(ctrl::PC);
        let exec_lo = word(ctrl::EXEC_LO);
        let exec_size = word(ctrl::EXEC_SIZE);
        let ro_lo = word(ctrl::RO_LO);
        let ro_size = word(ctrl::RO_SIZE);
        // Odd only in a hand-made state; then the slow path faults.
        let aligned = pc & 1 == 0;
        let mut steps = 0u64;

        macro_rules! r {
            ($i:expr) => {
                x[($i & 63) as usize]
            };
        }
        macro_rules! fault {
            ($f:expr, $tval:expr) => {{
                steps += 1;
                state.set_fault($f, $tval);
                break;
            }};
        }
        // Loads and stores may be misaligned (done as on Linux user mode);
        // only the range is checked.
        macro_rules! load {
            ($inst:expr, $n:literal, $conv:expr) => {{
                let a = r!($inst.rs1).wrapping_add($inst.imm as i64 as u64);
                match state.mem.read::<$n>(a) {
                    Some(b) if a < MEM_SIZE => r!($inst.rd) = $conv(b),
                    _ => fault!(Fault::LoadAccess, a),
                }
                pc = pc.wrapping_add($inst.len as u64);
            }};
        }
        macro_rules! store {
            ($inst:expr, $n:literal, $conv:expr) => {{
                let a = r!($inst.rs1).wrapping_add($inst.imm as i64 as u64);
                if !in_memory(a, $n) || overlaps(a, $n, ro_lo, ro_size) {
                    fault!(Fault::StoreAccess, a)
                }
                let v = r!($inst.rs2);
                state.mem.write(a, &$conv(v));
                if overlaps(a, $n, exec_lo, exec_size) {
                    cache.refresh(a, $n);
                }
                pc = pc.wrapping_add($inst.len as u64);
            }};
        }
        // Branch and jump targets are even (pc is even, offsets are even,
        // jalr clears bit 0), so with compressed instructions no jump is
        // misaligned.
        macro_rules! branch {
            ($inst:expr, $cond:expr) => {{
                jumped = TIER;
                if $cond {
                    pc = pc.wrapping_add($inst.imm as i64 as u64);
                } else {
                    pc = pc.wrapping_add($inst.len as u64);
                }
            }};
        }
        // LR: naturally aligned, in memory; sets the reservation.
        macro_rules! lr {
            ($inst:expr, $n:literal, $conv:expr) => {{
                let a = r!($inst.rs1);
                if misaligned(a, $n) {
                    fault!(Fault::LoadMisaligned, a)
                }
                match state.mem.read::<$n>(a) {
                    Some(b) if a < MEM_SIZE => r!($inst.rd) = $conv(b),
                    _ => fault!(Fault::LoadAccess, a),
                }
                state.set_ctrl(ctrl::RESERVATION, a | 1);
                pc = pc.wrapping_add($inst.len as u64);
            }};
        }
        // SC: stores (and writes 0) only if the reservation holds `a`;
        // the reservation is gone afterwards either way.
        macro_rules! sc {
            ($inst:expr, $n:literal, $conv:expr) => {{
                let a = r!($inst.rs1);
                if misaligned(a, $n) {
                    fault!(Fault::StoreMisaligned, a)
                }
                if state.ctrl(ctrl::RESERVATION) == a | 1 {
                    if !in_memory(a, $n) || overlaps(a, $n, ro_lo, ro_size) {
                        fault!(Fault::StoreAccess, a)
                    }
                    state.mem.write(a, &$conv(r!($inst.rs2)));
                    if overlaps(a, $n, exec_lo, exec_size) {
                        cache.refresh(a, $n);
                    }
                    r!($inst.rd) = 0;
                } else {
                    r!($inst.rd) = 1;
                }
                state.set_ctrl(ctrl::RESERVATION, 0);
                pc = pc.wrapping_add($inst.len as u64);
            }};
        }
        // AMO: naturally aligned, writable; `rd` gets the old value.
        macro_rules! amo {
            ($inst:expr, $n:literal, $o:ident) => {{
                let a = r!($inst.rs1);
                if misaligned(a, $n) {
                    fault!(Fault::StoreMisaligned, a)
                }
                if !in_memory(a, $n) || overlaps(a, $n, ro_lo, ro_size) {
                    fault!(Fault::StoreAccess, a)
                }
                let mut b = [0u8; 8];
                state.mem.read_into(a, &mut b[..$n]);
                let old = u64::from_le_bytes(b);
                let old = if $n == 4 {
                    old as u32 as i32 as i64 as u64
                } else {
                    old
                };
                let new = amo(Op::$o, old, r!($inst.rs2));
                state.mem.write(a, &new.to_le_bytes()[..$n]);
                if overlaps(a, $n, exec_lo, exec_size) {
                    cache.refresh(a, $n);
                }
                r!($inst.rd) = old;
                pc = pc.wrapping_add($inst.len as u64);
            }};
        }

        macro_rules! alu_op {
            ($inst:expr, $o:ident) => {{
                let i = $inst;
                r!(i.rd) = alu(Op::$o, r!(i.rs1), r!(i.rs2), i.imm as i64 as u64);
                pc = pc.wrapping_add(i.len as u64);
            }};
        }

        while steps < max_steps {
            if TIER && jumped {
                jumped = false;
                if let Some(t) = tier.as_mut()
                    && t.visit(pc)
                {
                    break;
                }
            }
            // pc is even here (checked on entry; every jump target is even),
            // so the cache index is exact.
            let cached = if aligned {
                cache.insts.get((pc.wrapping_sub(cache.lo) >> 1) as usize)
            } else {
                None
            };
            let inst = if let Some(inst) = cached {
                *inst
            } else {
                if pc & 1 != 0 || pc.wrapping_sub(exec_lo) >= exec_size {
                    fault!(Fault::InstructionAccess, pc)
                }
                // Fetch reads S at pc: beyond guest memory that is another region.
                let word = fetch(state, pc).unwrap_or(0);
                if isa::is_long(word as u16)
                    && pc.wrapping_add(2).wrapping_sub(exec_lo) >= exec_size
                {
                    fault!(Fault::InstructionAccess, pc)
                }
                decode(word)
            };
            let imm = inst.imm as i64 as u64;
            let len = inst.len as u64;
            match inst.op {
                Op::Lui => {
                    r!(inst.rd) = imm;
                    pc = pc.wrapping_add(len);
                }
                Op::Auipc => {
                    r!(inst.rd) = pc.wrapping_add(imm);
                    pc = pc.wrapping_add(len);
                }
                Op::Jal => {
                    jumped = TIER;
                    r!(inst.rd) = pc.wrapping_add(len);
                    pc = pc.wrapping_add(imm);
                }
                Op::Jalr => {
                    jumped = TIER;
                    let t = r!(inst.rs1).wrapping_add(imm) & !1;
                    r!(inst.rd) = pc.wrapping_add(len);
                    pc = t;
                }
                Op::Beq => branch!(inst, r!(inst.rs1) == r!(inst.rs2)),
                Op::Bne => branch!(inst, r!(inst.rs1) != r!(inst.rs2)),
                Op::Blt => branch!(inst, (r!(inst.rs1) as i64) < (r!(inst.rs2) as i64)),
                Op::Bge => branch!(inst, (r!(inst.rs1) as i64) >= (r!(inst.rs2) as i64)),
                Op::Bltu => branch!(inst, r!(inst.rs1) < r!(inst.rs2)),
                Op::Bgeu => branch!(inst, r!(inst.rs1) >= r!(inst.rs2)),
                Op::Lb => load!(inst, 1, |b: [u8; 1]| b[0] as i8 as i64 as u64),
                Op::Lh => load!(inst, 2, |b| i16::from_le_bytes(b) as i64 as u64),
                Op::Lw => load!(inst, 4, |b| i32::from_le_bytes(b) as i64 as u64),
                Op::Ld => load!(inst, 8, u64::from_le_bytes),
                Op::Lbu => load!(inst, 1, |b: [u8; 1]| b[0] as u64),
                Op::Lhu => load!(inst, 2, |b| u16::from_le_bytes(b) as u64),
                Op::Lwu => load!(inst, 4, |b| u32::from_le_bytes(b) as u64),
                Op::Sb => store!(inst, 1, |v: u64| [v as u8]),
                Op::Sh => store!(inst, 2, |v: u64| (v as u16).to_le_bytes()),
                Op::Sw => store!(inst, 4, |v: u64| (v as u32).to_le_bytes()),
                Op::Sd => store!(inst, 8, |v: u64| v.to_le_bytes()),
                // Stores take effect in the code cache at once, so fence.i
                // orders nothing more than fence.
                Op::Fence | Op::FenceI => pc = pc.wrapping_add(len),
                Op::LrW => lr!(inst, 4, |b| i32::from_le_bytes(b) as i64 as u64),
                Op::LrD => lr!(inst, 8, u64::from_le_bytes),
                Op::ScW => sc!(inst, 4, |v: u64| (v as u32).to_le_bytes()),
                Op::ScD => sc!(inst, 8, |v: u64| v.to_le_bytes()),
                Op::AmoswapW => amo!(inst, 4, AmoswapW),
                Op::AmoaddW => amo!(inst, 4, AmoaddW),
                Op::AmoxorW => amo!(inst, 4, AmoxorW),
                Op::AmoandW => amo!(inst, 4, AmoandW),
                Op::AmoorW => amo!(inst, 4, AmoorW),
                Op::AmominW => amo!(inst, 4, AmominW),
                Op::AmomaxW => amo!(inst, 4, AmomaxW),
                Op::AmominuW => amo!(inst, 4, AmominuW),
                Op::AmomaxuW => amo!(inst, 4, AmomaxuW),
                Op::AmoswapD => amo!(inst, 8, AmoswapD),
                Op::AmoaddD => amo!(inst, 8, AmoaddD),
                Op::AmoxorD => amo!(inst, 8, AmoxorD),
                Op::AmoandD => amo!(inst, 8, AmoandD),
                Op::AmoorD => amo!(inst, 8, AmoorD),
                Op::AmominD => amo!(inst, 8, AmominD),
                Op::AmomaxD => amo!(inst, 8, AmomaxD),
                Op::AmominuD => amo!(inst, 8, AmominuD),
                Op::AmomaxuD => amo!(inst, 8, AmomaxuD),
                Op::Ecall => {
                    if *stop_before_read && x[17] == crate::layout::sys::READ {
                        break;
                    }
                    let next = syscall::ecall(state, &mut x, record_writes.then_some(&mut *writes));
                    steps += 1;
                    match next {
                        syscall::Next::Halt => break,
                        syscall::Next::Continue { wrote_mem } => {
                            // A read into writable code must be seen by the cache.
                            if let Some((a, n)) = wrote_mem
                                && overlaps(a, n, exec_lo, exec_size)
                            {
                                cache.refresh(a, n);
                            }
                            pc = pc.wrapping_add(len);
                        }
                    }
                    continue;
                }
                Op::Ebreak => fault!(Fault::Breakpoint, pc),
                Op::Illegal => fault!(Fault::IllegalInstruction, inst.imm as u32 as u64),
                Op::FetchFault => fault!(Fault::InstructionAccess, pc),
                // First run of this instruction: decode it, then execute it
                // (the cache holds only ranges with an even start, and pc is
                // even and inside the range here).
                Op::Undecoded => {
                    cache.decode_at(state, pc);
                    continue;
                }
                // One arm per operation, so that dispatch is a single jump.
                Op::Addi => alu_op!(inst, Addi),
                Op::Slti => alu_op!(inst, Slti),
                Op::Sltiu => alu_op!(inst, Sltiu),
                Op::Xori => alu_op!(inst, Xori),
                Op::Ori => alu_op!(inst, Ori),
                Op::Andi => alu_op!(inst, Andi),
                Op::Slli => alu_op!(inst, Slli),
                Op::Srli => alu_op!(inst, Srli),
                Op::Srai => alu_op!(inst, Srai),
                Op::Add => alu_op!(inst, Add),
                Op::Sub => alu_op!(inst, Sub),
                Op::Sll => alu_op!(inst, Sll),
                Op::Slt => alu_op!(inst, Slt),
                Op::Sltu => alu_op!(inst, Sltu),
                Op::Xor => alu_op!(inst, Xor),
                Op::Srl => alu_op!(inst, Srl),
                Op::Sra => alu_op!(inst, Sra),
                Op::Or => alu_op!(inst, Or),
                Op::And => alu_op!(inst, And),
                Op::Addiw => alu_op!(inst, Addiw),
                Op::Slliw => alu_op!(inst, Slliw),
                Op::Srliw => alu_op!(inst, Srliw),
                Op::Sraiw => alu_op!(inst, Sraiw),
                Op::Addw => alu_op!(inst, Addw),
                Op::Subw => alu_op!(inst, Subw),
                Op::Sllw => alu_op!(inst, Sllw),
                Op::Srlw => alu_op!(inst, Srlw),
                Op::Sraw => alu_op!(inst, Sraw),
                Op::Mul => alu_op!(inst, Mul),
                Op::Mulh => alu_op!(inst, Mulh),
                Op::Mulhsu => alu_op!(inst, Mulhsu),
                Op::Mulhu => alu_op!(inst, Mulhu),
                Op::Div => alu_op!(inst, Div),
                Op::Divu => alu_op!(inst, Divu),
                Op::Rem => alu_op!(inst, Rem),
                Op::Remu => alu_op!(inst, Remu),
                Op::Mulw => alu_op!(inst, Mulw),
                Op::Divw => alu_op!(inst, Divw),
                Op::Divuw => alu_op!(inst, Divuw),
                Op::Remw => alu_op!(inst, Remw),
                Op::Remuw => alu_op!(inst, Remuw),
            }
            steps += 1;
        }
        // x0 keeps whatever the state holds (always 0 in a state made by the loader).
        state.ctrl_words_mut()[1..32].copy_from_slice(&x[1..32]);
        state.set_pc(pc);
        steps
    }
}

impl jit::Host for Machine {
    fn parts(&mut self) -> (&mut State, &mut jit::Slot, u64) {
        (&mut self.state, &mut self.jit, self.cache.writes)
    }

    fn interpret_alone(&mut self, max_steps: u64) -> u64 {
        self.interpret(max_steps)
    }

    fn interpret_for_jit(&mut self, max_steps: u64) -> u64 {
        self.interpret_tiered::<true>(max_steps)
    }

    fn available() -> bool {
        available()
    }
}

/// The engine of machines made by [`Machine::new`]: the one set by
/// [`jit::set_default_engine`], else the JIT where it is built (it checks
/// [`available`] before it translates anything), else the interpreter.
pub fn default_engine() -> jit::Engine {
    match jit::engine_set() {
        Some(jit::Engine::Interp) => jit::Engine::Interp,
        Some(_) if available() => jit::Engine::Jit,
        None if jit::BUILT => jit::Engine::Jit,
        _ => jit::Engine::Interp,
    }
}

/// Whether the JIT is built for this platform and passed [`self_test`]
/// (run once, on first use).
pub fn available() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| self_test().is_ok())
}

/// The JIT's self-test: a small program run by both engines, which must
/// agree on every state at a few step limits and at the end. `Err` says
/// where they differ.
pub fn self_test() -> Result<(), String> {
    jit::translator_works()?;
    // One machine per engine (one translation), compared at a few step
    // limits in the middle of the loop and at the end.
    let s = jit::self_test_state();
    let mut a = Machine::with_engine(s.clone(), jit::Engine::Interp);
    let mut b = Machine::with_engine(s, jit::Engine::Jit);
    // Hot after a few visits, whatever the default threshold.
    b.set_hot_visits(8);
    b.jit.set_vetted();
    let mut done = 0;
    for chunk in [70, 1000, 137, 5000, u64::MAX] {
        let (na, nb) = (a.run(chunk), b.run(chunk));
        if na != nb {
            return Err(format!("step counts differ after {done}: {na} vs {nb}"));
        }
        done += na;
        if let Some(d) = a.state().first_difference(b.state()) {
            return Err(format!("after {done} steps: {d}"));
        }
    }
    if !a.state().halted() || b.jit_stats().jit_steps == 0 {
        return Err("the self-test did not run to its end in generated code".into());
    }
    Ok(())
}

/// The value an AMO stores, from the `old` value in memory (sign-extended
/// for `.w`) and `src = x[rs2]`; `.w` operations use the low 32 bits.
#[inline(always)]
pub fn amo(op: Op, old: u64, src: u64) -> u64 {
    let (ow, sw) = (old as i32, src as i32);
    match op {
        Op::AmoswapW | Op::AmoswapD => src,
        Op::AmoaddW | Op::AmoaddD => old.wrapping_add(src),
        Op::AmoxorW | Op::AmoxorD => old ^ src,
        Op::AmoandW | Op::AmoandD => old & src,
        Op::AmoorW | Op::AmoorD => old | src,
        Op::AmominW => ow.min(sw) as u64,
        Op::AmomaxW => ow.max(sw) as u64,
        Op::AmominuW => (ow as u32).min(sw as u32) as u64,
        Op::AmomaxuW => (ow as u32).max(sw as u32) as u64,
        Op::AmominD => (old as i64).min(src as i64) as u64,
        Op::AmomaxD => (old as i64).max(src as i64) as u64,
        Op::AmominuD => old.min(src),
        Op::AmomaxuD => old.max(src),
        _ => 0,
    }
}

/// The register-only operations: `a = x[rs1]`, `b = x[rs2]`, `imm` the
/// sign-extended immediate (or shift amount).
#[inline(always)]
pub fn alu(op: Op, a: u64, b: u64, imm: u64) -> u64 {
    let sext32 = |v: u32| v as i32 as i64 as u64;
    match op {
        Op::Addi => a.wrapping_add(imm),
        Op::Slti => ((a as i64) < (imm as i64)) as u64,
        Op::Sltiu => (a < imm) as u64,
        Op::Xori => a ^ imm,
        Op::Ori => a | imm,
        Op::Andi => a & imm,
        Op::Slli => a << (imm & 63),
        Op::Srli => a >> (imm & 63),
        Op::Srai => ((a as i64) >> (imm & 63)) as u64,
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Sll => a << (b & 63),
        Op::Slt => ((a as i64) < (b as i64)) as u64,
        Op::Sltu => (a < b) as u64,
        Op::Xor => a ^ b,
        Op::Srl => a >> (b & 63),
        Op::Sra => ((a as i64) >> (b & 63)) as u64,
        Op::Or => a | b,
        Op::And => a & b,
        Op::Addiw => sext32((a as u32).wrapping_add(imm as u32)),
        Op::Slliw => sext32((a as u32) << (imm & 31)),
        Op::Srliw => sext32((a as u32) >> (imm & 31)),
        Op::Sraiw => ((a as i32) >> (imm & 31)) as i64 as u64,
        Op::Addw => sext32((a as u32).wrapping_add(b as u32)),
        Op::Subw => sext32((a as u32).wrapping_sub(b as u32)),
        Op::Sllw => sext32((a as u32) << (b & 31)),
        Op::Srlw => sext32((a as u32) >> (b & 31)),
        Op::Sraw => ((a as i32) >> (b & 31)) as i64 as u64,
        Op::Mul => a.wrapping_mul(b),
        Op::Mulh => (((a as i64 as i128) * (b as i64 as i128)) >> 64) as u64,
        Op::Mulhsu => (((a as i64 as i128) * (b as i128)) >> 64) as u64,
        Op::Mulhu => (((a as u128) * (b as u128)) >> 64) as u64,
        Op::Div => match b {
            0 => u64::MAX,
            _ => (a as i64).wrapping_div(b as i64) as u64,
        },
        Op::Divu => a.checked_div(b).unwrap_or(u64::MAX),
        Op::Rem => match b {
            0 => a,
            _ => (a as i64).wrapping_rem(b as i64) as u64,
        },
        Op::Remu => a.checked_rem(b).unwrap_or(a),
        Op::Mulw => sext32((a as u32).wrapping_mul(b as u32)),
        Op::Divw => match b as u32 {
            0 => u64::MAX,
            _ => (a as i32).wrapping_div(b as i32) as i64 as u64,
        },
        Op::Divuw => match b as u32 {
            0 => u64::MAX,
            d => sext32(a as u32 / d),
        },
        Op::Remw => match b as u32 {
            0 => sext32(a as u32),
            _ => (a as i32).wrapping_rem(b as i32) as i64 as u64,
        },
        Op::Remuw => match b as u32 {
            0 => sext32(a as u32),
            d => sext32(a as u32 % d),
        },
        _ => 0,
    }
}
