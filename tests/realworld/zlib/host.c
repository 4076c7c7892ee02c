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
    const rw_host h = {worker, &g_stop, &g_calls, &g_wrong, "calls", (void *)crc32_z, (const void *)wrapper,
                       (void **)&g_orig, &g_wrapped, "zfix_count", NULL};
    return rw_main(&h, argc, argv);
}
