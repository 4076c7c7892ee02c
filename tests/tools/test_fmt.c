/*
 * test_fmt.c — hp_fmt_u32 / hp_fmt_hex64 write what snprintf writes, and nothing past it; hp_outbuf
 * writes every byte in order across its blocks, grows for a room larger than itself, and reports a
 * write that came short.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Where a digit count from the bit length could be off by one: either side of every power of ten
   and of every power of two. */
Test(fmt, decimal_at_every_digit_and_bit_boundary)
{
    uint32_t at[3 * 10 + 3 * 32], n = 0;
    for (uint64_t p = 1; p <= UINT32_MAX; p *= 10)
        for (int d = -1; d <= 1; d++)
            if (p + (uint64_t)(int64_t)d <= UINT32_MAX)
                at[n++] = (uint32_t)(p + (uint64_t)(int64_t)d);
    for (int b = 0; b < 32; b++)
        for (int d = -1; d <= 1; d++)
            at[n++] = (uint32_t)(((uint64_t)1 << b) + (uint64_t)(int64_t)d);
    for (uint32_t i = 0; i < n; i++) {
        char want[16], got[16];
        snprintf(want, sizeof want, "%" PRIu32, at[i]);
        char *end = hp_fmt_u32(got, at[i]);
        cr_assert(end - got == (ptrdiff_t)strlen(want) && memcmp(got, want, strlen(want)) == 0,
                  "%" PRIu32 ": '%.*s'", at[i], (int)(end - got), got);
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

/* Lines of every length from 0 to 300 bytes through the buffer, some of them by room and commit,
   then one of 200,000 bytes (larger than the buffer): the file holds exactly what was written. */
Test(fmt, outbuf_writes_everything_in_order)
{
    char *got = NULL;
    size_t got_len = 0;
    FILE *f = open_memstream(&got, &got_len);
    cr_assert_not_null(f);
    size_t want_cap = 8u << 20, want_len = 0;
    char *want = malloc(want_cap);
    cr_assert_not_null(want);
    hp_outbuf o;
    cr_assert(hp_outbuf_init(&o, f));
    for (unsigned round = 0; round < 40; round++)
        for (size_t len = 0; len <= 300; len++) {
            char line[301];
            for (size_t k = 0; k < len; k++)
                line[k] = (char)('a' + (round * 7 + k) % 26);
            if (len % 2) {
                hp_outbuf_write(&o, line, len);
            } else {
                char *w = hp_outbuf_room(&o, len + 16);
                cr_assert_not_null(w);
                memcpy(w, line, len);
                hp_outbuf_commit(&o, w + len);
            }
            memcpy(want + want_len, line, len);
            want_len += len;
        }
    size_t big = 200000;
    char *w = hp_outbuf_room(&o, big);
    cr_assert_not_null(w, "a room larger than the buffer");
    for (size_t k = 0; k < big; k++)
        w[k] = want[want_len + k] = (char)('0' + k % 10);
    hp_outbuf_commit(&o, w + big);
    want_len += big;
    hp_outbuf_write(&o, "end", 3);
    memcpy(want + want_len, "end", 3);
    want_len += 3;
    /* a block larger than the buffer (written straight to the stream), between small writes */
    size_t huge = 300000;
    char *block = malloc(huge);
    cr_assert_not_null(block);
    for (size_t k = 0; k < huge; k++)
        block[k] = want[want_len + k] = (char)('A' + k % 23);
    hp_outbuf_write(&o, block, huge);
    want_len += huge;
    hp_outbuf_write(&o, "tail", 4);
    memcpy(want + want_len, "tail", 4);
    want_len += 4;
    free(block);
    cr_expect(hp_outbuf_finish(&o));
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(got_len, want_len);
    cr_expect(memcmp(got, want, want_len) == 0, "the bytes in order");
    free(got);
    free(want);
}

/* A file that takes nothing (/dev/full): the writes fail, and hp_outbuf_finish() says so. */
Test(fmt, outbuf_reports_a_failed_write)
{
    FILE *f = fopen("/dev/full", "w");
    cr_assert_not_null(f);
    setvbuf(f, NULL, _IONBF, 0); /* every fwrite reaches the device */
    hp_outbuf o;
    cr_assert(hp_outbuf_init(&o, f));
    char block[4096];
    memset(block, 'x', sizeof block);
    for (int i = 0; i < 40; i++) /* past the buffer: written out on the way */
        hp_outbuf_write(&o, block, sizeof block);
    cr_expect(!hp_outbuf_finish(&o));
    /* and a block larger than the buffer, which goes to the stream at once */
    cr_assert(hp_outbuf_init(&o, f));
    char *big = calloc(1, 100000);
    cr_assert_not_null(big);
    hp_outbuf_write(&o, big, 100000);
    free(big);
    cr_expect(!hp_outbuf_finish(&o));
    fclose(f);
}
