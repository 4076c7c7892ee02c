/*
 * host.c — the fix-builder fixture's host: loads a patch module into the running release (svc.dll)
 * while worker threads call the functions it changes, and checks every answer.
 *
 *   host FIX.dll NAME:ARG:BEFORE:AFTER...
 *
 * Each NAME is an export of svc.dll (int NAME(int)); NAME(ARG) must be BEFORE in the release, AFTER
 * once the fix is loaded (from then on, in every thread), and BEFORE again once it is unloaded.
 * Prints what it sees and "host: OK" at the end; exit status 0 only then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "hotpatch.h"

#define WORKERS 4
#define MAX_CHECKS 8

typedef int (*svc_fn)(int);

typedef struct check_t {
    const char *name;
    svc_fn fn;
    int arg, before, after;
    volatile LONG64 seen_after;
} check_t;

static check_t checks[MAX_CHECKS];
static int nchecks, fails;
/* 0 release, 1 fix loaded, 2 20 ms later, 3 unloading (set before hp_module_unload is called), 4 20 ms
   after the unload. Every answer must be the release's or the fix's; the main thread's must be the
   fix's once it is loaded and the release's once it is unloaded; the workers must have run the fix;
   and a worker's call made wholly in 2 (the phase the same before and after it) must give the fix's
   answer, one made wholly in 4 the release's: such a call that does not is late, and fails. */
static volatile LONG phase;
static volatile LONG stop;
static volatile LONG64 calls, wrong, late;
static volatile LONG first_wrong_taken;
static int first_wrong[4]; /* check, phase before the call, value, phase after it */

static void expect(int ok, const char *what)
{
    printf("  %-64s %s\n", what, ok ? "ok" : "FAILED");
    fflush(stdout);
    if (!ok)
        fails++;
}

static DWORD WINAPI worker(LPVOID unused)
{
    (void)unused;
    while (!stop) {
        for (int i = 0; i < nchecks; i++) {
            check_t *c = &checks[i];
            LONG before_call = phase; /* what must hold for a call that starts now */
            int v = c->fn(c->arg);
            InterlockedIncrement64(&calls);
            if (v == c->after)
                InterlockedIncrement64(&c->seen_after);
            LONG after_call = phase;
            if (before_call == after_call && ((before_call == 2 && v != c->after) ||
                                              (before_call == 4 && v != c->before)))
                InterlockedIncrement64(&late);
            if (v != c->before && v != c->after) {
                InterlockedIncrement64(&wrong);
                if (InterlockedExchange(&first_wrong_taken, 1) == 0) {
                    first_wrong[0] = i;
                    first_wrong[1] = (int)before_call;
                    first_wrong[2] = v;
                    first_wrong[3] = (int)phase;
                }
            }
        }
    }
    return 0;
}

static void expect_all(int after, const char *when)
{
    for (int i = 0; i < nchecks; i++) {
        char what[160];
        int want = after ? checks[i].after : checks[i].before, got = checks[i].fn(checks[i].arg);
        snprintf(what, sizeof what, "%s: %s(%d) = %d (want %d)", when, checks[i].name, checks[i].arg, got, want);
        expect(got == want, what);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: host FIX.dll NAME:ARG:BEFORE:AFTER...\n");
        return 2;
    }
    HMODULE svc = LoadLibraryA("svc.dll");
    if (!svc) {
        fprintf(stderr, "host: cannot load svc.dll\n");
        return 2;
    }
    for (int i = 2; i < argc && nchecks < MAX_CHECKS; i++) {
        check_t *c = &checks[nchecks];
        char *spec = argv[i], *colon = strchr(spec, ':');
        if (!colon || sscanf(colon + 1, "%d:%d:%d", &c->arg, &c->before, &c->after) != 3) {
            fprintf(stderr, "host: bad check '%s'\n", spec);
            return 2;
        }
        *colon = 0;
        c->name = spec;
        c->fn = (svc_fn)(void (*)(void))GetProcAddress(svc, spec);
        if (!c->fn) {
            fprintf(stderr, "host: svc.dll exports no '%s'\n", spec);
            return 2;
        }
        nchecks++;
    }
    expect_all(0, "release");
    HANDLE threads[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        threads[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    Sleep(100);

    char why[512] = "";
    hp_module_options o;
    memset(&o, 0, sizeof o);
    o.flags = HP_MODULE_KEEP_LOADED; /* workers may still be inside the fix when it is unloaded */
    o.message = why;
    o.message_size = sizeof why;
    hp_module *m = NULL;
    hp_status st = hp_module_load(argv[1], &o, &m);
    printf("  hp_module_load(%s): %s%s%s\n", argv[1], hp_status_str(st), why[0] ? ": " : "", why);
    expect(st == HP_OK, "the fix loads into the running release");
    if (st == HP_OK) {
        InterlockedExchange(&phase, 1);
        Sleep(20);
        InterlockedExchange(&phase, 2);
        expect_all(1, "fix loaded");
        for (int k = 0; k < 100; k++) { /* until every worker-visible function went through the fix (10 s at most) */
            int all = 1;
            for (int i = 0; i < nchecks; i++)
                all &= checks[i].seen_after > 0;
            if (all)
                break;
            Sleep(100);
        }
        for (int i = 0; i < nchecks; i++) {
            char what[160];
            snprintf(what, sizeof what, "the workers' calls of %s went through the fix", checks[i].name);
            expect(checks[i].seen_after > 0, what);
        }
        InterlockedExchange(&phase, 3); /* calls that begin from now on may meet either version */
        st = hp_module_unload(m);
        expect(st == HP_OK, "hp_module_unload");
        Sleep(20);
        InterlockedExchange(&phase, 4);
        expect_all(0, "fix unloaded");
        Sleep(100);
    }
    stop = 1;
    WaitForMultipleObjects(WORKERS, threads, TRUE, INFINITE);
    printf("  %lld calls by the workers, %lld wrong\n", (long long)calls, (long long)wrong);
    if (wrong)
        printf("  the first wrong one: %s(%d) = %d in phase %d (phase %d after the call)\n",
               checks[first_wrong[0]].name, checks[first_wrong[0]].arg, first_wrong[2], first_wrong[1],
               first_wrong[3]);
    printf("  %lld late calls (the release's answer 20 ms after the load, or the fix's 20 ms after the unload)\n",
           (long long)late);
    expect(wrong == 0, "every answer was the release's or the fix's");
    expect(late == 0, "every call made after the load (unload) had settled ran the fix (the release)");
    printf(fails ? "host: FAILED\n" : "host: OK\n");
    return fails ? 1 : 0;
}
