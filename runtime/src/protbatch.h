/*
 * protbatch.h — page protections for the patch engine (internal): the
 * protection of any page (the runtime's own pages from the execmem arena,
 * target code pages from a cache or, all misses at once, from the OS), and
 * the page batch: the set of pages one engine call makes writable and
 * restores, exactly, before it returns.
 *
 * A batch changes protections with one call per run of consecutive pages that
 * have one protection and one owner (one runtime chunk, or target code): a
 * 2,000-function transaction over 16 code pages makes two calls, not 32. Each
 * page's own protection is what is restored. On Windows a run of target pages
 * may span two allocations (two images mapped back to back), which one
 * VirtualProtect refuses: such a run is then changed page by page. A refusal
 * of a single page puts back every page already changed (HP_ERR_PROTECT,
 * nothing changed).
 *
 * No state of its own: the arena and the protection cache belong to the
 * engine's global state (engine.c) and are only touched with the engine lock
 * held, hence the _locked names.
 */
#ifndef HP_PROTBATCH_H
#define HP_PROTBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "execmem.h"
#include "hotpatch.h"
#include "os.h"
#include "ptrmap.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The protection page (4096 bytes on every supported target) and the page of an address. */
#define HP_PAGE ((uintptr_t)4096u)
#define HP_PAGE_OF(a) ((uintptr_t)(a) & ~(HP_PAGE - 1u))

/**
 * Protections of the sorted, unique pages[0..n) into out[0..n): runtime-owned
 * pages from `xm`, others from `cache` (page -> packed protection) or from the
 * OS, whose answers are added to the cache when there is room. A page that is
 * not mapped gets flags == 0. Engine lock held.
 * @return HP_OK, HP_ERR_NO_MEMORY, HP_ERR_IO (the OS could not tell).
 */
hp_status hp_prots_query_locked(const hp_xm_arena *xm, hp_ptrmap *cache, const uintptr_t *pages, size_t n,
                                hp_os_prot *out);

/**
 * A set of pages made writable for one call and restored before it returns.
 * Initialise with HP_PAGE_BATCH_INIT; free with hp_batch_free() on every path.
 */
typedef struct hp_page_batch {
    const hp_xm_arena *xm; /* the runtime's own pages (known protections; runs of one chunk) */
    hp_ptrmap *cache;      /* protections of target code pages already asked for */
    uintptr_t *pages;
    hp_os_prot *orig;      /* each page's exact protection (after hp_batch_unprotect_locked) */
    uint8_t *alone;        /* 1: the page is changed by a call of its own (its run was refused whole) */
    size_t n, cap;
    size_t changed;        /* pages[0..changed) are currently writable */
} hp_page_batch;

#define HP_PAGE_BATCH_INIT(xm, cache) {(xm), (cache), NULL, NULL, NULL, 0, 0, 0}

/** Room for one more page (internal to hp_batch_add). @return HP_OK or HP_ERR_NO_MEMORY. */
hp_status hp_batch_grow(hp_page_batch *b);

/**
 * Add the pages of the `len` (> 0) bytes at `addr`. Inline: a commit calls it
 * several times per operation.
 * @return HP_OK or HP_ERR_NO_MEMORY.
 */
static inline hp_status hp_batch_add(hp_page_batch *b, uintptr_t addr, size_t len)
{
    uintptr_t first = HP_PAGE_OF(addr), last = HP_PAGE_OF(addr + len - 1);
    for (uintptr_t p = first;; p += HP_PAGE) {
        /* A transaction adds its sites in table order, a few interleaved streams (entry, slot,
           padding) on few pages: dropping the repeats of the last entries here keeps the sort in
           hp_batch_unprotect_locked to a handful of pages instead of three per function. */
        int seen = 0;
        for (size_t k = b->n; k > 0 && b->n - k < 4 && !seen; k--)
            seen = b->pages[k - 1] == p;
        if (seen) {
            if (p == last)
                break;
            continue;
        }
        if (b->n == b->cap && hp_batch_grow(b) != HP_OK)
            return HP_ERR_NO_MEMORY;
        b->pages[b->n++] = p;
        if (p == last)
            break;
    }
    return HP_OK;
}

/**
 * Sort the pages, look their protections up and make every one writable; all
 * or nothing. Engine lock held.
 * @return HP_OK; HP_ERR_PROTECT (the OS refused: every page is as before);
 *         HP_ERR_ARGUMENT (a page is not mapped any more); HP_ERR_NO_MEMORY; HP_ERR_IO.
 */
hp_status hp_batch_unprotect_locked(hp_page_batch *b);

/**
 * Tell the OS that code on the batch's executable pages was written
 * (hp_os_code_written): one call per run of consecutive executable pages, not
 * one per write. Call after hp_batch_unprotect_locked() succeeded. Engine lock held.
 */
void hp_batch_code_written_locked(const hp_page_batch *b);

/** Put back the exact protection of every page made writable. Engine lock held. */
void hp_batch_restore_locked(hp_page_batch *b);

/** Free the batch's memory (restore first). */
void hp_batch_free(hp_page_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* HP_PROTBATCH_H */
