/* hello: writes "Hello from RV64IM!\n" to stdout with one write_all (one
   write system call) and exits 0. Ignores its input. The smallest guest:
   46 instructions from _start to exit. */
#include "rt.h"

int main(void) {
    static const char msg[] = "Hello from RV64IM!\n";
    write_all(1, msg, sizeof msg - 1);
    return 0;
}
