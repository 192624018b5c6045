/* misaligned_load: prints "about to load from a misaligned address\n",
   then executes ld from an address that is 1 past a multiple of 8 (across
   two doublewords), prints "loaded 0807060504030201\n" and exits 0.
   Misaligned loads succeed, as under Linux user mode (qemu-riscv64). */
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
