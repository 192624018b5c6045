/* fault_fetch: prints a line, then jumps into its data segment (not
   executable): instruction-access fault. */
#include "rt.h"
static u32 data_code[4] = {0x00000013, 0x00000013, 0x00008067, 0};  /* nop; nop; ret */
int main(void) {
    put_str("about to jump into data\n");
    rt_flush();
    void (*f)(void) = (void (*)(void))(u64)data_code;
    asm volatile("" : "+r"(f));
    f();
    return 0;
}
