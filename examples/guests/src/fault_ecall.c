/* fault_ecall: prints "about to call an unknown system call\n", then makes
   system call 214 (brk on Linux) with a0 = 0, which this machine does not
   have: unknown-system-call fault.

   qemu-riscv64 implements brk: it returns the current program break and
   the guest goes on to print "ecall returned <16 hex digits>\n" and exit 0
   (the value depends on the ELF layout, not on the run). */
#include "rt.h"
int main(void) {
    put_str("about to call an unknown system call\n");
    rt_flush();
    register long a0 asm("a0") = 0;
    register long a7 asm("a7") = 214;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    put_str("ecall returned ");
    put_hex((u64)a0);
    put_char('\n');
    return 0;
}
