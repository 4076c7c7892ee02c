/*
 * ptrmap.c — what the pointer map does besides lookups (growth, deletion) and
 * the address-array sort. See ptrmap.h.
 */
#include "ptrmap.h"

#include "os.h"

hp_status hp_ptrmap_reserve_retain(hp_ptrmap *m, size_t more, hp_ptrent **retired)
{
    size_t need = m->count + more;
    *retired = NULL;
    if (need > ((size_t)-1) / (4 * sizeof(hp_ptrent)))
        return HP_ERR_NO_MEMORY;
    if (m->cap != 0 && need * 2 <= m->cap)
        return HP_OK;
    size_t cap = m->cap ? m->cap : 16;
    while (cap < need * 2)
        cap *= 2;
    hp_ptrent *e = hp_os_calloc(cap, sizeof *e);
    if (e == NULL)
        return HP_ERR_NO_MEMORY;
    hp_ptrmap n = {e, cap, 0, m->shift};
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key != 0)
            hp_ptrmap_put_noresize(&n, m->e[i].key, m->e[i].val);
    *retired = m->e;
    *m = n;
    return HP_OK;
}

hp_status hp_ptrmap_reserve(hp_ptrmap *m, size_t more)
{
    hp_ptrent *old;
    hp_status st = hp_ptrmap_reserve_retain(m, more, &old);
    hp_os_free(old);
    return st;
}

void hp_ptrmap_del(hp_ptrmap *m, uintptr_t k)
{
    if (m->cap == 0)
        return;
    size_t mask = m->cap - 1, i = hp_ptrmap_hash(m, k);
    for (;; i = (i + 1) & mask) {
        if (m->e[i].key == 0)
            return;
        if (m->e[i].key == k)
            break;
    }
    /* backward-shift deletion keeps every probe chain unbroken */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->e[j].key == 0)
            break;
        size_t home = hp_ptrmap_hash(m, m->e[j].key);
        /* move j into the hole at i unless its home lies cyclically in (i, j] */
        int between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            m->e[i] = m->e[j];
            i = j;
        }
    }
    m->e[i].key = 0;
    m->e[i].val = 0;
    m->count--;
}

void hp_ptrmap_clear(hp_ptrmap *m)
{
    if (m->cap != 0)
        memset(m->e, 0, m->cap * sizeof *m->e);
    m->count = 0;
}

void hp_ptrmap_free(hp_ptrmap *m)
{
    hp_os_free(m->e);
    m->e = NULL;
    m->cap = 0;
    m->count = 0;
}

static void sift_down(uintptr_t *a, size_t start, size_t n)
{
    size_t root = start;
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && a[child] < a[child + 1])
            child++;
        if (a[root] >= a[child])
            return;
        uintptr_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

size_t hp_sort_unique(uintptr_t *a, size_t n)
{
    if (n < 2)
        return n;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        uintptr_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
    size_t out = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[out - 1])
            a[out++] = a[i];
    return out;
}

size_t hp_find_sorted(const uintptr_t *a, size_t n, uintptr_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
