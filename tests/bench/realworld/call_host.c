/*
 * call_host.c — the cost of calling one cheap export of a DLL (Windows x64,
 * run under Wine by realworld.sh):
 *
 *   call_host KIND CALLS REPS DLL
 *
 * KIND is the export, called in a tight loop through the pointer
 * GetProcAddress gave (one indirect call, as a call through the import table):
 *   adler32                     zlib: adler32(1, 16-byte buffer, 16)
 *   lua_gettop                  Lua: lua_gettop(L) of a fresh luaL_newstate()
 *   sqlite3_libversion_number   SQLite: sqlite3_libversion_number()
 * REPS timed loops of CALLS calls each (CALLS 0: a count that takes about
 * 40 ms, found first). Output:
 *
 *   call kind=K calls=N reps=R base=0x... entry=0x... check=...
 *   percall median_ns=.. p25_ns=.. p75_ns=.. min_ns=.. max_ns=..
 *
 * One DLL per process, on purpose: under Wine a second DLL that wants the
 * same preferred base is relocated to a low address, and calls into it
 * measured up to 1.6x slower than into the first for byte-identical code, so
 * builds compared in one process measure where they were loaded, not what
 * they are. The caller compares processes (realworld.sh alternates them).
 * Exit 0, or 2 with a message when the DLL or its export cannot be loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#define MAX_REPS 1001

typedef unsigned long (*adler32_fn)(unsigned long, const unsigned char *, unsigned);
typedef int (*gettop_fn)(void *);
typedef void *(*newstate_fn)(void);
typedef void (*close_fn)(void *);
typedef int (*version_fn)(void);

enum kind { K_ADLER32, K_GETTOP, K_VERSION };

static const unsigned char g_buf[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static FARPROC resolve(HMODULE m, const char *path, const char *name)
{
    FARPROC p = GetProcAddress(m, name);
    if (!p) {
        fprintf(stderr, "call_host: %s has no export '%s'\n", path, name);
        exit(2);
    }
    return p;
}

/* CALLS calls of the export; returns a value that depends on every result */
static unsigned long long run(enum kind k, FARPROC fn, void *state, long long calls)
{
    unsigned long long sum = 0;
    if (k == K_ADLER32) {
        adler32_fn f;
        memcpy(&f, &fn, sizeof f);
        for (long long i = 0; i < calls; i++)
            sum += f(1, g_buf, (unsigned)sizeof g_buf);
    } else if (k == K_GETTOP) {
        gettop_fn f;
        memcpy(&f, &fn, sizeof f);
        for (long long i = 0; i < calls; i++)
            sum += (unsigned)f(state);
    } else {
        version_fn f;
        memcpy(&f, &fn, sizeof f);
        for (long long i = 0; i < calls; i++)
            sum += (unsigned)f();
    }
    return sum;
}

static double now_s(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)freq.QuadPart;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the q-quantile (0..1) of n sorted values, interpolated */
static double quantile(const double *v, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;
    if (i >= n - 1)
        return v[n - 1];
    return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: call_host adler32|lua_gettop|sqlite3_libversion_number CALLS REPS DLL\n");
        return 2;
    }
    enum kind k;
    const char *export_name = argv[1], *path = argv[4];
    if (strcmp(export_name, "adler32") == 0)
        k = K_ADLER32;
    else if (strcmp(export_name, "lua_gettop") == 0)
        k = K_GETTOP;
    else if (strcmp(export_name, "sqlite3_libversion_number") == 0)
        k = K_VERSION;
    else {
        fprintf(stderr, "call_host: unknown kind '%s'\n", export_name);
        return 2;
    }
    char *end;
    long long calls = strtoll(argv[2], &end, 10);
    if (*end || calls < 0) {
        fprintf(stderr, "call_host: CALLS '%s' is not a count (0: find one)\n", argv[2]);
        return 2;
    }
    long reps = strtol(argv[3], &end, 10);
    if (*end || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "call_host: REPS '%s' is not 1..%d\n", argv[3], MAX_REPS);
        return 2;
    }
    HMODULE m = LoadLibraryA(path);
    if (!m) {
        fprintf(stderr, "call_host: cannot load %s: error %lu\n", path, (unsigned long)GetLastError());
        return 2;
    }
    /* a DLL named like one of Wine's builtins (zlib1.dll) is replaced by the builtin: refuse to measure that */
    char loaded[MAX_PATH];
    DWORD len = GetModuleFileNameA(m, loaded, sizeof loaded);
    if (len == 0 || len >= sizeof loaded || _stricmp(loaded, path) != 0) {
        fprintf(stderr, "call_host: asked for %s but the loader gave %s (a builtin DLL of that name?)\n", path,
                len ? loaded : "(no name)");
        return 2;
    }
    FARPROC fn = resolve(m, path, export_name), close = NULL;
    void *state = NULL;
    if (k == K_GETTOP) {
        newstate_fn ns;
        FARPROC p = resolve(m, path, "luaL_newstate");
        memcpy(&ns, &p, sizeof ns);
        close = resolve(m, path, "lua_close");
        state = ns();
        if (!state) {
            fprintf(stderr, "call_host: luaL_newstate of %s failed\n", path);
            return 2;
        }
    }
    SetThreadAffinityMask(GetCurrentThread(), 1);

    unsigned long long check = run(k, fn, state, 100000); /* warm-up: pages, caches, predictors */
    if (calls == 0) {
        calls = 100000;
        for (;;) {
            double t0 = now_s();
            check += run(k, fn, state, calls);
            double t = now_s() - t0;
            if (t >= 0.04 || calls >= (1LL << 40))
                break;
            calls = t < 0.004 ? calls * 10 : (long long)((double)calls * 0.045 / t);
        }
    }
    static double ns[MAX_REPS];
    for (long r = 0; r < reps; r++) {
        double t0 = now_s();
        check += run(k, fn, state, calls);
        ns[r] = (now_s() - t0) * 1e9 / (double)calls;
    }
    qsort(ns, (size_t)reps, sizeof *ns, cmp_double);
    int n = (int)reps;
    printf("call kind=%s calls=%lld reps=%ld base=%p entry=%p check=%llu\n", export_name, calls, reps, (void *)m,
           (void *)(uintptr_t)fn, check);
    printf("percall median_ns=%.4f p25_ns=%.4f p75_ns=%.4f min_ns=%.4f max_ns=%.4f\n", quantile(ns, n, 0.5),
           quantile(ns, n, 0.25), quantile(ns, n, 0.75), ns[0], ns[n - 1]);
    if (state) {
        close_fn c;
        memcpy(&c, &close, sizeof c);
        c(state);
    }
    return 0;
}
