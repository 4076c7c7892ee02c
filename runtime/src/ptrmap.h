/*
 * ptrmap.h — the patch engine's pointer-keyed hash map and its sort helpers
 * for arrays of addresses (internal).
 *
 * The map is open addressing with linear probing and backward-shift deletion;
 * key 0 means empty, so 0 is never a key. Key and value share one entry, so a
 * lookup touches one cache line. Lookups and insertions into reserved room
 * are inline (they sit on the engine's per-function paths); what allocates or
 * rearranges is in ptrmap.c.
 *
 * No state of its own: the maps are part of the engine's global state
 * (engine.c), which serialises every use with its lock. Nothing here locks.
 */
#ifndef HP_PTRMAP_H
#define HP_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hp_ptrent {
    uintptr_t key, val;
} hp_ptrent;

typedef struct hp_ptrmap {
    hp_ptrent *e;
    size_t cap;     /* 0 or a power of two */
    size_t count;
    unsigned shift; /* low key bits the hash ignores: log2 of the keys' usual spacing */
} hp_ptrmap;

/** An empty map whose keys are usually 2^shift apart (no allocation until the first reserve). */
#define HP_PTRMAP_INIT(shift) {NULL, 0, 0, (shift)}

/*
 * Keys are addresses (entries, pages) and arrive mostly in address order: the
 * hash keeps that order within each 64 Ki-key stretch (so a run of lookups walks
 * the table instead of missing the cache each time) and folds the stretches
 * onto each other. `shift` drops the bits every key shares (alignment).
 */
static inline size_t hp_ptrmap_hash(const hp_ptrmap *m, uintptr_t k)
{
    uintptr_t x = k >> m->shift;
    return (size_t)(x ^ (x >> 16)) & (m->cap - 1);
}

/** 1 and the value in *v (v may be NULL) when `k` is in the map, 0 otherwise. */
static inline int hp_ptrmap_get(const hp_ptrmap *m, uintptr_t k, uintptr_t *v)
{
    if (m->cap == 0)
        return 0;
    for (size_t i = hp_ptrmap_hash(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].key == 0)
            return 0;
        if (m->e[i].key == k) {
            if (v != NULL)
                *v = m->e[i].val;
            return 1;
        }
    }
}

/** Insert or replace `k` (never 0) in room that hp_ptrmap_reserve() made: cannot fail. */
static inline void hp_ptrmap_put_noresize(hp_ptrmap *m, uintptr_t k, uintptr_t v)
{
    for (size_t i = hp_ptrmap_hash(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].key == 0) {
            m->e[i].key = k;
            m->e[i].val = v;
            m->count++;
            return;
        }
        if (m->e[i].key == k) {
            m->e[i].val = v;
            return;
        }
    }
}

/**
 * Make room for `more` insertions without further allocation (load factor <= 1/2).
 * @return HP_OK, or HP_ERR_NO_MEMORY with the map unchanged.
 */
hp_status hp_ptrmap_reserve(hp_ptrmap *m, size_t more);

/**
 * hp_ptrmap_reserve() that does not free the array it replaces: it is stored in
 * *retired (NULL when none was replaced), for a map that is read without the
 * lock that serialises its writers (the engine's registry: engine.c) — a reader
 * may still be looking at the old array.
 * @return HP_OK, or HP_ERR_NO_MEMORY with the map unchanged (*retired = NULL).
 */
hp_status hp_ptrmap_reserve_retain(hp_ptrmap *m, size_t more, hp_ptrent **retired);

/**
 * hp_ptrmap_get() for a reader that holds no lock while a writer may change
 * the map (see hp_ptrmap_reserve_retain): `e`, `cap` and `shift` must be one
 * consistent snapshot, the probe stops after `cap` slots, and the answer is
 * only a candidate the caller confirms (a seqlock: engine.c).
 */
static inline int hp_ptrmap_get_racy(const hp_ptrent *e, size_t cap, unsigned shift, uintptr_t k, uintptr_t *v)
{
    if (cap == 0)
        return 0;
    uintptr_t x = k >> shift;
    size_t i = (size_t)(x ^ (x >> 16)) & (cap - 1);
    for (size_t n = 0; n < cap; n++, i = (i + 1) & (cap - 1)) {
        uintptr_t key = __atomic_load_n(&e[i].key, __ATOMIC_RELAXED);
        if (key == 0)
            return 0;
        if (key == k) {
            *v = __atomic_load_n(&e[i].val, __ATOMIC_RELAXED);
            return 1;
        }
    }
    return 0;
}

/** Remove `k` when present; every other key stays findable (backward-shift deletion). */
void hp_ptrmap_del(hp_ptrmap *m, uintptr_t k);

/** Remove every key, keeping the room. */
void hp_ptrmap_clear(hp_ptrmap *m);

/** Free the map's memory; the map is empty (and may be used again) afterwards. */
void hp_ptrmap_free(hp_ptrmap *m);

/**
 * Sort a[0..n) ascending in place (heapsort: no qsort in freestanding builds)
 * and drop repeats. @return the number of distinct values, now a[0..return).
 */
size_t hp_sort_unique(uintptr_t *a, size_t n);

/** Index of the first of the sorted a[0..n) that is >= k (n when none is). */
size_t hp_find_sorted(const uintptr_t *a, size_t n, uintptr_t k);

#ifdef __cplusplus
}
#endif

#endif /* HP_PTRMAP_H */
