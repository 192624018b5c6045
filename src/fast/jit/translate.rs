//! Translation of a [`Region`] to native code with Cranelift.
//!
//! One region becomes one function of the `tail` calling convention that
//! takes the context ([`super::native::Ctx`]) and leaves in it the step
//! budget left, the pc and why it stopped. A jump to a pc outside the
//! region (a direct branch or `jal` to code of another region, or any
//! `jalr`: returns, calls through tables) looks the target up in the entry
//! table and, where a region starts there, continues in it by a tail call
//! without returning to the dispatcher (region chaining); a trampoline
//! with the host's C convention is the way in from Rust. Within a block,
//! a guest register is an SSA value: loaded from the state at its first
//! read there, stored through to the state at every write (so that exits
//! carry no register values), never carried into another block. Carrying
//! them across the region as Cranelift variables (loaded once on entry)
//! gave every block parameters for them, which the register allocator
//! paid for: translation took about a tenth longer, and generated code
//! was no faster (stores forward to the next block's loads; `perf stat`,
//! CPU ms, whole process: `loop` 98 -> 93, `rust_evm` 72 -> 64,
//! `rust_json` 88 -> 82, `rust_words` 163 -> 151, `collatz` 8 -> 9). The entry and every
//! loop head check that the budget covers the longest way to the next
//! check ([`budget_checks`]), so a region never runs past the step limit:
//! where it does not, the region exits before that block and the
//! interpreter executes the remaining steps.
//!
//! A load or store whose address is misaligned or outside guest memory, a
//! store near the write-protected or executable range, and every
//! instruction the translator does not know exit *before* the instruction
//! with an exact step count, and the interpreter executes it: faults,
//! system calls and stores into code are always the interpreter's.

use super::native::{CodeMemory, EXIT_BUDGET, EXIT_INTERP, EXIT_JUMP, Entry, off};
use super::region::{Block, Decoded, End, Region, amo_size, successors};
use crate::fast::isa::{Op, SCRATCH};
use cranelift_codegen::Context;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlags, SigRef, Value};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::Module;

/// What a translation depends on besides the code.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    /// The write-protected range (`lo`, `size`).
    pub ro: (u64, u64),
    /// The executable range (`lo`, `size`).
    pub exec: (u64, u64),
    /// Test only: the instruction at this pc is translated wrongly (a
    /// branch goes the other way, a result is off by one).
    pub flaw: Option<u64>,
    /// Count the jumps between regions (profiled runs: a load, an add and
    /// a store on every jump, which `rust_words` makes 35 M times).
    pub count_chains: bool,
}

/// Makes machine code from regions: Cranelift's code generator and its
/// reusable contexts, without the module that holds the code, so that it
/// can work on a thread of its own (see `super::imp::Worker`).
pub struct Compiler {
    isa: cranelift_codegen::isa::OwnedTargetIsa,
    ctx: Context,
    fctx: FunctionBuilderContext,
    /// The signature of every region (`tail` convention, the context).
    region_sig: cranelift_codegen::ir::Signature,
}

/// A region's machine code, ready to be placed in code memory.
pub struct Code {
    bytes: Vec<u8>,
    align: u64,
}

/// The host's code generator with the JIT's settings, made once per
/// process (every compiler and code memory shares it).
fn host_isa() -> Result<cranelift_codegen::isa::OwnedTargetIsa, String> {
    type Isa = Result<cranelift_codegen::isa::OwnedTargetIsa, String>;
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        for (k, v) in [
            // The IR already says what the guest code says; Cranelift's
            // optimizer made no guest faster (sha256, words, loop) and
            // doubled the translation time.
            ("opt_level", "none"),
            ("use_colocated_libcalls", "false"),
            ("is_pic", "false"),
            // The IR is made by this file alone and checked by the tests;
            // verifying it again on every translation costs a tenth of the
            // translation time.
            ("enable_verifier", "false"),
            // Cranelift's tail calls (region chaining) need frame pointers.
            ("preserve_frame_pointers", "true"),
        ] {
            flags.set(k, v).map_err(|e| e.to_string())?;
        }
        cranelift_native::builder()
            .map_err(|e| e.to_string())?
            .finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())
    })
    .clone()
}

impl Compiler {
    /// A compiler for the host.
    pub fn new() -> Result<Compiler, String> {
        let mut region_sig = cranelift_codegen::ir::Signature::new(CallConv::Tail);
        region_sig.params.push(AbiParam::new(I64));
        Ok(Compiler {
            isa: host_isa()?,
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
            region_sig,
        })
    }

    /// The code of `region`. Regions call nothing by name, so the code
    /// needs no relocation (one that did would be refused here).
    pub fn compile(&mut self, region: &Region, env: &Env) -> Result<Code, String> {
        self.ctx.clear();
        let sig = self.region_sig.clone();
        self.ctx.func.signature = sig.clone();
        {
            let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            build(b, region, env, sig);
        }
        let plane = &mut cranelift_codegen::control::ControlPlane::default();
        let code = self
            .ctx
            .compile(&*self.isa, plane)
            .map_err(|e| format!("{:?}", e.inner))?;
        if !code.buffer.relocs().is_empty() {
            return Err("the region's code needs relocations".into());
        }
        Ok(Code {
            bytes: code.code_buffer().to_vec(),
            align: code.buffer.alignment as u64,
        })
    }
}

/// The code memory of one machine's translations, the compiler that
/// fills it on the machine's own thread, and the way into the code.
pub struct Translator {
    code: CodeMemory,
    compiler: Compiler,
}

impl Translator {
    /// A translator for the host, for an executable range of `slots`
    /// 2-byte slots.
    pub fn new(slots: usize) -> Result<Translator, String> {
        let compiler = Compiler::new()?;
        let module = JITModule::new(JITBuilder::with_isa(
            compiler.isa.clone(),
            cranelift_module::default_libcall_names(),
        ));
        let mut t = Translator {
            code: CodeMemory::new(module, slots),
            compiler,
        };
        t.make_trampoline()?;
        Ok(t)
    }

    /// The way in from Rust: `extern "C" fn(ctx, entry)` calls the region
    /// at `entry` with `ctx`.
    fn make_trampoline(&mut self) -> Result<(), String> {
        let module = self.code.module().ok_or("no code memory")?;
        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(I64));
        sig.params.push(AbiParam::new(I64));
        let id = module
            .declare_anonymous_function(&sig)
            .map_err(|e| e.to_string())?;
        let c = &mut self.compiler;
        c.ctx.clear();
        c.ctx.func.signature = sig;
        {
            let mut b = FunctionBuilder::new(&mut c.ctx.func, &mut c.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let (ctxp, f) = (b.block_params(entry)[0], b.block_params(entry)[1]);
            let sig = b.import_signature(c.region_sig.clone());
            b.ins().call_indirect(sig, f, &[ctxp]);
            b.ins().return_(&[]);
            b.seal_all_blocks();
            b.finalize();
        }
        let defined = module.define_function(id, &mut c.ctx);
        module.clear_context(&mut c.ctx);
        defined.map_err(|e| format!("{e:?}"))?;
        module.finalize_definitions().map_err(|e| e.to_string())?;
        let e = self.code.entry(id).ok_or("no code memory")?;
        self.code.set_trampoline(e);
        Ok(())
    }

    /// Publishes `e` as the region at `slot` (see [`CodeMemory::publish`]).
    pub fn publish(&mut self, slot: usize, e: Entry) {
        self.code.publish(slot, e);
    }

    /// The code memory (to run translations).
    pub fn code_mut(&mut self) -> &mut CodeMemory {
        &mut self.code
    }

    /// Translates `region` on this thread; returns the entry of its function.
    pub fn translate(&mut self, region: &Region, env: &Env) -> Result<Entry, String> {
        let code = self.compiler.compile(region, env)?;
        self.place(&code)
    }

    /// Places code made by a [`Compiler`] (of this host: this
    /// translator's, or another thread's) in code memory and finalizes it;
    /// returns its entry.
    pub fn place(&mut self, code: &Code) -> Result<Entry, String> {
        let module = self.code.module().ok_or("no code memory")?;
        let id = module
            .declare_anonymous_function(&self.compiler.region_sig)
            .map_err(|e| e.to_string())?;
        module
            .define_function_bytes(id, code.align, &code.bytes, &[])
            .map_err(|e| format!("{e:?}"))?;
        module.finalize_definitions().map_err(|e| e.to_string())?;
        self.code.entry(id).ok_or_else(|| "no code memory".into())
    }
}

struct Gen<'a> {
    b: FunctionBuilder<'a>,
    /// Per guest register, its value in the block being translated, once
    /// read or written there.
    local: [Option<Value>; 32],
    budget: Variable,
    blocks: Vec<cranelift_codegen::ir::Block>,
    mem: Value,
    bits: Value,
    regs: Value,
    ctxp: Value,
    table: Value,
    /// The signature of a region, for tail calls.
    sig: SigRef,
    env: Env,
    /// The access being translated was checked with its group (see
    /// [`mem_group`]): it needs no checks of its own.
    covered: bool,
    /// Per block: the steps its budget check asks for, at the entry and at
    /// loop heads only (see [`budget_checks`]).
    checks: Vec<Option<u64>>,
}

/// Where the budget is checked, and for how many steps. A check at every
/// block made a quarter of a region's IR blocks (a compare, a branch and
/// an exit each), which the register allocator pays for. Instead, the
/// entry and every block a loop jumps back to (the targets of the back
/// edges of a depth-first walk from the entry: every cycle has one) check
/// that the budget covers the longest way from there to the next check or
/// out of the region; the blocks on the way only count their steps. Where
/// the budget is shorter, the region leaves before that block and the
/// interpreter runs the last steps, so a run still stops at exactly its
/// step limit.
fn budget_checks(region: &Region) -> Vec<Option<u64>> {
    let n = region.blocks.len();
    let succ: Vec<Vec<usize>> = region
        .blocks
        .iter()
        .map(|bl| {
            successors(bl)
                .iter()
                .filter_map(|(pc, _)| region.index.get(pc).copied())
                .collect()
        })
        .collect();
    // Depth-first from the entry: a jump to a block on the walk's stack
    // closes a loop.
    let mut head = vec![false; n];
    let (mut seen, mut on_stack) = (vec![false; n], vec![false; n]);
    let mut stack = vec![(0usize, 0usize)];
    seen[0] = true;
    on_stack[0] = true;
    head[0] = true;
    while let Some(&mut (b, ref mut next)) = stack.last_mut() {
        if let Some(&s) = succ[b].get(*next) {
            *next += 1;
            if on_stack[s] {
                head[s] = true;
            } else if !seen[s] {
                seen[s] = true;
                on_stack[s] = true;
                stack.push((s, 0));
            }
        } else {
            on_stack[b] = false;
            stack.pop();
        }
    }
    // The longest way from each block to a check or out: the graph
    // without the edges into checked blocks has no cycle.
    let mut longest: Vec<Option<u64>> = vec![None; n];
    fn walk(
        b: usize,
        region: &Region,
        succ: &[Vec<usize>],
        head: &[bool],
        longest: &mut [Option<u64>],
    ) -> u64 {
        if let Some(l) = longest[b] {
            return l;
        }
        let mut far = 0;
        for &s in &succ[b] {
            if !head[s] {
                far = far.max(walk(s, region, succ, head, longest));
            }
        }
        let l = region.blocks[b].insts.len() as u64 + far;
        longest[b] = Some(l);
        l
    }
    (0..n)
        .map(|b| head[b].then(|| walk(b, region, &succ, &head, &mut longest)))
        .collect()
}

/// The size in bytes of a load or store (`None` for other operations).
fn access_size(op: Op) -> Option<u64> {
    use Op::*;
    match op {
        Lb | Lbu | Sb => Some(1),
        Lh | Lhu | Sh => Some(2),
        Lw | Lwu | Sw => Some(4),
        Ld | Sd => Some(8),
        _ => None,
    }
}

/// A group of loads and stores of one block through the same base
/// register, unchanged between them, each at an offset that is a multiple
/// of its size: one check before the first (the base aligned to the
/// largest size, the span of their offsets inside guest memory and, for
/// stores, away from the protected ranges) covers them all. Stack frames
/// and structs are read and written this way, so a block needs one check
/// where it had one per access (each check is a branch and a block of its
/// own, which the register allocator pays for).
struct Group {
    /// Indices in the block of the accesses it covers (at least two).
    members: Vec<usize>,
    /// The base register.
    base: u8,
    /// The lowest offset.
    lo: i64,
    /// The bytes from the lowest offset to the end of the highest access.
    span: u64,
    /// The largest access size.
    align: u64,
    /// Whether it has stores.
    stores: bool,
}

/// The group that starts at the access `insts[k]`, if it has two members.
fn mem_group(insts: &[Decoded], k: usize) -> Option<Group> {
    let first = insts.get(k)?;
    let base = first.inst.rs1;
    let fits = |d: &Decoded| {
        access_size(d.inst.op).filter(|&n| d.inst.rs1 == base && d.inst.imm as i64 % n as i64 == 0)
    };
    fits(first)?;
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    let mut g = Group {
        members: Vec::new(),
        base,
        lo: 0,
        span: 0,
        align: 1,
        stores: false,
    };
    for (j, d) in insts.iter().enumerate().skip(k) {
        if let Some(n) = fits(d) {
            g.members.push(j);
            lo = lo.min(d.inst.imm as i64);
            hi = hi.max(d.inst.imm as i64 + n as i64);
            g.align = g.align.max(n);
            g.stores |= matches!(d.inst.op, Op::Sb | Op::Sh | Op::Sw | Op::Sd);
        }
        // A write to the base ends the group (after the access that makes
        // it: its address uses the old value).
        if writes(d) == base && base != 0 {
            break;
        }
    }
    (g.members.len() >= 2).then(|| {
        g.lo = lo;
        g.span = (hi - lo) as u64;
        g
    })
}

/// The register an instruction writes (0 for none).
fn writes(d: &Decoded) -> u8 {
    use Op::*;
    match d.inst.op {
        Sb | Sh | Sw | Sd | Beq | Bne | Blt | Bge | Bltu | Bgeu | Fence => 0,
        _ => d.inst.rd,
    }
}

fn build(
    b: FunctionBuilder<'_>,
    region: &Region,
    env: &Env,
    sig: cranelift_codegen::ir::Signature,
) {
    let mut b = b;
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let ctxp = b.block_params(entry)[0];
    let t = MemFlags::trusted();
    let regs = b.ins().load(I64, t, ctxp, off::REGS);
    let mem = b.ins().load(I64, t, ctxp, off::MEM);
    let bits = b.ins().load(I64, t, ctxp, off::DIRTY_BITS);
    let budget0 = b.ins().load(I64, t, ctxp, off::BUDGET);
    let table = b.ins().load(I64, t, ctxp, off::TABLE);
    let sig = b.import_signature(sig);

    let budget = b.declare_var(I64);
    b.def_var(budget, budget0);

    let blocks: Vec<_> = region.blocks.iter().map(|_| b.create_block()).collect();
    b.ins().jump(blocks[0], &[]);

    let mut g = Gen {
        b,
        budget,
        blocks,
        mem,
        bits,
        regs,
        ctxp,
        table,
        sig,
        env: *env,
        local: [None; 32],
        covered: false,
        checks: if env.flaw.is_some() {
            // A flawed translation (tests) checks at every block, so that
            // its wrong instruction runs in generated code under every step
            // limit that reaches it, and the double-check's bisection over
            // step limits finds it at its own step.
            region
                .blocks
                .iter()
                .map(|bl| Some(bl.insts.len() as u64))
                .collect()
        } else {
            budget_checks(region)
        },
    };
    for (i, bl) in region.blocks.iter().enumerate() {
        g.block(region, i, bl);
    }

    let mut b = g.b;
    b.seal_all_blocks();
    b.finalize();
}

impl Gen<'_> {
    fn c(&mut self, v: u64) -> Value {
        self.b.ins().iconst(I64, v as i64)
    }

    /// Reads guest register `r`: its value in this block, else a load
    /// from the state (registers are not carried across blocks, see
    /// [`Gen::set`]).
    fn get(&mut self, r: u8) -> Value {
        if r == 0 || r >= 32 {
            return self.c(0);
        }
        if let Some(v) = self.local[r as usize] {
            return v;
        }
        let v = self
            .b
            .ins()
            .load(I64, MemFlags::trusted(), self.regs, 8 * r as i32);
        self.local[r as usize] = Some(v);
        v
    }

    /// Writes guest register `r`: its value for the reads that follow in
    /// this block, and through to the state at once, so that no exit needs
    /// to store registers (each side exit storing the registers written so
    /// far made the code, and translation time, grow with the square of a
    /// block's length).
    fn set(&mut self, r: u8, val: Value) {
        if r == 0 || r >= 32 || r == SCRATCH {
            return;
        }
        self.local[r as usize] = Some(val);
        self.b
            .ins()
            .store(MemFlags::trusted(), val, self.regs, 8 * r as i32);
    }

    /// Leaves the region at the constant `pc`.
    fn leave(&mut self, pc: u64, why: u64, adj: u64) {
        let pc = self.c(pc);
        self.exit_with(pc, why, adj);
    }

    /// Leaves the region at `pc`: the pc, why and the budget left (plus
    /// `adj`, the steps of the current block not executed) to the context
    /// (the caller sets the state's pc from it). Every exit has its own copy (a shared exit block with
    /// parameters made a merge of hundreds of edges that the register
    /// allocator spent most of its time on).
    fn exit_with(&mut self, pc: Value, why: u64, adj: u64) {
        let t = MemFlags::trusted();
        self.b.ins().store(t, pc, self.ctxp, off::NEXT_PC);
        let w = self.c(why);
        self.b.ins().store(t, w, self.ctxp, off::EXIT);
        let left = self.b.use_var(self.budget);
        let left = if adj == 0 {
            left
        } else {
            self.b.ins().iadd_imm(left, adj as i64)
        };
        self.b.ins().store(t, left, self.ctxp, off::BUDGET);
        self.b.ins().return_(&[]);
    }

    /// Goes on at `pc`: inside the region if it has a block there, else in
    /// the region that starts there (if any), else out.
    fn goto(&mut self, region: &Region, pc: u64) {
        match region.index.get(&pc) {
            Some(&i) => {
                self.b.ins().jump(self.blocks[i], &[]);
            }
            None => {
                let off = pc.wrapping_sub(self.env.exec.0);
                if pc & 1 == 0 && off < self.env.exec.1 {
                    let t = MemFlags::trusted();
                    let e = self.b.ins().load(I64, t, self.table, (off * 4) as i32);
                    let target = self.c(pc);
                    self.chain(e, target);
                } else {
                    self.leave(pc, EXIT_JUMP, 0);
                }
            }
        }
    }

    /// Continues at the computed pc `t` (even): in the region that starts
    /// there if the entry table has one, else in the dispatcher.
    fn chain_dynamic(&mut self, t: Value) {
        let (lo, size) = self.env.exec;
        let off = self.b.ins().iadd_imm(t, lo.wrapping_neg() as i64);
        let inside = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, off, size as i64);
        let look = self.b.create_block();
        let out = self.b.create_block();
        self.b.ins().brif(inside, look, &[], out, &[]);
        self.b.seal_block(look);
        self.b.seal_block(out);
        self.b.switch_to_block(out);
        self.exit_with(t, EXIT_JUMP, 0);
        self.b.switch_to_block(look);
        // Slot k = off / 2 holds 8 bytes at 8 * k = 4 * off (off is even).
        let at = self.b.ins().ishl_imm(off, 2);
        let at = self.b.ins().iadd(self.table, at);
        let e = self.b.ins().load(I64, MemFlags::trusted(), at, 0);
        self.chain(e, t);
    }

    /// Continues in the region whose entry is `e` (the entry table's word
    /// for `pc`), or leaves for the dispatcher at `pc` where `e` is 0.
    /// Registers are stored already (every block stores its own at its end).
    fn chain(&mut self, e: Value, pc: Value) {
        let go = self.b.create_block();
        let out = self.b.create_block();
        self.b.ins().brif(e, go, &[], out, &[]);
        self.b.seal_block(go);
        self.b.seal_block(out);
        self.b.switch_to_block(out);
        self.exit_with(pc, EXIT_JUMP, 0);
        self.b.switch_to_block(go);
        let t = MemFlags::trusted();
        let left = self.b.use_var(self.budget);
        self.b.ins().store(t, left, self.ctxp, off::BUDGET);
        if self.env.count_chains {
            let n = self.b.ins().load(I64, t, self.ctxp, off::CHAINS);
            let n = self.b.ins().iadd_imm(n, 1);
            self.b.ins().store(t, n, self.ctxp, off::CHAINS);
        }
        let ctxp = self.ctxp;
        self.b.ins().return_call_indirect(self.sig, e, &[ctxp]);
    }

    /// Continues in a new block if `bad` is zero, else leaves the region
    /// before the instruction at `pc` for the interpreter.
    fn unless(&mut self, bad: Value, pc: u64, adj: u64) {
        self.leave_if(bad, pc, EXIT_INTERP, adj);
    }

    /// Continues in a new block if `bad` is zero, else leaves the region at
    /// `pc` for the reason `why`.
    fn leave_if(&mut self, bad: Value, pc: u64, why: u64, adj: u64) {
        // Registers are written through, so a side exit only says where.
        let cont = self.b.create_block();
        let side = self.b.create_block();
        self.b.set_cold_block(side);
        self.b.ins().brif(bad, side, &[], cont, &[]);
        // Blocks with all their predecessors known are sealed at once, which
        // keeps Cranelift's SSA construction from making needless block params.
        self.b.seal_block(side);
        self.b.seal_block(cont);
        self.b.switch_to_block(side);
        self.leave(pc, why, adj);
        self.b.switch_to_block(cont);
    }

    fn block(&mut self, region: &Region, i: usize, bl: &Block) {
        self.b.switch_to_block(self.blocks[i]);
        self.local = [None; 32];
        let n = bl.insts.len() as u64;
        if n == 0 {
            let pc = match bl.end {
                End::Fallback(pc) | End::Next(pc) => pc,
                End::Control => bl.start,
            };
            self.leave(pc, EXIT_INTERP, 0);
            return;
        }
        // The budget check (see `budget_checks`): the longest way to the
        // next check, or nothing.
        let left = self.b.use_var(self.budget);
        if let Some(need) = self.checks.get(i).copied().flatten() {
            let short = self
                .b
                .ins()
                .icmp_imm(IntCC::UnsignedLessThan, left, need as i64);
            self.leave_if(short, bl.start, EXIT_BUDGET, 0);
        }
        let rest = self.b.ins().iadd_imm(left, -(n as i64));
        self.b.def_var(self.budget, rest);

        let mut covered = vec![false; bl.insts.len()];
        for (k, d) in bl.insts.iter().enumerate() {
            let adj = n - k as u64;
            if !covered[k]
                && let Some(g) = mem_group(&bl.insts, k)
            {
                self.group_check(&g, d.pc, adj);
                for &j in &g.members {
                    covered[j] = true;
                }
            }
            self.covered = covered[k];
            self.inst(region, d, adj);
        }
        self.covered = false;
        match bl.end {
            End::Control => {}
            End::Fallback(pc) => self.leave(pc, EXIT_INTERP, 0),
            End::Next(pc) => self.goto(region, pc),
        }
    }

    /// The host address of an `n`-byte access at `rs1 + imm`, or a way out
    /// to the interpreter when the guest address is misaligned or not below
    /// `2^32` (this check is what keeps every access inside guest memory).
    fn mem_addr(&mut self, d: &Decoded, n: u64, adj: u64, store: bool) -> (Value, Value) {
        let base = self.get(d.inst.rs1);
        // (An AMO's address is `rs1` alone.)
        let offset = match amo_size(d.inst.op) {
            Some(_) => 0,
            None => d.inst.imm as i64,
        };
        let a = self.b.ins().iadd_imm(base, offset);
        if self.covered {
            let host = self.b.ins().iadd(self.mem, a);
            return (a, host);
        }
        // One compare for both: rotating the low log2(n) bits (which must
        // be zero) to the top leaves a value below 2^(32 - log2(n)) exactly
        // when the address is aligned and below 2^32 (a 64-bit mask would
        // need a constant of its own).
        let k = n.trailing_zeros() as i64;
        let mut bad = if k == 0 && !store {
            self.b.ins().ushr_imm(a, 32)
        } else if k == 0 {
            self.b
                .ins()
                .icmp_imm(IntCC::UnsignedGreaterThan, a, i64::from(u32::MAX))
        } else {
            let r = self.b.ins().rotr_imm(a, k);
            self.b
                .ins()
                .icmp_imm(IntCC::UnsignedGreaterThan, r, (1i64 << (32 - k)) - 1)
        };
        if store {
            // Near a protected range: the interpreter decides (a fault, or a
            // store into writable code that invalidates translations). One
            // exit for all the checks of a store (an exit each made three
            // blocks of their own per store, which the register allocator
            // pays for).
            let exec_in_ro = self.env.exec.0 >= self.env.ro.0
                && self.env.exec.0 + self.env.exec.1 <= self.env.ro.0 + self.env.ro.1;
            let ranges = [self.env.ro, self.env.exec];
            for (j, (lo, size)) in ranges.into_iter().enumerate() {
                if size == 0 || (j == 1 && exec_in_ro) {
                    continue;
                }
                let t = self.b.ins().iadd_imm(a, 8i64.wrapping_sub(lo as i64));
                let near = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::UnsignedLessThan, t, (size + 8) as i64);
                bad = self.b.ins().bor(bad, near);
            }
        }
        self.unless(bad, d.pc, adj);
        let host = self.b.ins().iadd(self.mem, a);
        (a, host)
    }

    /// The checks of [`Gen::mem_addr`] for a whole group at once, before
    /// its first access (at `pc`): where any fails, the region leaves
    /// before that access and the interpreter goes on from there.
    fn group_check(&mut self, g: &Group, pc: u64, adj: u64) {
        let base = self.get(g.base);
        let x = self.b.ins().iadd_imm(base, g.lo);
        // Every access inside [x, x + span), all of it below 2^32.
        let limit = ((1u64 << 32) - g.span) as i64;
        let mut bad = self.b.ins().icmp_imm(IntCC::UnsignedGreaterThan, x, limit);
        if g.align > 1 {
            // Offsets are multiples of their sizes: an aligned base
            // aligns them all.
            let low = self.b.ins().band_imm(base, (g.align - 1) as i64);
            let mis = self.b.ins().icmp_imm(IntCC::NotEqual, low, 0);
            bad = self.b.ins().bor(bad, mis);
        }
        if g.stores {
            // [x, x + span) meets [lo - 8, lo + size): x lies in
            // (lo - 8 - span, lo + size).
            let exec_in_ro = self.env.exec.0 >= self.env.ro.0
                && self.env.exec.0 + self.env.exec.1 <= self.env.ro.0 + self.env.ro.1;
            let ranges = [self.env.ro, self.env.exec];
            for (j, (lo, size)) in ranges.into_iter().enumerate() {
                if size == 0 || (j == 1 && exec_in_ro) {
                    continue;
                }
                let from = (g.span + 7).wrapping_sub(lo);
                let t = self.b.ins().iadd_imm(x, from as i64);
                let near =
                    self.b
                        .ins()
                        .icmp_imm(IntCC::UnsignedLessThan, t, (size + g.span + 7) as i64);
                bad = self.b.ins().bor(bad, near);
            }
        }
        self.unless(bad, pc, adj);
    }

    /// Marks the page of guest address `a` dirty, as `Memory::write` does:
    /// sets its bit and, the first time, logs the page (the page log joins
    /// the set's list when the call returns), with no call out of
    /// generated code (a call makes the register allocator save every live
    /// value around it).
    fn mark_dirty(&mut self, a: Value) {
        let t = MemFlags::trusted();
        let page = self.b.ins().ushr_imm(a, 12);
        let word = self.b.ins().ushr_imm(a, 18);
        let word = self.b.ins().ishl_imm(word, 3);
        let waddr = self.b.ins().iadd(self.bits, word);
        let w = self.b.ins().load(I64, t, waddr, 0);
        let one = self.c(1);
        let bit = self.b.ins().ishl(one, page);
        let set = self.b.ins().band(w, bit);
        let mark = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(mark);
        self.b.ins().brif(set, cont, &[], mark, &[]);
        self.b.seal_block(mark);
        self.b.switch_to_block(mark);
        let nw = self.b.ins().bor(w, bit);
        self.b.ins().store(t, nw, waddr, 0);
        let log = self.b.ins().load(I64, t, self.ctxp, off::LOG);
        let n = self.b.ins().load(I64, t, self.ctxp, off::LOG_LEN);
        let at = self.b.ins().ishl_imm(n, 2);
        let at = self.b.ins().iadd(log, at);
        self.b.ins().istore32(t, page, at, 0);
        let n = self.b.ins().iadd_imm(n, 1);
        self.b.ins().store(t, n, self.ctxp, off::LOG_LEN);
        self.b.ins().jump(cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }

    fn load(&mut self, d: &Decoded, adj: u64) {
        use Op::*;
        let n = match d.inst.op {
            Lb | Lbu => 1,
            Lh | Lhu => 2,
            Lw | Lwu => 4,
            _ => 8,
        };
        let (_, host) = self.mem_addr(d, n, adj, false);
        let f = MemFlags::new().with_notrap();
        let ins = self.b.ins();
        let v = match d.inst.op {
            Lb => ins.sload8(I64, f, host, 0),
            Lbu => ins.uload8(I64, f, host, 0),
            Lh => ins.sload16(I64, f, host, 0),
            Lhu => ins.uload16(I64, f, host, 0),
            Lw => ins.sload32(f, host, 0),
            Lwu => ins.uload32(f, host, 0),
            _ => ins.load(I64, f, host, 0),
        };
        self.set(d.inst.rd, v);
    }

    fn store(&mut self, d: &Decoded, adj: u64) {
        let n = match d.inst.op {
            Op::Sb => 1,
            Op::Sh => 2,
            Op::Sw => 4,
            _ => 8,
        };
        let (a, host) = self.mem_addr(d, n, adj, true);
        let v = self.get(d.inst.rs2);
        self.mark_dirty(a);
        let f = MemFlags::new().with_notrap();
        let ins = self.b.ins();
        match n {
            1 => ins.istore8(f, v, host, 0),
            2 => ins.istore16(f, v, host, 0),
            4 => ins.istore32(f, v, host, 0),
            _ => ins.store(f, v, host, 0),
        };
    }

    fn inst(&mut self, region: &Region, d: &Decoded, adj: u64) {
        use Op::*;
        let i = d.inst;
        let flawed = self.env.flaw == Some(d.pc);
        match i.op {
            Lui => {
                let v = self.c(i.imm as i64 as u64);
                self.set(i.rd, v);
            }
            Auipc => {
                let v = self.c(d.pc.wrapping_add(i.imm as i64 as u64));
                self.set(i.rd, v);
            }
            Jal => {
                let v = self.c(d.next_pc());
                self.set(i.rd, v);
                self.flaw_rd(flawed, i.rd);
                self.goto(region, d.target());
            }
            Jalr => {
                let base = self.get(i.rs1);
                let t = self.b.ins().iadd_imm(base, i.imm as i64);
                // Even, as the interpreter's: the dispatcher looks the target
                // up (a pc outside the executable range goes to the interpreter).
                let t = self.b.ins().band_imm(t, !1);
                let v = self.c(d.next_pc());
                self.set(i.rd, v);
                self.flaw_rd(flawed, i.rd);
                self.chain_dynamic(t);
            }
            Beq | Bne | Blt | Bge | Bltu | Bgeu => {
                let cc = match i.op {
                    Beq => IntCC::Equal,
                    Bne => IntCC::NotEqual,
                    Blt => IntCC::SignedLessThan,
                    Bge => IntCC::SignedGreaterThanOrEqual,
                    Bltu => IntCC::UnsignedLessThan,
                    _ => IntCC::UnsignedGreaterThanOrEqual,
                };
                let (a, b) = (self.get(i.rs1), self.get(i.rs2));
                let cond = self.b.ins().icmp(cc, a, b);
                let (taken, not_taken) = if flawed {
                    (d.next_pc(), d.target())
                } else {
                    (d.target(), d.next_pc())
                };
                let yes = self.b.create_block();
                let no = self.b.create_block();
                self.b.ins().brif(cond, yes, &[], no, &[]);
                self.b.seal_block(yes);
                self.b.seal_block(no);
                self.b.switch_to_block(yes);
                self.goto(region, taken);
                self.b.switch_to_block(no);
                self.goto(region, not_taken);
            }
            Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
                self.load(d, adj);
                self.flaw_rd(flawed, i.rd);
            }
            Sb | Sh | Sw | Sd => self.store(d, adj),
            _ if amo_size(i.op).is_some() => self.amo(d, adj),
            Fence => {}
            _ => {
                let a = self.get(i.rs1);
                let b = self.get(i.rs2);
                let v = self.alu(i.op, a, b, i.imm as i64);
                self.set(i.rd, v);
                self.flaw_rd(flawed, i.rd);
            }
        }
    }

    fn flaw_rd(&mut self, flawed: bool, rd: u8) {
        if flawed && rd != 0 && rd < 32 {
            let old = self
                .b
                .ins()
                .load(I64, MemFlags::trusted(), self.regs, 8 * rd as i32);
            let new = self.b.ins().iadd_imm(old, 1);
            self.set(rd, new);
        }
    }

    /// An AMO, as the interpreter does it (a single hart: read, compute,
    /// write, `rd` the old value, sign-extended for `.w`; the reservation
    /// untouched). A misaligned address or one the checks of a store refuse
    /// leaves for the interpreter, which faults or performs it.
    fn amo(&mut self, d: &Decoded, adj: u64) {
        use Op::*;
        let n = amo_size(d.inst.op).unwrap_or(8);
        let word = n == 4;
        let (a, host) = self.mem_addr(d, n, adj, true);
        let src = self.get(d.inst.rs2);
        let f = MemFlags::new().with_notrap();
        let old = if word {
            self.b.ins().sload32(f, host, 0)
        } else {
            self.b.ins().load(I64, f, host, 0)
        };
        // For `.w`, the compares see the low 32 bits (sign- or zero-extended);
        // only the low 32 bits of the result are stored.
        let b = &mut self.b;
        let (x, y) = match d.inst.op {
            AmominW | AmomaxW => {
                let y = b.ins().ireduce(I32, src);
                (old, b.ins().sextend(I64, y))
            }
            AmominuW | AmomaxuW => {
                let (x, y) = (b.ins().ireduce(I32, old), b.ins().ireduce(I32, src));
                (b.ins().uextend(I64, x), b.ins().uextend(I64, y))
            }
            _ => (old, src),
        };
        let ins = b.ins();
        let new = match d.inst.op {
            AmoswapW | AmoswapD => src,
            AmoaddW | AmoaddD => ins.iadd(old, src),
            AmoxorW | AmoxorD => ins.bxor(old, src),
            AmoandW | AmoandD => ins.band(old, src),
            AmoorW | AmoorD => ins.bor(old, src),
            AmominW | AmominD => ins.smin(x, y),
            AmomaxW | AmomaxD => ins.smax(x, y),
            AmominuW | AmominuD => ins.umin(x, y),
            _ => ins.umax(x, y),
        };
        self.mark_dirty(a);
        let ins = self.b.ins();
        if word {
            ins.istore32(f, new, host, 0);
        } else {
            ins.store(f, new, host, 0);
        }
        self.set(d.inst.rd, old);
    }

    /// The register-only operations, as in `fast::alu`.
    fn alu(&mut self, op: Op, a: Value, b: Value, imm: i64) -> Value {
        use Op::*;
        let sext = |g: &mut Self, v: Value| g.b.ins().sextend(I64, v);
        let w = |g: &mut Self, v: Value| g.b.ins().ireduce(I32, v);
        let bool64 = |g: &mut Self, c: Value| g.b.ins().uextend(I64, c);
        match op {
            Addi => self.b.ins().iadd_imm(a, imm),
            Slti => {
                let c = self.b.ins().icmp_imm(IntCC::SignedLessThan, a, imm);
                bool64(self, c)
            }
            Sltiu => {
                let c = self.b.ins().icmp_imm(IntCC::UnsignedLessThan, a, imm);
                bool64(self, c)
            }
            Xori => self.b.ins().bxor_imm(a, imm),
            Ori => self.b.ins().bor_imm(a, imm),
            Andi => self.b.ins().band_imm(a, imm),
            Slli => self.b.ins().ishl_imm(a, imm & 63),
            Srli => self.b.ins().ushr_imm(a, imm & 63),
            Srai => self.b.ins().sshr_imm(a, imm & 63),
            Add => self.b.ins().iadd(a, b),
            Sub => self.b.ins().isub(a, b),
            Sll => {
                let s = self.b.ins().band_imm(b, 63);
                self.b.ins().ishl(a, s)
            }
            Slt => {
                let c = self.b.ins().icmp(IntCC::SignedLessThan, a, b);
                bool64(self, c)
            }
            Sltu => {
                let c = self.b.ins().icmp(IntCC::UnsignedLessThan, a, b);
                bool64(self, c)
            }
            Xor => self.b.ins().bxor(a, b),
            Srl => {
                let s = self.b.ins().band_imm(b, 63);
                self.b.ins().ushr(a, s)
            }
            Sra => {
                let s = self.b.ins().band_imm(b, 63);
                self.b.ins().sshr(a, s)
            }
            Or => self.b.ins().bor(a, b),
            And => self.b.ins().band(a, b),
            Addiw => {
                let v = self.b.ins().iadd_imm(a, imm);
                let v = w(self, v);
                sext(self, v)
            }
            Slliw | Srliw | Sraiw => {
                let v = w(self, a);
                let s = imm & 31;
                let v = match op {
                    Slliw => self.b.ins().ishl_imm(v, s),
                    Srliw => self.b.ins().ushr_imm(v, s),
                    _ => self.b.ins().sshr_imm(v, s),
                };
                sext(self, v)
            }
            Addw | Subw | Mulw => {
                let v = match op {
                    Addw => self.b.ins().iadd(a, b),
                    Subw => self.b.ins().isub(a, b),
                    _ => self.b.ins().imul(a, b),
                };
                let v = w(self, v);
                sext(self, v)
            }
            Sllw | Srlw | Sraw => {
                let v = w(self, a);
                let s = w(self, b);
                let s = self.b.ins().band_imm(s, 31);
                let v = match op {
                    Sllw => self.b.ins().ishl(v, s),
                    Srlw => self.b.ins().ushr(v, s),
                    _ => self.b.ins().sshr(v, s),
                };
                sext(self, v)
            }
            Mul => self.b.ins().imul(a, b),
            Mulh => self.b.ins().smulhi(a, b),
            Mulhu => self.b.ins().umulhi(a, b),
            Mulhsu => {
                // a signed, b unsigned: mulhu(a, b) - (a < 0 ? b : 0).
                let hi = self.b.ins().umulhi(a, b);
                let neg = self.b.ins().sshr_imm(a, 63);
                let fix = self.b.ins().band(neg, b);
                self.b.ins().isub(hi, fix)
            }
            Div | Rem | Divu | Remu => self.div(op, a, b, I64),
            Divw | Remw | Divuw | Remuw => {
                let (a, b) = (w(self, a), w(self, b));
                let v = self.div(op, a, b, I32);
                sext(self, v)
            }
            _ => self.c(0),
        }
    }

    /// Division and remainder with RISC-V's results for a zero divisor and
    /// for overflow (the host instruction would trap on both).
    fn div(&mut self, op: Op, a: Value, b: Value, ty: cranelift_codegen::ir::Type) -> Value {
        use Op::*;
        let signed = matches!(op, Div | Rem | Divw | Remw);
        let rem = matches!(op, Rem | Remu | Remw | Remuw);
        let zero = self.b.ins().icmp_imm(IntCC::Equal, b, 0);
        let one = self.b.ins().iconst(ty, 1);
        let mut unsafe_divisor = zero;
        if signed {
            let min = if ty == I32 { i32::MIN as i64 } else { i64::MIN };
            let amin = self.b.ins().icmp_imm(IntCC::Equal, a, min);
            let bm1 = self.b.ins().icmp_imm(IntCC::Equal, b, -1);
            let ovf = self.b.ins().band(amin, bm1);
            unsafe_divisor = self.b.ins().bor(zero, ovf);
        }
        let d = self.b.ins().select(unsafe_divisor, one, b);
        let q = match (signed, rem) {
            (true, false) => self.b.ins().sdiv(a, d),
            (true, true) => self.b.ins().srem(a, d),
            (false, false) => self.b.ins().udiv(a, d),
            (false, true) => self.b.ins().urem(a, d),
        };
        let on_zero = if rem { a } else { self.b.ins().iconst(ty, -1) };
        self.b.ins().select(zero, on_zero, q)
    }
}

#[cfg(test)]
mod tests {
    use super::budget_checks;
    use crate::fast::jit::region::{CodeRange, discover};
    use crate::fast::jit::self_test_state;
    use crate::layout::ctrl;

    #[test]
    fn the_budget_is_checked_at_the_entry_and_the_loop_head_for_the_longest_way() {
        // The self-test's program: 3 set-up instructions, a 12-instruction
        // loop (`mul` .. `bne` back to `mul`), then `addi; ecall`.
        let s = self_test_state();
        let w = s.ctrl_words();
        let code = CodeRange {
            lo: w[(ctrl::EXEC_LO / 8) as usize],
            size: w[(ctrl::EXEC_SIZE / 8) as usize],
        };
        let region = discover(&s, code, code.lo, &|_, _| true).expect("a region");
        let at = |pc: u64| region.index[&pc];
        let (entry, head, tail) = (at(0x1000), at(0x100c), at(0x103c));
        assert_eq!(region.blocks.len(), 3);
        let checks = budget_checks(&region);
        // The entry's block (set-up and one pass of the loop, 15), then the
        // exit's `addi` (1); the loop head is a check of its own.
        assert_eq!(checks[entry], Some(16));
        // One more pass (12), then the exit's `addi` (1).
        assert_eq!(checks[head], Some(13));
        // Reached from checked blocks only, never a loop head: no check.
        assert_eq!(checks[tail], None);
    }
}
