/*
 * host.c — loads the patch modules of tests/fix into the running release
 * (svc.dll) while worker threads call it, and checks every result:
 *
 *   host threads FIX_A            apply and unload under 4 calling threads
 *   host stack FIX_A FIX_B ab|ba  two fixes of one function, unloaded in either order
 *   host other FIX_OTHER          a fix of sub/other.c touches that unit's `count` only
 *   host expect STATUS FIX        loading FIX must fail with STATUS, changing nothing
 *
 * Prints what it sees and "host: OK" at the end; exit status 0 only then.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "hotpatch.h"

__declspec(dllimport) int svc_quote(int qty);
__declspec(dllimport) int svc_count(void);
__declspec(dllimport) int svc_total(void);
__declspec(dllimport) int other_bump(void);
__declspec(dllimport) int other_count(void);

#define WORKERS 4
#define QTY 12
#define RELEASE 12000 /* 12 x 10.00 */
#define FIX_A 9720    /* 12 x 9.00, less 10% */
#define FEE 7         /* fix_b: the previous quote + 7 */

static volatile LONG stop;
static volatile LONG64 calls, wrong, seen[4];
static volatile LONG sum_low; /* what svc.c's int total should hold: the quotes' sum modulo 2^32, each without
                                 fix_b's fee (fix_b adds it to the previous version's quote, which counted) */
static int fails;

static const int k_valid[4] = {RELEASE, FIX_A, FIX_A + FEE, RELEASE + FEE};

/* What the version that counted in `total` quoted: fix_b's own fee never reaches it. */
static int counted(int q)
{
    return q == FIX_A + FEE || q == RELEASE + FEE ? q - FEE : q;
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    while (!stop) {
        int q = svc_quote(QTY);
        InterlockedIncrement64(&calls);
        InterlockedExchangeAdd(&sum_low, counted(q));
        int k = 0;
        while (k < 4 && k_valid[k] != q)
            k++;
        if (k < 4)
            InterlockedIncrement64(&seen[k]);
        else
            InterlockedIncrement64(&wrong);
    }
    return 0;
}

/* svc_quote from the main thread, counted like the workers' calls */
static int quote(int qty)
{
    int q = svc_quote(qty);
    InterlockedIncrement64(&calls);
    InterlockedExchangeAdd(&sum_low, counted(q));
    return q;
}

static void check(int ok, const char *what)
{
    printf("  %-64s %s\n", what, ok ? "ok" : "FAILED");
    fflush(stdout);
    if (!ok)
        fails++;
}

static HANDLE threads[WORKERS];

static void start_workers(void)
{
    for (int i = 0; i < WORKERS; i++)
        threads[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    Sleep(100);
}

/* Stop the workers; then the release's own counters must have seen every call. */
static void stop_workers(void)
{
    stop = 1;
    WaitForMultipleObjects(WORKERS, threads, TRUE, INFINITE);
    printf("  %lld calls: %lld release, %lld fix_a, %lld fix_b over fix_a, %lld fix_b over the release, %lld wrong\n",
           (long long)calls, (long long)seen[0], (long long)seen[1], (long long)seen[2], (long long)seen[3],
           (long long)wrong);
    check(wrong == 0, "every answer was one of the versions in force");
    check((LONG64)svc_count() == calls, "svc.c's static count saw every call (one variable, not two)");
    check((LONG)svc_total() == sum_low, "svc.c's total summed every quote (one variable, not two)");
}

static hp_module *load(const char *path, hp_status want)
{
    char why[512] = "";
    hp_module_options o;
    memset(&o, 0, sizeof o);
    o.flags = HP_MODULE_KEEP_LOADED; /* workers may still be in the fix's code when it is unloaded */
    o.message = why;
    o.message_size = sizeof why;
    hp_module *m = NULL;
    hp_status st = hp_module_load(path, &o, &m);
    printf("  hp_module_load(%s): %s%s%s\n", path, hp_status_str(st), why[0] ? ": " : "", why);
    char what[160];
    snprintf(what, sizeof what, "loading %s gives %s", path, hp_status_str(want));
    check(st == want, what);
    return st == HP_OK ? m : NULL;
}

static void unload(hp_module *m, const char *name)
{
    hp_status st = hp_module_unload(m);
    char what[160];
    snprintf(what, sizeof what, "hp_module_unload(%s): %s", name, hp_status_str(st));
    check(st == HP_OK, what);
}

static void expect_quote(int want, const char *when)
{
    Sleep(50);
    char what[160];
    int got = quote(QTY);
    snprintf(what, sizeof what, "%s: svc_quote(%d) = %d (want %d)", when, QTY, got, want);
    check(got == want, what);
}

static int threads_case(const char *fix)
{
    start_workers();
    expect_quote(RELEASE, "release");
    hp_module *m = load(fix, HP_OK);
    if (!m)
        return 1;
    hp_module_summary info;
    check(hp_module_info(m, &info) == HP_OK && info.entry_count == 1 && strcmp(info.target_name, "svc.dll") == 0 &&
              info.target_base == (const void *)GetModuleHandleA("svc.dll"),
          "hp_module_info: 1 entry, target svc.dll where it is loaded");
    hp_module_entry_info e;
    check(hp_module_entry(m, 0, &e) == HP_OK && strcmp(e.name, "svc_quote") == 0 && e.patch != NULL,
          "hp_module_entry(0): svc_quote, with its patch");
    Sleep(200);
    expect_quote(FIX_A, "fix_a applied");
    check(quote(5) == 4500, "fix_a applied: svc_quote(5) = 4500 (no discount below 10)");
    LONG64 before = seen[1];
    Sleep(200);
    check(seen[1] > before, "the workers get fix_a's answers");
    unload(m, fix);
    expect_quote(RELEASE, "fix_a unloaded");
    before = seen[0];
    Sleep(200);
    check(seen[0] > before, "the workers get the release's answers again");
    stop_workers();
    return 0;
}

static int stack_case(const char *fa, const char *fb, const char *order)
{
    start_workers();
    hp_module *a = load(fa, HP_OK), *b = NULL;
    expect_quote(FIX_A, "fix_a");
    if (a)
        b = load(fb, HP_OK);
    if (!a || !b)
        return 1;
    expect_quote(FIX_A + FEE, "fix_b over fix_a (HP_PREVIOUS is fix_a)");
    if (strcmp(order, "ab") == 0) {
        unload(a, fa);
        expect_quote(RELEASE + FEE, "fix_a unloaded under fix_b (HP_PREVIOUS is the release)");
        unload(b, fb);
    } else {
        unload(b, fb);
        expect_quote(FIX_A, "fix_b unloaded: fix_a again");
        unload(a, fa);
    }
    expect_quote(RELEASE, "both unloaded");
    stop_workers();
    return 0;
}

static int other_case(const char *fix)
{
    check(other_bump() == 1 && other_count() == 1, "release: other_bump counts in steps of one");
    hp_module *m = load(fix, HP_OK);
    if (!m)
        return 1;
    int b = other_bump();
    check(b == 11 && other_count() == 11, "fix_other: other_bump adds ten to sub/other.c's count");
    check(svc_count() == 0, "svc.c's count (same name, other unit) is untouched");
    unload(m, fix);
    check(other_bump() == 12, "unloaded: steps of one again, from the same count");
    return 0;
}

static int expect_case(const char *status, const char *fix)
{
    hp_status want = HP_OK;
    for (int s = 0; s < 64; s++)
        if (strcmp(hp_status_str((hp_status)s), status) == 0)
            want = (hp_status)s;
    unsigned char before[64], after[64];
    memcpy(before, (const void *)svc_quote, sizeof before);
    hp_module *m = load(fix, want);
    memcpy(after, (const void *)svc_quote, sizeof after);
    check(memcmp(before, after, sizeof before) == 0, "svc_quote's bytes are unchanged");
    check(quote(QTY) == RELEASE, "svc_quote still answers as the release");
    check(GetModuleHandleA(fix) == NULL, "the refused module is not left loaded");
    if (m)
        hp_module_unload(m);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int rc = 2;
    if (argc == 3 && strcmp(argv[1], "threads") == 0)
        rc = threads_case(argv[2]);
    else if (argc == 5 && strcmp(argv[1], "stack") == 0)
        rc = stack_case(argv[2], argv[3], argv[4]);
    else if (argc == 3 && strcmp(argv[1], "other") == 0)
        rc = other_case(argv[2]);
    else if (argc == 4 && strcmp(argv[1], "expect") == 0)
        rc = expect_case(argv[2], argv[3]);
    else
        fprintf(stderr, "usage: host threads FIX | stack FIX_A FIX_B ab|ba | other FIX | expect STATUS FIX\n");
    if (rc == 0 && fails == 0)
        printf("host: OK\n");
    return rc ? rc : fails != 0;
}
