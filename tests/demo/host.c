/*
 * host.c — the demo's "service host": worker threads call service.dll without
 * pause while the main thread loads fix.dll, applies it with libhotpatch in
 * one transaction, lets it run, and rolls it back. Every answer a worker gets
 * must be either the old or the new behaviour; anything else is a failed call.
 * Exit status 0 when there was none and both switches were seen.
 */
#include <stdio.h>
#include <windows.h>

#include "hotpatch.h"

__declspec(dllimport) int svc_quote(int qty);
__declspec(dllimport) int svc_tax(int cents);

#define WORKERS 4
#define QTY 12
#define OLD_QUOTE (QTY * 1000)                /* 12000 */
#define NEW_QUOTE (QTY * 1000 - QTY * 100)    /* 10800 */
#define OLD_TAX (10000 * 20 / 100)            /* 2000 */
#define NEW_TAX (10000 * 21 / 100)            /* 2100 */

/* Counters shared with the workers: each is only ever incremented atomically. */
static volatile LONG stop;
static volatile LONG64 old_answers, new_answers, failed_calls;

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    while (!stop) {
        int q = svc_quote(QTY);
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

    printf("step 2: the host loads fix.dll and applies both fixes in one transaction\n");
    HMODULE fix = LoadLibraryA("fix.dll");
    void *quote_fixed = fix ? (void *)GetProcAddress(fix, "svc_quote_fixed") : NULL;
    void *tax_fixed = fix ? (void *)GetProcAddress(fix, "svc_tax_fixed") : NULL;
    if (!quote_fixed || !tax_fixed) {
        printf("demo: cannot load fix.dll or its functions\n");
        return 1;
    }
    hp_txn *txn = NULL;
    hp_patch *p_quote = NULL, *p_tax = NULL;
    LARGE_INTEGER t0, t1;
    QueryPerformanceCounter(&t0);
    hp_status st = hp_txn_begin(&txn);
    if (st == HP_OK)
        st = hp_txn_apply(txn, (void *)svc_quote, quote_fixed, NULL, &p_quote);
    if (st == HP_OK)
        st = hp_txn_apply(txn, (void *)svc_tax, tax_fixed, NULL, &p_tax);
    if (st == HP_OK)
        st = hp_txn_commit(txn);
    else
        hp_txn_abort(txn);
    QueryPerformanceCounter(&t1);
    printf("        hp_txn_commit: %s, in %.0f microseconds; no thread was stopped\n", hp_status_str(st),
           micros(t0, t1));
    if (st != HP_OK)
        return 1;
    LONG64 new_before = new_answers;
    Sleep(400);
    report("running, patched:");
    ok &= new_answers > new_before;

    printf("step 3: rollback: both functions go back to the original code in one transaction\n");
    st = hp_txn_begin(&txn);
    if (st == HP_OK)
        st = hp_txn_remove(txn, p_quote);
    if (st == HP_OK)
        st = hp_txn_remove(txn, p_tax);
    if (st == HP_OK)
        st = hp_txn_commit(txn);
    else
        hp_txn_abort(txn);
    printf("        hp_txn_commit: %s\n", hp_status_str(st));
    if (st != HP_OK)
        return 1;
    LONG64 old_before = old_answers;
    Sleep(400);
    report("running, rolled back:");
    ok &= old_answers > old_before;

    stop = 1;
    WaitForMultipleObjects(WORKERS, threads, TRUE, INFINITE);
    long long total = (long long)(old_answers + new_answers + failed_calls);
    ok &= failed_calls == 0;
    printf("summary: %lld calls from %d threads across apply and rollback, %lld failed; the service never restarted\n",
           total, WORKERS, (long long)failed_calls);
    printf("%s\n", ok ? "demo: OK" : "demo: FAILED");
    return ok ? 0 : 1;
}
