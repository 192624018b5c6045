/* A user-mode test environment for the official riscv-tests
   (https://github.com/riscv-software-src/riscv-tests), in place of its
   machine-mode "p" environment: no CSRs, no trap handler, no tohost. A
   test ends with the Linux exit system call: exit(0) when it passes,
   exit(TESTNUM) (the number of the failing case, never 0) when it fails,
   so the same ELF runs under mswap and qemu-riscv64. */
#ifndef MSWAP_RISCV_TEST_H
#define MSWAP_RISCV_TEST_H

#define RVTEST_RV64U .macro init; .endm
#define RVTEST_RV32U .macro init; .endm

#define TESTNUM gp

#define RVTEST_CODE_BEGIN   \
        .section .text.init, "ax"; \
        .align 6;           \
        .globl _start;      \
_start:                     \
        init;

#define RVTEST_CODE_END unimp

#define RVTEST_PASS         \
        li a0, 0;           \
        li a7, 93;          \
        ecall

#define RVTEST_FAIL         \
        fence;              \
1:      beqz TESTNUM, 1b;   \
        mv a0, TESTNUM;     \
        li a7, 93;          \
        ecall

#define EXTRA_DATA

#define RVTEST_DATA_BEGIN EXTRA_DATA .align 4; .global begin_signature; begin_signature:
#define RVTEST_DATA_END .align 4; .global end_signature; end_signature:

#endif
