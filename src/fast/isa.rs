//! The RV64IM instruction set, declared once: every instruction's mask,
//! match value and operand format is one row of the table below, and the
//! [`Op`] enum, the decoder and the disassembler are generated from it.

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
        /// One RV64IM operation (one row of the ISA table).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Op {
            $(
                #[doc = $name]
                $op,
            )*
            /// Not an RV64IM instruction.
            Illegal,
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
    Ecall  "ecall"  0xffffffff 0x00000073 N;
    Ebreak "ebreak" 0xffffffff 0x00100073 N;
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

/// Decodes one instruction word.
pub fn decode(word: u32) -> Inst {
    match lookup(word) {
        None => Inst {
            op: Op::Illegal,
            rd: SCRATCH,
            rs1: 0,
            rs2: 0,
            imm: word as i32,
        },
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
            }
        }
    }
}

/// A one-line disassembly of `word`, e.g. `addi x10, x0, 5`.
pub fn disassemble(word: u32) -> String {
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
    }

    #[test]
    fn rejects_reserved_encodings() {
        for w in [
            0u32,
            0xffff_ffff,
            0x0000_4501, // compressed
            0x0200_101b, // slliw with funct7 = 1
            0x0205_151b, // slliw shamt[5] set
            0x8000_0033, // add with funct7 = 0x40
            0x0000_7003, // load funct3 = 7
            0x0000_4023, // store funct3 = 4
            0x0000_2063, // branch funct3 = 2
            0x0000_1067, // jalr funct3 = 1
            0x3000_2573, // csrrs
            0x0000_100f, // fence.i
            0x0000_0173, // ecall with rd set
            0x0400_5013, // srli with funct6 = 1
        ] {
            assert_eq!(decode(w).op, Op::Illegal, "{w:#010x} {}", disassemble(w));
        }
    }
}
