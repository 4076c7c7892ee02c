/*
 * host_common.h — what the real-code hosts (zlib, lua, sqlite: host.c) share:
 * their two scenarios against a real export while their worker threads run.
 *
 *   rw_toggle  hp_apply of a counting wrapper, then hp_remove, 1,000 times
 *   rw_module  hp_module_load of a fix, its own counter (an export of the fix)
 *              growing while it is loaded, hp_module_unload, and at most a call
 *              in flight per thread counted after
 *
 * Each returns 1 when everything held and prints what it saw. Header-only: each
 * host is one translation unit compiled by the test.
 */
#ifndef RW_HOST_COMMON_H
#define RW_HOST_COMMON_H

#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "hotpatch.h"

#define RW_WORKERS 4

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

#endif
