/* fault_csr: prints "about to read a CSR\n", then executes rdcycle
   (csrrs a0, cycle, zero, as a raw word): CSR instructions are not part of
   RV64IM, so this is an illegal-instruction fault.

   qemu-riscv64 implements Zicsr and lets user mode read the cycle
   counter: the guest goes on to print "cycle <16 hex digits>\n" (a
   different value on every run) and exits 0. */
#include "rt.h"
int main(void) {
    put_str("about to read a CSR\n");
    rt_flush();
    u64 c;
    asm volatile(".word 0xc0002573\n mv %0, a0" : "=r"(c) : : "a0");  /* csrrs a0, cycle, zero */
    put_str("cycle ");
    put_hex(c);
    put_char('\n');
    return 0;
}
