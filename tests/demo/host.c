/*
 * host.c — the demo's "service host": worker threads call service.dll without
 * pause while the main thread loads the patch module service_fix1.dll with
 * hp_module_load (checked against this build of service.dll, every function
 * switched in one transaction), lets it run, and unloads it. Every answer a
 * worker gets must be either the old or the new behaviour; anything else is a
 * failed call. The fix counts quotes in the service's own static variable:
 * at the end svc_quotes_served() (never patched) must equal every call made.
 * Exit status 0 when all of that holds and both switches were seen.
 */
#include <stdio.h>
#include <windows.h>

#include "hotpatch.h"

__declspec(dllimport) int svc_quote(int qty);
__declspec(dllimport) int svc_tax(int cents);
__declspec(dllimport) int svc_quotes_served(void);

#define WORKERS 4
#define QTY 12
#define OLD_QUOTE (QTY * 1000)                /* 12000 */
#define NEW_QUOTE (QTY * 1000 - QTY * 100)    /* 10800 */
#define OLD_TAX (10000 * 20 / 100)            /* 2000 */
#define NEW_TAX (10000 * 21 / 100)            /* 2100 */

/* Counters shared with the workers: each is only ever incremented atomically. */
static volatile LONG stop;
static volatile LONG64 old_answers, new_answers, failed_calls, quote_calls;

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    while (!stop) {
        int q = svc_quote(QTY);
        InterlockedIncrement64(&quote_calls);
        int t = svc_tax(10000);
        if (q == OLD_QUOTE && t == OLD_TAX)
            InterlockedIncrement64(&old_answers);
        else if ((q == OLD_QUOTE || q == NEW_QUOTE) && (t == OLD_TAX || t == NEW_TAX))
            InterlockedIncrement64(&new_answers); /* new, or a call that straddled the swap: both valid */
        else
            InterlockedIncrement64(&failed_calls);
    }
    return 0;
}

static void report(const char *when)
{
    printf("  %-34s old answers %9lld   new answers %9lld   failed calls %lld\n", when, (long long)old_answers,
           (long long)new_answers, (long long)failed_calls);
    fflush(stdout);
}

static double micros(LARGE_INTEGER a, LARGE_INTEGER b)
{
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return (double)(b.QuadPart - a.QuadPart) * 1e6 / (double)f.QuadPart;
}

int main(void)
{
    HANDLE threads[WORKERS];
    int ok = 1;
    setvbuf(stdout, NULL, _IONBF, 0);

    printf("step 1: %d worker threads start calling svc_quote(%d) and svc_tax(10000) without pause\n", WORKERS, QTY);
    printf("        old behaviour: %d and %d; the fix gives %d and %d\n", OLD_QUOTE, OLD_TAX, NEW_QUOTE, NEW_TAX);
    for (int i = 0; i < WORKERS; i++)
        threads[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    Sleep(400);
    report("running, unpatched:");

    printf("step 2: the host loads the patch module service_fix1.dll: checked against this build of\n"
           "        service.dll, then svc_quote and svc_tax switch to the fixed code in one transaction\n");
    char why[256] = "";
    hp_module_options opts = {0};
    opts.flags = HP_MODULE_KEEP_LOADED; /* workers run through the unload: the fix's code stays mapped */
    opts.message = why;
    opts.message_size = sizeof why;
    hp_module *fix = NULL;
    LARGE_INTEGER t0, t1;
    QueryPerformanceCounter(&t0);
    hp_status st = hp_module_load("service_fix1.dll", &opts, &fix);
    QueryPerformanceCounter(&t1);
    printf("        hp_module_load: %s%s%s, in %.0f microseconds; no thread was stopped\n", hp_status_str(st),
           why[0] ? ": " : "", why, micros(t0, t1));
    if (st != HP_OK)
        return 1;
    hp_module_summary info;
    if (hp_module_info(fix, &info) == HP_OK) {
        printf("        target %s at %p: %zu functions replaced; %zu slot(s) filled with the addresses of the\n"
               "        service's own code and data the fix uses\n",
               info.target_name, info.target_base, info.entry_count, info.slot_count);
        for (size_t i = 0; i < info.entry_count; i++) {
            hp_module_entry_info e;
            if (hp_module_entry(fix, i, &e) == HP_OK)
                printf("          %-12s %p -> %p\n", e.name, e.target, e.replacement);
        }
    }
    LONG64 new_before = new_answers;
    Sleep(400);
    report("running, fixed:");
    ok &= new_answers > new_before;

    printf("step 3: unload: both functions go back to the original code in one transaction\n");
    /* the workers keep calling: the fix's code stays mapped (a worker may still be inside it) */
    st = hp_module_unload(fix);
    printf("        hp_module_unload: %s\n", hp_status_str(st));
    if (st != HP_OK)
        return 1;
    LONG64 old_before = old_answers;
    Sleep(400);
    report("running, unloaded:");
    ok &= old_answers > old_before;

    stop = 1;
    WaitForMultipleObjects(WORKERS, threads, TRUE, INFINITE);
    long long total = (long long)(old_answers + new_answers + failed_calls);
    ok &= failed_calls == 0;
    int served = svc_quotes_served();
    printf("state: svc_quotes_served() = %d, quotes asked for = %lld: %s\n", served, (long long)quote_calls,
           served == (int)quote_calls ? "one counter, kept by the original and the fixed code alike"
                                       : "MISMATCH: the fix counted somewhere else");
    ok &= served == (int)quote_calls;
    printf("summary: %lld calls from %d threads across load and unload, %lld failed; the service never restarted\n",
           total, WORKERS, (long long)failed_calls);
    printf("%s\n", ok ? "demo: OK" : "demo: FAILED");
    return ok ? 0 : 1;
}
