/*
 * bench_runtime_windows.c — the patch engine on Windows x64 (run under Wine)
 * against its floor, measured in the same run, with 1 and then 8 busy worker
 * threads calling the patched functions the whole time.
 *
 * The floor of an operation is the system work of the pages that operation
 * has to touch, as issue 17 defines it: one VirtualProtect pair per page (code
 * pages RX -> RWX -> RX, slot pages R -> RW -> R) and one FlushInstructionCache
 * per code page (slots are data: no flush), plus the two cross-core syncs of
 * a call (FlushProcessWriteBuffers). The pages are the engine's own: the code
 * pages of the targets and the runtime's slot pages, found from the padding
 * jumps (FF 25 disp32 at E-6 reads its slot at E + disp32). (The engine
 * changes a run of neighbouring pages of one protection with one call each way,
 * so a second table gives, for the transactions, the floor of one call per
 * run and what the engine's own work per function is beyond it.)
 * Operations and the pages they must touch:
 *   hp_apply, new replacement    the code page and the slot page
 *   hp_apply, same replacement   the code page (the slot already holds it)
 *   hp_remove                    the code page
 *   transaction of 2,000 applies its code pages and its slot pages (each apply
 *                                has a new replacement)
 *   transaction of 2,000 removes its code pages
 * Engine and floor are measured alternately, one sample each per iteration
 * (the order swapped every iteration), on the same pages; each figure is the
 * median of its samples, and the ratio is median over median. The workers
 * check every result (the original's or a replacement's) and count their
 * calls: a stalled worker or a wrong result fails the run like a missed target.
 *
 * Prints the table (runtime, floor beside it, ratio, target <= 2x) and exits
 * 1 when a target is missed. Label "bench": scripts/bench runs it, the normal
 * test run never does.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "gen_functions.h"
#include "hotpatch.h"

#define PAGE 4096u
#define PAGE_OF(a) ((uintptr_t)(a) & ~(uintptr_t)(PAGE - 1u))
#define FP(f) ((void *)(uintptr_t)(f))

#define TXN_COUNT 2000   /* functions in the transaction */
#define ONE_REPS 1500    /* samples per single-function operation */
#define TXN_REPS 60      /* samples per transaction */
#define MAX_WORKERS 8
#define TARGET 2.0

typedef int (*fn_int)(int);

static int rep_a(int x) { return x + 1000000; }
static int rep_b(int x) { return x + 2000000; }

/* ------------------------------------------------------------------------- */
/* Clock and statistics                                                       */
/* ------------------------------------------------------------------------- */

static double g_tick; /* seconds per QueryPerformanceCounter tick */

static double now(void)
{
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart * g_tick;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = s[n / 2];
    free(s);
    return m;
}

/* ------------------------------------------------------------------------- */
/* Workers                                                                    */
/* ------------------------------------------------------------------------- */

static volatile LONG g_stop;
static volatile LONG64 g_calls[MAX_WORKERS];
static volatile LONG64 g_wrong[MAX_WORKERS];

/* A result is right when it is the original's (x + k) or a replacement's. */
static int right(int x, int k, int r)
{
    return r == x + k || r == x + 1000000 || r == x + 2000000;
}

static DWORD WINAPI worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    LONG64 calls = 0, wrong = 0;
    int x = id * 7919, k = id * 263;
    while (!g_stop) {
        for (int i = 0; i < 256; i++) {
            x = (x + 13) & 0xFFFF;
            k = k + 1 == TXN_COUNT ? 0 : k + 1;
            fn_int volatile g = hp_gen_table[k];
            fn_int volatile f = fx_nop6_4;
            wrong += !right(x, k, g(x));
            wrong += !right(x, 4, f(x));
        }
        calls += 512;
        g_calls[id] = calls; /* published as it goes: a stalled worker shows as a count that stops */
    }
    g_wrong[id] = wrong;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* The floor                                                                  */
/* ------------------------------------------------------------------------- */

/* The floor of one call touching code pages code[0..ncode) and slot pages slots[0..nslots). */
static double floor_commit(const uintptr_t *code, size_t ncode, const uintptr_t *slots, size_t nslots)
{
    DWORD old;
    double t = now();
    for (size_t i = 0; i < ncode; i++)
        VirtualProtect((void *)code[i], PAGE, PAGE_EXECUTE_READWRITE, &old);
    for (size_t i = 0; i < nslots; i++)
        VirtualProtect((void *)slots[i], PAGE, PAGE_READWRITE, &old);
    FlushProcessWriteBuffers();
    FlushProcessWriteBuffers();
    for (size_t i = 0; i < ncode; i++) {
        FlushInstructionCache(GetCurrentProcess(), (void *)code[i], PAGE);
        VirtualProtect((void *)code[i], PAGE, PAGE_EXECUTE_READ, &old);
    }
    for (size_t i = 0; i < nslots; i++)
        VirtualProtect((void *)slots[i], PAGE, PAGE_READONLY, &old);
    return now() - t;
}

/* The same with one VirtualProtect pair (and one FlushInstructionCache) per run of neighbouring pages. */
static double floor_commit_runs(const uintptr_t *code, size_t ncode, const uintptr_t *slots, size_t nslots)
{
    DWORD old;
    size_t i, k;
    double t = now();
    for (i = 0; i < ncode; i += k) {
        for (k = 1; i + k < ncode && code[i + k] == code[i] + k * PAGE;)
            k++;
        VirtualProtect((void *)code[i], k * PAGE, PAGE_EXECUTE_READWRITE, &old);
    }
    for (i = 0; i < nslots; i += k) {
        for (k = 1; i + k < nslots && slots[i + k] == slots[i] + k * PAGE;)
            k++;
        VirtualProtect((void *)slots[i], k * PAGE, PAGE_READWRITE, &old);
    }
    FlushProcessWriteBuffers();
    FlushProcessWriteBuffers();
    for (i = 0; i < ncode; i += k) {
        for (k = 1; i + k < ncode && code[i + k] == code[i] + k * PAGE;)
            k++;
        FlushInstructionCache(GetCurrentProcess(), (void *)code[i], k * PAGE);
        VirtualProtect((void *)code[i], k * PAGE, PAGE_EXECUTE_READ, &old);
    }
    for (i = 0; i < nslots; i += k) {
        for (k = 1; i + k < nslots && slots[i + k] == slots[i] + k * PAGE;)
            k++;
        VirtualProtect((void *)slots[i], k * PAGE, PAGE_READONLY, &old);
    }
    return now() - t;
}

/* The slot page of a patched function: its padding jump FF 25 disp32 at E-6 reads E + disp32. */
static uintptr_t slot_page_of(const void *f)
{
    volatile uintptr_t a = (uintptr_t)f; /* bytes before a function: through an opaque integer */
    const uint8_t *e = (const uint8_t *)a;
    int32_t disp;
    if (e[-6] != 0xFF || e[-5] != 0x25)
        return 0;
    memcpy(&disp, e - 4, 4);
    return PAGE_OF((uintptr_t)e + (intptr_t)disp);
}

/* Add `page` to the sorted, unique pages[0..*n). */
static void add_page(uintptr_t *pages, size_t *n, uintptr_t page)
{
    size_t i = *n;
    while (i > 0 && pages[i - 1] > page)
        i--;
    if (i > 0 && pages[i - 1] == page)
        return;
    memmove(pages + i + 1, pages + i, (*n - i) * sizeof *pages);
    pages[i] = page;
    (*n)++;
}

/* ------------------------------------------------------------------------- */
/* Measurements                                                               */
/* ------------------------------------------------------------------------- */

typedef struct row {
    const char *op;
    const char *pages;
    int workers;
    double engine, floor, floor_runs; /* medians, seconds */
} row;

static row g_rows[16];
static int g_nrows;
static int g_failed;

/* One row: the runtime's samples e, the floor's f, and the floor of one call per run fr. */
static void add_row(const char *op, const char *pages, int workers, const double *e, const double *f,
                    const double *fr, int n)
{
    row *r = &g_rows[g_nrows++];
    r->op = op;
    r->pages = pages;
    r->workers = workers;
    r->engine = median(e, n);
    r->floor = median(f, n);
    r->floor_runs = median(fr, n);
}

static double g_e_apply_new[ONE_REPS], g_f_apply_new[ONE_REPS];
static double g_e_apply_same[ONE_REPS], g_f_apply_same[ONE_REPS];
static double g_e_remove[2 * ONE_REPS], g_f_remove[2 * ONE_REPS];
static double g_e_probe[ONE_REPS], g_e_probe_removed[ONE_REPS];
static double g_e_txn_apply[TXN_REPS], g_f_txn_apply[TXN_REPS], g_fr_txn_apply[TXN_REPS];
static double g_e_txn_remove[TXN_REPS], g_f_txn_remove[TXN_REPS], g_fr_txn_remove[TXN_REPS];
static hp_patch *g_p[TXN_COUNT];
static uintptr_t g_txn_pages[2 * TXN_COUNT], g_txn_slot_pages[TXN_COUNT];
static size_t g_ntxn_pages, g_ntxn_slot_pages;
static uintptr_t g_one_slot_page;

static int check(hp_status st, const char *what)
{
    if (st != HP_OK) {
        fprintf(stderr, "bench_runtime_windows: %s: %s\n", what, hp_status_str(st));
        g_failed = 1;
        return 0;
    }
    return 1;
}

static void measure_one(int workers)
{
    void *f = FP(fx_nop6_4);
    uintptr_t code = PAGE_OF(f);
    hp_patch *p = NULL;
    int nr = 0;
    for (int i = 0; i < ONE_REPS; i++) {
        int engine_first = i & 1;
        for (int half = 0; half < 2; half++) {
            if (half == !engine_first) {
                /* a new replacement: the slot must be written */
                double t = now();
                hp_status st = hp_apply(f, FP((i & 1) ? rep_a : rep_b), NULL, &p);
                g_e_apply_new[i] = now() - t;
                if (!check(st, "hp_apply"))
                    return;
                t = now();
                st = hp_remove(p);
                g_e_remove[nr] = now() - t;
                if (!check(st, "hp_remove"))
                    return;
            } else {
                g_f_apply_new[i] = floor_commit(&code, 1, &g_one_slot_page, 1);
                g_f_remove[nr] = floor_commit(&code, 1, NULL, 0);
            }
        }
        nr++;
    }
    /* the same replacement again and again: the slot already holds it */
    check(hp_apply(f, FP(rep_a), NULL, &p), "hp_apply");
    check(hp_remove(p), "hp_remove");
    for (int i = 0; i < ONE_REPS; i++) {
        int engine_first = i & 1;
        for (int half = 0; half < 2; half++) {
            if (half == !engine_first) {
                double t = now();
                hp_status st = hp_apply(f, FP(rep_a), NULL, &p);
                g_e_apply_same[i] = now() - t;
                if (!check(st, "hp_apply"))
                    return;
                /* hp_probe of a patched function and of a removed one: no system call at all */
                hp_site s;
                t = now();
                hp_probe(f, &s);
                g_e_probe[i] = now() - t;
                t = now();
                st = hp_remove(p);
                g_e_remove[nr] = now() - t;
                if (!check(st, "hp_remove"))
                    return;
                t = now();
                hp_probe(f, &s);
                g_e_probe_removed[i] = now() - t;
            } else {
                g_f_apply_same[i] = floor_commit(&code, 1, NULL, 0);
                g_f_remove[nr] = floor_commit(&code, 1, NULL, 0);
            }
        }
        nr++;
    }
    /* one page of each kind: one run each, the two floors are one */
    add_row("hp_apply, one function, new replacement", "code + slot page", workers, g_e_apply_new, g_f_apply_new,
            g_f_apply_new, ONE_REPS);
    add_row("hp_apply, one function, same replacement", "code page", workers, g_e_apply_same, g_f_apply_same,
            g_f_apply_same, ONE_REPS);
    add_row("hp_remove, one function", "code page", workers, g_e_remove, g_f_remove, g_f_remove, nr);
    double probe = median(g_e_probe, ONE_REPS), probe_removed = median(g_e_probe_removed, ONE_REPS);
    printf("  hp_probe (no system call), %d worker(s): patched %.2f us, removed %.2f us; hp_apply (same replacement) "
           "%.2f us\n",
           workers, probe * 1e6, probe_removed * 1e6, median(g_e_apply_same, ONE_REPS) * 1e6);
}

static void measure_txn(int workers)
{
    for (int r = 0; r < TXN_REPS; r++) {
        int engine_first = r & 1;
        for (int half = 0; half < 2; half++) {
            if (half == !engine_first) {
                hp_txn *t;
                fn_int rep = (r & 1) ? rep_a : rep_b; /* every apply writes its slot */
                double a = now();
                hp_txn_begin(&t);
                for (int i = 0; i < TXN_COUNT; i++)
                    hp_txn_apply(t, FP(hp_gen_table[i]), FP(rep), NULL, &g_p[i]);
                hp_status st = hp_txn_commit(t);
                g_e_txn_apply[r] = now() - a;
                if (!check(st, "2,000-function commit"))
                    return;
                a = now();
                hp_txn_begin(&t);
                for (int i = 0; i < TXN_COUNT; i++)
                    hp_txn_remove(t, g_p[i]);
                st = hp_txn_commit(t);
                g_e_txn_remove[r] = now() - a;
                if (!check(st, "2,000-function removal"))
                    return;
            } else {
                g_f_txn_apply[r] = floor_commit(g_txn_pages, g_ntxn_pages, g_txn_slot_pages, g_ntxn_slot_pages);
                g_f_txn_remove[r] = floor_commit(g_txn_pages, g_ntxn_pages, NULL, 0);
                g_fr_txn_apply[r] =
                    floor_commit_runs(g_txn_pages, g_ntxn_pages, g_txn_slot_pages, g_ntxn_slot_pages);
                g_fr_txn_remove[r] = floor_commit_runs(g_txn_pages, g_ntxn_pages, NULL, 0);
            }
        }
    }
    add_row("transaction of 2,000 applies", "code + slot pages", workers, g_e_txn_apply, g_f_txn_apply,
            g_fr_txn_apply, TXN_REPS);
    add_row("transaction of 2,000 removes", "code pages", workers, g_e_txn_remove, g_f_txn_remove, g_fr_txn_remove,
            TXN_REPS);
}

static void run_with_workers(int n)
{
    HANDLE th[MAX_WORKERS];
    LONG64 seen[MAX_WORKERS];
    g_stop = 0;
    for (int i = 0; i < n; i++) {
        g_calls[i] = g_wrong[i] = 0;
        th[i] = CreateThread(NULL, 0, worker, (void *)(intptr_t)i, 0, NULL);
    }
    Sleep(20); /* every worker running */
    measure_one(n);
    for (int i = 0; i < n; i++)
        seen[i] = g_calls[i];
    measure_txn(n);
    g_stop = 1;
    WaitForMultipleObjects((DWORD)n, th, TRUE, INFINITE);
    LONG64 calls = 0, wrong = 0;
    int stalled = 0;
    for (int i = 0; i < n; i++) {
        CloseHandle(th[i]);
        calls += g_calls[i];
        wrong += g_wrong[i];
        stalled += g_calls[i] == seen[i]; /* made no call during the whole transaction phase */
    }
    printf("  %d worker(s): %lld calls, %lld wrong results, %d stalled\n", n, (long long)calls, (long long)wrong,
           stalled);
    if (wrong != 0 || stalled != 0)
        g_failed = 1;
}

int main(void)
{
    LARGE_INTEGER freq;
    QueryPerformanceFrequency(&freq);
    g_tick = 1.0 / (double)freq.QuadPart;
    setvbuf(stdout, NULL, _IONBF, 0);

    /* The code pages the 2,000-function transaction touches: the entry [E, E+2) (the padding
       [E-6, E) was written by the first use below and is not written again). */
    for (int i = 0; i < TXN_COUNT; i++)
        add_page(g_txn_pages, &g_ntxn_pages, PAGE_OF((uintptr_t)hp_gen_table[i]));
    add_page(g_txn_pages, &g_ntxn_pages, PAGE_OF((uintptr_t)hp_gen_table[TXN_COUNT - 1] + 1));

    /* First use of every site (records, slots) outside the measurement: the steady state is measured. */
    hp_txn *t;
    hp_patch *p;
    hp_txn_begin(&t);
    for (int i = 0; i < TXN_COUNT; i++)
        hp_txn_apply(t, FP(hp_gen_table[i]), FP(rep_a), NULL, &g_p[i]);
    if (!check(hp_txn_commit(t), "first commit"))
        return 1;
    hp_txn_begin(&t);
    for (int i = 0; i < TXN_COUNT; i++)
        hp_txn_remove(t, g_p[i]);
    if (!check(hp_txn_commit(t), "first removal") || !check(hp_apply(FP(fx_nop6_4), FP(rep_a), NULL, &p), "hp_apply") ||
        !check(hp_remove(p), "hp_remove"))
        return 1;
    /* the slot pages, from the padding jumps the first use wrote */
    for (int i = 0; i < TXN_COUNT; i++)
        add_page(g_txn_slot_pages, &g_ntxn_slot_pages, slot_page_of(FP(hp_gen_table[i])));
    g_one_slot_page = slot_page_of(FP(fx_nop6_4));
    if (g_one_slot_page == 0 || g_txn_slot_pages[0] == 0) {
        fprintf(stderr, "bench_runtime_windows: a padding jump is not FF 25 disp32\n");
        return 1;
    }

    printf("bench_runtime_windows: libhotpatch %s, %d functions in the transaction (%zu code pages, %zu slot "
           "pages), medians of %d / %d samples\n",
           hp_version(), TXN_COUNT, g_ntxn_pages, g_ntxn_slot_pages, ONE_REPS, TXN_REPS);
    static const int worker_counts[] = {1, 8};
    for (size_t k = 0; k < sizeof worker_counts / sizeof worker_counts[0]; k++)
        run_with_workers(worker_counts[k]);

    printf("\n| operation | pages touched | workers | runtime | floor | ratio | target |\n");
    printf("|---|---|---|---|---|---|---|\n");
    int missed = 0;
    for (int i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        double ratio = r->engine / r->floor;
        int ok = ratio <= TARGET;
        missed += !ok;
        printf("| %s | %s | %d | %.1f us | %.1f us | %.2fx | <= %.0fx %s |\n", r->op, r->pages, r->workers,
               r->engine * 1e6, r->floor * 1e6, ratio, TARGET, ok ? "met" : "MISSED");
    }
    printf("\n| transaction | workers | runtime | floor, one call per run of pages | engine's own work per function |\n");
    printf("|---|---|---|---|---|\n");
    for (int i = 0; i < g_nrows; i++) {
        const row *r = &g_rows[i];
        if (r->floor_runs != r->floor)
            printf("| %s | %d | %.1f us | %.1f us | %.0f ns |\n", r->op, r->workers, r->engine * 1e6,
                   r->floor_runs * 1e6, (r->engine - r->floor_runs) / TXN_COUNT * 1e9);
    }
    if (missed != 0)
        fprintf(stderr, "bench_runtime_windows: %d target(s) missed\n", missed);
    if (g_failed)
        fprintf(stderr, "bench_runtime_windows: a worker stalled, a result was wrong or an operation failed\n");
    return missed != 0 || g_failed;
}
