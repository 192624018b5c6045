//! Regions: the guest code one translation covers, found from an entry pc
//! by following fall-through, branch and `jal` targets.
//!
//! A region is a set of basic blocks over *decoded instructions with an
//! explicit length*: every pc computation uses `len`, so compressed (2-byte)
//! instructions are translated like the 32-bit ones they expand to. Whatever [`fetch`] does not
//! translate ends a block before it, and the run leaves generated code
//! there for the interpreter.

use crate::fast::isa::{Inst, Op, decode};
use crate::state::State;
use std::collections::{HashMap, VecDeque};

/// The most instructions in one region (bounds translation time: with
/// 1,024 instructions and blocks of 128, the C `sha256` guest's 472
/// instructions took 34 ms to translate, with 256 and 64 its 561 took 13 ms;
/// `rust_sha256` and `keccak` cost the same per instruction either way).
pub const MAX_REGION_INSTS: usize = 256;
/// The most instructions in one block (a longer run of straight-line code
/// continues in the next block).
pub const MAX_BLOCK_INSTS: usize = 64;

/// An instruction with its address and length.
#[derive(Clone, Copy, Debug)]
pub struct Decoded {
    /// Its address.
    pub pc: u64,
    /// Its length in bytes.
    pub len: u64,
    /// The decoded instruction.
    pub inst: Inst,
}

impl Decoded {
    /// The address of the next instruction in sequence.
    pub fn next_pc(&self) -> u64 {
        self.pc.wrapping_add(self.len)
    }

    /// The target of a direct branch or `jal`.
    pub fn target(&self) -> u64 {
        self.pc.wrapping_add(self.inst.imm as i64 as u64)
    }
}

/// How a block ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// With its last instruction, a branch, `jal` or `jalr`.
    Control,
    /// Before the instruction at this pc, which the interpreter executes.
    Fallback(u64),
    /// Going on at this pc (the block reached its length limit).
    Next(u64),
}

/// A basic block.
#[derive(Clone, Debug)]
pub struct Block {
    /// Its first instruction's pc.
    pub start: u64,
    /// The instructions (possibly none: then `end` is a fallback at `start`).
    pub insts: Vec<Decoded>,
    /// How it ends.
    pub end: End,
}

/// A region: its blocks, the first one at the entry.
#[derive(Clone, Debug)]
pub struct Region {
    /// The blocks; `blocks[0]` starts at the entry.
    pub blocks: Vec<Block>,
    /// Block index by start pc.
    pub index: HashMap<u64, usize>,
    /// Blocks the region would have taken in but for its size limit: the
    /// code goes on there when it leaves the region, so they are as hot
    /// as the region.
    pub cut: Vec<u64>,
}

/// Where guest code may be fetched from and translated.
#[derive(Clone, Copy, Debug)]
pub struct CodeRange {
    /// Start of the executable range.
    pub lo: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// Whether the JIT translates `op` (anything else ends a block and runs in
/// the interpreter: system calls, faults, and any operation added to the
/// ISA table later until it is taught here).
pub fn translated(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Lui | Auipc
            | Jal
            | Jalr
            | Beq
            | Bne
            | Blt
            | Bge
            | Bltu
            | Bgeu
            | Lb
            | Lh
            | Lw
            | Ld
            | Lbu
            | Lhu
            | Lwu
            | Sb
            | Sh
            | Sw
            | Sd
            | Addi
            | Slti
            | Sltiu
            | Xori
            | Ori
            | Andi
            | Slli
            | Srli
            | Srai
            | Add
            | Sub
            | Sll
            | Slt
            | Sltu
            | Xor
            | Srl
            | Sra
            | Or
            | And
            | Addiw
            | Slliw
            | Srliw
            | Sraiw
            | Addw
            | Subw
            | Sllw
            | Srlw
            | Sraw
            | Mul
            | Mulh
            | Mulhsu
            | Mulhu
            | Div
            | Divu
            | Rem
            | Remu
            | Mulw
            | Divw
            | Divuw
            | Remw
            | Remuw
            | Fence
    ) || amo_size(op).is_some()
}

/// The size in bytes of an AMO's access (`amo*.w` 4, `amo*.d` 8), `None`
/// for any other operation (LR/SC are not translated).
pub fn amo_size(op: Op) -> Option<u64> {
    use Op::*;
    match op {
        AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmominW | AmomaxW | AmominuW
        | AmomaxuW => Some(4),
        AmoswapD | AmoaddD | AmoxorD | AmoandD | AmoorD | AmominD | AmomaxD | AmominuD
        | AmomaxuD => Some(8),
        _ => None,
    }
}

/// Whether `op` ends a block (it is included as the block's last instruction).
pub fn is_control(op: Op) -> bool {
    matches!(
        op,
        Op::Jal | Op::Jalr | Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
    )
}

/// The instruction at `pc` if the JIT translates it: a 32-bit or
/// compressed instruction at an even pc, fetched as the interpreter fetches
/// it ([`crate::fast::fetch()`], compressed encodings expanded by the
/// decoder), wholly inside the executable range, whose operation is
/// [`translated`]. Anything else (an odd pc, an instruction reaching past
/// the range) is left to the interpreter, which faults or executes it.
pub fn fetch(state: &State, code: CodeRange, pc: u64) -> Option<Decoded> {
    let off = pc.wrapping_sub(code.lo);
    if pc & 1 != 0 || off >= code.size {
        return None;
    }
    let inst = decode(crate::fast::fetch::fetch(state, pc)?);
    let len = inst.len as u64;
    if code.size - off < len || !translated(inst.op) {
        return None;
    }
    Some(Decoded { pc, len, inst })
}

/// The successors of a block that may join the region (the pcs it goes on
/// to by fall-through, branch or `jal`), each with whether it is the
/// straight-line continuation of a block cut at its length limit (it runs
/// whenever that block runs to its end).
pub fn successors(b: &Block) -> Vec<(u64, bool)> {
    match (b.end, b.insts.last()) {
        (End::Next(pc), _) => vec![(pc, true)],
        (End::Control, Some(d)) => match d.inst.op {
            Op::Jal => vec![(d.target(), false)],
            Op::Jalr => vec![],
            _ => vec![(d.next_pc(), false), (d.target(), false)],
        },
        _ => vec![],
    }
}

/// The block starting at `pc`.
fn block_at(state: &State, code: CodeRange, pc: u64, room: usize) -> Block {
    let mut insts = Vec::new();
    let mut at = pc;
    loop {
        if insts.len() >= room.min(MAX_BLOCK_INSTS) {
            return Block {
                start: pc,
                insts,
                end: End::Next(at),
            };
        }
        let Some(d) = fetch(state, code, at) else {
            return Block {
                start: pc,
                insts,
                end: End::Fallback(at),
            };
        };
        insts.push(d);
        if is_control(d.inst.op) {
            return Block {
                start: pc,
                insts,
                end: End::Control,
            };
        }
        at = d.next_pc();
    }
}

/// The region reachable from `entry` (breadth first, at most
/// [`MAX_REGION_INSTS`] instructions) through blocks whose start `include`
/// accepts (given the start and whether it continues a block cut at its
/// length limit; the entry is always in), or `None` if the instruction at
/// `entry` is not translated.
pub fn discover(
    state: &State,
    code: CodeRange,
    entry: u64,
    include: &dyn Fn(u64, bool) -> bool,
) -> Option<Region> {
    fetch(state, code, entry)?;
    let mut region = Region {
        blocks: Vec::new(),
        index: HashMap::new(),
        cut: Vec::new(),
    };
    let mut total = 0usize;
    let mut queue = VecDeque::from([(entry, false)]);
    while let Some((pc, cont)) = queue.pop_front() {
        if region.index.contains_key(&pc) || (pc != entry && !include(pc, cont)) {
            continue;
        }
        if total >= MAX_REGION_INSTS {
            if !region.cut.contains(&pc) {
                region.cut.push(pc);
            }
            continue;
        }
        let b = block_at(state, code, pc, MAX_REGION_INSTS - total);
        total += b.insts.len().max(1);
        queue.extend(successors(&b));
        region.index.insert(pc, region.blocks.len());
        region.blocks.push(b);
    }
    Some(region)
}
