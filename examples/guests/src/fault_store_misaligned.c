/* fault_store_misaligned: prints a line, then stores 4 bytes at an address
   that is 2 past a multiple of 4: misaligned-store fault. */
#include "rt.h"
static u32 words[4];
int main(void) {
    put_str("about to store to a misaligned address\n");
    rt_flush();
    u64 a = (u64)words + 2;
    asm volatile("sw %0, 0(%1)" : : "r"(7), "r"(a) : "memory");
    return 0;
}
