/* fault_load_range: prints a line, then loads from 0x100000000 (4 GiB),
   beyond guest memory: load-access fault. */
#include "rt.h"
int main(void) {
    put_str("about to load from beyond guest memory\n");
    rt_flush();
    u64 r, a = 0x100000000ull;
    asm volatile("ld %0, 0(%1)" : "=r"(r) : "r"(a));
    return (int)r;
}
