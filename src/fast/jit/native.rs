//! The one place of machine A with `unsafe` code: the memory that holds
//! generated code, the context block that generated code reads, and the
//! call into a translated region.
//!
//! What makes the calls sound is a contract with [`super::translate`]:
//! generated code reads and writes only
//! - the 512 words of the state's first control page (`x0..x31` at words
//!   0..31; the pc, word 32, is set from the context after the call),
//! - guest memory at `mem + a` for an access of `n` bytes at a guest
//!   address `a` that the code has checked to be a multiple of `n` and
//!   below `2^32` (so `a + n <= 2^32 = MEM_SIZE`, the length of the flat
//!   guest memory),
//! - the dirty set's bit word `page / 64` for a page `< 2^20` (the set
//!   covers all `MEM_SIZE / 4096` pages),
//! - the page log's word `k` for `k` = the context's `log_len`, which it
//!   then increments, only when it set a dirty bit that was clear (so at
//!   most once per page and call: `log_len` stays below the log's
//!   `MEM_SIZE / 4096` words),
//! - the fields of [`Ctx`],
//! - the entry table's word `k` for a slot `k` it checked to be below the
//!   table's length (one word per 2-byte slot of the executable range),
//!
//! calls nothing, and jumps (a tail call with the same
//! signature and the `tail` calling convention) only to a non-zero word of
//! the entry table, which [`CodeMemory`] fills only with the entries of its
//! own finalized regions and clears with them. Every access in the
//! generated code is emitted behind those checks (see `Translator::mem_addr`
//! and `Gen::chain`).
#![allow(unsafe_code)]

use crate::layout::MEM_SIZE;
use crate::state::State;
use cranelift_jit::JITModule;
use cranelift_module::FuncId;

/// Exit: go on at `next_pc` (look up or make its translation).
pub const EXIT_JUMP: u64 = 0;
/// Exit: the interpreter executes the instruction at `next_pc`.
pub const EXIT_INTERP: u64 = 1;
/// Exit: the block at `next_pc` needs more steps than the budget has left.
pub const EXIT_BUDGET: u64 = 2;

/// What generated code reads and writes besides the state: the pointers it
/// works on, the step budget, and where and why it stopped.
#[repr(C)]
pub(super) struct Ctx {
    /// The first control page of the state (registers, then `pc`).
    pub regs: *mut u64,
    /// Guest memory, `MEM_SIZE` bytes.
    pub mem: *mut u8,
    /// The bit words of guest memory's dirty-page set.
    pub dirty_bits: *mut u64,
    /// The page log: pages whose dirty bit generated code set (it was
    /// clear), which join the set's list when the call returns.
    pub log: *mut u32,
    /// In: the most instructions the regions may execute; out: what is left.
    pub budget: u64,
    /// Out: the pc at which the region stopped.
    pub next_pc: u64,
    /// Out: why it stopped (`EXIT_*`).
    pub exit: u64,
    /// The entry table: per 2-byte slot of the executable range, the entry
    /// of the region starting there, or 0.
    pub table: *const u64,
    /// Out: jumps from one region straight into another.
    pub chains: u64,
    /// In/out: the pages in the page log.
    pub log_len: u64,
}

/// Byte offsets of the [`Ctx`] fields, for generated code.
pub(super) mod off {
    pub const REGS: i32 = 0;
    pub const MEM: i32 = 8;
    pub const DIRTY_BITS: i32 = 16;
    pub const LOG: i32 = 24;
    pub const BUDGET: i32 = 32;
    pub const NEXT_PC: i32 = 40;
    pub const EXIT: i32 = 48;
    pub const TABLE: i32 = 56;
    pub const CHAINS: i32 = 64;
    pub const LOG_LEN: i32 = 72;
}

const _: () = {
    assert!(std::mem::offset_of!(Ctx, regs) == off::REGS as usize);
    assert!(std::mem::offset_of!(Ctx, mem) == off::MEM as usize);
    assert!(std::mem::offset_of!(Ctx, dirty_bits) == off::DIRTY_BITS as usize);
    assert!(std::mem::offset_of!(Ctx, log) == off::LOG as usize);
    assert!(std::mem::offset_of!(Ctx, budget) == off::BUDGET as usize);
    assert!(std::mem::offset_of!(Ctx, next_pc) == off::NEXT_PC as usize);
    assert!(std::mem::offset_of!(Ctx, exit) == off::EXIT as usize);
    assert!(std::mem::offset_of!(Ctx, table) == off::TABLE as usize);
    assert!(std::mem::offset_of!(Ctx, chains) == off::CHAINS as usize);
    assert!(std::mem::offset_of!(Ctx, log_len) == off::LOG_LEN as usize);
};

impl Ctx {
    /// A context over `state` (the pointers stay valid while the state is
    /// borrowed by the caller and not touched otherwise).
    fn new(state: &mut State, table: *const u64, log: *mut u32) -> Ctx {
        let regs = state.ctrl_words_mut().as_mut_ptr();
        let (mem, dirty_bits, _) = state.mem.jit_parts();
        Ctx {
            regs,
            mem,
            dirty_bits,
            log,
            budget: 0,
            next_pc: 0,
            exit: 0,
            table,
            chains: 0,
            log_len: 0,
        }
    }
}

/// Words of the page log: one per page of guest memory, so it never fills
/// (a page is logged only when its dirty bit goes from clear to set).
const LOG_WORDS: usize = (MEM_SIZE >> 12) as usize;

/// The entry of one translated region.
#[derive(Clone, Copy)]
pub(super) struct Entry(*const u8);

/// How a run of generated code ended.
#[derive(Clone, Copy, Debug)]
pub(super) struct Exit {
    /// Instructions executed.
    pub steps: u64,
    /// Why it stopped (`EXIT_*`).
    pub why: u64,
    /// Jumps between regions on the way.
    pub chains: u64,
}

/// The executable memory of the translations of one machine, and the entry
/// table through which regions jump into each other. Dropping it frees the
/// code; [`Entry`] values taken from it must not be used after.
pub(super) struct CodeMemory {
    module: Option<JITModule>,
    /// Per 2-byte slot of the executable range: a region's entry or 0.
    table: Vec<u64>,
    /// The function that calls a region from Rust (`extern "C" fn(*mut Ctx, entry)`).
    trampoline: Option<Entry>,
    /// The page log of [`Ctx`]: room for [`LOG_WORDS`] words, left
    /// uninitialized (generated code writes a word before it is read), so
    /// it costs memory only for the words written. Zeroing it (4 MiB)
    /// cost 1.9 ms per machine once the allocator serves blocks this size
    /// from its heap, a third of a 2.5 M-step run of `numeric`.
    log: Vec<u32>,
}

// SAFETY: the module and the entries made from it are owned by one
// `Machine` and only used through `&mut`, from one thread at a time; the
// code memory itself is plain mapped memory with no thread affinity.
unsafe impl Send for CodeMemory {}
// SAFETY: as above; an entry is a pointer to immutable code.
unsafe impl Send for Entry {}

impl CodeMemory {
    /// Wraps a module, with an entry table of `slots` words (all 0: the
    /// zeroed allocation costs no memory until a word is set).
    pub fn new(module: JITModule, slots: usize) -> CodeMemory {
        CodeMemory {
            module: Some(module),
            table: vec![0; slots],
            trampoline: None,
            log: Vec::with_capacity(LOG_WORDS),
        }
    }

    /// The module, for declaring and defining functions.
    pub fn module(&mut self) -> Option<&mut JITModule> {
        self.module.as_mut()
    }

    /// The entry of a function that is defined and finalized.
    pub fn entry(&self, id: FuncId) -> Option<Entry> {
        self.module
            .as_ref()
            .map(|m| Entry(m.get_finalized_function(id)))
    }

    /// Sets the trampoline: a finalized function of this module with the
    /// signature `extern "C" fn(*mut Ctx, entry)` that calls `entry` (a
    /// region, `tail` convention) with the context.
    pub fn set_trampoline(&mut self, e: Entry) {
        self.trampoline = Some(e);
    }

    /// Publishes `e`, a finalized region of this module, as the entry at
    /// `slot`, so that other regions jump to it directly.
    pub fn publish(&mut self, slot: usize, e: Entry) {
        if let Some(w) = self.table.get_mut(slot) {
            *w = e.0 as u64;
        }
    }

    /// Runs the region at `entry` on `state` with at most `budget` steps.
    pub fn enter(&mut self, entry: Entry, state: &mut State, budget: u64) -> Exit {
        assert!(
            state.mem.len() as u64 == MEM_SIZE,
            "guest memory is MEM_SIZE bytes"
        );
        let Some(tramp) = self.trampoline else {
            return Exit {
                steps: 0,
                why: EXIT_INTERP,
                chains: 0,
            };
        };
        let mut ctx = Ctx::new(state, self.table.as_ptr(), self.log.as_mut_ptr());
        ctx.budget = budget;
        // SAFETY: `tramp` and `entry` are finalized code of this module
        // (still alive: `self` is borrowed); the trampoline was built by
        // `Translator::new` with the signature `extern "C" fn(*mut Ctx, u64)`
        // in the host's default call convention and calls `entry`, a region
        // built by `translate`. The code keeps to the contract at the top of
        // this file; `ctx`'s pointers come from `state`, which is
        // exclusively borrowed for the whole call, the memory is MEM_SIZE
        // bytes (asserted above), and the table is this value's, alive and
        // not changed during the call, the log is this value's and holds
        // `LOG_WORDS` words, more than generated code writes.
        unsafe {
            let f: extern "C" fn(*mut Ctx, u64) = std::mem::transmute(tramp.0);
            f(&mut ctx, entry.0 as u64)
        };
        // Generated code leaves the pc where it stopped in the context.
        state.set_pc(ctx.next_pc);
        // The pages whose dirty bits the code set join the set's list (what
        // `PageSet::insert` does after setting a bit).
        let n = (ctx.log_len as usize).min(self.log.capacity());
        // SAFETY: generated code wrote the log's first `log_len` words
        // (at most `LOG_WORDS`, its capacity) during the call.
        let logged = unsafe { std::slice::from_raw_parts(self.log.as_ptr(), n) };
        if !logged.is_empty() {
            let (_, _, list) = state.mem.jit_parts();
            // SAFETY: `list` points to the page list of `state`'s dirty set,
            // which `state` (exclusively borrowed here) owns; no other
            // reference to it is alive.
            unsafe { (*list).extend_from_slice(logged) };
        }
        Exit {
            steps: budget.saturating_sub(ctx.budget),
            why: ctx.exit,
            chains: ctx.chains,
        }
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        self.table.clear();
        if let Some(m) = self.module.take() {
            // SAFETY: the entries of this module live in the same `Jit` as
            // this value (and in its table, just cleared) and are dropped or
            // cleared with it; none is called after this point.
            unsafe { m.free_memory() }
        }
    }
}
