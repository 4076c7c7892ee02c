/*
 * hp_libc.h — the few C library functions the runtime uses. Freestanding
 * builds (the MSVC-ABI target without a CRT) have no <string.h>: the program
 * (or crt_min.c in hotpatch.dll) provides these three.
 */
#ifndef HP_LIBC_H
#define HP_LIBC_H

#include <stddef.h>

#if defined(HP_FREESTANDING)
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#else
#include <string.h>
#endif

#endif /* HP_LIBC_H */
