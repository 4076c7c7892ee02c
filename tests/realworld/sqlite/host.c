/*
 * host.c — SQLite's DLL (sqlite3.dll, the amalgamation compiled with
 * hotpatch-cc) patched live under Wine: 4 threads, each with an in-memory
 * database of its own, run a query that calls a user function, square(x),
 * which answers through sqlite3_result_int64, and check every sum, while the
 * main thread
 *
 *   host [toggle]          redirects sqlite3_result_int64 to a wrapper (counts,
 *                          calls the original) with hp_apply and takes it back
 *                          with hp_remove, 1,000 times
 *   host module FIX.dll    hp_module_load of a fix built from a corrected
 *                          sqlite3.c, then hp_module_unload; the fix's own
 *                          counter (sfix_count) proves its sqlite3_result_int64
 *                          ran while loaded, and (almost) not after the unload;
 *                          sfix_config() reads SQLite's file-static
 *                          sqlite3Config through the fix's slot
 *
 * Prints "host: OK" when there was no wrong result and the switches were seen.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "../host_common.h"
#include "hotpatch.h"
#include "sqlite3.h"

#define N 200

static volatile LONG g_stop;
static volatile LONG64 g_runs, g_wrong, g_wrapped;
static void (*g_orig)(sqlite3_context *, sqlite3_int64);

static void wrapper(sqlite3_context *ctx, sqlite3_int64 v)
{
    InterlockedIncrement64(&g_wrapped);
    g_orig(ctx, v);
}

/* square(x): x * x, given back by sqlite3_result_int64 */
static void square(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_int64 x = sqlite3_value_int64(argv[0]);
    sqlite3_result_int64(ctx, x * x);
}

static const char query[] = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1) "
                            "SELECT sum(square(x)) FROM c";

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_create_function(db, "square", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, square, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, query, -1, &st, NULL) != SQLITE_OK) {
        printf("setup: %s\n", db ? sqlite3_errmsg(db) : "no database");
        InterlockedIncrement64(&g_wrong);
        sqlite3_close(db);
        return 1;
    }
    const sqlite3_int64 want = (sqlite3_int64)N * (N + 1) * (2 * N + 1) / 6;
    while (!g_stop) {
        sqlite3_bind_int(st, 1, N);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != want) {
            InterlockedIncrement64(&g_wrong);
        }
        sqlite3_reset(st);
        InterlockedIncrement64(&g_runs);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}

/* The fix reads SQLite's file-static sqlite3Config: the running library's, initialised at run time. */
static int reads_sqlite_config(HMODULE fix)
{
    int (*config)(void) = (int (*)(void))(void *)GetProcAddress(fix, "sfix_config");
    int cfg = config ? config() : -1;
    printf("the fix reads SQLite's sqlite3Config: initialised, core mutex: %d\n", cfg);
    return cfg == 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("SQLite %s (%d), threadsafe %d\n", sqlite3_libversion(), sqlite3_libversion_number(),
           sqlite3_threadsafe());
    if (!sqlite3_threadsafe())
        return 1;
    const rw_host h = {worker, &g_stop, &g_runs, &g_wrong, "runs of " RW_STR(N) " calls", (void *)sqlite3_result_int64,
                       (const void *)wrapper, (void **)&g_orig, &g_wrapped, "sfix_count", reads_sqlite_config};
    return rw_main(&h, argc, argv);
}
