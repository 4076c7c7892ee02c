/*
 * test_hash.c — hp_fix_hash (hotpatch_fix.h), the one hash of maps and manifests: FNV-1a 64.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "hotpatch_fix.h"

/* FNV-1a 64's published test vectors, and the parameters the header names. */
Test(fix_hash, fnv1a64_test_vectors)
{
    cr_expect_eq(HP_FIX_HASH_BASIS, 0xcbf29ce484222325ull);
    cr_expect_eq(HP_FIX_HASH_PRIME, 0x100000001b3ull);
    cr_expect_eq(hp_fix_hash("", 0), 0xcbf29ce484222325ull);
    cr_expect_eq(hp_fix_hash("a", 1), 0xaf63dc4c8601ec8cull);
    cr_expect_eq(hp_fix_hash("foobar", 6), 0x85944171f73967e8ull);
}
