/* fault_ebreak: prints "about to execute ebreak\n", then executes ebreak:
   breakpoint fault. (qemu-riscv64: SIGTRAP.) */
#include "rt.h"
int main(void) {
    put_str("about to execute ebreak\n");
    rt_flush();
    asm volatile("ebreak");
    put_str("not reached\n");
    return 0;
}
