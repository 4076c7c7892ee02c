/*
 * test_hash.c — hp_fix_hash4 (hotpatch_fix.h), the map's hashes four at a time, against hp_fix_hash.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "hotpatch_fix.h"

/* hp_fix_hash4: the four hashes are hp_fix_hash's, whatever the four lengths (equal, one of them 0,
   one much longer). */
Test(fix_hash, four_at_once_as_one_at_a_time)
{
    unsigned char buf[4][300];
    uint32_t x = 7;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 300; i++) {
            x = x * 1103515245u + 12345u;
            buf[k][i] = (unsigned char)(x >> 16);
        }
    for (unsigned round = 0; round < 3000; round++) {
        const unsigned char *data[4] = {buf[0], buf[1], buf[2], buf[3]};
        size_t len[4];
        for (int k = 0; k < 4; k++) {
            x = x * 1103515245u + 12345u;
            len[k] = (x >> 8) % (round % 3 == 0 ? 8 : 300); /* short ones (and 0) often */
        }
        uint64_t h[4];
        hp_fix_hash4(data, len, h);
        for (int k = 0; k < 4; k++)
            cr_assert_eq(h[k], hp_fix_hash(data[k], len[k]), "round %u, buffer %d, %zu bytes", round, k, len[k]);
    }
    /* FNV-1a 64's own test vectors: "" and "a" */
    const unsigned char *v[4] = {(const unsigned char *)"", (const unsigned char *)"a", (const unsigned char *)"a",
                                 (const unsigned char *)""};
    size_t n[4] = {0, 1, 1, 0};
    uint64_t h[4];
    hp_fix_hash4(v, n, h);
    cr_expect_eq(h[0], 0xcbf29ce484222325ull);
    cr_expect_eq(h[1], 0xaf63dc4c8601ec8cull);
}
