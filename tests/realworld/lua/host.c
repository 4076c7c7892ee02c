/*
 * host.c — Lua 5.4's DLL (lua54.dll, built by Lua's own Makefile, `make mingw`,
 * with CC=hotpatch-cc) patched live under Wine: 4 threads, each with a
 * lua_State of its own, run a Lua loop that calls a C function which answers
 * through lua_pushinteger, and check every sum, while the main thread
 *
 *   host [toggle]          redirects lua_pushinteger to a wrapper (counts,
 *                          calls the original) with hp_apply and takes it
 *                          back with hp_remove, 1,000 times
 *   host module FIX.dll    hp_module_load of a fix built from a corrected
 *                          lapi.c, then hp_module_unload; the fix's own
 *                          counter (lfix_count) proves its lua_pushinteger ran
 *                          while loaded, and (almost) not after the unload
 *
 * Prints "host: OK" when there was no wrong result and the switches were seen.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "../host_common.h"
#include "hotpatch.h"
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#define N 200

static volatile LONG g_stop;
static volatile LONG64 g_runs, g_wrong, g_wrapped;
static void (*g_orig)(lua_State *, lua_Integer);

static void wrapper(lua_State *L, lua_Integer n)
{
    InterlockedIncrement64(&g_wrapped);
    g_orig(L, n);
}

/* square(n): n * n, pushed by lua_pushinteger */
static int square(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    lua_pushinteger(L, n * n);
    return 1;
}

static const char chunk[] = "local n = ...\n"
                            "local s = 0\n"
                            "for i = 1, n do s = s + square(i) end\n"
                            "return s\n";

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    lua_State *L = luaL_newstate();
    if (!L) {
        InterlockedIncrement64(&g_wrong);
        return 1;
    }
    luaL_openlibs(L);
    lua_register(L, "square", square);
    if (luaL_loadstring(L, chunk) != LUA_OK) {
        printf("load: %s\n", lua_tostring(L, -1));
        InterlockedIncrement64(&g_wrong);
        lua_close(L);
        return 1;
    }
    const lua_Integer want = (lua_Integer)N * (N + 1) * (2 * N + 1) / 6;
    while (!g_stop) {
        lua_pushvalue(L, 1);
        lua_pushinteger(L, N);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
            printf("run: %s\n", lua_tostring(L, -1));
            InterlockedIncrement64(&g_wrong);
        } else if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != want) {
            InterlockedIncrement64(&g_wrong);
        }
        lua_pop(L, 1);
        InterlockedIncrement64(&g_runs);
    }
    lua_close(L);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const rw_host h = {worker, &g_stop, &g_runs, &g_wrong, "runs of " RW_STR(N) " calls", (void *)lua_pushinteger,
                       (const void *)wrapper, (void **)&g_orig, &g_wrapped, "lfix_count", NULL};
    return rw_main(&h, argc, argv);
}
