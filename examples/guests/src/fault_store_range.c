/* fault_store_range: prints a line, then stores to 0x200000000 (8 GiB),
   beyond guest memory: store-access fault. */
#include "rt.h"
int main(void) {
    put_str("about to store beyond guest memory\n");
    rt_flush();
    u64 a = 0x200000000ull;
    asm volatile("sd %0, 0(%1)" : : "r"(1), "r"(a) : "memory");
    return 0;
}
