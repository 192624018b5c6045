/* alu: every RV64I computational, compare, branch, jump, load and store
   instruction, each written in inline assembly so that the compiler can
   neither fold nor replace it, on edge operands. Prints every result in
   hex (16 digits), then an FNV-style mix of all of them.

   Output (stdout), section by section:
     - "<op>\n" and a 14 x 14 table for each register-register op (add sub
       sll slt sltu xor srl sra or and addw subw sllw srlw sraw) over the
       edge operands 0, 1, 31, 32, 63, 64, -1, INT64_MAX, INT64_MIN,
       INT32_MAX, 2^31, 2^32-1 and two bit patterns (so register shift
       amounts 0, 1, 31, 32, 63, 64 and -1 are all there);
     - "immediates\n": one row per immediate form (addi slti sltiu xori ori
       andi slli srli srai addiw slliw srliw sraiw) with immediates -1,
       2047, -2048 and shift amounts 0, 1, 31, 32, 63;
     - "branches\n": beq bne blt bge bltu bgeu over all operand pairs (one
       bit per branch taken);
     - "upper\n": lui 0x80000 / 0x7ffff / 0xfffff (sign extension), auipc
       0, 0xfffff and 0x80000 relative to their own address;
     - "jumps\n": jal/jalr link values, jalr clearing bit 0 of an odd
       target, jalr with rd == rs1, and writes to x0 being dropped;
     - "loads\n": lb lbu at every offset 0..15, lh lhu at every even
       offset, lw lwu at multiples of 4, ld at multiples of 8;
     - "stores\n": sb sh sw sd at every aligned offset 0..15 of a cleared
       24-byte window, the window printed after each store;
     - "offsets\n": loads and stores with immediates -2048 and 2047 (or
       the largest aligned offset below it);
     - "mix <hex>\n".
   Exit code 0. */
#include "rt.h"

#define RR(name)                                                              \
    static u64 name(u64 a, u64 b) {                                           \
        u64 r;                                                                \
        asm volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));         \
        return r;                                                             \
    }
RR(add) RR(sub) RR(sll) RR(slt) RR(sltu) RR(xor) RR(srl) RR(sra) RR(or) RR(and)
RR(addw) RR(subw) RR(sllw) RR(srlw) RR(sraw)

#define RI(fn, name, imm)                                                     \
    static u64 fn(u64 a) {                                                    \
        u64 r;                                                                \
        asm volatile(#name " %0, %1, " #imm : "=r"(r) : "r"(a));              \
        return r;                                                             \
    }
RI(addi_m1, addi, -1) RI(addi_2047, addi, 2047) RI(addi_m2048, addi, -2048)
RI(slti_m1, slti, -1) RI(slti_2047, slti, 2047) RI(sltiu_m1, sltiu, -1) RI(sltiu_2047, sltiu, 2047)
RI(xori_m1, xori, -1) RI(xori_m2048, xori, -2048) RI(ori_x555, ori, 0x555) RI(ori_m2048, ori, -2048)
RI(andi_m16, andi, -16) RI(andi_2047, andi, 2047)
RI(slli_0, slli, 0) RI(slli_1, slli, 1) RI(slli_31, slli, 31) RI(slli_32, slli, 32) RI(slli_63, slli, 63)
RI(srli_0, srli, 0) RI(srli_1, srli, 1) RI(srli_31, srli, 31) RI(srli_32, srli, 32) RI(srli_63, srli, 63)
RI(srai_0, srai, 0) RI(srai_1, srai, 1) RI(srai_31, srai, 31) RI(srai_32, srai, 32) RI(srai_63, srai, 63)
RI(addiw_0, addiw, 0) RI(addiw_m1, addiw, -1) RI(addiw_2047, addiw, 2047) RI(addiw_m2048, addiw, -2048)
RI(slliw_0, slliw, 0) RI(slliw_1, slliw, 1) RI(slliw_31, slliw, 31)
RI(srliw_0, srliw, 0) RI(srliw_1, srliw, 1) RI(srliw_31, srliw, 31)
RI(sraiw_0, sraiw, 0) RI(sraiw_1, sraiw, 1) RI(sraiw_31, sraiw, 31)

/* Loads: the address in a register, the offset in the instruction. */
#define LD(fn, insn, off)                                                     \
    static u64 fn(const volatile void *p) {                                   \
        u64 r;                                                                \
        asm volatile(#insn " %0, " #off "(%1)" : "=r"(r) : "r"(p) : "memory"); \
        return r;                                                             \
    }
LD(lb0, lb, 0) LD(lbu0, lbu, 0) LD(lh0, lh, 0) LD(lhu0, lhu, 0)
LD(lw0, lw, 0) LD(lwu0, lwu, 0) LD(ld0, ld, 0)
LD(lb_lo, lb, -2048) LD(lbu_lo, lbu, -2048) LD(lh_lo, lh, -2048) LD(lhu_lo, lhu, -2048)
LD(lw_lo, lw, -2048) LD(lwu_lo, lwu, -2048) LD(ld_lo, ld, -2048)
LD(lb_hi, lb, 2047) LD(lbu_hi, lbu, 2047) LD(lh_hi, lh, 2046) LD(lhu_hi, lhu, 2046)
LD(lw_hi, lw, 2044) LD(lwu_hi, lwu, 2044) LD(ld_hi, ld, 2040)

#define ST(fn, insn, off)                                                     \
    static void fn(volatile void *p, u64 v) {                                 \
        asm volatile(#insn " %1, " #off "(%0)" : : "r"(p), "r"(v) : "memory"); \
    }
ST(sb0, sb, 0) ST(sh0, sh, 0) ST(sw0, sw, 0) ST(sd0, sd, 0)
ST(sb_lo, sb, -2048) ST(sh_lo, sh, -2048) ST(sw_lo, sw, -2048) ST(sd_lo, sd, -2048)
ST(sb_hi, sb, 2047) ST(sh_hi, sh, 2046) ST(sw_hi, sw, 2044) ST(sd_hi, sd, 2040)

typedef u64 (*binop)(u64, u64);
typedef u64 (*unop)(u64);
typedef u64 (*loadop)(const volatile void *);
typedef void (*storeop)(volatile void *, u64);

static const u64 EDGE[] = {
    0, 1, 31, 32, 63, 64, (u64)-1, 0x7fffffffffffffffull, 0x8000000000000000ull, 0x7fffffffull,
    0x80000000ull, 0xffffffffull, 0x0123456789abcdefull, 0xfedcba9876543210ull,
};
#define N (sizeof EDGE / sizeof EDGE[0])

static u64 mix;
static void out(u64 v, int last) {
    mix = mix * 0x100000001b3ull ^ v;
    put_hex(v);
    put_char(last ? '\n' : ' ');
}

static int branches(u64 a, u64 b) {
    int r;
    asm volatile(
        "li %0, 0\n"
        "beq %1, %2, 1f\n ori %0, %0, 1\n1:\n"
        "bne %1, %2, 1f\n ori %0, %0, 2\n1:\n"
        "blt %1, %2, 1f\n ori %0, %0, 4\n1:\n"
        "bge %1, %2, 1f\n ori %0, %0, 8\n1:\n"
        "bltu %1, %2, 1f\n ori %0, %0, 16\n1:\n"
        "bgeu %1, %2, 1f\n ori %0, %0, 32\n1:\n"
        : "=&r"(r) : "r"(a), "r"(b));
    return r;
}

static void upper(void) {
    u64 r, base;
    asm volatile("lui %0, 0x80000" : "=r"(r)); out(r, 0);
    asm volatile("lui %0, 0x7ffff" : "=r"(r)); out(r, 0);
    asm volatile("lui %0, 0xfffff" : "=r"(r)); out(r, 0);
    /* auipc relative to its own address, which the jal link gives. */
    asm volatile("jal %1, 1f\n1: auipc %0, 0" : "=r"(r), "=&r"(base)); out(r - base, 0);
    asm volatile("jal %1, 1f\n1: auipc %0, 0xfffff" : "=r"(r), "=&r"(base)); out(r - base, 0);
    asm volatile("jal %1, 1f\n1: auipc %0, 0x80000" : "=r"(r), "=&r"(base)); out(r - base, 1);
}

static void jumps(void) {
    u64 a, b, c;
    /* jal: the link is the address of the next instruction. */
    asm volatile("jal %0, 1f\n1: auipc %1, 0\n sub %0, %1, %0" : "=&r"(a), "=&r"(b));
    out(a, 0);
    /* jalr to an odd address: bit 0 of the target is cleared; the skipped
       instruction would set c. */
    asm volatile(
        "li %2, 0\n"
        "auipc t0, 0\n"            /* t0 = A */
        "addi t0, t0, 17\n"        /* A + 17 */
        "jalr %0, 0(t0)\n"         /* at A + 8: link A + 12, target A + 16 */
        "li %2, 1\n"               /* A + 12: skipped */
        "sub %1, %0, t0\n"         /* A + 16: (A + 12) - (A + 17) = -5 */
        : "=&r"(a), "=&r"(b), "=&r"(c) : : "t0");
    out(b, 0); out(c, 0);
    /* jalr with an odd immediate and rd == rs1: the target comes from the
       old rs1. */
    asm volatile(
        "li %2, 0\n"
        "auipc %0, 0\n"            /* A */
        "jalr %0, 13(%0)\n"        /* at A + 4: link A + 8, target A + 12 */
        "li %2, 1\n"               /* A + 8: skipped */
        "auipc %1, 0\n"            /* A + 12 */
        "sub %1, %1, %0\n"         /* (A + 12) - (A + 8) = 4 */
        : "=&r"(a), "=&r"(b), "=&r"(c));
    out(b, 0); out(c, 0);
    /* x0 ignores writes. */
    asm volatile("addi x0, x0, 5\n lui x0, 0x12345\n addi %0, x0, 0" : "=r"(a));
    out(a, 0);
    asm volatile("jal x0, 1f\n1: add %0, x0, x0" : "=r"(a));
    out(a, 1);
}

/* 8-aligned scratch for the load/store sections (.bss: zeroed by crt0). */
static u8 win[24] __attribute__((aligned(8)));
static u8 big[4608] __attribute__((aligned(8)));

static void loads(void) {
    for (int i = 0; i < 16; i++) win[i] = (u8)(0x81 + 37 * i);
    for (int off = 0; off < 16; off++) {
        const volatile u8 *p = win + off;
        out(lb0(p), 0);
        out(lbu0(p), off % 2 != 0);
        if (off % 2 == 0) { out(lh0(p), 0); out(lhu0(p), off % 4 != 0); }
        if (off % 4 == 0) { out(lw0(p), 0); out(lwu0(p), off % 8 != 0); }
        if (off % 8 == 0) out(ld0(p), 1);
    }
}

static void window(void) {
    for (int i = 0; i < 3; i++) out(((volatile u64 *)win)[i], i == 2);
}

static void stores(void) {
    static const storeop st[4] = {sb0, sh0, sw0, sd0};
    const u64 v = 0x8877665544332211ull;
    for (int w = 0; w < 4; w++) {
        int size = 1 << w;
        for (int off = 0; off < 16; off += size) {
            memset(win, 0, sizeof win);
            st[w](win + off, v);
            window();
        }
    }
}

static void offsets(void) {
    for (size_t i = 0; i < sizeof big; i++) big[i] = (u8)(7 * i + 3);
    volatile u8 *base = big + 2304;   /* base - 2048 and base + 2047 are inside */
    static const loadop lo[7] = {lb_lo, lbu_lo, lh_lo, lhu_lo, lw_lo, lwu_lo, ld_lo};
    static const loadop hi[7] = {lb_hi, lbu_hi, lh_hi, lhu_hi, lw_hi, lwu_hi, ld_hi};
    for (int k = 0; k < 7; k++) out(lo[k](base), k == 6);
    for (int k = 0; k < 7; k++) out(hi[k](base), k == 6);
    const u64 v = 0xf0e1d2c3b4a59687ull;
    static const storeop slo[4] = {sb_lo, sh_lo, sw_lo, sd_lo};
    static const storeop shi[4] = {sb_hi, sh_hi, sw_hi, sd_hi};
    static const int hioff[4] = {2047, 2046, 2044, 2040};
    for (int w = 0; w < 4; w++) {
        slo[w](base, v >> (8 * w));
        shi[w](base, v << (8 * w));
        out(*(volatile u64 *)(base - 2048), 0);
        out(*(volatile u64 *)(base + (hioff[w] & ~7)), 0);
        out(*(volatile u64 *)(base + 2040), 1);
    }
}

int main(void) {
    static const struct { const char *n; binop f; } rr[] = {
        {"add", add}, {"sub", sub}, {"sll", sll}, {"slt", slt}, {"sltu", sltu}, {"xor", xor},
        {"srl", srl}, {"sra", sra}, {"or", or}, {"and", and}, {"addw", addw}, {"subw", subw},
        {"sllw", sllw}, {"srlw", srlw}, {"sraw", sraw},
    };
    for (size_t k = 0; k < sizeof rr / sizeof rr[0]; k++) {
        put_str(rr[k].n); put_char('\n');
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) out(rr[k].f(EDGE[i], EDGE[j]), j + 1 == N);
    }
    static const unop ri[] = {
        addi_m1, addi_2047, addi_m2048, slti_m1, slti_2047, sltiu_m1, sltiu_2047,
        xori_m1, xori_m2048, ori_x555, ori_m2048, andi_m16, andi_2047,
        slli_0, slli_1, slli_31, slli_32, slli_63, srli_0, srli_1, srli_31, srli_32, srli_63,
        srai_0, srai_1, srai_31, srai_32, srai_63,
        addiw_0, addiw_m1, addiw_2047, addiw_m2048, slliw_0, slliw_1, slliw_31,
        srliw_0, srliw_1, srliw_31, sraiw_0, sraiw_1, sraiw_31,
    };
    put_str("immediates\n");
    for (size_t k = 0; k < sizeof ri / sizeof ri[0]; k++)
        for (size_t i = 0; i < N; i++) out(ri[k](EDGE[i]), i + 1 == N);
    put_str("branches\n");
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) out((u64)branches(EDGE[i], EDGE[j]), j + 1 == N);
    put_str("upper\n");
    upper();
    put_str("jumps\n");
    jumps();
    put_str("loads\n");
    loads();
    put_str("stores\n");
    stores();
    put_str("offsets\n");
    offsets();
    put_str("mix "); put_hex(mix); put_char('\n');
    return 0;
}
