/* fault_store_code: prints a line, then stores into its own code (the
   write-protected text segment): store-access fault. */
#include "rt.h"
int main(void) {
    put_str("about to store into the code\n");
    rt_flush();
    u64 a = (u64)&main;
    asm volatile("sw zero, 0(%0)" : : "r"(a) : "memory");
    return 0;
}
