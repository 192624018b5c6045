/* collatz: finds the number below N with the longest Collatz chain and
   prints "longest Collatz chain below <N>: <n> (<length> numbers)\n",
   where the length counts both ends (1 has length 1). N is the decimal
   number in the input if it is greater than 1, otherwise 2000. Exit 0.

   The default run (N = 2000: "... below 2000: 1161 (182 numbers)") is
   about 10^6 instructions: the demo program of the dispute (it is the
   guest that src/guests.rs embeds). N = 200 (inputs/collatz_small.txt)
   is about 6 * 10^4. */
#include "rt.h"

int main(void) {
    u8 *in;
    size_t len = read_all(&in);
    const u8 *p = in;
    i64 limit = 2000;
    i64 v;
    if (parse_i64(&p, in + len, &v) && v > 1) limit = v;
    u64 best = 1, best_len = 1;
    for (u64 n = 1; n < (u64)limit; n++) {
        u64 x = n, steps = 1;
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x / 2;
            steps++;
        }
        if (steps > best_len) { best_len = steps; best = n; }
    }
    put_str("longest Collatz chain below ");
    put_i64(limit);
    put_str(": ");
    put_u64(best);
    put_str(" (");
    put_u64(best_len);
    put_str(" numbers)\n");
    return 0;
}
