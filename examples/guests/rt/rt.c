/* The guests' tiny runtime. */
#include "rt.h"

static long syscall3(long n, long a, long b, long c) {
    register long a0 asm("a0") = a;
    register long a1 asm("a1") = b;
    register long a2 asm("a2") = c;
    register long a7 asm("a7") = n;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

long sys_read(int fd, void *buf, size_t len) { return syscall3(63, fd, (long)buf, (long)len); }
long sys_write(int fd, const void *buf, size_t len) { return syscall3(64, fd, (long)buf, (long)len); }
void sys_exit(long code) {
    syscall3(93, code, 0, 0);
    for (;;) {}
}

int write_all(int fd, const void *buf, size_t len) {
    const u8 *p = buf;
    while (len > 0) {
        long n = sys_write(fd, p, len);   /* short writes are allowed */
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* 1 MiB: small enough for interpreters with 4 MiB of memory. */
static u8 input_buf[INPUT_MAX] SCRATCH;

size_t read_all(u8 **data) {
    size_t len = 0;
    while (len < INPUT_MAX) {
        long n = sys_read(0, input_buf + len, INPUT_MAX - len);   /* short reads too */
        if (n <= 0) break;
        len += (size_t)n;
    }
    *data = input_buf;
    return len;
}

static char out_buf[4096] SCRATCH;
static size_t out_len;

void rt_flush(void) {
    if (out_len) write_all(1, out_buf, out_len);
    out_len = 0;
}
void put_char(char c) {
    if (out_len == sizeof out_buf) rt_flush();
    out_buf[out_len++] = c;
}
void put_bytes(const void *p, size_t n) {
    const char *s = p;
    for (size_t i = 0; i < n; i++) put_char(s[i]);
}
void put_str(const char *s) { while (*s) put_char(*s++); }
void put_u64(u64 v) {
    char t[24];
    int i = 0;
    do { t[i++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (i) put_char(t[--i]);
}
void put_i64(i64 v) {
    if (v < 0) { put_char('-'); put_u64(-(u64)v); } else put_u64((u64)v);
}
void put_hex(u64 v) {
    for (int i = 60; i >= 0; i -= 4) put_char("0123456789abcdef"[(v >> i) & 15]);
}
void put_hex_bytes(const u8 *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        put_char("0123456789abcdef"[p[i] >> 4]);
        put_char("0123456789abcdef"[p[i] & 15]);
    }
}
void exit_with(long code) {
    rt_flush();
    sys_exit(code);
}

/* memcpy and memset copy 8 bytes at a time where the alignment allows it
   (the build passes -fno-tree-loop-distribute-patterns, so gcc does not
   turn these loops back into calls to themselves). */
typedef u64 __attribute__((may_alias)) word;

void *memcpy(void *d, const void *s, size_t n) {
    u8 *a = d; const u8 *b = s;
    if ((((u64)a ^ (u64)b) & 7) == 0) {
        while (n && ((u64)a & 7)) { *a++ = *b++; n--; }
        for (; n >= 8; n -= 8, a += 8, b += 8) *(word *)a = *(const word *)b;
    }
    while (n--) *a++ = *b++;
    return d;
}
void *memmove(void *d, const void *s, size_t n) {
    u8 *a = d; const u8 *b = s;
    if (a <= b || a >= b + n) return memcpy(d, s, n);   /* forward copy is safe */
    a += n; b += n;
    while (n--) *--a = *--b;
    return d;
}
void *memset(void *d, int c, size_t n) {
    u8 *a = d;
    while (n && ((u64)a & 7)) { *a++ = (u8)c; n--; }
    word w = (u8)c * 0x0101010101010101ull;
    for (; n >= 8; n -= 8, a += 8) *(word *)a = w;
    while (n--) *a++ = (u8)c;
    return d;
}
int memcmp(const void *x, const void *y, size_t n) {
    const u8 *a = x, *b = y;
    for (size_t i = 0; i < n; i++) if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}
size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

int parse_i64(const u8 **p, const u8 *end, i64 *out) {
    const u8 *s = *p;
    while (s < end && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r' || *s == ',')) s++;
    int neg = 0;
    if (s < end && (*s == '-' || *s == '+')) { neg = *s == '-'; s++; }
    if (s >= end || *s < '0' || *s > '9') { *p = s; return 0; }
    u64 v = 0;
    while (s < end && *s >= '0' && *s <= '9') v = v * 10 + (u64)(*s++ - '0');
    *out = (i64)(neg ? 0 - v : v);   /* wraps modulo 2^64, like the parse */
    *p = s;
    return 1;
}
