/* fault_amo_misaligned: prints "about to add atomically at a misaligned
   address\n", then executes amoadd.w at an address that is 2 past a
   multiple of 4: AMOs (and LR/SC) must be naturally aligned, so this is a
   misaligned store/AMO fault (SIGBUS), as under Linux and qemu-riscv64.
   The C guests are built for rv64im, so the instruction is given as a
   word: amoadd.w a0, a1, (a0) = 0x00b5252f. */
#include "rt.h"
static u64 words[2] __attribute__((aligned(8)));
int main(void) {
    put_str("about to add atomically at a misaligned address\n");
    rt_flush();
    register u64 a asm("a0") = (u64)words + 2;
    register u64 v asm("a1") = 1;
    asm volatile(".word 0x00b5252f" : "+r"(a) : "r"(v) : "memory");
    put_str("not reached\n");
    return 0;
}
