/* fault_ebreak: prints a line, then executes ebreak: breakpoint fault. */
#include "rt.h"
int main(void) {
    put_str("about to execute ebreak\n");
    rt_flush();
    asm volatile("ebreak");
    return 0;
}
