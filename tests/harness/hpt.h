/*
 * hpt.h — the host test harness: run programs (natively, under Wine, under
 * qemu-i386) with a timeout and captured output, and compile C fixtures with
 * clang-19 for a target at test time. Used by the Criterion suites.
 */
#ifndef HPT_H
#define HPT_H

#include <stdbool.h>
#include <stddef.h>

#include "hpt_config.h"

/** The outcome of one program run. Free with hpt_proc_free(). */
typedef struct hpt_proc {
    int status;      /**< exit status; 128 + signal number when killed by a signal; -1 when it could not start */
    bool timed_out;  /**< killed after the timeout */
    char *out;       /**< captured stdout, NUL-terminated (never NULL after hpt_run) */
    size_t out_len;
    char *err;       /**< captured stderr, NUL-terminated */
    size_t err_len;
} hpt_proc;

/**
 * Run argv[0] (a path or a name on PATH) with argv, extra environment entries
 * ("NAME=value", NULL-terminated list, may be NULL), a timeout in seconds.
 * @return 0 when the program ran (whatever its status), -1 when it could not be started.
 */
int hpt_run(const char *const argv[], const char *const env[], unsigned timeout_s, hpt_proc *out);

/** Run a Windows program under Wine (private prefix HPT_WINEPREFIX, WINEDEBUG=-all). */
int hpt_run_wine(const char *const argv[], unsigned timeout_s, hpt_proc *out);

/** Run a Linux i386 program under qemu-i386. */
int hpt_run_i386(const char *const argv[], unsigned timeout_s, hpt_proc *out);

/**
 * Compile/link with clang-19 for `triple` ("x86_64-w64-mingw32", "i686-w64-mingw32",
 * "x86_64-pc-windows-msvc", "x86_64-linux-gnu", "i386-linux-gnu"): runs
 * `clang-19 --target=<triple> args...` (for i386-linux-gnu: `-m32`), and for the MSVC target
 * adds the freestanding flags. On failure the compiler's stderr is in out->err.
 * @return the compiler's exit status (0 = success).
 */
int hpt_cc(const char *triple, const char *const args[], hpt_proc *out);

/** Free what hpt_run() captured; NULL-safe. */
void hpt_proc_free(hpt_proc *p);

/** A fresh, empty scratch directory for one test: <build>/tests/scratch/<name>. Returns a static buffer. */
const char *hpt_scratch(const char *name);

/** Read a whole file; returns a malloc'd buffer (caller frees) and its size, or NULL. */
unsigned char *hpt_read_file(const char *path, size_t *size);

#endif /* HPT_H */
