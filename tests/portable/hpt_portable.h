/*
 * hpt_portable.h — the smallest test framework that runs everywhere the runtime
 * does: Linux x86-64/i386, Windows under the MinGW CRT, and freestanding
 * MSVC-ABI programs with no CRT at all. Criterion exists only for Linux x86-64,
 * so test programs for the other targets use this and print the closing line
 * "N passed, N failed" that the Criterion test running them asserts on.
 */
#ifndef HPT_PORTABLE_H
#define HPT_PORTABLE_H

#include <stddef.h>

/** Write a string to standard output. */
void hpt_out(const char *s);
/** printf subset: %s %c %d %u %x %ld %lu %lx %lld %llu %llx %zu %p %%. */
void hpt_outf(const char *fmt, ...);
/** Record one check; prints a line for a failure. Returns `ok`. */
int hpt_check(int ok, const char *expr, const char *file, int line);
/** Print the closing line and return the process exit status (0 = all passed). */
int hpt_finish(void);
/** Checks recorded so far that failed. */
unsigned hpt_failures(void);

#define HPT_CHECK(expr) hpt_check(!!(expr), #expr, __FILE__, __LINE__)

#endif /* HPT_PORTABLE_H */
