/* hello: prints a greeting with one write and exits 0.
   Output: "Hello from RV64IM!\n". */
#include "rt.h"

int main(void) {
    static const char msg[] = "Hello from RV64IM!\n";
    write_all(1, msg, sizeof msg - 1);
    return 0;
}
