/*
 * test_fmt.c — hp_fmt_u32 / hp_fmt_hex64 write what snprintf writes, and nothing past it.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hp_tools.h"

/* every power-of-ten and power-of-two edge, then a spread of pseudo-random values */
static uint64_t value(unsigned i)
{
    static const uint64_t edges[] = {0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000, 99999, 100000,
                                     999999, 1000000, 9999999, 10000000, 99999999, 100000000, 999999999,
                                     1000000000, 4294967295u, 0x80000000u, 0x7fffffffu, 0xa, 0xf, 0x10,
                                     0xdeadbeefcafef00dull, 0xffffffffffffffffull, 0x0123456789abcdefull,
                                     0xa0a0a0a0a0a0a0a0ull, 0x0909090909090909ull};
    unsigned n = sizeof edges / sizeof edges[0];
    if (i < n)
        return edges[i];
    uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 29) ^ ((i & 1) ? 0 : x >> (i % 64)); /* small and large values both */
}

Test(fmt, decimal_as_snprintf)
{
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t v = (uint32_t)(value(i) >> (i % 33 == 32 ? 0 : i % 33 % 32));
        char want[16], got[16];
        memset(got, '#', sizeof got);
        snprintf(want, sizeof want, "%" PRIu32, v);
        char *end = hp_fmt_u32(got, v);
        cr_assert_eq((size_t)(end - got), strlen(want), "length of %" PRIu32, v);
        cr_assert(memcmp(got, want, strlen(want)) == 0, "%" PRIu32 ": '%.*s'", v, (int)(end - got), got);
        cr_assert_eq(got[strlen(want)], '#', "nothing written past the digits of %" PRIu32, v);
    }
}

Test(fmt, hex_as_snprintf)
{
    for (unsigned i = 0; i < 200000; i++) {
        uint64_t v = value(i);
        char want[24], got[24];
        memset(got, '#', sizeof got);
        snprintf(want, sizeof want, "%016" PRIx64, v);
        cr_assert_eq(hp_fmt_hex64(got, v), got + 16);
        cr_assert(memcmp(got, want, 16) == 0, "%s: '%.16s'", want, got);
        cr_assert_eq(got[16], '#');
    }
}
