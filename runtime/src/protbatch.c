/*
 * protbatch.c — page protections and the page batch. See protbatch.h.
 */
#include "protbatch.h"

/* The cache holds protections packed into the value word: never 0 (0 is no value). */
static uintptr_t prot_pack(hp_os_prot p)
{
    return ((uintptr_t)p.native << 8) | p.flags | 0x80u; /* 0x80: never 0 */
}

static hp_os_prot prot_unpack(uintptr_t v)
{
    hp_os_prot p = {(uint32_t)(v & 0x7Fu), (uint32_t)(v >> 8)};
    return p;
}

hp_status hp_prots_query_locked(const hp_xm_arena *xm, hp_ptrmap *cache, const uintptr_t *pages, size_t n,
                                hp_os_prot *out)
{
    uintptr_t *miss = NULL;
    hp_os_prot *missprot = NULL;
    size_t nmiss = 0;
    hp_status st = HP_OK;

    for (size_t i = 0; i < n; i++) {
        uintptr_t v;
        out[i].flags = out[i].native = 0;
        if (hp_xm_page_prot_locked(xm, pages[i], &out[i]))
            continue;
        if (hp_ptrmap_get(cache, pages[i], &v)) {
            out[i] = prot_unpack(v);
            continue;
        }
        nmiss++;
    }
    if (nmiss == 0)
        return HP_OK;
    miss = hp_os_alloc(nmiss * sizeof *miss);
    missprot = hp_os_alloc(nmiss * sizeof *missprot);
    if (miss == NULL || missprot == NULL) {
        st = HP_ERR_NO_MEMORY;
        goto out;
    }
    nmiss = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i].flags == 0 && out[i].native == 0)
            miss[nmiss++] = pages[i];
    st = hp_os_query_prots(miss, nmiss, missprot);
    if (st != HP_OK)
        goto out;
    int cached = hp_ptrmap_reserve(cache, nmiss) == HP_OK;
    for (size_t i = 0, j = 0; i < n && j < nmiss; i++) {
        if (pages[i] != miss[j])
            continue;
        out[i] = missprot[j];
        if (cached && missprot[j].flags != 0)
            hp_ptrmap_put_noresize(cache, pages[i], prot_pack(missprot[j]));
        j++;
    }
out:
    hp_os_free(miss);
    hp_os_free(missprot);
    return st;
}

hp_status hp_batch_grow(hp_page_batch *b)
{
    size_t cap = b->cap ? b->cap * 2 : 16;
    uintptr_t *np = hp_os_realloc(b->pages, cap * sizeof *np);
    if (np == NULL)
        return HP_ERR_NO_MEMORY;
    b->pages = np;
    b->cap = cap;
    return HP_OK;
}

/*
 * Pages [i, i + return value) are changed by one protection call: consecutive
 * pages with one protection and one owner (the slot pages of a large
 * transaction, the code pages of its targets), unless a page was set apart.
 */
static size_t batch_run_locked(const hp_page_batch *b, size_t i)
{
    size_t k = 1;
    if (b->alone[i])
        return 1;
    while (i + k < b->n && !b->alone[i + k] && b->pages[i + k] == b->pages[i] + k * HP_PAGE &&
           b->orig[i + k].native == b->orig[i].native && hp_xm_same_owner_locked(b->xm, b->pages[i], b->pages[i + k]))
        k++;
    return k;
}

void hp_batch_code_written_locked(const hp_page_batch *b)
{
    for (size_t i = 0; i < b->n;) {
        if (!(b->orig[i].flags & HP_PROT_X)) {
            i++;
            continue;
        }
        size_t k = 1;
        while (i + k < b->n && b->pages[i + k] == b->pages[i] + k * HP_PAGE && (b->orig[i + k].flags & HP_PROT_X))
            k++;
        hp_os_code_written((const void *)b->pages[i], k * HP_PAGE);
        i += k;
    }
}

void hp_batch_restore_locked(hp_page_batch *b)
{
    for (size_t i = 0; i < b->changed;) {
        size_t k = batch_run_locked(b, i);
        hp_os_prot w = hp_os_prot_writable(b->orig[i]);
        if (w.native != b->orig[i].native)
            hp_os_protect(b->pages[i], k * HP_PAGE, b->orig[i]);
        i += k;
    }
    b->changed = 0;
}

hp_status hp_batch_unprotect_locked(hp_page_batch *b)
{
    b->n = hp_sort_unique(b->pages, b->n);
    b->orig = hp_os_alloc((b->n ? b->n : 1) * sizeof *b->orig);
    b->alone = hp_os_calloc(b->n ? b->n : 1, 1);
    if (b->orig == NULL || b->alone == NULL)
        return HP_ERR_NO_MEMORY;
    hp_status st = hp_prots_query_locked(b->xm, b->cache, b->pages, b->n, b->orig);
    if (st != HP_OK)
        return st;
    for (size_t i = 0; i < b->n; i++)
        if (b->orig[i].flags == 0)
            return HP_ERR_ARGUMENT; /* not mapped any more */
    for (b->changed = 0; b->changed < b->n;) {
        size_t k = batch_run_locked(b, b->changed);
        hp_os_prot w = hp_os_prot_writable(b->orig[b->changed]);
        if (w.native != b->orig[b->changed].native &&
            hp_os_protect(b->pages[b->changed], k * HP_PAGE, w) != HP_OK) {
            if (k > 1) {
                /* a run the OS would not take whole (two allocations): put its pages back as they
                   were (a refused call may have changed part of its range), then one by one */
                for (size_t j = 0; j < k; j++) {
                    hp_os_protect(b->pages[b->changed + j], HP_PAGE, b->orig[b->changed + j]);
                    b->alone[b->changed + j] = 1;
                }
                continue;
            }
            /* the OS refused: put back what was changed, this page included */
            b->changed += k;
            hp_batch_restore_locked(b);
            return HP_ERR_PROTECT;
        }
        b->changed += k;
    }
    return HP_OK;
}

void hp_batch_free(hp_page_batch *b)
{
    hp_os_free(b->pages);
    hp_os_free(b->orig);
    hp_os_free(b->alone);
    b->pages = NULL;
    b->orig = NULL;
    b->alone = NULL;
    b->n = b->cap = 0;
}
