/* loop: a long CPU-bound loop for benchmarks. Each outer iteration runs an
   LCG over a 256-entry table: multiplies, adds, shifts, xors, a load and a
   store per inner step, and a data-dependent branch. The number of outer
   iterations is the decimal number in the input (default 1400000: 900
   instructions per iteration, about 1.26 * 10^9 in all). Prints a checksum. */
#include "rt.h"

static u64 table[256];

int main(void) {
    u8 *in;
    size_t len = read_all(&in);
    const u8 *p = in;
    i64 iters = 1400000;
    i64 v;
    if (parse_i64(&p, in + len, &v) && v >= 0) iters = v;
    u64 s = 0x9e3779b97f4a7c15ull, odd = 0;
    for (i64 it = 0; it < iters; it++) {
        for (int i = 0; i < 64; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u64 k = s >> 56;
            u64 t = table[k] + (s ^ (s >> 29));
            table[k] = t;
            if (t & 1) odd++;
        }
    }
    u64 sum = 0;
    for (int i = 0; i < 256; i++) sum = sum * 31 + table[i];
    put_str("iterations: "); put_i64(iters); put_char('\n');
    put_str("odd: "); put_u64(odd); put_char('\n');
    put_str("checksum: "); put_hex(sum); put_char('\n');
    return 0;
}
