/* misaligned_store: prints "about to store to a misaligned address\n",
   then executes sw to an address that is 2 past a multiple of 4 (across
   two doublewords), prints them, "stored beef000000000000
   000000000000dead\n", and exits 0. Misaligned stores succeed, as under
   Linux user mode (qemu-riscv64). */
#include "rt.h"
static u64 words[2] __attribute__((aligned(8)));
int main(void) {
    put_str("about to store to a misaligned address\n");
    rt_flush();
    u64 a = (u64)words + 6;   /* 4k + 2 */
    asm volatile("sw %0, 0(%1)" : : "r"(0xdeadbeefull), "r"(a) : "memory");
    put_str("stored ");
    put_hex(((volatile u64 *)words)[0]);
    put_char(' ');
    put_hex(((volatile u64 *)words)[1]);
    put_char('\n');
    return 0;
}
