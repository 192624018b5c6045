/* fault_illegal: prints "about to execute an illegal instruction\n", then
   executes the word 0xffffffff, which is no RV64IM instruction:
   illegal-instruction fault. (qemu-riscv64: SIGILL.) */
#include "rt.h"
int main(void) {
    put_str("about to execute an illegal instruction\n");
    rt_flush();
    asm volatile(".word 0xffffffff");
    put_str("not reached\n");
    return 0;
}
