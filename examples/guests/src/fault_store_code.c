/* fault_store_code: prints "about to store into the code\n", then
   executes sw to the address of main, in its own text segment (R+X, not
   writable): store-access fault. (qemu-riscv64: SIGSEGV.) */
#include "rt.h"
int main(void) {
    put_str("about to store into the code\n");
    rt_flush();
    u64 a = (u64)&main;
    asm volatile("sw zero, 0(%0)" : : "r"(a) : "memory");
    put_str("not reached\n");
    return 0;
}
