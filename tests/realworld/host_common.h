/*
 * host_common.h — what the real-code hosts (zlib, lua, sqlite: host.c) share:
 * their two scenarios against a real export while their worker threads run.
 *
 *   rw_toggle  hp_apply of a counting wrapper, then hp_remove, 1,000 times
 *   rw_module  hp_module_load of a fix, its own counter (an export of the fix)
 *              growing while it is loaded, hp_module_unload, and at most a call
 *              in flight per thread counted after
 *
 * Each returns 1 when everything held and prints what it saw. rw_main runs
 * either while a host's workers call the export, and says whether every answer
 * was right. Header-only: each host is one translation unit compiled by the test.
 */
#ifndef RW_HOST_COMMON_H
#define RW_HOST_COMMON_H

#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "hotpatch.h"

#define RW_WORKERS 4
#define RW_STR_(x) #x
#define RW_STR(x) RW_STR_(x) /* a number as text */

static int rw_toggle(void *target, const void *wrapper, void **original, volatile LONG64 *wrapped)
{
    for (int round = 0; round < 1000; round++) {
        hp_patch *p = NULL;
        hp_status st = hp_apply(target, wrapper, original, &p);
        /* the last round stays applied until a worker has gone through the wrapper (at most 10 s): on a
           loaded machine the workers may otherwise never run inside the short windows of the others */
        for (int wait = 0; st == HP_OK && round == 999 && *wrapped == 0 && wait < 1000; wait++)
            Sleep(10);
        if (st == HP_OK)
            st = hp_remove(p);
        if (st != HP_OK) {
            printf("round %d: %s\n", round, hp_status_str(st));
            return 0;
        }
    }
    printf("1000 rounds of apply and remove; the wrapper ran %lld times\n", (long long)*wrapped);
    return *wrapped > 0;
}

/* `work` counts the workers' progress (calls or runs); `while_loaded` (may be NULL) checks the loaded
   fix further and returns 1 when it holds. */
static int rw_module(const char *path, const char *count_export, volatile LONG64 *work,
                     int (*while_loaded)(HMODULE fix))
{
    char why[512] = "";
    hp_module_options o;
    memset(&o, 0, sizeof o);
    o.flags = HP_MODULE_KEEP_LOADED; /* a thread may still be inside the fix's code at the unload */
    o.message = why;
    o.message_size = sizeof why;
    hp_module *m = NULL;
    LONG64 work0 = *work;
    hp_status st = hp_module_load(path, &o, &m);
    printf("hp_module_load: %s%s%s\n", hp_status_str(st), why[0] ? ": " : "", why);
    int ok = st == HP_OK;
    HMODULE fix = GetModuleHandleA(path);
    long (*count)(void) = fix ? (long (*)(void))(void *)GetProcAddress(fix, count_export) : NULL;
    if (ok && while_loaded)
        ok &= while_loaded(fix);
    Sleep(300);
    long during = count ? count() : -1;
    printf("the fix served %ld calls (%lld of the workers' meanwhile)\n", during, (long long)(*work - work0));
    ok &= during > 0;
    if (m) {
        st = hp_module_unload(m);
        printf("hp_module_unload: %s\n", hp_status_str(st));
        ok &= st == HP_OK;
    }
    long after = count ? count() : -1;
    LONG64 work1 = *work;
    Sleep(200);
    ok &= count && count() - after <= RW_WORKERS; /* at most a call in flight per thread */
    printf("after the unload it served %ld more (%lld of the workers' meanwhile)\n",
           count ? count() - after : -1L, (long long)(*work - work1));
    ok &= *work > work1;
    return ok;
}

/* A host: its workers, what they count, and the export and fix its scenarios use. */
typedef struct rw_host {
    LPTHREAD_START_ROUTINE worker; /* calls the export until *stop */
    volatile LONG *stop;
    volatile LONG64 *work, *wrong; /* the workers' progress and their wrong answers */
    const char *work_unit;         /* what *work counts: "calls", "runs of 200 calls" */
    void *target;                  /* rw_toggle's */
    const void *wrapper;
    void **original;
    volatile LONG64 *wrapped;
    const char *count_export;      /* rw_module's */
    int (*while_loaded)(HMODULE fix);
} rw_host;

/* host toggle | host module FIX (argv[1] defaults to toggle): the workers started, the scenario run
   while they call, the workers stopped; "host: OK" and 0 when every answer was right. */
static int rw_main(const rw_host *h, int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "toggle";
    HANDLE t[RW_WORKERS];
    for (int i = 0; i < RW_WORKERS; i++)
        t[i] = CreateThread(NULL, 0, h->worker, NULL, 0, NULL);
    Sleep(50);
    int ok = 0;
    if (strcmp(mode, "toggle") == 0)
        ok = rw_toggle(h->target, h->wrapper, h->original, h->wrapped);
    else if (strcmp(mode, "module") == 0 && argc == 3)
        ok = rw_module(argv[2], h->count_export, h->work, h->while_loaded);
    *h->stop = 1;
    WaitForMultipleObjects(RW_WORKERS, t, TRUE, INFINITE);
    printf("%lld %s, %lld wrong\n", (long long)*h->work, h->work_unit, (long long)*h->wrong);
    ok &= *h->wrong == 0 && *h->work > 0;
    if (ok)
        printf("host: OK\n");
    return ok ? 0 : 1;
}

#endif
