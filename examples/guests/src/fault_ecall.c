/* fault_ecall: prints a line, then makes system call 214 (brk), which this
   machine does not have: unknown-system-call fault. */
#include "rt.h"
int main(void) {
    put_str("about to call an unknown system call\n");
    rt_flush();
    register long a0 asm("a0") = 0;
    register long a7 asm("a7") = 214;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return (int)a0;
}
