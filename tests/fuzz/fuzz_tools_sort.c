/*
 * fuzz_tools_sort.c — libFuzzer target: the tools' sort of records by a 32-bit
 * key (hp_sort_by_u32, hp_sort_by_u32_then; runtime/tools/src/sort.c), which
 * orders lists read from untrusted images and objects: exports, .pdata,
 * symbols, table entries, the map's functions.
 *
 * Layout: byte 0 picks the record size (4, 5, 8, 12, 16, 24, 32, 40 or 72
 * bytes), byte 1 the key's offset in the record, byte 2 how the keys are made;
 * the rest are the records. Keys as they are give many short runs (the radix
 * path); made from the input as non-decreasing runs (a key whose top bit is set
 * starts a new run at its low 16 bits, any other adds its low 8 bits to the
 * last) they give the ordered runs, the long run with a few stragglers, and
 * the ties across runs that the merges handle.
 *
 * A differential check: the sort's result must be, byte for byte, what a
 * plain stable merge sort of the same records gives (equal keys in their
 * original order); hp_sort_by_u32_then with a comparison of the whole record
 * must give records ordered by key, then by their bytes. Both must succeed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp_tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_RECORDS = 4096 };

static const size_t record_sizes[] = {4, 5, 8, 12, 16, 24, 32, 40, 72};

static uint32_t key_of(const unsigned char *rec, size_t key_offset)
{
    uint32_t k;
    memcpy(&k, rec + key_offset, 4);
    return k;
}

/* The whole record, for hp_sort_by_u32_then: one function per record size (the comparison gets only
   the two records). */
#define RECORD_CMP(n)                                                                                      \
    static int cmp_##n(const void *a, const void *b) { return memcmp(a, b, n); }
RECORD_CMP(4)
RECORD_CMP(5)
RECORD_CMP(8)
RECORD_CMP(12)
RECORD_CMP(16)
RECORD_CMP(24)
RECORD_CMP(32)
RECORD_CMP(40)
RECORD_CMP(72)
#undef RECORD_CMP
static int (*const record_cmps[])(const void *, const void *) = {cmp_4,  cmp_5,  cmp_8,  cmp_12, cmp_16,
                                                                  cmp_24, cmp_32, cmp_40, cmp_72};

/* Does record x go after record y? By key, then (with `cmp`) by the comparison. */
static int after(const unsigned char *x, const unsigned char *y, size_t key_offset,
                 int (*cmp)(const void *, const void *))
{
    uint32_t kx = key_of(x, key_offset), ky = key_of(y, key_offset);
    if (kx != ky)
        return kx > ky;
    return cmp && cmp(x, y) > 0;
}

/* The reference: a top-down stable merge sort of a[0..n) through tmp. */
static void reference_sort(unsigned char *a, unsigned char *tmp, size_t n, size_t rs, size_t key_offset,
                           int (*cmp)(const void *, const void *))
{
    if (n < 2)
        return;
    size_t half = n / 2;
    reference_sort(a, tmp, half, rs, key_offset, cmp);
    reference_sort(a + half * rs, tmp, n - half, rs, key_offset, cmp);
    size_t i = 0, j = half, o = 0;
    while (i < half && j < n) {
        /* the left one first unless the right one must go before it: stable */
        if (after(a + i * rs, a + j * rs, key_offset, cmp))
            memcpy(tmp + o++ * rs, a + j++ * rs, rs);
        else
            memcpy(tmp + o++ * rs, a + i++ * rs, rs);
    }
    memcpy(tmp + o * rs, a + i * rs, (half - i) * rs);
    o += half - i;
    memcpy(tmp + o * rs, a + j * rs, (n - j) * rs);
    memcpy(a, tmp, n * rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t which = data[0] % (sizeof record_sizes / sizeof *record_sizes);
    size_t rs = record_sizes[which], key_offset = data[1] % (rs - 3);
    int runs = data[2] & 1;
    data += 3;
    size -= 3;
    size_t n = size / rs;
    if (n > MAX_RECORDS)
        n = MAX_RECORDS;
    unsigned char *in = malloc(n * rs + 1), *got = malloc(n * rs + 1), *want = malloc(n * rs + 1),
                  *tmp = malloc(n * rs + 1);
    if (!in || !got || !want || !tmp)
        abort();
    memcpy(in, data, n * rs);
    if (runs) {
        uint32_t last = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = key_of(in + i * rs, key_offset);
            last = (k & 0x80000000u) ? (k & 0xFFFFu) : last + (k & 0xFFu);
            memcpy(in + i * rs + key_offset, &last, 4);
        }
    }

    for (int then = 0; then < 2; then++) {
        int (*cmp)(const void *, const void *) = then ? record_cmps[which] : NULL;
        memcpy(got, in, n * rs);
        memcpy(want, in, n * rs);
        int ok = then ? hp_sort_by_u32_then(got, n, rs, key_offset, cmp) : hp_sort_by_u32(got, n, rs, key_offset);
        if (!ok)
            abort(); /* records of a valid size with the key inside: never refused */
        reference_sort(want, tmp, n, rs, key_offset, cmp);
        if (memcmp(got, want, n * rs) != 0)
            abort();
    }
    free(in);
    free(got);
    free(want);
    free(tmp);
    return 0;
}
