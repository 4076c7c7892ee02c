/*
 * sort.c — hp_sort_by_u32(): the tools' sort of records by an address.
 */
#include "hp_tools.h"

#include <stdlib.h>
#include <string.h>

static uint32_t key_at(const unsigned char *rec, size_t key_offset)
{
    uint32_t k;
    memcpy(&k, rec + key_offset, sizeof k);
    return k;
}

/* Copy one record: a constant size for the usual ones lets the compiler inline the copy (a call to
   memcpy per record and pass was most of a sort's cost). */
static inline void move_rec(unsigned char *dst, const unsigned char *src, size_t size)
{
    switch (size) {
    case 4: memcpy(dst, src, 4); break; /* addresses alone (the post-link pass's table entries) */
    case 8: memcpy(dst, src, 8); break;
    case 12: memcpy(dst, src, 12); break; /* .pdata entries */
    case 16: memcpy(dst, src, 16); break;
    case 24: memcpy(dst, src, 24); break;
    case 32: memcpy(dst, src, 32); break;
    case 40: memcpy(dst, src, 40); break;
    case 48: memcpy(dst, src, 48); break;
    case 56: memcpy(dst, src, 56); break;
    case 64: memcpy(dst, src, 64); break;
    default: memcpy(dst, src, size); break;
    }
}

/* At most this many ordered runs are merged; more are radix-sorted. */
#define MAX_RUNS 16

/* In the ordered records [l, h) of `a`: the first whose key is above k (`above`), or at least k. */
static size_t bound(const unsigned char *a, size_t l, size_t h, size_t size, size_t key_offset, uint32_t k,
                    int above)
{
    while (l < h) {
        size_t m = l + (h - l) / 2;
        uint32_t km = key_at(a + m * size, key_offset);
        if (km < k || (above && km == k))
            l = m + 1;
        else
            h = m;
    }
    return l;
}

/* Merge the adjacent ordered runs [lo, mid) and [mid, hi) of `a` in place (stable: of equal keys, the
   left run's first), through `tmp`, which holds the shorter run. Records already in place (a left
   prefix below the right run's first key, a right suffix above the left run's last) are not moved. */
static void merge_two(unsigned char *a, unsigned char *tmp, size_t lo, size_t mid, size_t hi, size_t size,
                      size_t key_offset)
{
    uint32_t first_right = key_at(a + mid * size, key_offset), last_left = key_at(a + (mid - 1) * size, key_offset);
    while (lo < mid && key_at(a + lo * size, key_offset) <= first_right)
        lo++;
    while (hi > mid && key_at(a + (hi - 1) * size, key_offset) >= last_left)
        hi--;
    if (lo == mid || hi == mid)
        return;
    if ((hi - mid) * 16 <= mid - lo) {
        /* a few stragglers after a long run (the usual unsorted list: one source's late additions):
           each found its place by binary search, the records above it moved up in one block */
        size_t nr = hi - mid, top = mid; /* left records [lo, top) not yet placed */
        memcpy(tmp, a + mid * size, nr * size);
        for (size_t y = nr; y-- > 0;) {
            uint32_t k = key_at(tmp + y * size, key_offset);
            size_t l = bound(a, lo, top, size, key_offset, k, 1); /* after the left run's equal keys */
            memmove(a + (l + y + 1) * size, a + l * size, (top - l) * size);
            memcpy(a + (l + y) * size, tmp + y * size, size);
            top = l;
        }
        return;
    }
    if ((mid - lo) * 16 <= hi - mid) {
        /* a few records before a long run: each placed by binary search, the records below it moved
           down in one block */
        size_t nl = mid - lo, bottom = mid; /* right records [bottom, hi) not yet placed */
        memcpy(tmp, a + lo * size, nl * size);
        for (size_t x = 0; x < nl; x++) {
            uint32_t k = key_at(tmp + x * size, key_offset);
            size_t l = bound(a, bottom, hi, size, key_offset, k, 0); /* before the right run's equal keys */
            memmove(a + (lo + x) * size, a + bottom * size, (l - bottom) * size);
            memcpy(a + (lo + x + (l - bottom)) * size, tmp + x * size, size);
            lo += l - bottom;
            bottom = l;
        }
        return;
    }
    if (mid - lo <= hi - mid) {
        /* the left run into tmp, merged forward */
        size_t nl = mid - lo, x = 0, y = mid, o = lo;
        memcpy(tmp, a + lo * size, nl * size);
        while (x < nl && y < hi) {
            if (key_at(a + y * size, key_offset) < key_at(tmp + x * size, key_offset))
                move_rec(a + o++ * size, a + y++ * size, size);
            else
                move_rec(a + o++ * size, tmp + x++ * size, size);
        }
        memcpy(a + o * size, tmp + x * size, (nl - x) * size); /* what is left of the right run is in place */
    } else {
        /* the right run into tmp, merged backward */
        size_t nr = hi - mid, x = mid, y = nr, o = hi;
        memcpy(tmp, a + mid * size, nr * size);
        while (x > lo && y > 0) {
            if (key_at(tmp + (y - 1) * size, key_offset) < key_at(a + (x - 1) * size, key_offset))
                move_rec(a + --o * size, a + --x * size, size);
            else
                move_rec(a + --o * size, tmp + --y * size, size);
        }
        memcpy(a + lo * size, tmp, y * size); /* what is left of the left run is in place */
    }
}

/* Merge the ordered runs [bounds[k], bounds[k + 1]) of `a` (bounds[runs] is n), stably: always the
   two adjacent runs shortest together first, so that one long run with a few short ones (a source
   list with some stragglers) is moved about once, not once per level. */
static void merge_runs(unsigned char *a, unsigned char *tmp, size_t size, size_t key_offset, size_t *bounds,
                       size_t runs)
{
    while (runs > 1) {
        size_t best = 0;
        for (size_t r = 1; r + 1 < runs; r++)
            if (bounds[r + 2] - bounds[r] < bounds[best + 2] - bounds[best])
                best = r;
        merge_two(a, tmp, bounds[best], bounds[best + 1], bounds[best + 2], size, key_offset);
        for (size_t r = best + 1; r < runs; r++)
            bounds[r] = bounds[r + 1];
        runs--;
    }
}

int hp_sort_by_u32(void *base, size_t n, size_t size, size_t key_offset)
{
    if (n < 2)
        return 1;
    if (size == 0 || key_offset > size - sizeof(uint32_t) || n > SIZE_MAX / size)
        return 0;
    unsigned char *a = base;
    /* already in order (the common case for tables, .pdata and symbols): nothing to do */
    size_t i = 1;
    while (i < n && key_at(a + (i - 1) * size, key_offset) <= key_at(a + i * size, key_offset))
        i++;
    if (i == n)
        return 1;
    /* a few ordered runs one after the other (lists of several sources appended): merged */
    size_t bounds[MAX_RUNS + 1], runs = 1;
    bounds[0] = 0;
    for (; i < n && runs <= MAX_RUNS; i++)
        if (key_at(a + (i - 1) * size, key_offset) > key_at(a + i * size, key_offset)) {
            if (runs < MAX_RUNS)
                bounds[runs] = i;
            runs++;
        }
    if (runs <= MAX_RUNS) {
        /* a merge buffers the shorter of two neighbouring runs: at most half of them */
        unsigned char *tmp = malloc((n / 2 + 1) * size);
        if (!tmp)
            return 0;
        bounds[runs] = n;
        merge_runs(a, tmp, size, key_offset, bounds, runs);
        free(tmp);
        return 1;
    }
    /* LSD radix, 8 bits a pass, stable, over (key, index) pairs: eight bytes a move however large
       the records, which are then put in place by following the permutation's cycles (one record
       aside per cycle, no second array of records: fresh memory is a large part of a sort's cost).
       The four byte histograms are counted in one read of the keys, and a pass in which every key
       has the same byte is skipped. */
    if (n > UINT32_MAX)
        return 0;
    uint64_t *pairs = malloc(2 * n * sizeof *pairs);
    unsigned char small[64], *aside = size <= sizeof small ? small : malloc(size);
    if (!pairs || !aside) {
        free(pairs);
        if (aside != small)
            free(aside);
        return 0;
    }
    size_t count[4][256];
    memset(count, 0, sizeof count);
    for (i = 0; i < n; i++) {
        uint32_t k = key_at(a + i * size, key_offset);
        pairs[i] = (uint64_t)k << 32 | (uint32_t)i;
        count[0][k & 0xFF]++;
        count[1][(k >> 8) & 0xFF]++;
        count[2][(k >> 16) & 0xFF]++;
        count[3][k >> 24]++;
    }
    uint32_t first = key_at(a, key_offset);
    uint64_t *src = pairs, *dst = pairs + n;
    for (unsigned pass = 0; pass < 4; pass++) {
        unsigned shift = 8 * pass;
        size_t *c = count[pass];
        if (c[(first >> shift) & 0xFF] == n)
            continue;
        size_t pos = 0;
        for (unsigned b = 0; b < 256; b++) {
            size_t k = c[b];
            c[b] = pos;
            pos += k;
        }
        for (i = 0; i < n; i++)
            dst[c[(src[i] >> (32 + shift)) & 0xFF]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    /* record i of the result is record (uint32_t)src[i] of the input: each cycle of that permutation
       moved along, its first record aside; a place filled gets its own index (nothing left to do) */
    for (i = 0; i < n; i++) {
        if ((uint32_t)src[i] == i)
            continue;
        memcpy(aside, a + i * size, size);
        size_t at = i;
        for (;;) {
            size_t from = (uint32_t)src[at];
            src[at] = (src[at] & ~(uint64_t)UINT32_MAX) | at;
            if (from == i) {
                memcpy(a + at * size, aside, size);
                break;
            }
            move_rec(a + at * size, a + from * size, size);
            at = from;
        }
    }
    free(pairs);
    if (aside != small)
        free(aside);
    return 1;
}

/* Swap two records through a buffer (records of up to 64 bytes, the usual), else byte by byte. */
static void swap_recs(unsigned char *x, unsigned char *y, size_t size)
{
    if (size <= 64) {
        unsigned char t[64];
        memcpy(t, x, size);
        memcpy(x, y, size);
        memcpy(y, t, size);
        return;
    }
    while (size--) {
        unsigned char t = *x;
        *x++ = *y;
        *y++ = t;
    }
}

int hp_sort_by_u32_then(void *base, size_t n, size_t size, size_t key_offset, int (*cmp)(const void *, const void *))
{
    if (!hp_sort_by_u32(base, n, size, key_offset))
        return 0;
    unsigned char *a = base;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        uint32_t k = key_at(a + i * size, key_offset);
        while (j < n && key_at(a + j * size, key_offset) == k)
            j++;
        /* ties are few (the aliases of one address): insertion sort, stable */
        for (size_t x = i + 1; x < j && cmp; x++)
            for (size_t y = x; y > i && cmp(a + (y - 1) * size, a + y * size) > 0; y--)
                swap_recs(a + (y - 1) * size, a + y * size, size);
        i = j;
    }
    return 1;
}
