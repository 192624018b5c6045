/* fault_load_range: prints "about to load from beyond guest memory\n",
   then executes ld from 0x100000000 (4 GiB), just past the guest's
   memory: load-access fault. (qemu-riscv64: SIGSEGV, nothing is mapped
   there.) */
#include "rt.h"
int main(void) {
    put_str("about to load from beyond guest memory\n");
    rt_flush();
    u64 r, a = 0x100000000ull;
    asm volatile("ld %0, 0(%1)" : "=r"(r) : "r"(a) : "memory");
    put_str("not reached\n");
    return (int)r;
}
