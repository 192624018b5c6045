/* fault_load_misaligned: prints a line, then loads 8 bytes from an address
   that is 1 past a multiple of 8: misaligned-load fault. */
#include "rt.h"
static u64 words[4];
int main(void) {
    put_str("about to load from a misaligned address\n");
    rt_flush();
    u64 r, a = (u64)words + 1;
    asm volatile("ld %0, 0(%1)" : "=r"(r) : "r"(a));
    return (int)r;
}
