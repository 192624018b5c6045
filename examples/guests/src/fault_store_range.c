/* fault_store_range: prints "about to store beyond guest memory\n", then
   executes sd to 0x200000000 (8 GiB), beyond the guest's memory:
   store-access fault. (qemu-riscv64: SIGSEGV.) */
#include "rt.h"
int main(void) {
    put_str("about to store beyond guest memory\n");
    rt_flush();
    u64 a = 0x200000000ull;
    asm volatile("sd %0, 0(%1)" : : "r"(1), "r"(a) : "memory");
    put_str("not reached\n");
    return 0;
}
