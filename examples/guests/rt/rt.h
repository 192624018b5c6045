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

long sys_read(int fd, void *buf, size_t len);
long sys_write(int fd, const void *buf, size_t len);
void sys_exit(long code) __attribute__((noreturn));

/* Writes all bytes, looping over short writes; returns 0 or -1. */
int write_all(int fd, const void *buf, size_t len);
/* Reads all of standard input into a static buffer; returns its length. */
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

/* Parses a decimal (optionally signed) integer at *p, skipping spaces; 0 if none. */
int parse_i64(const u8 **p, const u8 *end, i64 *out);

#endif
