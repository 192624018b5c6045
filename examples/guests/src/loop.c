/* loop: a long CPU-bound loop for benchmarks.

   Each outer iteration runs 32 steps of a 64-bit LCG (a multiply and an
   add) over a 256-entry table of u64 and a 256-entry table of bytes: per
   step a load, shifts and xors, and a data-dependent branch whose two arms
   do different loads and stores (doubleword, byte). The number of outer
   iterations is the decimal number in the input; with empty input (or no
   non-negative number) it is DEFAULT_ITERS, 1450000.

   Output (stdout):
       iterations: <n>
       odd: <how many steps took the odd arm>
       checksum: <16 hex digits>
   Exit code 0.

   Instruction count (bin/loop.elf as built by build.sh with gcc 12.2):
   both arms of the branch are 8 instructions, so every inner step is 27
   instructions (19 + 8) whatever the data, and every outer iteration is
   exactly 868 (2 to enter the inner loop, 32 * 27, 2 to close the outer
   loop). The rest (start-up with the .bss clear, reading and parsing the
   input, the final checksum, printing, exit) is about 4.0 to 4.2 * 10^3
   instructions, so a run of n iterations takes 868 * n + ~4100:
       n = 0            4013 instructions
       n = 2300         2 000 578  (inputs/loop_small.txt)
       n = 1 450 000    about 1.2586 * 10^9 (the default)
   Measured by counting executed instructions with
   `qemu-riscv64 -singlestep -d exec,nochain` for small n (see the README);
   re-check after changing this file or the compiler. */
#include "rt.h"

#define DEFAULT_ITERS 1450000

static u64 table[256];   /* .bss: read before it is written, so zeroed by crt0 */
static u8 bytes[256];

int main(void) {
    u8 *in;
    size_t len = read_all(&in);
    const u8 *p = in;
    i64 iters = DEFAULT_ITERS;
    i64 v;
    if (parse_i64(&p, in + len, &v) && v >= 0) iters = v;
    u64 s = 0x9e3779b97f4a7c15ull, odd = 0;
    for (i64 it = 0; it < iters; it++) {
        for (int i = 0; i < 32; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u64 k = s >> 56;
            u64 t = table[k] + (s ^ (s >> 29));
            if (t & 1) {
                table[k] = t;
                bytes[k ^ 2] = (u8)((bytes[k ^ 2] ^ (t >> 8)) + 3);
                odd++;
            } else {
                table[k ^ 1] -= t >> 3;
                bytes[k] += (u8)t;
            }
        }
    }
    u64 sum = 0;
    for (int i = 0; i < 256; i++) sum = (sum * 31 + table[i]) ^ bytes[i];
    put_str("iterations: "); put_i64(iters); put_char('\n');
    put_str("odd: "); put_u64(odd); put_char('\n');
    put_str("checksum: "); put_hex(sum); put_char('\n');
    return 0;
}
