/* Start-up: zero .bss, call main, flush the output buffer and exit with
   main's return value.

   Both loaders (mswap, and Linux/qemu) hand over zero-filled memory past
   the file image, but the runtime does not rely on it for .bss. Large
   scratch buffers that are always written before they are read live in
   .noinit instead (see rt.h) and are not cleared here, which keeps the
   start-up cost to a few instructions per 8 bytes of real .bss.

   gp is not used (the guests link with --no-relax), so it stays 0.
   sp is set by the loader (16-byte aligned); argc/argv are ignored. */
    .section .text.start, "ax"
    .globl _start
    .type _start, @function
_start:
    la   t0, __bss_start     /* 8-byte aligned by guest.ld */
    la   t1, __bss_end       /* 8-byte aligned by guest.ld */
    j    2f
1:  sd   zero, 0(t0)
    addi t0, t0, 8
2:  bltu t0, t1, 1b
    call main
    mv   s0, a0              /* keep main's result across the flush */
    call rt_flush
    mv   a0, s0
    li   a7, 93              /* exit(a0) */
    ecall
3:  j    3b                  /* exit does not return */
    .size _start, . - _start
