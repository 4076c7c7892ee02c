/*
 * hp_test.h — what the runtime's test cases share on every target: checks on
 * top of the portable framework (tests/portable/hpt_portable.h: no stdio, no
 * CRT needed), threads, a clock and an independent W+X scan (hp_test_os.c).
 * The same case functions run in the portable programs (main.c) and in the
 * Criterion suites on Linux x86-64 (tests/runtime/test_engine.c, …).
 */
#ifndef HP_TEST_H
#define HP_TEST_H

#include <stddef.h>
#include <stdint.h>

#if defined(HP_FREESTANDING)
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#else
#include <string.h>
#endif

#include "hotpatch.h"
#include "hpt_portable.h"

/* A check with a message (hpt_outf formats: %s %d %u %x %ld %lu %lx %lld %llu %llx %zu %p). */
#define HP_CHECK(cond, ...)                                          \
    do {                                                             \
        if (!hpt_check(!!(cond), #cond, __FILE__, __LINE__)) {       \
            hpt_outf("    ");                                        \
            hpt_outf(__VA_ARGS__);                                   \
            hpt_outf("\n");                                          \
        }                                                            \
    } while (0)

#define HP_CHECK_ST(expr, want)                                                          \
    do {                                                                                 \
        hp_status st_ = (expr);                                                          \
        HP_CHECK(st_ == (want), "%s is %s, want %s", #expr, hp_status_str(st_),          \
                 hp_status_str(want));                                                   \
    } while (0)

typedef struct hp_test_case {
    const char *name;
    void (*fn)(void);
} hp_test_case;

/* hp_test_os.c */
typedef struct hp_thread {
    void *h; /* HANDLE or pthread_t (stored by value) */
    uintptr_t id;
} hp_thread;
typedef void (*hp_thread_fn)(void *arg);
/** Start fn(arg) on a new thread; 0 on success. */
int hp_thread_create(hp_thread *t, hp_thread_fn fn, void *arg);
void hp_thread_join(hp_thread *t);
/** Let other threads of the process go first (stress callers: the patching thread must not starve). */
void hp_thread_lower_priority(void);
/** Give the processor to another ready thread. */
void hp_thread_yield(void);
/** Monotonic microseconds. */
unsigned long long hp_now_us(void);
/** Writable+executable mappings of this process (Linux /proc/self/maps, Windows VirtualQuery). */
unsigned hp_test_count_wx(void);

/* Write bytes into code as a foreign tool would (protection changed around the write); 1 on success. */
int hp_test_poke_code(void *at, const void *bytes, size_t n);

/* Page protections as the tests see them, from the OS (not the runtime's own layer). */
#define HP_TEST_R 1u
#define HP_TEST_W 2u
#define HP_TEST_X 4u
/** Protection of the page holding `p` (HP_TEST_*); 0 when it is not mapped. */
unsigned hp_test_page_prot(const void *p);
/** Set the protection of the page holding `p` (HP_TEST_*, never W and X together); 1 on success. */
int hp_test_set_page_prot(void *p, unsigned prot);
/**
 * Map `size` bytes of read/write memory at exactly `at` (NULL: anywhere); NULL when that fails.
 * Windows: one allocation of its own (VirtualAlloc). Unmap with hp_test_unmap().
 */
void *hp_test_map(void *at, size_t size);
/** Map `size` bytes of read/write memory within 1 GiB below `close_to` (for a hook's relay); NULL when none. */
void *hp_test_map_near(const void *close_to, size_t size);
void hp_test_unmap(void *p, size_t size);

/** Windows: the address a DLL of this process exports under `name` (GetProcAddress); NULL elsewhere. */
void *hp_test_dll_export(const char *dll, const char *name);

/** The directory of this program, without a trailing separator, into buf; 0 on failure. */
int hp_test_exe_dir(char *buf, size_t size);
/** Load a library (dlopen RTLD_NOW / LoadLibrary); NULL on failure. */
void *hp_test_lib_open(const char *path);
/** An exported symbol of a library hp_test_lib_open() loaded (dlsym / GetProcAddress); NULL when none. */
void *hp_test_lib_sym(void *lib, const char *name);
void hp_test_lib_close(void *lib);
/** Is the library at `path` loaded (dlopen RTLD_NOLOAD / GetModuleHandle of its file name)? */
int hp_test_lib_loaded(const char *path);

/** Run the cases; a case fails on a failed check or when it leaves more W+X mappings than before. */
int hp_test_main(const char *prog, const hp_test_case *cases, size_t n);

#endif /* HP_TEST_H */
