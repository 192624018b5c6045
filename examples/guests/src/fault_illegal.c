/* fault_illegal: prints a line, then executes the word 0xffffffff (not an
   RV64IM instruction): illegal-instruction fault. */
#include "rt.h"
int main(void) {
    put_str("about to execute an illegal instruction\n");
    rt_flush();
    asm volatile(".word 0xffffffff");
    return 0;
}
