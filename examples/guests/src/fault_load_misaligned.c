/* fault_load_misaligned: prints "about to load from a misaligned address\n",
   then executes ld from an address that is 1 past a multiple of 8:
   misaligned-load fault (RV64IM here does not emulate misaligned access).

   qemu-riscv64 performs the load: the guest goes on to print
   "loaded 0807060504030201\n" and exits 0. */
#include "rt.h"
static u64 words[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
int main(void) {
    put_str("about to load from a misaligned address\n");
    rt_flush();
    u64 r, a = (u64)words + 1;
    asm volatile("ld %0, 0(%1)" : "=r"(r) : "r"(a) : "memory");
    put_str("loaded ");
    put_hex(r);
    put_char('\n');
    return 0;
}
