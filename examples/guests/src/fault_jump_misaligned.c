/* fault_jump_misaligned: prints a line, then jumps (jalr) to an address 2
   past the start of a function: instruction-address-misaligned fault
   (qemu runs with compressed instructions enabled and may not fault). */
#include "rt.h"
static void target(void) { put_str("not reached\n"); }
int main(void) {
    put_str("about to jump to a misaligned address\n");
    rt_flush();
    u64 a = (u64)&target + 2;
    asm volatile("jalr ra, 0(%0)" : : "r"(a) : "ra", "memory");
    return 0;
}
