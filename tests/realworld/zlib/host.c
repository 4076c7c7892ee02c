/*
 * host.c — zlib's DLL (built by zlib's own CMakeLists, made hotpatchable by
 * HotpatchAll.cmake) patched live under Wine while 4 threads call crc32_z on a
 * fixed buffer; every result is compared with the CRC computed before:
 *
 *   host toggle            hp_apply / hp_remove of a wrapper that calls the
 *                          original, 1,000 times on and off
 *   host module FIX.dll    hp_module_load of a fix built from a corrected
 *                          crc32.c, then hp_module_unload; the fix's own
 *                          counter (zfix_count) proves its code ran
 *
 * Prints "host: OK" when there was no wrong result and the switches were seen.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "../host_common.h"
#include "hotpatch.h"
#include "zlib.h"

#define WORKERS RW_WORKERS

static unsigned char g_buf[4096];
static unsigned long g_want;
static volatile LONG g_stop;
static volatile LONG64 g_calls, g_wrong, g_wrapped;
static unsigned long (*g_orig)(unsigned long, const unsigned char *, z_size_t);

static unsigned long wrapper(unsigned long crc, const unsigned char *buf, z_size_t len)
{
    InterlockedIncrement64(&g_wrapped);
    return g_orig(crc, buf, len);
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    while (!g_stop) {
        unsigned long c = crc32_z(0, g_buf, sizeof g_buf);
        InterlockedIncrement64(&g_calls);
        if (c != g_want)
            InterlockedIncrement64(&g_wrong);
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    for (size_t i = 0; i < sizeof g_buf; i++)
        g_buf[i] = (unsigned char)(i * 7 + 3);
    g_want = crc32_z(0, g_buf, sizeof g_buf);
    HANDLE t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        t[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    Sleep(50);
    int ok = 1;
    if (strcmp(argv[1], "toggle") == 0)
        ok = rw_toggle((void *)crc32_z, (const void *)wrapper, (void **)&g_orig, &g_wrapped);
    else if (strcmp(argv[1], "module") == 0 && argc == 3)
        ok = rw_module(argv[2], "zfix_count", &g_calls, NULL);
    else
        ok = 0;
    g_stop = 1;
    WaitForMultipleObjects(WORKERS, t, TRUE, INFINITE);
    printf("%lld calls, %lld wrong\n", (long long)g_calls, (long long)g_wrong);
    ok &= g_wrong == 0 && g_calls > 0;
    if (ok)
        printf("host: OK\n");
    return ok ? 0 : 1;
}
