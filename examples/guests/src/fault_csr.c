/* fault_csr: prints a line, then reads the cycle CSR (rdcycle): CSR
   instructions are not RV64IM, so this is an illegal-instruction fault
   (qemu user mode may execute it). */
#include "rt.h"
int main(void) {
    put_str("about to read a CSR\n");
    rt_flush();
    u64 c;
    asm volatile(".word 0xc0002573\n mv %0, a0" : "=r"(c) : : "a0");  /* csrrs a0, cycle, zero */
    put_hex(c);
    return 0;
}
