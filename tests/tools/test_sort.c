/*
 * test_sort.c — hp_sort_by_u32(): records by an address, stable, ties by a comparison.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_tools.h"

typedef struct rec {
    uint64_t pad;
    uint32_t key;
    uint32_t seq; /* insertion order */
} rec;

static int by_seq_desc(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq > y->seq ? -1 : x->seq < y->seq;
}

Test(sort, orders_by_key_and_keeps_ties_in_order)
{
    enum { N = 5000 };
    rec *r = calloc(N, sizeof *r);
    cr_assert_not_null(r);
    uint32_t x = 12345;
    for (uint32_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u; /* keys across all four bytes, many repeated */
        r[i].key = (x >> 3) % 700u * 0x01010101u;
        r[i].seq = i;
    }
    cr_assert(hp_sort_by_u32(r, N, sizeof *r, offsetof(rec, key)));
    for (size_t i = 1; i < N; i++) {
        cr_assert_leq(r[i - 1].key, r[i].key, "at %zu", i);
        if (r[i - 1].key == r[i].key)
            cr_assert_lt(r[i - 1].seq, r[i].seq, "stable at %zu", i);
    }
    cr_assert(hp_sort_by_u32_then(r, N, sizeof *r, offsetof(rec, key), by_seq_desc));
    for (size_t i = 1; i < N; i++)
        if (r[i - 1].key == r[i].key)
            cr_assert_gt(r[i - 1].seq, r[i].seq, "ties by the comparison at %zu", i);
    free(r);
}

Test(sort, trivial_and_bad_arguments)
{
    rec r[3] = {{0, 3, 0}, {0, 1, 1}, {0, 2, 2}};
    cr_expect(hp_sort_by_u32(r, 0, sizeof *r, offsetof(rec, key)));
    cr_expect(hp_sort_by_u32(r, 1, sizeof *r, offsetof(rec, key)));
    cr_expect(!hp_sort_by_u32(r, 3, sizeof *r, sizeof *r - 2), "key past the record");
    cr_expect_eq(r[0].key, 3u, "unchanged after a refusal");
    cr_expect(hp_sort_by_u32(r, 3, sizeof *r, offsetof(rec, key)));
    cr_expect(r[0].key == 1 && r[1].key == 2 && r[2].key == 3);
}

/* The order of a plain stable sort of r[0..n), by insertion, into want. */
static void stable_reference(const rec *r, rec *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t y = i;
        while (y > 0 && want[y - 1].key > r[i].key) {
            want[y] = want[y - 1];
            y--;
        }
        want[y] = r[i];
    }
}

/* hp_sort_by_u32 on r[0..n) gives the order of a plain stable sort (`what` names the case). */
static void sorts_stably(rec *r, rec *want, size_t n, const char *what)
{
    stable_reference(r, want, n);
    cr_assert(hp_sort_by_u32(r, n, sizeof *r, offsetof(rec, key)), "%s", what);
    size_t i = 0;
    while (i < n && r[i].key == want[i].key && r[i].seq == want[i].seq)
        i++;
    cr_assert_eq(i, n, "%s: record %zu differs", what, i);
}

/* Lists appended from several ordered sources (1 to 20 runs of equal or very unequal lengths:
   merged up to 16, radix-sorted beyond): the same order as a plain stable sort, ties in their
   original order. */
Test(sort, ordered_runs_merged_stably)
{
    enum { N = 3000 };
    rec *r = calloc(N, sizeof *r), *want = calloc(N, sizeof *want);
    cr_assert(r && want);
    for (int uneven = 0; uneven < 2; uneven++)
        for (size_t runs = 1; runs <= 20; runs++) {
            /* run k ends at ends[k]: equal lengths, or one long run among short ones */
            size_t ends[20], at = 0;
            for (size_t k = 0; k < runs; k++) {
                size_t len = uneven ? (k == runs / 2 ? N - 7 * (runs - 1) : 7) : N / runs;
                at = k + 1 == runs ? N : at + len;
                ends[k] = at;
            }
            uint32_t x = (uint32_t)runs * 7919u + (uint32_t)uneven;
            for (size_t i = 0, k = 0, start = 0; i < N; i++) {
                while (i >= ends[k])
                    start = ends[k++];
                size_t j = i - start; /* the place of record i in its run */
                x = x * 1103515245u + 12345u;
                r[i].key = (uint32_t)(j * 3 + k % 3 + (x >> 30)); /* ordered in each run, ties across runs */
                if (j && r[i].key < r[i - 1].key)
                    r[i].key = r[i - 1].key;
                r[i].seq = (uint32_t)i;
            }
            char what[64];
            snprintf(what, sizeof what, "%zu runs (%s)", runs, uneven ? "uneven" : "even");
            sorts_stably(r, want, N, what);
        }
    free(r);
    free(want);
}

/* A long ordered run with a few stragglers after it or before it (a list with late additions: the
   stragglers are placed by binary search and the records between moved in one block), with keys
   equal to the long run's across the boundary: the order of a plain stable sort. */
Test(sort, a_long_run_and_a_few_stragglers)
{
    enum { N = 4000 };
    rec *r = calloc(N, sizeof *r), *want = calloc(N, sizeof *want);
    cr_assert(r && want);
    for (int before = 0; before < 2; before++)
        for (size_t few = 1; few <= 200; few += 33) {
            size_t long_start = before ? few : 0, long_end = long_start + (N - few);
            uint32_t x = (uint32_t)few * 31u + (uint32_t)before;
            for (size_t i = 0; i < N; i++) {
                if (i >= long_start && i < long_end) {
                    r[i].key = (uint32_t)(i - long_start) / 2 * 4; /* pairs of equal keys */
                } else {
                    x = x * 1103515245u + 12345u;
                    r[i].key = (x >> 8) % (2 * N) / 2 * 2; /* some equal to the long run's */
                    if (i && i != long_end && r[i].key < r[i - 1].key)
                        r[i].key = r[i - 1].key; /* the stragglers are a run of their own */
                }
                r[i].seq = (uint32_t)i;
            }
            char what[64];
            snprintf(what, sizeof what, "%zu stragglers %s", few, before ? "before" : "after");
            sorts_stably(r, want, N, what);
        }
    free(r);
    free(want);
}

/* The radix path (more than 16 runs) puts records of any size in place: 40 bytes (the audit's exports),
   72 (more than the 64 a record is set aside on the stack for) and 5 (a key at an odd offset), against
   a plain stable sort of the same records. */
Test(sort, radix_puts_records_of_any_size_in_place)
{
    static const size_t sizes[] = {40, 72, 5};
    enum { N = 4000 };
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        size_t size = sizes[z], key_off = size == 5 ? 1 : 8;
        unsigned char *r = calloc(N, size), *want = calloc(N, size);
        cr_assert(r && want);
        uint32_t x = 99u + (uint32_t)size;
        for (size_t i = 0; i < N; i++) {
            unsigned char *p = r + i * size;
            x = x * 1103515245u + 12345u;
            uint32_t key = (x >> 4) % 900u * 0x00010101u; /* unordered: many runs, many ties */
            memcpy(p + key_off, &key, 4);
            for (size_t b = 0; b < size; b++) /* every other byte names the record */
                if (b < key_off || b >= key_off + 4)
                    p[b] = (unsigned char)(i * 31u + b);
        }
        for (size_t i = 0; i < N; i++) { /* insertion sort by key: stable */
            uint32_t k, kw;
            memcpy(&k, r + i * size + key_off, 4);
            size_t y = i;
            while (y > 0 && (memcpy(&kw, want + (y - 1) * size + key_off, 4), kw > k)) {
                memcpy(want + y * size, want + (y - 1) * size, size);
                y--;
            }
            memcpy(want + y * size, r + i * size, size);
        }
        cr_assert(hp_sort_by_u32(r, N, size, key_off));
        cr_assert(memcmp(r, want, (size_t)N * size) == 0, "records of %zu bytes", size);
        free(r);
        free(want);
    }
}
