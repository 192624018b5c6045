/* fault_rvc_illegal: prints "about to jump to a misaligned address\n",
   then jumps (jalr) to 2 past the start of a function. With the C
   extension the jump is legal; the function starts with the word
   0x00000013 (nop), so the half-word at +2 is 0x0000, the defined illegal
   compressed instruction: illegal-instruction fault (SIGILL), as under
   qemu-riscv64. */
#include "rt.h"

void misaligned_target(void);
asm(".section .text\n"
    ".balign 4\n"
    ".globl misaligned_target\n"
    ".type misaligned_target, @function\n"
    "misaligned_target:\n"
    "    addi x0, x0, 0\n"        /* 0x00000013: upper half-word 0x0000 */
    "    ret\n"
    ".size misaligned_target, . - misaligned_target\n");

int main(void) {
    put_str("about to jump to a misaligned address\n");
    rt_flush();
    u64 a = (u64)&misaligned_target + 2;
    asm volatile("jalr ra, 0(%0)" : : "r"(a) : "ra", "memory");
    put_str("not reached\n");
    return 0;
}
