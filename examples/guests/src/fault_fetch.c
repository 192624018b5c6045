/* fault_fetch: prints "about to jump into data\n", then calls a function
   pointer into its data segment (R+W, not executable), which holds valid
   code (nop; nop; ret): instruction-access fault. (qemu-riscv64: SIGSEGV,
   as the page is not executable.) */
#include "rt.h"
static u32 data_code[4] = {0x00000013, 0x00000013, 0x00008067, 0};  /* nop; nop; ret */
int main(void) {
    put_str("about to jump into data\n");
    rt_flush();
    void (*f)(void) = (void (*)(void))(u64)data_code;
    asm volatile("" : "+r"(f));   /* hide the target from the optimiser */
    f();
    put_str("not reached\n");
    return 0;
}
