/* The guests' tiny runtime: the three system calls, buffered output and
   a few helpers. Freestanding: no libc. */
#ifndef RT_H
#define RT_H

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;
typedef unsigned long size_t;

/* Puts a static buffer in .noinit: not cleared by crt0 (both loaders still
   hand it over zero-filled). Only for buffers that are always written
   before they are read, so that start-up does not spend instructions
   clearing megabytes. */
#define SCRATCH __attribute__((section(".noinit")))

long sys_read(int fd, void *buf, size_t len);
long sys_write(int fd, const void *buf, size_t len);
void sys_exit(long code) __attribute__((noreturn));

/* Writes all bytes, looping over short writes; returns 0 or -1. */
int write_all(int fd, const void *buf, size_t len);
/* Reads all of standard input (at most INPUT_MAX bytes; the rest is left
   unread) into a static buffer; returns its length. */
#define INPUT_MAX (1u << 20)
size_t read_all(u8 **data);

/* Buffered standard output. */
void put_char(char c);
void put_str(const char *s);
void put_bytes(const void *p, size_t n);
void put_u64(u64 v);
void put_i64(i64 v);
void put_hex(u64 v);          /* 16 hex digits */
void put_hex_bytes(const u8 *p, size_t n);
void rt_flush(void);
void exit_with(long code) __attribute__((noreturn)); /* flush, then exit */

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Parses a decimal integer with an optional sign at *p, after skipping
   spaces, tabs, newlines and commas; advances *p past it. Returns 0 (and
   leaves *p at the offending byte) if there is none. Values wrap modulo
   2^64. */
int parse_i64(const u8 **p, const u8 *end, i64 *out);

#endif
