/* numeric: a multiply/divide-heavy kernel for the M extension.

   Runs every M instruction (mul, mulh, mulhsu, mulhu, div, divu, rem,
   remu, mulw, divw, divuw, remw, remuw), each in inline assembly so that
   the compiler cannot fold or replace it, on every pair of 18 edge
   operands: 0, 1, 2, 3, 7, -1, -2, -7, INT64_MAX, INT64_MIN, INT32_MAX,
   2^31 (INT32_MIN in the low word, upper word 0), 2^32-1, INT32_MIN
   sign-extended, 2^32 (low word 0: a W-form division by zero) and three
   bit patterns. That covers division and remainder by zero,
   INT64_MIN / -1 and INT32_MIN / -1 (W forms) overflow, negative operands
   of every sign combination, and W forms ignoring the upper 32 bits.
   Then modular exponentiation (64-bit modulus, 128-bit products: libgcc's
   __umodti3), gcd (Euclid with remu) and a trial-division prime count.

   Output (stdout): for each instruction a line with its name, then the
   18 x 18 results, one per line, in hex (16 digits), operand pairs in
   row-major order (a = EDGE[i], b = EDGE[j]); then "mix <hex>" (an FNV-style
   mix of all of them), "modpow <hex>", "gcd <hex>" and
   "primes below 20000 <hex>". Exit code 0. */
#include "rt.h"

#define OP(name)                                                              \
    static u64 name(u64 a, u64 b) {                                           \
        u64 r;                                                                \
        asm volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));         \
        return r;                                                             \
    }
OP(mul) OP(mulh) OP(mulhsu) OP(mulhu) OP(div) OP(divu) OP(rem) OP(remu)
OP(mulw) OP(divw) OP(divuw) OP(remw) OP(remuw)

typedef u64 (*binop)(u64, u64);
static const struct { const char *name; binop f; } OPS[] = {
    {"mul", mul}, {"mulh", mulh}, {"mulhsu", mulhsu}, {"mulhu", mulhu},
    {"div", div}, {"divu", divu}, {"rem", rem}, {"remu", remu},
    {"mulw", mulw}, {"divw", divw}, {"divuw", divuw}, {"remw", remw}, {"remuw", remuw},
};

static const u64 EDGE[] = {
    0, 1, 2, 3, 7, (u64)-1, (u64)-2, (u64)-7, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0x7fffffffull, 0x80000000ull, 0xffffffffull, 0xffffffff80000000ull, 0x100000000ull,
    0x123456789abcdef0ull, 0xfedcba9876543210ull, 0x5555555555555555ull,
};

static u64 modpow(u64 b, u64 e, u64 m) {
    u64 r = 1 % m;
    b %= m;
    while (e) {
        if (e & 1) r = (u64)(((unsigned __int128)r * b) % m);
        b = (u64)(((unsigned __int128)b * b) % m);
        e >>= 1;
    }
    return r;
}

static u64 gcd(u64 a, u64 b) {
    while (b) { u64 t = a % b; a = b; b = t; }
    return a;
}

int main(void) {
    const size_t n = sizeof EDGE / sizeof EDGE[0];
    u64 mix = 0;
    for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++) {
        put_str(OPS[k].name);
        put_char('\n');
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++) {
                u64 r = OPS[k].f(EDGE[i], EDGE[j]);
                mix = mix * 0x100000001b3ull ^ r;
                put_hex(r);
                put_char('\n');
            }
        }
    }
    put_str("mix ");
    put_hex(mix);
    put_char('\n');
    put_str("modpow ");
    put_hex(modpow(0x123456789ull, 0xfffffffbull, 0xfffffffffffffc5ull));
    put_char('\n');
    put_str("gcd ");
    put_hex(gcd(0x7fffffffffffffffull, 0x1fffffffffffffffull * 3));
    put_char('\n');
    u64 primes = 0;
    for (u64 c = 2; c < 20000; c++) {
        int p = 1;
        for (u64 d = 2; d * d <= c; d++) if (c % d == 0) { p = 0; break; }
        primes += p;
    }
    put_str("primes below 20000 ");
    put_hex(primes);
    put_char('\n');
    return 0;
}
