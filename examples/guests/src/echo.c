/* echo: reads all of its input and writes every line back reversed
   (byte by byte; the newline stays at the end of its line, a last line
   without a newline is reversed too and gets none), then "bytes: <N>\n"
   with the input length in decimal on stdout and "echo: done\n" on stderr.
   Exit code: the number of newlines in the input, modulo 256.
   Example: "ab\ncd" -> "ba\ndcbytes: 5\n", exit 1. */
#include "rt.h"

int main(void) {
    u8 *in;
    size_t n = read_all(&in);
    size_t lines = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || in[i] == '\n') {
            for (size_t k = i; k > start; k--) put_char((char)in[k - 1]);
            if (i < n) { put_char('\n'); lines++; }
            start = i + 1;
        }
    }
    put_str("bytes: ");
    put_u64(n);
    put_char('\n');
    rt_flush();
    static const char note[] = "echo: done\n";
    write_all(2, note, sizeof note - 1);
    return (int)(lines % 256);
}
