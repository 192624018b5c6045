/* sort: reads whitespace- (or comma-) separated signed 64-bit decimal
   integers from its input, up to 200000 of them, stopping at the first
   token that is not a number. If there is none (e.g. empty input) it makes
   20000 numbers in [-10^6, 10^6] with an xorshift64 generator instead.
   Merge-sorts them (top-down, with a scratch array) and prints:
       count: <n>
       min: <smallest>          (only if n > 0)
       max: <largest>           (only if n > 0)
       checksum: <16 hex digits: sum = sum * 31 + value, in sorted order>
       first: <the first ten sorted values, space-separated>
   Exit code 0 if the result checks sorted, 1 otherwise. */
#include "rt.h"

#define MAX 200000
static i64 a[MAX] SCRATCH, tmp[MAX] SCRATCH;   /* written before read: not cleared */

static void merge_sort(i64 *v, i64 *t, size_t n) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(v, t, h);
    merge_sort(v + h, t, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) t[k++] = v[i] <= v[j] ? v[i++] : v[j++];
    while (i < h) t[k++] = v[i++];
    while (j < n) t[k++] = v[j++];
    memcpy(v, t, n * sizeof *v);
}

int main(void) {
    u8 *in;
    size_t len = read_all(&in);
    const u8 *p = in, *end = in + len;
    size_t n = 0;
    while (n < MAX && parse_i64(&p, end, &a[n])) n++;
    if (n == 0) {
        u64 x = 88172645463325252ull;
        for (n = 0; n < 20000; n++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            a[n] = (i64)(x % 2000001) - 1000000;
        }
    }
    merge_sort(a, tmp, n);
    u64 sum = 0;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        sum = sum * 31 + (u64)a[i];
        if (i && a[i - 1] > a[i]) ok = 0;
    }
    put_str("count: "); put_u64(n); put_char('\n');
    if (n) {
        put_str("min: "); put_i64(a[0]); put_char('\n');
        put_str("max: "); put_i64(a[n - 1]); put_char('\n');
    }
    put_str("checksum: "); put_hex(sum); put_char('\n');
    put_str("first:");
    for (size_t i = 0; i < n && i < 10; i++) { put_char(' '); put_i64(a[i]); }
    put_char('\n');
    return ok ? 0 : 1;
}
