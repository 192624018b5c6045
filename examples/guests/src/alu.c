/* alu: every RV64I ALU, shift, compare and branch instruction (and the W
   forms) on a table of edge operands, shift amounts 0, 1, 31, 32, 63,
   lui/auipc sign extension, and loads/stores of every width and signedness
   at every offset. Prints every result in hex. */
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
RI(addi_m1, addi, -1) RI(addi_2047, addi, 2047) RI(addi_m2048, addi, -2048) RI(slti_m1, slti, -1) RI(sltiu_m1, sltiu, -1) RI(xori_m1, xori, -1) RI(ori_x555, ori, 0x555) RI(andi_m16, andi, -16)
RI(slli_0, slli, 0) RI(slli_1, slli, 1) RI(slli_31, slli, 31) RI(slli_32, slli, 32) RI(slli_63, slli, 63)
RI(srli_0, srli, 0) RI(srli_1, srli, 1) RI(srli_31, srli, 31) RI(srli_32, srli, 32) RI(srli_63, srli, 63)
RI(srai_0, srai, 0) RI(srai_1, srai, 1) RI(srai_31, srai, 31) RI(srai_32, srai, 32) RI(srai_63, srai, 63)
RI(addiw_m1, addiw, -1) RI(addiw_2047, addiw, 2047) RI(slliw_0, slliw, 0) RI(slliw_31, slliw, 31) RI(srliw_0, srliw, 0) RI(srliw_31, srliw, 31) RI(sraiw_0, sraiw, 0) RI(sraiw_31, sraiw, 31)

typedef u64 (*binop)(u64, u64);
typedef u64 (*unop)(u64);

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
    int r = 0;
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
        addi_m1, addi_2047, addi_m2048, slti_m1, sltiu_m1, xori_m1, ori_x555, andi_m16,
        slli_0, slli_1, slli_31, slli_32, slli_63, srli_0, srli_1, srli_31, srli_32, srli_63,
        srai_0, srai_1, srai_31, srai_32, srai_63, addiw_m1, addiw_2047, slliw_0, slliw_31,
        srliw_0, srliw_31, sraiw_0, sraiw_31,
    };
    put_str("immediates\n");
    for (size_t k = 0; k < sizeof ri / sizeof ri[0]; k++)
        for (size_t i = 0; i < N; i++) out(ri[k](EDGE[i]), i + 1 == N);
    put_str("branches\n");
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) out((u64)branches(EDGE[i], EDGE[j]), j + 1 == N);
    put_str("upper\n");
    u64 r;
    asm volatile("lui %0, 0x80000" : "=r"(r)); out(r, 0);
    asm volatile("lui %0, 0x7ffff" : "=r"(r)); out(r, 0);
    asm volatile("lui %0, 0xfffff" : "=r"(r)); out(r, 0);
    asm volatile("auipc %0, 0" : "=r"(r)); out(r - (u64)&main, 1);
    put_str("memory\n");
    static u8 buf[32] __attribute__((aligned(8)));
    for (int i = 0; i < 32; i++) buf[i] = (u8)(0x81 + 37 * i);
    volatile u8 *vb = buf;
    for (int off = 0; off < 16; off++) {
        out((u64)(i64)(signed char)vb[off], 0);
        out((u64)vb[off], 0);
        if (off % 2 == 0) { out((u64)(i64)*(volatile short *)(vb + off), 0); out(*(volatile unsigned short *)(vb + off), 0); }
        if (off % 4 == 0) { out((u64)(i64)*(volatile int *)(vb + off), 0); out(*(volatile u32 *)(vb + off), 0); }
        if (off % 8 == 0) out(*(volatile u64 *)(vb + off), 0);
        out(0, 1);
    }
    for (int off = 0; off < 16; off++) {
        vb[off] = (u8)(0xf0 ^ off);
        if (off % 2 == 0) *(volatile unsigned short *)(vb + 16 + off) = (unsigned short)(0x8001 * off);
        if (off % 4 == 0) *(volatile u32 *)(vb + 16 + off) = 0x80000001u * (u32)off;
        if (off % 8 == 0) *(volatile u64 *)(vb + 16 + off) = 0x8000000000000001ull * (u64)off;
    }
    for (int i = 0; i < 4; i++) out(((volatile u64 *)vb)[i], i == 3);
    put_str("mix "); put_hex(mix); put_char('\n');
    return 0;
}
