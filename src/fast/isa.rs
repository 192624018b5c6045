//! The RV64IMAC instruction set (plus `fence.i`), declared once: every
//! 32-bit instruction's mask, match value and operand format is one row of
//! [`TABLE`], and every compressed (RVC) instruction's mask, match value and
//! 32-bit expansion is one row of [`RVC_TABLE`]. The [`Op`] enum, the
//! decoder and the disassembler are generated from them.
//!
//! A compressed instruction executes exactly as its 32-bit expansion, except
//! that it is 2 bytes long (so `pc` advances by 2 and `jal`/`jalr` link
//! `pc + 2`). Reserved compressed encodings (and the floating-point ones)
//! are illegal instructions whose `tval` is the 16-bit word.

/// How an instruction's operands are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rd, rs1, rs2.
    R,
    /// rd, rs1, 12-bit signed immediate.
    I,
    /// rd, rs1, shift amount in bits 20..26 (RV64 shifts).
    Sh6,
    /// rd, rs1, shift amount in bits 20..25 (W shifts).
    Sh5,
    /// rs1, rs2, 12-bit signed store offset.
    S,
    /// rs1, rs2, 13-bit signed branch offset.
    B,
    /// rd, 20-bit upper immediate.
    U,
    /// rd, 21-bit signed jump offset.
    J,
    /// No operands.
    N,
}

macro_rules! isa {
    ($( $op:ident $name:literal $mask:literal $match_:literal $fmt:ident ;)*) => {
        /// One RV64IMAC operation (one row of the ISA table).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Op {
            $(
                #[doc = $name]
                $op,
            )*
            /// Not an RV64IMAC instruction.
            Illegal,
            /// A 32-bit instruction whose second half lies outside the
            /// executable range (made by the fetch, never by [`decode`]).
            FetchFault,
            /// A slot of the interpreter's code cache not decoded yet (made
            /// by the cache, never by [`decode`]): the interpreter decodes
            /// an instruction the first time it runs, so that a short run
            /// of a large program does not pay for decoding all of it.
            Undecoded,
        }

        /// The ISA table: `(op, mnemonic, mask, match, format)`.
        pub const TABLE: &[(Op, &str, u32, u32, Format)] = &[
            $( (Op::$op, $name, $mask, $match_, Format::$fmt), )*
        ];
    };
}

isa! {
    Lui    "lui"    0x0000007f 0x00000037 U;
    Auipc  "auipc"  0x0000007f 0x00000017 U;
    Jal    "jal"    0x0000007f 0x0000006f J;
    Jalr   "jalr"   0x0000707f 0x00000067 I;
    Beq    "beq"    0x0000707f 0x00000063 B;
    Bne    "bne"    0x0000707f 0x00001063 B;
    Blt    "blt"    0x0000707f 0x00004063 B;
    Bge    "bge"    0x0000707f 0x00005063 B;
    Bltu   "bltu"   0x0000707f 0x00006063 B;
    Bgeu   "bgeu"   0x0000707f 0x00007063 B;
    Lb     "lb"     0x0000707f 0x00000003 I;
    Lh     "lh"     0x0000707f 0x00001003 I;
    Lw     "lw"     0x0000707f 0x00002003 I;
    Ld     "ld"     0x0000707f 0x00003003 I;
    Lbu    "lbu"    0x0000707f 0x00004003 I;
    Lhu    "lhu"    0x0000707f 0x00005003 I;
    Lwu    "lwu"    0x0000707f 0x00006003 I;
    Sb     "sb"     0x0000707f 0x00000023 S;
    Sh     "sh"     0x0000707f 0x00001023 S;
    Sw     "sw"     0x0000707f 0x00002023 S;
    Sd     "sd"     0x0000707f 0x00003023 S;
    Addi   "addi"   0x0000707f 0x00000013 I;
    Slti   "slti"   0x0000707f 0x00002013 I;
    Sltiu  "sltiu"  0x0000707f 0x00003013 I;
    Xori   "xori"   0x0000707f 0x00004013 I;
    Ori    "ori"    0x0000707f 0x00006013 I;
    Andi   "andi"   0x0000707f 0x00007013 I;
    Slli   "slli"   0xfc00707f 0x00001013 Sh6;
    Srli   "srli"   0xfc00707f 0x00005013 Sh6;
    Srai   "srai"   0xfc00707f 0x40005013 Sh6;
    Add    "add"    0xfe00707f 0x00000033 R;
    Sub    "sub"    0xfe00707f 0x40000033 R;
    Sll    "sll"    0xfe00707f 0x00001033 R;
    Slt    "slt"    0xfe00707f 0x00002033 R;
    Sltu   "sltu"   0xfe00707f 0x00003033 R;
    Xor    "xor"    0xfe00707f 0x00004033 R;
    Srl    "srl"    0xfe00707f 0x00005033 R;
    Sra    "sra"    0xfe00707f 0x40005033 R;
    Or     "or"     0xfe00707f 0x00006033 R;
    And    "and"    0xfe00707f 0x00007033 R;
    Addiw  "addiw"  0x0000707f 0x0000001b I;
    Slliw  "slliw"  0xfe00707f 0x0000101b Sh5;
    Srliw  "srliw"  0xfe00707f 0x0000501b Sh5;
    Sraiw  "sraiw"  0xfe00707f 0x4000501b Sh5;
    Addw   "addw"   0xfe00707f 0x0000003b R;
    Subw   "subw"   0xfe00707f 0x4000003b R;
    Sllw   "sllw"   0xfe00707f 0x0000103b R;
    Srlw   "srlw"   0xfe00707f 0x0000503b R;
    Sraw   "sraw"   0xfe00707f 0x4000503b R;
    Mul    "mul"    0xfe00707f 0x02000033 R;
    Mulh   "mulh"   0xfe00707f 0x02001033 R;
    Mulhsu "mulhsu" 0xfe00707f 0x02002033 R;
    Mulhu  "mulhu"  0xfe00707f 0x02003033 R;
    Div    "div"    0xfe00707f 0x02004033 R;
    Divu   "divu"   0xfe00707f 0x02005033 R;
    Rem    "rem"    0xfe00707f 0x02006033 R;
    Remu   "remu"   0xfe00707f 0x02007033 R;
    Mulw   "mulw"   0xfe00707f 0x0200003b R;
    Divw   "divw"   0xfe00707f 0x0200403b R;
    Divuw  "divuw"  0xfe00707f 0x0200503b R;
    Remw   "remw"   0xfe00707f 0x0200603b R;
    Remuw  "remuw"  0xfe00707f 0x0200703b R;
    Fence  "fence"  0x0000707f 0x0000000f N;
    FenceI "fence.i" 0x0000707f 0x0000100f N;
    Ecall  "ecall"  0xffffffff 0x00000073 N;
    Ebreak "ebreak" 0xffffffff 0x00100073 N;
    LrW      "lr.w"      0xf9f0707f 0x1000202f R;
    ScW      "sc.w"      0xf800707f 0x1800202f R;
    AmoswapW "amoswap.w" 0xf800707f 0x0800202f R;
    AmoaddW  "amoadd.w"  0xf800707f 0x0000202f R;
    AmoxorW  "amoxor.w"  0xf800707f 0x2000202f R;
    AmoandW  "amoand.w"  0xf800707f 0x6000202f R;
    AmoorW   "amoor.w"   0xf800707f 0x4000202f R;
    AmominW  "amomin.w"  0xf800707f 0x8000202f R;
    AmomaxW  "amomax.w"  0xf800707f 0xa000202f R;
    AmominuW "amominu.w" 0xf800707f 0xc000202f R;
    AmomaxuW "amomaxu.w" 0xf800707f 0xe000202f R;
    LrD      "lr.d"      0xf9f0707f 0x1000302f R;
    ScD      "sc.d"      0xf800707f 0x1800302f R;
    AmoswapD "amoswap.d" 0xf800707f 0x0800302f R;
    AmoaddD  "amoadd.d"  0xf800707f 0x0000302f R;
    AmoxorD  "amoxor.d"  0xf800707f 0x2000302f R;
    AmoandD  "amoand.d"  0xf800707f 0x6000302f R;
    AmoorD   "amoor.d"   0xf800707f 0x4000302f R;
    AmominD  "amomin.d"  0xf800707f 0x8000302f R;
    AmomaxD  "amomax.d"  0xf800707f 0xa000302f R;
    AmominuD "amominu.d" 0xf800707f 0xc000302f R;
    AmomaxuD "amomaxu.d" 0xf800707f 0xe000302f R;
}

/// How a compressed instruction expands to its 32-bit equivalent. The
/// names follow the RVC chapter of the RISC-V specification: `rd'`, `rs1'`,
/// `rs2'` are the 3-bit register fields naming `x8..x15`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expand {
    /// `addi rd', x2, nzuimm` (reserved if `nzuimm == 0`).
    Addi4spn,
    /// `lw rd', off(rs1')`, `off = uimm[6:2]`.
    Lw,
    /// `ld rd', off(rs1')`, `off = uimm[7:3]`.
    Ld,
    /// `sw rs2', off(rs1')`.
    Sw,
    /// `sd rs2', off(rs1')`.
    Sd,
    /// `addi rd, rd, imm6` (`c.nop` and the hints included).
    Addi,
    /// `addiw rd, rd, imm6` (reserved if `rd == 0`).
    Addiw,
    /// `addi rd, x0, imm6`.
    Li,
    /// `addi x2, x2, nzimm[9:4]` (reserved if `nzimm == 0`).
    Addi16sp,
    /// `lui rd, nzimm[17:12]` (reserved if `nzimm == 0`).
    Lui,
    /// `srli rd', rd', shamt6`.
    Srli,
    /// `srai rd', rd', shamt6`.
    Srai,
    /// `andi rd', rd', imm6`.
    Andi,
    /// `OP rd', rd', rs2'` with the 32-bit instruction's funct7/funct3/opcode.
    Arith(u32),
    /// `jal x0, off[11:1]`.
    J,
    /// `beq rs1', x0, off[8:1]`.
    Beqz,
    /// `bne rs1', x0, off[8:1]`.
    Bnez,
    /// `slli rd, rd, shamt6`.
    Slli,
    /// `lw rd, off(x2)` (reserved if `rd == 0`).
    Lwsp,
    /// `ld rd, off(x2)` (reserved if `rd == 0`).
    Ldsp,
    /// `jalr x0, 0(rs1)` (reserved if `rs1 == 0`).
    Jr,
    /// `add rd, x0, rs2`.
    Mv,
    /// `ebreak`.
    Ebreak,
    /// `jalr x1, 0(rs1)`.
    Jalr,
    /// `add rd, rd, rs2`.
    Add,
    /// `sw rs2, off(x2)`.
    Swsp,
    /// `sd rs2, off(x2)`.
    Sdsp,
}

/// The RVC table: `(mnemonic, mask, match, expansion)`. Rows are tried in
/// order and the first match wins (`c.addi16sp` before `c.lui`, `c.jr`
/// before `c.mv`, `c.ebreak` before `c.jalr` before `c.add`); a 16-bit
/// word that matches no row (the floating-point loads and stores, the
/// reserved quadrant-0 and `c.subw`-group slots) is illegal.
pub const RVC_TABLE: &[(&str, u16, u16, Expand)] = &[
    ("c.addi4spn", 0xe003, 0x0000, Expand::Addi4spn),
    ("c.lw", 0xe003, 0x4000, Expand::Lw),
    ("c.ld", 0xe003, 0x6000, Expand::Ld),
    ("c.sw", 0xe003, 0xc000, Expand::Sw),
    ("c.sd", 0xe003, 0xe000, Expand::Sd),
    ("c.addi", 0xe003, 0x0001, Expand::Addi),
    ("c.addiw", 0xe003, 0x2001, Expand::Addiw),
    ("c.li", 0xe003, 0x4001, Expand::Li),
    ("c.addi16sp", 0xef83, 0x6101, Expand::Addi16sp),
    ("c.lui", 0xe003, 0x6001, Expand::Lui),
    ("c.srli", 0xec03, 0x8001, Expand::Srli),
    ("c.srai", 0xec03, 0x8401, Expand::Srai),
    ("c.andi", 0xec03, 0x8801, Expand::Andi),
    ("c.sub", 0xfc63, 0x8c01, Expand::Arith(0x4000_0033)),
    ("c.xor", 0xfc63, 0x8c21, Expand::Arith(0x0000_4033)),
    ("c.or", 0xfc63, 0x8c41, Expand::Arith(0x0000_6033)),
    ("c.and", 0xfc63, 0x8c61, Expand::Arith(0x0000_7033)),
    ("c.subw", 0xfc63, 0x9c01, Expand::Arith(0x4000_003b)),
    ("c.addw", 0xfc63, 0x9c21, Expand::Arith(0x0000_003b)),
    ("c.j", 0xe003, 0xa001, Expand::J),
    ("c.beqz", 0xe003, 0xc001, Expand::Beqz),
    ("c.bnez", 0xe003, 0xe001, Expand::Bnez),
    ("c.slli", 0xe003, 0x0002, Expand::Slli),
    ("c.lwsp", 0xe003, 0x4002, Expand::Lwsp),
    ("c.ldsp", 0xe003, 0x6002, Expand::Ldsp),
    ("c.jr", 0xf07f, 0x8002, Expand::Jr),
    ("c.mv", 0xf003, 0x8002, Expand::Mv),
    ("c.ebreak", 0xffff, 0x9002, Expand::Ebreak),
    ("c.jalr", 0xf07f, 0x9002, Expand::Jalr),
    ("c.add", 0xf003, 0x9002, Expand::Add),
    ("c.swsp", 0xe003, 0xc002, Expand::Swsp),
    ("c.sdsp", 0xe003, 0xe002, Expand::Sdsp),
];

/// Bits `lo .. lo + n` of `h`, placed at bit `at`.
fn bits(h: u32, lo: u32, n: u32, at: u32) -> u32 {
    ((h >> lo) & ((1 << n) - 1)) << at
}

/// 32-bit encoders for the expansions.
fn i_type(imm: i32, rs1: u32, f3: u32, rd: u32, opcode: u32) -> u32 {
    ((imm as u32) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode
}
fn s_type(imm: u32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23
}
fn b_type(imm: i32, rs1: u32, f3: u32) -> u32 {
    let i = imm as u32;
    (bits(i, 12, 1, 31) | bits(i, 5, 6, 25) | bits(i, 1, 4, 8) | bits(i, 11, 1, 7))
        | (rs1 << 15)
        | (f3 << 12)
        | 0x63
}
fn j_type(imm: i32, rd: u32) -> u32 {
    let i = imm as u32;
    bits(i, 20, 1, 31)
        | bits(i, 1, 10, 21)
        | bits(i, 11, 1, 20)
        | bits(i, 12, 8, 12)
        | (rd << 7)
        | 0x6f
}

/// The 32-bit expansion of the compressed instruction `h` with table row
/// `e`, or `None` for a reserved encoding.
pub fn expand(h: u16, e: Expand) -> Option<u32> {
    let h = h as u32;
    let rd = bits(h, 7, 5, 0); // also rs1 of the CI/CR formats
    let rs2 = bits(h, 2, 5, 0);
    let rdp = 8 + bits(h, 2, 3, 0); // rd' / rs2' at bits 4:2
    let rs1p = 8 + bits(h, 7, 3, 0); // rs1' at bits 9:7
    let imm6 = sext(bits(h, 12, 1, 5) | bits(h, 2, 5, 0), 6);
    let shamt = bits(h, 12, 1, 5) | bits(h, 2, 5, 0);
    let off_w = bits(h, 10, 3, 3) | bits(h, 6, 1, 2) | bits(h, 5, 1, 6);
    let off_d = bits(h, 10, 3, 3) | bits(h, 5, 2, 6);
    Some(match e {
        Expand::Addi4spn => {
            let imm = bits(h, 11, 2, 4) | bits(h, 7, 4, 6) | bits(h, 6, 1, 2) | bits(h, 5, 1, 3);
            if imm == 0 {
                return None;
            }
            i_type(imm as i32, 2, 0, rdp, 0x13)
        }
        Expand::Lw => i_type(off_w as i32, rs1p, 2, rdp, 0x03),
        Expand::Ld => i_type(off_d as i32, rs1p, 3, rdp, 0x03),
        Expand::Sw => s_type(off_w, rdp, rs1p, 2),
        Expand::Sd => s_type(off_d, rdp, rs1p, 3),
        Expand::Addi => i_type(imm6, rd, 0, rd, 0x13),
        Expand::Addiw if rd == 0 => return None,
        Expand::Addiw => i_type(imm6, rd, 0, rd, 0x1b),
        Expand::Li => i_type(imm6, 0, 0, rd, 0x13),
        Expand::Addi16sp => {
            let imm = sext(
                bits(h, 12, 1, 9)
                    | bits(h, 6, 1, 4)
                    | bits(h, 5, 1, 6)
                    | bits(h, 3, 2, 7)
                    | bits(h, 2, 1, 5),
                10,
            );
            if imm == 0 {
                return None;
            }
            i_type(imm, 2, 0, 2, 0x13)
        }
        Expand::Lui if imm6 == 0 => return None,
        Expand::Lui => (((imm6 as u32) & 0xfffff) << 12) | (rd << 7) | 0x37,
        Expand::Srli => i_type(shamt as i32, rs1p, 5, rs1p, 0x13),
        Expand::Srai => i_type((shamt | 0x400) as i32, rs1p, 5, rs1p, 0x13),
        Expand::Andi => i_type(imm6, rs1p, 7, rs1p, 0x13),
        Expand::Arith(base) => base | (rdp << 20) | (rs1p << 15) | (rs1p << 7),
        Expand::J => j_type(
            sext(
                bits(h, 12, 1, 11)
                    | bits(h, 11, 1, 4)
                    | bits(h, 9, 2, 8)
                    | bits(h, 8, 1, 10)
                    | bits(h, 7, 1, 6)
                    | bits(h, 6, 1, 7)
                    | bits(h, 3, 3, 1)
                    | bits(h, 2, 1, 5),
                12,
            ),
            0,
        ),
        Expand::Beqz | Expand::Bnez => b_type(
            sext(
                bits(h, 12, 1, 8)
                    | bits(h, 10, 2, 3)
                    | bits(h, 5, 2, 6)
                    | bits(h, 3, 2, 1)
                    | bits(h, 2, 1, 5),
                9,
            ),
            rs1p,
            if e == Expand::Beqz { 0 } else { 1 },
        ),
        Expand::Slli => i_type(shamt as i32, rd, 1, rd, 0x13),
        Expand::Lwsp | Expand::Ldsp if rd == 0 => return None,
        Expand::Lwsp => i_type(
            (bits(h, 12, 1, 5) | bits(h, 4, 3, 2) | bits(h, 2, 2, 6)) as i32,
            2,
            2,
            rd,
            0x03,
        ),
        Expand::Ldsp => i_type(
            (bits(h, 12, 1, 5) | bits(h, 5, 2, 3) | bits(h, 2, 3, 6)) as i32,
            2,
            3,
            rd,
            0x03,
        ),
        Expand::Jr if rd == 0 => return None,
        Expand::Jr => i_type(0, rd, 0, 0, 0x67),
        Expand::Mv => (rs2 << 20) | (rd << 7) | 0x33,
        Expand::Ebreak => 0x0010_0073,
        Expand::Jalr => i_type(0, rd, 0, 1, 0x67),
        Expand::Add => (rs2 << 20) | (rd << 15) | (rd << 7) | 0x33,
        Expand::Swsp => s_type(bits(h, 9, 4, 2) | bits(h, 7, 2, 6), rs2, 2, 2),
        Expand::Sdsp => s_type(bits(h, 10, 3, 3) | bits(h, 7, 3, 6), rs2, 2, 3),
    })
}

/// The RVC row of the 16-bit word `h` and its expansion (`None` if `h` is
/// illegal, including a reserved encoding of a known row).
pub fn lookup_rvc(h: u16) -> Option<(&'static str, u32)> {
    let &(name, _, _, e) = RVC_TABLE.iter().find(|r| h & r.1 == r.2)?;
    expand(h, e).map(|w| (name, w))
}

/// Whether the instruction whose first halfword is `h` is 32 bits long
/// (low two bits `11`); otherwise it is a 16-bit compressed instruction.
#[inline(always)]
pub fn is_long(h: u16) -> bool {
    h & 3 == 3
}

/// A decoded instruction. Writes to `x0` are redirected to the scratch
/// register 32, so handlers never test `rd == 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inst {
    /// The operation.
    pub op: Op,
    /// Destination register (1..31, or 32 for `x0`).
    pub rd: u8,
    /// First source register.
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// Immediate (sign-extended), shift amount, or the raw word for `Illegal`.
    pub imm: i32,
    /// Length in bytes: 4, or 2 for a compressed instruction.
    pub len: u8,
}

/// Index of the scratch register that absorbs writes to `x0`.
pub const SCRATCH: u8 = 32;

fn sext(v: u32, bits: u32) -> i32 {
    ((v << (32 - bits)) as i32) >> (32 - bits)
}

/// The immediate of `word` in format `fmt`.
pub fn immediate(word: u32, fmt: Format) -> i32 {
    match fmt {
        Format::I => (word as i32) >> 20,
        Format::Sh6 => ((word >> 20) & 0x3f) as i32,
        Format::Sh5 => ((word >> 20) & 0x1f) as i32,
        Format::S => ((word as i32) >> 20 & !0x1f) | ((word >> 7) & 0x1f) as i32,
        Format::B => sext(
            ((word >> 31) << 12)
                | (((word >> 7) & 1) << 11)
                | (((word >> 25) & 0x3f) << 5)
                | (((word >> 8) & 0xf) << 1),
            13,
        ),
        Format::U => (word & 0xffff_f000) as i32,
        Format::J => sext(
            ((word >> 31) << 20)
                | (((word >> 12) & 0xff) << 12)
                | (((word >> 20) & 1) << 11)
                | (((word >> 21) & 0x3ff) << 1),
            21,
        ),
        Format::R | Format::N => 0,
    }
}

/// The operation and format of `word` (the first matching table row).
pub fn lookup(word: u32) -> Option<(Op, &'static str, Format)> {
    // Rows are tried in order; the opcode-indexed buckets keep it short.
    static BUCKETS: std::sync::OnceLock<Vec<Vec<usize>>> = std::sync::OnceLock::new();
    let buckets = BUCKETS.get_or_init(|| {
        let mut b = vec![Vec::new(); 128];
        for (i, row) in TABLE.iter().enumerate() {
            b[(row.3 & 0x7f) as usize].push(i);
        }
        b
    });
    buckets
        .get((word & 0x7f) as usize)?
        .iter()
        .filter_map(|&i| TABLE.get(i))
        .find(|row| word & row.2 == row.3)
        .map(|row| (row.0, row.1, row.4))
}

/// Decodes one instruction: a 32-bit instruction if the low two bits of
/// `word` are `11`, else the compressed instruction in its low 16 bits
/// (the high 16 bits are then ignored).
pub fn decode(word: u32) -> Inst {
    if !is_long(word as u16) {
        let h = word as u16;
        return match lookup_rvc(h) {
            Some((_, w)) => Inst {
                len: 2,
                ..decode32(w)
            },
            None => Inst {
                len: 2,
                ..illegal(h as u32)
            },
        };
    }
    decode32(word)
}

fn illegal(word: u32) -> Inst {
    Inst {
        op: Op::Illegal,
        rd: SCRATCH,
        rs1: 0,
        rs2: 0,
        imm: word as i32,
        len: 4,
    }
}

/// Decodes one 32-bit instruction word.
fn decode32(word: u32) -> Inst {
    match lookup(word) {
        None => illegal(word),
        Some((op, _, fmt)) => {
            let rd = ((word >> 7) & 31) as u8;
            let writes_rd = matches!(
                fmt,
                Format::R | Format::I | Format::Sh6 | Format::Sh5 | Format::U | Format::J
            );
            Inst {
                op,
                rd: if rd == 0 || !writes_rd { SCRATCH } else { rd },
                rs1: ((word >> 15) & 31) as u8,
                rs2: ((word >> 20) & 31) as u8,
                imm: immediate(word, fmt),
                len: 4,
            }
        }
    }
}

/// Instruction classes for statistics: one per [`TABLE`] row, one per
/// [`RVC_TABLE`] row, then "illegal".
pub const CLASSES: usize = TABLE.len() + RVC_TABLE.len() + 1;

/// The class of an instruction (see [`CLASSES`]).
pub fn class(word: u32) -> usize {
    if is_long(word as u16) {
        let Some((op, _, _)) = lookup(word) else {
            return CLASSES - 1;
        };
        TABLE.iter().position(|r| r.0 == op).unwrap_or(CLASSES - 1)
    } else {
        let h = word as u16;
        match RVC_TABLE.iter().position(|r| h & r.1 == r.2) {
            Some(i) if lookup_rvc(h).is_some() => TABLE.len() + i,
            _ => CLASSES - 1,
        }
    }
}

/// The mnemonic of a class.
pub fn class_name(i: usize) -> &'static str {
    TABLE
        .get(i)
        .map(|r| r.1)
        .or_else(|| RVC_TABLE.get(i.wrapping_sub(TABLE.len())).map(|r| r.0))
        .unwrap_or("illegal")
}

/// A one-line disassembly of `word`, e.g. `addi x10, x0, 5`; a compressed
/// instruction (low two bits not `11`) shows with its expansion, e.g.
/// `c.li (addi x10, x0, 0)`.
pub fn disassemble(word: u32) -> String {
    if !is_long(word as u16) {
        let h = word as u16;
        return match lookup_rvc(h) {
            Some((name, w)) => format!("{name} ({})", disassemble32(w)),
            None => format!(".half {h:#06x}"),
        };
    }
    disassemble32(word)
}

fn disassemble32(word: u32) -> String {
    let Some((_, name, fmt)) = lookup(word) else {
        return format!(".word {word:#010x}");
    };
    let rd = (word >> 7) & 31;
    let rs1 = (word >> 15) & 31;
    let rs2 = (word >> 20) & 31;
    let imm = immediate(word, fmt);
    match fmt {
        Format::R => format!("{name} x{rd}, x{rs1}, x{rs2}"),
        Format::I if name.starts_with('l') || name == "jalr" => {
            format!("{name} x{rd}, {imm}(x{rs1})")
        }
        Format::I | Format::Sh6 | Format::Sh5 => format!("{name} x{rd}, x{rs1}, {imm}"),
        Format::S => format!("{name} x{rs2}, {imm}(x{rs1})"),
        Format::B => format!("{name} x{rs1}, x{rs2}, {imm}"),
        Format::U => format!("{name} x{rd}, {:#x}", (imm as u32) >> 12),
        Format::J => format!("{name} x{rd}, {imm}"),
        Format::N => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_do_not_overlap() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                let common = a.2 & b.2;
                assert!(a.3 & common != b.3 & common, "{} overlaps {}", a.1, b.1);
            }
        }
    }

    #[test]
    fn decodes_known_words() {
        // addi a0, zero, -1
        let i = decode(0xfff0_0513);
        assert_eq!((i.op, i.rd, i.rs1, i.imm), (Op::Addi, 10, 0, -1));
        // sd ra, 8(sp)
        let i = decode(0x0011_3423);
        assert_eq!(
            (i.op, i.rs1, i.rs2, i.imm, i.rd),
            (Op::Sd, 2, 1, 8, SCRATCH)
        );
        // beq a0, a1, -4
        let i = decode(0xfeb5_0ee3);
        assert_eq!((i.op, i.imm), (Op::Beq, -4));
        // jal ra, 2048
        let i = decode(0x0010_00ef);
        assert_eq!((i.op, i.rd, i.imm), (Op::Jal, 1, 2048));
        // lui a0, 0x80000 sign-extends
        assert_eq!(decode(0x8000_0537).imm, i32::MIN);
        // srai a0, a0, 63
        let i = decode(0x43f5_5513);
        assert_eq!((i.op, i.imm), (Op::Srai, 63));
        assert_eq!(decode(0x0000_0073).op, Op::Ecall);
        assert_eq!(decode(0x0010_0073).op, Op::Ebreak);
        assert_eq!(decode(0x0ff0_000f).op, Op::Fence);
        assert_eq!(decode(0x0000_100f).op, Op::FenceI);
        // c.li a0, 0 is addi a0, x0, 0, two bytes long.
        let i = decode(0x0000_4501);
        assert_eq!((i.op, i.rd, i.rs1, i.imm, i.len), (Op::Addi, 10, 0, 0, 2));
        // amoadd.d.aqrl a0, a1, (a2)
        let i = decode(0x06b6_352f);
        assert_eq!((i.op, i.rd, i.rs1, i.rs2), (Op::AmoaddD, 10, 12, 11));
    }

    #[test]
    fn every_rvc_row_is_reachable() {
        // A row shadowed by earlier rows would never decode.
        for (i, row) in RVC_TABLE.iter().enumerate() {
            let reachable = (0..=u16::MAX).any(|h| {
                h & row.1 == row.2 && RVC_TABLE.iter().position(|r| h & r.1 == r.2) == Some(i)
            });
            assert!(reachable, "{} is shadowed", row.0);
        }
    }

    #[test]
    fn rejects_reserved_encodings() {
        for w in [
            0u32,
            0xffff_ffff,
            0x0000_2001,             // c.addiw x0 (reserved)
            0x0000_6001,             // c.lui with zero immediate (reserved)
            0x0000_8002,             // c.jr x0 (reserved)
            0x0000_2000,             // c.fld
            0x0000_8000,             // quadrant 0, funct3 4 (reserved)
            0x0000_9c41,             // c.subw group, reserved slot
            0x1000_202f | (1 << 20), // lr.w with rs2 set
            0x0000_402f,             // AMO funct3 4
            0x0200_101b,             // slliw with funct7 = 1
            0x0205_151b,             // slliw shamt[5] set
            0x8000_0033,             // add with funct7 = 0x40
            0x0000_7003,             // load funct3 = 7
            0x0000_4023,             // store funct3 = 4
            0x0000_2063,             // branch funct3 = 2
            0x0000_1067,             // jalr funct3 = 1
            0x3000_2573,             // csrrs
            0x0000_0173,             // ecall with rd set
            0x0400_5013,             // srli with funct6 = 1
        ] {
            assert_eq!(decode(w).op, Op::Illegal, "{w:#010x} {}", disassemble(w));
        }
    }
}
